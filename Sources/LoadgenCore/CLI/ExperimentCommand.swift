import CommandLine

/// `loadgen experiment FILE.json [--json OUT.json] [--repeat N] [--quiet]`: runs each variant of an
/// experiment against a fresh embedded endpoint and prints one table with the expectation's verdict.
enum ExperimentCommand {
    static let exitCodes = """
        EXIT CODES:
            0  every variant ran and the expectation held (or the file states no checks)
            1  every variant ran and the expectation did not hold
            2  usage error or invalid experiment file
            3  an embedded endpoint did not start
            4  other runtime error (engine failure, cannot write the --json file)
          130  interrupted (Ctrl-C or SIGTERM): the runs so far are still printed and written
        """

    /// The subcommand's definition for `LoadgenCommand.spec`.
    static let spec = CommandSpec(
        name: "experiment", abstract: "Run an experiment's variants and judge its expectation (docs/experiments.md).",
        discussion: """
            An experiment file holds a base scenario (embedded target, requests, load), a list of named
            variants that override parts of it (usually client), an optional trigger (the spike or outage
            the recovery is timed from), an optional goodput deadline, and an expectation with checks like
            "amplification[retries] > 2". Each variant runs against a fresh embedded endpoint, so that no state
            carries over; its figures: calls, attempts, amplification, goodput, p50/p99/p99.9 of successful
            calls from the intended start, time to recover (from the trigger's end to the first of 3 seconds
            with goodput >= 95% of the offered rate), attempts during the trigger, makespan, and wasted work
            (calls the endpoint completed after their client had given up, read from its GET /stats once it
            is idle). The table goes to stdout (stderr with --json -), progress to stderr.
            --repeat N runs every variant N times (seeds seed, seed+1, ...; variants interleaved) and shows
            the mean with a 95% interval.

            \(exitCodes)
            """,
        options: [
            .value("json", valueName: "OUT.json", help: "Write the results as JSON ('-' for stdout)."),
            .value("repeat", valueName: "N", help: "Runs per variant (default 1; the table shows mean ±95% interval)."),
            .flag("quiet", short: "q", help: "No progress lines; the table and the verdict are still printed."),
            .value("threads", valueName: "N", help: "Event-loop threads of the load engine (default: one per core)."),
            .value(
                "endpoint-log", valueName: "FILE",
                help: "Append the embedded endpoints' logs (requests, model output, tracebacks) to FILE."),
        ],
        positionals: [PositionalSpec("FILE", help: "path to the experiment JSON file")])

    /// Runs `loadgen experiment`.
    static func run(_ parsed: ParsedArguments, environment: LoadgenEnvironment) async -> LoadgenExitCode {
        let repeatCount: Int
        let engine: any LoadEngine
        do {
            repeatCount = try parsed.int("repeat", in: 1...100) ?? 1
            engine = try LoadgenCommand.engine(environment.engine, threads: parsed)
        } catch {
            environment.standardError(error.report)
            return .usageError
        }
        let path = parsed.positional("FILE") ?? ""
        let experiment: Experiment
        do {
            experiment = try Experiment.load(path: path, currentDirectory: environment.currentDirectory)
        } catch {
            let location = error.path.isEmpty ? "" : "\(error.path): "
            let prefix = error.message.hasPrefix("cannot read experiment file") ? "" : "\(path): "
            environment.standardError("error: \(prefix)\(location)\(error.message)\n")
            return .usageError
        }
        var launcher = environment.launcher
        if let logPath = parsed.string("endpoint-log"), var process = launcher as? ProcessTargetLauncher {
            process.log = .file(logPath.hasPrefix("/") ? logPath : environment.currentDirectory + "/" + logPath)
            launcher = process
        }
        let interruption = environment.interruption
        let noticeToken = interruption.onStop {
            environment.standardError(
                "interrupted by \(interruption.signal ?? "SIGINT"): stopping after the calls in flight; interrupt again "
                    + "to exit now\n")
        }
        defer { interruption.remove(noticeToken) }
        let quiet = parsed.flag("quiet")
        let json = parsed.string("json")
        if !quiet {
            let runs = repeatCount > 1 ? " × \(repeatCount) runs" : ""
            environment.standardError(
                "experiment \(experiment.name): \(experiment.variants.count) variants\(runs), each against a fresh "
                    + "embedded endpoint\n")
        }
        let runner = ExperimentRun(
            experiment: experiment, runsPerVariant: repeatCount, engine: engine, launcher: launcher, environment: environment,
            quiet: quiet)
        let (outcome, ending) = await runner.run()
        let human = json == "-" ? environment.standardError : environment.standardOutput
        human(ExperimentReport.table(outcome))
        var code: LoadgenExitCode
        switch ending {
        case .completed: code = outcome.held == false ? .thresholdsFailed : .success
        case .interrupted: code = .interrupted
        case .failed(let failure): code = failure
        }
        if let json {
            let absolute = json == "-" || json.hasPrefix("/") ? json : environment.currentDirectory + "/" + json
            do {
                try environment.writeFile(absolute, ExperimentReport.json(outcome))
            } catch {
                environment.standardError("error: cannot write --json file '\(json)': \(error)\n")
                if code == .success || code == .thresholdsFailed { code = .runtimeError }
            }
        }
        return code
    }
}
