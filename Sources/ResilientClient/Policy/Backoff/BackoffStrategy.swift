/// A source of backoff delays, asked in turn for the delay before each retry of one call.
///
/// Strategies are values that compose, in the style of the retry proposal for swift-async-algorithms: start
/// from a curve, then bound it, then randomise it.
///
/// ```swift
/// let strategy = ExponentialBackoff(initial: .milliseconds(50), factor: 3)
///     .maximum(.seconds(2))
///     .fullJitter()
/// let policy = RetryPolicy(maxAttempts: 6, strategy: strategy)
/// ```
///
/// A strategy is stateful (it may count retries or remember its previous delay); each call starts from a copy
/// of the one in its ``RetryPolicy``, so calls never share state. Randomness is injected, so a seeded
/// generator makes a schedule reproducible. Conform a type of your own for a custom schedule; make it
/// `Hashable` so that policies holding it can be compared.
public protocol BackoffStrategy: Sendable {
    /// The delay before the next retry (the first call gives the delay before the first retry).
    mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration
}

extension BackoffStrategy {
    /// This schedule with every delay cut to `cap`.
    public func maximum(_ cap: Duration) -> MaximumBackoff<Self> {
        MaximumBackoff(base: self, cap: cap)
    }

    /// This schedule with every delay raised to at least `floor`.
    public func minimum(_ floor: Duration) -> MinimumBackoff<Self> {
        MinimumBackoff(base: self, floor: floor)
    }

    /// Each delay `d` of this schedule replaced by a uniform draw in `0 ... d` ("full jitter").
    public func fullJitter() -> FullJitterBackoff<Self> {
        FullJitterBackoff(base: self)
    }

    /// Each delay `d` of this schedule replaced by `d/2` plus a uniform draw in `0 ... d/2` ("equal jitter").
    public func equalJitter() -> EqualJitterBackoff<Self> {
        EqualJitterBackoff(base: self)
    }
}
