/// Equal jitter over a schedule (see ``BackoffStrategy/equalJitter()``).
public struct EqualJitterBackoff<Base: BackoffStrategy>: BackoffStrategy {
    var base: Base

    /// Half of base's next delay plus a uniform draw in the other half.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        Backoff.equalJitter(base.nextDelay(using: &rng), using: &rng)
    }
}

extension EqualJitterBackoff: Equatable where Base: Equatable {}
extension EqualJitterBackoff: Hashable where Base: Hashable {}
