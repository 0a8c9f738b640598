/// A circuit-breaker-like gate that holds traffic while the endpoint is unhealthy, as a pure state
/// machine. The async client (and the load generator's engine) drive it and do the waiting and probing.
///
/// ```
///            failureThreshold consecutive failures
///   ┌──────┐ ───────────────────────────────────► ┌────────┐
///   │ open │                                       │ closed │ ◄─┐ a trial call fails
///   └──────┘ ◄─── halfOpenTrials trial calls ──┐   └────────┘   │
///                 all succeed                  │     │ the single prober's GET /ping → 200
///                                          ┌──────────┐ ◄┘      │
///                                          │ halfOpen │ ────────┘
///                                          └──────────┘
/// ```
///
/// - **open**: every call proceeds. Endpoint failures (``RetryClassifier/isEndpointFailure(_:)``) are
///   counted; any other outcome resets the count. `failureThreshold` in a row close the gate.
/// - **closed**: calls are not sent; they wait (or fail fast, as the client is configured). Exactly one
///   prober (``beginProbing()`` returns `true` once) polls `GET /ping`, sleeping
///   ``nextProbeDelay(using:)`` between polls. The probe delays grow with the number of times the
///   gate has closed in a row, so an endpoint that answers `/ping` but still rejects calls is probed
///   less and less often.
/// - **halfOpen**: the first `halfOpenTrials` calls are let through as trials; later calls wait. When
///   every trial succeeds the gate opens; the first failing trial closes it again.
///
/// Outcomes of calls that were admitted in an earlier state (still in flight when the state changed)
/// are ignored: only open-state calls and trials count.
public struct HealthGate: Sendable, Equatable {
    /// The gate's parameters.
    public struct Configuration: Sendable, Equatable, Hashable {
        /// Consecutive endpoint failures that close an open gate. Default 5.
        public var failureThreshold: Int
        /// Trial calls let through when half-open, all of which must succeed to open. Default 3.
        public var halfOpenTrials: Int
        /// Delays between `/ping` probes while closed. Default: 100 ms base, ×2, 5 s cap, full jitter.
        public var probeBackoff: Backoff
        /// When `false` the gate is always open (no waiting, no probing). Default `true`.
        public var enabled: Bool

        /// Creates a configuration; counts below 1 are raised to 1.
        public init(
            failureThreshold: Int = 5, halfOpenTrials: Int = 3, probeBackoff: Backoff = Backoff(),
            enabled: Bool = true
        ) {
            self.failureThreshold = max(1, failureThreshold)
            self.halfOpenTrials = max(1, halfOpenTrials)
            self.probeBackoff = probeBackoff
            self.enabled = enabled
        }

        /// A gate that never closes.
        public static let disabled = Configuration(enabled: false)
    }

    /// The gate's state.
    public enum State: String, Sendable, Equatable, Hashable, CustomStringConvertible {
        /// Traffic flows.
        case open
        /// Traffic is held; a prober polls `/ping`.
        case closed
        /// A few trial calls are let through.
        case halfOpen

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
        /// Send the request; `trial` is `true` for a half-open trial, whose outcome must be reported
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
    public private(set) var state: State = .open
    /// Endpoint failures in a row while open.
    public private(set) var consecutiveFailures = 0
    /// Times the gate closed since it was last fully open (1 while closed for the first time).
    public private(set) var consecutiveTrips = 0
    /// Whether a prober is running.
    public private(set) var proberActive = false
    /// Probes sent in the current closed episode.
    public private(set) var probesThisEpisode = 0
    private var previousProbeDelay: Duration?
    private var trialsIssued = 0
    private var trialSuccesses = 0

    /// Creates an open gate.
    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Asks whether a call may be sent now.
    public mutating func admit() -> Admission {
        guard configuration.enabled else { return .proceed(trial: false) }
        switch state {
        case .open:
            return .proceed(trial: false)
        case .closed:
            return .wait
        case .halfOpen:
            guard trialsIssued < configuration.halfOpenTrials else { return .wait }
            trialsIssued += 1
            return .proceed(trial: true)
        }
    }

    /// Reports the outcome of a call admitted with `.proceed(trial:)`. Returns the transition it
    /// caused, if any. After a transition to `.closed`, call ``beginProbing()``.
    @discardableResult
    public mutating func record(_ signal: Signal, trial: Bool) -> Transition? {
        guard configuration.enabled else { return nil }
        switch (state, trial) {
        case (.open, false):
            switch signal {
            case .success:
                consecutiveFailures = 0
                return nil
            case .failure:
                consecutiveFailures += 1
                return consecutiveFailures >= configuration.failureThreshold ? close() : nil
            }
        case (.halfOpen, true):
            switch signal {
            case .failure:
                return close()
            case .success:
                trialSuccesses += 1
                guard trialSuccesses >= configuration.halfOpenTrials else { return nil }
                state = .open
                consecutiveFailures = 0
                consecutiveTrips = 0
                return Transition(from: .halfOpen, to: .open)
            }
        default:
            return nil  // admitted under an earlier state: stale evidence
        }
    }

    /// A trial call ended without an outcome (cancelled, rejected locally): its slot is given back.
    public mutating func releaseTrial() {
        if state == .halfOpen, trialsIssued > trialSuccesses { trialsIssued -= 1 }
    }

    /// Claims the prober role: `true` exactly once per closed episode while no prober runs.
    public mutating func beginProbing() -> Bool {
        guard configuration.enabled, state == .closed, !proberActive else { return false }
        proberActive = true
        return true
    }

    /// The delay the prober sleeps before its next `GET /ping`. The exponent continues across closed
    /// episodes: the n-th probe of the k-th consecutive trip uses retry number `k - 1 + n`.
    public mutating func nextProbeDelay(using rng: inout some RandomNumberGenerator) -> Duration {
        probesThisEpisode += 1
        let retry = max(consecutiveTrips, 1) - 1 + probesThisEpisode
        let delay = configuration.probeBackoff.delay(forRetry: retry, previous: previousProbeDelay, using: &rng)
        previousProbeDelay = delay
        return delay
    }

    /// Reports a probe's result. A healthy `/ping` moves a closed gate to half-open (and ends the
    /// prober's role); otherwise the prober keeps polling.
    @discardableResult
    public mutating func recordProbe(healthy: Bool) -> Transition? {
        guard state == .closed, healthy else { return nil }
        state = .halfOpen
        proberActive = false
        trialsIssued = 0
        trialSuccesses = 0
        return Transition(from: .closed, to: .halfOpen)
    }

    /// The prober stopped without a healthy probe (cancelled): another may claim the role.
    public mutating func endProbing() {
        proberActive = false
    }

    private mutating func close() -> Transition {
        let from = state
        state = .closed
        consecutiveFailures = 0
        consecutiveTrips += 1
        probesThisEpisode = 0
        trialsIssued = 0
        trialSuccesses = 0
        return Transition(from: from, to: .closed)
    }
}
