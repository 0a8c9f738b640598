/// A ``BackoffStrategy`` of any type, as a ``RetryPolicy`` holds it.
///
/// Two values are equal when they were made from equal strategies (compared as they were at creation): the
/// state a strategy gathers during a call does not take part.
public struct AnyBackoffStrategy: BackoffStrategy, Hashable {
    private var strategy: any BackoffStrategy
    /// The strategy as it was made: what equality and hashing compare.
    private let prototype: any BackoffStrategy & Hashable

    /// Wraps `strategy`.
    public init<Strategy: BackoffStrategy & Hashable>(_ strategy: Strategy) {
        self.strategy = strategy
        prototype = strategy
    }

    /// The wrapped strategy's next delay.
    public mutating func nextDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        strategy.nextDelay(using: &rng)
    }

    /// Equal when made from equal strategies.
    public static func == (lhs: AnyBackoffStrategy, rhs: AnyBackoffStrategy) -> Bool {
        lhs.prototype.isEqual(to: rhs.prototype)
    }

    /// Hashes the strategy it was made from.
    public func hash(into hasher: inout Hasher) {
        prototype.hash(into: &hasher)
    }
}

extension Hashable {
    /// Whether `other` is a value of this type equal to this one.
    fileprivate func isEqual(to other: any Hashable) -> Bool {
        (other as? Self) == self
    }
}
