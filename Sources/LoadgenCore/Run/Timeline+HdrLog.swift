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
