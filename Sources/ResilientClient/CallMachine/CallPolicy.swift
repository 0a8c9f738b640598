/// The rules every call of one client (or of one load run) is decided by: the retry policy, the attempt
/// timeout, what a call does at a closed health gate, and whether transport failures may be retried at all.
///
/// A class, so that each ``CallMachine`` holds one reference to it rather than a copy of the policy.
public final class CallPolicy: Sendable {
    /// The retry policy (attempts, backoff, classifier, `Retry-After`).
    public let retry: RetryPolicy
    /// The timeout of one attempt; `nil` for none. The call's deadline shortens it when it is nearer.
    public let attemptTimeout: Duration?
    /// What a call does when the gate does not admit its next attempt.
    public let gateWaitMode: GateWaitMode
    /// Whether transport failures (refused, reset, timed out) may be retried at all; when `false` they end
    /// the call whatever the classifier says. The library always retries them (`true`); a load scenario may
    /// turn them off (`retry.retryOnErrors`).
    public let retryTransportErrors: Bool
    /// Hedging for idempotent requests instead of retries, or `nil` (the default) for none.
    public let hedging: HedgingPolicy?

    /// Creates the rules.
    public init(
        retry: RetryPolicy, attemptTimeout: Duration?, gateWaitMode: GateWaitMode, retryTransportErrors: Bool = true,
        hedging: HedgingPolicy? = nil
    ) {
        self.hedging = hedging
        self.retry = retry
        self.attemptTimeout = attemptTimeout
        self.gateWaitMode = gateWaitMode
        self.retryTransportErrors = retryTransportErrors
    }
}
