import CLinux
import Glibc
import HTTP1

/// A connection accepted past `HTTPServer`'s `maxConnections`: it gets one `503` with `Retry-After` and
/// `Connection: close`, whatever it sends, and is closed once that answer is out (or after a short linger). What
/// the peer sends meanwhile is read and dropped, so that the close does not turn into a reset that could destroy
/// the answer before the peer reads it.
final class RejectedConnection: StreamChannel, @unchecked Sendable {
    /// The whole answer.
    static let answer: [UInt8] = {
        var bytes: [UInt8] = []
        HTTPEncoder.writeResponse(
            status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
            body: detailBody("too many connections: the server's connection limit is reached"), keepAlive: false,
            requestVersion: .http1_1, into: &bytes)
        return bytes
    }()

    /// How long the peer has to read the answer and close its end.
    static let lingerNanoseconds: UInt64 = 1_000_000_000

    /// Answers 503 on `fd` and closes it (loop thread only). A descriptor that cannot join the loop is closed.
    static func reject(fd: Int32, loop: EventLoop) {
        let connection = RejectedConnection(fd: fd, loop: loop)
        do {
            try connection.start()
        } catch {
            Glibc.close(fd)
            return
        }
        answer.withUnsafeBytes { connection.write($0) }
        connection.closeAfterFlush(lingerNanoseconds: lingerNanoseconds)
    }
}
