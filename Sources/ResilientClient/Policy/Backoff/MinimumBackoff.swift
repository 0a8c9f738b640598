/// A schedule with its delays raised to `floor` (see ``BackoffStrategy/minimum(_:)``).
public struct MinimumBackoff<Base: BackoffStrategy>: BackoffStrategy {
    var base: Base
    let floor: Duration

    /// `max(floor, base's next delay)`.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        max(floor, base.nextDelay(using: &rng))
    }
}

extension MinimumBackoff: Equatable where Base: Equatable {}
extension MinimumBackoff: Hashable where Base: Hashable {}
