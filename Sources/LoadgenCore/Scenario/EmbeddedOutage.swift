/// An outage of the embedded endpoint (`target.embedded.outage`): from `start` after the endpoint started,
/// for `duration`, every route answers 503, with `Retry-After: retryAfter` when set. The endpoint's
/// `--outage START:DURATION` and `--outage-retry-after S`.
public struct EmbeddedOutage: Sendable, Equatable {
    /// When the outage starts, from the endpoint's start.
    public var start: DurationValue
    /// How long it lasts.
    public var duration: DurationValue
    /// The `Retry-After` seconds on the outage's 503 answers (`nil`: the endpoint's default).
    public var retryAfter: Int?

    /// Creates an outage.
    public init(start: DurationValue, duration: DurationValue, retryAfter: Int? = nil) {
        self.start = start
        self.duration = duration
        self.retryAfter = retryAfter
    }

    /// The endpoint's flags for this outage (times in seconds).
    var commandLineArguments: [String] {
        var arguments = ["--outage", "\(formatNumber(start.seconds, digits: 6)):\(formatNumber(duration.seconds, digits: 6))"]
        if let retryAfter { arguments += ["--outage-retry-after", String(retryAfter)] }
        return arguments
    }
}
