import Testing

@testable import LoadgenCore

/// The capacity search as a value, driven by scripted verdicts.
@Suite struct CapacitySearchTests {
    /// Runs a search against an endpoint that passes every rate up to `capacity`; `verdict` may override.
    static func drive(
        _ configuration: CapacitySearch.Configuration, capacity: Double,
        verdict: (Double, CapacitySearch.Phase) -> StepVerdict? = { _, _ in nil }
    ) -> (steps: [(rate: Double, phase: CapacitySearch.Phase, extended: Bool)], conclusion: CapacityConclusion?) {
        var search = CapacitySearch(configuration)
        var steps: [(Double, CapacitySearch.Phase, Bool)] = []
        var next = search.begin()
        while case .step(let rate, let phase, let extended) = next, steps.count < 100 {
            steps.append((rate, phase, extended))
            next = search.record(verdict(rate, phase) ?? (rate <= capacity ? .pass : .fail))
        }
        guard case .done(let conclusion) = next else { return (steps, nil) }
        return (steps, conclusion)
    }

    @Test("doubles, bisects on a log scale, confirms: the bracket holds the true capacity within the precision",
        arguments: [(10.0, 47.3), (1.0, 1234.5), (100.0, 100.0), (3.0, 5.9), (50.0, 50.1)])
    func bracketsTheCapacity(start: Double, capacity: Double) throws {
        let (steps, found) = Self.drive(.init(start: start, maxRate: 1e6, precision: 0.05), capacity: capacity)
        let conclusion = try #require(found)
        let pass = try #require(conclusion.lastPass)
        let fail = try #require(conclusion.firstFail)
        #expect(pass <= capacity && capacity < fail)
        #expect(fail / pass <= 1.05 + 1e-9)
        #expect(conclusion.confirmed)
        #expect(conclusion.limitedBy == .endpoint)
        #expect(steps.first?.rate == start)
        #expect(steps.last?.phase == .confirm && steps.last?.rate == pass)
        // Doubling first, then only bisection until the confirmation.
        let phases = steps.map(\.phase)
        let firstBisect = phases.firstIndex(of: .bisect) ?? phases.count - 1
        #expect(phases[..<firstBisect].allSatisfy { $0 == .double })
        #expect(phases[firstBisect..<(phases.count - 1)].allSatisfy { $0 == .bisect })
        #expect(steps.count < 30)
    }

    @Test("bisection steps are geometric means of the bracket")
    func bisectIsGeometric() {
        let (steps, _) = Self.drive(.init(start: 10, maxRate: 1e6, precision: 0.05), capacity: 30)
        // 10 pass, 20 pass, 40 fail, then sqrt(20 * 40).
        #expect(steps.prefix(4).map(\.rate) == [10, 20, 40, (20.0 * 40).squareRoot()])
    }

    @Test("an inconclusive step is repeated once, extended; inconclusive again counts as not passing")
    func inconclusiveRepeatsOnce() throws {
        var seen = 0
        let (steps, found) = Self.drive(.init(start: 10, maxRate: 1e6, precision: 0.05), capacity: 100) { rate, _ in
            if rate == 40 {
                seen += 1
                return .inconclusive
            }
            return nil
        }
        #expect(seen == 2)
        let index = try #require(steps.firstIndex { $0.rate == 40 })
        #expect(steps[index].extended == false && steps[index + 1].rate == 40 && steps[index + 1].extended)
        let conclusion = try #require(found)
        #expect(conclusion.firstFail == 40)
        #expect(try #require(conclusion.lastPass) >= 20)
    }

    @Test("a generator-limited step stops the climb and is never the endpoint's capacity")
    func generatorLimited() throws {
        let (steps, found) = Self.drive(.init(start: 10, maxRate: 1e6, precision: 0.05), capacity: 1e9) { rate, _ in
            rate >= 80 ? .generatorLimited : nil
        }
        let conclusion = try #require(found)
        #expect(conclusion.limitedBy == .generator)
        #expect(conclusion.lastPass == 40)
        #expect(conclusion.firstFail == 80)
        #expect(conclusion.confirmed)
        #expect(steps.map(\.rate) == [10, 20, 40, 80, 40])
    }

    @Test("a failed confirmation steps down by the precision and confirms again")
    func confirmationStepsDown() throws {
        // Short steps pass up to 50, but the long confirmation holds only up to 45.
        let (steps, found) = Self.drive(.init(start: 10, maxRate: 1e6, precision: 0.05), capacity: 50) { rate, phase in
            phase == .confirm ? (rate <= 45 ? .pass : .fail) : nil
        }
        let conclusion = try #require(found)
        #expect(conclusion.confirmed)
        let pass = try #require(conclusion.lastPass)
        #expect(pass <= 45)
        #expect(try #require(conclusion.firstFail) > 45)
        #expect(steps.filter { $0.phase == .confirm }.count >= 2)
    }

