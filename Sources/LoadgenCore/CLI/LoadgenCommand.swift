import CommandLine
import Foundation
import EndpointSpec
import Glibc
import ReferenceEndpoint

/// The `loadgen` command line: `run`, `validate`, `serve`, `call`, `capacity`, `experiment`, `report`, `compare`,
/// `merge`.
public enum LoadgenCommand {
    /// The version printed by `--version`.
    public static let version = "loadgen 0.1.0"

    static let exitCodes = """
        EXIT CODES:
            0  success (run: every threshold passed)
            1  run completed but a threshold failed (or --abort-on-fail stopped it)
            2  usage error or invalid scenario
            3  could not reach the target (or the embedded endpoint did not start)
            4  other runtime error (engine failure, cannot write the --json file)
          130  run interrupted (Ctrl-C or SIGTERM): the summary covers the time run; thresholds are shown but
               not judged; a second Ctrl-C exits at once without a summary
          141  standard output is a pipe that closed early (e.g. '| head -1'): loadgen stops quietly
        """

    /// `validate`'s own exit codes (it neither runs load nor judges thresholds).
    static let validateExitCodes = """
        EXIT CODES:
            0  the scenario is valid (and an embedded target's model would start)
            2  usage error, invalid scenario, or an embedded target's model file, function or default_value
               that the endpoint would reject at start
        """

    /// The command tree.
    public static let spec = CommandSpec(
        name: "loadgen",
        abstract: "Load generator for capacity tests and SLA checks of inference endpoints.",
        discussion: exitCodes,
        subcommands: [
            CommandSpec(
                name: "run", abstract: "Run a scenario and report latency, throughput, goodput and errors.",
                discussion: """
                    Open-loop latency is measured from each call's intended start (coordinated omission);
                    service time from the actual send is reported beside it.
                    --duration on a ramping-rate load scales every stage; --rate scales every stage so the peak
                    equals R (closed-loop loads take no --rate).
                    Ctrl-C (or SIGTERM) stops the load early: no call starts after it, calls in flight may finish
                    (within the drain timeout), calls due but not yet sent count as not sent (interrupted), calls due
                    later are not counted; the report covers the time run. Press Ctrl-C again to exit at once.
                    Throughput and goodput are over the planned window (the drain after the load is reported apart).
                    Latency thresholds judge successful calls; METRIC{status:any} (p99{status:any} < 100ms) judges
                    every call. --threshold adds to the scenario's thresholds (an expression already there is not
                    repeated). --abort-on-fail judges each window of the windowed thresholds as soon as it is
                    complete and stops the run like Ctrl-C when one fails; the exit code is then 1.
                    --shard K/N --start-at T0 runs one shard of a run split over N machines: the arrivals i with
                    i mod N == K (closed loops: the users u with u mod N == K), each request generated from i
                    as on one machine, the measured load starting at T0 on the wall clock. A shard ready after
                    T0 does not send the arrivals it missed (not sent: late_start). 'loadgen merge' adds the
                    shards' --json files into the result of the whole run.

                    \(exitCodes)
                    """,
                options: [
                    .value("json", valueName: "OUT.json", help: "Write the full result as JSON ('-' for stdout)."),
                    .flag("quiet", short: "q", help: "No progress line and no summary table; failed thresholds are still named on stderr."),
                    .value("duration", short: "d", valueName: "D", help: "Override the load's duration (e.g. 30s)."),
                    .value("rate", short: "r", valueName: "R", help: "Override the open-loop rate (e.g. 200 or 200/s)."),
                    .value("url", short: "u", valueName: "URL", help: "Send to this endpoint instead of the scenario's target."),
                    .value("seed", valueName: "N", help: "Override the scenario's seed."),
                    .value("threads", valueName: "N", help: "Event-loop threads of the load engine (default: one per core)."),
                    .value(
                        "max-response", valueName: "BYTES",
                        help: "Override client.maxResponse: a longer response body fails its attempt as too_large "
                            + "(default 8388608)."),
                    .value(
                        "endpoint-log", valueName: "FILE",
                        help: "Append the embedded endpoint's log (requests, model output, tracebacks) to FILE."),
                    .value(
                        "hdr-log", valueName: "FILE",
                        help: "Write the latencies per second as an HdrHistogram interval log (for HdrHistogram's tools)."),
                    .value(
                        "junit", valueName: "FILE",
                        help: "Write the thresholds as JUnit XML (one testcase per threshold) for CI test reports."),
                    .value(
                        "threshold", valueName: "EXPR",
                        help: "Add a threshold (e.g. \"p99 < 100ms\") to the scenario's.", repeatable: true),
                    .flag(
                        "abort-on-fail",
                        help: "Stop the run as soon as a windowed threshold (like p99[10s] < 100ms) fails a window; exit 1."),
                    .value(
                        "shard", valueName: "K/N",
                        help: "Run shard K (from 0) of a run split over N machines (needs --start-at; see 'loadgen merge')."),
                    .value(
                        "start-at", valueName: "T0",
                        help: "Start the measured load at T0: RFC 3339 (2026-12-04T08:00:00Z) or now+10s."),
                ],
                positionals: [PositionalSpec("SCENARIO", help: "path to the scenario JSON file")]),
            CommandSpec(
                name: "validate", abstract: "Check a scenario or experiment file and print what it would run.",
                discussion: """
                    Checks the file as 'run' (or, for a file with "scenario" and "variants", 'experiment') reads
                    it; for an embedded target also what the endpoint checks at start: one Python worker imports
                    every route's file from modelDir, finds every function and evaluates every default_value.

                    \(validateExitCodes)
                    """,
                positionals: [PositionalSpec("SCENARIO", help: "path to the scenario JSON file")]),
            CommandSpec(
                name: "serve",
                abstract: "Run the reference endpoint (same flags as reference-endpoint; see 'loadgen serve --help').",
                passthrough: true),
            CommandSpec(
                name: "call", abstract: "Call an endpoint with ResilientClient's retries (see 'loadgen call --help').",
                passthrough: true),
            CapacityCommand.spec,
            ExperimentCommand.spec,
            ReportCommand.spec,
            CompareCommand.spec,
            MergeCommand.spec,
        ])

