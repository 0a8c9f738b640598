import Foundation
import Synchronization
import Testing

@testable import EndpointSpec
@testable import LoadgenCore

/// `RunInterruption` on its own: who is told, when, and what the signal thread should do.
@Suite struct RunInterruptionTests {
    @Test func firstInterruptionRunsStopHandlersOnceAndLaterOnesAbort() {
        let interruption = RunInterruption()
        let stops = Tally()
        let aborts = Tally()
        #expect(!interruption.isInterrupted && interruption.signal == nil && interruption.stopPoint == nil)
        interruption.onStop { stops.add(1) }
        interruption.onStop { stops.add(10) }
        interruption.onAbort { aborts.add(1) }
        #expect(interruption.interrupt(signal: "SIGTERM") == .stopping)
        #expect(stops.count == 11)
        #expect(aborts.count == 0)
        #expect(interruption.signal == "SIGTERM" && interruption.count == 1)
        #expect(interruption.interrupt(signal: "SIGINT") == .abort)
        #expect(interruption.interrupt() == .abort)
        #expect(stops.count == 11)
        #expect(aborts.count == 2)
        #expect(interruption.signal == "SIGTERM" && interruption.count == 3)
    }

    @Test func nobodyListeningIsUnhandled() {
        let interruption = RunInterruption()
        let removed = interruption.onStop { Issue.record("a removed handler ran") }
        interruption.remove(removed)
        let abort = interruption.onAbort { Issue.record("a removed abort handler ran") }
        interruption.remove(abort)
        #expect(interruption.interrupt() == .unhandled)
        #expect(interruption.isInterrupted)
        #expect(interruption.interrupt() == .abort)
    }

    @Test func aStopHandlerRegisteredAfterTheInterruptionRunsAtOnce() {
        let interruption = RunInterruption()
        interruption.interrupt()
        let ran = Tally()
        interruption.onStop { ran.add(1) }
        #expect(ran.count == 1)
        interruption.recordStopPoint(.milliseconds(1500))
        #expect(interruption.stopPoint == .milliseconds(1500))
    }
}

/// The network engine interrupted mid-run against an in-process NetIO server on 127.0.0.1. The interruption
/// comes through the same hook the signal thread uses, triggered from a progress report once about a second
/// has been measured. The only timed assertion is the generous "returned well before the planned 10s".
@Suite(.serialized) struct InterruptEngineTests {
    let twoLoops = NetworkLoadEngine(configuration: .init(threads: 2))

    /// Interrupts `interruption` at the first progress report at or after `after` of measurement.
    static func trigger(_ interruption: RunInterruption, after: DurationValue) -> @Sendable (ProgressSnapshot) -> Void {
        { snapshot in
            if !snapshot.warmingUp, snapshot.elapsed >= after, !interruption.isInterrupted {
                interruption.interrupt(signal: "SIGINT")
            }
        }
    }

    /// Open-loop arrivals due at or before `point` (the cut).
    static func arrivals(_ load: LoadSpec, dueBy point: DurationValue) -> Int64 {
        guard let schedule = ArrivalSchedule(load: load) else { return -1 }
        var count: Int64 = 0
        while count < schedule.count, schedule.intendedTime(of: count) <= point.nanoseconds { count += 1 }
        return count
    }

    /// Runs `plan`, interrupting after `after`; returns the result and the interruption. (Whether the run
    /// stopped early is judged from the result, its stop point and what reached the target, not from the wall
    /// clock, which a loaded machine stretches.)
    func interruptedRun(_ plan: RunPlan, after: DurationValue) async throws -> (RunResult, RunInterruption) {
        let interruption = RunInterruption()
        let result = try await twoLoops.run(
            plan, interruption: interruption, progress: Self.trigger(interruption, after: after))
        return (result, interruption)
    }

    @Test func openLoopStopsAtTheCutAndCountsOnlyTheArrivalsDueBeforeIt() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let load = LoadSpec.constantRate(rate: 100, duration: .seconds(10))
        let body = ValueTemplate.object([TemplateField(key: "n", value: .sequence(start: 0, step: 1))])
        let plan = enginePlan(
            port: target.port, load: load, requests: [RequestSpec(route: "/work", method: "POST", body: body)])
        let (result, interruption) = try await interruptedRun(plan, after: .seconds(1))

