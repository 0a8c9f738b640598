import Foundation

extension HdrIntervalLog {
    /// Appends one line per interval of `timeline` (empty intervals too, so the log's times stay contiguous),
    /// starting `offset` seconds after the log's start time, each tagged `tag` when given.
    public mutating func append(_ timeline: Timeline, offset: Double, tag: String? = nil) {
        let length = Double(timeline.intervalNanoseconds) / 1e9
        for (index, interval) in timeline.intervals.enumerated() {
            append(
                start: offset + Double(index) * length, length: length,
                histogram: interval.latency.unpacked(like: Timeline.layout), tag: tag)
        }
    }
}

extension HdrIntervalLog {
    /// The interval log of a run's (or a merged run's) latencies from the intended start, one line per
    /// interval of its time series, `command` naming what wrote it in the first comment.
    public static func latencies(of result: RunResult, command: String) -> HdrIntervalLog {
        var log = HdrIntervalLog(
            startTime: result.startTime ?? Date().timeIntervalSince1970,
            comments: ["\(command): \(result.scenarioName), \(result.loadDescription), latency from the intended start in µs"])
        log.append(result.timeline, offset: 0)
        return log
    }
}
