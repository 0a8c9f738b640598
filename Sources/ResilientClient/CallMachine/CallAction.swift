/// What a ``CallMachine`` asks its driver to do next.
public enum CallAction: Sendable, Equatable, Hashable {
    /// Send this attempt now, bounded by its timeout; report how it ended with
    /// ``CallMachine/attemptEnded(_:_:succeeded:retryAfter:now:wallClockSeconds:budget:gate:rng:)``.
    case send(CallAttempt)
    /// Sleep `after` before the next attempt (the backoff, or a longer `Retry-After`), then call
    /// ``CallMachine/wake(now:gate:)``.
    case retry(after: Duration, reason: DelayReason)
    /// Wait `after` for the adaptive rate limiter's token (``AdaptiveRateLimiter``), then call
    /// ``CallMachine/wake(now:gate:limiter:)``. Only a machine driven with a limiter that has seen a throttle
    /// asks for it.
    case pace(after: Duration)
    /// The health gate holds the next attempt: wait until the gate changes (then call
    /// ``CallMachine/wake(now:gate:)``) or until `deadline` (also ``CallMachine/wake(now:gate:)``, which ends the call).
    case waitForGate(deadline: Duration?)
    /// A hedged call with attempts in flight has nothing to do until one of them ends or its hedge timer
    /// fires.
    case awaitAttempts
    /// The call is over. Attempts of a hedged call still in flight are the losers: cancel them (their
    /// answers, if they come, are ignored).
    case finish(CallEnd)
}
