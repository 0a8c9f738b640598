import EndpointSpec
import Foundation
import Testing

@testable import LoadgenCore

/// The pure parts of `loadgen experiment`: the expectation's checks, the metrics computed from a result, the
/// file's decoding (variant overrides merged into the base) and the report's names.
@Suite struct ExperimentTests {
    // MARK: Expectation checks

    @Test func checksParseFiguresFactorsAndOffsets() throws {
        let check = try ExpectationCheck(parsing: "recovery_s[retries+budget+gate] <= recovery_s[no-retries] + 1")
        #expect(check.comparison == .lessOrEqual)
        #expect(check.left == .figure(factor: 1, metric: .recoveryS, variant: "retries+budget+gate", offset: 0))
        #expect(check.right == .figure(factor: 1, metric: .recoveryS, variant: "no-retries", offset: 1))
        let scaled = try ExpectationCheck(parsing: "attempts[none] >= 1.5 * attempts[full] - 2")
        #expect(scaled.right == .figure(factor: 1.5, metric: .attempts, variant: "full", offset: -2))
        #expect(scaled.comparison == .greaterOrEqual)
        let constant = try ExpectationCheck(parsing: "amplification[retries] > 2")
        #expect(constant.right == .constant(2))
        #expect(constant.variants == ["retries"])
    }

    @Test func malformedChecksSayWhatIsWrong() {
        func message(_ text: String) -> String {
            do {
                _ = try ExpectationCheck(parsing: text)
                return ""
            } catch {
                return error.message
            }
        }
        #expect(message("amplification[retries] = 2").contains("expected a comparison"))
        #expect(message("speed[retries] > 2").contains("unknown figure \"speed\""))
        #expect(message("speed[retries] > 2").contains("goodput_rps"))
        #expect(message("2 < 3").contains("compares two numbers"))
        #expect(message("amplification[] > 2").contains("empty variant name"))
        #expect(message("amplification[a] * 2 > 2").contains("expected \"+ N\" or \"- N\""))
        #expect(message("x * amplification[a] > 2").contains("expected a number before \"*\""))
        #expect(message("amplification[a] > ").contains("a side of the comparison is empty"))
    }

    @Test func aTimeThatNeverCameComparesAsInfinitelyLateAndMissingDataFails() throws {
        let later = try ExpectationCheck(parsing: "recovery_s[retries] >= recovery_s[no-retries] + 5")
        let never = later.judge { metric, variant in variant == "no-retries" ? 4 : nil }
        #expect(never.held)
        #expect(never.left == .infinity)
        let sooner = later.judge { _, variant in variant == "no-retries" ? 4 : 6 }
        #expect(!sooner.held)
        let noRecovery = try ExpectationCheck(parsing: "recovery_s[gate] <= recovery_s[no-retries] + 1")
        #expect(!noRecovery.judge { _, variant in variant == "no-retries" ? 4 : nil }.held)
        let wasted = try ExpectationCheck(parsing: "wasted[shed] < wasted[plain]")
        let outcome = wasted.judge { _, _ in nil }
        #expect(!outcome.held)
        #expect(outcome.left == nil)
    }

    // MARK: Metrics

    static func second(_ offered: Int64, _ goodput: Int64) -> VariantMetrics.Second {
        VariantMetrics.Second(offered: offered, attempts: offered, goodput: goodput)
    }

    @Test func recoveryIsTheFirstOfThreeSecondsAtNinetyFivePercentAfterTheTrigger() {
        let good = Self.second(100, 95)
        let bad = Self.second(100, 94)
        // Trigger ends at 2 s; seconds 2 and 3 are good, 4 is bad, 5, 6, 7 are good: recovered at 5 s.
        let seconds = [good, good, good, good, bad, good, good, good, good]
        #expect(VariantMetrics.recovery(seconds, triggerEnd: 2, loadSeconds: 9) == 3)
        // The three good seconds must lie within the planned load, not the drain.
        #expect(VariantMetrics.recovery(seconds, triggerEnd: 2, loadSeconds: 7) == nil)
        // Good seconds before the trigger's end do not count.
        #expect(VariantMetrics.recovery([good, good, good, good, bad], triggerEnd: 0.5, loadSeconds: 5) == 0.5)
        #expect(VariantMetrics.recovery([good, good, good, bad, bad], triggerEnd: 0.5, loadSeconds: 5) == nil)
        #expect(VariantMetrics.recovery([bad, bad, bad, bad], triggerEnd: 1, loadSeconds: 4) == nil)
    }