    /// Runs the command line `arguments` (without the executable name); returns the exit code.
    public static func main(_ arguments: [String], environment: LoadgenEnvironment) async -> Int32 {
        let outcome: ParseOutcome
        do {
            outcome = try CommandParser(root: spec, version: version).parse(arguments)
        } catch {
            environment.standardError(error.report)
            return LoadgenExitCode.usageError.rawValue
        }
        switch outcome {
        case .help(let text):
            environment.standardOutput(text)
            return LoadgenExitCode.success.rawValue
        case .version(let text):
            environment.standardOutput(text + "\n")
            return LoadgenExitCode.success.rawValue
        case .run(let parsed):
            switch parsed.command {
            case "validate":
                // The model check waits for a Python worker to start: on a thread of its own, not one of the
                // few threads that run every task of the process.
                return await withCheckedContinuation { continuation in
                    Thread { continuation.resume(returning: validate(parsed, environment: environment).rawValue) }
                        .start()
                }
            case "run": return await run(parsed, environment: environment).rawValue
            case "serve": return await environment.serve(parsed.positionals)
            case "call": return await environment.call(parsed.positionals)
            case "capacity": return await CapacityCommand.run(parsed, environment: environment).rawValue
            case "experiment": return await ExperimentCommand.run(parsed, environment: environment).rawValue
            case "report": return ReportCommand.run(parsed, environment: environment).rawValue
            case "compare": return CompareCommand.run(parsed, environment: environment).rawValue
            case "merge": return MergeCommand.run(parsed, environment: environment).rawValue
            default:
                environment.standardError("error: unknown command '\(parsed.command)'\n")
                return LoadgenExitCode.usageError.rawValue
            }
        }
    }

    static func loadScenario(_ parsed: ParsedArguments, environment: LoadgenEnvironment) -> Scenario? {
        let path = parsed.positional("SCENARIO") ?? ""
        do {
            return try Scenario.load(path: path, currentDirectory: environment.currentDirectory)
        } catch {
            let location = error.path.isEmpty ? "" : "\(error.path): "
            let prefix = error.message.hasPrefix("cannot read scenario file") ? "" : "\(path): "
            environment.standardError("error: \(prefix)\(location)\(error.message)\n")
            return nil
        }
    }

