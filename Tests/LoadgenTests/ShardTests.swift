import EndpointSpec
import Foundation
import Testing

@testable import LoadgenCore

/// Shard selection, the common start and the scenario fingerprint, as pure values (no clock, no sockets).
@Suite struct ShardTests {
    static func scenario(_ json: String) throws -> Scenario {
        try Scenario.decode(Array(json.utf8), baseDirectory: "/tmp", currentDirectory: "/tmp")
    }

    static let mix = """
        "requests": [
          {"name": "alpha", "route": "/a", "body": {"x": {"$int": [1, 1000000]}, "k": {"$choice": ["p", "q", {"$seq": 5}]}}, "weight": 3},
          {"name": "beta", "route": "/b", "method": "GET", "weight": 1}
        ]
        """

    static func scenario(load: String, seed: Int = 7) throws -> Scenario {
        try scenario(#"{"name": "s", "target": {"url": "http://127.0.0.1:9"}, "seed": \#(seed), "load": \#(load), \#(mix)}"#)
    }

    // MARK: Shard

    @Test func parsesAndRejectsShards() throws {
        #expect(try Shard(parsing: "2/4") == Shard(index: 2, count: 4))
        #expect(try Shard(parsing: "0/1") == .whole)
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", "", "1/", "/4", "0/100001"] {
            #expect(throws: ShardError.self, "\(bad)") { try Shard(parsing: bad) }
        }
        #expect(throws: ShardError("the shard index must be 0...3 for 4 shards, got 4")) { try Shard(parsing: "4/4") }
        // The shares of N shards add up to the whole, whatever the remainder.
        for total in [0, 1, 2, 3, 10, 11, 1000] as [Int64] {
            for count in 1...7 {
                let shares = try (0..<count).map { try Shard(index: $0, count: count).share(of: total) }
                #expect(shares.reduce(0, +) == total, "\(total) over \(count)")
            }
        }
    }

    // MARK: Open loops and ramps

    /// Every arrival of the whole run is sent by exactly one shard, at its single-machine time, with its
    /// single-machine request.
    @Test(arguments: [
        #"{"type": "constant-rate", "rate": 97, "duration": "3s"}"#,
        #"{"type": "ramping-rate", "startRate": 0, "stages": [{"target": 80, "duration": "2s"}, {"target": 10, "duration": "1500ms"}, {"target": 10, "duration": "1s"}]}"#,
    ])
    func shardsTogetherSendTheWholeOpenLoop(load: String) throws {
        let scenario = try Self.scenario(load: load)
        let whole = RunPlan(scenario: scenario, target: try TargetURL(parsing: "http://127.0.0.1:9"))
        guard case .open(let schedule) = whole.load else {
            Issue.record("not an open loop")
            return
        }
        #expect(schedule.count > 100)
        let expected = (0..<schedule.count).map { i in
            "\(i)@\(schedule.intendedTime(of: i)):\(whole.requests.request(at: i))"
        }
        for count in [1, 2, 3, 7] {
            var sent: [String] = []
            for index in 0..<count {
                let plan = whole.sharded(try Shard(index: index, count: count))
                guard case .open(let part) = plan.load else { continue }
                #expect(part.plannedCount == part.count)
                #expect(part.totalCount == schedule.count)
                for n in 0..<part.count {
                    let i = part.arrivalIndex(of: n)
                    #expect(i % Int64(count) == Int64(index))
                    sent.append("\(i)@\(part.intendedTime(of: n)):\(plan.requests.request(at: i))")
                }
                // Past the end: the end time, as for the whole schedule.
                #expect(part.intendedTime(of: part.count) == schedule.length)
            }
            #expect(sent.sorted() == expected.sorted(), "N = \(count)")
        }
    }

