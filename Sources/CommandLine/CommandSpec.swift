/// Declares one option (a flag that takes a value, or a boolean switch) of a command.
///
/// Options are written `--name value`, `--name=value`, `-s value`, `-svalue` or, for switches, `--name` and
/// `-s` (switches may be grouped: `-qv`).
public struct OptionSpec: Sendable, Equatable {
    /// Long name without the leading dashes, e.g. `"rate"` for `--rate`.
    public var name: String
    /// Optional one-letter short name, e.g. `"r"` for `-r`.
    public var short: Character?
    /// Placeholder shown in help for the value (`"R"` in `--rate R`); `nil` makes this a boolean switch.
    public var valueName: String?
    /// One-line help text.
    public var help: String
    /// Whether the option may be given more than once (all values are kept, in order).
    public var repeatable: Bool
    /// Default shown in help (`"(default: 8000)"`); informational only.
    public var defaultDescription: String?

    /// Creates an option that takes a value.
    public static func value(
        _ name: String, short: Character? = nil, valueName: String, help: String, repeatable: Bool = false,
        defaultDescription: String? = nil
    ) -> OptionSpec {
        OptionSpec(
            name: name, short: short, valueName: valueName, help: help, repeatable: repeatable,
            defaultDescription: defaultDescription)
    }

    /// Creates a boolean switch.
    public static func flag(_ name: String, short: Character? = nil, help: String) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: nil, help: help, repeatable: true, defaultDescription: nil)
    }

    /// Whether the option takes a value.
    public var takesValue: Bool { valueName != nil }
}

/// Declares one positional argument of a command.
public struct PositionalSpec: Sendable, Equatable {
    /// Name shown in usage and errors, e.g. `"SCENARIO"`.
    public var name: String
    /// One-line help text.
    public var help: String
    /// Whether the argument may be omitted.
    public var optional: Bool
    /// Whether the argument takes every remaining positional value (only valid for the last positional).
    public var variadic: Bool

    /// Creates a positional argument.
    public init(_ name: String, help: String, optional: Bool = false, variadic: Bool = false) {
        self.name = name
        self.help = help
        self.optional = optional
        self.variadic = variadic
    }
}

/// Declares a command: its options, positional arguments and subcommands. A command with subcommands
/// dispatches on its first positional word; help is generated from the declaration.
public struct CommandSpec: Sendable, Equatable {
    /// The command's name (the executable name for the root command).
    public var name: String
    /// One-line summary shown in the parent's command list and at the top of help.
    public var abstract: String
    /// Longer text shown after the option list (exit codes, examples).
    public var discussion: String?
    /// The options this command accepts (`--help` is implicit).
    public var options: [OptionSpec]
    /// Positional arguments, in order.
    public var positionals: [PositionalSpec]
    /// Subcommands; when non-empty the command itself takes no positionals.
    public var subcommands: [CommandSpec]
    /// When `true`, every argument after the command name is passed through unparsed (available as
    /// `ParsedArguments.positionals`), for commands that delegate to another parser.
    public var passthrough: Bool

    /// Creates a command.
    public init(
        name: String, abstract: String, discussion: String? = nil, options: [OptionSpec] = [],
        positionals: [PositionalSpec] = [], subcommands: [CommandSpec] = [], passthrough: Bool = false
    ) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.positionals = positionals
        self.subcommands = subcommands
        self.passthrough = passthrough
    }

    /// The option with long name `name`, if declared.
    public func option(named name: String) -> OptionSpec? { options.first { $0.name == name } }

    /// The option with short name `short`, if declared.
    public func option(short: Character) -> OptionSpec? { options.first { $0.short == short } }

    /// The subcommand named `name`, if declared.
    public func subcommand(named name: String) -> CommandSpec? { subcommands.first { $0.name == name } }
}