    /// `loadgen validate SCENARIO`.
    static func validate(_ parsed: ParsedArguments, environment: LoadgenEnvironment) -> LoadgenExitCode {
        let path = parsed.positional("SCENARIO") ?? ""
        if isExperimentFile(path, currentDirectory: environment.currentDirectory) {
            return validateExperiment(path, environment: environment)
        }
        guard let scenario = loadScenario(parsed, environment: environment) else { return .usageError }
        guard checkModel(scenario, at: "target.embedded", path: path, environment: environment) else {
            return .usageError
        }
        environment.standardOutput(describe(scenario))
        return .success
    }

    /// Whether the file at `path` is an experiment (an object with `scenario` and `variants`), which `validate`
    /// checks as `loadgen experiment` would read it. Anything unreadable is left to the scenario loader's errors.
    static func isExperimentFile(_ path: String, currentDirectory: String?) -> Bool {
        guard let file = try? ScenarioFile(path: path, currentDirectory: currentDirectory, kind: "scenario"),
            case .object(let object)? = try? LoadgenJSON.parse(file.bytes)
        else { return false }
        return object["variants"] != nil && object["scenario"] != nil
    }

    /// `loadgen validate EXPERIMENT`: the experiment file, then each variant's embedded model as the endpoint
    /// would check it at start; prints each variant's scenario.
    static func validateExperiment(_ path: String, environment: LoadgenEnvironment) -> LoadgenExitCode {
        let experiment: Experiment
        do {
            experiment = try Experiment.load(path: path, currentDirectory: environment.currentDirectory)
        } catch {
            let location = error.path.isEmpty ? "" : "\(error.path): "
            environment.standardError("error: \(path): \(location)\(error.message)\n")
            return .usageError
        }
        var text = "ok: experiment \(experiment.name), \(experiment.variants.count) variant"
            + (experiment.variants.count == 1 ? "" : "s") + "\n"
        for (index, variant) in experiment.variants.enumerated() {
            let field = "variants[\(index)] (\(variant.name)): target.embedded"
            guard checkModel(variant.scenario, at: field, path: path, environment: environment) else {
                return .usageError
            }
            text += "\nvariant \(variant.name)" + (variant.description.isEmpty ? "" : ": \(variant.description)") + "\n"
            text += describe(variant.scenario).split(separator: "\n").dropFirst().map { $0 + "\n" }.joined()
        }
        environment.standardOutput(text)
        return .success
    }

    /// Checks an embedded target's model files and functions as the endpoint would at start; prints the error
    /// (naming `field` in `path`) and returns false when it would not start.
    static func checkModel(
        _ scenario: Scenario, at field: String, path: String, environment: LoadgenEnvironment
    ) -> Bool {
        guard case .embedded(let embedded) = scenario.target else { return true }
        do {
            try ModelCheck.check(modelDirectory: embedded.modelDirectory, routes: embedded.routes, python: embedded.python)
            return true
        } catch {
            environment.standardError("error: \(path): \(field): the endpoint would not start: \(error.message)\n")
            return false
        }
    }

    /// A human summary of a valid scenario.
    public static func describe(_ scenario: Scenario) -> String {
        var text = "ok: \(scenario.name)\n"
        switch scenario.target {
        case .url(let url): text += "  target     \(url)\n"
        case .embedded(let embedded):
            text += "  target     embedded reference endpoint, model \(embedded.modelDirectory), "
                + "\(embedded.routes.count) route\(embedded.routes.count == 1 ? "" : "s"), "
                + "\(embedded.workers) worker\(embedded.workers == 1 ? "" : "s")\n"
        }
        text += "  load       \(scenario.load.summary)"
        if let schedule = ArrivalSchedule(load: scenario.load) { text += " (\(schedule.count) calls)" }
        text += "\n"
        if scenario.warmup.nanoseconds > 0 { text += "  warmup     \(scenario.warmup)\n" }
        let total = scenario.requests.reduce(0) { $0 + $1.weight }
        for request in scenario.requests {
            let share = formatNumber(request.weight / total * 100, digits: 1)
            text += "  request    \(request.method) \(request.route)  \(share)%"
            if let name = request.name { text += "  (\(name))" }
            text += "\n"
        }
        let client = scenario.client
        text += "  client     \(client.connections) connections, timeout \(client.timeout), "
            + "\(client.retry.maxAttempts) attempt\(client.retry.maxAttempts == 1 ? "" : "s")"
        if client.retry.maxAttempts > 1 {
            text += " (backoff \(client.retry.baseDelay)..\(client.retry.maxDelay), jitter \(client.retry.jitter.rawValue))"
        }
        if client.budget != nil { text += ", retry budget" }
        if let gate = client.healthGate { text += ", health gate \(gate.path)" }
        if client.adaptiveRateLimit != nil { text += ", adaptive rate limit" }
        text += "\n"
        for threshold in scenario.thresholds { text += "  threshold  \(threshold.expression)\n" }
        return text
    }