    /// Three calls a second for 4 s (due at 0, ⅓, ⅔ of each second), the trigger at 1–2 s: calls due in
    /// second 1 time out after 0.5 s and succeed on a retry 1.5 s after their intended start (beyond the 1 s
    /// deadline), so they end at 2.5, 2.83 and 3.17 s; the rest succeed in 10 ms.
    static func result() -> RunResult {
        var result = RunResult()
        result.timeline = Timeline(origin: 0)
        let second: Int64 = 1_000_000_000
        for index in Int64(0)..<12 {
            let start = index * second / 3
            let slow = start >= second && start < 2 * second
            let attempts: [MeasuredAttempt] =
                slow
                ? [
                    .failure(sent: start, ended: start + second / 2, error: .timeout),
                    .response(sent: start + second / 2, ended: start + 3 * second / 2, status: 200, succeeded: true),
                ]
                : [.response(sent: start, ended: start + 10_000_000, status: 200, succeeded: true)]
            result.record(.sent(index: index, intendedStart: start, attempts: attempts))
        }
        result.plannedNanoseconds = 4 * second
        result.elapsedNanoseconds = 4 * second
        return result
    }

    @Test func metricsCountGoodputWithinTheDeadlineAndTheTriggersAttempts() throws {
        let result = Self.result()
        #expect(result.accountingProblems().isEmpty)
        let trigger = ExperimentTrigger(start: .seconds(1), duration: .seconds(1))
        let metrics = VariantMetrics(result: result, trigger: trigger, deadline: .seconds(1), wasted: 7)
        #expect(metrics.calls == 12)
        #expect(metrics.attempts == 15)
        #expect(metrics.amplification == 15.0 / 12.0)
        // 9 calls within the deadline over 4 s of load.
        #expect(metrics.goodputRPS == 9.0 / 4.0)
        #expect(metrics.perSecond.map(\.goodput) == [3, 0, 3, 3])
        #expect(metrics.perSecond.map(\.offered) == [3, 3, 3, 3])
        // Sent in second 1: the three first attempts and the retries at 1.5 and 1.83 s (the third is at 2.17 s).
        #expect(metrics.triggerAttempts == 5)
        #expect(metrics.wasted == 7)
        // Seconds 2 and 3 are good, but the load ends before a third: not recovered; first success in second 2.
        #expect(metrics.recoveryS == nil)
        #expect(metrics.firstSuccessS == 0)
        // Without a deadline every success counts.
        let lenient = VariantMetrics(result: result, trigger: trigger, deadline: nil, wasted: nil)
        #expect(lenient.goodputRPS == 12.0 / 4.0)
        #expect(lenient.perSecond.map(\.goodput) == [3, 0, 5, 4])
        #expect(lenient.wasted == nil)
        #expect(metrics.makespanS == 4)
    }

    @Test func withoutATriggerGoodputIsPerSecondOfTheMakespan() {
        // A population that starts together: 12 calls planned within 1 ms, the last ending after 4 s.
        var result = Self.result()
        result.plannedNanoseconds = 1_000_000
        let population = VariantMetrics(result: result, trigger: nil, deadline: nil, wasted: nil)
        #expect(population.goodputRPS == 12.0 / 4.0)
        #expect(population.makespanS == 4)
        // With a trigger, per second of the planned load.
        let triggered = VariantMetrics(
            result: result, trigger: ExperimentTrigger(start: .seconds(0), duration: .milliseconds(1)), deadline: nil,
            wasted: nil)
        #expect(triggered.goodputRPS == 12.0 / 0.001)
    }

    @Test func summariesAverageRunsAndGiveAStudentTInterval() {
        var one = VariantMetrics(result: Self.result(), trigger: nil, deadline: nil, wasted: 2)
        var two = one
        one.goodputRPS = 10
        two.goodputRPS = 12
        two.wasted = nil
        let summary = VariantSummary(name: "v", runs: [one, two])
        #expect(summary.mean(.goodputRPS) == 11)
        // sd = √2, n = 2, t(1) = 12.706: 12.706 × √2 / √2.
        #expect(abs((summary.interval(.goodputRPS) ?? 0) - 12.706) < 1e-3)
        #expect(summary.mean(.wasted) == nil)
        #expect(VariantSummary(name: "v", runs: [one]).interval(.goodputRPS) == nil)
    }

    // MARK: The file

    static let base = """
        "scenario": {
          "target": {"embedded": {"modelDir": "model", "routes": [{"path": "/p", "file": "predict", "function": "predict"}],
                                  "delay": "10ms"}},
          "requests": [{"route": "/p", "method": "POST"}],
          "load": {"type": "constant-rate", "rate": 10, "duration": "10s"},
          "client": {"timeout": "150ms", "retry": {"maxAttempts": 1, "jitter": "full"}, "budget": false}
        }
        """

