extension Threshold {
    /// The worst value of the metric over every window of `length` that lies inside the planned load, sliding
    /// by one interval of the run's time series; `nil` when no window has data for the metric. A run shorter
    /// than the window is one window. Calls that completed during the drain after the load are judged by the
    /// whole-run thresholds only. A window whose completed calls all failed is the worst a latency threshold
    /// on successful calls can see: it is returned at once, with a `nil` value.
    func worstWindow(of result: RunResult, length: DurationValue) -> (start: Double, value: Double?)? {
        let intervals = result.timeline.intervals
        guard !intervals.isEmpty else { return nil }
        let step = result.timeline.intervalNanoseconds
        let width = max(1, Int(length.nanoseconds / step))
        let planned = result.plannedNanoseconds > 0 ? Int((result.plannedNanoseconds + step - 1) / step) : intervals.count
        let span = min(max(planned, 1), intervals.count)
        var worst: (start: Double, value: Double)?
        for start in 0...max(0, span - width) {
            let window = intervals[start..<min(start + width, span)]
            let seconds = Double(window.count) * Double(step) / 1e9
            guard let value = value(over: window, seconds: seconds) else {
                if onlyFailures(window) { return (Double(start) * Double(step) / 1e9, nil) }
                continue
            }
            let worse = comparison == .less || comparison == .lessOrEqual ? value > (worst?.value ?? -.infinity)
                : value < (worst?.value ?? .infinity)
            if worse { worst = (Double(start) * Double(step) / 1e9, value) }
        }
        return worst.map { (start: $0.start, value: Optional($0.value)) }
    }

    /// Whether a latency threshold on successful calls sees, in `window`, completed calls but no success.
    func onlyFailures(_ window: ArraySlice<Timeline.Interval>) -> Bool {
        guard metric.isLatency, calls == .successful else { return false }
        return window.contains { $0.failed > 0 } && !window.contains { $0.ok > 0 }
    }

    /// The metric over the intervals of one window, `nil` when undefined there.
    func value(over window: ArraySlice<Timeline.Interval>, seconds: Double) -> Double? {
        func sum(_ field: (Timeline.Interval) -> Int64) -> Int64 { window.reduce(0) { $0 + field($1) } }
        switch metric {
        case .latencyPercentile, .latencyMax, .latencyMean:
            var merged = PackedHistogram()
            for interval in window { merged.merge(calls == .all ? interval.latency : interval.latencyOk) }
            guard !merged.isEmpty else { return nil }
            let latency = merged.unpacked(like: Timeline.layout)
            switch metric {
            case .latencyPercentile(let p): return Double(latency.value(atPercentile: p)) / 1000
            case .latencyMax: return Double(latency.maxValue ?? 0) / 1000
            default: return latency.mean / 1000
            }
        case .errorRate:
            let ended = sum(\.ok) + sum(\.failed) + sum(\.notSent)
            return ended > 0 ? Double(sum(\.failed) + sum(\.notSent)) / Double(ended) : nil
        case .goodput: return Double(sum(\.ok)) / seconds
        case .throughput: return Double(sum(\.attempts)) / seconds
        case .amplification:
            let first = sum(\.attempts) - sum(\.retries)
            return first > 0 ? Double(sum(\.attempts)) / Double(first) : nil
        }
    }
}

extension Threshold {
    /// For `--abort-on-fail`: the outcome of the one window that ends with interval `end` (exclusive) of
    /// `timeline`, judged during the run; `nil` when the window is not complete yet, has no data for the metric,
    /// or the threshold has no window.
    func latestWindow(of timeline: Timeline, endingAt end: Int) -> ThresholdOutcome? {
        guard let length = window else { return nil }
        let step = timeline.intervalNanoseconds
        let width = max(1, Int(length.nanoseconds / step))
        let intervals = timeline.intervals
        guard end >= width, end <= intervals.count else { return nil }
        let slice = intervals[(end - width)..<end]
        let start = Double(end - width) * Double(step) / 1e9
        guard let value = value(over: slice, seconds: Double(width) * Double(step) / 1e9) else {
            if onlyFailures(slice) {
                return ThresholdOutcome(threshold: self, observed: nil, pass: false, worstWindowStart: start)
            }
            return nil
        }
        return ThresholdOutcome(
            threshold: self, observed: value, pass: comparison.holds(value, limit), worstWindowStart: start)
    }
}
