import EndpointSpec
import Foundation

/// Why a file given to `loadgen report` cannot be reported: the message names the file and what is wrong.
public struct ReportInputError: Error, Equatable, CustomStringConvertible {
    /// `FILE: what is wrong`.
    public var description: String

    init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
}

/// One input of `loadgen report`: the result JSON of `loadgen run --json`, `loadgen capacity --json` or
/// `loadgen experiment --json`,
/// parsed into a typed model. Fields that a result may lack (older versions, closed loops) are optionals, so
/// the report can skip what is missing.
public struct ReportInput: Sendable, Equatable {
    /// The file name as given on the command line (shown in legends and table headings).
    public var file: String
    /// What the file holds.
    public var result: Result

    /// The two kinds of result.
    public enum Result: Sendable, Equatable {
        /// `kind: "run"` (or no `kind`).
        case run(RunReportData)
        /// `kind: "capacity"`.
        case capacity(CapacityReportData)
        /// `kind: "experiment"`.
        case experiment(ExperimentReportData)
    }

    /// The scenario name of either kind.
    public var scenario: String {
        switch result {
        case .run(let run): return run.scenario
        case .capacity(let capacity): return capacity.scenario
        case .experiment(let experiment): return experiment.experiment
        }
    }

    /// `scenario (file)`, the name of this input in legends.
    public var label: String {
        let base = (file as NSString).lastPathComponent
        return scenario.isEmpty ? base : "\(scenario) (\(base))"
    }

    /// Reads and parses `path` (resolved against `currentDirectory` when relative); `file` is shown in errors.
    public static func load(path: String, currentDirectory: String) throws(ReportInputError) -> ReportInput {
        try parse(try read(path: path, currentDirectory: currentDirectory), file: path)
    }

    /// The bytes of the result file `path` (resolved against `currentDirectory` when relative); the error
    /// names the file as given.
    static func read(path: String, currentDirectory: String) throws(ReportInputError) -> [UInt8] {
        let absolute = path.hasPrefix("/") ? path : currentDirectory + "/" + path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw ReportInputError(path, "no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: absolute) else {
            throw ReportInputError(path, "cannot read the file")
        }
        return Array(data)
    }

    /// Parses the JSON `bytes` of a result; `file` names it in errors and legends.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportInputError) -> ReportInput {
        let value: JSONValue
        do {
            value = try LoadgenJSON.parse(bytes)
        } catch {
            throw ReportInputError(file, error.description)
        }
        guard case .object(let root) = value else {
            throw ReportInputError(
                file, "not a loadgen result: expected a JSON object, got \(value.errorDescription)")
        }
        let fields = JSONFields(root, file: file, path: "")
        let kind = try fields.string("kind") ?? "run"
        switch kind {
        case "run": return ReportInput(file: file, result: .run(try RunReportData(fields)))
        case "capacity": return ReportInput(file: file, result: .capacity(try CapacityReportData(fields)))
        case "experiment": return ReportInput(file: file, result: .experiment(try ExperimentReportData(fields)))
        default:
            throw ReportInputError(
                file, "not a loadgen result: unknown kind \"\(kind)\" (expected run, capacity or experiment)")
        }
    }
}

/// Latency figures in milliseconds; each is `nil` when absent or `null` (no calls).
public struct LatencyFigures: Sendable, Equatable {
    /// The median.
    public var p50: Double?
    /// The 90th percentile.
    public var p90: Double?
    /// The 99th percentile.
    public var p99: Double?
    /// The 99.9th percentile.
    public var p999: Double?
    /// The largest value.
    public var max: Double?
    /// The mean.
    public var mean: Double?
    /// The smallest value.
    public var min: Double?
    /// How many values the figures describe.
    public var count: Double?

    init(_ fields: JSONFields?) throws(ReportInputError) {
        guard let fields else { return }
        p50 = try fields.number("p50")
        p90 = try fields.number("p90")
        p99 = try fields.number("p99")
        p999 = try fields.number("p999")
        max = try fields.number("max")
        mean = try fields.number("mean")
        min = try fields.number("min")
        count = try fields.number("count")
    }

    /// The figure a threshold metric names (`p50`, `p99`, `max`...), if this type has it.
    func value(for metric: ThresholdMetric) -> Double? {
        switch metric {
        case .latencyPercentile(50): return p50
        case .latencyPercentile(90): return p90
        case .latencyPercentile(99): return p99
        case .latencyPercentile(99.9): return p999
        case .latencyMax: return max
        case .latencyMean: return mean
        default: return nil
        }
    }
}

