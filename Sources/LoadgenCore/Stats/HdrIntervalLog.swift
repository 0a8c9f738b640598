/// A writer of HdrHistogram interval logs, the text form that Java's `HistogramLogWriter` writes and
/// `HistogramLogReader`, `HistogramLogProcessor`, HistogramLogAnalyzer and Python's `hdrh.log` read:
///
///     #[Histogram log format version 1.3]
///     #[StartTime: 1700000000.000 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]
///     #[BaseTime: 1700000000.000 (seconds since epoch)]
///     #[MaxValueDivisor: 1000.000]
///     "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
///     0.000,1.000,12.345,HISTFAAAA...
///
/// Interval start times are seconds since `startTime`; `BaseTime` (equal to `StartTime`) says so
/// explicitly, so readers add it to get epoch times. The max column is the interval's exact largest value
/// divided by `maxValueDivisor` (Java's writer divides by a `maxValueUnitRatio` too, 1e6 by default for
/// nanoseconds; it does not record it, the Rust crate writes the `#[MaxValueDivisor: ...]` comment that is
/// written here). It is only for humans and for `HdrIntervalLog.read(_:)`: the encoded histogram carries
/// the values. loadgen records microseconds, so the default divisor 1000 shows milliseconds.
///
/// Only the text is kept, not the histograms, so a long run's log stays small.
public struct HdrIntervalLog: Sendable {
    /// The legend line of the interval columns.
    public static let legend =
        #""StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram""#

    /// Epoch seconds that interval start times are relative to.
    public let startTime: Double
    /// What interval maxima are divided by in the max column.
    public let maxValueDivisor: Double
    /// The log so far: the header, then one line per appended interval (each line ends with "\n").
    public private(set) var text: String

    /// Starts a log: optional comment lines (without the leading "#"; line breaks start new comment
    /// lines), the format version, `StartTime`, `BaseTime`, `MaxValueDivisor` and the legend.
    /// - Parameters:
    ///   - startTime: the start of the run, in seconds since the epoch.
    ///   - maxValueDivisor: the divisor of the max column (1000: microseconds shown as milliseconds).
    ///   - comments: comment lines written first, for example `["[Logged with loadgen]"]`.
    public init(startTime: Double, maxValueDivisor: Double = 1000, comments: [String] = []) {
        self.startTime = startTime
        self.maxValueDivisor = maxValueDivisor
        var header = ""
        for comment in comments {
            for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { header += "#\(line)\n" }
        }
        header += "#[Histogram log format version 1.3]\n"
        let startText = Self.fixed3(startTime)
        header += "#[StartTime: \(startText) (seconds since epoch), \(Self.humanDate(epochSeconds: startTime))]\n"
        header += "#[BaseTime: \(startText) (seconds since epoch)]\n"
        header += "#[MaxValueDivisor: \(Self.fixed3(maxValueDivisor))]\n"
        header += Self.legend + "\n"
        text = header
    }

    /// Appends one interval line: `[Tag=<tag>,]start,length,max,<base64 compressed V2 histogram>`.
    /// - Parameters:
    ///   - start: the interval's start in seconds since `startTime`.
    ///   - length: the interval's length in seconds.
    ///   - histogram: the values recorded in the interval.
    ///   - tag: an optional tag; commas, spaces and line breaks (not allowed in tags) become "_".
    public mutating func append(start: Double, length: Double, histogram: Histogram, tag: String? = nil) {
        var line = ""
        if let tag {
            let cleaned = String(tag.map { ",\r\n ".contains($0) ? "_" : $0 })
            line += "Tag=\(cleaned),"
        }
        let maxColumn = Double(histogram.maxValue ?? 0) / maxValueDivisor
        line += "\(Self.fixed3(start)),\(Self.fixed3(length)),\(Self.fixed3(maxColumn)),\(histogram.hdrBase64)\n"
        text += line
    }

    // MARK: Formatting

    /// `value` with exactly three decimals (as Java's `%.3f`, independent of any locale).
    static func fixed3(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Infinity" : "Infinity") }
        let scaled = (value * 1000).rounded()
        guard scaled.magnitude < 9e18 else { return "\(value)" }
        let thousandths = Int64(scaled)
        let sign = thousandths < 0 ? "-" : ""
        let magnitude = thousandths.magnitude
        let fraction = String(magnitude % 1000)
        return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    /// A date in the form of Java's `Date.toString()`, in UTC: "Tue Nov 14 22:13:20 UTC 2023".
    static func humanDate(epochSeconds: Double) -> String {
        guard epochSeconds.isFinite, epochSeconds.magnitude < 1e14 else { return "unknown date" }
        let seconds = Int64(epochSeconds.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        // Civil date from days since 1970-01-01 (proleptic Gregorian calendar, eras of 400 years).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153  // 0 = March
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let time = "\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))"
        return "\(weekday) \(months[Int(month - 1)]) \(two(day)) \(time) UTC \(year)"
    }
}
