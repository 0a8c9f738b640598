import EndpointSpec
import Foundation
import Synchronization
import Testing

@testable import LoadgenCore

/// `loadgen compare`: verdicts on synthetic results (built with `RunResult` and `Report.json`), the refusals,
/// the exit codes, several runs per side, and the Mann–Whitney U test against scipy's values.
@Suite struct CompareTests {
    static let second: Int64 = 1_000_000_000
    static let origin: Int64 = 100 * second

    /// The shape of a synthetic run: `rate` calls/s for `seconds`; each call's latency is
    /// `(latencyMs + spreadMs × u) × f + shiftMs` with `u` uniform in [0, 1), 1% of calls `4 × spreadMs × u`
    /// slower, and `f` a per-second factor uniform in [1 − drift, 1 + drift]; `failureRate` of the calls fail
    /// with a 500.
    struct Shape: Hashable {
        var seconds = 20
        var rate = 200
        var latencyMs = 2.0
        var spreadMs = 2.0
        var shiftMs = 0.0
        var drift = 0.0
        var failureRate = 0.0
        var scenario = "synthetic"
        var load = "constant-rate 200/s for 20s"
    }

    static func uniform(_ rng: inout SplitMix64) -> Double { Double(rng.next() >> 11) / Double(1 << 53) }

    /// The documents built so far, by seed and shape: the tests compare the same few runs again and again,
    /// and building one (recording 4,000 calls, writing the JSON) costs more than comparing it.
    static let documents = Mutex<[Key: String]>([:])
    struct Key: Hashable {
        var seed: UInt64
        var shape: Shape
    }

    /// The `loadgen run --json` document of a synthetic run (built once per seed and shape).
    static func runJSON(seed: UInt64, _ shape: Shape = Shape()) -> String {
        let key = Key(seed: seed, shape: shape)
        if let document = documents.withLock({ $0[key] }) { return document }
        let document = buildRunJSON(seed: seed, shape)
        documents.withLock { $0[key] = document }
        return document
    }

    static func buildRunJSON(seed: UInt64, _ shape: Shape) -> String {
        var rng = SplitMix64(seed: seed)
        var result = RunResult(scenarioName: shape.scenario, loadDescription: shape.load, target: "http://127.0.0.1:1")
        result.timeline.origin = origin
        var factor = 1.0
        for index in 0..<(shape.seconds * shape.rate) {
            if index % shape.rate == 0 { factor = 1 + shape.drift * (uniform(&rng) * 2 - 1) }
            let due = origin + Int64(index) * second / Int64(shape.rate)
            var ms = (shape.latencyMs + shape.spreadMs * uniform(&rng)) * factor
            if uniform(&rng) < 0.01 { ms += 4 * shape.spreadMs * uniform(&rng) }
            ms += shape.shiftMs
            let failed = uniform(&rng) < shape.failureRate
            let ended = due + Int64(ms * 1e6)
            result.record(
                .sent(
                    index: Int64(index), intendedStart: due,
                    attempts: [.response(sent: due, ended: ended, status: failed ? 500 : 200, succeeded: !failed)]))
        }
        result.plannedNanoseconds = Int64(shape.seconds) * second
        result.elapsedNanoseconds = result.plannedNanoseconds + 50_000_000
        result.offeredRate = Double(shape.rate)
        return Report.json(result, outcomes: [])
    }

    static func input(_ text: String, _ file: String) throws -> ReportInput {
        try ReportInput.parse(Array(text.utf8), file: file)
    }

    /// Options for comparisons made through the API: 500 bootstrap resamples instead of the shipped 2000 (the
    /// interval's width is estimated to within a few percent either way; the bootstrap is most of a debug
    /// build's time). The command tests below keep the shipped default.
    static var testOptions: CompareOptions {
        var options = CompareOptions()
        options.resamples = 500
        return options
    }

