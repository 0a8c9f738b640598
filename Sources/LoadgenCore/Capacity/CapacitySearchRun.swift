import Foundation

/// The IO around a `CapacitySearch`: runs the probe and each step on the load engine, prints the table as
/// steps end, and writes `--json` and `--hdr-log` at the end (also after an interruption).
struct CapacitySearchRun {
    let scenario: Scenario
    let url: TargetURL
    let sla: [Threshold]
    let options: CapacityCommand.Options
    let engine: any LoadEngine
    let environment: LoadgenEnvironment

    /// Users of the closed-loop probe that picks the start rate.
    static let probeUsers = 4
    /// Length of the probe.
    static let probeDuration = DurationValue.seconds(2)
    /// Pause after a step in which calls timed out. The engine's drain waits for every call it sent, so the
    /// endpoint is idle after a step, except for calls the client abandoned at its timeout: those may still
    /// be queued or running there, and would slow the next step down.
    static let cooldown = Duration.seconds(1)

    private(set) var steps: [CapacityStepResult] = []
    private(set) var probe: (users: Int, result: RunResult, start: Double)?
    private(set) var interrupted = false
    private var logStart: Double?

    init(
        scenario: Scenario, url: TargetURL, sla: [Threshold], options: CapacityCommand.Options, engine: any LoadEngine,
        environment: LoadgenEnvironment
    ) {
        self.scenario = scenario
        self.url = url
        self.sla = sla
        self.options = options
        self.engine = engine
        self.environment = environment
    }

    /// How the search ended.
    enum Outcome {
        case concluded(CapacityConclusion)
        case interrupted
        case engineFailed(any Error)
    }

    /// Where people read: stderr when stdout carries the JSON.
    private var human: @Sendable (String) -> Void {
        options.json == "-" ? environment.standardError : environment.standardOutput
    }

    /// Runs the search to its end.
    mutating func run() async -> Outcome {
        let judge = StepJudge(sla: sla)
        if !options.quiet {
            human(
                "capacity search: \(scenario.name) against \(url), SLA \(sla.map(\.expression).joined(separator: ", ")), "
                    + "precision \(formatNumber(options.precision * 100, digits: 2))%\n")
        }
        var start = options.start
        if start == nil {
            do {
                guard let probed = try await runProbe() else { return .interrupted }
                start = probed
            } catch {
                return .engineFailed(error)
            }
        }
        var search = CapacitySearch(
            .init(
                start: start ?? 1, maxRate: options.maxRate, precision: options.precision,
                maxHalvings: options.start == nil ? 4 : 0))
        if !options.quiet { human(CapacityReport.header) }
        var next = search.begin()
        while case .step(let rate, let phase, let extended) = next {
            let step: CapacityStepResult
            do {
                guard let measured = try await runStep(rate: rate, phase: phase, extended: extended, judge: judge) else {
                    return .interrupted
                }
                step = measured
            } catch {
                return .engineFailed(error)
            }
            steps.append(step)
            if !options.quiet { human(CapacityReport.row(steps.count, step)) }
            next = search.record(step.verdict)
            let abandoned = step.result.attemptErrors.byKind[.timeout, default: 0] > 0
            if case .step = next, abandoned { try? await Task.sleep(for: Self.cooldown) }
        }
        guard case .done(let conclusion) = next else { return .interrupted }
        return .concluded(conclusion)
    }

    /// The closed-loop probe; returns the start rate (half what it achieved), nil when interrupted.
    private mutating func runProbe() async throws -> Double? {
        var probing = scenario
        probing.load = .closed(users: Self.probeUsers, duration: Self.probeDuration, thinkTime: DurationValue(nanoseconds: 0))
        probing.warmup = DurationValue(nanoseconds: 0)
        let result = try await engine.run(
            RunPlan(scenario: probing, target: url), interruption: environment.interruption, progress: { _ in })
        if environment.interruption.isInterrupted {
            interrupted = true
            return nil
        }
        let start = max(1, (result.goodput / 2).rounded(.down))
        probe = (Self.probeUsers, result, start)
        if !options.quiet {
            human(
                "probe: \(Self.probeUsers) users for \(Self.probeDuration) achieved \(formatNumber(result.goodput, digits: 1))/s; "
                    + "starting at \(formatNumber(start, digits: 1))/s\n")
        }
        return start
    }

