import CommandLine
import Testing

@Suite struct CommandLineTests {
    static let endpoint = CommandSpec(
        name: "reference-endpoint", abstract: "Serve a model folder.",
        options: [
            .value("model-dir", valueName: "DIR", help: "Model folder."),
            .value("route", valueName: "JSON", help: "A route.", repeatable: true),
            .value("routes-file", valueName: "FILE", help: "Routes file."),
            .value("host", valueName: "HOST", help: "Address.", defaultDescription: "127.0.0.1"),
            .value("port", short: "p", valueName: "PORT", help: "Port."),
            .value("workers", short: "w", valueName: "N", help: "Workers."),
            .value("threads", valueName: "N", help: "Threads."),
            .value("max-queue", valueName: "N", help: "Queue."),
            .value("timeout", valueName: "D", help: "Timeout."),
            .value("python", valueName: "PATH", help: "Python."),
            .value("fail-rate", valueName: "P", help: "Fail rate."),
            .value("delay", valueName: "D", help: "Delay."),
            .flag("verbose", short: "v", help: "Verbose."),
        ])

    static let tool = CommandSpec(
        name: "tool", abstract: "A tool.",
        subcommands: [
            CommandSpec(
                name: "run", abstract: "Run.",
                options: [
                    .value("rate", short: "r", valueName: "R", help: "Rate."),
                    .value("duration", short: "d", valueName: "D", help: "Duration."),
                    .flag("quiet", short: "q", help: "Quiet."),
                    .flag("verbose", short: "v", help: "Verbose."),
                ],
                positionals: [PositionalSpec("SCENARIO", help: "the scenario")]),
            CommandSpec(name: "serve", abstract: "Serve.", passthrough: true),
            endpoint,
        ])

    let parser = CommandParser(root: tool, version: "tool 1.2.3")

    func run(_ arguments: [String]) throws -> ParsedArguments {
        guard case .run(let parsed) = try parser.parse(arguments) else {
            Issue.record("expected a run outcome")
            return ParsedArguments(commandPath: [])
        }
        return parsed
    }

    func error(_ arguments: [String]) -> String {
        do {
            _ = try parser.parse(arguments)
            return "no error"
        } catch {
            return error.message
        }
    }

    @Test func longOptionsBothForms() throws {
        let parsed = try run(["run", "s.json", "--rate", "200", "--duration=10s"])
        #expect(parsed.commandPath == ["tool", "run"])
        #expect(parsed.string("rate") == "200")
        #expect(parsed.string("duration") == "10s")
        #expect(parsed.positional("SCENARIO") == "s.json")
    }

    @Test func shortOptionsAndGroupedSwitches() throws {
        let parsed = try run(["run", "-qv", "-r200", "-d", "5s", "s.json"])
        #expect(parsed.flag("quiet"))
        #expect(parsed.flag("verbose"))
        #expect(parsed.string("rate") == "200")
        #expect(parsed.string("duration") == "5s")
        let equals = try run(["run", "-r=300", "s.json"])
        #expect(equals.string("rate") == "300")
    }

    @Test func negativeNumbersAndDoubleDash() throws {
        let parsed = try run(["run", "--rate", "-5", "--", "--not-a-flag"])
        #expect(parsed.string("rate") == "-5")
        #expect(parsed.positional("SCENARIO") == "--not-a-flag")
        #expect(try parsed.double("rate") == -5)
        #expect(throws: CommandLineError.self) { try parsed.double("rate", positive: true) }
    }