    @Test func closedLoopUsersAreSplitAndTheirCallsKeepTheirIndices() throws {
        let scenario = try Self.scenario(load: #"{"type": "closed", "users": 10, "duration": "1s"}"#)
        let whole = RunPlan(scenario: scenario, target: try TargetURL(parsing: "http://127.0.0.1:9"))
        guard case .closed(let model) = whole.load else {
            Issue.record("not a closed loop")
            return
        }
        let expected = (0..<model.users).flatMap { user in (0..<5).map { model.arrivalIndex(user: user, iteration: $0) } }
        var indices: [Int64] = []
        for index in 0..<3 {
            guard case .closed(let part) = whole.sharded(try Shard(index: index, count: 3)).load else { continue }
            #expect(part.users == [4, 3, 3][index])
            #expect(part.totalUsers == 10)
            indices += (0..<part.users).flatMap { user in (0..<5).map { part.arrivalIndex(user: user, iteration: $0) } }
        }
        #expect(indices.sorted() == expected.sorted())
        #expect(Set(indices).count == 50)
    }

    @Test func warmupIsShardedToo() throws {
        var scenario = try Self.scenario(load: #"{"type": "constant-rate", "rate": 90, "duration": "1s"}"#)
        scenario.warmup = .seconds(1)
        let plan = RunPlan(scenario: scenario, target: try TargetURL(parsing: "http://127.0.0.1:9"))
            .sharded(try Shard(index: 1, count: 3))
        guard case .open(let warmup)? = plan.warmup else {
            Issue.record("no warmup")
            return
        }
        #expect(warmup.count == 30)
    }

    // MARK: Late start

    @Test func aLateShardSkipsWhatWasDueAndKeepsTheRestOnTime() throws {
        let scenario = try Self.scenario(load: #"{"type": "constant-rate", "rate": 100, "duration": "4s"}"#)
        let plan = RunPlan(scenario: scenario, target: try TargetURL(parsing: "http://127.0.0.1:9"))
            .sharded(try Shard(index: 1, count: 2))
        guard case .open(let part) = plan.load else { return }
        let start = ShardStart(startAt: StartTime(seconds: 1_000))
        // On time: the engine takes over `lead` before the start; nothing is skipped.
        #expect(start.waitSeconds(now: 990, plan: plan) == 10 - ShardStart.lead)
        let onTime = start.plan(plan, readyAt: 999)
        #expect(onTime.lateBy == 0 && onTime.plan.startAt == 1_000)
        #expect(onTime.plan.load == plan.load)
        #expect(ShardStart.lateStartRecords(onTime.plan, origin: 0).isEmpty)
        // Ready 0.95 s late (+ the allowance: cut at 1 s): arrivals 1, 3, ..., 99 (due 0.01 s ... 0.99 s) are
        // not sent; arrival 101 (1.01 s) is the first sent, at its own time.
        #expect(start.waitSeconds(now: 1_000.95, plan: plan) == 0)
        let late = start.plan(plan, readyAt: 1_000.95)
        #expect(abs(late.lateBy - 1.0) < 1e-9)
        guard case .open(let rest) = late.plan.load else { return }
        #expect(rest.skipped == 50 && rest.count == part.count - 50 && rest.plannedCount == part.count)
        #expect(rest.arrivalIndex(of: 0) == 101)
        #expect(rest.intendedTime(of: 0) == part.intendedTime(of: 50))
        let records = ShardStart.lateStartRecords(late.plan, origin: 5_000)
        #expect(records.map(\.index) == Array(stride(from: Int64(1), to: 100, by: 2)))
        #expect(records.allSatisfy { $0.notSentReason == .lateStart && $0.attempts.isEmpty })
        let firstStart = try #require(records.first).intendedStart
        #expect(firstStart == 10_005_000, "\(firstStart)")
        #expect(records.map(\.requestIndex) == records.map { plan.requests.requestIndex(at: $0.index) })
        // Recorded, they count as not sent in the seconds they were due.
        var result = RunResult()
        result.timeline.origin = 5_000
        for record in records { result.record(record) }
        #expect(result.notSent == [.lateStart: 50] && result.accountingProblems().isEmpty)
        #expect(result.timeline.intervals.first?.notSent == 50)
    }

    @Test func aWarmupThatCannotFinishBeforeTheStartIsSkipped() throws {
        var scenario = try Self.scenario(load: #"{"type": "constant-rate", "rate": 10, "duration": "1s"}"#)
        scenario.warmup = .seconds(2)
        let plan = RunPlan(scenario: scenario, target: try TargetURL(parsing: "http://127.0.0.1:9"))
        let start = ShardStart(startAt: StartTime(seconds: 100))
        #expect(start.waitSeconds(now: 90, plan: plan) == 10 - 2 - ShardStart.lead)
        #expect(start.plan(plan, readyAt: 97).warmupSkipped == false)
        let late = start.plan(plan, readyAt: 98.5)
        #expect(late.warmupSkipped && late.plan.warmup == nil && late.lateBy == 0)
    }

    @Test func closedLoopsAreNotSkippedWhenLate() throws {
        let scenario = try Self.scenario(load: #"{"type": "closed", "users": 4, "duration": "2s"}"#)
        let plan = RunPlan(scenario: scenario, target: try TargetURL(parsing: "http://127.0.0.1:9"))
        let late = ShardStart(startAt: StartTime(seconds: 100)).plan(plan, readyAt: 101)
        #expect(late.lateBy > 1 && late.plan.load == plan.load)
        #expect(ShardStart.lateStartRecords(late.plan, origin: 0).isEmpty)
    }

    // MARK: Start time

    @Test func parsesRFC3339AndRelativeTimes() throws {
        let cases: [(String, Double)] = [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-12-04T08:00:00Z", 1_796_371_200),
            ("2026-12-04t08:00:00z", 1_796_371_200),
            ("2026-12-04 09:30:00+01:30", 1_796_371_200),
            ("2026-12-04T03:00:00-05:00", 1_796_371_200),
            ("2026-12-04T08:00:00.25Z", 1_796_371_200.25),
            ("2024-02-29T12:00:00Z", 1_709_208_000),
            ("2000-03-01T00:00:00Z", 951_868_800),
        ]
        for (text, seconds) in cases {
            let parsed = try StartTime(parsing: text, now: 0)
            #expect(abs(parsed.seconds - seconds) < 1e-6, "\(text)")
        }
        #expect(try StartTime(parsing: "now+10s", now: 1_000).seconds == 1_010)
        #expect(try StartTime(parsing: "now+1m30s", now: 1_000).seconds == 1_090)
        for bad in [
            "2026-12-04T08:00:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-04T24:00:00Z",
            "2026-12-04T08:00:00.Z", "2026-12-04T08:00:00+0100", "tomorrow", "now+", "now+-5s", "now-10s", "",
            "2026-12-04T08:00:00Zjunk",
        ] {
            #expect(throws: ShardError.self, "\(bad)") { try StartTime(parsing: bad, now: 0) }
        }
    }

    @Test func printsRFC3339InUTCAndReadsItBack() throws {
        for seconds in [0, 1_796_371_200, 1_796_371_200.25, 1_796_371_200.000001, 951_868_799.5, 4_102_444_800] {
            let text = StartTime(seconds: seconds).description
            #expect(abs(try StartTime(parsing: text, now: 0).seconds - seconds) < 1e-6, "\(text)")
        }
        #expect(StartTime(seconds: 1_796_371_200).description == "2026-12-04T08:00:00Z")
        #expect(StartTime(seconds: 1_796_371_200.25).description == "2026-12-04T08:00:00.25Z")
        #expect(StartTime(seconds: 951_868_799.5).description == "2000-02-29T23:59:59.5Z")
    }

    @Test func mapsTheStartOntoTheMonotonicClock() {
        #expect(StartTime.monotonic(wallClock: 110, now: 5_000_000_000, wallNow: 100) == 15_000_000_000)
        #expect(StartTime.monotonic(wallClock: 99, now: 5_000_000_000, wallNow: 100) == 4_000_000_000)
        #expect(StartTime.monotonic(wallClock: 0, now: 5_000_000_000, wallNow: 100) == 0)
    }

    // MARK: Fingerprint

    @Test func theFingerprintFollowsWhatTheRunSends() throws {
        let load = #"{"type": "constant-rate", "rate": 50, "duration": "2s"}"#
        let base = try Self.scenario(load: load)
        #expect(ScenarioFingerprint.of(base) == ScenarioFingerprint.of(try Self.scenario(load: load)))
        #expect(ScenarioFingerprint.of(base).hasPrefix("fnv1a64:") && ScenarioFingerprint.of(base).count == 24)
        var moved = base
        moved.baseDirectory = "/elsewhere"
        #expect(ScenarioFingerprint.of(moved) == ScenarioFingerprint.of(base))
        var reseeded = base
        reseeded.seed = 8
        var faster = base
        faster.load = .constantRate(rate: 51, duration: .seconds(2))
        var stricter = base
        stricter.thresholds = [try Threshold(parsing: "p99 < 1s")]
        let others = [reseeded, faster, stricter, try Self.scenario(load: load, seed: 9)]
        for other in others { #expect(ScenarioFingerprint.of(other) != ScenarioFingerprint.of(base)) }
    }

    @Test func canonicalTextSortsSetsAndDictionaries() {
        let a: Set<Int> = [1, 2, 3, 500, 77]
        let b: Set<Int> = [77, 500, 3, 2, 1]
        #expect(ScenarioFingerprint.canonicalText(a) == ScenarioFingerprint.canonicalText(b))
        #expect(ScenarioFingerprint.canonicalText(["x": 1, "y": 2]) == ScenarioFingerprint.canonicalText(["y": 2, "x": 1]))
        #expect(ScenarioFingerprint.canonicalText([1, 2]) != ScenarioFingerprint.canonicalText([2, 1]))
        #expect(ScenarioFingerprint.canonicalText(Optional<Int>.none as Any) != ScenarioFingerprint.canonicalText(Optional(0) as Any))
    }
}
