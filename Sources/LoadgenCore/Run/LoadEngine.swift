import Synchronization

/// The load shape an engine executes.
public enum LoadShape: Sendable, Equatable {
    /// Open loop: send arrival `i` at `schedule.intendedTime(of: i)`, whatever the responses do.
    case open(ArrivalSchedule)
    /// Closed loop: virtual users.
    case closed(ClosedLoopModel)

    /// The shape of a scenario's load.
    public init(_ load: LoadSpec) {
        switch load {
        case .closed(let users, let duration, let think):
            self = .closed(ClosedLoopModel(users: users, duration: duration, thinkTime: think))
        default:
            self = .open(ArrivalSchedule(load: load) ?? .constant(rate: 0, duration: DurationValue(nanoseconds: 0)))
        }
    }

    /// The part of this (whole-run) load that `shard` runs: its arrivals, or its virtual users.
    public func sharded(_ shard: Shard) -> LoadShape {
        switch self {
        case .open(let schedule): return .open(schedule.sharded(shard))
        case .closed(let model): return .closed(model.sharded(shard))
        }
    }
}

/// Everything an engine needs for one run, resolved from the scenario and the command-line overrides.
public struct RunPlan: Sendable {
    /// The scenario (after overrides).
    public var scenario: Scenario
    /// Where to send requests.
    public var target: TargetURL
    /// The measured load.
    public var load: LoadShape
    /// Load to apply before measuring (`nil`: no warmup). Open loop: the first rate of the scenario held
    /// constant for `scenario.warmup`; closed loop: the same users for `scenario.warmup`. Warmup calls are
    /// not recorded (only counted in `RunResult.warmupCalls`); measurement starts right after.
    public var warmup: LoadShape?
    /// The request for each arrival index.
    public var requests: RequestGenerator
    /// Connections, timeouts, retry policy, budget and health gate.
    public var client: ClientSpec
    /// How long after the load ends (or after an interruption, see `RunInterruption`) to wait for calls in
    /// flight or queued; calls still waiting are recorded as not sent (`run_ended`), calls in flight when it
    /// expires as failed (`timeout`).
    public var drainTimeout: DurationValue
    /// How often to report progress (default 1s).
    public var progressInterval: DurationValue
    /// Whether progress snapshots carry the time series so far (`ProgressSnapshot.timeline`), for thresholds
    /// judged during the run (`--abort-on-fail`); off by default (it costs a copy per snapshot).
    public var liveTimeline = false
    /// Which part of the run this process runs (`Shard.whole` unless `sharded(_:)`).
    public private(set) var shard = Shard.whole
    /// Wall-clock time (seconds since 1970) at which the measured load starts, the warmup ending then; `nil`:
    /// as soon as the engine is ready. An engine ready after it starts at once without shifting the schedule:
    /// arrivals already due are sent at once, late (a caller that counts them as missed removes them first
    /// with `ArrivalSchedule.skippingFirst(_:)`).
    public var startAt: Double?

    /// Resolves a plan from a scenario and its target URL.
    public init(scenario: Scenario, target: TargetURL) {
        self.scenario = scenario
        self.target = target
        self.load = LoadShape(scenario.load)
        self.requests = RequestGenerator(scenario: scenario, basePath: target.basePath)
        self.client = scenario.client
        let retry = scenario.client.retry
        // Enough for the slowest call: every attempt timing out plus every backoff at its cap.
        let attempts = Int64(retry.maxAttempts)
        self.drainTimeout = DurationValue(
            nanoseconds: scenario.client.timeout.nanoseconds * attempts + retry.maxDelay.nanoseconds * (attempts - 1))
        self.progressInterval = .seconds(1)
        if scenario.warmup.nanoseconds > 0 {
            switch scenario.load {
            case .constantRate(let rate, _):
                warmup = .open(.constant(rate: rate, duration: scenario.warmup))
            case .rampingRate(let start, let stages):
                let rate = start > 0 ? start : (stages.first(where: { $0.target > 0 })?.target ?? 0)
                warmup = .open(.constant(rate: rate, duration: scenario.warmup))
            case .closed(let users, _, let think):
                warmup = .closed(ClosedLoopModel(users: users, duration: scenario.warmup, thinkTime: think))
            }
        } else {
            warmup = nil
        }
    }

    /// This plan restricted to `shard`'s part of the load and of the warmup (see `Shard`).
    public func sharded(_ shard: Shard) -> RunPlan {
        var copy = self
        copy.shard = shard
        copy.load = load.sharded(shard)
        copy.warmup = warmup?.sharded(shard)
        return copy
    }
}

