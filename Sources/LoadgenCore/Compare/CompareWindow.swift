/// A few consecutive 1 s intervals of one run, summed: the unit `loadgen compare` resamples.
struct CompareWindow: Sendable, Equatable {
    /// How long the window lasts.
    var seconds: Double = 0
    /// Calls due in the window.
    var offered: Double = 0
    /// Attempts sent in the window.
    var attempts: Double = 0
    /// Of `attempts`, the retries.
    var retries: Double = 0
    /// Calls that completed successfully.
    var ok: Double = 0
    /// Calls that completed without success.
    var failed: Double = 0
    /// Calls due that were never sent.
    var notSent: Double = 0
    /// The latencies of the calls completed in the window (µs, merged exactly from the intervals' `hdr`).
    var latency = PackedHistogram()
    /// The layout `latency` was packed from (`nil` while empty).
    var layout: Histogram?

    /// Calls that completed in the window.
    var completed: Double { ok + failed }

    /// Adds one interval.
    mutating func add(_ point: TimeseriesPoint, seconds interval: Double, histogram: Histogram?) {
        seconds += interval
        offered += point.offered ?? 0
        attempts += point.attempts ?? 0
        retries += point.retries ?? 0
        ok += point.ok ?? 0
        failed += point.failed ?? 0
        notSent += point.notSent ?? 0
        guard let histogram, histogram.totalCount > 0 else { return }
        if let layout, !layout.sameLayout(as: histogram) {
            // Another layout (a result written by another tool): re-record into ours.
            var converted = layout
            converted.reset()
            converted.merge(histogram)
            latency.merge(PackedHistogram(converted))
        } else {
            if layout == nil { layout = Self.emptyLayout(like: histogram) }
            latency.merge(PackedHistogram(histogram))
        }
    }

    /// Adds another window.
    mutating func add(_ other: CompareWindow) {
        seconds += other.seconds
        offered += other.offered
        attempts += other.attempts
        retries += other.retries
        ok += other.ok
        failed += other.failed
        notSent += other.notSent
        guard let theirs = other.layout, !other.latency.isEmpty else { return }
        if let layout, !layout.sameLayout(as: theirs) {
            var converted = layout
            converted.merge(other.latency.unpacked(like: theirs))
            latency.merge(PackedHistogram(converted))
        } else {
            if layout == nil { layout = theirs }
            latency.merge(other.latency)
        }
    }

    /// An empty histogram of `histogram`'s layout; loadgen's own layout is shared, not copied, by every window.
    private static func emptyLayout(like histogram: Histogram) -> Histogram {
        if histogram.sameLayout(as: Timeline.layout) { return Timeline.layout }
        var empty = histogram
        empty.reset()
        return empty
    }

    /// The latency histogram of the window (`nil` when no call completed in it).
    var histogram: Histogram? {
        guard let layout, !latency.isEmpty else { return nil }
        return latency.unpacked(like: layout)
    }

    /// The windows of one run: the intervals that start before the planned end (the drain after the last
    /// arrival is skipped; the warmup is never in the time series), grouped in time order until a window holds
    /// `minimumCalls` completed calls or spans `maximumSeconds`; a short trailing window joins the one before.
    /// Throws when a point's `hdr` is missing or not a histogram.
    static func windows(
        of run: RunReportData, file: String, minimumCalls: Int64, maximumSeconds: Double
    ) throws(ReportInputError) -> [CompareWindow] {
        guard let series = run.timeseries, !series.points.isEmpty else {
            throw ReportInputError(
                file, "no \"timeseries\" points: compare needs the per-second data written by 'loadgen run --json'")
        }
        let end = run.plannedDurationSeconds.flatMap { $0 > 0 ? $0 : nil } ?? .infinity
        var windows: [CompareWindow] = []
        var current = CompareWindow()
        for (index, point) in series.points.enumerated() where point.t < end - 1e-9 {
            var histogram: Histogram?
            let completed = (point.ok ?? 0) + (point.failed ?? 0)
            if let hdr = point.hdr {
                do {
                    histogram = try Histogram(hdrBase64: hdr)
                } catch {
                    throw ReportInputError(file, "\"timeseries.points[\(index)].hdr\" is not a histogram: \(error)")
                }
            } else if completed > 0 {
                throw ReportInputError(
                    file, "\"timeseries.points[\(index)]\" has no \"hdr\" latency histogram (written by an older "
                        + "loadgen?): compare needs it to merge windows exactly")
            }
            current.add(point, seconds: series.interval, histogram: histogram)
            if current.completed >= Double(minimumCalls) || current.seconds >= maximumSeconds - 1e-9 {
                windows.append(current)
                current = CompareWindow()
            }
        }
        if current.seconds > 0 {
            if windows.isEmpty { windows.append(current) } else { windows[windows.count - 1].add(current) }
        }
        return windows
    }
}