    @Test func typedValueErrorsNameTheFlagAndValue() throws {
        let parsed = try run(["run", "s.json", "--rate", "abc"])
        #expect(throws: CommandLineError("--rate expects a positive number, got 'abc'", commandPath: ["tool", "run"])) {
            try parsed.double("rate", positive: true)
        }
        let zero = try run(["run", "s.json", "--rate", "0"])
        #expect(throws: CommandLineError.self) { try zero.double("rate", positive: true) }
        let ranged = try run(["run", "s.json", "--rate", "7"])
        #expect(try ranged.double("rate", in: 0...10) == 7)
        #expect(throws: CommandLineError("--rate expects a number from 0 to 5, got '7'", commandPath: ["tool", "run"])) {
            try ranged.double("rate", in: 0...5)
        }
        #expect(throws: CommandLineError("--rate expects an integer from 1 to 5, got '7'", commandPath: ["tool", "run"])) {
            try ranged.int("rate", in: 1...5)
        }
        #expect(throws: CommandLineError("--rate expects a positive integer, got '7.5'", commandPath: ["tool", "run"])) {
            try run(["run", "s", "--rate", "7.5"]).int("rate", in: 1...Int.max)
        }
        #expect(try ranged.int("rate") == 7)
        #expect(try ranged.int("missing") == nil)
    }

    @Test func repeatedOptions() throws {
        guard case .run(let parsed) = try parser.parse(["reference-endpoint", "--route", "{\"a\":1}", "--route={\"b\":2}"])
        else {
            Issue.record("expected run")
            return
        }
        #expect(parsed.strings("route") == ["{\"a\":1}", "{\"b\":2}"])
        let values: [Int] = try parsed.values("route", expected: "JSON") { $0.count }
        #expect(values == [7, 7])
        #expect(throws: CommandLineError.self) {
            let _: [Int] = try parsed.values("route", expected: "a number") { Int($0) }
        }
    }

    @Test func referenceEndpointFlags() throws {
        guard
            case .run(let parsed) = try parser.parse([
                "reference-endpoint", "--model-dir", "examples/echo", "--routes-file", "r.json", "--host", "0.0.0.0",
                "-p", "8000", "--workers=4", "--threads", "2", "--max-queue", "64", "--timeout", "30s", "--python",
                "/usr/bin/python3", "--fail-rate", "0.1", "--delay", "20ms",
            ])
        else {
            Issue.record("expected run")
            return
        }
        #expect(parsed.string("model-dir") == "examples/echo")
        #expect(try parsed.int("port", in: 0...65535) == 8000)
        #expect(try parsed.int("workers", in: 1...Int.max) == 4)
        #expect(try parsed.double("fail-rate", in: 0...1) == 0.1)
        #expect(parsed.string("delay") == "20ms")
    }

    @Test func usageErrors() {
        #expect(error(["run", "s.json", "--duraton", "5s"]) == "unknown option '--duraton'; did you mean --duration?")
        #expect(error(["run", "s.json", "--zzzzzz"]) == "unknown option '--zzzzzz'")
        #expect(error(["run", "s.json", "-x"]) == "unknown option '-x'")
        #expect(error(["run", "s.json", "--rate"]) == "--rate expects a value (R)")
        #expect(error(["run", "s.json", "--rate", "--quiet"]) == "--rate expects a value (R)")
        #expect(error(["run", "s.json", "-r"]) == "-r expects a value (R)")
        #expect(error(["run", "s.json", "--quiet=yes"]) == "--quiet does not take a value")
        #expect(error(["run", "s.json", "--rate", "1", "--rate", "2"]) == "--rate was given more than once")
        #expect(error(["run"]) == "missing argument <SCENARIO> (the scenario)")
        #expect(error(["run", "a", "b"]) == "unexpected argument 'b'")
        #expect(error([]) == "missing command (one of: run, serve, reference-endpoint)")
        #expect(error(["rn"]) == "unknown command 'rn'; did you mean 'run'?")
        #expect(error(["bogus"]) == "unknown command 'bogus' (expected one of: run, serve, reference-endpoint)")
        #expect(error(["--bogus"]) == "unknown option '--bogus'")
        #expect(error(["help", "nope"]) == "unknown command 'nope' (expected one of: run, serve, reference-endpoint)")
    }

    @Test func errorReportPointsAtHelp() {
        let error = CommandLineError("--rate expects a value (R)", commandPath: ["tool", "run"])
        #expect(error.report == "error: --rate expects a value (R)\nRun 'tool run --help' for usage.\n")
        #expect(CommandLineError("x").report == "error: x\n")
        #expect(error.description == "--rate expects a value (R)")
    }

    @Test func helpAndVersion() throws {
        guard case .help(let root) = try parser.parse(["--help"]) else {
            Issue.record("expected help")
            return
        }
        #expect(root.contains("USAGE: tool <subcommand>"))
        #expect(root.contains("  run                       Run."))
        guard case .help(let runHelp) = try parser.parse(["run", "--rate", "5", "-h"]) else {
            Issue.record("expected help")
            return
        }
        #expect(runHelp.contains("USAGE: tool run <SCENARIO> [--rate <R>] [--duration <D>] [--quiet] [--verbose]"))
        #expect(runHelp.contains("  -r, --rate <R>            Rate."))
        #expect(runHelp.contains("  <SCENARIO>                the scenario"))
        guard case .help(let viaHelpWord) = try parser.parse(["help", "run"]) else {
            Issue.record("expected help")
            return
        }
        #expect(viaHelpWord == runHelp)
        guard case .help(let endpointHelp) = try parser.parse(["reference-endpoint", "--help"]) else {
            Issue.record("expected help")
            return
        }
        #expect(endpointHelp.contains("      --route <JSON>        A route. (repeatable)"))
        #expect(endpointHelp.contains("      --host <HOST>         Address. (default: 127.0.0.1)"))
        #expect(try parser.parse(["--version"]) == .version("tool 1.2.3"))
        #expect(try parser.parse(["run", "--version"]) == .version("tool 1.2.3"))
        let noVersion = CommandParser(root: Self.tool)
        #expect(throws: CommandLineError.self) { try noVersion.parse(["--version"]) }
    }

    @Test func passthroughKeepsEverything() throws {
        let parsed = try run(["serve", "--port", "1", "--help", "x"])
        #expect(parsed.commandPath == ["tool", "serve"])
        #expect(parsed.positionals == ["--port", "1", "--help", "x"])
    }

    @Test func suggestions() {
        #expect(Suggestion.editDistance("duraton", "duration") == 1)
        #expect(Suggestion.editDistance("rtae", "rate") == 1)
        #expect(Suggestion.editDistance("", "abc") == 3)
        #expect(Suggestion.closest(to: "--dur", in: ["--duration", "--rate"]) == "--duration")
        #expect(Suggestion.closest(to: "--rat", in: ["--duration", "--rate"]) == "--rate")
        #expect(Suggestion.closest(to: "xyz", in: ["--duration", "--rate"]) == nil)
        #expect(Suggestion.closest(to: "x", in: []) == nil)
    }
}