        let point = try #require(interruption.stopPoint)
        #expect(point >= .seconds(1) && point < .seconds(10))
        // The schedule is cut at the interruption: exactly the arrivals due by then are counted.
        #expect(result.calls == Self.arrivals(load, dueBy: point))
        #expect(result.calls < 1000)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.accountingProblems().isEmpty)
        #expect(Set(result.notSent.keys).isSubset(of: [.interrupted]))
        // No call counted twice: every request the server saw is one attempt, every body arrived once.
        #expect(result.attempts == Int64(target.requests))
        let bodies = target.counters.bodies.withLock { $0 }
        #expect(Set(bodies).count == bodies.count)
        #expect(Int64(bodies.count) == result.sent)
        // The window is the time run, not the planned 10s.
        #expect(result.elapsedNanoseconds >= point.nanoseconds)
        #expect(result.elapsedNanoseconds < DurationValue.seconds(10).nanoseconds)
    }

    @Test func callsWaitingForAConnectionAreNotSentInterruptedAndCallsInFlightFinish() async throws {
        // Two connections, each call takes 200ms: 10 calls/s can be served, 50/s are due, so calls queue.
        let target = try EngineTestTarget { _ in .delayed(milliseconds: 200, status: 200) }
        defer { target.shutdown() }
        let load = LoadSpec.constantRate(rate: 50, duration: .seconds(10))
        let plan = enginePlan(port: target.port, load: load, client: ClientSpec(connections: 2))
        let (result, interruption) = try await interruptedRun(plan, after: .seconds(1))

        let point = try #require(interruption.stopPoint)
        #expect(result.calls == Self.arrivals(load, dueBy: point))
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.accountingProblems().isEmpty)
        #expect((result.notSent[.interrupted] ?? 0) > 0)
        #expect(Set(result.notSent.keys) == [.interrupted])
        // Calls in flight at the cut got the drain and succeeded; each sent call was sent once.
        #expect(result.failed == 0)
        #expect(result.ok == Int64(target.requests))
        #expect(result.attempts == result.ok)
    }

    @Test func theDrainIsCountedFromTheCut() async throws {
        // The server never answers: the two calls in flight at the cut fail (timeout) when the drain, counted
        // from the cut, ends; the calls waiting for a connection are not sent.
        let target = try EngineTestTarget { _ in .hold }
        defer { target.shutdown() }
        let load = LoadSpec.constantRate(rate: 20, duration: .seconds(10))
        let plan = enginePlan(
            port: target.port, load: load, client: ClientSpec(connections: 2, timeout: .seconds(30)),
            drain: .milliseconds(300))
        let (result, interruption) = try await interruptedRun(plan, after: .milliseconds(500))

        let point = try #require(interruption.stopPoint)
        #expect(result.calls == Self.arrivals(load, dueBy: point))
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.accountingProblems().isEmpty)
        #expect(result.ok == 0)
        #expect(result.failed == 2)
        #expect(result.callFailures.byKind[.timeout] == 2)
        #expect(result.notSent[.interrupted] == result.calls - 2)
        #expect(Int64(target.requests) == 2)
        #expect(result.elapsedNanoseconds >= point.nanoseconds + DurationValue.milliseconds(300).nanoseconds)
    }

    @Test func closedLoopUsersStopAtTheCut() async throws {
        let target = try EngineTestTarget { _ in .delayed(milliseconds: 5, status: 200) }
        defer { target.shutdown() }
        let load = LoadSpec.closed(users: 4, duration: .seconds(10), thinkTime: .milliseconds(10))
        let plan = enginePlan(port: target.port, load: load, client: ClientSpec(connections: 4))
        let (result, interruption) = try await interruptedRun(plan, after: .seconds(1))

        let point = try #require(interruption.stopPoint)
        #expect(point >= .seconds(1) && point < .seconds(10))
        #expect(result.calls > 0)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.accountingProblems().isEmpty)
        #expect(Set(result.notSent.keys).isSubset(of: [.interrupted]))
        #expect(result.attempts == Int64(target.requests))
        #expect(result.ok == result.sent)
        #expect(result.elapsedNanoseconds >= point.nanoseconds)
        #expect(result.elapsedNanoseconds < DurationValue.seconds(10).nanoseconds)
    }

    @Test func interruptedDuringTheWarmupMeasuresNothing() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let load = LoadSpec.constantRate(rate: 50, duration: .seconds(10))
        let plan = enginePlan(port: target.port, load: load, warmup: .seconds(10))
        let interruption = RunInterruption()
        let result = try await twoLoops.run(plan, interruption: interruption) { snapshot in
            if snapshot.warmingUp, !interruption.isInterrupted { interruption.interrupt() }
        }
        let point = try #require(interruption.stopPoint)
        #expect(point.nanoseconds < 0)
        #expect(result.calls == 0)
        #expect(result.elapsedNanoseconds == 0)
        // Every warmup call that was sent reached the target; an arrival due at the very moment of the cut (at
        // most one per loop) is counted as a warmup call without being sent.
        #expect(result.warmupCalls >= Int64(target.requests))
        #expect(result.warmupCalls - Int64(target.requests) <= 2)
        #expect(result.warmupCalls > 0)
    }

    @Test func interruptedBeforeTheRunSendsNothing() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let plan = enginePlan(port: target.port, load: .closed(users: 2, duration: .seconds(10), thinkTime: .seconds(0)))
        let interruption = RunInterruption()
        interruption.interrupt()
        let result = try await twoLoops.run(plan, interruption: interruption) { _ in }
        #expect(result.calls == 0)
        #expect(target.requests == 0)
        #expect(result.elapsedNanoseconds == 0)
        #expect((interruption.stopPoint?.nanoseconds ?? 0) <= 0)
    }
}

