/// Generates `--help` text from a `CommandSpec`.
public enum HelpFormatter {
    /// Help text for `spec`, reached through `path` (e.g. `["loadgen", "run"]`).
    public static func help(for spec: CommandSpec, path: [String]) -> String {
        var text = "OVERVIEW: \(spec.abstract)\n\n"
        text += "USAGE: \(usage(for: spec, path: path))\n"
        if !spec.positionals.isEmpty {
            text += "\nARGUMENTS:\n"
            for positional in spec.positionals {
                text += row("<\(positional.name)>" + (positional.variadic ? " ..." : ""), positional.help)
            }
        }
        text += "\nOPTIONS:\n"
        for option in spec.options {
            var left = option.short.map { "-\($0), " } ?? "    "
            left += "--\(option.name)"
            if let valueName = option.valueName { left += " <\(valueName)>" }
            var help = option.help
            if let value = option.defaultDescription { help += " (default: \(value))" }
            // Said once: a help text that already mentions it (e.g. "(repeatable): p50, p99") keeps its own.
            if option.repeatable, option.takesValue, !help.contains("(repeatable)") { help += " (repeatable)" }
            text += row(left, help)
        }
        text += row("-h, --help", "Show help information.")
        if !spec.subcommands.isEmpty {
            text += "\nSUBCOMMANDS:\n"
            for sub in spec.subcommands { text += row(sub.name, sub.abstract) }
            text += "\n  See '\(path.joined(separator: " ")) help <subcommand>' for detailed help.\n"
        }
        if let discussion = spec.discussion { text += "\n\(discussion)\n" }
        return text
    }

    /// The one-line usage, e.g. `loadgen run <SCENARIO> [--json <OUT.json>] [--quiet]`.
    public static func usage(for spec: CommandSpec, path: [String]) -> String {
        var parts = [path.joined(separator: " ")]
        if !spec.subcommands.isEmpty {
            parts.append("<subcommand>")
            return parts.joined(separator: " ")
        }
        if spec.passthrough {
            parts.append("[<arguments> ...]")
            return parts.joined(separator: " ")
        }
        for positional in spec.positionals {
            var word = "<\(positional.name)>"
            if positional.variadic { word += " ..." }
            parts.append(positional.optional ? "[\(word)]" : word)
        }
        for option in spec.options {
            var word = "--\(option.name)"
            if let valueName = option.valueName { word += " <\(valueName)>" }
            if option.repeatable, option.takesValue { word += " ..." }
            parts.append("[\(word)]")
        }
        return parts.joined(separator: " ")
    }

    private static func row(_ left: String, _ right: String) -> String {
        let column = 28
        let prefix = "  " + left
        if prefix.count + 2 > column {
            return prefix + "\n" + String(repeating: " ", count: column) + right + "\n"
        }
        return prefix + String(repeating: " ", count: column - prefix.count) + right + "\n"
    }
}
