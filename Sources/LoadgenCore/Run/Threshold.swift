/// What a threshold measures.
public enum ThresholdMetric: Sendable, Hashable, CustomStringConvertible {
    /// End-to-end latency at a percentile (0 < p <= 100), in milliseconds.
    case latencyPercentile(Double)
    /// Largest end-to-end latency, in milliseconds.
    case latencyMax
    /// Mean end-to-end latency, in milliseconds.
    case latencyMean
    /// Share of scheduled calls that did not succeed (a fraction: 0.01 = 1%).
    case errorRate
    /// Successful calls per second.
    case goodput
    /// Attempts per second.
    case throughput
    /// Attempts per sent call.
    case amplification

    /// The name as written in a threshold (`p99`, `p99.9`, `error_rate`, ...).
    public var description: String {
        switch self {
        case .latencyPercentile(let p): return "p" + formatNumber(p, digits: 4)
        case .latencyMax: return "max"
        case .latencyMean: return "mean"
        case .errorRate: return "error_rate"
        case .goodput: return "goodput"
        case .throughput: return "throughput"
        case .amplification: return "amplification"
        }
    }

    /// Whether the metric is a latency in milliseconds.
    public var isLatency: Bool {
        switch self {
        case .latencyPercentile, .latencyMax, .latencyMean: return true
        default: return false
        }
    }

    /// Formats a value of this metric for reports: `4.2ms`, `0.5%`, `150/s`, `1.02`.
    public func format(_ value: Double) -> String {
        switch self {
        case .latencyPercentile, .latencyMax, .latencyMean: return formatMilliseconds(value)
        case .errorRate: return formatNumber(value * 100, digits: 3) + "%"
        case .goodput, .throughput: return formatNumber(value, digits: 1) + "/s"
        case .amplification: return formatNumber(value, digits: 3)
        }
    }
}

/// A comparison operator in a threshold.
public enum ThresholdComparison: String, Sendable, CaseIterable {
    /// Less than.
    case less = "<"
    /// Less than or equal.
    case lessOrEqual = "<="
    /// Greater than.
    case greater = ">"
    /// Greater than or equal.
    case greaterOrEqual = ">="

    /// Whether `observed op limit` holds.
    public func holds(_ observed: Double, _ limit: Double) -> Bool {
        switch self {
        case .less: return observed < limit
        case .lessOrEqual: return observed <= limit
        case .greater: return observed > limit
        case .greaterOrEqual: return observed >= limit
        }
    }
}

/// Which calls a latency threshold judges.
public enum LatencyCalls: String, Sendable, Hashable {
    /// Only the calls that succeeded (the default): a failing call is counted by `error_rate`, and fast
    /// failures cannot make a latency limit pass.
    case successful = "ok"
    /// Every sent call, successful or not (`p99{status:any} < 100ms`).
    case all = "any"
}

/// A pass/fail condition on a run's result, written `METRIC OP LIMIT`:
/// `p99 < 250ms`, `p99.9<1s`, `max <= 2s`, `mean < 50ms`, `error_rate < 1%` (or `0.01`), `goodput > 150/s`,
/// `throughput >= 100`, `amplification < 1.2`. `p999` and `p9999` mean p99.9 and p99.99.
///
/// `METRIC[WINDOW] OP LIMIT` (`p99[10s] < 100ms`) judges every window of that length, sliding by the time
/// series' interval, instead of the whole run: it fails when any window fails, so a bad tail is not diluted by
/// a good start. The observed value is the worst window's.
///
/// Latency metrics (`pN`, `max`, `mean`) judge the **successful** calls: a latency threshold with no
/// successful call fails ("no successful call"), and so does a window whose completed calls all failed.
/// `METRIC{status:any}` (`p99{status:any} < 100ms`, `p99{status:any}[10s] < 100ms`) judges every sent call.
public struct Threshold: Sendable, Hashable, CustomStringConvertible {
    /// The text as written.
    public var expression: String
    /// What is measured.
    public var metric: ThresholdMetric
    /// The comparison.
    public var comparison: ThresholdComparison
    /// The limit in the metric's unit: milliseconds for latencies, a fraction for error_rate, per second for
    /// rates, a ratio for amplification.
    public var limit: Double
    /// The window length for `METRIC[WINDOW]`; `nil` judges the whole run.
    public var window: DurationValue?
    /// Which calls a latency metric judges (successful ones unless `{status:any}` is written).
    public var calls: LatencyCalls = .successful

    /// The expression as written.
    public var description: String { expression }

