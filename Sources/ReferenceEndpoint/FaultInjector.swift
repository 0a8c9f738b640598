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
        return Self.unitInterval(Self.splitMix64(seed &+ n)) < failRate
    }

    /// SplitMix64 finaliser: a well-mixed 64-bit value for each input.
    static func splitMix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Maps 64 random bits to [0, 1) using the top 53 bits.
    static func unitInterval(_ bits: UInt64) -> Double {
        Double(bits >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }
}
