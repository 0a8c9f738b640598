import Testing

@testable import LoadgenCore

/// The progress line: one per interval, labelled 1s, 2s, 3s... without gaps or repeats, with the offered rate.
@Suite struct ProgressTickTests {
    @Test("a late sampler gets every report it missed, each second once")
    func lateSampler() {
        var ticks = ProgressTicks(origin: 0, measureStart: 0, period: 1_000_000_000)
        #expect(ticks.nextDeadline == 1_000_000_000)
        #expect(ticks.due(at: 999_999_999).isEmpty)
        // The loop was busy for 2.5 s: reports 1s, 2s and 3s are all due now.
        #expect(ticks.due(at: 3_500_000_000).map(\.elapsed) == [1_000_000_000, 2_000_000_000, 3_000_000_000])
        #expect(ticks.due(at: 3_600_000_000).isEmpty)
        #expect(ticks.nextDeadline == 4_000_000_000)
        #expect(ticks.due(at: 4_000_000_001).map(\.elapsed) == [4_000_000_000])
    }

    @Test("warmup reports count from the warmup's start, measured ones from the measurement's")
    func warmupThenMeasurement() {
        var ticks = ProgressTicks(origin: 100, measureStart: 100 + 2_500_000_000, period: 1_000_000_000)
        let due = ticks.due(at: 100 + 5_000_000_000)
        #expect(
            due == [
                .init(elapsed: 1_000_000_000, warmingUp: true), .init(elapsed: 2_000_000_000, warmingUp: true),
                .init(elapsed: 1_000_000_000, warmingUp: false), .init(elapsed: 2_000_000_000, warmingUp: false),
            ])
    }

    @Test("the progress line shows the offered and the achieved rate")
    func offeredInTheLine() {
        let snapshot = ProgressSnapshot(
            elapsed: .seconds(3), total: .seconds(10), attemptRate: 180, goodputRate: 179.5, p99Microseconds: 4210,
            errors: 1, status503: 2, inFlight: 3, offeredRate: 250)
        #expect(
            Report.progressLine(snapshot)
                == "[  3s/10s]  offered   250/s  achieved     180 req/s  ok 179.5/s  p99 4.21ms  errors 1  503s 2  in flight 3")
    }

    @Test("the engine reports each interval exactly once, at whole intervals, with the offered rate")
    func engineReportsWholeIntervals() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        var plan = enginePlan(port: target.port, load: .constantRate(rate: 200, duration: .milliseconds(1500)))
        plan.progressInterval = .milliseconds(200)
        let log = ProgressLog()
        _ = try await NetworkLoadEngine(configuration: .init(threads: 2)).run(plan) { log.add($0) }
        let elapsed = log.all.map(\.elapsed.nanoseconds)
        #expect(elapsed.count >= 5, "\(elapsed)")
        #expect(elapsed == (1...elapsed.count).map { Int64($0) * 200_000_000 }, "\(elapsed)")
        let offered = log.all.compactMap(\.offeredRate)
        #expect(offered.count == elapsed.count)
        // 200/s offered: the intervals together offered every call (rates per interval vary on a busy host).
        #expect(offered.allSatisfy { $0 >= 0 } && offered.contains { $0 > 0 }, "\(offered)")
    }
}