    @Test("confirmation failing at every step-down ends unconfirmed, without a capacity")
    func confirmationNeverHolds() throws {
        let (steps, found) = Self.drive(.init(start: 10, maxRate: 1e6, precision: 0.05, maxStepDowns: 3), capacity: 50) {
            _, phase in phase == .confirm ? .fail : nil
        }
        let conclusion = try #require(found)
        #expect(!conclusion.confirmed)
        #expect(conclusion.lastPass == nil)
        #expect(steps.filter { $0.phase == .confirm }.count == 4)
    }

    @Test("a failing start rate: halved when the probe chose it, the end when the user did")
    func startFails() throws {
        let given = try #require(Self.drive(.init(start: 100, maxRate: 1e6, precision: 0.05), capacity: 30).conclusion)
        #expect(given.lastPass == nil && given.firstFail == 100 && !given.confirmed)
        let probed = Self.drive(.init(start: 100, maxRate: 1e6, precision: 0.05, maxHalvings: 4), capacity: 30)
        #expect(probed.steps.prefix(3).map(\.rate) == [100, 50, 25])
        let conclusion = try #require(probed.conclusion)
        #expect(try #require(conclusion.lastPass) <= 30 && conclusion.confirmed)
    }

    @Test("every rate passing up to --max ends at max, confirmed, limited by it")
    func reachesMax() throws {
        let (steps, found) = Self.drive(.init(start: 10, maxRate: 70, precision: 0.05), capacity: 1e9)
        let conclusion = try #require(found)
        #expect(steps.map(\.rate) == [10, 20, 40, 70, 70])
        #expect(conclusion.lastPass == 70 && conclusion.firstFail == nil && conclusion.limitedBy == .maxRate)
    }
}

/// Judging one step: enough samples, pass/fail, and the generator's own delay.
@Suite struct StepJudgeTests {
    @Test("samples needed: zero exceedances at 99% confidence", arguments: [
        ("p99 < 100ms", Int64(459)), ("p99.9 < 1s", 4_603), ("p50 < 10ms", 7), ("error_rate < 1%", 459),
        ("max < 1s", 1), ("goodput > 10/s", 1),
    ])
    func requiredSamples(threshold: String, samples: Int64) throws {
        #expect(StepJudge(sla: [try Threshold(parsing: threshold)]).requiredSamples == samples)
    }

    /// A result of `count` calls with intended-start latency `latency` s, of which `queued` s waited to be sent.
    static func result(count: Int, latency: Double, queued: Double, failEvery: Int = 0) -> RunResult {
        var result = RunResult()
        for index in 0..<count {
            let start = Int64(index) * 10_000_000
            let sent = start + Int64(queued * 1e9)
            let ended = start + Int64(latency * 1e9)
            let ok = failEvery == 0 || index % failEvery != 0
            result.record(
                .sent(
                    index: Int64(index), intendedStart: start,
                    attempts: [.response(sent: sent, ended: ended, status: ok ? 200 : 503, succeeded: ok)]))
        }
        return result
    }

    @Test("pass, fail, inconclusive and generator-limited")
    func verdicts() throws {
        let judge = StepJudge(sla: [try Threshold(parsing: "p99 < 100ms"), try Threshold(parsing: "error_rate < 1%")])
        #expect(judge.judge(Self.result(count: 500, latency: 0.02, queued: 0)).verdict == .pass)
        let few = judge.judge(Self.result(count: 458, latency: 0.02, queued: 0))
        #expect(few.verdict == .inconclusive)
        #expect(few.reason == "only 458 of the 459 completed calls needed to judge the SLA")
        let slow = judge.judge(Self.result(count: 500, latency: 0.3, queued: 0))
        #expect(slow.verdict == .fail)
        #expect(slow.reason == "p99 < 100ms: 300ms")
        // 290 ms of the 300 ms were spent before the send: the generator's delay, not the endpoint's.
        let behind = judge.judge(Self.result(count: 500, latency: 0.3, queued: 0.29))
        #expect(behind.verdict == .generatorLimited)
        #expect(behind.reason.contains("service time p99 10ms"))
        // Errors are the endpoint's, whatever the latency.
        let failing = judge.judge(Self.result(count: 500, latency: 0.3, queued: 0.29, failEvery: 10))
        #expect(failing.verdict == .fail)
        #expect(failing.reason.contains("error_rate < 1%: 10%"))
    }
}
