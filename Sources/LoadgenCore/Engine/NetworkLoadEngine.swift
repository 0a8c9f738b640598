import Foundation
import HTTP1
import NetIO
import ResilientClient
import Synchronization

/// The real load engine: keep-alive HTTP/1.1 connections on NetIO event loops, measured like wrk2 and k6.
///
/// **Connections.** `client.connections` connections are spread over the loops (one loop per core by default,
/// never more loops than connections or closed-loop users) and opened before the run starts. Requests are not
/// pipelined: one call in flight per connection, like wrk. A connection that breaks (reset, closed by the peer,
/// `Connection: close`, timeout) is dropped; the next attempt on its slot reconnects, and the connect time counts
/// in that attempt (a refused connect fails the attempt with kind `refused`).
///
/// **https.** The loops speak no TLS: for an `https://` target each attempt, probe and health check goes
/// through a ``SecureSender`` (URLSession, or libcurl trusting `client.tls.caFile`) on a task, and its answer
/// is handed back to the loop, where it is handled like any other (retries, gate, accounting, latency from the
/// intended start). Connections are not opened ahead; instead one `GET` of the health path must get an HTTP
/// answer before the run (else `targetUnreachable`, naming the TLS error). `client.connections` still bounds
/// the attempts in flight. The transport may open a connection and TLS handshake per attempt: slower.
///
/// **Open loop** (constant-rate, ramping-rate). Arrival `i` is due at `schedule.intendedTime(of: i)` after the
/// start of measurement; arrivals are dealt round robin to the loops (`i mod loops`). Each loop keeps one timer
/// armed for its next due arrival and, when it fires, dispatches every arrival that is due. A dispatched call
/// takes a free connection or waits in the loop's queue (retries first, then new calls, FIFO); when
/// `maxQueuedCalls` are already waiting the call is not sent (`client_queue_full`). Latency is measured from
/// the intended start, so time spent waiting in the client counts (coordinated omission corrected); service
/// time is measured from the first attempt's start.
///
/// **Closed loop.** `users` virtual users dealt to the loops; each issues a call, waits for its end (retries
/// included), pauses `thinkTime`, and repeats while the load lasts. A call's intended start is when its user
/// issued it.
///
/// **Warmup.** Calls that start during the warmup (`plan.warmup`) are executed exactly like measured calls but
/// only counted in `RunResult.warmupCalls`; measurement starts when the warmup ends.
///
/// **Retries** use ResilientClient's `RetryPlanner`, `Backoff`, `RetryBudget`, `RetryClassifier` and
/// `HealthGate` values (see `EnginePolicy`): 503 (and the scenario's other retryable statuses) are retried with
/// jittered exponential backoff raised to a capped `Retry-After`; refused connections always, timeouts and resets
/// for idempotent requests (every scenario request is idempotent, the library's default for inference routes);
/// backoff sleeps are loop timers. Each attempt has the client timeout (connect included); a call is bounded by
/// `maxAttempts` attempts and their backoffs. The budget is per run (split over the loops, see `EnginePolicy`).
///
/// **Health gate** (`client.healthGate`): before the run, `GET path` must answer 200 within `startupTimeout`,
/// else the run throws `LoadgenRunError.targetUnreachable`. During the run each loop keeps a `HealthGate`:
/// `failureThreshold` endpoint failures in a row close it; while closed, calls that come due are not sent
/// (`health_gate`), retries are not made (the call ends with its last attempt), and the loop probes `GET path`
/// every `probeInterval`; a 200 lets 3 trial calls through, whose success opens the gate again.
///
/// **Accounting.** Every scheduled call is recorded once in its loop's `RunResult` (ok, failed with its last
/// attempt's status or kind, or not sent with a reason); each loop's result and histograms are merged at the end.
///
/// **Stop.** When the load ends no call is started; calls in flight, queued or in backoff may finish during
/// `plan.drainTimeout`. Then queued calls are recorded as not sent (`run_ended`), calls in backoff end with their
/// last attempt, attempts still in flight fail with `timeout`; connections are closed and the loops stopped.
///
/// **Interruption** (`run(_:interruption:progress:)`, Ctrl-C in `loadgen run`): the first interruption cuts the
/// load at that moment. Every loop sees the cut before it starts a call, so no call makes its first attempt
/// after it: open-loop arrivals due by the cut but not yet sent, and calls waiting for a connection, are
/// recorded as not sent (`interrupted`); arrivals due after the cut are not part of the run (they are not
/// counted at all, so throughput, goodput and error rate describe the time actually run); closed-loop users
/// issue no further call. Calls already sent drain as at the normal end (retries included), bounded by
/// `plan.drainTimeout` from the cut. The window is the time run: from the start of measurement to the cut, or
/// to the end of the last call when that is later. The cut is recorded with `RunInterruption.recordStopPoint`.
///
/// **Progress** is gathered from the loops with `EventLoop.execute` every `plan.progressInterval`, driven by a
/// timer on the first loop (not by a task: Swift's cooperative pool may be busy with the caller's other work,
/// and a short run would then end without a single progress report). `progress` is called on that loop's
/// thread and never after `run` returns.
public struct NetworkLoadEngine: LoadEngine {
    /// Engine settings that are not part of a scenario.
    public struct Configuration: Sendable, Equatable {
        /// Event-loop threads (`nil`: one per core this process may run on).
        public var threads: Int?
        /// Calls allowed to wait for a free connection, for the whole run (split over the loops).
        public var maxQueuedCalls: Int
        /// How long the health gate's first `GET /ping` may take to answer 200.
        public var startupTimeout: DurationValue
        /// Whether to throw `targetUnreachable` when not one connection can be opened before the run. When
        /// `false` the run goes ahead and its calls fail (e.g. with kind `refused`).
        public var failIfUnreachable: Bool
        /// Whether to pin loop *i* to CPU *i*.
        public var pinThreads: Bool

