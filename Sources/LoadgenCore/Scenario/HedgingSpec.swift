import ResilientClient

/// `client.hedging`: when an attempt has gone unanswered for `delay`, the same request is sent again while
/// the first is still in flight, up to `maxAttempts`; the first success wins and the others are cancelled.
/// The library's ``HedgingPolicy`` (gRPC A6 semantics): a failing status in `nonFatalStatuses` lets the
/// other attempts run on (and sends the next hedge at once), any other failure ends the call; hedges draw
/// on the retry budget; a hedged call is not retried with backoff.
public struct HedgingSpec: Sendable, Equatable {
    /// Largest `maxAttempts` (the library's, as in gRPC A6).
    public static let maxAttemptsLimit = HedgingPolicy.maxAttemptsLimit

    /// How long an attempt may go unanswered before the next hedge.
    public var delay: DurationValue
    /// Attempts per call including the first (2...5). Default 2.
    public var maxAttempts: Int
    /// Failing statuses after which the other attempts run on. Default none.
    public var nonFatalStatuses: Set<Int>

    /// Creates hedging settings.
    public init(delay: DurationValue, maxAttempts: Int = 2, nonFatalStatuses: Set<Int> = []) {
        self.delay = delay
        self.maxAttempts = maxAttempts
        self.nonFatalStatuses = nonFatalStatuses
    }

    /// The library's policy.
    public var policy: HedgingPolicy {
        HedgingPolicy(delay: delay.duration, maxAttempts: maxAttempts, nonFatalStatuses: nonFatalStatuses)
    }
}
