/// A `--shard` or `--start-at` value that cannot be used; the message says what was wrong.
public struct ShardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
