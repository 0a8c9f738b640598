import Foundation
import TestSupport
import Testing

@testable import LoadgenCore

/// `loadgen report`: the HTML page, its SVG charts, escaping, graceful degradation and the command's errors.
/// Fixtures: Tests/fixtures/report (made by make_fixtures.py there).
@Suite struct HTMLReportTests {
    static func fixture(_ name: String) -> String { Repository.root + "/Tests/fixtures/report/" + name }

    static func load(_ names: String...) throws -> [ReportInput] {
        try names.map { try ReportInput.load(path: fixture($0), currentDirectory: "/") }
    }

    static func parse(_ json: String, file: String = "inline.json") throws -> ReportInput {
        try ReportInput.parse(Array(json.utf8), file: file)
    }

    /// The `<svg>` element with this id, or an empty string.
    static func svg(_ id: String, in html: String) -> String {
        guard let start = html.range(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\""),
            let end = html.range(of: "</svg>", range: start.upperBound..<html.endIndex)
        else { return "" }
        return String(html[start.lowerBound..<end.upperBound])
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    static let minimalRun = """
        {"scenario": "old", "load": "constant-rate 10/s for 1s", "calls": 10, "ok": 10, "failed": 0,
         "latency_ms": {"p50": 1.5, "p90": 2, "p99": 3, "p999": 3, "max": 3, "mean": 1.6, "min": 1, "count": 10},
         "thresholds": [], "passed": true}
        """

    // MARK: Charts

    @Test func runReportHasEveryChartWithItsElements() throws {
        let html = HTMLReport.render(try Self.load("run-a.json"))
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in ["chart-latency", "chart-percentiles", "chart-rates", "chart-attempts"] {
            let svg = Self.svg(id, in: html)
            #expect(!svg.isEmpty, "no \(id)")
            #expect(svg.contains("<path d=\"M"), "\(id) has no line")
            #expect(svg.contains("class=\"axis x-axis\"") && svg.contains("class=\"axis y-axis\""), "\(id) has no axes")
            #expect(svg.contains("class=\"legend-entry\""), "\(id) has no legend")
        }
        let latency = Self.svg("chart-latency", in: html)
        #expect(Self.occurrences(of: "class=\"series\"", in: latency) == 3)
        for name in ["p50", "p99", "max"] { #expect(latency.contains("data-name=\"\(name)\"")) }
        #expect(latency.contains("SLA p99 &lt; 25ms"))
        #expect(latency.contains(">10ms</text>"), "log-scale ticks in ms")
        #expect(latency.contains("<title>p99 at 6s: "), "hover tooltips")
        let spectrum = Self.svg("chart-percentiles", in: html)
        for label in [">0%<", ">90%<", ">99%<", ">99.9%<"] { #expect(spectrum.contains(label), "missing tick \(label)") }
        let rates = Self.svg("chart-rates", in: html)
        for name in ["offered/s", "throughput (attempts/s)", "goodput (ok/s)", "503s/s"] {
            #expect(rates.contains("data-name=\"\(name)\""), "no \(name)")
        }
        let attempts = Self.svg("chart-attempts", in: html)
        #expect(attempts.contains("amplification (attempts per call)"), "right axis")
        #expect(html.contains("<table class=\"summary\">") && html.contains("<table class=\"thresholds\">"))
        #expect(html.contains("constant-rate 200/s for 10s"))
        #expect(html.contains("<td class=\"fail\">FAIL</td>") && html.contains("<td class=\"pass\">PASS</td>"))
        // Self-contained: nothing to fetch, nothing to run.
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("@import"))
        #expect(!html.contains("href=\"http"))
    }

    @Test func severalFilesShareEachChartOneColourEach() throws {
        let html = HTMLReport.render(try Self.load("run-a.json", "run-b.json"))
        let latency = Self.svg("chart-latency", in: html)
        #expect(Self.occurrences(of: "class=\"series\"", in: latency) == 6)
        #expect(latency.contains("quickstart (run-a.json) · p99"))
        #expect(latency.contains("quickstart-retries (run-b.json) · p99"))
        #expect(latency.contains("stroke=\"\(HTMLReport.palette[0])\"") && latency.contains("stroke=\"\(HTMLReport.palette[1])\""))
        let spectrum = Self.svg("chart-percentiles", in: html)
        #expect(Self.occurrences(of: "class=\"series\"", in: spectrum) == 2)
        #expect(spectrum.contains(">quickstart (run-a.json)</text>") && spectrum.contains(">quickstart-retries (run-b.json)</text>"))
        // The SLA line appears once when both runs have the same threshold.
        #expect(Self.occurrences(of: "<g class=\"rule\">", in: latency) == 1)
        // The summary table has one column per file.
        #expect(html.contains("<th><span class=\"swatch\" style=\"background:\(HTMLReport.palette[1])\"></span>quickstart-retries (run-b.json)</th>"))
    }

    @Test func capacityCurveBracketSLAAndSteps() throws {
        let html = HTMLReport.render(try Self.load("capacity.json"))
        let curve = Self.svg("chart-capacity", in: html)
        #expect(!curve.isEmpty)
        #expect(curve.contains("capacity between 47.5/s and 49.9/s"), "bracket band")
        #expect(Self.occurrences(of: "r=\"3.5\" fill=\"\(HTMLReport.palette[0])\"", in: curve) == 10, "one marker per step")
        #expect(curve.contains("achieved = offered"))
        #expect(curve.contains("offered rate (calls/s)"))
        let latency = Self.svg("chart-capacity-latency", in: html)
        #expect(latency.contains("SLA p99 &lt; 100ms"))
        #expect(latency.contains("<g class=\"band\">"))
        #expect(latency.contains("offered 49.9/s (bisect), achieved 49/s, p99 118ms, errors 0.1%: fail"))
        guard let steps = html.range(of: "<table class=\"steps\">") else {
            Issue.record("no steps table")
            return
        }
        let table = String(html[steps.lowerBound...].prefix { _ in true })
        let body = table.components(separatedBy: "</table>")[0]
        #expect(Self.occurrences(of: "<tr>", in: body) == 11)  // header + 10 steps
        #expect(html.contains("<td class=\"fail\">fail</td>"))
        #expect(html.contains("endpoint"))
        // No run: no run sections.
        #expect(!html.contains("id=\"chart-latency\""))
    }

    @Test func runsAndCapacityTogether() throws {
        let html = HTMLReport.render(try Self.load("run-a.json", "capacity.json"))
        #expect(!Self.svg("chart-latency", in: html).isEmpty)
        #expect(!Self.svg("chart-capacity", in: html).isEmpty)
        // The capacity input keeps its own colour (the second).
        #expect(Self.svg("chart-capacity", in: html).contains("fill=\"\(HTMLReport.palette[1])\""))
    }

    // MARK: Escaping

    @Test func everyStringFromTheJSONIsEscaped() throws {
        let json = """
            {"scenario": "<script>alert(1)</script>", "load": "a \\"quoted\\" & 'single' <b>load</b>",
             "target": "http://x/?a=1&b=<2>", "calls": 1, "ok": 1,
             "latency_ms": {"p50": 1, "p99": 2, "max": 3, "count": 1},
             "thresholds": [{"expression": "p99 < 1ms<img src=x onerror=alert(1)>", "metric": "p99", "limit": 1,
                             "observed": 2, "pass": false}],
             "histograms": {"latency": {"unit": "us", "counts": [[1000, 1]]}},
             "timeseries": {"interval_s": 1, "points": [{"t": 0, "offered": 1, "attempts": 1, "retries": 0, "ok": 1,
                            "latency_ms": {"p50": 1, "p99": 2, "max": 3, "count": 1}}]}}
            """
        let capacity = """
            {"kind": "capacity", "scenario": "</svg><script>x()</script>", "sla": ["p99 < 5ms", "<i>sla</i>"],
             "capacity": {"last_pass_rps": 1, "first_fail_rps": 2, "limited_by": "<u>"},
             "steps": [{"rate": 1, "phase": "<p>", "verdict": "<v>", "reason": "a<b", "achieved_rps": 1,
                        "latency_ms": {"p99": 1}}]}
            """
        let html = HTMLReport.render([
            try Self.parse(json, file: "dir/<evil>.json"), try Self.parse(capacity, file: "c&.json"),
        ])
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>") && !html.contains("<i>") && !html.contains("<u>") && !html.contains("<v>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("a &quot;quoted&quot; &amp; &#39;single&#39; &lt;b&gt;load&lt;/b&gt;"))
        #expect(html.contains("(&lt;evil&gt;.json)"))
        #expect(html.contains("&lt;/svg&gt;&lt;script&gt;x()&lt;/script&gt; (c&amp;.json)"))
        #expect(html.contains("a&lt;b"))
        #expect(HTML.escape("<a href='x'>\"&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;")
    }

    // MARK: Degrading

    @Test func missingFieldsSkipChartsWithANote() throws {
        let html = HTMLReport.render([try Self.parse(Self.minimalRun, file: "old.json")])
        #expect(!html.contains("<svg"))
        #expect(Self.occurrences(of: "<p class=\"note missing\">Not drawn: ", in: html) == 4)
        #expect(html.contains("old.json has no &quot;timeseries&quot;"))
        #expect(html.contains("old.json has no &quot;histograms.latency&quot;"))
        #expect(html.contains("<table class=\"summary\">"))
        #expect(html.contains("1.5ms"))

        // Mixed with a complete run: the charts are drawn from it, the old file is named in a note.
        let mixed = HTMLReport.render(try Self.load("run-a.json") + [try Self.parse(Self.minimalRun, file: "old.json")])
        #expect(!Self.svg("chart-latency", in: mixed).isEmpty)
        #expect(!mixed.contains("Not drawn"))
        #expect(mixed.contains("old.json has no &quot;timeseries&quot;"))

        // A closed loop (offered null) and an interval with no completed call (latency null): no offered line,
        // and a gap in the latency lines.
        let closed = """
            {"kind": "run", "scenario": "closed", "calls": 3, "latency_ms": {"p99": 1}, "offered_rps": null,
             "timeseries": {"interval_s": 2, "points": [
               {"t": 0, "offered": null, "attempts": 2, "retries": 0, "ok": 2, "status_503": 0,
                "latency_ms": {"p50": 1, "p90": 1, "p99": 1, "max": 1, "count": 2}},
               {"t": 2, "offered": null, "attempts": 0, "retries": 0, "ok": 0, "status_503": 0,
                "latency_ms": {"p50": null, "p90": null, "p99": null, "max": null, "count": 0}},
               {"t": 4, "offered": null, "attempts": 1, "retries": 0, "ok": 1, "status_503": 0,
                "latency_ms": {"p50": 2, "p90": 2, "p99": 2, "max": 2, "count": 1}}]}}
            """
        let page = HTMLReport.render([try Self.parse(closed)])
        #expect(!Self.svg("chart-rates", in: page).contains("data-name=\"offered/s\""))
        #expect(Self.svg("chart-rates", in: page).contains("data-name=\"goodput (ok/s)\""))
        let latency = Self.svg("chart-latency", in: page)
        #expect(latency.contains("<path d=\"M"))
        let paths = latency.components(separatedBy: "<path d=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(paths.count == 3)
        #expect(paths.allSatisfy { !$0.contains("L") }, "the null interval breaks the line: two lone points, no segment")
        #expect(Self.occurrences(of: "r=\"2\"", in: latency) == 6, "lone points are drawn as dots")
    }

    @Test func capacityWithoutBracketOrSteps() throws {
        let html = HTMLReport.render([
            try Self.parse(#"{"kind": "capacity", "scenario": "s", "capacity": {"last_pass_rps": null}, "steps": []}"#)
        ])
        #expect(html.contains("Not drawn: no capacity input has measured steps."))
        #expect(html.contains("No steps."))
    }

    // MARK: Axes and the spectrum

    @Test func axisTicksAndLabels() {
        let spectrum = ChartAxis("p", scale: .log, format: .inversePercentile)
        #expect(spectrum.label(for: 1) == "0%")
        #expect(spectrum.label(for: 10) == "90%")
        #expect(spectrum.label(for: 1000) == "99.9%")
        #expect(spectrum.label(for: 100_000) == "99.999%")
        #expect(spectrum.fitted(to: [1, 250]).ticks == [1, 10, 100, 1000])
        let log = ChartAxis("ms", scale: .log, format: .milliseconds)
        let fit = log.fitted(to: [0.45, 0, 3.9])
        #expect(fit.domain == 0.1...10)
        #expect(fit.ticks == [0.1, 0.2, 0.5, 1, 2, 5, 10])
        let linear = ChartAxis("n").fitted(to: [3, 187])
        #expect(linear.domain == 0...200)
        #expect(linear.ticks == [0, 50, 100, 150, 200])
        #expect(ChartAxis.compact(12_500) == "12.5k")
    }

    @Test func percentileSpectrumSteps() {
        let points = PercentileSpectrum.points([
            HistogramCount(value: 2000, count: 9), HistogramCount(value: 1000, count: 90), HistogramCount(value: 5000, count: 1),
        ])
        let expected: [Double] = [1, 10, 10, 100, 100, 100]
        #expect(points.count == expected.count)
        for (point, x) in zip(points, expected) { #expect(abs(point.x - x) < 1e-9 * x) }
        #expect(points.map(\.y) == [1, 1, 2, 2, 5, 5])
        #expect(PercentileSpectrum.points([]).isEmpty)
    }

    // MARK: The command

    final class Harness: Sendable {
        let out = Buffer()
        let err = Buffer()
        let directory: TempDir
        init() throws { directory = try TempDir() }
        func run(_ arguments: [String]) async -> Int32 {
            await LoadgenCommand.main(
                ["report"] + arguments,
                environment: LoadgenEnvironment(
                    standardOutput: out.append, standardError: err.append, currentDirectory: directory.path))
        }
    }

    @Test func writesTheFileOrStdout() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        let code = await harness.run([Self.fixture("run-a.json"), Self.fixture("capacity.json"), "-o", "report.html"])
        #expect(code == 0, "\(harness.err.text)")
        let written = try String(contentsOfFile: harness.directory.path + "/report.html", encoding: .utf8)
        #expect(written.hasPrefix("<!DOCTYPE html>") && written.contains("id=\"chart-capacity\""))
        #expect(harness.out.text.isEmpty)

        let stdout = try Harness()
        defer { stdout.directory.cleanup() }
        #expect(await stdout.run(["-o", "-", Self.fixture("run-a.json")]) == 0)
        #expect(stdout.out.text.hasPrefix("<!DOCTYPE html>"))
        #expect(stdout.out.text.hasSuffix("</html>\n"))
    }

    @Test(arguments: [
        ("missing.json", nil, "missing.json: no such file"),
        ("bad.json", "{\"calls\": 1,\n  oops}", "bad.json: invalid JSON: Expecting property name enclosed in double quotes: line 2 column 3"),
        ("list.json", "[1, 2]", "list.json: not a loadgen result: expected a JSON object, got an array"),
        ("other.json", "{\"name\": \"x\"}", "other.json: not a loadgen result: no \"calls\" or \"latency_ms\""),
        ("kind.json", "{\"kind\": \"soak\"}", "kind.json: not a loadgen result: unknown kind \"soak\""),
        ("type.json", "{\"calls\": \"ten\", \"latency_ms\": {}}", "type.json: \"calls\" must be a number, got \"ten\""),
        ("point.json", "{\"calls\": 1, \"latency_ms\": {}, \"timeseries\": {\"points\": [{\"t\": 0, \"latency_ms\": {\"p99\": true}}]}}",
         "point.json: \"timeseries.points[0].latency_ms.p99\" must be a number, got true"),
        ("cap.json", "{\"kind\": \"capacity\", \"steps\": [{\"phase\": \"probe\"}]}", "cap.json: steps[0]: missing \"rate\""),
    ] as [(String, String?, String)])
    func badInputsExitTwoNamingTheFile(name: String, contents: String?, message: String) async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        if let contents { try harness.directory.write(name, contents) }
        let code = await harness.run([Self.fixture("run-a.json"), name, "-o", "r.html"])
        #expect(code == 2)
        #expect(harness.err.text.hasPrefix("error: " + message), "\(harness.err.text)")
        #expect(!FileManager.default.fileExists(atPath: harness.directory.path + "/r.html"))
    }

    @Test func usageErrorsAndHelp() async throws {
        let harness = try Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run([Self.fixture("run-a.json")]) == 2)
        #expect(harness.err.text.contains("-o/--output"))
        #expect(await harness.run(["-o", "x.html"]) == 2)
        #expect(await harness.run(["--help"]) == 0)
        #expect(harness.out.text.contains("loadgen report"))
        #expect(harness.out.text.contains("-o, --output <OUT.html>"))
        #expect(harness.out.text.contains("RESULT"))
        #expect(await harness.run([Self.fixture("run-a.json"), "-o", "/nonexistent-dir/r.html"]) == 4)
        #expect(harness.err.text.contains("cannot write report '/nonexistent-dir/r.html'"))
    }
}
