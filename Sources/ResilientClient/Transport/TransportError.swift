/// Why a transport could not produce an HTTP response. The cases separate what is always safe to
/// retry (nothing reached the server) from what is only safe for idempotent routes (the request may
/// have been processed).
public struct TransportError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: Sendable, Equatable, Hashable {
        /// The server refused the connection (nothing listening yet): always safe to retry.
        case connectionRefused
        /// The connection could not be established in time: nothing was sent, always safe to retry.
        case connectTimeout
        /// The host name could not be resolved (DNS): nothing was sent. Retried like a refused connection (a
        /// name that is not registered yet, a resolver that is briefly down).
        case unresolvedHost
        /// The request was sent but no complete response arrived in time: retried for idempotent routes.
        case responseTimeout
        /// The connection was reset or closed. `requestSent` tells whether any byte of the request was
        /// written; if not, retrying is always safe.
        case connectionClosed(requestSent: Bool)
        /// The response could not be parsed as HTTP/1.1: not retried.
        case protocolError
        /// The response's body is longer than the transport's limit
        /// (``ResilientClientConfiguration/maxResponseBytes``): the transport stopped reading it. Not retried
        /// (the same request would get the same answer), and not a sign of an unhealthy endpoint.
        case responseTooLarge
        /// The task was cancelled while the request was in flight: not retried.
        case cancelled
        /// The transport was shut down: nothing was sent, and nothing can be. Not retried.
        case shutdown
        /// The request cannot be sent at all (bad URL, unsupported scheme, TLS failure, …): not retried.
        case other
    }

    /// The kind of failure.
    public var kind: Kind
    /// A human-readable explanation.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String = "") {
        self.kind = kind
        self.message = message
    }

    /// The error of a transport that stopped reading a response body longer than `limit` bytes; the message
    /// names the limit.
    public static func responseTooLarge(limit: Int) -> TransportError {
        TransportError(.responseTooLarge, "response body larger than the limit of \(limit) bytes")
    }

    /// `kind: message`.
    public var description: String {
        message.isEmpty ? "\(kind)" : "\(kind): \(message)"
    }
}
