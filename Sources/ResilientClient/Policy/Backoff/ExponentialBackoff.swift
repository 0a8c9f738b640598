/// `initial`, then `initial × factor`, `initial × factor²`, … (saturating; bound it with `maximum`).
public struct ExponentialBackoff: BackoffStrategy, Hashable {
    /// The first delay.
    public let initial: Duration
    /// The growth per retry (values below 1 are 1).
    public let factor: Double
    private var retry = 0

    /// An exponential schedule.
    public init(initial: Duration, factor: Double = 2) {
        self.initial = max(.zero, initial)
        self.factor = factor.isFinite ? max(1, factor) : 1
    }

    /// The next delay of the curve.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        retry += 1
        return Backoff.exponential(base: initial, multiplier: factor, retry: retry)
    }
}
