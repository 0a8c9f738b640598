/// A gate that holds traffic while the endpoint is unhealthy, as a pure state machine. The async client (and
/// the load generator's engine) drive it and do the waiting and probing.
///
/// ```
///            failureThreshold consecutive failures
///   ┌─────────┐ ─────────────────────────────────► ┌─────────┐
///   │ passing │                                     │ blocked │ ◄─┐ a trial call fails
///   └─────────┘ ◄──── trialCalls trial calls ───┐   └─────────┘   │
///                     all succeed               │     │ the single prober's GET /ping → 200
///                                           ┌───────┐ ◄┘          │
///                                           │ trial │ ────────────┘
///                                           └───────┘
/// ```
///
/// - **passing**: every call proceeds. Endpoint failures (``RetryClassifier/isEndpointFailure(_:)``) are
///   counted; any other outcome resets the count. `failureThreshold` in a row block the gate.
/// - **blocked**: calls are not sent; they wait (or fail fast, as the client is configured). Exactly one
///   prober (``beginProbing()`` returns `true` once) polls `GET /ping`, sleeping
///   ``nextProbeDelay(using:)`` between polls. The probe delays grow with the number of times the
///   gate has blocked in a row, so an endpoint that answers `/ping` but still rejects calls is probed
///   less and less often.
/// - **trial**: the first `trialCalls` calls are let through as trials; later calls wait. When every trial
///   succeeds the gate passes traffic again; the first failing trial blocks it again.
///
/// **The names, for circuit-breaker users.** The states are named for what they do to traffic, because a
/// breaker's names read backwards here: Polly's and resilience4j's *closed* breaker is this gate *passing*, their
/// *open* breaker is *blocked*, and their *half-open* is *trial*.
///
/// Outcomes of calls that were admitted in an earlier state (still in flight when the state changed)
/// are ignored: only calls admitted while passing, and trials, count.
public struct HealthGate: Sendable, Equatable {
    /// The gate's parameters.
    public struct Configuration: Sendable, Equatable, Hashable {
        /// Consecutive endpoint failures that block a passing gate. Default 5.
        public var failureThreshold: Int
        /// Trial calls let through in the trial state, all of which must succeed to pass traffic again. Default 3.
        public var trialCalls: Int
        /// Delays between `/ping` probes while blocked. Default: 100 ms base, ×2, 5 s cap, full jitter.
        public var probeBackoff: Backoff
        /// When `false` the gate always passes traffic (no waiting, no probing). Default `true`.
        public var enabled: Bool

        /// Creates a configuration; counts below 1 are raised to 1.
        public init(
            failureThreshold: Int = 5, trialCalls: Int = 3, probeBackoff: Backoff = Backoff(),
            enabled: Bool = true
        ) {
            self.failureThreshold = max(1, failureThreshold)
            self.trialCalls = max(1, trialCalls)
            self.probeBackoff = probeBackoff
            self.enabled = enabled
        }

        /// A gate that never blocks.
        public static let disabled = Configuration(enabled: false)
    }

    /// The gate's state.
    public enum State: String, Sendable, Equatable, Hashable, CustomStringConvertible {
        /// Traffic flows (a circuit breaker's "closed").
        case passing
        /// Traffic is held; a prober polls `/ping` (a breaker's "open").
        case blocked
        /// A few trial calls are let through (a breaker's "half-open").
        case trial

        /// The raw value.
        public var description: String { rawValue }
    }

    /// A change of state.
    public struct Transition: Sendable, Equatable, Hashable {
        /// The state before.
        public var from: State
        /// The state after.
        public var to: State
        /// Creates a transition.
        public init(from: State, to: State) {
            self.from = from
            self.to = to
        }
    }

    /// What a call may do now.
    public enum Admission: Sendable, Equatable, Hashable {
        /// Send the request; `trial` is `true` for a trial call, whose outcome must be reported
        /// with `trial: true` (or released with ``releaseTrial()`` if the call ends without one).
        case proceed(trial: Bool)
        /// Do not send: wait for the state to change (or fail fast).
        case wait
    }