/// One threshold of a run, as the run judged it.
public struct ThresholdRow: Sendable, Equatable {
    /// The threshold as written, like `p99 < 250ms`.
    public var expression: String
    /// The metric name, like `p99` or `error_rate`.
    public var metric: String
    /// The limit (milliseconds for latency, a fraction for error_rate).
    public var limit: Double?
    /// The observed value (`nil` without data).
    public var observed: Double?
    /// Whether the run met the threshold.
    public var pass: Bool?
}

/// One interval of a run's `timeseries`.
public struct TimeseriesPoint: Sendable, Equatable {
    /// Seconds since the measurement start, at the start of the interval.
    public var t: Double
    /// Calls whose intended start falls in the interval (`nil` for a closed loop).
    public var offered: Double?
    /// Attempts sent in the interval.
    public var attempts: Double?
    /// How many of those attempts were retries.
    public var retries: Double?
    /// Calls that completed successfully in the interval.
    public var ok: Double?
    /// Calls that failed in the interval.
    public var failed: Double?
    /// Calls due in the interval that were not sent.
    public var notSent: Double?
    /// Attempts answered 503 in the interval.
    public var status503: Double?
    /// Latency of the calls completed in the interval (`nil` figures when none completed).
    public var latency: LatencyFigures
    /// The interval's whole latency histogram (µs) in HdrHistogram V2 compressed base64 (`nil` in results
    /// written before points carried it); `Histogram(hdrBase64:)` decodes it.
    public var hdr: String? = nil
}

/// A run's per-interval figures.
public struct Timeseries: Sendable, Equatable {
    /// The interval length in seconds.
    public var interval: Double
    /// The intervals in time order.
    public var points: [TimeseriesPoint]
}

/// The figures of a `loadgen run --json` result that the report shows.
public struct RunReportData: Sendable, Equatable {
    /// The scenario name (empty when absent).
    public var scenario: String
    /// The load description, like `constant-rate 200/s for 10s`.
    public var load: String?
    /// The endpoint URL.
    public var target: String?
    /// The measured duration.
    public var durationSeconds: Double?
    /// The planned duration.
    public var plannedDurationSeconds: Double?
    /// The planned arrival rate (`nil` for a closed loop).
    public var offeredRate: Double?
    /// Calls scheduled.
    public var calls: Double?
    /// Calls that succeeded.
    public var ok: Double?
    /// Calls that failed.
    public var failed: Double?
    /// Calls not sent (`not_sent.total`).
    public var notSent: Double?
    /// Attempts sent.
    public var attempts: Double?
    /// Retries among them.
    public var retries: Double?
    /// Attempts per second.
    public var throughput: Double?
    /// Successful calls per second.
    public var goodput: Double?
    /// Attempts per call.
    public var amplification: Double?
    /// Failed calls as a fraction of calls.
    public var errorRate: Double?
    /// Call latency from the intended start.
    public var latency: LatencyFigures
    /// Call latency from the actual send.
    public var serviceTime: LatencyFigures
    /// The thresholds as judged by the run.
    public var thresholds: [ThresholdRow]
    /// Whether every threshold passed.
    public var passed: Bool?
    /// `histograms.latency.counts` as `(microseconds, count)` pairs, or `nil` when absent.
    public var latencyCounts: [HistogramCount]?
    /// Per-interval figures (`nil` in results written before `timeseries` existed).
    public var timeseries: Timeseries?
    /// Fields found wrong but not needed to draw the rest (shown as notes).
    public var notes: [String]