    /// Decodes `{base, rest}` from a file of its own (the suite's tests run in parallel).
    static func decode(_ rest: String) throws(ScenarioError) -> Experiment {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loadgen-experiment-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try? FileManager.default.createDirectory(
            at: directory.appendingPathComponent("model"), withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("e.json").path
        try? "{\(base), \(rest)}".write(toFile: file, atomically: true, encoding: .utf8)
        return try Experiment.load(path: file)
    }

    static func error(_ rest: String) -> String {
        do {
            _ = try decode(rest)
            return ""
        } catch {
            return error.path.isEmpty ? error.message : "\(error.path): \(error.message)"
        }
    }

    @Test func variantsOverrideTheBaseFieldByField() throws {
        let experiment = try Self.decode("""
            "trigger": {"start": "2s", "duration": "2s"}, "deadline": "1s",
            "variants": [
              {"name": "plain"},
              {"name": "retries", "client": {"retry": {"maxAttempts": 4}, "budget": {"ratio": 0.1}},
               "target": {"embedded": {"dropAbandoned": true, "pingOverloadQueue": 15,
                                       "outage": {"start": "1s", "duration": "2s", "retryAfter": 2}}}}
            ],
            "expectation": {"text": "t", "checks": ["amplification[retries] > 2"]}
            """)
        #expect(experiment.name == "e")
        #expect(experiment.variants.map(\.name) == ["plain", "retries"])
        let plain = experiment.variants[0].scenario
        let retries = experiment.variants[1].scenario
        #expect(plain.client.retry.maxAttempts == 1)
        #expect(plain.client.budget == nil)
        // The override changed maxAttempts and kept the base's timeout and jitter.
        #expect(retries.client.retry.maxAttempts == 4)
        #expect(retries.client.retry.jitter == .full)
        #expect(retries.client.timeout == .milliseconds(150))
        #expect(retries.client.budget?.ratio == 0.1)
        guard case .embedded(let embedded) = retries.target, case .embedded(let plainTarget) = plain.target else {
            Issue.record("expected embedded targets")
            return
        }
        #expect(embedded.delay == .milliseconds(10))
        #expect(embedded.dropAbandoned)
        #expect(!plainTarget.dropAbandoned)
        let arguments = embedded.commandLineArguments
        #expect(arguments.contains("--drop-abandoned"))
        #expect(arguments.contains("--ping-overload-queue"))
        if let outage = arguments.firstIndex(of: "--outage") { #expect(arguments[outage + 1] == "1:2") }
        if let retryAfter = arguments.firstIndex(of: "--outage-retry-after") { #expect(arguments[retryAfter + 1] == "2") }
        #expect(arguments.contains("--outage") && arguments.contains("--outage-retry-after"))
        #expect(!plainTarget.commandLineArguments.contains("--drop-abandoned"))
        #expect(experiment.trigger?.end == .seconds(4))
        #expect(experiment.deadline == .seconds(1))
        #expect(experiment.expectation.checks.count == 1)
        #expect(!experiment.reportsMakespan)
    }

    @Test func fileErrorsNameThePlace() {
        #expect(Self.error(#""variants": []"#) == "variants: expected at least one variant")
        #expect(
            Self.error(#""variants": [{"name": "a"}, {"name": "a"}]"#) == "variants[1].name: duplicate variant name \"a\"")
        #expect(
            Self.error(#""variants": [{"name": "a", "client": {"retry": {"jitter": "fool"}}}]"#)
                .hasPrefix("variants[0]: variant \"a\": the scenario with its overrides is invalid at client.retry.jitter"))
        #expect(
            Self.error(#""variants": [{"name": "a", "target": {"url": "http://127.0.0.1:9"}}]"#)
                .contains("the scenario with its overrides is invalid at target"))
        #expect(
            Self.error(#""variants": [{"name": "a"}], "expectation": {"checks": ["amplification[b] > 2"]}"#)
                == "expectation.checks[0]: no variant named \"b\" (variants: \"a\")")
        #expect(
            Self.error(#""variants": [{"name": "a"}], "trigger": {"start": "9s", "duration": "2s"}"#)
                .hasPrefix("trigger: the trigger ends at 11s, after the load of variant \"a\""))
        #expect(Self.error(#""variants": [{"name": "a", "colour": 1}]"#).hasPrefix("variants[0].colour: unknown field"))
        #expect(
            Self.error(#""variants": [{"name": "a", "target": {"embedded": {"outage": {"start": "1s"}}}}]"#)
                .contains("target.embedded.outage.duration: required field is missing"))
    }

    @Test func aURLTargetIsRefused() throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let file = try directory.write("u.json", """
            {"scenario": {"target": {"url": "http://127.0.0.1:9"}, "requests": [{"route": "/p"}],
             "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}, "variants": [{"name": "a"}]}
            """)
        do {
            _ = try Experiment.load(path: file)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == "scenario")
            #expect(error.message.contains("needs target.embedded"))
        }
    }

    // MARK: The report

    @Test func theJSONKeepsTheNamesScriptsRead() throws {
        let experiment = try Self.decode("""
            "trigger": {"start": "1s", "duration": "1s"},
            "variants": [{"name": "no-retries"}, {"name": "retries", "client": {"retry": {"maxAttempts": 4}}}],
            "expectation": {"text": "more", "checks": ["amplification[retries] > amplification[no-retries]"]}
            """)
        let metrics = VariantMetrics(
            result: Self.result(), trigger: experiment.trigger, deadline: .seconds(1), wasted: 3)
        var flat = metrics
        flat.amplification = 1
        let outcome = ExperimentOutcome(
            experiment: experiment,
            variants: [VariantSummary(name: "no-retries", runs: [flat]), VariantSummary(name: "retries", runs: [metrics])],
            runsPerVariant: 1)
        #expect(outcome.held == true)
        guard case .object(let root) = try LoadgenJSON.parse(ExperimentReport.json(outcome)),
            case .array(let variants)? = root["variants"], case .object(let first)? = variants.first
        else {
            Issue.record("no variants list")
            return
        }
        #expect(root["kind"] == .string("experiment"))
        #expect(first["name"] == .string("no-retries"))
        for key in ["name", "amplification", "goodput_rps", "recovery_s", "latency_ms", "attempts", "calls", "wasted"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        guard case .object(let latency)? = first["latency_ms"] else {
            Issue.record("latency_ms is not an object")
            return
        }
        #expect(latency.pairs.map(\.key) == ["p50", "p99", "p999"])
        #expect(first["recovery_s"] == .null)
        #expect(first["calls"] == .number("12"))
        #expect(first["wasted"] == .number("3"))
        let table = ExperimentReport.table(outcome)
        #expect(table.contains("the expectation held"))
        #expect(table.contains("never"))
        var failing = outcome
        failing.variants[1].runs[0].amplification = 0.5
        #expect(failing.held == false)
        #expect(ExperimentReport.table(failing).contains("did not hold  amplification[retries] > amplification[no-retries]"))
        #expect(ExperimentReport.table(failing).contains("the expectation did not hold"))
    }

    @Test func theReportDrawsGoodputAndAttemptsPerSecondOneLinePerVariant() throws {
        let experiment = try Self.decode("""
            "trigger": {"start": "1s", "duration": "1s"},
            "variants": [{"name": "no-retries"}, {"name": "retries", "client": {"retry": {"maxAttempts": 4}}}],
            "expectation": {"text": "more attempts", "checks": ["attempts[retries] >= attempts[no-retries]"]}
            """)
        let metrics = VariantMetrics(result: Self.result(), trigger: experiment.trigger, deadline: nil, wasted: 3)
        let outcome = ExperimentOutcome(
            experiment: experiment,
            variants: [VariantSummary(name: "no-retries", runs: [metrics]), VariantSummary(name: "retries", runs: [metrics])],
            runsPerVariant: 1)
        let input = try ReportInput.parse(Array(ExperimentReport.json(outcome).utf8), file: "e.json")
        guard case .experiment(let data) = input.result else {
            Issue.record("not read as an experiment")
            return
        }
        #expect(data.variants.map(\.name) == ["no-retries", "retries"])
        #expect(data.variants[0].goodputPerSecond == [3, 0, 5, 4])
        #expect(data.variants[0].attempts == [3, 5, 4, 3])
        #expect(data.trigger == 1...2)
        #expect(data.held == true)
        let page = HTMLReport.render([input])
        #expect(page.contains("id=\"chart-experiment-0-goodput\""))
        #expect(page.contains("id=\"chart-experiment-0-attempts\""))
        #expect(page.contains("retries at 2s: 5/s"))
        #expect(page.contains("<span class=\"pass\">held</span>"))
        // A result without per-second series says so instead of drawing an empty chart.
        var bare = data
        for index in bare.variants.indices {
            bare.variants[index].attempts = []
            bare.variants[index].goodputPerSecond = []
        }
        let entry = HTMLReport.ExperimentEntry(index: 0, input: input, data: bare)
        #expect(ExperimentCharts.perSecond(entry, goodput: false).chart == nil)
    }
}