    /// How an outcome counts for the gate.
    public enum Signal: Sendable, Equatable, Hashable {
        /// The endpoint answered (2xx, or an error that is not a sign of overload).
        case success
        /// The endpoint looks unhealthy (503, refused, timeout, …).
        case failure
    }

    /// The configuration.
    public let configuration: Configuration
    /// The current state.
    public private(set) var state: State = .passing
    /// Endpoint failures in a row while passing.
    public private(set) var consecutiveFailures = 0
    /// Times the gate blocked since it last passed traffic (1 while blocked for the first time).
    public private(set) var consecutiveTrips = 0
    /// Whether a prober is running.
    public private(set) var proberActive = false
    /// Probes sent in the current blocked episode.
    public private(set) var probesThisEpisode = 0
    private var previousProbeDelay: Duration?
    private var trialsIssued = 0
    private var trialSuccesses = 0

    /// Creates a passing gate.
    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Asks whether a call may be sent now.
    public mutating func admit() -> Admission {
        guard configuration.enabled else { return .proceed(trial: false) }
        switch state {
        case .passing:
            return .proceed(trial: false)
        case .blocked:
            return .wait
        case .trial:
            guard trialsIssued < configuration.trialCalls else { return .wait }
            trialsIssued += 1
            return .proceed(trial: true)
        }
    }

    /// Reports the outcome of a call admitted with `.proceed(trial:)`. Returns the transition it
    /// caused, if any. After a transition to `.blocked`, call ``beginProbing()``.
    @discardableResult
    public mutating func record(_ signal: Signal, trial: Bool) -> Transition? {
        guard configuration.enabled else { return nil }
        switch (state, trial) {
        case (.passing, false):
            switch signal {
            case .success:
                consecutiveFailures = 0
                return nil
            case .failure:
                consecutiveFailures += 1
                return consecutiveFailures >= configuration.failureThreshold ? block() : nil
            }
        case (.trial, true):
            switch signal {
            case .failure:
                return block()
            case .success:
                trialSuccesses += 1
                guard trialSuccesses >= configuration.trialCalls else { return nil }
                state = .passing
                consecutiveFailures = 0
                consecutiveTrips = 0
                return Transition(from: .trial, to: .passing)
            }
        default:
            return nil  // admitted under an earlier state: stale evidence
        }
    }

    /// A trial call ended without an outcome (cancelled, rejected locally): its slot is given back.
    public mutating func releaseTrial() {
        if state == .trial, trialsIssued > trialSuccesses { trialsIssued -= 1 }
    }

    /// Claims the prober role: `true` exactly once per blocked episode while no prober runs.
    public mutating func beginProbing() -> Bool {
        guard configuration.enabled, state == .blocked, !proberActive else { return false }
        proberActive = true
        return true
    }

    /// The delay the prober sleeps before its next `GET /ping`. The exponent continues across blocked
    /// episodes: the n-th probe of the k-th consecutive trip uses retry number `k - 1 + n`.
    public mutating func nextProbeDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        probesThisEpisode += 1
        let retry = max(consecutiveTrips, 1) - 1 + probesThisEpisode
        let delay = configuration.probeBackoff.delay(forRetry: retry, previous: previousProbeDelay, using: &rng)
        previousProbeDelay = delay
        return delay
    }

    /// Reports a probe's result. A healthy `/ping` moves a blocked gate to trial (and ends the
    /// prober's role); otherwise the prober keeps polling.
    @discardableResult
    public mutating func recordProbe(healthy: Bool) -> Transition? {
        guard state == .blocked, healthy else { return nil }
        state = .trial
        proberActive = false
        trialsIssued = 0
        trialSuccesses = 0
        return Transition(from: .blocked, to: .trial)
    }

    /// The prober stopped without a healthy probe (cancelled): another may claim the role.
    public mutating func endProbing() {
        proberActive = false
    }

    private mutating func block() -> Transition {
        let from = state
        state = .blocked
        consecutiveFailures = 0
        consecutiveTrips += 1
        probesThisEpisode = 0
        trialsIssued = 0
        trialSuccesses = 0
        return Transition(from: from, to: .blocked)
    }
}