    init(_ root: JSONFields) throws(ReportInputError) {
        // A run result always has these; a JSON without them is something else.
        guard root.has("calls"), root.has("latency_ms") else {
            throw ReportInputError(
                root.file, "not a loadgen result: no \"calls\" or \"latency_ms\" (expected the JSON written by "
                    + "'loadgen run --json' or 'loadgen capacity --json')")
        }
        scenario = try root.string("scenario") ?? ""
        load = try root.string("load")
        target = try root.string("target")
        durationSeconds = try root.number("duration_s")
        plannedDurationSeconds = try root.number("planned_duration_s")
        offeredRate = try root.number("offered_rps")
        calls = try root.number("calls")
        ok = try root.number("ok")
        failed = try root.number("failed")
        if let object = try root.object("not_sent", orNumber: true) {
            notSent = try object.number("total")
        } else {
            notSent = try root.number("not_sent", allowObject: true)
        }
        attempts = try root.number("attempts")
        retries = try root.number("retries")
        throughput = try root.number("throughput_rps")
        goodput = try root.number("goodput_rps")
        amplification = try root.number("amplification")
        errorRate = try root.number("error_rate")
        latency = try LatencyFigures(root.object("latency_ms"))
        serviceTime = try LatencyFigures(root.object("service_time_ms"))
        passed = try root.bool("passed")
        thresholds = []
        for item in try root.objects("thresholds") {
            thresholds.append(
                ThresholdRow(
                    expression: try item.string("expression") ?? "", metric: try item.string("metric") ?? "",
                    limit: try item.number("limit"), observed: try item.number("observed"),
                    pass: try item.bool("pass")))
        }
        notes = []
        latencyCounts = nil
        if let histograms = try root.object("histograms"), let latency = try histograms.object("latency") {
            if let unit = try latency.string("unit"), unit != "us" {
                notes.append("histograms.latency has unit \"\(unit)\", expected \"us\": no percentile spectrum")
            } else {
                latencyCounts = try latency.pairs("counts")
            }
        }
        timeseries = nil
        if let series = try root.object("timeseries") {
            let interval = try series.number("interval_s") ?? 1
            guard interval > 0 else { throw ReportInputError(root.file, "timeseries.interval_s must be > 0") }
            var points: [TimeseriesPoint] = []
            for point in try series.objects("points") {
                guard let t = try point.number("t") else {
                    throw ReportInputError(root.file, "\(point.path): missing \"t\"")
                }
                points.append(
                    TimeseriesPoint(
                        t: t, offered: try point.number("offered"), attempts: try point.number("attempts"),
                        retries: try point.number("retries"), ok: try point.number("ok"),
                        failed: try point.number("failed"), notSent: try point.number("not_sent", allowObject: true),
                        status503: try point.number("status_503"),
                        latency: try LatencyFigures(point.object("latency_ms")), hdr: try point.string("hdr")))
            }
            timeseries = Timeseries(interval: interval, points: points.sorted { $0.t < $1.t })
        }
    }
}

/// One `[value, count]` entry of a serialized histogram: `count` recordings at `value` (microseconds).
public struct HistogramCount: Sendable, Equatable {
    /// The lowest value of the bucket, in the histogram's unit.
    public var value: Double
    /// How many values were recorded in the bucket.
    public var count: Double
}

/// One measured step of a capacity search.
public struct CapacityStep: Sendable, Equatable {
    /// The offered rate of the step (calls/s).
    public var rate: Double
    /// `probe`, `double`, `bisect` or `confirm`.
    public var phase: String
    /// The achieved rate (calls/s).
    public var achieved: Double?
    /// How long the step ran.
    public var durationSeconds: Double?
    /// Calls made in the step.
    public var calls: Double?
    /// The step's latency figures.
    public var latency: LatencyFigures
    /// Failed calls as a fraction of calls.
    public var errorRate: Double?
    /// `pass`, `fail`, `inconclusive` or `generator-limited`.
    public var verdict: String
    /// Why the step did not pass (may be empty).
    public var reason: String
}

/// The figures of a `loadgen capacity --json` result.
public struct CapacityReportData: Sendable, Equatable {
    /// The scenario name (empty when absent).
    public var scenario: String
    /// The endpoint URL.
    public var target: String?
    /// The SLA expressions, like `p99 < 100ms`.
    public var sla: [String]
    /// The highest rate that met the SLA.
    public var lastPass: Double?
    /// The lowest rate that missed it.
    public var firstFail: Double?
    /// Whether the last passing rate passed again when confirmed.
    public var confirmed: Bool?
    /// What limited the capacity, like `endpoint`.
    public var limitedBy: String?
    /// The measured steps in the order they ran.
    public var steps: [CapacityStep]

    init(_ root: JSONFields) throws(ReportInputError) {
        guard root.has("steps") || root.has("capacity") else {
            throw ReportInputError(root.file, "not a loadgen capacity result: no \"steps\" or \"capacity\"")
        }
        scenario = try root.string("scenario") ?? ""
        target = try root.string("target")
        sla = try root.strings("sla")
        let capacity = try root.object("capacity")
        lastPass = try capacity?.number("last_pass_rps")
        firstFail = try capacity?.number("first_fail_rps")
        confirmed = try capacity?.bool("confirmed")
        limitedBy = try capacity?.string("limited_by")
        steps = []
        for step in try root.objects("steps") {
            guard let rate = try step.number("rate") else {
                throw ReportInputError(root.file, "\(step.path): missing \"rate\"")
            }
            steps.append(
                CapacityStep(
                    rate: rate, phase: try step.string("phase") ?? "", achieved: try step.number("achieved_rps"),
                    durationSeconds: try step.number("duration_s"), calls: try step.number("calls"),
                    latency: try LatencyFigures(step.object("latency_ms")), errorRate: try step.number("error_rate"),
                    verdict: try step.string("verdict") ?? "", reason: try step.string("reason") ?? ""))
        }
    }
}