    /// Parses a threshold; the error message says what was expected (without a location).
    public init(parsing text: String) throws(ThresholdError) {
        expression = text
        let trimmed = text.trimmingWhitespace()
        guard let operatorStart = trimmed.firstIndex(where: { $0 == "<" || $0 == ">" || $0 == "=" }) else {
            throw ThresholdError(
                "expected METRIC OP LIMIT like \"p99 < 250ms\" (OP is <, <=, > or >=), got \"\(text)\"")
        }
        let written = trimmed[..<operatorStart].trimmingWhitespace()
        var rest = trimmed[operatorStart...]
        let symbol: String
        if rest.hasPrefix("<=") || rest.hasPrefix(">=") {
            symbol = String(rest.prefix(2))
        } else if rest.hasPrefix("<") || rest.hasPrefix(">") {
            symbol = String(rest.prefix(1))
        } else {
            throw ThresholdError("unknown operator in \"\(text)\"; expected <, <=, > or >=")
        }
        rest = rest.dropFirst(symbol.count)
        guard let comparison = ThresholdComparison(rawValue: symbol) else {
            throw ThresholdError("unknown operator in \"\(text)\"; expected <, <=, > or >=")
        }
        self.comparison = comparison
        guard !written.isEmpty else { throw ThresholdError("missing metric before \"\(symbol)\" in \"\(text)\"") }
        var name = String(written)
        var selector: LatencyCalls?
        if let brace = name.firstIndex(of: "{") {
            guard let close = name[brace...].firstIndex(of: "}") else {
                throw ThresholdError("expected a selector like \"p99{status:any}\" in \"\(text)\" (missing \"}\")")
            }
            let inside = name[name.index(after: brace)..<close].filter { !$0.isWhitespace }.lowercased()
            switch inside {
            case "status:any": selector = .all
            case "status:ok": selector = .successful
            default:
                throw ThresholdError(
                    "unknown selector \"{\(inside)}\" in \"\(text)\"; expected {status:any} (every call) or {status:ok} "
                        + "(successful calls, the default)")
            }
            name = (String(name[..<brace]) + String(name[name.index(after: close)...])).trimmingWhitespace()
        }
        var metricName = name
        if let open = name.firstIndex(of: "[") {
            guard name.hasSuffix("]") else {
                throw ThresholdError("expected a window like \"p99[10s]\" in \"\(text)\" (missing \"]\")")
            }
            let inside = name[name.index(after: open)..<name.index(before: name.endIndex)].trimmingWhitespace()
            guard let window = DurationValue(parsing: inside), window.nanoseconds >= 1_000_000_000,
                window.nanoseconds % 1_000_000_000 == 0
            else {
                throw ThresholdError(
                    "the window in \"\(text)\" must be a whole number of seconds like [10s] or [1m], got \"[\(inside)]\"")
            }
            self.window = window
            metricName = name[..<open].trimmingWhitespace()
        }
        let metric = try Self.metric(named: metricName)
        self.metric = metric
        if let selector {
            guard metric.isLatency else {
                throw ThresholdError(
                    "\"{status:...}\" in \"\(text)\" applies to latency metrics (pN, max, mean), not to \(metric)")
            }
            calls = selector
        }
        let limitText = rest.trimmingWhitespace()
        guard !limitText.isEmpty else { throw ThresholdError("missing limit after \"\(symbol)\" in \"\(text)\"") }
        self.limit = try Self.limit(limitText, for: metric)
    }

    static func metric(named name: String) throws(ThresholdError) -> ThresholdMetric {
        switch name.lowercased() {
        case "max": return .latencyMax
        case "mean", "avg": return .latencyMean
        case "error_rate", "errors": return .errorRate
        case "goodput": return .goodput
        case "throughput": return .throughput
        case "amplification": return .amplification
        case "p999": return .latencyPercentile(99.9)
        case "p9999": return .latencyPercentile(99.99)
        default: break
        }
        if name.lowercased().hasPrefix("p") {
            let number = name.dropFirst()
            guard let percentile = Double(number), percentile.isFinite else {
                throw ThresholdError(
                    "unknown metric \"\(name)\"; expected pN (like p99 or p99.9), max, mean, error_rate, goodput, "
                        + "throughput or amplification")
            }
            guard percentile > 0, percentile <= 100 else {
                throw ThresholdError("percentile in \"\(name)\" must be greater than 0 and at most 100")
            }
            return .latencyPercentile(percentile)
        }
        throw ThresholdError(
            "unknown metric \"\(name)\"; expected pN (like p99 or p99.9), max, mean, error_rate, goodput, "
                + "throughput or amplification")
    }

