extension HdrIntervalLog {
    /// One interval line of a log.
    public struct Interval: Sendable, Equatable {
        /// The line's tag (`Tag=...`), if any.
        public var tag: String?
        /// The start timestamp as written (seconds; relative to `Contents.baseTime` when there is one).
        public var start: Double
        /// The interval's length in seconds.
        public var length: Double
        /// The max column as written (the maximum divided by the log's max value divisor).
        public var maxColumn: Double
        /// The decoded histogram.
        public var histogram: Histogram

        /// Creates an interval.
        public init(tag: String?, start: Double, length: Double, maxColumn: Double, histogram: Histogram) {
            self.tag = tag
            self.start = start
            self.length = length
            self.maxColumn = maxColumn
            self.histogram = histogram
        }
    }

    /// What `read(_:)` found in a log.
    public struct Contents: Sendable, Equatable {
        /// `#[StartTime: ...]` in epoch seconds, if present (the last one).
        public var startTime: Double?
        /// `#[BaseTime: ...]` in epoch seconds, if present (the last one).
        public var baseTime: Double?
        /// `#[MaxValueDivisor: ...]`, if present.
        public var maxValueDivisor: Double?
        /// The interval lines in log order.
        public var intervals: [Interval] = []

        /// Creates empty contents.
        public init(startTime: Double? = nil, baseTime: Double? = nil, maxValueDivisor: Double? = nil) {
            self.startTime = startTime
            self.baseTime = baseTime
            self.maxValueDivisor = maxValueDivisor
        }

        /// The interval's start in epoch seconds, as HdrHistogram's readers compute it: timestamp plus
        /// `BaseTime`; without a BaseTime, plus `StartTime` when the timestamp is more than a year before
        /// it (then timestamps are relative), else the timestamp itself.
        public func absoluteStart(of interval: Interval) -> Double {
            if let baseTime { return interval.start + baseTime }
            if let startTime, interval.start < startTime - 365 * 24 * 3600 { return interval.start + startTime }
            return interval.start
        }
    }

    /// Reads an interval log (ours or HdrHistogram's): comment lines (`#...`), the legend and blank lines
    /// are skipped; `StartTime`, `BaseTime` and `MaxValueDivisor` comments are kept; every other line must
    /// be an interval, `[Tag=<tag>,]start,length,max,<base64 V2 histogram>`.
    ///
    /// When the log has a `MaxValueDivisor`, an interval's max column times the divisor that lies in the
    /// bucket of the histogram's largest count replaces the decoded (bucket-precise) `maxValue`, so our own
    /// logs give back the exact maxima and histograms equal to the ones appended (except `clampedCount`).
    public static func read(_ text: String) throws(HdrIntervalLogError) -> Contents {
        var contents = Contents()
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.hasPrefix("#") {
                if let value = headerNumber(line, "#[StartTime:") {
                    contents.startTime = value
                } else if let value = headerNumber(line, "#[BaseTime:") {
                    contents.baseTime = value
                } else if let value = headerNumber(line, "#[MaxValueDivisor:") {
                    contents.maxValueDivisor = value
                }
                continue
            }
            if line.hasPrefix("\"StartTimestamp\"") { continue }
            let interval = try parseInterval(line, number: lineNumber, maxValueDivisor: contents.maxValueDivisor)
            contents.intervals.append(interval)
        }
        return contents
    }

    /// The number after `prefix` (up to a space or "]"), when `line` starts with `prefix`.
    private static func headerNumber(_ line: Substring, _ prefix: String) -> Double? {
        guard line.hasPrefix(prefix) else { return nil }
        let rest = line.dropFirst(prefix.count).drop(while: { $0 == " " })
        return Double(rest.prefix(while: { $0 != " " && $0 != "]" }))
    }

    private static func parseInterval(_ line: Substring, number: Int, maxValueDivisor: Double?)
        throws(HdrIntervalLogError) -> Interval
    {
        var rest = line
        var tag: String?
        if rest.hasPrefix("Tag=") {
            guard let comma = rest.firstIndex(of: ",") else {
                throw HdrIntervalLogError(line: number, reason: "a tag without the interval after it")
            }
            tag = String(rest[rest.index(rest.startIndex, offsetBy: 4)..<comma])
            rest = rest[rest.index(after: comma)...]
        }
        let fields = rest.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 4 else {
            throw HdrIntervalLogError(
                line: number, reason: "expected start,length,max,histogram; found \(fields.count) fields")
        }
        guard let start = Double(fields[0]), let length = Double(fields[1]), let maxColumn = Double(fields[2]) else {
            throw HdrIntervalLogError(line: number, reason: "start, length and max must be numbers")
        }
        var histogram: Histogram
        do {
            histogram = try Histogram(hdrBase64: String(fields[3]))
        } catch {
            throw HdrIntervalLogError(line: number, reason: "\(error)")
        }
        if let maxValueDivisor, let decodedMax = histogram.maxValue {
            let scaled = (maxColumn * maxValueDivisor).rounded()
            if scaled.isFinite, scaled >= 0, scaled <= Double(decodedMax) {
                let exact = Int64(scaled)
                if histogram.lowestEquivalentValue(exact) == histogram.lowestEquivalentValue(decodedMax) {
                    histogram.maxValue = exact
                }
            }
        }
        return Interval(tag: tag, start: start, length: length, maxColumn: maxColumn, histogram: histogram)
    }
}