/// Typed reads of one JSON object's members; a member of the wrong type is an error naming the file and the
/// member's path, an absent or `null` member reads as `nil`.
struct JSONFields {
    let object: JSONObject
    let file: String
    /// The path of this object in the document, like `timeseries.points[3]` (empty at the root).
    let path: String

    init(_ object: JSONObject, file: String, path: String) {
        self.object = object
        self.file = file
        self.path = path
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func wrong(_ key: String, _ expected: String, _ value: JSONValue) -> ReportInputError {
        let shown = value.errorDescription.count > 40 ? String(value.errorDescription.prefix(40)) + "…" : value.errorDescription
        return ReportInputError(file, "\"\(name(key))\" must be \(expected), got \(shown)")
    }

    func string(_ key: String) throws(ReportInputError) -> String? {
        switch object[key] {
        case .none, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw wrong(key, "a string", other)
        }
    }

    /// A number; with `allowObject`, an object reads as `nil` (for fields that changed shape).
    func number(_ key: String, allowObject: Bool = false) throws(ReportInputError) -> Double? {
        switch object[key] {
        case .none, .null?: return nil
        case .number(let literal)?:
            guard let number = Double(literal), number.isFinite else { throw wrong(key, "a finite number", .number(literal)) }
            return number
        case .object? where allowObject: return nil
        case let other?: throw wrong(key, "a number", other)
        }
    }

    /// A whole number (exact, unlike `number`), at least 0 unless `allowNegative`.
    func integer(_ key: String, allowNegative: Bool = false) throws(ReportInputError) -> Int64? {
        switch object[key] {
        case .none, .null?: return nil
        case .number(let literal)?:
            guard let number = Int64(literal), allowNegative || number >= 0 else {
                throw wrong(key, allowNegative ? "an integer" : "an integer >= 0", .number(literal))
            }
            return number
        case let other?: throw wrong(key, "an integer", other)
        }
    }

    func bool(_ key: String) throws(ReportInputError) -> Bool? {
        switch object[key] {
        case .none, .null?: return nil
        case .bool(let flag)?: return flag
        case let other?: throw wrong(key, "true or false", other)
        }
    }

    /// A nested object; with `orNumber`, a number reads as `nil`.
    func object(_ key: String, orNumber: Bool = false) throws(ReportInputError) -> JSONFields? {
        switch object[key] {
        case .none, .null?: return nil
        case .object(let nested)?: return JSONFields(nested, file: file, path: name(key))
        case .number? where orNumber: return nil
        case let other?: throw wrong(key, "an object", other)
        }
    }

    private func array(_ key: String) throws(ReportInputError) -> [JSONValue] {
        switch object[key] {
        case .none, .null?: return []
        case .array(let items)?: return items
        case let other?: throw wrong(key, "an array", other)
        }
    }

    func objects(_ key: String) throws(ReportInputError) -> [JSONFields] {
        var result: [JSONFields] = []
        for (index, item) in try array(key).enumerated() {
            guard case .object(let nested) = item else { throw wrong("\(key)[\(index)]", "an object", item) }
            result.append(JSONFields(nested, file: file, path: name("\(key)[\(index)]")))
        }
        return result
    }

    func numbers(_ key: String) throws(ReportInputError) -> [Double] {
        var result: [Double] = []
        for (index, item) in try array(key).enumerated() {
            guard case .number(let literal) = item, let value = Double(literal) else {
                throw wrong("\(key)[\(index)]", "a number", item)
            }
            result.append(value)
        }
        return result
    }

    func strings(_ key: String) throws(ReportInputError) -> [String] {
        var result: [String] = []
        for (index, item) in try array(key).enumerated() {
            guard case .string(let text) = item else { throw wrong("\(key)[\(index)]", "a string", item) }
            result.append(text)
        }
        return result
    }

    /// `[[a, b], ...]` as number pairs.
    func pairs(_ key: String) throws(ReportInputError) -> [HistogramCount] {
        var result: [HistogramCount] = []
        for (index, item) in try array(key).enumerated() {
            guard case .array(let pair) = item, pair.count == 2, case .number(let a) = pair[0],
                case .number(let b) = pair[1], let value = Double(a), let count = Double(b), count >= 0
            else { throw wrong("\(key)[\(index)]", "a [value, count] pair of numbers", item) }
            result.append(HistogramCount(value: value, count: count))
        }
        return result
    }
}
