import Foundation
import Glibc
import ReferenceEndpoint

/// An `EndpointLog` written to a temporary file and read back by tests.
public final class CapturedLog: Sendable {
    /// The file's path.
    public let path: String
    /// The file descriptor the log writes to.
    public let fd: Int32
    /// The log to hand to the endpoint or worker pool.
    public let log: EndpointLog

    /// Creates an empty log file.
    public init() {
        path = NSTemporaryDirectory() + "/endpoint-log-\(UUID().uuidString)"
        fd = open(path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0o600)
        log = EndpointLog(fileDescriptor: fd)
    }

    deinit {
        log.flush()
        close(fd)
        unlink(path)
    }

    /// Everything logged so far.
    public var contents: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Waits (bounded: 300 × 50 ms) until the log contains `text`. Worker output reaches the log through the
    /// worker's pipe, asynchronously with respect to the HTTP response.
    public func waitFor(_ text: String) -> Bool {
        for _ in 0..<300 {
            if contents.contains(text) { return true }
            usleep(50_000)
        }
        return contents.contains(text)
    }
}