        /// Creates settings (defaults: a loop per core, 100 000 queued calls, 10s startup timeout, fail when
        /// unreachable, no pinning).
        public init(
            threads: Int? = nil, maxQueuedCalls: Int = 100_000, startupTimeout: DurationValue = .seconds(10),
            failIfUnreachable: Bool = true, pinThreads: Bool = false
        ) {
            self.threads = threads
            self.maxQueuedCalls = maxQueuedCalls
            self.startupTimeout = startupTimeout
            self.failIfUnreachable = failIfUnreachable
            self.pinThreads = pinThreads
        }
    }

    /// The engine's settings.
    public var configuration: Configuration
    /// Sees every action of every call's ``CallMachine`` with the call's arrival index (tests compare it with
    /// the library's).
    var trace: (@Sendable (Int64, CallAction) -> Void)?

    /// Creates an engine.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Runs the whole plan; see the type's documentation.
    public func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws
        -> RunResult
    {
        try await run(plan, interruption: RunInterruption(), progress: progress)
    }

    /// Runs the plan, stopping early at the first `interruption`; see the type's documentation.
    public func run(
        _ plan: RunPlan, interruption: RunInterruption, progress: @escaping @Sendable (ProgressSnapshot) -> Void
    ) async throws -> RunResult {
        let connections = max(1, plan.client.connections)
        var loopCount = max(1, min(configuration.threads ?? EventLoopGroup.coreCount, connections))
        if case .closed(let model) = plan.load { loopCount = max(1, min(loopCount, model.users)) }
        let group = try EventLoopGroup(threads: loopCount, name: "loadgen", pinToCores: configuration.pinThreads)
        defer { group.shutdown() }

        let policy = EnginePolicy(plan.client, loops: loopCount, secure: plan.target.isSecure)
        var secure: SecureSender?
        if plan.target.isSecure {
            do {
                secure = try SecureSender(
                    target: plan.target, caFile: plan.client.tls.caFile, maxResponseBytes: plan.client.maxResponseBytes)
            } catch {
                throw LoadgenRunError.engineUnavailable("https target \(plan.target): \(error.message)")
            }
        }
        var settings = EngineRunSettings(
            host: plan.target.host, port: plan.target.port, requests: RequestFactory(plan.requests, host: plan.target.host, port: plan.target.port), policy: policy,
            pingPath: plan.target.basePath + (plan.client.healthGate?.path ?? "/ping"), seed: plan.scenario.seed,
            loopCount: loopCount, drainNanoseconds: UInt64(max(0, plan.drainTimeout.nanoseconds)),
            queueLimit: max(0, configuration.maxQueuedCalls / loopCount), load: plan.load, warmup: plan.warmup,
            stop: EngineStop())
        settings.secure = secure
        settings.trace = trace

        if let gate = plan.client.healthGate {
            try await waitUntilHealthy(
                plan: plan, gate: gate, settings: settings, loop: group.loops[0], interruption: interruption)
        }

        let collector = OutcomeCollector(count: loopCount)
        let workers = (0..<loopCount).map { index in
            EngineLoop(
                loop: group.loops[index], loopIndex: index,
                connections: connections / loopCount + (index < connections % loopCount ? 1 : 0),
                settings: settings, onDone: { collector.finished(index, $0) })
        }

        if let secure {
            // No connection to open ahead (the transport opens its own): one request proves that the target
            // answers and trusts its certificate, as opening the connections does for plain http.
            if plan.client.healthGate == nil, configuration.failIfUnreachable {
                do {
                    try await Self.checkSecureTarget(secure, settings: settings)
                } catch {
                    for worker in workers { worker.loop.execute { worker.abandon() } }
                    throw error
                }
            }
        } else {
            try await preconnect(workers, plan: plan)
        }

        // With `startAt`, the measured load starts then on the wall clock, mapped once onto the monotonic clock.
        let origin = plan.startAt.map {
            StartTime.monotonic(
                wallClock: $0 - Double(settings.warmupLength) / 1e9, now: EventLoop.now(), wallNow: EngineLoop.wallClock())
        } ?? EventLoop.now() &+ 2_000_000
        for worker in workers { worker.loop.execute { worker.start(at: origin) } }
        // Registered after the starts: each loop handles `start` before `interrupt` (execute is FIFO). An
        // interruption that came earlier (health check, connecting) runs the handler now: nothing is sent.
        let stop = settings.stop
        let stopToken = interruption.onStop {
            stop.request(now: EventLoop.now) {
                for worker in workers { worker.loop.execute { worker.interrupt() } }
            }
        }
        defer {
            interruption.remove(stopToken)
            stop.close()  // before the group shuts down (defers run last first)
        }
        let measureStart = origin &+ settings.warmupLength
        let startTime = Date().timeIntervalSince1970 + (Double(measureStart) - Double(EventLoop.now())) / 1e9
        var openLoop = false
        if case .open = plan.load { openLoop = true }
        let reporter = ProgressSampler(
            workers: workers, interval: plan.progressInterval, origin: origin, measureStart: measureStart,
            total: DurationValue(nanoseconds: Int64(settings.loadLength)), openLoop: openLoop,
            timeline: plan.liveTimeline, progress: progress)
        reporter.start()
        let outcomes = await collector.wait()
        await reporter.stop()

        var result = RunResult(
            scenarioName: plan.scenario.name, loadDescription: plan.scenario.load.summary,
            target: plan.target.description)
        var lastEnd: UInt64 = 0
        for outcome in outcomes {
            result.merge(outcome.result)
            lastEnd = max(lastEnd, outcome.lastEnd)
        }
        // The window is the load's length (cut short by an interruption), or longer when calls ended after it.
        let measuredTail = lastEnd > measureStart ? Int64(lastEnd - measureStart) : 0
        var window = Int64(settings.loadLength)
        if let cut = stop.at {
            let point = cut >= measureStart ? Int64(cut - measureStart) : -Int64(measureStart - cut)
            interruption.recordStopPoint(DurationValue(nanoseconds: point))
            window = min(window, max(0, point))
        }
        result.elapsedNanoseconds = max(window, measuredTail)
        result.plannedNanoseconds = window
        result.startTime = plan.startAt ?? startTime
        result.requestLabels = plan.scenario.requests.map(\.label)
        result.timeline.origin = Int64(measureStart)
        if case .open(let schedule) = plan.load, schedule.length > 0 {
            result.offeredRate = Double(schedule.plannedCount) / (Double(schedule.length) / 1e9)
        }
        return result
    }

