import EndpointSpec

/// One shard's result: the `--json` document of `loadgen run --shard K/N --start-at T0`, read back for
/// `loadgen merge`.
///
/// The document is the ordinary run result plus a `shard` object (`section(...)`) that makes it mergeable
/// without loss: `index`, `count`, `start_at` (T0, RFC 3339), `fingerprint` (`ScenarioFingerprint`),
/// `late_start` (arrivals missed because the shard was ready after T0), `late_by_s`, and `histograms`: the
/// run's five latency histograms (`latency`, `latency_ok`, `service_time`, `service_time_ok`,
/// `attempt_latency`) and each request name's successful-call latency (`latency_ok_by_name`), each as
/// `{"hdr": HdrHistogram V2 compressed base64, "min", "max", "clamped"}` (values in µs; `min`, `max` and
/// `clamped` are exact, which the V2 encoding does not carry). The counters are the run document's own
/// (`calls`, `not_sent`, `errors`, `by_name`...), and the time series its `timeseries` points (`hdr` and
/// `hdr_ok`, their exact extremes from `latency_ms` and `latency_ok_ms`; the count of values clamped at the
/// histogram's top, one hour, is not carried per interval).
public struct ShardResult: Sendable {
    /// The file name as given on the command line.
    public var file: String
    /// Which shard of how many.
    public var shard: Shard
    /// The run's common start.
    public var startAt: StartTime
    /// The scenario's fingerprint.
    public var fingerprint: String
    /// How late the shard was ready (0 when on time).
    public var lateBySeconds: Double
    /// Whether the shard's run was interrupted (Ctrl-C, SIGTERM, `--abort-on-fail`).
    public var interrupted: Bool
    /// The shard's result, with exact counters and histograms.
    public var result: RunResult
    /// The thresholds the shard was run with (judged on the merged result only).
    public var thresholds: [Threshold]

    /// The `shard` object of a shard's `--json` document.
    static func section(
        for result: RunResult, shard: Shard, startAt: StartTime, fingerprint: String, lateBySeconds: Double
    ) -> JSONValue {
        var section = JSONObject()
        section["index"] = .int(shard.index)
        section["count"] = .int(shard.count)
        section["start_at"] = .string(startAt.description)
        section["fingerprint"] = .string(fingerprint)
        section["late_start"] = .int(Int(result.notSent[.lateStart] ?? 0))
        section["late_by_s"] = .double(lateBySeconds, digits: 3)
        var histograms = JSONObject()
        for (name, path) in Self.histograms { histograms[name] = encode(result[keyPath: path]) }
        histograms["send_lag"] = encode(result.sendLag)
        histograms["latency_ok_by_name"] = .object(
            JSONObject(
                result.byName.map { group in
                    .init(key: group.name, value: encode(group.stats.latencyOk ?? Histogram.latency()))
                }))
        section["histograms"] = .object(histograms)
        return .object(section)
    }

    /// The run's histograms in the `shard.histograms` object.
    private static var histograms: [(String, WritableKeyPath<RunResult, Histogram>)] {
        [
            ("latency", \.latency), ("latency_ok", \.latencyOk), ("service_time", \.serviceTime),
            ("service_time_ok", \.serviceTimeOk), ("attempt_latency", \.attemptLatency),
        ]
    }

    private static func encode(_ histogram: Histogram) -> JSONValue {
        var object = JSONObject()
        object["hdr"] = .string(histogram.hdrBase64)
        object["min"] = histogram.minValue.map { .int(Int($0)) } ?? .null
        object["max"] = histogram.maxValue.map { .int(Int($0)) } ?? .null
        object["clamped"] = .int(Int(histogram.clampedCount))
        return .object(object)
    }

    /// Reads `path` (relative to `currentDirectory`); errors name the file and what is wrong in it.
    public static func load(path: String, currentDirectory: String) throws(ReportInputError) -> ShardResult {
        try parse(try ReportInput.read(path: path, currentDirectory: currentDirectory), file: path)
    }

