import Glibc
import HTTP1
import NetIO
import ResilientClient
import Synchronization

/// One event loop's share of a run: its connections, its arrivals or users, its queue, its retry budget and
/// health gate, its histograms. Everything here runs on the loop's thread; other threads only reach it with
/// `loop.execute`, so nothing on the request path takes a lock.
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
final class EngineLoop: @unchecked Sendable {
    struct Slot {
        var connection: HTTPClientConnection?
        var call: EngineCall?
        /// The attempt of `call` that holds the slot: what `answer` reports.
        var attempt = EngineAttempt(number: 0, slot: -1, sent: 0, deadline: 0)
        /// The slot's completion handler for `HTTPClientConnection.send`, made once per run (see `init`): it
        /// reports the answer for the call and attempt the slot holds, so that a send allocates no closure
        /// context. A stored property of this struct rather than an array element of its own, which would be
        /// kept at another abstraction and need a thunk (an allocation) at each send.
        var answer: (Result<HTTPResponse, HTTPClientError>) -> Void = { _ in }
    }

    /// One open-loop arrival stream: every `loopCount`-th arrival of a schedule, starting at this loop's index.
    /// A class: the arrival loop reads the current stream once per arrival, and a copy of a struct holding the
    /// schedule (with its arrays) cost more than the rest of the arrival's bookkeeping.
    final class ArrivalStream {
        let schedule: ArrivalSchedule
        let base: UInt64
        @exclusivity(unchecked) var next: Int64
        let warmup: Bool

        init(schedule: ArrivalSchedule, base: UInt64, next: Int64, warmup: Bool) {
            self.schedule = schedule
            self.base = base
            self.next = next
            self.warmup = warmup
        }
    }

    // The state every call touches (loop thread only, like everything here: see the class's comment).
    @exclusivity(unchecked) var slots: [Slot]
    @exclusivity(unchecked) var idle: [Int]
    @exclusivity(unchecked) var retryQueue: CallQueue = CallQueue()
    @exclusivity(unchecked) var newQueue: CallQueue = CallQueue()
    @exclusivity(unchecked) var live: [EngineCall] = []
    @exclusivity(unchecked) var pumping: Bool = false
    @exclusivity(unchecked) var submitting: Int = 0
    @exclusivity(unchecked) var budget: RetryBudget
    @exclusivity(unchecked) var gate: HealthGate
    /// The loop's adaptive rate limiter, or `nil` when the scenario has none.
    @exclusivity(unchecked) var limiter: AdaptiveRateLimiter?
    @exclusivity(unchecked) var result: RunResult = RunResult()
    @exclusivity(unchecked) var scratchAttempts: [MeasuredAttempt] = []
    @exclusivity(unchecked) var lastEnd: UInt64 = 0
    @exclusivity(unchecked) var progress: LoopProgress = LoopProgress()
    @exclusivity(unchecked) var loadFinished: Bool = false
    @exclusivity(unchecked) var expired: Bool = false
    @exclusivity(unchecked) var users: [Int] = []
    @exclusivity(unchecked) var userIterations: [Int64] = []
    @exclusivity(unchecked) var userWarmupIterations: [Int64] = []

    let loop: EventLoop
    let loopIndex: Int
    let settings: EngineRunSettings
    let onDone: @Sendable (LoopOutcome) -> Void

    @exclusivity(unchecked) var rng: EngineRandom
    @exclusivity(unchecked) var proberTimer: TimerID?
    @exclusivity(unchecked) var proberConnection: HTTPClientConnection?


    @exclusivity(unchecked) var measureStart: UInt64 = 0
    @exclusivity(unchecked) var loadEnd: UInt64 = 0
    @exclusivity(unchecked) var started = false
    @exclusivity(unchecked) var reported = false
    @exclusivity(unchecked) var drainTimer: TimerID?
    @exclusivity(unchecked) var drainDeadline: UInt64 = 0
    @exclusivity(unchecked) var loadEndTimer: TimerID?
    @exclusivity(unchecked) var interrupted = false

    @exclusivity(unchecked) var streams: [ArrivalStream] = []
    @exclusivity(unchecked) var arrivalTimer: TimerID?

    /// Closed loop: the loop's users (global user = loopIndex + local × loopCount).
    @exclusivity(unchecked) var closedModel: ClosedLoopModel?
    @exclusivity(unchecked) var gateRetryDelay: UInt64 = 0

    init(
        loop: EventLoop, loopIndex: Int, connections: Int, settings: EngineRunSettings,
        onDone: @escaping @Sendable (LoopOutcome) -> Void
    ) {
        self.loop = loop
        self.loopIndex = loopIndex
        self.settings = settings
        self.onDone = onDone
        slots = Array(repeating: Slot(), count: connections)
        idle = Array((0..<connections).reversed())
        budget = RetryBudget(settings.policy.budgets[loopIndex])
        gate = HealthGate(settings.policy.gate)
        limiter = settings.policy.adaptiveRateLimit.map { AdaptiveRateLimiter($0, now: Self.duration(EventLoop.now())) }
        rng = EngineRandom(seed: settings.seed, stream: UInt64(loopIndex))
        if settings.policy.gateEnabled {
            gateRetryDelay = UInt64(max(1_000_000, Self.nanoseconds(settings.policy.gate.probeBackoff.base)))
        }
        // `unowned`: the handlers live in this object; every connection is closed (its requests answered)
        // before the loop reports or abandons the run.
        for slot in slots.indices { slots[slot].answer = { [unowned self] result in slotAnswered(slot, result) } }
    }