    /// The command-line overrides of `run`, checked before the scenario is read.
    struct Overrides: Equatable {
        var duration: DurationValue?
        var rate: Double?
        var url: TargetURL?
        var seed: UInt64?
        var maxResponseBytes: Int?
        var thresholds: [Threshold] = []
        var shard: Shard?
        var startAt: StartTime?
    }

    /// Parses `--duration`, `--rate`, `--url`, `--seed`, `--threshold`, `--shard` and `--start-at` (`now+D`
    /// relative to `now`, seconds since 1970), with errors naming the flag and the value.
    static func overrides(_ parsed: ParsedArguments, now: Double) throws(CommandLineError) -> Overrides {
        var overrides = Overrides()
        overrides.duration = try parsed.value("duration", expected: "a duration greater than 0 like 30s") { text in
            guard let duration = DurationValue(parsing: text), duration.nanoseconds > 0 else { return nil }
            return duration
        }
        overrides.rate = try parsed.value("rate", expected: "a positive rate up to 10000000/s (like 200 or 200/s)") { text in
            guard let rate = RateValue(parsing: text), rate.perSecond > 0, rate.perSecond <= RateValue.maximum else {
                return nil
            }
            return rate.perSecond
        }
        if let url = parsed.string("url") {
            do {
                overrides.url = try TargetURL(parsing: url)
            } catch {
                throw CommandLineError(
                    "--url expects a URL like http://127.0.0.1:8080 or https://host, got '\(url)' (\(error.message))",
                    commandPath: parsed.commandPath)
            }
        }
        overrides.seed = try parsed.value("seed", expected: "a non-negative integer") { UInt64($0) }
        overrides.maxResponseBytes = try parsed.int("max-response", in: 1...ClientSpec.maxResponseLimit)
        for text in parsed.strings("threshold") {
            do {
                overrides.thresholds.append(try Threshold(parsing: text))
            } catch {
                throw CommandLineError("--threshold: \(error.message)", commandPath: parsed.commandPath)
            }
        }
        if let text = parsed.string("shard") {
            do {
                overrides.shard = try Shard(parsing: text)
            } catch {
                throw CommandLineError("--shard: \(error.message)", commandPath: parsed.commandPath)
            }
        }
        if let text = parsed.string("start-at") {
            do {
                overrides.startAt = try StartTime(parsing: text, now: now)
            } catch {
                throw CommandLineError("--start-at: \(error.message)", commandPath: parsed.commandPath)
            }
        }
        if let shard = overrides.shard, overrides.startAt == nil {
            throw CommandLineError(
                "--shard \(shard) needs --start-at T0, the same for every shard (like --start-at 2026-12-04T08:00:00Z), "
                    + "so that the shards start together", commandPath: parsed.commandPath)
        }
        return overrides
    }

    /// Applies overrides. `--duration` on ramping-rate scales every stage; `--rate` on ramping-rate scales
    /// every rate so the peak equals it; `--rate` on a closed loop is an error.
    static func apply(_ overrides: Overrides, to scenario: inout Scenario, commandPath: [String])
        throws(CommandLineError)
    {
        if let duration = overrides.duration {
            switch scenario.load {
            case .constantRate(let rate, _): scenario.load = .constantRate(rate: rate, duration: duration)
            case .closed(let users, _, let think):
                scenario.load = .closed(users: users, duration: duration, thinkTime: think)
            case .rampingRate(let start, let stages):
                let factor = Double(duration.nanoseconds) / Double(scenario.load.duration.nanoseconds)
                scenario.load = .rampingRate(
                    startRate: start,
                    stages: stages.map { stage in
                        let scaled = Int64((Double(stage.duration.nanoseconds) * factor).rounded())
                        return RampStage(target: stage.target, duration: DurationValue(nanoseconds: max(1, scaled)))
                    })
            }
        }
        if let rate = overrides.rate {
            switch scenario.load {
            case .constantRate(_, let duration): scenario.load = .constantRate(rate: rate, duration: duration)
            case .rampingRate(let start, let stages):
                let peak = max(start, stages.map(\.target).max() ?? 0)
                let factor = peak > 0 ? rate / peak : 1
                scenario.load = .rampingRate(
                    startRate: start * factor,
                    stages: stages.map { RampStage(target: $0.target * factor, duration: $0.duration) })
            case .closed:
                throw CommandLineError(
                    "--rate applies to open-loop loads, but scenario '\(scenario.name)' is closed-loop "
                        + "(change load.users instead)", commandPath: commandPath)
            }
        }
        if let url = overrides.url { scenario.target = .url(url) }
        if let seed = overrides.seed { scenario.seed = seed }
        if let bytes = overrides.maxResponseBytes { scenario.client.maxResponseBytes = bytes }
        for threshold in overrides.thresholds
        where !scenario.thresholds.contains(where: { $0.expression == threshold.expression }) {
            scenario.thresholds.append(threshold)
        }
    }

