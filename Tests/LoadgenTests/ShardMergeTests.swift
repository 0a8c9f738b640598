import EndpointSpec
import Foundation
import Synchronization
import Testing

@testable import LoadgenCore

/// Shard results written and read back, and their merge, from calls recorded in memory: the merge of the
/// shards must equal, count for count and bucket for bucket, the result of recording every call on one
/// machine.
@Suite struct ShardMergeTests {
    static let startAt = StartTime(seconds: 1_796_371_200)
    static let fingerprint = "fnv1a64:00112233445566ff"
    static let thresholds = ["p99 < 250ms", "error_rate < 50%"]

    /// `count` calls of a run: varied latencies (1 µs to beyond the histogram's top), retries, failures by
    /// status and by kind, calls not sent, two request names; call `i` is recorded in `whole` and in shard
    /// `i mod shards`.
    static func results(calls count: Int64, shards: Int, seed: UInt64 = 1, clamped: Bool = false) -> (whole: RunResult, shards: [RunResult]) {
        var rng = TestRNG(state: seed)
        var whole = RunResult(scenarioName: "merge", loadDescription: "constant-rate 100/s for 5s", target: "http://127.0.0.1:1")
        // One measurement start for all (as the engine sets it); hour-long intervals when a call lasts beyond
        // the histogram's top, so that the time series stays short.
        whole.timeline = Timeline(interval: .seconds(clamped ? 3600 : 1), origin: 0)
        var parts = (0..<shards).map { _ in whole }
        for i in 0..<count {
            let intended = i * 10_000_000
            let request = Int(i % 2)
            let call: CallRecord
            switch rng.int(0...19) {
            case 0: call = .notSent(index: i, intendedStart: intended, reason: .runEnded, requestIndex: request)
            case 1:
                call = .sent(
                    index: i, intendedStart: intended,
                    attempts: [.failure(sent: intended + 5, ended: intended + rng.int(1_000...9_000_000), error: .reset)],
                    requestIndex: request)
            default:
                var attempts: [MeasuredAttempt] = []
                var time = intended + rng.int(0...2_000_000)
                let tries = rng.int(1...3)
                for attempt in 1...tries {
                    // With `clamped`, call 7 takes longer than the histogram's top (an hour).
                    let end = time + (clamped && i == 7 ? 3_700_000_000_000 : rng.int(1_000...800_000_000))
                    let status = attempt < tries ? 503 : (rng.int(0...9) == 0 ? 500 : 200)
                    attempts.append(.response(sent: time, ended: end, status: status, succeeded: status == 200))
                    time = end + 1_000
                }
                call = .sent(index: i, intendedStart: intended, attempts: attempts, requestIndex: request)
            }
            whole.record(call)
            parts[Int(i % Int64(shards))].record(call)
        }
        for index in parts.indices {
            parts[index].plannedNanoseconds = 5_000_000_000
            parts[index].elapsedNanoseconds = 6_000_000_000
            parts[index].offeredRate = 100 / Double(shards)
            parts[index].requestLabels = ["alpha", "beta"]
        }
        whole.requestLabels = ["alpha", "beta"]
        return (whole, parts)
    }

    /// The `--json` document of shard `index`, as `loadgen run --shard` writes it.
    static func document(_ result: RunResult, index: Int, of count: Int, startAt: StartTime = startAt, fingerprint: String = fingerprint) throws -> String {
        let outcomes = try thresholds.map { try Threshold(parsing: $0).evaluate(result) }
        let section = ShardResult.section(
            for: result, shard: try Shard(index: index, count: count), startAt: startAt, fingerprint: fingerprint,
            lateBySeconds: 0)
        return LoadgenCommand.adding("shard", section, to: Report.json(result, outcomes: outcomes), after: "target")
    }

    static func parsed(_ result: RunResult, index: Int, of count: Int) throws -> ShardResult {
        try ShardResult.parse(Array(try document(result, index: index, of: count).utf8), file: "shard-\(index).json")
    }

