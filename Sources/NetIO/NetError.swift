import CLinux
import Glibc

/// A transport-level failure reported by NetIO sockets.
public enum NetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer actively refused the connection (ECONNREFUSED).
    case connectionRefused
    /// A connect or I/O deadline passed.
    case timedOut
    /// The peer reset the connection (ECONNRESET, EPIPE).
    case connectionReset
    /// No route to the host or network (EHOSTUNREACH, ENETUNREACH).
    case unreachable
    /// The host name could not be resolved or the address is invalid.
    case addressResolution(host: String)
    /// The address is already in use (EADDRINUSE).
    case addressInUse
    /// The operation was attempted on a closed connection.
    case closed
    /// Any other system call failure.
    case system(call: String, errno: Int32)

    /// A human-readable description.
    public var description: String {
        switch self {
        case .connectionRefused: return "connection refused"
        case .timedOut: return "timed out"
        case .connectionReset: return "connection reset by peer"
        case .unreachable: return "host unreachable"
        case .addressResolution(let host): return "cannot resolve address '\(host)'"
        case .addressInUse: return "address already in use"
        case .closed: return "connection closed"
        case .system(let call, let code): return "\(call) failed: errno \(code)"
        }
    }

    /// Maps an errno value from `call` to a typed error.
    static func from(errno code: Int32, call: String) -> NetError {
        switch code {
        case ECONNREFUSED: return .connectionRefused
        case ETIMEDOUT: return .timedOut
        case ECONNRESET, EPIPE, ECONNABORTED: return .connectionReset
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN: return .unreachable
        case EADDRINUSE: return .addressInUse
        default: return .system(call: call, errno: code)
        }
    }

    /// Maps the current errno from `call`.
    static func current(_ call: String) -> NetError { from(errno: clinux_errno(), call: call) }
}
