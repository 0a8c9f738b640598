/// A line of an interval log that `HdrIntervalLog.read(_:)` cannot read.
public struct HdrIntervalLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line number.
    public var line: Int
    /// What is wrong with it.
    public var reason: String

    /// Creates an error for `line`.
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    /// A human-readable message.
    public var description: String { "interval log line \(line): \(reason)" }
}
