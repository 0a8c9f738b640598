import CommandLine

/// A planned outage for testing callers (`--outage START:DURATION`): from `start` seconds after the endpoint
/// became ready, for `duration` seconds, every route call and `/ping` are answered 503 with `Retry-After`.
public struct OutageWindow: Sendable, Equatable {
    /// Seconds after the endpoint became ready at which the outage begins.
    public var start: Double
    /// Seconds the outage lasts.
    public var duration: Double

    /// Creates a window; both values are seconds.
    public init(start: Double, duration: Double) {
        self.start = start
        self.duration = duration
    }

    /// Whether the outage is on `elapsed` seconds after the endpoint became ready (start inclusive, end
    /// exclusive).
    public func contains(elapsed: Double) -> Bool { elapsed >= start && elapsed < start + duration }

    /// Parses `START:DURATION`, each a duration (`5s`, `1m30s`, `500ms`) or a bare number of seconds; nil for
    /// anything else (a missing part, a negative value, a zero duration).
    public static func parse(_ text: String) -> OutageWindow? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = seconds(parts[0]), let duration = seconds(parts[1]), duration > 0 else {
            return nil
        }
        return OutageWindow(start: start, duration: duration)
    }

    private static func seconds(_ text: Substring) -> Double? {
        if let nanos = DurationText.nanoseconds(parsing: String(text)) { return Double(nanos) / 1e9 }
        guard let number = Double(text), number.isFinite, number >= 0, number < 1e9 else { return nil }
        return number
    }
}
