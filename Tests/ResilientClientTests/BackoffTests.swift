import Testing

@testable import ResilientClient

@Suite struct BackoffTests {
    let base = Duration.milliseconds(100)
    let cap = Duration.seconds(2)

    @Test func noJitterIsExponentialAndCapped() {
        let backoff = Backoff(base: base, multiplier: 2, cap: cap, jitter: .none)
        var rng = SplitMix64(seed: 1)
        let delays = (1...8).map { backoff.delay(forRetry: $0, previous: nil, using: &rng) }
        #expect(delays == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
            .milliseconds(1600), .seconds(2), .seconds(2), .seconds(2),
        ])
    }

    @Test func retryNumbersBelowOneMeanFirstRetry() {
        let backoff = Backoff(base: base, jitter: .none)
        #expect(backoff.exponentialDelay(forRetry: 0) == base)
        #expect(backoff.exponentialDelay(forRetry: -5) == base)
    }

    @Test func hugeRetryNumbersSaturateAtCap() {
        let backoff = Backoff(base: base, multiplier: 10, cap: .seconds(60), jitter: .none)
        #expect(backoff.exponentialDelay(forRetry: 10_000) == .seconds(60))
        #expect(backoff.exponentialDelay(forRetry: Int.max) == .seconds(60))
    }

    @Test func invalidParametersAreClamped() {
        let backoff = Backoff(base: .seconds(-1), multiplier: .nan, cap: .seconds(-3), jitter: .none)
        #expect(backoff.base == .zero)
        #expect(backoff.multiplier == 1)
        #expect(backoff.cap == .zero)
        let low = Backoff(base: .seconds(1), multiplier: 0.5, cap: .milliseconds(10))
        #expect(low.multiplier == 1)
        #expect(low.cap == .seconds(1))
        #expect(low.exponentialDelay(forRetry: 7) == .seconds(1))
    }

    @Test(arguments: [JitterMode.full, .equal])
    func jitterStaysWithinItsRange(mode: JitterMode) {
        let backoff = Backoff(base: base, multiplier: 2, cap: cap, jitter: mode)
        var rng = SplitMix64(seed: 99)
        for retry in 1...12 {
            let exp = backoff.exponentialDelay(forRetry: retry)
            let low = mode == .equal ? exp / 2 : .zero
            var seen = Set<Duration>()
            for _ in 0..<200 {
                let d = backoff.delay(forRetry: retry, previous: nil, using: &rng)
                #expect(d >= low && d <= exp)
                seen.insert(d)
            }
            #expect(seen.count > 150, "jitter should spread the delays")
        }
    }

    @Test func fullJitterAveragesHalfTheExponentialDelay() {
        let backoff = Backoff(base: .seconds(1), multiplier: 1, cap: .seconds(1), jitter: .full)
        var rng = SplitMix64(seed: 5)
        var total = 0.0
        for _ in 0..<10_000 {
            total += Double(backoff.delay(forRetry: 1, previous: nil, using: &rng).clampedNanoseconds)
        }
        let mean = total / 10_000 / 1e9
        #expect(abs(mean - 0.5) < 0.02)
    }

    @Test func decorrelatedJitterDependsOnThePreviousDelay() {
        let backoff = Backoff(base: base, multiplier: 2, cap: cap, jitter: .decorrelated)
        var rng = SplitMix64(seed: 3)
        var previous: Duration? = nil
        for _ in 0..<500 {
            let d = backoff.delay(forRetry: 1, previous: previous, using: &rng)
            let high = min(cap, max(base, (previous ?? base) * 3))
            #expect(d >= base && d <= high)
            previous = d
        }
        // From a previous delay of 1 s, the next is in 100 ms ... 2 s (3 s capped).
        for _ in 0..<200 {
            let d = backoff.delay(forRetry: 9, previous: .seconds(1), using: &rng)
            #expect(d >= base && d <= cap)
        }
    }

    @Test func seededScheduleIsReproducible() {
        for mode in JitterMode.allCases {
            let backoff = Backoff(jitter: mode)
            var a = SplitMix64(seed: 1234)
            var b = SplitMix64(seed: 1234)
            var pa: Duration? = nil
            var pb: Duration? = nil
            for retry in 1...10 {
                let x = backoff.delay(forRetry: retry, previous: pa, using: &a)
                let y = backoff.delay(forRetry: retry, previous: pb, using: &b)
                #expect(x == y)
                pa = x
                pb = y
            }
        }
    }

    @Test func defaultsAreDocumented() {
        let backoff = Backoff()
        #expect(backoff.base == .milliseconds(100))
        #expect(backoff.multiplier == 2)
        #expect(backoff.cap == .seconds(5))
        #expect(backoff.jitter == .full)
    }

    @Test func splitMixKnownSequence() {
        // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        var rng = SplitMix64(seed: 0)
        do { let value = rng.next(); #expect(value == 0xE220_A839_7B1D_CDAF) }
        do { let value = rng.next(); #expect(value == 0x6E78_9E6A_A1B9_65F4) }
        do { let value = rng.next(); #expect(value == 0x06C4_5D18_8009_454F) }
    }

    @Test func unitIntervalIsInRange() {
        struct Fixed: RandomNumberGenerator {
            var value: UInt64
            mutating func next() -> UInt64 { value }
        }
        var max = Fixed(value: UInt64.max)
        var zero = Fixed(value: 0)
        do { let value = unitInterval(&max); #expect(value < 1) }
        do { let value = unitInterval(&zero); #expect(value == 0) }
    }
}