    static var histograms: [(String, KeyPath<RunResult, Histogram>)] { [
        ("latency", \.latency), ("latencyOk", \.latencyOk), ("serviceTime", \.serviceTime),
        ("serviceTimeOk", \.serviceTimeOk), ("attemptLatency", \.attemptLatency), ("sendLag", \.sendLag),
    ] }

    static func expectSameRun(_ merged: RunResult, _ whole: RunResult) {
        #expect(merged.calls == whole.calls && merged.ok == whole.ok && merged.failed == whole.failed)
        #expect(merged.notSent == whole.notSent && merged.attempts == whole.attempts)
        #expect(merged.attemptErrors == whole.attemptErrors && merged.callFailures == whole.callFailures)
        for (name, path) in histograms {
            // Bucket for bucket, with the exact extremes and the clamped count.
            #expect(merged[keyPath: path] == whole[keyPath: path], "\(name)")
            #expect(merged[keyPath: path].nonZeroCounts().map(\.count) == whole[keyPath: path].nonZeroCounts().map(\.count))
        }
        #expect(merged.byName.map(\.name) == whole.byName.map(\.name))
        #expect(merged.byName.map(\.stats) == whole.byName.map(\.stats))
        // Per interval the clamped count is not carried; everything else is.
        func unclamped(_ histogram: PackedHistogram) -> PackedHistogram {
            var dense = histogram.unpacked(like: Timeline.layout)
            dense.clampedCount = 0
            return PackedHistogram(dense)
        }
        func normalised(_ intervals: [Timeline.Interval]) -> [Timeline.Interval] {
            intervals.map { interval in
                var copy = interval
                copy.latency = unclamped(interval.latency)
                copy.latencyOk = unclamped(interval.latencyOk)
                return copy
            }
        }
        #expect(normalised(merged.timeline.intervals) == normalised(whole.timeline.intervals))
        #expect(merged.accountingProblems().isEmpty, "\(merged.accountingProblems())")
    }

    @Test func aShardResultReadsBackExactly() throws {
        let (whole, _) = Self.results(calls: 700, shards: 1, clamped: true)
        var written = whole
        written.plannedNanoseconds = 7_000_000_000
        written.elapsedNanoseconds = 7_250_000_000
        written.offeredRate = 100
        let shard = try Self.parsed(written, index: 0, of: 1)
        #expect(shard.shard == .whole && shard.startAt == Self.startAt && shard.fingerprint == Self.fingerprint)
        #expect(shard.thresholds.map(\.expression) == Self.thresholds)
        #expect(!shard.interrupted && shard.lateBySeconds == 0)
        #expect(shard.result.plannedNanoseconds == 7_000_000_000 && shard.result.elapsedNanoseconds == 7_250_000_000)
        #expect(shard.result.offeredRate == 100 && shard.result.startTime == Self.startAt.seconds)
        #expect(whole.latency.clampedCount > 0, "the data reaches past the histogram's top")
        Self.expectSameRun(shard.result, whole)
    }

    @Test(arguments: [1, 2, 3, 8]) func theMergeEqualsTheSingleMachineResult(shards: Int) throws {
        let (whole, parts) = Self.results(calls: 1_500, shards: shards, seed: UInt64(shards))
        // Given in any order.
        let files = try parts.indices.reversed().map { try Self.parsed(parts[$0], index: $0, of: shards) }
        let merge = try ShardMerge(files, allowPartial: false)
        #expect(merge.shards.map(\.shard.index) == Array(0..<shards) && merge.missing.isEmpty)
        Self.expectSameRun(merge.result, whole)
        #expect(abs((merge.result.offeredRate ?? 0) - 100) < 0.01)
        #expect(merge.result.plannedNanoseconds == 5_000_000_000 && merge.result.startTime == Self.startAt.seconds)
        #expect(merge.thresholds.map(\.expression) == Self.thresholds)
    }

    // MARK: Refusals

    static func threeShards() throws -> [ShardResult] {
        let (_, parts) = Self.results(calls: 90, shards: 3)
        return try parts.indices.map { try Self.parsed(parts[$0], index: $0, of: 3) }
    }