    static func limit(_ text: String, for metric: ThresholdMetric) throws(ThresholdError) -> Double {
        switch metric {
        case .latencyPercentile, .latencyMax, .latencyMean:
            guard let duration = DurationValue(parsing: text) else {
                throw ThresholdError("\(metric) expects a duration like \"250ms\" or \"1s\", got \"\(text)\"")
            }
            return Double(duration.nanoseconds) / 1e6
        case .errorRate:
            if text.hasSuffix("%") {
                guard let percent = Double(text.dropLast().trimmingWhitespace()), percent >= 0, percent <= 100 else {
                    throw ThresholdError("error_rate expects a percentage like \"1%\" or a fraction like 0.01, got \"\(text)\"")
                }
                return percent / 100
            }
            guard let fraction = Double(text), fraction >= 0, fraction <= 1 else {
                throw ThresholdError("error_rate expects a percentage like \"1%\" or a fraction like 0.01, got \"\(text)\"")
            }
            return fraction
        case .goodput, .throughput:
            guard let rate = RateValue(parsing: text) else {
                throw ThresholdError("\(metric) expects a rate like \"150/s\", got \"\(text)\"")
            }
            return rate.perSecond
        case .amplification:
            guard let ratio = Double(text), ratio.isFinite, ratio >= 0 else {
                throw ThresholdError("amplification expects a number like 1.2, got \"\(text)\"")
            }
            return ratio
        }
    }

    /// The metric's value in `result` (in the limit's unit), or `nil` when it is undefined (no successful call
    /// for latency metrics, no call sent for `{status:any}` latencies and amplification, nothing scheduled for
    /// error_rate).
    public func observe(_ result: RunResult) -> Double? {
        let latency = calls == .all ? result.latency : result.latencyOk
        switch metric {
        case .latencyPercentile(let p):
            return latency.totalCount > 0 ? Double(latency.value(atPercentile: p)) / 1000 : nil
        case .latencyMax:
            return latency.maxValue.map { Double($0) / 1000 }
        case .latencyMean:
            return latency.totalCount > 0 ? latency.mean / 1000 : nil
        case .errorRate: return result.calls > 0 ? result.errorRate : nil
        case .goodput: return result.goodput
        case .throughput: return result.throughput
        case .amplification: return result.sent > 0 ? result.amplification : nil
        }
    }

    /// Evaluates against `result` (every window of it, for a windowed threshold). An undefined metric fails.
    public func evaluate(_ result: RunResult) -> ThresholdOutcome {
        if let window {
            let worst = worstWindow(of: result, length: window)
            let pass = worst?.value.map { comparison.holds($0, limit) } ?? false
            return ThresholdOutcome(threshold: self, observed: worst?.value, pass: pass, worstWindowStart: worst?.start)
        }
        let observed = observe(result)
        let pass = observed.map { comparison.holds($0, limit) } ?? false
        return ThresholdOutcome(threshold: self, observed: observed, pass: pass)
    }
}

/// A threshold's evaluation.
public struct ThresholdOutcome: Sendable, Hashable {
    /// The threshold.
    public var threshold: Threshold
    /// The observed value in the limit's unit, `nil` when undefined.
    public var observed: Double?
    /// Whether the threshold held.
    public var pass: Bool
    /// For a windowed threshold: where the worst window starts, in seconds from the start of the measurement.
    public var worstWindowStart: Double?

    /// Creates an outcome.
    public init(threshold: Threshold, observed: Double?, pass: Bool, worstWindowStart: Double? = nil) {
        self.threshold = threshold
        self.observed = observed
        self.pass = pass
        self.worstWindowStart = worstWindowStart
    }

    /// The observed value formatted for people (`4.2ms`, `0.5%`, `no data`, `no successful call`; for a
    /// windowed threshold `120ms in the worst 10s window, from 20s`).
    public var observedText: String {
        let judgesSuccessful = threshold.metric.isLatency && threshold.calls == .successful
        let text = observed.map { threshold.metric.format($0) } ?? (judgesSuccessful ? "no successful call" : "no data")
        guard let window = threshold.window, let start = worstWindowStart else { return text }
        if observed == nil { return "\(text) in the \(window) window from \(formatNumber(start, digits: 3))s" }
        return "\(text) in the worst \(window) window, from \(formatNumber(start, digits: 3))s"
    }
}

/// A malformed threshold expression.
public struct ThresholdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and what was expected.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Milliseconds formatted with units chosen for readability: `0.123ms`, `4.21ms`, `250ms`, `1.5s`.
func formatMilliseconds(_ ms: Double) -> String {
    if ms >= 10_000 { return formatNumber(ms / 1000, digits: 1) + "s" }
    if ms >= 1000 { return formatNumber(ms / 1000, digits: 3) + "s" }
    if ms >= 100 { return formatNumber(ms, digits: 1) + "ms" }
    if ms >= 1 { return formatNumber(ms, digits: 2) + "ms" }
    return formatNumber(ms, digits: 3) + "ms"
}
