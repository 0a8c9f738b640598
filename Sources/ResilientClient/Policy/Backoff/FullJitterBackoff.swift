/// Full jitter over a schedule (see ``BackoffStrategy/fullJitter()``).
public struct FullJitterBackoff<Base: BackoffStrategy>: BackoffStrategy {
    var base: Base

    /// A uniform draw in `0 ... base's next delay`.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        Backoff.fullJitter(base.nextDelay(using: &rng), using: &rng)
    }
}

extension FullJitterBackoff: Equatable where Base: Equatable {}
extension FullJitterBackoff: Hashable where Base: Hashable {}
