import CommandLine

/// A non-negative length of time with nanosecond resolution, written as a number and a unit:
/// `250ns`, `100us` (or `µs`), `500ms`, `10s`, `1.5s`, `2m`, `1h`; compound forms like `1m30s` are accepted.
public struct DurationValue: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds.
    public var nanoseconds: Int64

    /// Creates a duration from nanoseconds.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Creates a duration from (possibly fractional) seconds.
    public init(seconds: Double) { self.nanoseconds = Int64((seconds * 1e9).rounded()) }

    /// Creates a duration from a `Swift.Duration` (negative values become zero, huge ones saturate).
    public init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let total = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        self.nanoseconds = total <= 0 ? 0 : total >= 9.2e18 ? Int64.max : Int64(total.rounded())
    }

    /// Milliseconds.
    public static func milliseconds(_ value: Int64) -> DurationValue { DurationValue(nanoseconds: value * 1_000_000) }

    /// Seconds.
    public static func seconds(_ value: Int64) -> DurationValue { DurationValue(nanoseconds: value * 1_000_000_000) }

    /// The duration in seconds.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// The duration in microseconds (the histogram unit), truncated.
    public var microseconds: Int64 { nanoseconds / 1000 }

    /// The equivalent `Swift.Duration`.
    public var duration: Duration { .nanoseconds(nanoseconds) }

    /// Orders by length.
    public static func < (lhs: DurationValue, rhs: DurationValue) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Parses `text` (see the type's documentation) with the command lines' own parser (`DurationText`).
    /// Returns `nil` for anything else, including bare numbers, negative values and values longer than about
    /// 292 years.
    public init?(parsing text: String) {
        guard let nanoseconds = DurationText.nanoseconds(parsing: text) else { return nil }
        self.nanoseconds = nanoseconds
    }

    /// The shortest exact-ish form: `500ms`, `10s`, `1.5s`, `2m`, `1h`, `250us`, `0s`.
    public var description: String {
        let ns = nanoseconds
        if ns == 0 { return "0s" }
        if ns % 3_600_000_000_000 == 0 { return "\(ns / 3_600_000_000_000)h" }
        if ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
        if ns >= 1_000_000_000 { return formatNumber(Double(ns) / 1e9, digits: 3) + "s" }
        if ns >= 1_000_000 { return formatNumber(Double(ns) / 1e6, digits: 3) + "ms" }
        if ns >= 1000 { return formatNumber(Double(ns) / 1e3, digits: 3) + "us" }
        return "\(ns)ns"
    }
}

/// A request rate in requests per second, written `200`, `200/s`, `12000/m` (per minute) or `3600/h`.
public struct RateValue: Sendable, Hashable, CustomStringConvertible {
    /// Requests per second.
    public var perSecond: Double

    /// The largest rate a scenario or a flag may ask for: 10 million calls/s, far beyond what one machine can
    /// send, and small enough that every count and time derived from it fits in 64 bits.
    public static let maximum: Double = 10_000_000

    /// Creates a rate.
    public init(perSecond: Double) { self.perSecond = perSecond }

    /// Parses a rate; `nil` for anything else, including negative or non-finite numbers.
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        var number = Substring(trimmed)
        var divisor = 1.0
        if let slash = trimmed.firstIndex(of: "/") {
            number = trimmed[..<slash]
            switch trimmed[trimmed.index(after: slash)...].trimmingWhitespace() {
            case "s", "sec", "second": divisor = 1
            case "m", "min", "minute": divisor = 60
            case "h", "hour": divisor = 3600
            default: return nil
            }
        }
        guard let value = Double(number.trimmingWhitespace()), value.isFinite, value >= 0 else { return nil }
        self.perSecond = value / divisor
    }

    /// `200/s`, `0.5/s`.
    public var description: String { formatNumber(perSecond, digits: 3) + "/s" }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