    /// Opens every loop's connections; throws `targetUnreachable` when none opens (and the configuration says so).
    private func preconnect(_ workers: [EngineLoop], plan: RunPlan) async throws {
        var opened = 0
        var firstError: HTTPClientError?
        for worker in workers {
            let (count, error) = await withCheckedContinuation {
                (continuation: CheckedContinuation<(Int, HTTPClientError?), Never>) in
                worker.loop.execute { worker.preconnect { continuation.resume(returning: ($0, $1)) } }
            }
            opened += count
            if firstError == nil { firstError = error }
        }
        if opened == 0, configuration.failIfUnreachable {
            for worker in workers { worker.loop.execute { worker.abandon() } }
            let reason = firstError.map { "\($0)" } ?? "no connection could be opened"
            throw LoadgenRunError.targetUnreachable("\(plan.target): \(reason)")
        }
    }

    /// `https`: `GET` the health path once through the transport. Any HTTP answer will do; a transport failure
    /// (refused, untrusted certificate, …) is `targetUnreachable`, with a hint when the certificate is refused.
    private static func checkSecureTarget(_ secure: SecureSender, settings: EngineRunSettings) async throws {
        guard let request = secure.get(settings.pingPath) else { return }
        do {
            _ = try await secure.transport.send(request, timeout: EngineLoop.duration(settings.policy.attemptTimeout))
        } catch {
            throw LoadgenRunError.targetUnreachable(describe(error, secure: secure))
        }
    }

