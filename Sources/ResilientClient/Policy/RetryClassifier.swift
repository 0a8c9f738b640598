/// What one attempt produced: an HTTP status or a transport failure.
public enum AttemptOutcome: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// A complete HTTP response with this status.
    case status(Int)
    /// No response: the transport failed.
    case transport(TransportError.Kind)

    /// `"503"`, `"connectionRefused"`, …
    public var description: String {
        switch self {
        case .status(let code): return "\(code)"
        case .transport(let kind): return "\(kind)"
        }
    }
}

/// Which outcomes are retried, made explicit.
///
/// | outcome | retried |
/// |---|---|
/// | 2xx | never (success) |
/// | `alwaysRetryableStatuses` (default: 429, 503) | always |
/// | connection refused, connect timeout, unresolved host name, closed before any byte was sent | always (nothing reached the server) |
/// | `idempotentRetryableStatuses` (default: 502, 504) | only for idempotent routes |
/// | response timeout, connection closed after the request was sent | only for idempotent routes |
/// | anything else (4xx, 500, protocol errors, a response over the size limit, …) | never |
///
/// A 503 from the endpoint means "not admitted" (the queue was full), so the request did no work and
/// repeating it is safe even for a route with side effects; a 429 ("too many requests", RFC 6585) says the
/// same of a rate limit in front of it. Inference routes are idempotent by default
/// (``Route/idempotent``): calling `predict` twice gives the same answer and changes nothing.
public struct RetryClassifier: Sendable, Equatable, Hashable {
    /// What to do with an outcome.
    public enum Verdict: Sendable, Equatable, Hashable {
        /// A 2xx response: return it.
        case success
        /// Try again (subject to attempts, deadline and budget).
        case retry
        /// Do not retry: return this outcome as the call's error.
        case fail
    }

    /// Statuses retried for every route. Default `[429, 503]`.
    public var alwaysRetryableStatuses: Set<Int>
    /// Statuses retried for idempotent routes only. Default `[502, 504]`.
    public var idempotentRetryableStatuses: Set<Int>

    /// Creates a classifier.
    public init(alwaysRetryableStatuses: Set<Int> = [429, 503], idempotentRetryableStatuses: Set<Int> = [502, 504]) {
        self.alwaysRetryableStatuses = alwaysRetryableStatuses
        self.idempotentRetryableStatuses = idempotentRetryableStatuses
    }

    /// Classifies one attempt's outcome for a route that is (or is not) idempotent.
    public func classify(_ outcome: AttemptOutcome, idempotent: Bool) -> Verdict {
        switch outcome {
        case .status(let code):
            if (200..<300).contains(code) { return .success }
            if alwaysRetryableStatuses.contains(code) { return .retry }
            if idempotent, idempotentRetryableStatuses.contains(code) { return .retry }
            return .fail
        case .transport(let kind):
            switch kind {
            case .connectionRefused, .connectTimeout, .unresolvedHost, .connectionClosed(requestSent: false):
                return .retry
            case .responseTimeout, .connectionClosed(requestSent: true):
                return idempotent ? .retry : .fail
            case .protocolError, .responseTooLarge, .cancelled, .shutdown, .other:
                return .fail
            }
        }
    }

    /// Whether an outcome is evidence that the endpoint is unhealthy (counted by the ``HealthGate``):
    /// 502, 503, 504, refused or timed-out connections and resets. A 4xx or 500 is an answer, not a
    /// sign of overload, and a 2xx is a success.
    public func isEndpointFailure(_ outcome: AttemptOutcome) -> Bool {
        switch outcome {
        case .status(let code):
            if (200..<300).contains(code) { return false }
            return code == 502 || code == 503 || code == 504 || alwaysRetryableStatuses.contains(code)
        case .transport(let kind):
            switch kind {
            case .connectionRefused, .connectTimeout, .unresolvedHost, .responseTimeout, .connectionClosed: return true
            case .protocolError, .responseTooLarge, .cancelled, .shutdown, .other: return false
            }
        }
    }
}