/// `loadgen run` interrupted through `LoadgenEnvironment.interruption`, the hook `main`'s signal thread uses.
@Suite(.serialized) struct InterruptCommandTests {
    /// An environment whose standard error interrupts the run at the first progress line.
    struct Harness {
        let directory: TempDir
        let out = Buffer()
        let err = Buffer()
        let files = Buffer()
        let interruption = RunInterruption()

        init(scenario: String) throws {
            directory = try TempDir()
            try directory.write("s.json", scenario)
        }

        func environment(engine: any LoadEngine, launcher: any TargetLauncher = InterruptLauncher()) -> LoadgenEnvironment {
            let err = self.err
            let files = self.files
            let interruption = self.interruption
            return LoadgenEnvironment(
                engine: engine, launcher: launcher, standardOutput: out.append,
                standardError: { text in
                    err.append(text)
                    if text.contains("req/s"), !interruption.isInterrupted { interruption.interrupt(signal: "SIGINT") }
                },
                progressIsTerminal: false, currentDirectory: directory.path,
                writeFile: { path, contents in files.append(contents) }, interruption: interruption)
        }
    }

    static func scenario(port: Int, extra: String = "") -> String {
        """
        {"name": "interrupt-me", "target": {"url": "http://127.0.0.1:\(port)"}, "requests": [{"route": "/work"}],
         "load": {"type": "constant-rate", "rate": 50, "duration": "10s"}, "client": {"connections": 4},
         "thresholds": ["error_rate < 1%", "goodput > 1000/s"]\(extra)}
        """
    }