    /// An `https` transport failure for people, with a hint when the certificate is not trusted.
    static func describe(_ error: TransportError, secure: SecureSender) -> String {
        var message = "\(secure.origin): \(error.message.isEmpty ? "\(error.kind)" : error.message)"
        if TransportFailure.isTLS(error) {
            message += " (hint: the server's certificate is not signed by a trusted authority; trust its CA with "
                + "client.tls.caFile)"
        }
        return message
    }

    /// Polls `GET path` until it answers 200 (backoff from 50ms up to the probe interval) within
    /// `configuration.startupTimeout`; gives up quietly when the run is interrupted (nothing will be sent).
    private func waitUntilHealthy(
        plan: RunPlan, gate: HealthGateSpec, settings: EngineRunSettings, loop: EventLoop,
        interruption: RunInterruption
    ) async throws {
        let start = EventLoop.now()
        let limit = UInt64(max(1, configuration.startupTimeout.nanoseconds))
        let deadline = start &+ limit
        var delay: UInt64 = 50_000_000
        let maxDelay = UInt64(max(50_000_000, gate.probeInterval.nanoseconds))
        var last = "no answer"
        while !interruption.isInterrupted {
            let now = EventLoop.now()
            let left = deadline > now ? deadline - now : 0
            let attempt = min(left, settings.policy.attemptTimeout)
            if let secure = settings.secure, let request = secure.get(settings.pingPath) {
                do {
                    let response = try await secure.transport.send(request, timeout: EngineLoop.duration(attempt))
                    if response.status == 200 { return }
                    last = "GET \(settings.pingPath) answered \(response.status)"
                } catch {
                    last = Self.describe(error, secure: secure)
                }
            } else {
                do {
                    let connection = try await HTTPClientConnection.connect(
                        host: settings.host, port: settings.port, on: loop,
                        timeout: .nanoseconds(Int64(min(attempt, UInt64(Int64.max)))))
                    defer { connection.closeFromAnyThread() }
                    let response = try await connection.send(
                        method: "GET", target: settings.pingPath, deadline: EventLoop.now() &+ attempt)
                    if response.head.status == 200 { return }
                    last = "GET \(settings.pingPath) answered \(response.head.status)"
                } catch {
                    last = "\(error)"
                }
            }
            if EventLoop.now() &+ delay >= deadline {
                throw LoadgenRunError.targetUnreachable(
                    "\(plan.target): the health check GET \(settings.pingPath) did not answer 200 within "
                        + "\(configuration.startupTimeout) (last: \(last))")
            }
            try await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, maxDelay)
        }
    }
}