    /// `loadgen run SCENARIO [...]`.
    static func run(_ parsed: ParsedArguments, environment: LoadgenEnvironment) async -> LoadgenExitCode {
        let overrides: Overrides
        do {
            overrides = try self.overrides(parsed, now: Date().timeIntervalSince1970)
        } catch {
            environment.standardError(error.report)
            return .usageError
        }
        guard var scenario = loadScenario(parsed, environment: environment) else { return .usageError }
        do {
            try apply(overrides, to: &scenario, commandPath: parsed.commandPath)
        } catch {
            environment.standardError(error.report)
            return .usageError
        }
        let shard = overrides.shard ?? .whole
        if case .closed(let users, _, _) = scenario.load, users < shard.count {
            environment.standardError(
                CommandLineError(
                    "--shard \(shard): scenario '\(scenario.name)' is a closed loop of \(users) users, which can be split "
                        + "into at most \(users) shards", commandPath: parsed.commandPath
                ).report)
            return .usageError
        }
        let quiet = parsed.flag("quiet")
        let watcher = parsed.flag("abort-on-fail") ? AbortWatcher(scenario.thresholds) : nil
        if let watcher, watcher.isEmpty {
            environment.standardError(
                CommandLineError(
                    "--abort-on-fail needs a threshold over a window, like \"p99[10s] < 100ms\" (scenario '\(scenario.name)' "
                        + "has none; add one with --threshold)", commandPath: parsed.commandPath
                ).report)
            return .usageError
        }
        var launcher = environment.launcher
        let engine: any LoadEngine
        do {
            engine = try Self.engine(environment.engine, threads: parsed)
        } catch {
            environment.standardError(error.report)
            return .usageError
        }
        if let logPath = parsed.string("endpoint-log"), var process = launcher as? ProcessTargetLauncher {
            process.log = .file(logPath.hasPrefix("/") ? logPath : environment.currentDirectory + "/" + logPath)
            launcher = process
        }
        // Ctrl-C / SIGTERM (delivered by `main`): the engine stops the load through its own handler; this one
        // tells the user. Registered for the whole run, so that an interruption is never left unhandled.
        let interruption = environment.interruption
        let printer = ProgressPrinter(terminal: environment.progressIsTerminal, write: environment.standardError)
        let noticeToken = interruption.onStop {
            printer.finish()
            if let trip = watcher?.trip {
                environment.standardError(trip.note + " (calls in flight may finish)\n")
                return
            }
            environment.standardError(
                "interrupted by \(interruption.signal ?? "SIGINT"): stopping (no new calls; calls in flight may "
                    + "finish); interrupt again to exit now\n")
        }
        defer { interruption.remove(noticeToken) }
        let session: TargetSession
        switch await TargetSession.open(scenario.target, launcher: launcher, environment: environment) {
        case .opened(let opened): session = opened
        case .failed(let code): return code
        }
        let url = session.url
        if url.isSecure { environment.standardError(SecureSender.notice(for: url, caFile: scenario.client.tls.caFile)) }
        var plan = RunPlan(scenario: scenario, target: url).sharded(shard)
        plan.liveTimeline = watcher != nil
        var lateBy = 0.0
        if let startAt = overrides.startAt {
            let start = ShardStart(startAt: startAt)
            let wait = start.waitSeconds(now: Date().timeIntervalSince1970, plan: plan)
            if !quiet {
                environment.standardError(
                    "shard \(shard): the load starts at \(startAt)"
                        + (wait > 0 ? " (connecting in \(formatNumber(wait, digits: 1))s)" : "") + "\n")
            }
            await ShardStart.sleep(wait, interruption: interruption)
            let ready = start.plan(plan, readyAt: Date().timeIntervalSince1970)
            plan = ready.plan
            lateBy = ready.lateBy
            if ready.warmupSkipped {
                environment.standardError("shard \(shard): warmup skipped: it could not finish before \(startAt)\n")
            }
            if lateBy > 0 {
                environment.standardError(
                    "shard \(shard): ready \(formatNumber(lateBy, digits: 3))s after the start at \(startAt): the arrivals "
                        + "due before then are not sent (late_start); the schedule is not shifted\n")
            }
        }
        var result: RunResult
        do {
            result = try await engine.run(plan, interruption: interruption) { snapshot in
                if !quiet { printer.show(snapshot) }
                // A threshold that trips after a Ctrl-C must not count as the second (exit-now) interruption.
                if let watcher, watcher.check(snapshot) != nil, !interruption.isInterrupted {
                    interruption.interrupt(signal: "abort-on-fail")
                }
            }
        } catch {
            printer.finish()
            await session.close()
            environment.standardError("error: \(TargetSession.describe(error))\n")
            if let runError = error as? LoadgenRunError, case .targetUnreachable = runError { return .targetUnreachable }
            return .runtimeError
        }
        printer.finish()
        await session.close()
        for record in ShardStart.lateStartRecords(plan, origin: result.timeline.origin ?? 0) { result.record(record) }
        if result.scenarioName.isEmpty { result.scenarioName = scenario.name }
        if result.loadDescription.isEmpty { result.loadDescription = scenario.load.summary }
        if result.target.isEmpty { result.target = url.description }
        if result.requestLabels.isEmpty { result.requestLabels = scenario.requests.map(\.label) }
        let outcomes = scenario.thresholds.map { $0.evaluate(result) }
        let trip = watcher?.trip
        let interrupted = interruption.isInterrupted && trip == nil
        let note = trip?.note ?? (interrupted ? interruptionNote(interruption, load: scenario.load) : nil)
        if !quiet {
            var summary = Report.summary(result, outcomes: outcomes)
            if let note { summary = insert(note, into: summary) }
            if interrupted, !outcomes.isEmpty {
                summary += "(interrupted: the thresholds above describe the partial run and do not decide the exit code)\n"
            }
            // When stdout carries the JSON (`--json -`), everything for people goes to stderr.
            let human = parsed.string("json") == "-" ? environment.standardError : environment.standardOutput
            human(summary)
        } else {
            if let note { environment.standardError(note + "\n") }
            // Quiet runs still say why they failed, so a CI log shows which threshold broke.
            for outcome in outcomes where !outcome.pass {
                environment.standardError("FAIL  \(outcome.threshold.expression)  observed \(outcome.observedText)\n")
            }
        }
        let problems = result.accountingProblems()
        if !problems.isEmpty {
            environment.standardError("warning: the result's numbers do not add up: \(problems.joined(separator: "; "))\n")
        }
        if let path = parsed.string("json") {
            var document = Report.json(result, outcomes: outcomes)
            if interrupted { document = addInterruption(to: document, interruption) }
            if let trip { document = addEarlyStop(to: document, trip) }
            if let startAt = overrides.startAt {
                let section = ShardResult.section(
                    for: result, shard: shard, startAt: startAt, fingerprint: ScenarioFingerprint.of(scenario),
                    lateBySeconds: lateBy)
                document = adding("shard", section, to: document, after: "target")
            }
            guard write(document, to: path, flag: "json", environment: environment) else { return .runtimeError }
        }
        if let path = parsed.string("hdr-log") {
            let log = HdrIntervalLog.latencies(of: result, command: "loadgen run")
            guard write(log.text, to: path, flag: "hdr-log", environment: environment) else { return .runtimeError }
        }
        if let path = parsed.string("junit") {
            let skipped = interrupted ? "run interrupted by \(interruption.signal ?? "SIGINT"): thresholds not judged" : nil
            let xml = JUnitReport.xml(result, outcomes: outcomes, skipped: skipped, note: note)
            guard write(xml, to: path, flag: "junit", environment: environment) else { return .runtimeError }
        }
        // A partial run neither passes nor fails its thresholds: the distinct code says it was cut short.
        if interrupted { return .interrupted }
        // A run stopped by --abort-on-fail failed a threshold, whatever the partial run's final figures say.
        if trip != nil { return .thresholdsFailed }
        return outcomes.allSatisfy(\.pass) ? .success : .thresholdsFailed
    }

