import CommandLine
import Foundation
import ReferenceEndpoint
import TestSupport
import Testing

@testable import LoadgenCore

/// The README's synopsis blocks and each command's `--help` list the same options.
///
/// The rule that finds a synopsis: a fenced code block without a language whose first line starts with
/// `reference-endpoint ` or `loadgen `. In it, a command's synopsis is the line that starts with the command
/// (`loadgen run `, `reference-endpoint `) plus the indented lines that follow it; `#` starts a comment. Its
/// options are the `--name` words (and `-x` short forms, mapped to their long names through the spec).
@Suite struct ReadmeSynopsisTests {
    static func synopsisBlocks() throws -> [[String]] {
        let readme = try String(contentsOfFile: Repository.root + "/README.md", encoding: .utf8)
        var blocks: [[String]] = []
        var current: [String] = []
        var inFence = false
        var bare = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                if inFence, bare, let first = current.first,
                    first.hasPrefix("reference-endpoint ") || first.hasPrefix("loadgen ")
                {
                    blocks.append(current)
                }
                if !inFence { bare = line == "```" }
                inFence.toggle()
                current = []
            } else if inFence {
                current.append(line)
            }
        }
        return blocks
    }

    /// The synopsis text of `command` (e.g. `loadgen run`), or nil when the README has none.
    static func synopsis(_ command: String) throws -> String? {
        for block in try synopsisBlocks() {
            var collecting = false
            var text: [String] = []
            for line in block {
                let code = String(line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                if code.hasPrefix(command + " ") || code == command {
                    collecting = true
                    text.append(code)
                } else if collecting, code.hasPrefix(" ") {
                    text.append(code)
                } else if collecting {
                    break
                }
            }
            if !text.isEmpty { return text.joined(separator: "\n") }
        }
        return nil
    }

    /// The long option names in `text`, with short forms resolved through `spec`.
    static func options(in text: String, spec: CommandSpec) -> Set<String> {
        var names: Set<String> = []
        let words = text.split(whereSeparator: { " []|()=\n".contains($0) })
        for word in words {
            if word.hasPrefix("--"), word.count > 2 {
                names.insert(String(word.dropFirst(2)))
            } else if word.hasPrefix("-"), word.count == 2, let short = word.last, let option = spec.option(short: short) {
                names.insert(option.name)
            }
        }
        return names
    }

    static let commands: [(String, CommandSpec)] = [
        ("loadgen run", LoadgenCommand.spec.subcommand(named: "run")!),
        ("loadgen validate", LoadgenCommand.spec.subcommand(named: "validate")!),
        ("loadgen capacity", CapacityCommand.spec),
        ("loadgen experiment", ExperimentCommand.spec),
        ("loadgen report", ReportCommand.spec),
        ("loadgen compare", CompareCommand.spec),
        ("reference-endpoint", EndpointCommand.spec(name: "reference-endpoint")),
    ]

    @Test("each command's --help options and its README synopsis are the same set", arguments: 0..<7)
    func helpMatchesSynopsis(index: Int) throws {
        let (command, spec) = Self.commands[index]
        let path = command.split(separator: " ").map(String.init)
        let help = HelpFormatter.help(for: spec, path: path)
        // The options --help lists: every `--name` in its OPTIONS section (rendered, not read from the spec).
        let optionsSection = help.components(separatedBy: "\nOPTIONS:\n").last?.components(separatedBy: "\n\n").first ?? ""
        var inHelp: Set<String> = []
        for line in optionsSection.split(separator: "\n") where line.hasPrefix("  ") {
            // The row's left column: `-o, --output <OUT.html>` (the help text follows after two spaces).
            let left = line.drop(while: { $0 == " " }).components(separatedBy: "  ").first ?? ""
            for word in left.split(separator: " ") where word.hasPrefix("--") {
                inHelp.insert(String(word.dropFirst(2).prefix { $0 != "<" && $0 != " " }))
            }
        }
        inHelp.remove("help")
        #expect(inHelp == Set(spec.options.map(\.name)), "the help renders every declared option")
        let synopsis = try #require(try Self.synopsis(command), "README.md has no synopsis line for '\(command)'")
        let inReadme = Self.options(in: synopsis, spec: spec)
        #expect(inHelp.subtracting(inReadme).isEmpty, "\(command): in --help but not in the README: \(inHelp.subtracting(inReadme).sorted())")
        #expect(inReadme.subtracting(inHelp).isEmpty, "\(command): in the README but not in --help: \(inReadme.subtracting(inHelp).sorted())")
    }

    @Test("the reference endpoint's synopsis shows no option as required except --model-dir")
    func onlyModelDirIsRequired() throws {
        let synopsis = try #require(try Self.synopsis("reference-endpoint"))
        var depth = 0
        var outside: [String] = []
        var word = ""
        for character in synopsis + " " {
            if character == " " || character == "\n" || character == "[" || character == "]" {
                if depth == 0, word.hasPrefix("--") { outside.append(word) }
                word = ""
                if character == "[" { depth += 1 } else if character == "]" { depth -= 1 }
            } else {
                word.append(character)
            }
        }
        #expect(outside == ["--model-dir"])
    }
}
