/// The same delay before every retry.
public struct ConstantBackoff: BackoffStrategy, Hashable {
    /// The delay.
    public let delay: Duration

    /// A constant schedule (a negative delay is zero).
    public init(_ delay: Duration) {
        self.delay = max(.zero, delay)
    }

    /// Returns `delay`.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        delay
    }
}
