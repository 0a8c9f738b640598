import CommandLine
import Foundation

/// `loadgen capacity SCENARIO --sla "p99 < 100ms, error_rate < 1%"`: the highest constant arrival rate that
/// meets the SLA. The scenario's requests, client policy and target stay; only the load shape is replaced by
/// open-loop constant-rate steps, chosen by `CapacitySearch` and judged by `StepJudge`.
enum CapacityCommand {
    static let exitCodes = """
        EXIT CODES:
            0  capacity found and confirmed
            1  the SLA fails even at the start rate, or no rate held for the confirmation step
            2  usage error or invalid scenario
            3  could not reach the target (or the embedded endpoint did not start)
            4  other runtime error (engine failure, cannot write the --json or --hdr-log file)
          130  interrupted (Ctrl-C or SIGTERM): the steps so far are still reported and written
        """

    /// The subcommand's definition for `LoadgenCommand.spec`.
    static let spec = CommandSpec(
        name: "capacity", abstract: "Find the highest constant arrival rate that meets an SLA.",
        discussion: """
            Replaces the scenario's load with open-loop constant-rate steps (same requests, client policy and
            target). Without --start a 2s closed-loop probe picks it (half the rate 4 users achieve). The rate
            doubles until a step fails the SLA, then the last pass and the first fail are bisected on a log
            scale until they are within --precision, and the last passing rate is confirmed by one longer step
            (if that fails, the search steps down by the precision and confirms again).
            Every step has its own warm-up (the scenario's warmup, or 1s), discarded, and lasts long enough for
            the SLA's percentile: p99 needs at least 459 completed calls (no exceedance by chance at 99%
            confidence), p99.9 4,603; a step with fewer is inconclusive and repeated once, twice as long.
            A step whose SLA fails only because calls waited in the generator (service time from the actual
            send meets it) is generator-limited and never reported as the endpoint's capacity.
            The answer is a bracket: capacity: 47.5/s (last pass) – 49.9/s (first fail), confirmed over 20s.

            \(exitCodes)
            """,
        options: [
            .value(
                "sla", valueName: "THRESHOLDS",
                help: "Comma-separated thresholds, as in scenarios (default: the scenario's thresholds)."),
            .value("start", valueName: "R", help: "First rate to try (default: picked by a short probe)."),
            .value("max", valueName: "R", help: "Highest rate to try (default 100000/s)."),
            .value("precision", valueName: "P", help: "Width of the final bracket (default 5%)."),
            .value("step-duration", valueName: "D", help: "Length of each search step (default 5s)."),
            .value("confirm-duration", valueName: "D", help: "Length of the confirmation step (default 20s)."),
            .value("url", short: "u", valueName: "URL", help: "Send to this endpoint instead of the scenario's target."),
            .value("json", valueName: "OUT.json", help: "Write the search as JSON ('-' for stdout)."),
            .value("hdr-log", valueName: "FILE", help: "Write every step's latencies as an HdrHistogram interval log."),
            .value("threads", valueName: "N", help: "Event-loop threads of the load engine (default: one per core)."),
            .value(
                "endpoint-log", valueName: "FILE",
                help: "Append the embedded endpoint's log (requests, model output, tracebacks) to FILE."),
            .flag("quiet", short: "q", help: "Print only the answer line (errors still go to stderr)."),
        ],
        positionals: [PositionalSpec("SCENARIO", help: "path to the scenario JSON file")])

    /// The parsed command line.
    struct Options {
        var sla: [Threshold]?
        var start: Double?
        var maxRate: Double = 100_000
        var precision: Double = 0.05
        var stepDuration: DurationValue = .seconds(5)
        var confirmDuration: DurationValue = .seconds(20)
        var url: TargetURL?
        var json: String?
        var hdrLog: String?
        var threads: Int?
        var quiet = false
    }

