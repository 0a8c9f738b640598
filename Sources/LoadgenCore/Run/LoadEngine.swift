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
    /// How long after the load ends to wait for calls in flight or queued; calls still waiting are recorded
    /// as not sent (`run_ended`), calls in flight when it expires as failed (`timeout`).
    public var drainTimeout: DurationValue
    /// How often to report progress (default 1s).
    public var progressInterval: DurationValue

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
}

/// A progress report during a run (figures since the start of measurement unless noted).
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

    /// Creates a snapshot.
    public init(
        elapsed: DurationValue, total: DurationValue, warmingUp: Bool = false, attemptRate: Double,
        goodputRate: Double, p99Microseconds: Int64?, errors: Int64, status503: Int64, inFlight: Int
    ) {
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
/// while the health gate is closed. `progress` is called about every `plan.progressInterval` from any thread.
/// Throw `LoadgenRunError.targetUnreachable` when the target cannot be reached at all before the run
/// (connection refused, health check failing); failures during the run are recorded, not thrown.
public protocol LoadEngine: Sendable {
    /// Runs the plan and returns the measured result.
    func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws -> RunResult
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
}