    static func refusal(_ shards: [ShardResult], allowPartial: Bool = false) -> String? {
        do {
            _ = try ShardMerge(shards, allowPartial: allowPartial)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func refusesShardsOfDifferentRuns() throws {
        var shards = try Self.threeShards()
        var other = shards
        other[2].fingerprint = "fnv1a64:ffffffffffffffff"
        other[2].file = "other.json"
        #expect(Self.refusal(other)?.contains("other.json is from another run than shard-0.json: scenario fingerprint fnv1a64:ffffffffffffffff") == true)
        other = shards
        other[1].shard = try Shard(index: 1, count: 4)
        #expect(Self.refusal(other)?.contains("shard-1.json is shard 1/4 but shard-0.json is shard 0/3") == true)
        other = shards
        other[1].startAt = StartTime(seconds: Self.startAt.seconds + 1)
        #expect(Self.refusal(other)?.contains("shard-1.json started at 2026-12-04T08:00:01Z but shard-0.json at 2026-12-04T08:00:00Z") == true)
        shards.append(shards[1])
        shards[3].file = "again.json"
        #expect(Self.refusal(shards) == "shard 1/3 is given twice: shard-1.json and again.json")
        #expect(Self.refusal(shards, allowPartial: true) == "shard 1/3 is given twice: shard-1.json and again.json")
        #expect(Self.refusal([]) == "no shard results given")
    }

    @Test func refusesAMissingShardUnlessPartialIsAllowed() throws {
        let shards = try Self.threeShards()
        let partial = [shards[2], shards[0]]
        #expect(Self.refusal(partial) == "shard 1/3 missing (given: 2 of 3); merge what is there with --allow-partial")
        #expect(Self.refusal([shards[0]])?.hasPrefix("shards 1/3, 2/3 missing") == true)
        let merge = try ShardMerge(partial, allowPartial: true)
        #expect(merge.missing == [1] && merge.count == 3)
        #expect(merge.result.calls == shards[0].result.calls + shards[2].result.calls)
    }

    @Test func refusesFilesThatAreNotShardResults() throws {
        let (whole, _) = Self.results(calls: 50, shards: 1)
        func failure(_ text: String) -> String? {
            do {
                _ = try ShardResult.parse(Array(text.utf8), file: "x.json")
                return nil
            } catch {
                return error.description
            }
        }
        // A plain run result (no --shard).
        #expect(failure(Report.json(whole, outcomes: []))?.hasPrefix("x.json: not a shard result: no \"shard\" object") == true)
        #expect(failure("[1]")?.hasPrefix("x.json: not a shard result: expected a JSON object") == true)
        #expect(failure("{")?.hasPrefix("x.json: ") == true)
        let good = try Self.document(whole, index: 0, of: 1)
        // Counters that do not add up.
        let badCalls = good.replacingOccurrences(of: "\"calls\": \(whole.calls),", with: "\"calls\": \(whole.calls + 1),")
        #expect(badCalls != good)
        #expect(failure(badCalls)?.contains("the shard's numbers do not add up: calls (\(whole.calls + 1)) != ok") == true)
        // An exact maximum outside the histogram's top bucket.
        let maximum = try #require(whole.latency.maxValue)
        let badMax = good.replacingOccurrences(of: "\"max\": \(maximum),", with: "\"max\": 5,")
        #expect(badMax != good)
        #expect(failure(badMax)?.contains("shard.histograms.latency: min") == true)
        // A damaged histogram.
        let badHdr = good.replacingOccurrences(of: "\"hdr\": \"HISTF", with: "\"hdr\": \"AAAA")
        #expect(failure(badHdr)?.contains("invalid HdrHistogram encoding") == true)
        let badShard = good.replacingOccurrences(of: "\"count\": 1,\n    \"start_at\"", with: "\"count\": 0,\n    \"start_at\"")
        #expect(badShard != good)
        #expect(failure(badShard) == "x.json: shard: the shard count must be 1...100000, got 0")
    }

    // MARK: The command

    struct Output {
        var code: Int32
        var stdout: String
        var stderr: String
        var files: [String: String]
    }

    static func merge(_ arguments: [String], in directory: TempDir) async -> Output {
        let out = Mutex("")
        let err = Mutex("")
        let files = Mutex([String: String]())
        let environment = LoadgenEnvironment(
            standardOutput: { text in out.withLock { $0 += text } },
            standardError: { text in err.withLock { $0 += text } }, progressIsTerminal: false,
            currentDirectory: directory.path, writeFile: { path, contents in files.withLock { $0[path] = contents } })
        let code = await LoadgenCommand.main(["merge"] + arguments, environment: environment)
        return Output(code: code, stdout: out.withLock { $0 }, stderr: err.withLock { $0 }, files: files.withLock { $0 })
    }

    @Test func theCommandPrintsTheSummaryAndAShardLineEach() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let (whole, parts) = Self.results(calls: 300, shards: 3)
        for index in parts.indices { try directory.write("s\(index).json", try Self.document(parts[index], index: index, of: 3)) }
        let output = await Self.merge(["s2.json", "s0.json", "s1.json", "--json", "m.json", "--hdr-log", "m.hlog"], in: directory)
        // 1 failed call in 20 and 1 in 10 answered 500: the error-rate threshold passes, the p99 one fails.
        #expect(output.code == LoadgenExitCode.thresholdsFailed.rawValue, "\(output.stderr)")
        #expect(output.stdout.contains("merged 3 of 3 shards, started at 2026-12-04T08:00:00Z"))
        #expect(output.stdout.contains("  calls               \(whole.calls)  (ok \(whole.ok), failed \(whole.failed)"))
        #expect(output.stdout.contains("FAIL  p99 < 250ms"))
        for index in 0..<3 {
            #expect(output.stdout.contains("  \(index)/3      calls \(parts[index].calls)"))
        }
        let json = try #require(output.files[directory.path + "/m.json"])
        guard case .object(let root) = try LoadgenJSON.parse(json), case .object(let shards)? = root["shards"] else {
            Issue.record("no shards object in \(json.prefix(300))")
            return
        }
        #expect(root["calls"] == .int(Int(whole.calls)))
        #expect(shards["count"] == .int(3) && shards["missing"] == .array([]))
        #expect(shards["fingerprint"] == .string(Self.fingerprint))
        let log = try #require(output.files[directory.path + "/m.hlog"])
        #expect(log.hasPrefix("#loadgen merge: merge,"))
        #expect(log.split(separator: "\n").filter { $0.first?.isNumber == true }.count == whole.timeline.count)
    }

    @Test func theCommandNamesWhatIsMissingAndExitsTwo() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let (_, parts) = Self.results(calls: 60, shards: 3)
        for index in parts.indices { try directory.write("s\(index).json", try Self.document(parts[index], index: index, of: 3)) }
        var output = await Self.merge(["s0.json", "s2.json"], in: directory)
        #expect(output.code == LoadgenExitCode.usageError.rawValue)
        #expect(output.stderr == "error: shard 1/3 missing (given: 2 of 3); merge what is there with --allow-partial\n")
        output = await Self.merge(["s0.json", "s2.json", "--allow-partial", "--threshold-free"], in: directory)
        #expect(output.code == LoadgenExitCode.usageError.rawValue)
        output = await Self.merge(["s0.json", "s2.json", "--allow-partial"], in: directory)
        #expect(output.code != LoadgenExitCode.usageError.rawValue)
        #expect(output.stdout.contains("PARTIAL: shard 1/3 missing"))
        #expect(output.stdout.contains("  1/3      missing"))
        output = await Self.merge(["s0.json", "s1.json", "s1.json", "s2.json"], in: directory)
        #expect(output.stderr == "error: shard 1/3 is given twice: s1.json and s1.json\n")
        output = await Self.merge(["s0.json", "nope.json"], in: directory)
        #expect(output.code == LoadgenExitCode.usageError.rawValue && output.stderr == "error: nope.json: no such file\n")
        output = await Self.merge([], in: directory)
        #expect(output.code == LoadgenExitCode.usageError.rawValue && output.stderr.contains("missing argument <SHARD>"))
    }
}