    @Test func interruptedRunPrintsTheSummaryAndExits130() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let harness = try Harness(scenario: Self.scenario(port: target.port))
        defer { harness.directory.cleanup() }
        let code = await LoadgenCommand.main(
            ["run", "s.json", "--json", "out.json", "--threads", "1"],
            environment: harness.environment(engine: NetworkLoadEngine()))
        #expect(code == LoadgenExitCode.interrupted.rawValue)
        #expect(code == 130)
        let out = harness.out.text
        let err = harness.err.text
        #expect(err.contains("interrupted by SIGINT: stopping"))
        #expect(!err.contains("warning"))
        // The summary says so right under its title, and the thresholds were still evaluated.
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count > 3)
        #expect(lines.count > 2 && lines[1].hasPrefix("interrupt-me: constant-rate 50/s for 10s"))
        #expect(lines.count > 2 && lines[2].hasPrefix("interrupted by SIGINT after "))
        #expect(lines.count > 2 && lines[2].contains(" of 10s: no call started after that"))
        #expect(out.contains("thresholds:\n") && out.contains("  error_rate < 1%"))
        #expect(out.contains("FAIL  goodput > 1000/s"))
        #expect(out.contains("do not decide the exit code"))
        // The JSON report carries the interruption next to the window it explains.
        guard case .object(let root) = try JSON.parse(Array(harness.files.text.utf8)) else {
            Issue.record("the --json document is not an object")
            return
        }
        let keys = root.pairs.map(\.key)
        let position = try #require(keys.firstIndex(of: "duration_s"))
        #expect(keys.count > position + 1 && keys[position + 1] == "interrupted")
        guard case .object(let item)? = root["interrupted"], case .number(let after)? = item["after_s"] else {
            Issue.record("no interrupted.after_s in \(harness.files.text)")
            return
        }
        #expect(item["signal"] == .string("SIGINT"))
        let seconds = try #require(Double(after))
        #expect(seconds > 0.5 && seconds < 10)
        guard case .number(let calls)? = root["calls"], case .number(let ok)? = root["ok"] else {
            Issue.record("no calls/ok")
            return
        }
        // An arrival due at the very moment of the cut may not have started: it is counted as not sent
        // (interrupted); nothing fails against a server that always answers 200.
        guard case .object(let notSent)? = root["not_sent"], case .number(let notSentTotal)? = notSent["total"],
            case .number(let failed)? = root["failed"]
        else {
            Issue.record("no not_sent/failed")
            return
        }
        #expect(Int(failed) == 0)
        #expect(Int(calls) == (Int(ok) ?? 0) + (Int(notSentTotal) ?? 0))
        #expect(root["passed"] == .bool(false))
    }

    @Test func quietInterruptedRunSaysSoOnStandardError() async throws {
        let harness = try Harness(scenario: Self.scenario(port: 45678))
        defer { harness.directory.cleanup() }
        // --quiet prints no progress line, so the engine interrupts itself once it is running.
        let engine = SelfInterruptingEngine(honour: true)
        let code = await LoadgenCommand.main(["run", "s.json", "-q"], environment: harness.environment(engine: engine))
        #expect(code == 130)
        #expect(harness.out.text.isEmpty)
        #expect(harness.err.text.contains("interrupted by SIGINT after 1.5s of 10s"))
        #expect(harness.err.text.contains("FAIL  goodput > 1000/s"))
    }

    @Test func anEngineThatCannotStopEarlyStillGives130() async throws {
        let harness = try Harness(scenario: Self.scenario(port: 45678))
        defer { harness.directory.cleanup() }
        let code = await LoadgenCommand.main(
            ["run", "s.json"], environment: harness.environment(engine: SelfInterruptingEngine(honour: false)))
        #expect(code == 130)
        #expect(harness.out.text.contains("interrupted by SIGINT (the engine ran the whole load)"))
    }

    /// A harness whose scenario targets an embedded endpoint (a model folder with no model in it: the tests'
    /// launchers never start Python).
    static func embeddedHarness() throws -> Harness {
        let embedded = """
            {"target": {"embedded": {"modelDir": "model", "routes": [{"path": "/p", "verb": "POST", "file": "m",
             "function": "f", "positional": false, "body": []}]}}, "requests": [{"route": "/p", "method": "POST"}],
             "load": {"type": "closed", "users": 1, "duration": "10s"}}
            """
        let harness = try Harness(scenario: embedded)
        try FileManager.default.createDirectory(atPath: harness.directory.path + "/model", withIntermediateDirectories: true)
        return harness
    }

    @Test func interruptedWhileTheEmbeddedEndpointStartsStopsItAndExits130() async throws {
        let harness = try Self.embeddedHarness()
        defer { harness.directory.cleanup() }
        let launcher = InterruptLauncher(interruptWhileStarting: harness.interruption)
        let engine = SelfInterruptingEngine(honour: true)
        let code = await LoadgenCommand.main(["run", "s.json"], environment: harness.environment(engine: engine, launcher: launcher))
        #expect(code == 130)
        #expect(harness.err.text.contains("interrupted before the load started"))
        #expect(launcher.stops.count == 1)
        #expect(engine.runs.count == 0)
        #expect(harness.out.text.isEmpty)
    }

    @Test func aSecondInterruptionDuringTheRunRunsTheAbortHandlers() async throws {
        let harness = try Self.embeddedHarness()
        defer { harness.directory.cleanup() }
        let launcher = InterruptLauncher()
        let engine = SelfInterruptingEngine(honour: true, interruptions: 2)
        let code = await LoadgenCommand.main(["run", "s.json"], environment: harness.environment(engine: engine, launcher: launcher))
        // `main` would exit the process at the second; here the command goes on and reports as usual.
        #expect(engine.secondAction.withLock { $0 } == .abort)
        #expect(code == 130)
        #expect(launcher.stops.count == 1)
    }

    @Test func exitCodesAndHelpDocumentTheInterruption() async throws {
        #expect(LoadgenExitCode.interrupted.rawValue == 130)
        let out = Buffer()
        let code = await LoadgenCommand.main(
            ["run", "--help"], environment: LoadgenEnvironment(standardOutput: out.append, standardError: { _ in }))
        #expect(code == 0)
        #expect(out.text.contains("130  run interrupted (Ctrl-C or SIGTERM)"))
        #expect(out.text.contains("Ctrl-C (or SIGTERM) stops the load early"))
    }
}

