import Glibc

/// A loopback port where a connection is refused for as long as this value lives.
///
/// Binding port 0, reading the port back and closing the socket ("a closed port") races with every other
/// test running in parallel: the kernel may hand the freed port to the next listener, and a test that
/// expected "connection refused" then talks to someone else's server (seen in CI as a reset). This keeps the
/// port bound without listening: Linux answers a SYN to it with a RST (`ECONNREFUSED`), and no other socket
/// can bind it, because this one does not set `SO_REUSEADDR`.
public final class RefusingPort: @unchecked Sendable {
    /// The refused port on 127.0.0.1.
    public let port: Int
    private let fd: Int32

    /// Binds a fresh port on 127.0.0.1 without listening on it.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RefusingPortError(step: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
        guard bound else {
            let code = errno
            close(fd)
            throw RefusingPortError(step: "bind", code: code)
        }
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard named else {
            let code = errno
            close(fd)
            throw RefusingPortError(step: "getsockname", code: code)
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// Why a `RefusingPort` could not be made.
public struct RefusingPortError: Error, CustomStringConvertible {
    /// The call that failed.
    public let step: String
    /// Its errno.
    public let code: Int32
    /// "bind failed: errno N".
    public var description: String { "\(step) failed: errno \(code)" }
}