    /// Runs one step: warm-up, then `rate` for long enough to judge the SLA; nil when interrupted.
    private mutating func runStep(rate: Double, phase: CapacitySearch.Phase, extended: Bool, judge: StepJudge)
        async throws -> CapacityStepResult?
    {
        var stepping = scenario
        let base = phase == .confirm ? options.confirmDuration : options.stepDuration
        // Long enough for the samples the SLA needs, with 10% to spare for calls that fail or are not sent;
        // capped so that a very low rate cannot stall the search (such a step may then be inconclusive).
        let needed = Double(judge.requiredSamples) * 1.1 / rate
        var seconds = max(base.seconds, needed)
        if extended { seconds *= 2 }
        seconds = min(seconds, max(base.seconds * 10, 120))
        let duration = DurationValue(nanoseconds: Int64((seconds * 1e9).rounded(.up)))
        stepping.load = .constantRate(rate: rate, duration: duration)
        if stepping.warmup.nanoseconds <= 0 { stepping.warmup = .seconds(1) }
        var printer: ProgressPrinter?
        if !options.quiet {
            printer = ProgressPrinter(terminal: environment.progressIsTerminal, write: environment.standardError)
        }
        let shown = printer
        var result = try await engine.run(
            RunPlan(scenario: stepping, target: url), interruption: environment.interruption,
            progress: { snapshot in shown?.show(snapshot) })
        printer?.finish()
        if result.scenarioName.isEmpty { result.scenarioName = scenario.name }
        if result.target.isEmpty { result.target = url.description }
        if environment.interruption.isInterrupted {
            interrupted = true
            steps.append(
                CapacityStepResult(
                    rate: rate, phase: phase, result: result, verdict: .inconclusive,
                    reason: "interrupted by \(environment.interruption.signal ?? "SIGINT")"))
            return nil
        }
        let (verdict, reason) = judge.judge(result)
        return CapacityStepResult(rate: rate, phase: phase, result: result, verdict: verdict, reason: reason)
    }

    /// Prints the answer, writes the files, and returns the exit code.
    func finish(_ outcome: Outcome) -> LoadgenExitCode {
        var conclusion: CapacityConclusion?
        var code: LoadgenExitCode
        switch outcome {
        case .concluded(let found):
            conclusion = found
            human(CapacityReport.answer(found, confirmSeconds: confirmSeconds))
            code = found.lastPass != nil && found.confirmed ? .success : .thresholdsFailed
        case .interrupted:
            if !options.quiet, let last = steps.last { human(CapacityReport.row(steps.count, last)) }
            environment.standardError(
                "interrupted by \(environment.interruption.signal ?? "SIGINT"): the search stopped after \(steps.count) step(s)\n")
            code = .interrupted
        case .engineFailed(let error):
            environment.standardError("error: \(TargetSession.describe(error))\n")
            if let runError = error as? LoadgenRunError, case .targetUnreachable = runError {
                code = .targetUnreachable
            } else {
                code = .runtimeError
            }
        }
        if let path = options.json {
            let document = CapacityReport.json(
                scenario: scenario.name, target: url.description, sla: sla, precision: options.precision, probe: probe,
                steps: steps, conclusion: conclusion, interrupted: interrupted)
            if !write(document, to: path, flag: "--json") && code == .success { code = .runtimeError }
        }
        if let path = options.hdrLog {
            if !write(hdrLog(), to: path, flag: "--hdr-log") && code == .success { code = .runtimeError }
        }
        return code
    }

    private var confirmSeconds: Double {
        steps.last(where: { $0.phase == .confirm && $0.verdict == .pass })?.durationSeconds ?? options.confirmDuration.seconds
    }

    /// Every step's intervals in one HdrHistogram interval log, tagged `step-N`, on one time axis.
    private func hdrLog() -> String {
        let start = steps.compactMap(\.result.startTime).min() ?? Date().timeIntervalSince1970
        var log = HdrIntervalLog(
            startTime: start,
            comments: ["loadgen capacity: \(scenario.name), SLA \(sla.map(\.expression).joined(separator: ", "))"])
        for (index, step) in steps.enumerated() {
            let offset = (step.result.startTime ?? start) - start
            log.append(step.result.timeline, offset: offset, tag: "step-\(index + 1)")
        }
        return log.text
    }

    private func write(_ contents: String, to path: String, flag: String) -> Bool {
        let absolute = path == "-" || path.hasPrefix("/") ? path : environment.currentDirectory + "/" + path
        do {
            try environment.writeFile(absolute, contents)
            return true
        } catch {
            environment.standardError("error: cannot write \(flag) file '\(path)': \(error)\n")
            return false
        }
    }
}