/// A progress report during a run (figures since the start of measurement unless noted). The engine reports
/// once per `RunPlan.progressInterval` of the run: `elapsed` is exactly 1, 2, 3... intervals (from the start of
/// the warmup while warming up, then from the start of measurement), none skipped or repeated even when the
/// sampler wakes late (the late intervals are then reported together, with the rates of the whole gap).
public struct ProgressSnapshot: Sendable, Equatable {
    /// Time since measurement started.
    public var elapsed: DurationValue
    /// Planned length of the load.
    public var total: DurationValue
    /// Whether the run is still in warmup.
    public var warmingUp: Bool
    /// Attempts per second over the last interval.
    public var attemptRate: Double
    /// Successful calls per second over the last interval.
    public var goodputRate: Double
    /// p99 end-to-end latency so far, in microseconds (`nil` before the first completion).
    public var p99Microseconds: Int64?
    /// Failed calls so far.
    public var errors: Int64
    /// Attempts answered 503 so far.
    public var status503: Int64
    /// Calls in flight or waiting for a connection now.
    public var inFlight: Int
    /// Open loop: calls that came due per second over the last interval (the offered rate, beside the achieved
    /// `attemptRate`); `nil` for a closed loop.
    public var offeredRate: Double?
    /// The run's time series so far (measured calls), when the plan asked for it (`RunPlan.liveTimeline`).
    public var timeline: Timeline?

    /// Creates a snapshot.
    public init(
        elapsed: DurationValue, total: DurationValue, warmingUp: Bool = false, attemptRate: Double,
        goodputRate: Double, p99Microseconds: Int64?, errors: Int64, status503: Int64, inFlight: Int,
        offeredRate: Double? = nil
    ) {
        self.offeredRate = offeredRate
        self.elapsed = elapsed
        self.total = total
        self.warmingUp = warmingUp
        self.attemptRate = attemptRate
        self.goodputRate = goodputRate
        self.p99Microseconds = p99Microseconds
        self.errors = errors
        self.status503 = status503
        self.inFlight = inFlight
    }
}

/// Runs a plan against its target. Implemented by the event-loop engine; tests use fakes.
///
/// Contract: every scheduled call (open loop: arrivals `0..<schedule.count`; closed loop: every call a user
/// issued) is passed to `RunResult.record(_:)` exactly once, as sent (with all its attempts, times from one
/// monotonic clock) or not sent (with a reason); `elapsedNanoseconds` is set to the measurement window;
/// retries follow `plan.client.retry` (only `retryOnStatus` statuses and, if enabled, transport errors;
/// backoff `min(maxDelay, baseDelay·2^(n-1))` with the jitter mode), within `plan.client.budget`, and not
/// while the health gate is blocked. `progress` is called about every `plan.progressInterval` from any thread.
/// Throw `LoadgenRunError.targetUnreachable` when the target cannot be reached at all before the run
/// (connection refused, health check failing); failures during the run are recorded, not thrown.
/// An interrupted run (`run(_:interruption:progress:)`) schedules only the calls due by the interruption:
/// those are recorded exactly once as above, later arrivals not at all, and the window ends at the
/// interruption (or at the last call's end, if later).
public protocol LoadEngine: Sendable {
    /// Runs the plan and returns the measured result.
    func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws -> RunResult

    /// Runs the plan and stops it early when `interruption` fires (see `RunInterruption` for what an engine
    /// does then). The default ignores the interruption and runs the whole plan.
    func run(
        _ plan: RunPlan, interruption: RunInterruption,
        progress: @escaping @Sendable (ProgressSnapshot) -> Void
    ) async throws -> RunResult
}

extension LoadEngine {
    /// Runs the whole plan: engines that cannot stop early ignore `interruption`.
    public func run(
        _ plan: RunPlan, interruption: RunInterruption,
        progress: @escaping @Sendable (ProgressSnapshot) -> Void
    ) async throws -> RunResult {
        try await run(plan, progress: progress)
    }
}

/// A request from outside the run (Ctrl-C, SIGTERM) to stop it early. Thread-safe; `loadgen`'s `main` calls
/// `interrupt(signal:)` from its signal thread, tests call it directly.
///
/// **First interruption: stop the load, keep the run.** Handlers registered with `onStop` run once. An
/// engine that honours it starts no call after the moment of the interruption (the schedule is cut there:
/// open-loop arrivals due later are not part of the run at all, closed-loop users issue no further call);
/// calls that were due but had not been sent yet (waiting for a connection) are recorded as not sent
/// (`interrupted`); calls already sent get the normal drain (retries included), bounded by
/// `plan.drainTimeout` counted from the interruption. The measurement window is the time actually run, so
/// throughput, goodput and error rate describe that time (counting the cut arrivals as not sent would turn
/// the error rate into "how early was Ctrl-C pressed"). The engine records where the cut fell with
/// `recordStopPoint(_:)`.
///
/// **Second and later interruptions: leave now.** Handlers registered with `onAbort` run (synchronously, on
/// the interrupting thread) so that they can stop child processes; the caller then exits the process.
public final class RunInterruption: Sendable {
    private struct State {
        var count = 0
        var signal: String?
        var stopPoint: DurationValue?
        var nextID = 0
        var stopHandlers: [(Int, @Sendable () -> Void)] = []
        var abortHandlers: [(Int, @Sendable () -> Void)] = []
    }

    private let state = Mutex(State())

    /// Creates an interruption source that has not fired.
    public init() {}

    /// How many interruptions were delivered.
    public var count: Int { state.withLock { $0.count } }

    /// Whether the first interruption was delivered.
    public var isInterrupted: Bool { count > 0 }

