import Glibc

/// The common start of a sharded run's measured load (`T0`): a wall-clock instant, given as RFC 3339
/// (`2026-12-04T08:00:00Z`, `2026-12-04T09:00:00.5+01:00`) or relative to now (`now+10s`).
///
/// Every shard maps `T0` once onto its own monotonic clock, so shards on different machines start together
/// exactly as far as their wall clocks agree (NTP-synchronised nodes: typically within a few milliseconds).
public struct StartTime: Sendable, Hashable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Double

    /// An instant given in seconds since 1970.
    public init(seconds: Double) { self.seconds = seconds }

    /// Parses RFC 3339 (a `T`, `t` or space between date and time; a `Z`, `z` or `±hh:mm` offset; up to nine
    /// fraction digits) or `now+DURATION` (`now+10s`, `now+1m30s`) relative to `now` (seconds since 1970).
    public init(parsing text: String, now: Double) throws(ShardError) {
        if text.hasPrefix("now+") {
            guard let duration = DurationValue(parsing: String(text.dropFirst(4))) else {
                throw ShardError("expected now+DURATION like now+10s, got '\(text)'")
            }
            self.init(seconds: now + duration.seconds)
            return
        }
        guard let seconds = Self.rfc3339Seconds(Array(text.utf8)) else {
            throw ShardError(
                "expected an RFC 3339 time like 2026-12-04T08:00:00Z (with Z or an offset like +01:00) or now+10s, "
                    + "got '\(text)'")
        }
        self.init(seconds: seconds)
    }

    /// RFC 3339 in UTC with the fraction of a second down to microseconds, trailing zeros dropped:
    /// `2026-12-04T08:00:00Z`, `2026-12-04T08:00:00.25Z`.
    public var description: String {
        let micros = (seconds * 1e6).rounded()
        let whole = Int64((micros / 1e6).rounded(.down))
        var fraction = Int64(micros) - whole * 1_000_000
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        if fraction > 0 {
            var digits = 6
            while fraction % 10 == 0 {
                fraction /= 10
                digits -= 1
            }
            let body = String(fraction)
            text += "." + String(repeating: "0", count: digits - body.count) + body
        }
        return text + "Z"
    }

    /// `wallClock` (seconds since 1970) on the monotonic clock whose reading is `now` (nanoseconds) while the
    /// wall clock reads `wallNow`; 0 when that would be before the monotonic clock's origin.
    public static func monotonic(wallClock: Double, now: UInt64, wallNow: Double) -> UInt64 {
        let offset = (wallClock - wallNow) * 1e9
        let target = Double(now) + offset
        guard target > 0 else { return 0 }
        return target >= Double(UInt64.max / 2) ? UInt64.max / 2 : UInt64(target)
    }

    // MARK: RFC 3339

    private static func rfc3339Seconds(_ bytes: [UInt8]) -> Double? {
        var position = 0
        func number(_ digits: Int) -> Int64? {
            guard position + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<(position + digits)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            position += digits
            return value
        }
        func expect(_ allowed: [UInt8]) -> Bool {
            guard position < bytes.count, allowed.contains(bytes[position]) else { return false }
            position += 1
            return true
        }
        guard let year = number(4), expect([45]), let month = number(2), expect([45]), let day = number(2),
            expect([84, 116, 32]), let hour = number(2), expect([58]), let minute = number(2), expect([58]),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second <= 60
        else { return nil }
        var fraction = 0.0
        if position < bytes.count, bytes[position] == 46 {
            position += 1
            var scale = 0.1
            let start = position
            while position < bytes.count, (48...57).contains(bytes[position]) {
                fraction += Double(bytes[position] - 48) * scale
                scale /= 10
                position += 1
            }
            guard position > start, position - start <= 9 else { return nil }
        }
        var offset: Int64 = 0
        if expect([90, 122]) {
            offset = 0
        } else if position < bytes.count, bytes[position] == 43 || bytes[position] == 45 {
            let sign: Int64 = bytes[position] == 45 ? -1 : 1
            position += 1
            guard let hours = number(2), expect([58]), let minutes = number(2), hours < 24, minutes < 60 else {
                return nil
            }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard position == bytes.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Double(Int64(timegm(&parts)) - offset) + fraction
    }

    private static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
