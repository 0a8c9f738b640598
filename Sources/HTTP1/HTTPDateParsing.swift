/// Parser for `HTTP-date` (RFC 9110 §5.6.7): the preferred IMF-fixdate and the two obsolete forms.
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
/// - RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year that would lie more than 50 years
///   after "now" is read as the most recent past year with those digits, as §5.6.7 requires)
/// - asctime: `Sun Nov  6 08:49:37 1994`
///
/// The day name is checked for form only (RFC 9110 lets recipients ignore a wrong weekday).
extension HTTPDate {
    private static let parsedMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let parsedShortDays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let parsedLongDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    /// Seconds since 1970-01-01T00:00:00Z for a valid HTTP-date, else `nil`.
    ///
    /// - Parameter nowSecondsSince1970: the wall clock now, used only for RFC 850 two-digit years.
    public static func parse(_ text: String, nowSecondsSince1970: Double = 0) -> Int64? {
        let bytes = Array(text.utf8)
        if let commaIndex = bytes.firstIndex(of: UInt8(ascii: ",")) {
            let dayName = String(decoding: bytes[..<commaIndex], as: UTF8.self)
            let rest = Array(bytes[(commaIndex + 1)...])
            if parsedShortDays.contains(dayName) { return parseIMFFixdate(rest) }
            if parsedLongDays.contains(dayName) { return parseRFC850(rest, nowSecondsSince1970) }
            return nil
        }
        return parseAsctime(bytes)
    }

    /// `␠DD␠Mon␠YYYY␠HH:MM:SS␠GMT`
    private static func parseIMFFixdate(_ b: [UInt8]) -> Int64? {
        guard b.count == 25, b[0] == 0x20, b[3] == 0x20, b[7] == 0x20, b[12] == 0x20, b[21] == 0x20,
            String(decoding: b[22...], as: UTF8.self) == "GMT",
            let day = digits(b, 1, 2), let month = month(b, 4), let year = digits(b, 8, 4),
            let time = timeOfDay(b, 13)
        else { return nil }
        return epochSeconds(year: year, month: month, day: day, time: time)
    }

    /// `␠DD-Mon-YY␠HH:MM:SS␠GMT`
    private static func parseRFC850(_ b: [UInt8], _ now: Double) -> Int64? {
        guard b.count == 23, b[0] == 0x20, b[3] == 0x2D, b[7] == 0x2D, b[10] == 0x20, b[19] == 0x20,
            String(decoding: b[20...], as: UTF8.self) == "GMT",
            let day = digits(b, 1, 2), let month = month(b, 4), let yy = digits(b, 8, 2),
            let time = timeOfDay(b, 11)
        else { return nil }
        // The year with digits `yy` in the current century, moved back a century if it is more than
        // 50 years ahead of now (and forward one if it is 50 or more years behind, so 2070 reads "70"
        // as 2070 rather than 1970).
        let nowYear = 1970 + Int((now / 31_556_952).rounded(.down))
        var year = (nowYear / 100) * 100 + yy
        if year > nowYear + 50 { year -= 100 } else if year <= nowYear - 50 { year += 100 }
        return epochSeconds(year: year, month: month, day: day, time: time)
    }

    /// `Mon␠DD␠HH:MM:SS␠YYYY` after the day name, where a one-digit day is padded with a space.
    private static func parseAsctime(_ b: [UInt8]) -> Int64? {
        guard b.count == 24, b[3] == 0x20, b[7] == 0x20, b[10] == 0x20, b[19] == 0x20,
            parsedShortDays.contains(String(decoding: b[0..<3], as: UTF8.self)),
            let month = month(b, 4), let time = timeOfDay(b, 11), let year = digits(b, 20, 4)
        else { return nil }
        let day: Int
        if b[8] == 0x20, let single = digits(b, 9, 1) {
            day = single
        } else if let double = digits(b, 8, 2) {
            day = double
        } else {
            return nil
        }
        return epochSeconds(year: year, month: month, day: day, time: time)
    }

    private static func digits(_ b: [UInt8], _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for i in start..<(start + count) {
            guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
            value = value * 10 + Int(b[i] - 0x30)
        }
        return value
    }

    private static func month(_ b: [UInt8], _ start: Int) -> Int? {
        let name = String(decoding: b[start..<(start + 3)], as: UTF8.self)
        return parsedMonths.firstIndex(of: name).map { $0 + 1 }
    }

    /// `HH:MM:SS` at `start`, as seconds into the day (leap second 60 accepted, as RFC 5322 allows).
    private static func timeOfDay(_ b: [UInt8], _ start: Int) -> Int? {
        guard b[start + 2] == 0x3A, b[start + 5] == 0x3A, let h = digits(b, start, 2),
            let m = digits(b, start + 3, 2), let s = digits(b, start + 6, 2), h < 24, m < 60, s <= 60
        else { return nil }
        return h * 3600 + m * 60 + s
    }

    /// Days-from-civil (Howard Hinnant's algorithm) for the proleptic Gregorian calendar.
    private static func epochSeconds(year: Int, month: Int, day: Int, time: Int) -> Int64? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(days) * 86_400 + Int64(time)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
