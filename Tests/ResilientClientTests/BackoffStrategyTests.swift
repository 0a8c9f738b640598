import Testing

@testable import ResilientClient

@Suite struct BackoffStrategyTests {
    static func take(_ count: Int, _ strategy: some BackoffStrategy, seed: UInt64 = 1) -> [Duration] {
        var strategy = strategy
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in strategy.nextDelay(using: &rng) }
    }

    @Test("exponential, then maximum: 50 ms × 3 capped at 2 s")
    func exponentialThenMaximum() {
        let delays = Self.take(6, ExponentialBackoff(initial: .milliseconds(50), factor: 3).maximum(.seconds(2)))
        #expect(delays == [
            .milliseconds(50), .milliseconds(150), .milliseconds(450), .milliseconds(1350), .seconds(2), .seconds(2),
        ])
    }

    @Test("constant, linear and minimum")
    func constantLinearMinimum() {
        #expect(Self.take(3, ConstantBackoff(.milliseconds(7))) == Array(repeating: .milliseconds(7), count: 3))
        #expect(Self.take(4, LinearBackoff(initial: .milliseconds(10), increment: .milliseconds(5))) == [
            .milliseconds(10), .milliseconds(15), .milliseconds(20), .milliseconds(25),
        ])
        #expect(Self.take(2, ConstantBackoff(.milliseconds(1)).minimum(.milliseconds(30))) == [
            .milliseconds(30), .milliseconds(30),
        ])
    }

    @Test("full jitter draws in [0, d], equal jitter in [d/2, d], and both spread")
    func jitterRanges() {
        let full = Self.take(500, ConstantBackoff(.seconds(1)).fullJitter(), seed: 9)
        #expect(full.allSatisfy { $0 >= .zero && $0 <= .seconds(1) })
        #expect(Set(full).count > 450)
        let equal = Self.take(500, ConstantBackoff(.seconds(1)).equalJitter(), seed: 9)
        #expect(equal.allSatisfy { $0 >= .milliseconds(500) && $0 <= .seconds(1) })
        #expect(Set(equal).count > 450)
    }

    @Test(
        "each Backoff, as a composed strategy, gives exactly the delays of Backoff.delay(forRetry:)",
        arguments: JitterMode.allCases)
    func backoffAndItsStrategyAgree(mode: JitterMode) {
        let backoff = Backoff(base: .milliseconds(30), multiplier: 2.5, cap: .seconds(3), jitter: mode)
        var rng = SplitMix64(seed: 42)
        var previous: Duration?
        var expected: [Duration] = []
        for retry in 1...12 {
            let delay = backoff.delay(forRetry: retry, previous: previous, using: &rng)
            expected.append(delay)
            previous = delay
        }
        #expect(Self.take(12, backoff.strategy(), seed: 42) == expected)
    }

    @Test("decorrelated jitter stays in [base, min(cap, 3 × previous)]")
    func decorrelated() {
        var strategy = DecorrelatedJitterBackoff(base: .milliseconds(100), cap: .seconds(2))
        var rng = SplitMix64(seed: 3)
        var previous = Duration.milliseconds(100)
        for _ in 0..<300 {
            let delay = strategy.nextDelay(using: &rng)
            #expect(delay >= .milliseconds(100) && delay <= min(.seconds(2), previous * 3))
            previous = delay
        }
    }

    @Test("a policy's custom strategy drives the planner, and each call starts from its own copy")
    func customStrategyInAPolicy() {
        let policy = RetryPolicy(
            maxAttempts: 4, strategy: ExponentialBackoff(initial: .milliseconds(10), factor: 10).maximum(.seconds(5)))
        var budget = RetryBudget(.unlimited)
        var rng = SplitMix64(seed: 1)
        func delays() -> [Duration] {
            var planner = RetryPlanner(policy: policy, idempotent: true, deadline: nil)
            var result: [Duration] = []
            for _ in 0..<3 {
                planner.recordAttempt()
                let decision = planner.decide(
                    after: .status(503), retryAfter: nil, now: .zero, wallClockSeconds: 0, budget: &budget, using: &rng)
                guard case .retry(let delay, _) = decision else { break }
                result.append(delay)
            }
            return result
        }
        #expect(delays() == [.milliseconds(10), .milliseconds(100), .seconds(1)])
        #expect(delays() == [.milliseconds(10), .milliseconds(100), .seconds(1)])
    }

    @Test("strategies compare by what they were made from, not by the state a call gathered")
    func equality() {
        let a = AnyBackoffStrategy(ExponentialBackoff(initial: .milliseconds(10)).maximum(.seconds(1)))
        let b = AnyBackoffStrategy(ExponentialBackoff(initial: .milliseconds(10)).maximum(.seconds(1)))
        let c = AnyBackoffStrategy(ExponentialBackoff(initial: .milliseconds(20)).maximum(.seconds(1)))
        let d = AnyBackoffStrategy(ConstantBackoff(.milliseconds(10)))
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a != c && a != d)
        var used = a
        var rng = SplitMix64(seed: 1)
        _ = used.nextDelay(using: &rng)
        #expect(used == a)
        #expect(RetryPolicy(strategy: ConstantBackoff(.seconds(1))) != RetryPolicy())
    }
}
