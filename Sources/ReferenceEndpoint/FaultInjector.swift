import Synchronization

/// Decides which route calls get an injected 503 (`--fail-rate`). Deterministic for a seed: draw `n`
/// is SplitMix64 of `seed + n`, so tests can reproduce a run, and no lock is taken on the hot path.
public struct FaultInjector: Sendable {
    /// Probability in [0, 1] that a call is answered 503 before it runs.
    public let failRate: Double
    private let seed: UInt64
    private let counter: Counter

    private final class Counter: Sendable {
        let value = Atomic<UInt64>(0)
    }

    /// Creates an injector; `failRate` is clamped to [0, 1].
    public init(failRate: Double, seed: UInt64 = 0x5EED) {
        self.failRate = min(1, max(0, failRate))
        self.seed = seed
        self.counter = Counter()
    }

    /// Whether the next call should be failed.
    public func shouldFail() -> Bool {
        if failRate <= 0 { return false }
        if failRate >= 1 { return true }
        let n = counter.value.add(1, ordering: .relaxed).newValue
        var draw = SplitMix64(seed: seed &+ n)
        return draw.nextUnit() < failRate
    }
}
