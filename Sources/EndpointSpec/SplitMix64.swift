/// A small, fast, seedable random number generator (SplitMix64, Steele, Lea and Flood 2014), shared by
/// every part of the package that needs reproducible randomness: the client's jitter, loadgen's generated
/// request values and the endpoint's `--fail-rate` draws.
///
/// Public (re-exported by `ResilientClient`): it is the seeded generator an application passes to a backoff
/// schedule's `delay(forRetry:previous:using:)` or `nextDelay(using:)` to get the same jitter on every run, as
/// the client itself does with `ResilientClientConfiguration.randomSeed`.
///
/// ```swift
/// var rng = SplitMix64(seed: 42)                 // a stream fully determined by the seed
/// let delay = Backoff().delay(forRetry: 1, previous: nil, using: &rng)
/// var arrival = SplitMix64(seed: 7, index: 1234) // loadgen: the stream of one arrival, no shared state
/// ```
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's state; the next output is a function of it alone.
    public private(set) var state: UInt64

    private static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Creates a generator whose output sequence is fully determined by `seed` (the state starts at `seed`).
    public init(seed: UInt64) { state = seed }

    /// The stream for arrival `index` of a run seeded with `seed`: state = mix(seed ^ mix(index + γ)), so any
    /// shard or thread produces the same values for the same arrival.
    public init(seed: UInt64, index: UInt64) {
        state = Self.mix(seed ^ Self.mix(index &+ Self.gamma))
    }

    /// SplitMix64's finalizer (a bijective 64-bit mix).
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= Self.gamma
        return Self.mix(state)
    }

    /// A uniform double in [0, 1) (the top 53 bits).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform integer in `lower...upper` (unbiased, by rejection).
    public mutating func nextInt(_ lower: Int64, _ upper: Int64) -> Int64 {
        let span = UInt64(bitPattern: upper &- lower) &+ 1
        if span == 0 { return Int64(bitPattern: next()) }  // the full 64-bit range
        let limit = UInt64.max - UInt64.max % span
        var draw = next()
        var guardCount = 0
        while draw >= limit, guardCount < 64 {
            draw = next()
            guardCount += 1
        }
        return lower &+ Int64(bitPattern: draw % span)
    }
}