/// An engine that delivers the interruption itself once running (as a signal would), then returns a partial
/// result: with `honour`, one that stopped at 1.5s, as the network engine records it.
final class SelfInterruptingEngine: LoadEngine, Sendable {
    let honour: Bool
    let interruptions: Int
    let runs = Tally()
    let secondAction = Mutex<InterruptAction?>(nil)

    init(honour: Bool, interruptions: Int = 1) {
        self.honour = honour
        self.interruptions = interruptions
    }

    func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws -> RunResult {
        try await run(plan, interruption: RunInterruption(), progress: progress)
    }

    func run(
        _ plan: RunPlan, interruption: RunInterruption, progress: @escaping @Sendable (ProgressSnapshot) -> Void
    ) async throws -> RunResult {
        runs.add(1)
        let stopped = Atomic<Bool>(false)
        interruption.onStop { stopped.store(true, ordering: .relaxed) }
        interruption.interrupt(signal: "SIGINT")
        if interruptions > 1 {
            let action = interruption.interrupt(signal: "SIGINT")
            secondAction.withLock { $0 = action }
        }
        var result = RunResult()
        for index in Int64(0)..<10 {
            result.record(.sent(index: index, intendedStart: 0, attempts: [
                .response(sent: 0, ended: 1_000_000, status: 200, succeeded: true)
            ]))
        }
        if honour, stopped.load(ordering: .relaxed) {
            interruption.recordStopPoint(.milliseconds(1500))
            result.elapsedNanoseconds = DurationValue.milliseconds(1500).nanoseconds
        } else {
            result.elapsedNanoseconds = plan.scenario.load.duration.nanoseconds
        }
        return result
    }
}

/// A launcher whose endpoint is not real; optionally interrupted while it starts.
final class InterruptLauncher: TargetLauncher, Sendable {
    let interruption: RunInterruption?
    let stops = Tally()

    init(interruptWhileStarting interruption: RunInterruption? = nil) { self.interruption = interruption }

    func start(_ target: EmbeddedTarget) async throws -> any RunningTarget {
        interruption?.interrupt(signal: "SIGINT")
        return Running(launcher: self)
    }

    struct Running: RunningTarget {
        let launcher: InterruptLauncher
        var url: TargetURL { TargetURL(host: "127.0.0.1", port: 45678) }
        func stop() async { launcher.stops.add(1) }
    }
}

/// A thread-safe counter readable inside `#expect`.
final class Tally: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int) { value.add(amount, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}