    /// The name of the first interruption's signal (`SIGINT`, `SIGTERM`), `nil` before it.
    public var signal: String? { state.withLock { $0.signal } }

    /// How far into the measured load the stop took effect (negative: during warmup), as the engine recorded
    /// it; `nil` when not interrupted or the engine did not honour the interruption.
    public var stopPoint: DurationValue? { state.withLock { $0.stopPoint } }

    /// Delivers one interruption and returns what the caller should do. The first runs the stop handlers
    /// (`.stopping`, or `.unhandled` when none is registered: nothing can stop gracefully, exit now); later
    /// ones run the abort handlers (`.abort`: exit now).
    @discardableResult
    public func interrupt(signal: String = "SIGINT") -> InterruptAction {
        let (action, handlers) = state.withLock { state -> (InterruptAction, [@Sendable () -> Void]) in
            state.count += 1
            if state.count == 1 {
                state.signal = signal
                let handlers = state.stopHandlers.map(\.1)
                state.stopHandlers.removeAll()
                return (handlers.isEmpty ? .unhandled : .stopping, handlers)
            }
            return (.abort, state.abortHandlers.map(\.1))
        }
        for handler in handlers { handler() }
        return action
    }

    /// Registers `handler` for the first interruption; if it was already delivered, `handler` runs now, on
    /// this thread. Returns an id for `remove(_:)`.
    @discardableResult
    public func onStop(_ handler: @escaping @Sendable () -> Void) -> Int {
        let (id, runNow) = state.withLock { state -> (Int, Bool) in
            state.nextID += 1
            if state.count > 0 { return (state.nextID, true) }
            state.stopHandlers.append((state.nextID, handler))
            return (state.nextID, false)
        }
        if runNow { handler() }
        return id
    }

    /// Registers `handler` for the second and later interruptions (it may run more than once). Returns an id
    /// for `remove(_:)`.
    @discardableResult
    public func onAbort(_ handler: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            state.nextID += 1
            state.abortHandlers.append((state.nextID, handler))
            return state.nextID
        }
    }

    /// Removes a stop or abort handler.
    public func remove(_ id: Int) {
        state.withLock { state in
            state.stopHandlers.removeAll { $0.0 == id }
            state.abortHandlers.removeAll { $0.0 == id }
        }
    }

    /// Called by an engine that honoured the interruption: where the cut fell, from the start of measurement.
    public func recordStopPoint(_ point: DurationValue) {
        state.withLock { $0.stopPoint = point }
    }
}

/// What the interrupting thread should do after `RunInterruption.interrupt(signal:)`.
public enum InterruptAction: Sendable, Equatable {
    /// The first interruption reached a run that is now stopping: wait for it.
    case stopping
    /// The first interruption found nothing that can stop gracefully: exit now.
    case unhandled
    /// A second (or later) interruption: the abort handlers ran; exit now.
    case abort
}

/// Starts the embedded reference endpoint for a run.
public protocol TargetLauncher: Sendable {
    /// Starts the endpoint and returns when it accepts requests (every worker imported the model).
    /// Throw `LoadgenRunError.embeddedTargetFailed` when it cannot start.
    func start(_ target: EmbeddedTarget) async throws -> any RunningTarget
}

/// A started embedded endpoint.
public protocol RunningTarget: Sendable {
    /// Where it listens.
    var url: TargetURL { get }
    /// Stops it and its workers.
    func stop() async
}

/// Run failures that are not usage errors.
public enum LoadgenRunError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The target could not be reached (refused, unresolvable, health check failing).
    case targetUnreachable(String)
    /// The embedded endpoint could not start.
    case embeddedTargetFailed(String)
    /// The engine is not available in this build.
    case engineUnavailable(String)

    /// The message.
    public var description: String {
        switch self {
        case .targetUnreachable(let message): return "could not reach the target: \(message)"
        case .embeddedTargetFailed(let message): return "the embedded endpoint failed to start: \(message)"
        case .engineUnavailable(let message): return message
        }
    }
}

/// Process exit codes of `loadgen` (stable; scripts may rely on them).
public enum LoadgenExitCode: Int32, Sendable, CaseIterable {
    /// The command succeeded (for `run`: every threshold passed).
    case success = 0
    /// `run` completed but at least one threshold failed.
    case thresholdsFailed = 1
    /// Bad command line or invalid scenario.
    case usageError = 2
    /// The target could not be reached, or the embedded endpoint could not start.
    case targetUnreachable = 3
    /// The run failed for another reason (engine error, cannot write the --json file).
    case runtimeError = 4
    /// `run` was interrupted (SIGINT or SIGTERM) and stopped early; the partial result was still reported and
    /// the thresholds evaluated on it, but a partial run neither passes nor fails them (128 + SIGINT, as shells
    /// report a command stopped by Ctrl-C).
    case interrupted = 130
    /// Standard output is a pipe whose reader has gone (`loadgen ... | head -1`): the program stops writing and
    /// ends quietly (128 + SIGPIPE, as shells report a command killed by SIGPIPE).
    case brokenPipe = 141
}
