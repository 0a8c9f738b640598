/// Hedging, with the semantics of gRPC's A6 hedging policy: a call sends its first attempt, and when no
/// answer has come `delay` later, sends the same request again while the first is still in flight, up to
/// `maxAttempts` attempts in flight; the first success wins and the others (the losers) are cancelled.
///
/// - A failure whose status is in `nonFatalStatuses` (or a transport failure the ``RetryClassifier``
///   would retry) is **non-fatal**: the other attempts run on, and the next hedge is sent at once rather
///   than after the delay. Any other failure is **fatal**: it ends the call with that outcome, and every
///   attempt still in flight is cancelled.
/// - Every hedge after the first attempt draws on the ``RetryBudget`` like a retry; an empty budget sends
///   no more hedges (the attempts in flight run on). A closed ``HealthGate`` sends none either.
/// - A call is hedged *or* retried, never both (as in A6): with hedging, the ``RetryPolicy``'s backoff is
///   not used for that call. Only idempotent requests are hedged; others keep the retry policy.
///
/// ```swift
/// configuration.hedging = HedgingPolicy(delay: .milliseconds(20), maxAttempts: 2, nonFatalStatuses: [503])
/// ```
///
/// Pick `delay` near the latency percentile above which answers are rare (the p95 of a healthy endpoint):
/// then only the slow few calls are hedged, and the extra load stays a few percent.
public struct HedgingPolicy: Sendable, Equatable, Hashable {
    /// Largest `maxAttempts` (A6 caps it at 5 too).
    public static let maxAttemptsLimit = 5

    /// How long an attempt may go unanswered before the next hedge is sent.
    public var delay: Duration
    /// Attempts per call including the first, so also the most in flight at once (2...5).
    public var maxAttempts: Int
    /// Statuses after which the other attempts run on (and the next hedge goes at once). Default none: any
    /// failing status ends the call, as A6 does without `nonFatalStatusCodes`.
    public var nonFatalStatuses: Set<Int>

    /// Creates a policy; `maxAttempts` is clamped to 1...5 and a negative delay is raised to zero.
    public init(delay: Duration, maxAttempts: Int = 2, nonFatalStatuses: Set<Int> = []) {
        self.delay = max(.zero, delay)
        self.maxAttempts = min(max(1, maxAttempts), Self.maxAttemptsLimit)
        self.nonFatalStatuses = nonFatalStatuses
    }

    /// Whether a failed attempt lets the others run on.
    public func isNonFatal(_ outcome: AttemptOutcome, classifier: RetryClassifier, idempotent: Bool) -> Bool {
        switch outcome {
        case .status(let code): return nonFatalStatuses.contains(code)
        case .transport(.cancelled): return true
        case .transport: return classifier.classify(outcome, idempotent: idempotent) == .retry
        }
    }
}
