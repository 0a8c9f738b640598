import Foundation

/// A run's thresholds as JUnit XML (`loadgen run --junit FILE`), so that CI systems (GitHub Actions test
/// reporters, GitLab, Jenkins) show a broken SLA as a failed test: one `testsuite` per run, one `testcase` per
/// threshold, a `failure` element (with the observed value) for each threshold that failed, `skipped` for every
/// threshold of an interrupted run (a partial run neither passes nor fails them).
public enum JUnitReport {
    /// The XML document. `skipped` (e.g. "run interrupted by SIGINT") marks every threshold as not judged;
    /// `note` (e.g. why the run stopped early) goes into the suite's `system-out`.
    public static func xml(
        _ result: RunResult, outcomes: [ThresholdOutcome], skipped: String? = nil, note: String? = nil
    ) -> String {
        let failures = skipped == nil ? outcomes.filter { !$0.pass }.count : 0
        let skips = skipped == nil ? 0 : outcomes.count
        let time = formatNumber(result.elapsedSeconds, digits: 3)
        let counts = "tests=\"\(outcomes.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skips)\" time=\"\(time)\""
        let suite = "loadgen run " + (result.scenarioName.isEmpty ? "scenario" : result.scenarioName)
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"loadgen\" \(counts)>\n"
        xml += "  <testsuite name=\"\(escape(suite))\" \(counts)"
        if let start = result.startTime {
            let formatter = ISO8601DateFormatter()
            xml += " timestamp=\"\(formatter.string(from: Date(timeIntervalSince1970: start)))\""
        }
        xml += ">\n"
        xml += "    <properties>\n"
        for (name, value) in [("load", result.loadDescription), ("target", result.target)] where !value.isEmpty {
            xml += "      <property name=\"\(name)\" value=\"\(escape(value))\"/>\n"
        }
        xml += "    </properties>\n"
        let classname = "loadgen." + (result.scenarioName.isEmpty ? "scenario" : result.scenarioName)
        for outcome in outcomes {
            let expression = outcome.threshold.expression
            xml += "    <testcase classname=\"\(escape(classname))\" name=\"\(escape(expression))\" time=\"\(time)\">\n"
            if let skipped {
                xml += "      <skipped message=\"\(escape(skipped))\"/>\n"
            } else if !outcome.pass {
                let message = "\(expression): observed \(outcome.observedText)"
                xml += "      <failure type=\"threshold\" message=\"\(escape(message))\">\(escape(message))</failure>\n"
            } else {
                xml += "      <system-out>\(escape("observed \(outcome.observedText)"))</system-out>\n"
            }
            xml += "    </testcase>\n"
        }
        if let note { xml += "    <system-out>\(escape(note))</system-out>\n" }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    /// Escapes text for an attribute or element (`HTML.escape`: XML-safe, forbidden characters dropped).
    static func escape(_ text: String) -> String { HTML.escape(text) }
}
