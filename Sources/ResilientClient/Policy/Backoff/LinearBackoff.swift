/// `initial`, then `initial + increment`, `initial + 2 × increment`, …
public struct LinearBackoff: BackoffStrategy, Hashable {
    /// The first delay.
    public let initial: Duration
    /// What each retry adds.
    public let increment: Duration
    private var next: Duration

    /// A linear schedule (negative durations are zero).
    public init(initial: Duration, increment: Duration) {
        self.initial = max(.zero, initial)
        self.increment = max(.zero, increment)
        next = self.initial
    }

    /// The current delay; the next one is `increment` longer (saturating).
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        defer { next = .clampedNanoseconds(Double(next.clampedNanoseconds) + Double(increment.clampedNanoseconds)) }
        return next
    }
}
