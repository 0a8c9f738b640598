import Testing

@testable import ResilientClient

@Suite struct RetryBudgetTests {
    @Test func ratioLimitsRetriesToAFractionOfCalls() {
        var budget = RetryBudget(.init(window: .seconds(10), minRetriesPerSecond: 0, retryRatio: 0.2))
        #expect(budget.available(now: .zero) == 0)
        do { let value = budget.tryWithdraw(now: .zero); #expect(value == false) }
        for _ in 0..<10 { budget.deposit(now: .seconds(1)) }
        #expect(budget.available(now: .seconds(1)) == 2)
        do { let value = budget.tryWithdraw(now: .seconds(1)); #expect(value) }
        do { let value = budget.tryWithdraw(now: .seconds(2)); #expect(value) }
        do { let value = budget.tryWithdraw(now: .seconds(2)); #expect(!value) }
        #expect(budget.available(now: .seconds(2)) == 0)
    }

    @Test func minimumAllowanceAllowsRetriesWithoutTraffic() {
        var budget = RetryBudget(.init(window: .seconds(2), minRetriesPerSecond: 3, retryRatio: 0))
        #expect(budget.available(now: .zero) == 6)
        for _ in 0..<6 { do { let value = budget.tryWithdraw(now: .milliseconds(100)); #expect(value) } }
        do { let value = budget.tryWithdraw(now: .milliseconds(100)); #expect(!value) }
        // Withdrawals expire after the window.
        #expect(budget.available(now: .milliseconds(2100)) == 6)
    }

    @Test func depositsExpireAfterTheWindow() {
        var budget = RetryBudget(.init(window: .seconds(10), minRetriesPerSecond: 0, retryRatio: 1, slots: 10))
        for _ in 0..<5 { budget.deposit(now: .milliseconds(500)) }
        #expect(budget.available(now: .milliseconds(500)) == 5)
        #expect(budget.available(now: .milliseconds(9999)) == 5)
        #expect(budget.available(now: .seconds(10)) == 0)  // slot 0 has left the window
        #expect(budget.available(now: .seconds(1000)) == 0)
    }

    @Test func ringSlotsAreReusedCorrectly() {
        var budget = RetryBudget(.init(window: .seconds(4), minRetriesPerSecond: 0, retryRatio: 1, slots: 4))
        budget.deposit(now: .seconds(0))
        budget.deposit(now: .seconds(1))
        budget.deposit(now: .seconds(2))
        budget.deposit(now: .seconds(3))
        #expect(budget.available(now: .seconds(3)) == 4)
        budget.deposit(now: .seconds(4))  // reuses slot 0
        #expect(budget.available(now: .seconds(4)) == 4)
        #expect(budget.available(now: .seconds(6)) == 2)
        do { let value = budget.tryWithdraw(now: .seconds(6)); #expect(value) }
        #expect(budget.available(now: .seconds(6)) == 1)
    }

    @Test func sustainedOverloadAddsAtMostTheRatioPlusAllowance() {
        // 100 calls/s for 60 s, every attempt fails, each call would retry 4 times.
        var budget = RetryBudget(.init(window: .seconds(10), minRetriesPerSecond: 1, retryRatio: 0.1))
        var retries = 0
        var calls = 0
        for tick in 0..<6000 {
            let now = Duration.milliseconds(10 * tick)
            budget.deposit(now: now)
            calls += 1
            for _ in 0..<4 where budget.tryWithdraw(now: now) { retries += 1 }
        }
        // At most 10 % of calls + 1/s (plus one window's allowance at the start).
        let bound = Int(0.1 * Double(calls)) + 60 + 10
        #expect(retries <= bound)
        #expect(retries >= Int(0.1 * Double(calls)) - 100)
    }

    @Test func unlimitedNeverRefuses() {
        var budget = RetryBudget(.unlimited)
        for _ in 0..<1000 { do { let value = budget.tryWithdraw(now: .zero); #expect(value == true) } }
        #expect(budget.available(now: .zero) == Int.max)
    }

    @Test func configurationIsClamped() {
        let config = RetryBudget.Configuration(window: .zero, minRetriesPerSecond: -3, retryRatio: -1, slots: 0)
        #expect(config.window == .milliseconds(1))
        #expect(config.minRetriesPerSecond == 0)
        #expect(config.retryRatio == 0)
        #expect(config.slots == 1)
        #expect(RetryBudget.Configuration(retryRatio: .infinity).retryRatio == 0)
        let defaults = RetryBudget.Configuration()
        #expect(defaults.window == .seconds(10) && defaults.minRetriesPerSecond == 10 && defaults.retryRatio == 0.2)
    }

    @Test func hugeAllowanceDoesNotOverflow() {
        let budget = RetryBudget(.init(window: .seconds(1_000_000_000), minRetriesPerSecond: Int.max))
        #expect(budget.available(now: .zero) == Int.max)
    }

    /// The budget against a model that keeps every event: for seeded random runs whose times move forward
    /// by steps that often land exactly on slot boundaries, stay inside one slot, or jump several windows
    /// (the budget caches the slot it last touched), every `available` and `tryWithdraw` agrees.
    @Test func agreesWithAModelOfEveryEvent() {
        struct Model {
            var deposits: [Int64] = []  // slot epochs
            var withdrawals: [Int64] = []
            let slots: Int64
            let ratio: Double
            func available(epoch: Int64) -> Int {
                let inWindow = { (e: Int64) in e > epoch - slots && e <= epoch }
                let earned = ratio * Double(deposits.filter(inWindow).count)
                return max(0, Int((earned - Double(withdrawals.filter(inWindow).count)).rounded(.down)))
            }
        }
        let slotNanoseconds: Int64 = 250_000_000
        for seed in 1...40 {
            var rng = SplitMix64(seed: UInt64(seed))
            var budget = RetryBudget(.init(window: .seconds(1), minRetriesPerSecond: 0, retryRatio: 0.5, slots: 4))
            var model = Model(slots: 4, ratio: 0.5)
            var now: Int64 = Int64(rng.next() % 1_000_000_000)
            for _ in 0..<400 {
                switch rng.next() % 5 {
                case 0: now += slotNanoseconds - now % slotNanoseconds  // exactly the next boundary
                case 1: now += Int64(rng.next() % 1_000)  // within a slot, mostly
                case 2: now += Int64(rng.next() % 3_000_000_000)  // up to three windows
                default: break  // the same instant
                }
                let epoch = now / slotNanoseconds
                let at = Duration.nanoseconds(now)
                switch rng.next() % 3 {
                case 0:
                    budget.deposit(now: at)
                    model.deposits.append(epoch)
                case 1:
                    let allowed = model.available(epoch: epoch) >= 1
                    #expect(budget.tryWithdraw(now: at) == allowed, "seed \(seed) at \(now) ns")
                    if allowed { model.withdrawals.append(epoch) }
                default:
                    #expect(budget.available(now: at) == model.available(epoch: epoch), "seed \(seed) at \(now) ns")
                }
            }
        }
    }
}