    /// Writes an output file given with `--FLAG PATH` (relative paths against the current directory; `-` is
    /// standard output for `--json` only); on failure says so on stderr and returns false.
    static func write(_ contents: String, to path: String, flag: String, environment: LoadgenEnvironment) -> Bool {
        let stdout = path == "-" && flag == "json"
        let absolute = stdout || path.hasPrefix("/") ? path : environment.currentDirectory + "/" + path
        do {
            try environment.writeFile(absolute, contents)
            return true
        } catch {
            environment.standardError("error: cannot write --\(flag) file '\(path)': \(error)\n")
            return false
        }
    }

    /// The summary's line about an interruption: `interrupted by SIGINT after 1.02s of 10s: ...`.
    static func interruptionNote(_ interruption: RunInterruption, load: LoadSpec) -> String {
        let signal = interruption.signal ?? "SIGINT"
        guard let point = interruption.stopPoint else {
            return "interrupted by \(signal) (the engine ran the whole load)"
        }
        if point.nanoseconds < 0 { return "interrupted by \(signal) during the warmup: nothing was measured" }
        let at = formatNumber(point.seconds, digits: 2) + "s"
        if point >= load.duration {
            return "interrupted by \(signal) after \(at), once the load had ended (while calls in flight finished)"
        }
        return "interrupted by \(signal) after \(at) of \(load.duration): no call started after that, calls due later "
            + "are not counted; the rates cover the \(at) run"
    }

