import Foundation

/// The IO around an experiment: for each run of each variant, starts a fresh embedded endpoint, runs the
/// variant's scenario on the load engine, reads the endpoint's `/stats` once it is idle, and stops it.
/// With several runs per variant the variants are interleaved (A1 B1 C1 A2 B2 C2 …), so that a slow
/// stretch of a shared machine does not land on one variant only.
struct ExperimentRun {
    let experiment: Experiment
    let runsPerVariant: Int
    let engine: any LoadEngine
    let launcher: any TargetLauncher
    let environment: LoadgenEnvironment
    /// No progress lines.
    let quiet: Bool
    var statsReader = EndpointStatsReader()

    /// How the experiment ended.
    enum Ending {
        /// Every run ran.
        case completed
        /// Ctrl-C or SIGTERM stopped it; the runs so far are in the outcome.
        case interrupted
        /// A run could not start or the engine failed: the exit code (the user has been told why).
        case failed(LoadgenExitCode)
    }

    /// Runs every variant `runsPerVariant` times; returns what was measured and how it ended.
    func run() async -> (ExperimentOutcome, Ending) {
        var summaries = experiment.variants.map { VariantSummary(name: $0.name, runs: []) }
        func outcome() -> ExperimentOutcome { ExperimentOutcome(experiment: experiment, variants: summaries, runsPerVariant: runsPerVariant) }
        for round in 0..<runsPerVariant {
            for (index, variant) in experiment.variants.enumerated() {
                var scenario = variant.scenario
                scenario.seed = scenario.seed &+ UInt64(round)
                if !quiet {
                    let which = runsPerVariant > 1 ? " (run \(round + 1) of \(runsPerVariant), seed \(scenario.seed))" : ""
                    environment.standardError("variant \(variant.name)\(which): \(scenario.load.summary)\n")
                }
                switch await runOnce(scenario) {
                case .measured(let metrics):
                    summaries[index].runs.append(metrics)
                case .interrupted:
                    return (outcome(), .interrupted)
                case .failed(let code):
                    return (outcome(), .failed(code))
                }
            }
        }
        return (outcome(), .completed)
    }

    /// What one run gave.
    enum RunOutcome {
        case measured(VariantMetrics)
        case interrupted
        case failed(LoadgenExitCode)
    }

    /// One run of one variant against its own endpoint.
    func runOnce(_ scenario: Scenario) async -> RunOutcome {
        let session: TargetSession
        switch await TargetSession.open(scenario.target, launcher: launcher, environment: environment) {
        case .opened(let opened): session = opened
        case .failed(let code): return code == .interrupted ? .interrupted : .failed(code)
        }
        let printer = quiet ? nil : ProgressPrinter(terminal: environment.progressIsTerminal, write: environment.standardError)
        let result: RunResult
        do {
            result = try await engine.run(
                RunPlan(scenario: scenario, target: session.url), interruption: environment.interruption,
                progress: { snapshot in printer?.show(snapshot) })
        } catch {
            printer?.finish()
            await session.close()
            environment.standardError("error: \(scenario.name): \(TargetSession.describe(error))\n")
            if let runError = error as? LoadgenRunError, case .targetUnreachable = runError { return .failed(.targetUnreachable) }
            return .failed(.runtimeError)
        }
        printer?.finish()
        if environment.interruption.isInterrupted {
            await session.close()
            return .interrupted
        }
        var wasted: Int64?
        switch await statsReader.read(session.url) {
        case .stats(let stats, let settled):
            wasted = stats.servedAfterClientLeft
            if !settled {
                environment.standardError(
                    "warning: \(scenario.name): the endpoint still held \(stats.queued) queued and \(stats.inFlight) running "
                        + "calls \(statsReader.settleTimeout) after the load; wasted work counted so far: \(stats.servedAfterClientLeft)\n")
            }
        case .unavailable(let reason):
            environment.standardError("warning: \(scenario.name): wasted work not measured: \(reason)\n")
        }
        await session.close()
        let problems = result.accountingProblems()
        if !problems.isEmpty {
            environment.standardError(
                "warning: \(scenario.name): the result's numbers do not add up: \(problems.joined(separator: "; "))\n")
        }
        return .measured(
            VariantMetrics(result: result, trigger: experiment.trigger, deadline: experiment.deadline, wasted: wasted))
    }
}
