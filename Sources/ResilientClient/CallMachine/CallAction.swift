/// What a ``CallMachine`` asks its driver to do next.
public enum CallAction: Sendable, Equatable, Hashable {
    /// Send this attempt now, bounded by its timeout; report how it ended with
    /// ``CallMachine/attemptEnded(_:succeeded:retryAfter:now:wallClockSeconds:budget:gate:rng:)``.
    case send(CallAttempt)
    /// Sleep `after` before the next attempt (the backoff, or a longer `Retry-After`), then call
    /// ``CallMachine/wake(now:gate:)``.
    case retry(after: Duration, reason: DelayReason)
    /// The health gate holds the next attempt: wait until the gate changes (then call
    /// ``CallMachine/wake(now:gate:)``) or until `deadline` (also ``CallMachine/wake(now:gate:)``, which ends the call).
    case waitForGate(deadline: Duration?)
    /// The call is over.
    case finish(CallEnd)
}