    /// Parses a shard's `--json` document; `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReportInputError) -> ShardResult {
        let value: JSONValue
        do {
            value = try LoadgenJSON.parse(bytes)
        } catch {
            throw ReportInputError(file, error.description)
        }
        guard case .object(let object) = value else {
            throw ReportInputError(file, "not a shard result: expected a JSON object, got \(value.errorDescription)")
        }
        let root = JSONFields(object, file: file, path: "")
        guard try root.string("kind") ?? "run" == "run", let section = try root.object("shard") else {
            throw ReportInputError(
                file, "not a shard result: no \"shard\" object (write it with 'loadgen run --shard K/N --start-at T0 --json FILE')")
        }
        let index = try required(section, "index")
        let count = try required(section, "count")
        let startText = try section.string("start_at") ?? ""
        let shard: Shard
        let startAt: StartTime
        do {
            shard = try Shard(index: Int(clamping: index), count: Int(clamping: count))
            startAt = try StartTime(parsing: startText, now: 0)
        } catch {
            throw ReportInputError(file, "shard: \(error.message)")
        }
        guard !startText.hasPrefix("now") else { throw ReportInputError(file, "shard.start_at: expected an RFC 3339 time") }
        guard let fingerprint = try section.string("fingerprint"), !fingerprint.isEmpty else {
            throw ReportInputError(file, "shard: missing \"fingerprint\"")
        }
        var result = try runResult(root, histograms: try required(section, object: "histograms"))
        result.startTime = startAt.seconds
        let problems = result.accountingProblems()
        guard problems.isEmpty else {
            throw ReportInputError(file, "the shard's numbers do not add up: " + problems.joined(separator: "; "))
        }
        var thresholds: [Threshold] = []
        for item in try root.objects("thresholds") {
            let expression = try item.string("expression") ?? ""
            do {
                thresholds.append(try Threshold(parsing: expression))
            } catch {
                throw ReportInputError(file, "\(item.path).expression: \(error.message)")
            }
        }
        return ShardResult(
            file: file, shard: shard, startAt: startAt, fingerprint: fingerprint,
            lateBySeconds: try section.number("late_by_s") ?? 0,
            interrupted: root.has("interrupted") || root.has("stopped_early"), result: result, thresholds: thresholds)
    }

    // MARK: Reading the run document

    private static func required(_ fields: JSONFields, _ key: String) throws(ReportInputError) -> Int64 {
        guard let value = try fields.integer(key) else { throw missing(fields, key) }
        return value
    }

    private static func required(_ fields: JSONFields, object key: String) throws(ReportInputError) -> JSONFields {
        guard let value = try fields.object(key) else { throw missing(fields, key) }
        return value
    }

    private static func missing(_ fields: JSONFields, _ key: String) -> ReportInputError {
        ReportInputError(fields.file, "missing \"\(fields.path.isEmpty ? key : fields.path + "." + key)\"")
    }

    private static func runResult(_ root: JSONFields, histograms: JSONFields) throws(ReportInputError) -> RunResult {
        var result = RunResult(
            scenarioName: try root.string("scenario") ?? "", loadDescription: try root.string("load") ?? "",
            target: try root.string("target") ?? "")
        result.elapsedNanoseconds = Int64(((try root.number("duration_s") ?? 0) * 1e9).rounded())
        result.plannedNanoseconds = Int64(((try root.number("planned_duration_s") ?? 0) * 1e9).rounded())
        result.offeredRate = try root.number("offered_rps")
        result.calls = try required(root, "calls")
        result.ok = try required(root, "ok")
        result.failed = try required(root, "failed")
        result.attempts = try required(root, "attempts")
        result.budgetDenials = try root.integer("budget_denials") ?? 0
        result.pacedAttempts = try root.integer("paced_attempts") ?? 0
        result.warmupCalls = try root.integer("warmup_calls") ?? 0
        let notSent = try required(try required(root, object: "not_sent"), object: "by_reason")
        for pair in notSent.object.pairs {
            result.notSent[NotSentReason(rawValue: pair.key)] = try required(notSent, pair.key)
        }
        let errors = try required(root, object: "errors")
        result.attemptErrors = try errorCounts(try required(errors, object: "attempts"))
        result.callFailures = try errorCounts(try required(errors, object: "calls"))
        for (name, path) in Self.histograms {
            result[keyPath: path] = try histogram(try required(histograms, object: name))
        }
        // Optional: shards written before loadgen measured it have none (their merge shows it empty).
        if let sendLag = try histograms.object("send_lag") { result.sendLag = try histogram(sendLag) }
        let byNameHistograms = try histograms.object("latency_ok_by_name")
        if let byName = try root.object("by_name") {
            for pair in byName.object.pairs {
                guard let group = try byName.object(pair.key) else { throw missing(byName, pair.key) }
                var stats = RequestStats()
                stats.calls = try required(group, "calls")
                stats.ok = try required(group, "ok")
                stats.failed = try required(group, "failed")
                stats.notSent = try required(group, "not_sent")
                if let fields = try byNameHistograms?.object(pair.key) {
                    let latency = try histogram(fields)
                    if latency.totalCount > 0 { stats.latencyOk = latency }
                }
                result.byRequest.append(stats)
                result.requestLabels.append(pair.key)
            }
        }
        result.timeline = try timeline(root)
        return result
    }

    private static func errorCounts(_ fields: JSONFields) throws(ReportInputError) -> ErrorCounts {
        var counts = ErrorCounts()
        if let byStatus = try fields.object("by_status") {
            for pair in byStatus.object.pairs {
                guard let status = Int(pair.key), (100...999).contains(status) else {
                    throw ReportInputError(fields.file, "\(byStatus.path): \"\(pair.key)\" is not an HTTP status")
                }
                counts.add(status: status, count: try required(byStatus, pair.key))
            }
        }
        if let byKind = try fields.object("by_kind") {
            for pair in byKind.object.pairs {
                counts.add(kind: ErrorKind(rawValue: pair.key), count: try required(byKind, pair.key))
            }
        }
        return counts
    }

    /// A histogram from `{"hdr", "min", "max", "clamped"}`, in the latency layout, its exact extremes restored.
    private static func histogram(_ fields: JSONFields) throws(ReportInputError) -> Histogram {
        guard let text = try fields.string("hdr") else { throw missing(fields, "hdr") }
        return try restoring(
            try decode(text, fields: fields), min: try fields.integer("min"), max: try fields.integer("max"),
            clamped: try fields.integer("clamped") ?? 0, fields: fields)
    }

    /// `histogram` (decoded from the V2 encoding, which keeps only buckets) with its exact extremes, which must
    /// lie in its first and last non-empty buckets.
    private static func restoring(
        _ histogram: Histogram, min minimum: Int64?, max maximum: Int64?, clamped: Int64, fields: JSONFields
    ) throws(ReportInputError) -> Histogram {
        guard histogram.totalCount > 0 else { return histogram }
        guard let minimum, let maximum else {
            throw ReportInputError(fields.file, "\(fields.path): the exact min and max are required when it has values")
        }
        guard minimum <= maximum, histogram.lowestEquivalentValue(minimum) == histogram.minValue,
            min(histogram.highestEquivalentValue(maximum), histogram.highestTrackableValue) == histogram.maxValue,
            (0...histogram.totalCount).contains(clamped)
        else {
            throw ReportInputError(
                fields.file,
                "\(fields.path): min \(minimum) / max \(maximum) do not match the histogram's lowest and highest values")
        }
        var exact = histogram
        exact.minValue = minimum
        exact.maxValue = maximum
        exact.clampedCount = clamped
        return exact
    }

    /// An interval's histogram from its `hdr` text and exact extremes from its figures (`latency_ms`: min
    /// and max in ms with three decimals, i.e. exact µs); the clamped count is not carried per interval.
    private static func interval(_ point: JSONFields, hdr key: String, figures: String) throws(ReportInputError)
        -> PackedHistogram
    {
        guard let text = try point.string(key) else { return PackedHistogram() }
        let histogram = try decode(text, fields: point)
        let figures = try point.object(figures)
        func microseconds(_ name: String) throws(ReportInputError) -> Int64? {
            try figures?.number(name).map { Int64(($0 * 1000).rounded()) }
        }
        return PackedHistogram(
            try restoring(histogram, min: try microseconds("min"), max: try microseconds("max"), clamped: 0, fields: point))
    }

    private static func decode(_ text: String, fields: JSONFields) throws(ReportInputError) -> Histogram {
        let histogram: Histogram
        do {
            histogram = try Histogram(hdrBase64: text)
        } catch {
            throw ReportInputError(fields.file, "\(fields.path): \(error)")
        }
        guard histogram.sameLayout(as: Timeline.layout) else {
            throw ReportInputError(
                fields.file,
                "\(fields.path): the histogram's layout (\(histogram.lowestDiscernibleValue)...\(histogram.highestTrackableValue), "
                    + "\(histogram.significantDigits) digits) is not loadgen's latency layout")
        }
        return histogram
    }

    private static func timeline(_ root: JSONFields) throws(ReportInputError) -> Timeline {
        guard let series = try root.object("timeseries") else { return Timeline(origin: 0) }
        let seconds = try series.number("interval_s") ?? 1
        guard seconds > 0, seconds <= 86_400 else {
            throw ReportInputError(root.file, "timeseries.interval_s must be > 0 and at most a day, got \(seconds)")
        }
        var intervals: [Timeline.Interval] = []
        for point in try series.objects("points") {
            guard let t = try point.number("t"), t >= 0 else { throw missing(point, "t") }
            let position = Int((t / seconds).rounded())
            guard position < Timeline.maxIntervals else {
                throw ReportInputError(root.file, "\(point.path): t = \(t) is past the longest time series")
            }
            if position >= intervals.count {
                intervals.append(contentsOf: repeatElement(Timeline.Interval(), count: position + 1 - intervals.count))
            }
            var interval = Timeline.Interval()
            interval.offered = try point.integer("offered") ?? 0
            interval.attempts = try point.integer("attempts") ?? 0
            interval.retries = try point.integer("retries") ?? 0
            interval.ok = try point.integer("ok") ?? 0
            interval.failed = try point.integer("failed") ?? 0
            interval.notSent = try point.integer("not_sent") ?? 0
            interval.status503 = try point.integer("status_503") ?? 0
            interval.latency = try Self.interval(point, hdr: "hdr", figures: "latency_ms")
            interval.latencyOk = try Self.interval(point, hdr: "hdr_ok", figures: "latency_ok_ms")
            intervals[position].add(interval)
        }
        return Timeline(
            intervals: intervals, interval: DurationValue(nanoseconds: Int64((seconds * 1e9).rounded())), origin: 0)
    }
}
