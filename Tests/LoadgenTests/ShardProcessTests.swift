import EndpointSpec
import Foundation
import ReferenceEndpoint
import Testing

@testable import LoadgenCore

/// The exact-merge test: one scenario run once on one machine and once as three `loadgen run --shard K/3`
/// processes against the same real reference endpoint (a Python model that appends every body it receives to
/// a file), then `loadgen merge`.
@Suite(.serialized) struct ShardProcessTests {
    static let scenario = """
        {"name": "sharded", "target": {"url": "URL"}, "seed": 11,
         "requests": [
           {"name": "alpha", "route": "/predict", "weight": 2,
            "body": {"text": {"$concat": ["a-", {"$choice": ["x", "y", "z"]}, "-", {"$int": [0, 1000000]}, "-", {"$seq": 1}]}}},
           {"name": "beta", "route": "/predict", "weight": 1,
            "body": {"text": {"$concat": ["b-", {"$float": [0, 1]}, "-", {"$seq": 1}]}}}
         ],
         "load": {"type": "constant-rate", "rate": 60, "duration": "2s"},
         "client": {"connections": 2, "timeout": "10s"},
         "thresholds": ["error_rate < 1%"]}
        """

    static func lines(_ path: String) -> [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).sorted()
    }

    static func object(_ path: String) throws -> JSONObject {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard case .object(let root) = try LoadgenJSON.parse(text) else { throw ShardError("\(path) is not an object") }
        return root
    }

    static func integer(_ value: JSONValue?) -> Int64? {
        if case .number(let text)? = value { return Int64(text) }
        return nil
    }

    /// `histograms.NAME` of a run document (the lossless `Histogram.serialized()` form, which `merge` does not
    /// read: it merges the V2 encodings of the `shard` object).
    static func histogram(_ root: JSONObject, _ name: String) throws -> Histogram {
        guard case .object(let histograms)? = root["histograms"], let value = histograms[name] else {
            throw ShardError("no histograms.\(name)")
        }
        return try Histogram(json: value)
    }

    @Test func threeShardProcessesTogetherSendExactlyTheSingleMachineRun() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let received = directory.path + "/received.txt"
        try directory.write(
            "model/predict.py",
            """
            def predict(text):
                with open(\(received.debugDescription), "a") as log:
                    log.write(text + "\\n")
                return {"text": text}
            """)
        let routes = try EndpointConfig.decode(
            json: Array(
                #"{"routes": [{"path": "/predict", "verb": "POST", "file": "predict", "function": "predict", "positional": false, "body": [{"name": "text", "type": "str"}]}]}"#
                    .utf8)
        ).routes
        let launcher = ProcessTargetLauncher(executable: try ScenarioRunTests.endpointExecutable(), leadingArguments: [])
        let target = try await launcher.start(
            EmbeddedTarget(modelDirectory: directory.path + "/model", routes: routes, workers: 1))
        do {
            try await check(directory: directory, url: target.url.description, received: received)
        } catch {
            await target.stop()
            throw error
        }
        await target.stop()
    }

    func check(directory: TempDir, url: String, received: String) async throws {
        try directory.write("s.json", Self.scenario.replacingOccurrences(of: "URL", with: url))
        let planned = try #require(ArrivalSchedule(load: Scenario.load(path: directory.path + "/s.json").load)).count
        #expect(planned == 120)

        // One machine.
        let single = try await InterruptProcessTests.run(
            ["run", "s.json", "--json", "whole.json", "-q", "--threads", "1"], in: directory.path, signals: [])
        #expect(single.status == 0, "\(single.stderr)")
        let singleBodies = Self.lines(received)
        #expect(singleBodies.count == 120)
        try FileManager.default.removeItem(atPath: received)

        // Three shards, started together.
        let startAt = StartTime(seconds: (Date().timeIntervalSince1970 + 5).rounded(.up)).description
        func shard(_ index: Int) async throws -> InterruptProcessTests.Exit {
            try await InterruptProcessTests.run(
                ["run", "s.json", "--shard", "\(index)/3", "--start-at", startAt, "--json", "shard-\(index).json", "-q",
                 "--threads", "1"], in: directory.path, signals: [])
        }
        async let first = shard(0)
        async let second = shard(1)
        async let third = shard(2)
        let shards = try await [first, second, third]
        for (index, exit) in shards.enumerated() { #expect(exit.status == 0, "shard \(index): \(exit.stderr)") }

        // Together they sent exactly the single machine's requests: same bodies (request choice and generated
        // values), each once.
        let shardedBodies = Self.lines(received)
        #expect(shardedBodies == singleBodies)

        let merge = try await InterruptProcessTests.run(
            ["merge", "shard-2.json", "shard-0.json", "shard-1.json", "--json", "merged.json"], in: directory.path,
            signals: [])
        #expect(merge.status == 0, "\(merge.stdout)\n\(merge.stderr)")
        #expect(merge.stdout.contains("merged 3 of 3 shards, started at \(startAt)"))
        let merged = try Self.object(directory.path + "/merged.json")
        let whole = try Self.object(directory.path + "/whole.json")
        // The counts are the planned schedule's, exactly, as on one machine.
        for root in [merged, whole] {
            #expect(Self.integer(root["calls"]) == planned)
            #expect(Self.integer(root["ok"]) == planned)
            #expect(Self.integer(root["failed"]) == 0)
            guard case .object(let notSent)? = root["not_sent"] else {
                Issue.record("no not_sent")
                continue
            }
            #expect(Self.integer(notSent["total"]) == 0)
        }
        // Each shard ran its share; the merged histograms are those of all the shards' calls, bucket for bucket.
        let documents = try (0..<3).map { try Self.object(directory.path + "/shard-\($0).json") }
        for (index, document) in documents.enumerated() {
            #expect(Self.integer(document["calls"]) == (try Shard(index: index, count: 3)).share(of: planned))
        }
        for name in ["latency", "latency_ok", "service_time", "attempt_latency"] {
            var expected = Histogram.latency()
            for document in documents {
                let histogram = try Self.histogram(document, name)
                for (value, count) in histogram.nonZeroCounts() { expected.record(value, count: count) }
            }
            let actual = try Self.histogram(merged, name)
            #expect(actual.nonZeroCounts().map(\.value) == expected.nonZeroCounts().map(\.value), "\(name)")
            #expect(actual.nonZeroCounts().map(\.count) == expected.nonZeroCounts().map(\.count), "\(name)")
            #expect(actual.totalCount == planned, "\(name)")
            let minima = try documents.compactMap { try Self.histogram($0, name).minValue }
            let maxima = try documents.compactMap { try Self.histogram($0, name).maxValue }
            #expect(actual.minValue == minima.min() && actual.maxValue == maxima.max(), "\(name)")
        }
    }
}
