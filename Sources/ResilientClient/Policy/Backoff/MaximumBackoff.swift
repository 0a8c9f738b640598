/// A schedule with its delays cut to `cap` (see ``BackoffStrategy/maximum(_:)``).
public struct MaximumBackoff<Base: BackoffStrategy>: BackoffStrategy {
    var base: Base
    let cap: Duration

    /// `min(cap, base's next delay)`.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        min(cap, base.nextDelay(using: &rng))
    }
}

extension MaximumBackoff: Equatable where Base: Equatable {}
extension MaximumBackoff: Hashable where Base: Hashable {}