    /// The verdicts of `new` against `base` (documents), by metric name.
    static func verdicts(_ base: [String], _ new: [String], options: CompareOptions = testOptions) throws
        -> [String: MetricComparison]
    {
        let rows = try Comparison.compareRuns(
            base: base.enumerated().map { try input($0.element, "base\($0.offset).json") },
            new: new.enumerated().map { try input($0.element, "new\($0.offset).json") },
            metrics: CompareMetric.runMetrics, options: options)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.metric.rawValue, $0) })
    }

    final class Harness: Sendable {
        let out = Buffer()
        let err = Buffer()
        let directory: TempDir
        init() throws { directory = try TempDir() }
        func file(_ name: String, _ text: String) throws -> String { try directory.write(name, text) }
        func run(_ arguments: [String]) async -> Int32 {
            await LoadgenCommand.main(
                ["compare"] + arguments,
                environment: LoadgenEnvironment(
                    standardOutput: out.append, standardError: err.append, currentDirectory: directory.path))
        }
        /// The `--json` document written to `name`, as `metric name → verdict`, and its `worse`.
        func verdicts(_ name: String) throws -> (verdicts: [String: String], worse: Bool) {
            let text = try String(contentsOfFile: directory.path + "/" + name, encoding: .utf8)
            guard case .object(let root) = try LoadgenJSON.parse(text), case .array(let metrics)? = root["metrics"],
                case .bool(let worse)? = root["worse"]
            else { throw CancellationError() }
            var verdicts: [String: String] = [:]
            for case .object(let metric) in metrics {
                if case .string(let name)? = metric["name"], case .string(let verdict)? = metric["verdict"] {
                    verdicts[name] = verdict
                }
            }
            return (verdicts, worse)
        }
    }

    // MARK: Verdicts

    @Test("the same distribution (other seeds) is '~' on every metric; a file against itself changes by 0")
    func sameDistribution() throws {
        for seed in [UInt64(1), 3, 5] {
            let rows = try Self.verdicts([Self.runJSON(seed: seed)], [Self.runJSON(seed: seed + 1)])
            #expect(rows.count == 7)
            for (name, row) in rows { #expect(row.verdict == .same, "\(name) seed \(seed): \(row)") }
        }
        let document = Self.runJSON(seed: 9)
        for (name, row) in try Self.verdicts([document], [document]) {
            #expect(row.change == 0, "\(name)")
            #expect(row.verdict == .same)
        }
    }

    @Test("latencies 5 ms longer are worse on p50 and p99, and the command exits 1")
    func shiftedIsWorse() async throws {
        var shifted = Shape()
        shifted.shiftMs = 5
        let rows = try Self.verdicts([Self.runJSON(seed: 1)], [Self.runJSON(seed: 2, shifted)])
        #expect(rows["p50"]?.verdict == .worse)
        #expect(rows["p99"]?.verdict == .worse)
        #expect((rows["p50"]?.ciLow ?? 0) > 0)
        #expect(rows["throughput"]?.verdict == .same)
        #expect(rows["error_rate"]?.verdict == .same)

        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let base = try harness.file("base.json", Self.runJSON(seed: 1))
        let new = try harness.file("new.json", Self.runJSON(seed: 2, shifted))
        #expect(await harness.run([base, new, "--json", "verdict.json"]) == 1)
        #expect(harness.out.text.contains("WORSE: p50, p99"))
        let written = try harness.verdicts("verdict.json")
        #expect(written.worse)
        #expect(written.verdicts["p50"] == "worse" && written.verdicts["p99"] == "worse")
        #expect(written.verdicts["amplification"] == "~")
    }

    @Test("lower latencies are better; the exit code stays 0")
    func lowerIsBetter() async throws {
        var faster = Shape()
        faster.latencyMs = 1
        faster.spreadMs = 1  // every latency about halved, tail included
        let rows = try Self.verdicts([Self.runJSON(seed: 1)], [Self.runJSON(seed: 2, faster)])
        #expect(rows["p50"]?.verdict == .better)
        #expect(rows["p99"]?.verdict == .better)
        #expect((rows["p50"]?.change ?? 0) < -20)
        #expect((rows["p50"]?.ciHigh ?? 0) < 0)

        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let base = try harness.file("base.json", Self.runJSON(seed: 1))
        let new = try harness.file("new.json", Self.runJSON(seed: 2, faster))
        #expect(await harness.run([base, new]) == 0)
        #expect(harness.out.text.contains("no metric is worse; better: p50, p99"))
    }

    @Test("noisy but the same (per-second drift ±30%, heavier tails) stays '~'")
    func noisyButSame() throws {
        var noisy = Shape()
        noisy.drift = 0.3
        noisy.spreadMs = 6
        for seed in [UInt64(11), 21, 31] {
            let rows = try Self.verdicts([Self.runJSON(seed: seed, noisy)], [Self.runJSON(seed: seed + 1, noisy)])
            for (name, row) in rows { #expect(row.verdict == .same, "\(name) seed \(seed): \(row)") }
            // The drift widens the interval well beyond the tolerance.
            let p50 = try #require(rows["p50"])
            #expect((p50.ciHigh ?? 0) - (p50.ciLow ?? 0) > 10)
        }
    }

    @Test("failures raise the error rate in percentage points and lower the goodput")
    func errorRate() throws {
        var failing = Shape()
        failing.failureRate = 0.1
        let rows = try Self.verdicts([Self.runJSON(seed: 1)], [Self.runJSON(seed: 2, failing)])
        let errors = try #require(rows["error_rate"])
        #expect(errors.verdict == .worse)
        #expect(abs((errors.change ?? 0) - 10) < 2)  // percentage points
        #expect(rows["goodput"]?.verdict == .worse)
        #expect(rows["throughput"]?.verdict == .same)
        // 0.05 pp more errors is below the 0.1 pp floor.
        #expect(
            Comparison.verdict(.errorRate, change: 0.05, base: 0, significant: true, options: CompareOptions()) == .same)
        #expect(
            Comparison.verdict(.errorRate, change: 0.2, base: 0, significant: true, options: CompareOptions()) == .worse)
        // With a 10% base error rate the tolerance is 5% of it: 0.5 pp.
        #expect(
            Comparison.verdict(.errorRate, change: 0.4, base: 0.1, significant: true, options: CompareOptions()) == .same)
    }

    @Test("a significant change within the tolerance is '~'; a tighter --tolerance makes it worse")
    func tolerance() async throws {
        var steady = Shape()
        steady.latencyMs = 10
        steady.spreadMs = 0.5
        var slower = steady
        slower.shiftMs = 0.3  // p50 about +3%
        let rows = try Self.verdicts([Self.runJSON(seed: 1, steady)], [Self.runJSON(seed: 2, slower)])
        let p50 = try #require(rows["p50"])
        #expect(p50.verdict == .same)
        #expect((p50.ciLow ?? 0) > 0, "significant: \(p50)")
        #expect((p50.change ?? 0) > 2 && (p50.change ?? 0) < 4)

        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let base = try harness.file("base.json", Self.runJSON(seed: 1, steady))
        let new = try harness.file("new.json", Self.runJSON(seed: 2, slower))
        #expect(await harness.run([base, new, "--metric", "p50"]) == 0)
        #expect(await harness.run([base, new, "--metric", "p50", "--tolerance", "1%", "--json", "v.json"]) == 1)
        #expect(try harness.verdicts("v.json").verdicts == ["p50": "worse"])
    }

    @Test("--metric selects (repeatable, p999 as an alias) and the output is deterministic")
    func metricSelection() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let base = try harness.file("base.json", Self.runJSON(seed: 1))
        let new = try harness.file("new.json", Self.runJSON(seed: 2))
        #expect(await harness.run([base, new, "--metric", "p999", "--metric", "throughput", "--json", "v.json"]) == 0)
        #expect(Set(try harness.verdicts("v.json").verdicts.keys) == ["p99.9", "throughput"])
        let first = harness.out.text
        #expect(await harness.run([base, new, "--metric", "p999", "--metric", "throughput"]) == 0)
        #expect(harness.out.text == first + first)
    }

    // MARK: Refusals and bad input

    @Test("results of different scenarios or loads are refused unless --force, naming the field")
    func differentScenarios() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        var other = Shape()
        other.scenario = "other"
        var longer = Shape()
        longer.load = "constant-rate 200/s for 60s"
        let base = try harness.file("base.json", Self.runJSON(seed: 1))
        let renamed = try harness.file("other.json", Self.runJSON(seed: 2, other))
        let reloaded = try harness.file("longer.json", Self.runJSON(seed: 2, longer))
        #expect(await harness.run([base, renamed]) == 2)
        #expect(harness.err.text.contains("\"scenario\" is \"synthetic\" in \(base) but \"other\" in \(renamed)"))
        #expect(harness.err.text.contains("--force"))
        #expect(await harness.run([base, reloaded]) == 2)
        #expect(harness.err.text.contains("\"load\" is \"constant-rate 200/s for 20s\""))
        #expect(await harness.run([base, renamed, "--force"]) == 0)
    }

    @Test("unreadable or invalid files and bad options exit 2 with a message naming the file")
    func badInput() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let good = try harness.file("good.json", Self.runJSON(seed: 1))
        var noHdr = Self.runJSON(seed: 1)
        while let range = noHdr.range(of: "\"hdr\":") {
            let end = noHdr[range.upperBound...].firstIndex(of: "\n") ?? noHdr.endIndex
            noHdr.replaceSubrange(range.lowerBound..<end, with: "\"nohdr\": 0")
        }
        var badHdr = Self.runJSON(seed: 1)
        if let range = badHdr.range(of: "\"hdr\": \"") { badHdr.replaceSubrange(range, with: "\"hdr\": \"!!") }
        let files = [
            ("notjson.json", "{oops", "notjson.json: invalid JSON"),
            ("list.json", "[1]", "list.json: not a loadgen result"),
            (
                "old.json",
                "{\"scenario\": \"synthetic\", \"load\": \"constant-rate 200/s for 20s\", \"calls\": 1, \"latency_ms\": {}}",
                "old.json: no \"timeseries\" points"
            ),
            ("nohdr.json", noHdr, "nohdr.json: \"timeseries.points[0]\" has no \"hdr\""),
            ("badhdr.json", badHdr, "badhdr.json: \"timeseries.points[0].hdr\" is not a histogram"),
        ]
        for (name, text, message) in files {
            let path = try harness.file(name, text)
            #expect(await harness.run([good, path]) == 2, "\(name)")
            #expect(harness.err.text.contains(message), "\(name): \(harness.err.text)")
        }
        #expect(await harness.run([good, "missing.json"]) == 2)
        #expect(harness.err.text.contains("missing.json: no such file"))
        #expect(await harness.run([good]) == 2)
        #expect(harness.err.text.contains("missing argument <NEW>"))
        #expect(await harness.run([good, good, "--tolerance", "lots"]) == 2)
        #expect(harness.err.text.contains("--tolerance"))
        #expect(await harness.run([good, good, "--metric", "p42"]) == 2)
        #expect(harness.err.text.contains("p42"))
        let capacity = try harness.file(
            "capacity.json", "{\"kind\": \"capacity\", \"scenario\": \"synthetic\", \"capacity\": {\"last_pass_rps\": 10}}")
        #expect(await harness.run([good, capacity]) == 2)
        #expect(harness.err.text.contains("a run result cannot be compared with capacity results"))
    }

    // MARK: Capacity

    @Test("capacity results compare last_pass_rps; worse needs the brackets apart")
    func capacity() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        func document(_ pass: Double, _ fail: Double) -> String {
            "{\"kind\": \"capacity\", \"scenario\": \"cap\", \"steps\": [], "
                + "\"capacity\": {\"last_pass_rps\": \(pass), \"first_fail_rps\": \(fail)}}"
        }
        let base = try harness.file("base.json", document(100, 110))
        let overlapping = try harness.file("overlap.json", document(95, 105))
        let lower = try harness.file("lower.json", document(80, 90))
        #expect(await harness.run([base, overlapping, "--json", "v.json"]) == 0)
        #expect(try harness.verdicts("v.json").verdicts == ["capacity": "~"])
        #expect(await harness.run([base, lower, "--json", "v.json"]) == 1)
        #expect(try harness.verdicts("v.json").verdicts == ["capacity": "worse"])
        #expect(await harness.run([lower, base]) == 0)
        #expect(harness.out.text.contains("better: capacity"))
        #expect(await harness.run([base, lower, "--metric", "p99"]) == 2)
    }

    // MARK: Several runs per side

    @Test("two runs per side pool their windows and narrow the interval")
    func twoRunsPerSide() throws {
        let one = try Self.verdicts([Self.runJSON(seed: 1)], [Self.runJSON(seed: 2)])
        let two = try Self.verdicts(
            [Self.runJSON(seed: 1), Self.runJSON(seed: 3)], [Self.runJSON(seed: 2), Self.runJSON(seed: 4)])
        let width = { (row: MetricComparison?) in (row?.ciHigh ?? 0) - (row?.ciLow ?? 0) }
        #expect(width(two["p50"]) < width(one["p50"]))
        #expect(two["p50"]?.pValue == nil)
        for (name, row) in two { #expect(row.verdict == .same, "\(name)") }
    }

    @Test("four runs per side decide significance with the Mann-Whitney U test across runs")
    func mannWhitneyPath() async throws {
        var shifted = Shape()
        shifted.shiftMs = 5
        let base = (1...4).map { Self.runJSON(seed: UInt64($0)) }
        let same = (5...8).map { Self.runJSON(seed: UInt64($0)) }
        let slower = (5...8).map { Self.runJSON(seed: UInt64($0), shifted) }
        let worse = try Self.verdicts(base, slower)
        let p50 = try #require(worse["p50"])
        #expect(p50.verdict == .worse)
        // 4 against 4 wholly apart: the smallest two-sided p, 2 / C(8, 4).
        #expect(abs((p50.pValue ?? 1) - 2.0 / 70) < 1e-12)
        for (name, row) in try Self.verdicts(base, same) {
            #expect(row.verdict == .same, "\(name)")
            #expect(row.pValue != nil)
        }

        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let basePaths = try base.enumerated().map { try harness.file("b\($0.offset).json", $0.element) }
        let newPaths = try slower.enumerated().map { try harness.file("n\($0.offset).json", $0.element) }
        let code = await harness.run([
            basePaths.joined(separator: ","), newPaths.joined(separator: ","), "--json", "v.json",
        ])
        #expect(code == 1)
        #expect(harness.out.text.contains("Mann-Whitney"))
        let text = try String(contentsOfFile: harness.directory.path + "/v.json", encoding: .utf8)
        #expect(text.contains("\"significance\": \"mann-whitney\""))
        #expect(text.contains("\"p_value\": 0.028571"))
    }

    @Test(
        "Mann-Whitney U and two-sided p match scipy.stats.mannwhitneyu",
        arguments: [
            ([1.0, 2, 3, 4], [5.0, 6, 7, 8], 0.0, 0.02857142857142857, true),
            ([19.0, 22, 16, 29, 24], [20.0, 11, 17, 12], 17.0, 0.1111111111111111, true),
            ([3.0, 1, 2], [6.0, 5, 4, 7, 8, 9, 10, 11], 0.0, 0.012121212121212121, true),
            // Ties: the normal approximation with tie and continuity corrections.
            ([1.0, 2, 2, 3, 4], [2.0, 3, 5, 6, 6, 7, 8, 9], 4.5, 0.02682196545754226, false),
            // Both samples of 8 or more: the normal approximation.
            (
                [1.1, 2.3, 3.5, 4.2, 5.9, 6.1, 7.7, 8.4, 9.0], [3.3, 4.4, 5.5, 6.6, 7.8, 8.8, 9.9, 10.5, 11.2, 12.1],
                23.0, 0.0791793495755705, false
            ),
        ])
    func mannWhitney(x: [Double], y: [Double], u: Double, p: Double, exact: Bool) {
        let result = MannWhitney.test(x, y)
        #expect(result.u == u)
        #expect(abs(result.pValue - p) < 1e-9, "\(result.pValue)")
        #expect(result.exact == exact)
        // Symmetric: swapping the samples keeps p and gives n1·n2 − U.
        let swapped = MannWhitney.test(y, x)
        #expect(abs(swapped.pValue - p) < 1e-9)
        #expect(swapped.u == Double(x.count * y.count) - u)
    }

    @Test("Mann-Whitney edge cases and Student's t quantiles")
    func statisticsEdges() {
        #expect(MannWhitney.test([], [1]).pValue == 1)
        #expect(MannWhitney.test([1, 1, 1, 1], [1, 1, 1, 1]).pValue == 1)
        #expect(MannWhitney.exactUpperTail(0, 4, 4) == 1)
        #expect(abs(MannWhitney.exactUpperTail(16, 4, 4) - 1.0 / 70) < 1e-15)
        #expect(StudentT.quantile(0.975, degrees: 0) == nil)
        #expect(StudentT.quantile(0.5, degrees: 4) == nil)
        #expect(StudentT.quantile(1, degrees: 4) == nil)
        // Published table values (p, degrees of freedom, t), including the heavy-tailed 1 degree of freedom.
        let table: [(Double, Int, Double)] = [
            (0.975, 1, 12.706), (0.975, 4, 2.776), (0.975, 30, 2.042), (0.975, 40, 2.021), (0.975, 100, 1.984),
            (0.995, 1, 63.657), (0.995, 5, 4.032), (0.995, 20, 2.845), (0.999, 10, 4.144), (0.9995, 2, 31.599),
        ]
        for (p, degrees, t) in table {
            let computed = StudentT.quantile(p, degrees: degrees) ?? 0
            #expect(abs(computed - t) < 0.001 * t, "t(\(p), \(degrees)) = \(computed), table \(t)")
        }
        #expect(abs(Comparison.intervalLevel(metrics: 7, options: CompareOptions()) - (1 - 0.05 / 7)) < 1e-12)
    }

    @Test("windows: the drain is skipped, short intervals are grouped, a short tail joins the last window")
    func windows() throws {
        var sparse = Shape()
        sparse.rate = 30  // 30 calls/s: four intervals make a window of at least 100
        sparse.seconds = 10
        let run = try Self.input(Self.runJSON(seed: 1, sparse), "sparse.json")
        guard case .run(let data) = run.result else { throw CancellationError() }
        let windows = try CompareWindow.windows(of: data, file: "sparse.json", minimumCalls: 100, maximumSeconds: 5)
        #expect(windows.map(\.seconds) == [4, 6])
        #expect(windows.reduce(0) { $0 + $1.offered } == 300)
        let capped = try CompareWindow.windows(of: data, file: "sparse.json", minimumCalls: 1000, maximumSeconds: 5)
        #expect(capped.map(\.seconds) == [5, 5])
        // The calls completing after the planned 10 s (the drain) are not in any window.
        var slow = sparse
        slow.latencyMs = 500
        let slowRun = try Self.input(Self.runJSON(seed: 1, slow), "slow.json")
        guard case .run(let slowData) = slowRun.result else { throw CancellationError() }
        let drained = try CompareWindow.windows(of: slowData, file: "slow.json", minimumCalls: 100, maximumSeconds: 5)
        #expect(drained.reduce(0) { $0 + $1.offered } == 300)
        #expect(drained.reduce(0) { $0 + $1.completed } < 290)
    }
}
