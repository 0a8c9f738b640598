import CommandLine

/// `loadgen report RESULT.json [MORE.json ...] -o report.html`: one self-contained HTML page (inline SVG and
/// CSS, no script, no network) from the JSON results of `loadgen run --json`, `loadgen capacity --json` and
/// `loadgen experiment --json`.
enum ReportCommand {
    /// The subcommand's definition for `LoadgenCommand.spec`.
    static let spec = CommandSpec(
        name: "report", abstract: "Write an HTML report (charts and tables) of run, capacity or experiment result JSON files.",
        discussion: """
            Reads the JSON written by 'loadgen run --json', 'loadgen capacity --json' or
            'loadgen experiment --json' and writes one self-contained HTML file: inline SVG charts and CSS, no
            script, nothing fetched from the network.
            Run results: summary table, thresholds, latency over time (p50, p99, max, log scale, SLA lines),
            the percentile spectrum, offered rate vs throughput vs goodput vs 503s, attempts/retries/amplification.
            Capacity results: the capacity curve (achieved rate and p99 against offered rate, SLA line,
            [last pass, first fail] bracket) and the steps table. Experiment results: the variants' table, the
            expectation's verdict, and goodput and attempts per second, one line per variant, the trigger
            shaded. Several files share each chart's axes, one colour per file. A chart whose data a file lacks
            is left out with a note.

            EXIT CODES:
                0  report written
                2  usage error, or an input file missing, not JSON, or not a loadgen result
                4  cannot write the output file
            """,
        options: [
            .value("output", short: "o", valueName: "OUT.html", help: "Where to write the report ('-' for stdout). Required.")
        ],
        positionals: [PositionalSpec("RESULT", help: "result JSON files (run, capacity or experiment)", variadic: true)])

    /// Runs `loadgen report` with parsed arguments.
    static func run(_ parsed: ParsedArguments, environment: LoadgenEnvironment) -> LoadgenExitCode {
        guard let output = parsed.string("output"), !output.isEmpty else {
            environment.standardError(
                CommandLineError("missing -o/--output OUT.html ('-' for stdout)", commandPath: parsed.commandPath).report)
            return .usageError
        }
        guard !parsed.positionals.isEmpty else {
            environment.standardError(
                CommandLineError("missing RESULT: give at least one result JSON file", commandPath: parsed.commandPath).report)
            return .usageError
        }
        var inputs: [ReportInput] = []
        for path in parsed.positionals {
            do {
                inputs.append(try ReportInput.load(path: path, currentDirectory: environment.currentDirectory))
            } catch {
                environment.standardError("error: \(error.description)\n")
                return .usageError
            }
        }
        let page = HTMLReport.render(inputs)
        if output == "-" {
            environment.standardOutput(page)
            return .success
        }
        let absolute = output.hasPrefix("/") ? output : environment.currentDirectory + "/" + output
        do {
            try environment.writeFile(absolute, page)
        } catch {
            environment.standardError("error: cannot write report '\(output)': \(error)\n")
            return .runtimeError
        }
        return .success
    }
}