/// Collects each loop's outcome and wakes the engine when all have reported.
final class OutcomeCollector: Sendable {
    private struct State {
        var outcomes: [LoopOutcome?]
        var remaining: Int
        var waiter: CheckedContinuation<[LoopOutcome], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(outcomes: Array(repeating: nil, count: count), remaining: count, waiter: nil))
    }

    /// Loop `index` finished (any thread; each index once).
    func finished(_ index: Int, _ outcome: LoopOutcome) {
        let wake = state.withLock { state -> (CheckedContinuation<[LoopOutcome], Never>, [LoopOutcome])? in
            guard state.outcomes[index] == nil else { return nil }
            state.outcomes[index] = outcome
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.outcomes.compactMap { $0 })
        }
        if let (waiter, outcomes) = wake { waiter.resume(returning: outcomes) }
    }

    /// Waits until every loop has reported.
    func wait() async -> [LoopOutcome] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [LoopOutcome]? in
                if state.remaining == 0 { return state.outcomes.compactMap { $0 } }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Which progress reports are due: one per whole `period` of the run, counted from `origin` during the warmup
/// and from `measureStart` after it, each labelled with its exact elapsed time. A sampler that wakes late gets
/// every report it missed, so none is skipped or repeated. A pure value, tested without a clock.
struct ProgressTicks: Sendable, Equatable {
    /// One due report.
    struct Tick: Sendable, Equatable {
        /// Whole periods since the start of the warmup (while warming up) or of the measurement, in nanoseconds.
        var elapsed: Int64
        /// Whether the report is about the warmup.
        var warmingUp: Bool
    }

    let origin: UInt64
    let measureStart: UInt64
    let period: UInt64
    private var warmupCount: UInt64 = 1
    private var measuredCount: UInt64 = 1

    init(origin: UInt64, measureStart: UInt64, period: UInt64) {
        self.origin = origin
        self.measureStart = max(origin, measureStart)
        self.period = max(1, period)
    }

    /// When the next report is due.
    var nextDeadline: UInt64 {
        let warm = origin &+ warmupCount &* period
        return warm < measureStart ? warm : measureStart &+ measuredCount &* period
    }

    /// The reports due by `now`, in order (empty when the next is not due yet).
    mutating func due(at now: UInt64) -> [Tick] {
        var ticks: [Tick] = []
        while nextDeadline <= now {
            if origin &+ warmupCount &* period < measureStart {
                ticks.append(Tick(elapsed: Int64(warmupCount &* period), warmingUp: true))
                warmupCount += 1
            } else {
                ticks.append(Tick(elapsed: Int64(measuredCount &* period), warmingUp: false))
                measuredCount += 1
            }
        }
        return ticks
    }
}

/// Calls `progress` once per `interval` of the run (see `ProgressTicks`) with the loops' summed counters, from
/// a timer on the first loop armed for each report's deadline (not re-armed after the last report, which would
/// drift). All state is confined to that loop's thread; each loop's counters are read on its own thread.
final class ProgressSampler: @unchecked Sendable {
    private let home: EventLoop
    private let workers: [EngineLoop]
    private let total: DurationValue
    private let openLoop: Bool
    private let wantsTimeline: Bool
    private let progress: @Sendable (ProgressSnapshot) -> Void
    // Loop-thread state.
    private var ticks: ProgressTicks
    private var timer: TimerID?
    private var stopped = false
    private var parts: [LoopProgress?] = []
    private var timelines: [Timeline?] = []
    private var missing = 0
    private var previousTime: UInt64 = 0
    private var previousAttempts: Int64 = 0
    private var previousOk: Int64 = 0
    private var previousOffered: Int64 = 0

