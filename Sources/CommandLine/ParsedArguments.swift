/// The result of parsing a leaf command's arguments: option values by long name and positional values.
/// Typed accessors produce errors that name the flag and the bad value.
public struct ParsedArguments: Sendable, Equatable {
    /// The command path, e.g. `["loadgen", "run"]`.
    public var commandPath: [String]
    /// Values given for each option, by long name, in command-line order. A switch given `n` times has
    /// `n` empty-string entries.
    public var values: [String: [String]]
    /// Positional values in order (for passthrough commands: every argument after the command name).
    public var positionals: [String]
    /// Positional values by their declared name (variadic ones joined are not included; use `positionals`).
    public var named: [String: String]

    /// Creates parsed arguments (normally produced by `CommandParser`).
    public init(
        commandPath: [String], values: [String: [String]] = [:], positionals: [String] = [],
        named: [String: String] = [:]
    ) {
        self.commandPath = commandPath
        self.values = values
        self.positionals = positionals
        self.named = named
    }

    /// The subcommand that was selected (the last element of `commandPath`).
    public var command: String { commandPath.last ?? "" }

    /// Whether switch or option `name` was given at least once.
    public func flag(_ name: String) -> Bool { !(values[name] ?? []).isEmpty }

    /// The last value given for option `name`.
    public func string(_ name: String) -> String? { values[name]?.last }

    /// Every value given for repeatable option `name`, in order.
    public func strings(_ name: String) -> [String] { values[name] ?? [] }

    /// The positional argument declared as `name`.
    public func positional(_ name: String) -> String? { named[name] }

    /// Converts the last value of option `name` with `convert`; when it returns `nil`, throws
    /// `--name expects <expected>, got '<value>'`.
    public func value<T>(_ name: String, expected: String, _ convert: (String) -> T?) throws(CommandLineError) -> T? {
        guard let raw = string(name) else { return nil }
        guard let converted = convert(raw) else {
            throw CommandLineError("--\(name) expects \(expected), got '\(raw)'", commandPath: commandPath)
        }
        return converted
    }

    /// Converts every value of repeatable option `name`, failing on the first bad one.
    public func values<T>(_ name: String, expected: String, _ convert: (String) -> T?) throws(CommandLineError) -> [T] {
        var result: [T] = []
        for raw in strings(name) {
            guard let converted = convert(raw) else {
                throw CommandLineError("--\(name) expects \(expected), got '\(raw)'", commandPath: commandPath)
            }
            result.append(converted)
        }
        return result
    }

    /// An integer option, optionally restricted to `range` (the error message names the range).
    public func int(_ name: String, in range: ClosedRange<Int>? = nil) throws(CommandLineError) -> Int? {
        let expected: String
        if let range {
            if range.upperBound == Int.max {
                expected = range.lowerBound == 1 ? "a positive integer" : "an integer >= \(range.lowerBound)"
            } else {
                expected = "an integer from \(range.lowerBound) to \(range.upperBound)"
            }
        } else {
            expected = "an integer"
        }
        return try value(name, expected: expected) { raw in
            guard let number = Int(raw) else { return nil }
            if let range, !range.contains(number) { return nil }
            return number
        }
    }

    /// A finite number option. `positive` rejects zero and negatives; `range` restricts further.
    public func double(_ name: String, positive: Bool = false, in range: ClosedRange<Double>? = nil)
        throws(CommandLineError) -> Double?
    {
        var expected = positive ? "a positive number" : "a number"
        if let range { expected = "a number from \(format(range.lowerBound)) to \(format(range.upperBound))" }
        return try value(name, expected: expected) { raw in
            guard let number = Double(raw), number.isFinite else { return nil }
            if positive, number <= 0 { return nil }
            if let range, !range.contains(number) { return nil }
            return number
        }
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// What `CommandParser.parse` decided.
public enum ParseOutcome: Sendable, Equatable {
    /// Run the selected command with these arguments.
    case run(ParsedArguments)
    /// Print this help text to standard output and exit successfully.
    case help(String)
    /// Print this version string to standard output and exit successfully.
    case version(String)
}
