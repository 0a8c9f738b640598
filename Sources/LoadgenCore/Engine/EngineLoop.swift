import Glibc
import HTTP1
import NetIO
import ResilientClient
import Synchronization

/// One event loop's share of a run: its connections, its arrivals or users, its queue, its retry budget and
/// health gate, its histograms. Everything here runs on the loop's thread; other threads only reach it with
/// `loop.execute`, so nothing on the request path takes a lock.
final class EngineLoop: @unchecked Sendable {
    struct Slot {
        var connection: HTTPClientConnection?
        var call: EngineCall?
    }

    /// One open-loop arrival stream: every `loopCount`-th arrival of a schedule, starting at this loop's index.
    struct ArrivalStream {
        var schedule: ArrivalSchedule
        var base: UInt64
        var next: Int64
        var warmup: Bool
    }

    /// The state every call touches. It lives behind a pointer the loop owns (allocated in `init`, freed in
    /// `deinit`) rather than in stored properties: stored class properties pay a dynamic exclusivity check per
    /// access (~100 instructions, some 20 per call), pointer accesses do not. Only the loop's thread touches it,
    /// and no access to it overlaps another (the dynamic checks, while they were on, never fired).
    struct HotState {
        var slots: [Slot]
        var idle: [Int]
        var retryQueue: CallQueue = CallQueue()
        var newQueue: CallQueue = CallQueue()
        var live: [EngineCall] = []
        var pumping: Bool = false
        var submitting: Int = 0
        var budget: RetryBudget
        var gate: HealthGate
        /// The loop's adaptive rate limiter, or `nil` when the scenario has none.
        var limiter: AdaptiveRateLimiter?
        var result: RunResult = RunResult()
        var scratchAttempts: [MeasuredAttempt] = []
        var lastEnd: UInt64 = 0
        var progress: LoopProgress = LoopProgress()
        var loadFinished: Bool = false
        var expired: Bool = false
        var users: [Int] = []
        var userIterations: [Int64] = []
        var userWarmupIterations: [Int64] = []
    }

    let hot: UnsafeMutablePointer<HotState>

    var slots: [Slot] {
        _read { yield hot.pointee.slots }
        _modify { yield &hot.pointee.slots }
    }
    var idle: [Int] {
        _read { yield hot.pointee.idle }
        _modify { yield &hot.pointee.idle }
    }
    var retryQueue: CallQueue {
        _read { yield hot.pointee.retryQueue }
        _modify { yield &hot.pointee.retryQueue }
    }
    var newQueue: CallQueue {
        _read { yield hot.pointee.newQueue }
        _modify { yield &hot.pointee.newQueue }
    }
    var live: [EngineCall] {
        _read { yield hot.pointee.live }
        _modify { yield &hot.pointee.live }
    }
    var pumping: Bool {
        _read { yield hot.pointee.pumping }
        _modify { yield &hot.pointee.pumping }
    }
    var submitting: Int {
        _read { yield hot.pointee.submitting }
        _modify { yield &hot.pointee.submitting }
    }
    var budget: RetryBudget {
        _read { yield hot.pointee.budget }
        _modify { yield &hot.pointee.budget }
    }
    var gate: HealthGate {
        _read { yield hot.pointee.gate }
        _modify { yield &hot.pointee.gate }
    }
    var limiter: AdaptiveRateLimiter? {
        _read { yield hot.pointee.limiter }
        _modify { yield &hot.pointee.limiter }
    }
    var result: RunResult {
        _read { yield hot.pointee.result }
        _modify { yield &hot.pointee.result }
    }
    var scratchAttempts: [MeasuredAttempt] {
        _read { yield hot.pointee.scratchAttempts }
        _modify { yield &hot.pointee.scratchAttempts }
    }
    var lastEnd: UInt64 {
        _read { yield hot.pointee.lastEnd }
        _modify { yield &hot.pointee.lastEnd }
    }
    var progress: LoopProgress {
        _read { yield hot.pointee.progress }
        _modify { yield &hot.pointee.progress }
    }
    var loadFinished: Bool {
        _read { yield hot.pointee.loadFinished }
        _modify { yield &hot.pointee.loadFinished }
    }
    var expired: Bool {
        _read { yield hot.pointee.expired }
        _modify { yield &hot.pointee.expired }
    }
    var users: [Int] {
        _read { yield hot.pointee.users }
        _modify { yield &hot.pointee.users }
    }
    var userIterations: [Int64] {
        _read { yield hot.pointee.userIterations }
        _modify { yield &hot.pointee.userIterations }
    }
    var userWarmupIterations: [Int64] {
        _read { yield hot.pointee.userWarmupIterations }
        _modify { yield &hot.pointee.userWarmupIterations }
    }

    let loop: EventLoop
    let loopIndex: Int
    let settings: EngineRunSettings
    let onDone: @Sendable (LoopOutcome) -> Void


    var rng: EngineRandom
    var proberTimer: TimerID?
    var proberConnection: HTTPClientConnection?


    var measureStart: UInt64 = 0
    var loadEnd: UInt64 = 0
    var started = false
    var reported = false
    var drainTimer: TimerID?
    var drainDeadline: UInt64 = 0
    var loadEndTimer: TimerID?
    var interrupted = false

    var streams: [ArrivalStream] = []
    var arrivalTimer: TimerID?

    /// Closed loop: the loop's users (global user = loopIndex + local × loopCount).
    var closedModel: ClosedLoopModel?
    var gateRetryDelay: UInt64 = 0

    init(
        loop: EventLoop, loopIndex: Int, connections: Int, settings: EngineRunSettings,
        onDone: @escaping @Sendable (LoopOutcome) -> Void
    ) {
        self.loop = loop
        self.loopIndex = loopIndex
        self.settings = settings
        self.onDone = onDone
        hot = UnsafeMutablePointer<HotState>.allocate(capacity: 1)
        hot.initialize(
            to: HotState(
                slots: Array(repeating: Slot(), count: connections), idle: Array((0..<connections).reversed()),
                budget: RetryBudget(settings.policy.budgets[loopIndex]), gate: HealthGate(settings.policy.gate),
                limiter: settings.policy.adaptiveRateLimit.map {
                    AdaptiveRateLimiter($0, now: Self.duration(EventLoop.now()))
                }))
        rng = EngineRandom(seed: settings.seed, stream: UInt64(loopIndex))
        if settings.policy.gateEnabled {
            gateRetryDelay = UInt64(max(1_000_000, Self.nanoseconds(settings.policy.gate.probeBackoff.base)))
        }
    }

    deinit {
        hot.deinitialize(count: 1)
        hot.deallocate()
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

    var preconnectPending = 0
    var preconnectOpened = 0
    var preconnectError: HTTPClientError?
    var preconnectCompletion: (@Sendable (Int, HTTPClientError?) -> Void)?

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
        let timeline = hot.pointee.result.timeline
        return timeline.sealed()
    }

    /// Whether measurement has started (loop thread).
    func measuring(at now: UInt64) -> Bool { started && now >= measureStart }

    // MARK: - Time

    static func duration(_ nanoseconds: UInt64) -> Duration { .nanoseconds(Int64(clamping: nanoseconds)) }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : Int64.max / 2 }
        return scaled &+ attoseconds / 1_000_000_000
    }

    static func delay(until deadline: UInt64, now: UInt64) -> UInt64 { deadline > now ? deadline - now : 0 }

    /// Wall-clock seconds since 1970 (for HTTP-date `Retry-After`).
    static func wallClock() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
