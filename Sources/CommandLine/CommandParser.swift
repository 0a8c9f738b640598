/// Parses command lines against a `CommandSpec` tree.
///
/// Rules: subcommands are selected by the first word; `--name value`, `--name=value`, `-s value`, `-svalue`;
/// grouped switches `-qv`; `--` ends option parsing; `-h`/`--help` anywhere prints that command's help
/// (`help <command>` works too); `--version` prints `version`. A non-repeatable option given twice is an error.
/// Unknown options and commands are rejected with a spelling suggestion.
public struct CommandParser: Sendable {
    /// The root command (its name is the executable name).
    public var root: CommandSpec
    /// Version string printed by `--version`; `nil` disables `--version`.
    public var version: String?

    /// Creates a parser.
    public init(root: CommandSpec, version: String? = nil) {
        self.root = root
        self.version = version
    }

    /// Parses `arguments` (without the executable name).
    public func parse(_ arguments: [String]) throws(CommandLineError) -> ParseOutcome {
        var spec = root
        var path = [root.name]
        var rest = arguments[...]
        while !spec.subcommands.isEmpty {
            guard let word = rest.first else {
                let names = spec.subcommands.map(\.name).joined(separator: ", ")
                throw CommandLineError("missing command (one of: \(names))", commandPath: path)
            }
            rest = rest.dropFirst()
            if word == "--help" || word == "-h" { return .help(HelpFormatter.help(for: spec, path: path)) }
            if word == "--version", let version { return .version(version) }
            if word == "help" {
                var target = spec
                var targetPath = path
                for name in rest {
                    guard let sub = target.subcommand(named: name) else {
                        throw unknownCommand(name, in: target, path: targetPath)
                    }
                    target = sub
                    targetPath.append(name)
                }
                return .help(HelpFormatter.help(for: target, path: targetPath))
            }
            if word.hasPrefix("-") {
                throw unknownOption(word, in: spec, path: path)
            }
            guard let sub = spec.subcommand(named: word) else { throw unknownCommand(word, in: spec, path: path) }
            spec = sub
            path.append(word)
        }
        if spec.passthrough {
            return .run(ParsedArguments(commandPath: path, positionals: Array(rest)))
        }
        return try parseLeaf(spec, path: path, Array(rest))
    }

    private func parseLeaf(_ spec: CommandSpec, path: [String], _ arguments: [String]) throws(CommandLineError)
        -> ParseOutcome
    {
        var values: [String: [String]] = [:]
        var positionals: [String] = []
        var index = 0
        var optionsEnded = false

        func record(_ option: OptionSpec, _ value: String) throws(CommandLineError) {
            if !option.repeatable, values[option.name] != nil {
                throw CommandLineError("--\(option.name) was given more than once", commandPath: path)
            }
            values[option.name, default: []].append(value)
        }

        /// The value for `option` from the next argument, or an error naming the flag.
        func nextValue(for option: OptionSpec, written: String) throws(CommandLineError) -> String {
            let next = index + 1
            guard next < arguments.count, !looksLikeOption(arguments[next], in: spec) else {
                throw CommandLineError(
                    "\(written) expects a value (\(option.valueName ?? "VALUE"))", commandPath: path)
            }
            index = next
            return arguments[next]
        }

        while index < arguments.count {
            let argument = arguments[index]
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
            } else if argument == "--" {
                optionsEnded = true
            } else if argument == "--help" || argument == "-h" {
                return .help(HelpFormatter.help(for: spec, path: path))
            } else if argument == "--version", let version, spec.option(named: "version") == nil {
                return .version(version)
            } else if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name: String
                let inline: String?
                if let equals = body.firstIndex(of: "=") {
                    name = String(body[..<equals])
                    inline = String(body[body.index(after: equals)...])
                } else {
                    name = String(body)
                    inline = nil
                }
                guard let option = spec.option(named: name) else {
                    throw unknownOption("--\(name)", in: spec, path: path)
                }
                if option.takesValue {
                    if let inline {
                        try record(option, inline)
                    } else {
                        try record(option, try nextValue(for: option, written: "--\(name)"))
                    }
                } else {
                    if inline != nil {
                        throw CommandLineError("--\(name) does not take a value", commandPath: path)
                    }
                    try record(option, "")
                }
            } else if isNegativeNumber(argument) {
                positionals.append(argument)
            } else {
                // Short options, possibly grouped: -qv, -r200, -r 200.
                var characters = argument.dropFirst()[...]
                while let character = characters.first {
                    characters = characters.dropFirst()
                    guard let option = spec.option(short: character) else {
                        throw unknownOption("-\(character)", in: spec, path: path)
                    }
                    if option.takesValue {
                        if !characters.isEmpty {
                            let value = characters.first == "=" ? characters.dropFirst() : characters
                            try record(option, String(value))
                        } else {
                            try record(option, try nextValue(for: option, written: "-\(character)"))
                        }
                        break
                    }
                    try record(option, "")
                }
            }
            index += 1
        }

        var named: [String: String] = [:]
        var remaining = positionals[...]
        for positional in spec.positionals {
            if positional.variadic {
                if remaining.isEmpty, !positional.optional {
                    throw CommandLineError(
                        "missing argument <\(positional.name)> (\(positional.help))", commandPath: path)
                }
                if let first = remaining.first { named[positional.name] = first }
                remaining = []
                break
            }
            guard let value = remaining.first else {
                if positional.optional { break }
                throw CommandLineError("missing argument <\(positional.name)> (\(positional.help))", commandPath: path)
            }
            named[positional.name] = value
            remaining = remaining.dropFirst()
        }
        if let extra = remaining.first {
            throw CommandLineError("unexpected argument '\(extra)'", commandPath: path)
        }
        return .run(ParsedArguments(commandPath: path, values: values, positionals: positionals, named: named))
    }

    private func looksLikeOption(_ argument: String, in spec: CommandSpec) -> Bool {
        if argument == "--" || argument == "--help" || argument == "-h" { return true }
        if argument.hasPrefix("--") {
            let name = argument.dropFirst(2).split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return spec.option(named: name) != nil
        }
        if argument.count == 2, argument.hasPrefix("-"), let short = argument.last {
            return spec.option(short: short) != nil
        }
        return false
    }

    private func isNegativeNumber(_ argument: String) -> Bool {
        argument.count > 1 && Double(argument) != nil
    }

    private func unknownOption(_ written: String, in spec: CommandSpec, path: [String]) -> CommandLineError {
        var candidates = spec.options.map { "--\($0.name)" } + ["--help"]
        if version != nil { candidates.append("--version") }
        var message = "unknown option '\(written)'"
        if written.hasPrefix("--"), let suggestion = Suggestion.closest(to: written, in: candidates) {
            message += "; did you mean \(suggestion)?"
        }
        return CommandLineError(message, commandPath: path)
    }

    private func unknownCommand(_ word: String, in spec: CommandSpec, path: [String]) -> CommandLineError {
        let names = spec.subcommands.map(\.name)
        var message = "unknown command '\(word)'"
        if let suggestion = Suggestion.closest(to: word, in: names) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += " (expected one of: \(names.joined(separator: ", ")))"
        }
        return CommandLineError(message, commandPath: path)
    }
}