    /// Parses the options, with errors naming the flag and the value.
    static func options(_ parsed: ParsedArguments) throws(CommandLineError) -> Options {
        var options = Options()
        if let text = parsed.string("sla") {
            var thresholds: [Threshold] = []
            for part in text.split(separator: ",") where !part.trimmingWhitespace().isEmpty {
                do {
                    thresholds.append(try Threshold(parsing: part.trimmingWhitespace()))
                } catch {
                    throw CommandLineError("--sla: \(error.message)", commandPath: parsed.commandPath)
                }
            }
            guard !thresholds.isEmpty else {
                throw CommandLineError(
                    "--sla expects thresholds like \"p99 < 100ms, error_rate < 1%\", got '\(text)'",
                    commandPath: parsed.commandPath)
            }
            options.sla = thresholds
        }
        func rate(_ name: String) throws(CommandLineError) -> Double? {
            try parsed.value(name, expected: "a positive rate (like 50 or 50/s)") { text in
                guard let rate = RateValue(parsing: text), rate.perSecond > 0, rate.perSecond <= RateValue.maximum else {
                    return nil
                }
                return rate.perSecond
            }
        }
        options.start = try rate("start")
        if let maxRate = try rate("max") { options.maxRate = maxRate }
        if let start = options.start, start > options.maxRate {
            throw CommandLineError(
                "--start (\(formatNumber(start, digits: 3))/s) is above --max (\(formatNumber(options.maxRate, digits: 3))/s)",
                commandPath: parsed.commandPath)
        }
        if let precision = try parsed.value(
            "precision", expected: "a fraction between 0.1% and 100% (like 5% or 0.05)", { text -> Double? in
                let value = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
                guard let value, value >= 0.001, value <= 1 else { return nil }
                return value
            })
        {
            options.precision = precision
        }
        func duration(_ name: String) throws(CommandLineError) -> DurationValue? {
            try parsed.value(name, expected: "a duration of at least 1s like 5s") { text in
                guard let duration = DurationValue(parsing: text), duration.nanoseconds >= 1_000_000_000 else { return nil }
                return duration
            }
        }
        if let step = try duration("step-duration") { options.stepDuration = step }
        if let confirm = try duration("confirm-duration") { options.confirmDuration = confirm }
        if let url = parsed.string("url") {
            do {
                options.url = try TargetURL(parsing: url)
            } catch {
                throw CommandLineError(
                    "--url expects a URL like http://127.0.0.1:8080 or https://host, got '\(url)' (\(error.message))",
                    commandPath: parsed.commandPath)
            }
        }
        options.json = parsed.string("json")
        options.hdrLog = parsed.string("hdr-log")
        options.threads = try parsed.int("threads", in: 1...256)
        options.quiet = parsed.flag("quiet")
        return options
    }

    /// Runs `loadgen capacity`.
    static func run(_ parsed: ParsedArguments, environment: LoadgenEnvironment) async -> LoadgenExitCode {
        let options: Options
        do {
            options = try self.options(parsed)
        } catch {
            environment.standardError(error.report)
            return .usageError
        }
        guard var scenario = LoadgenCommand.loadScenario(parsed, environment: environment) else { return .usageError }
        if let url = options.url { scenario.target = .url(url) }
        let sla = options.sla ?? scenario.thresholds
        guard !sla.isEmpty else {
            environment.standardError(
                "error: no SLA to search against: give --sla \"p99 < 100ms, error_rate < 1%\" or thresholds in the scenario\n")
            return .usageError
        }
        var engine = environment.engine
        if let threads = options.threads, var network = engine as? NetworkLoadEngine {
            network.configuration.threads = threads
            engine = network
        }
        var launcher = environment.launcher
        if let logPath = parsed.string("endpoint-log"), var process = launcher as? ProcessTargetLauncher {
            process.log = .file(logPath.hasPrefix("/") ? logPath : environment.currentDirectory + "/" + logPath)
            launcher = process
        }
        let session: TargetSession
        switch await TargetSession.open(scenario.target, launcher: launcher, environment: environment) {
        case .opened(let opened): session = opened
        case .failed(let code): return code
        }
        if session.url.isSecure {
            environment.standardError(SecureSender.notice(for: session.url, caFile: scenario.client.tls.caFile))
        }
        var search = CapacitySearchRun(
            scenario: scenario, url: session.url, sla: sla, options: options, engine: engine, environment: environment)
        let outcome = await search.run()
        await session.close()
        return search.finish(outcome)
    }
}
