#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#elseif canImport(Android)
    import Android
#elseif canImport(ucrt)
    import ucrt
#endif
import Synchronization

/// RFC 9110 §5.6.7 IMF-fixdate formatting (`Sun, 06 Nov 1994 08:49:37 GMT`) with a process-wide cache that
/// re-formats at most once per second.
public enum HTTPDate {
    /// Formats a time (seconds since 1970-01-01T00:00:00Z) as an IMF-fixdate.
    public static func imfFixdate(secondsSince1970: Int) -> String {
        String(decoding: bytes(secondsSince1970: secondsSince1970), as: UTF8.self)
    }

    /// The current time as an IMF-fixdate (from the cache).
    public static func now() -> String {
        var out: [UInt8] = []
        appendCurrent(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private struct Cache {
        var second = Int.min
        var text: [UInt8] = []
    }

    private static let cache = Mutex(Cache())

    /// Appends the current date's 29 bytes, formatting only when the second changed since the last call.
    static func appendCurrent(to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 29))
        out.withUnsafeMutableBufferPointer { buffer in
            if let base = buffer.baseAddress { writeCurrent(to: base + start) }
        }
    }

    /// Writes the current date's 29 bytes at `destination`, formatting only when the second changed since the
    /// last call (the cache is shared by all threads behind a mutex held for a 29-byte copy).
    static func writeCurrent(to destination: UnsafeMutablePointer<UInt8>) {
        let now = Int(time(nil))
        cache.withLock { cache in
            if cache.second != now {
                cache.second = now
                cache.text = bytes(secondsSince1970: now)
            }
            cache.text.withUnsafeBufferPointer { text in
                if let source = text.baseAddress { destination.update(from: source, count: min(text.count, 29)) }
            }
        }
    }

    /// The 29 bytes of the IMF-fixdate for a time.
    static func bytes(secondsSince1970 t: Int) -> [UInt8] {
        let days = t >= 0 ? t / 86_400 : (t - 86_399) / 86_400
        let secondsOfDay = t - days * 86_400
        let weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday (4); 0 = Sunday
        // Civil date from day count (proleptic Gregorian), era-based.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)

        let dayNames: StaticString = "SunMonTueWedThuFriSat"
        let monthNames: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        var out: [UInt8] = []
        out.reserveCapacity(29)
        let d = dayNames.utf8Start
        out.append(d[weekday * 3])
        out.append(d[weekday * 3 + 1])
        out.append(d[weekday * 3 + 2])
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: " "))
        appendTwoDigits(&out, day)
        out.append(UInt8(ascii: " "))
        let m = monthNames.utf8Start
        out.append(m[(month - 1) * 3])
        out.append(m[(month - 1) * 3 + 1])
        out.append(m[(month - 1) * 3 + 2])
        out.append(UInt8(ascii: " "))
        let y = min(max(year, 0), 9999)
        appendTwoDigits(&out, y / 100)
        appendTwoDigits(&out, y % 100)
        out.append(UInt8(ascii: " "))
        appendTwoDigits(&out, secondsOfDay / 3600)
        out.append(UInt8(ascii: ":"))
        appendTwoDigits(&out, secondsOfDay / 60 % 60)
        out.append(UInt8(ascii: ":"))
        appendTwoDigits(&out, secondsOfDay % 60)
        out.append(contentsOf: " GMT".utf8)
        return out
    }

    private static func appendTwoDigits(_ out: inout [UInt8], _ value: Int) {
        out.append(UInt8(ascii: "0") + UInt8(value / 10))
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
