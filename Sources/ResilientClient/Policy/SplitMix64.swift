/// A small, fast, seedable random number generator (SplitMix64, Steele, Lea and Flood 2014).
///
/// Every decision value in this module takes its randomness as `inout some RandomNumberGenerator`, so tests
/// and simulations pass a `SplitMix64` with a fixed seed and get the same jittered schedule every run;
/// production code passes `SystemRandomNumberGenerator` (the client's default).
///
/// ```swift
/// var rng = SplitMix64(seed: 42)
/// let delay = Backoff().delay(forRetry: 1, previous: nil, using: &rng)
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's state; the next output is a function of it alone.
    public private(set) var state: UInt64

    /// Creates a generator whose output sequence is fully determined by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