    // MARK: - Preconnect

    /// Opens every connection (loop thread); `completion` gets the number opened and the first failure.
    func preconnect(_ completion: @escaping @Sendable (Int, HTTPClientError?) -> Void) {
        preconnectPending = slots.count
        preconnectOpened = 0
        preconnectError = nil
        preconnectCompletion = completion
        if slots.isEmpty {
            completion(0, nil)
            return
        }
        for index in slots.indices {
            HTTPClientConnection.connect(
                host: settings.host, port: settings.port, on: loop, timeout: settings.policy.connectTimeout,
                limits: settings.policy.responseLimits
            ) { [self] result in
                preconnected(slot: index, result: result)
            }
        }
    }

    @exclusivity(unchecked) var preconnectPending = 0
    @exclusivity(unchecked) var preconnectOpened = 0
    @exclusivity(unchecked) var preconnectError: HTTPClientError?
    @exclusivity(unchecked) var preconnectCompletion: (@Sendable (Int, HTTPClientError?) -> Void)?

    func preconnected(slot index: Int, result: Result<HTTPClientConnection, HTTPClientError>) {
        switch result {
        case .success(let connection):
            if slots[index].connection == nil, !reported {
                slots[index].connection = connection
                preconnectOpened += 1
            } else {
                connection.close()
            }
        case .failure(let error):
            if preconnectError == nil { preconnectError = error }
        }
        preconnectPending -= 1
        if preconnectPending == 0, let completion = preconnectCompletion {
            preconnectCompletion = nil
            completion(preconnectOpened, preconnectError)
        }
    }

    /// Closes every connection without running (loop thread); used when the run is abandoned before it starts.
    func abandon() {
        reported = true
        closeConnections()
    }

    // MARK: - Start

    /// Starts the loop's share of the load at `origin` (`EventLoop.now()` scale): warmup first, then the
    /// measured load.
    func start(at origin: UInt64) {
        started = true
        measureStart = origin &+ settings.warmupLength
        loadEnd = measureStart &+ settings.loadLength
        result.timeline.origin = Int64(measureStart)
        let now = EventLoop.now()
        drainDeadline = loadEnd &+ settings.drainNanoseconds
        drainTimer = loop.schedule(after: Self.delay(until: drainDeadline, now: now)) { [self] in expire() }
        switch settings.load {
        case .open(let schedule):
            if case .open(let warm)? = settings.warmup {
                streams.append(ArrivalStream(schedule: warm, base: origin, next: Int64(loopIndex), warmup: true))
            }
            streams.append(ArrivalStream(schedule: schedule, base: measureStart, next: Int64(loopIndex), warmup: false))
            arrivalTimer = loop.schedule(after: Self.delay(until: origin, now: now)) { [self] in fireArrivals() }
        case .closed(let model):
            closedModel = model
            var user = loopIndex
            while user < model.users {
                users.append(user)
                user += settings.loopCount
            }
            userIterations = Array(repeating: 0, count: users.count)
            userWarmupIterations = Array(repeating: 0, count: users.count)
            loadEndTimer = loop.schedule(after: Self.delay(until: loadEnd, now: now)) { [self] in
                loadEndTimer = nil
                loadFinished = true
                checkDone()
            }
            loop.schedule(after: Self.delay(until: origin, now: now)) { [self] in
                for local in users.indices { issueUserCall(local) }
            }
        }
    }

    // MARK: - Progress

    /// The loop's counters now (loop thread).
    func progressSnapshot() -> LoopProgress {
        var snapshot = progress
        snapshot.live = live.count
        snapshot.latency = result.latency
        return snapshot
    }

    /// The loop's time series so far, every interval packed (loop thread).
    func timelineSnapshot() -> Timeline {
        let timeline = result.timeline
        return timeline.sealed()
    }

    /// Whether measurement has started (loop thread).
    func measuring(at now: UInt64) -> Bool { started && now >= measureStart }

    // MARK: - Time

    static func duration(_ nanoseconds: UInt64) -> Duration { .nanoseconds(Int64(clamping: nanoseconds)) }

    /// Whole nanoseconds in `duration`, at most `Int64.max / 2` (so that adding it to a clock reading cannot
    /// overflow). One 128-bit division: `components` makes two in the runtime (about 190 instructions a call).
    static func nanoseconds(_ duration: Duration) -> Int64 {
        min(Int64(clamping: duration.attoseconds / 1_000_000_000), Int64.max / 2)
    }

    static func delay(until deadline: UInt64, now: UInt64) -> UInt64 { deadline > now ? deadline - now : 0 }

    /// Wall-clock seconds since 1970 (for HTTP-date `Retry-After`).
    static func wallClock() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