    /// Adds `"stopped_early": {"by": "abort-on-fail", "threshold", "at_s", "window_start_s", "observed"}` after
    /// `duration_s` in the `--json` document.
    static func addEarlyStop(to document: String, _ trip: AbortWatcher.Trip) -> String {
        var item = JSONObject()
        item["by"] = .string("abort-on-fail")
        item["threshold"] = .string(trip.outcome.threshold.expression)
        item["at_s"] = .double(trip.at, digits: 3)
        item["window_start_s"] = trip.outcome.worstWindowStart.map { .double($0, digits: 3) } ?? .null
        item["observed"] = trip.outcome.observed.map { .double($0, digits: 6) } ?? .null
        return adding("stopped_early", .object(item), to: document, after: "duration_s")
    }

    /// Adds `key: value` to the `--json` document after the key `after` (at the end when it is absent).
    static func adding(_ key: String, _ value: JSONValue, to document: String, after: String) -> String {
        guard case .object(var root)? = try? LoadgenJSON.parse(document) else { return document }
        let pair = JSONObject.Pair(key: key, value: value)
        if let position = root.pairs.firstIndex(where: { $0.key == after }) {
            root.pairs.insert(pair, at: position + 1)
        } else {
            root.pairs.append(pair)
        }
        return LoadgenJSON.serialize(.object(root), indent: 2) + "\n"
    }

    /// Puts `note` after the summary's first (title) line.
    static func insert(_ note: String, into summary: String) -> String {
        let start = summary.hasPrefix("\n") ? summary.index(after: summary.startIndex) : summary.startIndex
        guard let titleEnd = summary[start...].firstIndex(of: "\n") else { return summary + note + "\n" }
        let after = summary.index(after: titleEnd)
        return String(summary[..<after]) + note + "\n" + String(summary[after...])
    }

    /// Adds `"interrupted": {"signal": "SIGINT", "after_s": 1.024}` after `duration_s` in the `--json`
    /// document (`after_s` is `null` when the engine did not stop early; negative during the warmup).
    static func addInterruption(to document: String, _ interruption: RunInterruption) -> String {
        var item = JSONObject()
        item["signal"] = .string(interruption.signal ?? "SIGINT")
        item["after_s"] = interruption.stopPoint.map { .double($0.seconds, digits: 3) } ?? .null
        return adding("interrupted", .object(item), to: document, after: "duration_s")
    }

}

extension LoadgenCommand {
    /// `engine` with the `--threads` of `parsed` applied (a network engine's event-loop threads).
    static func engine(_ engine: any LoadEngine, threads parsed: ParsedArguments) throws(CommandLineError) -> any LoadEngine {
        guard let threads = try parsed.int("threads", in: 1...256), var network = engine as? NetworkLoadEngine else {
            return engine
        }
        network.configuration.threads = threads
        return network
    }
}
