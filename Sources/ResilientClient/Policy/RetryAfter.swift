import HTTP1

/// A parsed `Retry-After` header (RFC 9110 §10.2.3): either a number of seconds or an HTTP date.
///
/// ```swift
/// RetryAfter(headerValue: "2")                               // .seconds(2)
/// RetryAfter(headerValue: "Sun, 06 Nov 1994 08:49:37 GMT")   // .date(secondsSince1970: 784111777)
/// RetryAfter(headerValue: "soon")                            // nil: ignored, the backoff applies
/// ```
///
/// A value that is neither form is ignored (`nil`), as RFC 9110 allows. How long the client waits because
/// of it is the policy's (``RetryPolicy/retryAfterCap``, the call's deadline): see
/// ``delay(nowSecondsSince1970:cap:)``.
public enum RetryAfter: Sendable, Equatable, Hashable {
    /// `delay-seconds`: a non-negative decimal integer.
    case seconds(Int64)
    /// `HTTP-date`, as seconds since 1970-01-01T00:00:00Z.
    case date(secondsSince1970: Int64)

    /// Parses a header value; surrounding whitespace is ignored. `nil` if it is neither form.
    ///
    /// - Parameters:
    ///   - headerValue: the field value.
    ///   - nowSecondsSince1970: the wall clock now; only used to place an obsolete RFC 850 date's
    ///     two-digit year (RFC 9110 §5.6.7): the year is taken from the 100-year window that ends
    ///     50 years after now. Defaults to 0 (1970).
    public init?(headerValue: String, nowSecondsSince1970: Double = 0) {
        let trimmed = headerValue.trimmingASCIIWhitespace()
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Very long digit strings mean "a very long time": saturate instead of rejecting.
            self = .seconds(Int64(trimmed) ?? Int64.max)
        } else if let date = HTTPDate.parse(trimmed, nowSecondsSince1970: nowSecondsSince1970) {
            self = .date(secondsSince1970: date)
        } else {
            return nil
        }
    }

    /// The delay this header asks for, bounded to `0 ... cap`. A date in the past means zero.
    ///
    /// - Parameters:
    ///   - nowSecondsSince1970: the wall clock now (only used for the date form).
    ///   - cap: the longest delay the client accepts (the backoff cap).
    public func delay(nowSecondsSince1970: Double, cap: Duration) -> Duration {
        let cap = max(cap, .zero)
        switch self {
        case .seconds(let seconds):
            return seconds >= cap.components.seconds + 1 ? cap : min(cap, .seconds(seconds))
        case .date(let date):
            let remaining = (Double(date) - nowSecondsSince1970) * 1e9
            return min(cap, Duration.clampedNanoseconds(remaining))
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and horizontal tabs.
    func trimmingASCIIWhitespace() -> String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
