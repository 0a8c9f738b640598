/// The search for the highest constant arrival rate that meets an SLA, as a value: it says which rate to try
/// next and takes each step's verdict; it does no IO (`CapacityCommand` runs the steps), so it is tested with
/// scripted verdicts.
///
/// Double the rate from `start` until a step fails; then bisect between the last pass and the first fail on a
/// log scale until they are within `precision` of each other; then confirm the last passing rate with one
/// longer step. A failed confirmation steps down by the precision and confirms again (at most
/// `maxStepDowns` times). A step judged `inconclusive` (too few samples) is repeated once, longer; judged so
/// again it counts as not passing. A `generator-limited` step is never taken for the endpoint's capacity: the
/// search stops going up there and confirms below it. When the start rate fails, the search halves it (at
/// most `maxHalvings` times) before giving up.
public struct CapacitySearch: Sendable, Equatable {
    /// Search parameters.
    public struct Configuration: Sendable, Equatable {
        /// The first rate tried (calls/s).
        public var start: Double
        /// The highest rate tried (calls/s).
        public var maxRate: Double
        /// Relative width of the final bracket (0.05: the first fail is within 5% above the last pass).
        public var precision: Double
        /// How many times a failed start rate is halved before the search gives up.
        public var maxHalvings: Int
        /// How many times a failed confirmation steps down.
        public var maxStepDowns: Int

        /// Creates a configuration.
        public init(start: Double, maxRate: Double, precision: Double = 0.05, maxHalvings: Int = 0, maxStepDowns: Int = 4) {
            self.start = start
            self.maxRate = maxRate
            self.precision = precision
            self.maxHalvings = maxHalvings
            self.maxStepDowns = maxStepDowns
        }
    }

    /// Why a step was run.
    public enum Phase: String, Sendable, Equatable {
        /// The short closed-loop run that picks the start rate.
        case probe
        /// Doubling from the start rate.
        case double
        /// Bisecting between the last pass and the first fail.
        case bisect
        /// The longer step that confirms the last passing rate.
        case confirm
    }

    /// What to do next.
    public enum Next: Sendable, Equatable {
        /// Run one step at `rate`; `extended` asks for a longer step (the repeat of an inconclusive one).
        case step(rate: Double, phase: Phase, extended: Bool)
        /// The search is over.
        case done(CapacityConclusion)
    }

    /// The parameters.
    public let configuration: Configuration
    /// The highest rate that passed (after a failed confirmation: the rate being confirmed next, if any).
    public private(set) var lastPass: Double?
    /// The lowest rate that failed.
    public private(set) var firstFail: Double?
    /// Whether the stop going up was the generator's doing.
    public private(set) var generatorLimited = false
    private var pending: (rate: Double, phase: Phase, repeated: Bool)?
    private var halvings = 0
    private var stepDowns = 0

    /// A search with `configuration`.
    public init(_ configuration: Configuration) {
        var configuration = configuration
        configuration.maxRate = max(configuration.maxRate, 0.001)
        configuration.start = min(max(configuration.start, 0.001), configuration.maxRate)
        configuration.precision = max(configuration.precision, 0.001)
        self.configuration = configuration
    }

    public static func == (lhs: CapacitySearch, rhs: CapacitySearch) -> Bool {
        lhs.configuration == rhs.configuration && lhs.lastPass == rhs.lastPass && lhs.firstFail == rhs.firstFail
            && lhs.generatorLimited == rhs.generatorLimited && lhs.pending?.rate == rhs.pending?.rate
            && lhs.pending?.phase == rhs.pending?.phase && lhs.pending?.repeated == rhs.pending?.repeated
            && lhs.halvings == rhs.halvings && lhs.stepDowns == rhs.stepDowns
    }

    /// The first step.
    public mutating func begin() -> Next {
        step(configuration.start, .double)
    }

    /// Takes the verdict of the step `begin()` or the previous call asked for, and says what comes next.
    public mutating func record(_ verdict: StepVerdict) -> Next {
        guard let (rate, phase, repeated) = pending else { return begin() }
        if verdict == .inconclusive && !repeated {
            pending = (rate, phase, true)
            return .step(rate: rate, phase: phase, extended: true)
        }
        let passed = verdict == .pass
        if verdict == .generatorLimited { generatorLimited = true }
        if phase == .confirm { return confirmed(rate, passed: passed) }
        if passed {
            lastPass = max(lastPass ?? 0, rate)
        } else {
            firstFail = min(firstFail ?? .infinity, rate)
        }
        guard let low = lastPass else {
            // Only failures so far: halve, or give up.
            guard halvings < configuration.maxHalvings, rate / 2 >= 0.001 else { return finish(confirmed: false) }
            halvings += 1
            return step(rate / 2, .double)
        }
        guard let high = firstFail else {
            if low >= configuration.maxRate { return step(low, .confirm) }
            return step(min(low * 2, configuration.maxRate), .double)
        }
        if generatorLimited || high / low <= 1 + configuration.precision { return step(low, .confirm) }
        return step((low * high).squareRoot(), .bisect)
    }

    private mutating func confirmed(_ rate: Double, passed: Bool) -> Next {
        if passed {
            lastPass = rate
            return finish(confirmed: true)
        }
        firstFail = min(firstFail ?? .infinity, rate)
        lastPass = nil
        guard stepDowns < configuration.maxStepDowns else { return finish(confirmed: false) }
        stepDowns += 1
        return step(rate / (1 + configuration.precision), .confirm)
    }

    private mutating func step(_ rate: Double, _ phase: Phase) -> Next {
        pending = (rate, phase, false)
        return .step(rate: rate, phase: phase, extended: false)
    }

    private mutating func finish(confirmed: Bool) -> Next {
        pending = nil
        let limitedBy: CapacityConclusion.Limit
        if generatorLimited {
            limitedBy = .generator
        } else if firstFail == nil && lastPass != nil {
            limitedBy = .maxRate
        } else {
            limitedBy = .endpoint
        }
        return .done(CapacityConclusion(lastPass: lastPass, firstFail: firstFail, confirmed: confirmed, limitedBy: limitedBy))
    }
}

/// What a capacity search found.
public struct CapacityConclusion: Sendable, Equatable {
    /// What stopped the search going higher.
    public enum Limit: String, Sendable, Equatable {
        /// The endpoint failed the SLA.
        case endpoint
        /// The generator could not keep the schedule: the endpoint's capacity is above what was measured.
        case generator
        /// Every rate up to `--max` passed.
        case maxRate = "max_rate"
    }

    /// The highest rate that passed, confirmed if `confirmed`; `nil` when the SLA failed at every rate tried.
    public var lastPass: Double?
    /// The lowest rate that failed; `nil` when none did (up to `--max`).
    public var firstFail: Double?
    /// Whether `lastPass` held for a confirmation step.
    public var confirmed: Bool
    /// What stopped the search going higher.
    public var limitedBy: Limit

    /// Creates a conclusion.
    public init(lastPass: Double?, firstFail: Double?, confirmed: Bool, limitedBy: Limit) {
        self.lastPass = lastPass
        self.firstFail = firstFail
        self.confirmed = confirmed
        self.limitedBy = limitedBy
    }
}
