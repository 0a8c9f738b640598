import EndpointSpec
import Foundation
import Testing

@testable import LoadgenCore

/// What CI consumes from `loadgen run`: JUnit XML, thresholds from the command line, `--abort-on-fail`.
@Suite struct CIOutputTests {
    /// The one file the harness wrote (its text after the path line).
    static func written(_ harness: CommandTests.Harness, _ name: String) -> String? {
        let text = harness.files.text
        guard let range = text.range(of: name + "\n") else { return nil }
        return String(text[range.upperBound...])
    }

    @Test("--junit writes one testsuite, one testcase per threshold, a failure with the observed value; Python parses it")
    func junitParsesAndCounts() async throws {
        let harness = try CommandTests.Harness()
        defer { harness.directory.cleanup() }
        let code = await harness.run([
            "run", "quick.json", "-q", "--junit", "report.xml", "--threshold", "p99 < 1us", "--threshold", "max < 1h",
        ])
        #expect(code == LoadgenExitCode.thresholdsFailed.rawValue, "\(harness.err.text)")
        let xml = try #require(Self.written(harness, harness.directory.path + "/report.xml"), "\(harness.files.text)")
        let file = harness.directory.path + "/report-on-disk.xml"
        try xml.write(toFile: file, atomically: true, encoding: .utf8)
        let script = """
            import sys, xml.etree.ElementTree as ET
            root = ET.parse(sys.argv[1]).getroot()
            assert root.tag == "testsuites", root.tag
            suites = root.findall("testsuite")
            assert len(suites) == 1
            suite = suites[0]
            cases = suite.findall("testcase")
            failed = [c for c in cases if c.find("failure") is not None]
            print(len(cases), suite.get("tests"), suite.get("failures"), len(failed))
            for c in cases:
                f = c.find("failure")
                print(c.get("name") + " | " + ("PASS" if f is None else f.get("message")))
            """
        let python = try HdrEncodingTests.runPython(["-c", script, file])
        #expect(python.status == 0, "\(python.stderr)\n\(xml)")
        let lines = String(decoding: python.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        // quick.json has 3 thresholds; the two from the command line are added: 5 testcases.
        #expect(lines.first == "5 5 1 1", "\(lines)")
        #expect(lines.contains("p99 < 1us | p99 < 1us: observed 2ms"), "\(lines)")
        #expect(lines.contains("max < 1h | PASS"), "\(lines)")
        #expect(lines.contains("p99 < 250ms | PASS"), "\(lines)")
    }

    @Test("JUnit escaping: markup and control characters in names survive a parser")
    func escaping() {
        #expect(JUnitReport.escape("a<b & \"c\" 'd'>\u{1}") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;")
        var result = RunResult(scenarioName: "x</testsuite><y a=\"", loadDescription: "l", target: "t")
        result.elapsedNanoseconds = 1_000_000_000
        let xml = JUnitReport.xml(result, outcomes: [], skipped: nil, note: "a < b")
        #expect(!xml.contains("</testsuite><y"))
        #expect(xml.contains("tests=\"0\""))
    }

    @Test("--threshold adds to the scenario's thresholds, skips a repeat, and a bad one exits 2 naming the flag")
    func thresholdFlag() async throws {
        let harness = try CommandTests.Harness()
        defer { harness.directory.cleanup() }
        let code = await harness.run(["run", "quick.json", "--threshold", "p99 < 1us", "--threshold", "p99 < 250ms"])
        #expect(code == LoadgenExitCode.thresholdsFailed.rawValue)
        #expect(harness.out.text.contains("FAIL  p99 < 1us"), "\(harness.out.text)")
        #expect(harness.out.text.contains("PASS  p99 < 250ms"))
        #expect(harness.out.text.contains("1 of 4 thresholds failed"), "\(harness.out.text)")
        let bad = try CommandTests.Harness()
        defer { bad.directory.cleanup() }
        #expect(await bad.run(["run", "quick.json", "--threshold", "p99 < fast"]) == LoadgenExitCode.usageError.rawValue)
        #expect(bad.err.text.contains("--threshold: p99 expects a duration"), "\(bad.err.text)")
    }

    @Test("--abort-on-fail without a windowed threshold is a usage error")
    func abortNeedsAWindow() async throws {
        let harness = try CommandTests.Harness()
        defer { harness.directory.cleanup() }
        #expect(await harness.run(["run", "quick.json", "--abort-on-fail"]) == LoadgenExitCode.usageError.rawValue)
        #expect(harness.err.text.contains("--abort-on-fail needs a threshold over a window"), "\(harness.err.text)")
    }

    @Test("the watcher judges each complete window once and trips on the first failing one")
    func watcherJudgesCompleteWindows() throws {
        let watcher = AbortWatcher([try Threshold(parsing: "p99[2s] < 100ms"), try Threshold(parsing: "p99 < 1ms")])
        var result = RunResult()
        // 0-1 s: fast successes; 1-3 s: slow successes (300 ms).
        result = SuccessfulLatencyTests.result(count: 150, latencyMilliseconds: 5, status: 200, into: result)
        result = SuccessfulLatencyTests.result(
            count: 300, latencyMilliseconds: 300, status: 200, from: 1_000_000_000, into: result)
        func snapshot(_ seconds: Int64) -> ProgressSnapshot {
            var snapshot = ProgressSnapshot(
                elapsed: .seconds(seconds), total: .seconds(10), attemptRate: 0, goodputRate: 0, p99Microseconds: nil,
                errors: 0, status503: 0, inFlight: 0)
            snapshot.timeline = result.timeline
            return snapshot
        }
        #expect(watcher.check(snapshot(1)) == nil)  // the 2s window is not complete yet
        let trip = try #require(watcher.check(snapshot(2)))
        #expect(trip.outcome.worstWindowStart == 0)
        #expect(trip.at == 2)
        #expect(trip.note.hasPrefix("stopped early at 2s by --abort-on-fail: p99[2s] < 100ms failed in the 2s window from 0s"))
        #expect(watcher.check(snapshot(3)) == nil)  // trips once
    }
}