    init(
        workers: [EngineLoop], interval: DurationValue, origin: UInt64, measureStart: UInt64, total: DurationValue,
        openLoop: Bool, timeline: Bool, progress: @escaping @Sendable (ProgressSnapshot) -> Void
    ) {
        precondition(!workers.isEmpty, "a run has at least one loop")
        self.home = workers[0].loop
        self.workers = workers
        self.ticks = ProgressTicks(
            origin: origin, measureStart: measureStart, period: UInt64(max(10_000_000, interval.nanoseconds)))
        self.total = total
        self.openLoop = openLoop
        self.wantsTimeline = timeline
        self.progress = progress
    }

    /// Arms the first sample (any thread).
    func start() {
        home.execute {
            self.previousTime = max(EventLoop.now(), self.ticks.origin)
            self.armTimer()
        }
    }

    /// Stops sampling; once it returns `progress` is not called again.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            home.execute {
                self.stopped = true
                if let timer = self.timer { self.home.cancel(timer) }
                self.timer = nil
                continuation.resume()
            }
        }
    }

    private func armTimer() {
        guard !stopped else { return }
        let now = EventLoop.now()
        let deadline = ticks.nextDeadline
        timer = home.schedule(after: deadline > now ? deadline - now : 0) { [self] in
            timer = nil
            sample()
        }
    }

    /// Asks every loop for its counters; `collect` sums them when the last one answered.
    private func sample() {
        guard !stopped else { return }
        parts = Array(repeating: nil, count: workers.count)
        timelines = Array(repeating: nil, count: workers.count)
        missing = workers.count
        let wantsTimeline = self.wantsTimeline
        for (index, worker) in workers.enumerated() {
            worker.loop.execute { [home] in
                let part = worker.progressSnapshot()
                let timeline = wantsTimeline ? worker.timelineSnapshot() : nil
                home.execute { self.collect(index, part, timeline) }
            }
        }
    }

    private func collect(_ index: Int, _ part: LoopProgress, _ timeline: Timeline?) {
        guard !stopped, parts.indices.contains(index), parts[index] == nil else { return }
        parts[index] = part
        timelines[index] = timeline
        missing -= 1
        guard missing == 0 else { return }
        let now = EventLoop.now()
        // The timer fired for the next deadline: a wake-up a little early (timers have millisecond resolution)
        // still reports that interval, rather than re-arming in a tight loop.
        let due = ticks.due(at: max(now, ticks.nextDeadline))
        var sum = LoopProgress()
        var latency: Histogram?
        var timeline: Timeline?
        for part in parts.compactMap({ $0 }) {
            sum.attempts += part.attempts
            sum.offered += part.offered
            sum.ok += part.ok
            sum.failed += part.failed
            sum.status503 += part.status503
            sum.live += part.live
            if let histogram = part.latency {
                if latency == nil { latency = histogram } else { latency?.merge(histogram) }
            }
        }
        for case let theirs? in timelines {
            if timeline == nil { timeline = theirs } else { timeline?.merge(theirs) }
        }
        let seconds = max(1e-9, Double(now &- previousTime) / 1e9)
        let p99 = latency.flatMap { $0.totalCount > 0 ? $0.value(atPercentile: 99) : nil }
        for tick in due {
            var snapshot = ProgressSnapshot(
                elapsed: DurationValue(nanoseconds: tick.elapsed), total: total, warmingUp: tick.warmingUp,
                attemptRate: Double(sum.attempts - previousAttempts) / seconds,
                goodputRate: Double(sum.ok - previousOk) / seconds, p99Microseconds: p99, errors: sum.failed,
                status503: sum.status503, inFlight: sum.live,
                offeredRate: openLoop ? Double(sum.offered - previousOffered) / seconds : nil)
            snapshot.timeline = timeline
            progress(snapshot)
        }
        previousTime = now
        previousAttempts = sum.attempts
        previousOk = sum.ok
        previousOffered = sum.offered
        armTimer()
    }
}
