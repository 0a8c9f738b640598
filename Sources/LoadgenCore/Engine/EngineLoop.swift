import Glibc
import HTTP1
import NetIO
import ResilientClient
import Synchronization

/// The moment a run was told to stop early (Ctrl-C), shared by every loop of the run. Set once from any
/// thread; the loops read it before starting a call, so no call due after the cut starts even before the
/// loop has handled the stop message.
final class EngineStop: Sendable {
    private let cut = Atomic<UInt64>(0)
    /// Set when the run is over: its loops may be gone, a late stop must not reach them.
    private let closed = Mutex(false)

    /// Records the cut at `now()` unless one is already set, then runs `notify` (to tell the loops), unless
    /// `close()` was called: then nothing happens.
    func request(now: () -> UInt64, notify: () -> Void) {
        closed.withLock { closed in
            guard !closed else { return }
            let value = max(1, now())
            guard cut.compareExchange(expected: 0, desired: value, ordering: .acquiringAndReleasing).exchanged else {
                return
            }
            notify()
        }
    }

    /// The run is over: later requests do nothing.
    func close() { closed.withLock { $0 = true } }

    /// Whether the run is over (its loops may be shut down: an `https` answer arriving now is dropped).
    var isClosed: Bool { closed.withLock { $0 } }

    /// The cut, or `nil` while the run has not been stopped.
    var at: UInt64? {
        let value = cut.load(ordering: .acquiring)
        return value == 0 ? nil : value
    }
}

/// Settings shared by every loop of one run (immutable).
struct EngineRunSettings: Sendable {
    /// Target host and port.
    let host: String
    let port: Int
    /// Requests per arrival index.
    let requests: RequestFactory
    /// Retry, budget, gate and timeouts.
    let policy: EnginePolicy
    /// Health path (base path included).
    let pingPath: String
    /// Jitter seed.
    let seed: UInt64
    /// Loops in the run.
    let loopCount: Int
    /// How long after the load ends calls may still finish.
    let drainNanoseconds: UInt64
    /// Calls allowed to wait for a connection, per loop.
    let queueLimit: Int
    /// The measured load.
    let load: LoadShape
    /// The warmup load, if any.
    let warmup: LoadShape?
    /// Set when the run is interrupted.
    let stop: EngineStop
    /// For an `https://` target: the transport attempts go through instead of the loop's connections.
    var secure: SecureSender? = nil
    /// Sees every action of every call's machine, with the call's arrival index.
    var trace: (@Sendable (Int64, CallAction) -> Void)? = nil

    /// Length of a load shape in nanoseconds.
    static func length(_ shape: LoadShape) -> UInt64 {
        switch shape {
        case .open(let schedule): return UInt64(max(0, schedule.length))
        case .closed(let model): return UInt64(max(0, model.duration.nanoseconds))
        }
    }

    /// Length of the warmup in nanoseconds.
    var warmupLength: UInt64 { warmup.map(EngineRunSettings.length) ?? 0 }
    /// Length of the measured load in nanoseconds.
    var loadLength: UInt64 { EngineRunSettings.length(load) }
}

/// What a loop reports about itself for the progress line.
struct LoopProgress: Sendable {
    /// Attempts that ended (warmup included).
    var attempts: Int64 = 0
    /// Calls that came due (warmup included).
    var offered: Int64 = 0
    /// Measured calls that succeeded.
    var ok: Int64 = 0
    /// Measured calls that failed.
    var failed: Int64 = 0
    /// Measured attempts answered 503.
    var status503: Int64 = 0
    /// Calls queued, in flight or in backoff.
    var live = 0
    /// End-to-end latency of the measured calls so far.
    var latency: Histogram?
}

/// What a loop hands back at the end.
struct LoopOutcome: Sendable {
    /// The loop's share of the result.
    var result: RunResult
    /// When its last measured call ended (0 if none).
    var lastEnd: UInt64
}

/// One event loop's share of a run: its connections, its arrivals or users, its queue, its retry budget and
/// health gate, its histograms. Everything here runs on the loop's thread; other threads only reach it with
/// `loop.execute`, so nothing on the request path takes a lock.
final class EngineLoop: @unchecked Sendable {
    private struct Slot {
        var connection: HTTPClientConnection?
        var call: EngineCall?
    }

    /// One open-loop arrival stream: every `loopCount`-th arrival of a schedule, starting at this loop's index.
    private struct ArrivalStream {
        var schedule: ArrivalSchedule
        var base: UInt64
        var next: Int64
        var warmup: Bool
    }

    /// The state every call touches. It lives behind a pointer the loop owns (allocated in `init`, freed in
    /// `deinit`) rather than in stored properties: stored class properties pay a dynamic exclusivity check per
    /// access (~100 instructions, some 20 per call), pointer accesses do not. Only the loop's thread touches it,
    /// and no access to it overlaps another (the dynamic checks, while they were on, never fired).
    private struct HotState {
        var slots: [Slot]
        var idle: [Int]
        var retryQueue: CallQueue = CallQueue()
        var newQueue: CallQueue = CallQueue()
        var live: [EngineCall] = []
        var pumping: Bool = false
        var submitting: Int = 0
        var budget: RetryBudget
        var gate: HealthGate
        var result: RunResult = RunResult()
        var scratchAttempts: [AttemptRecord] = []
        var lastEnd: UInt64 = 0
        var progress: LoopProgress = LoopProgress()
        var loadFinished: Bool = false
        var expired: Bool = false
        var users: [Int] = []
        var userIterations: [Int64] = []
        var userWarmupIterations: [Int64] = []
    }

    private let hot: UnsafeMutablePointer<HotState>

    private var slots: [Slot] {
        _read { yield hot.pointee.slots }
        _modify { yield &hot.pointee.slots }
    }
    private var idle: [Int] {
        _read { yield hot.pointee.idle }
        _modify { yield &hot.pointee.idle }
    }
    private var retryQueue: CallQueue {
        _read { yield hot.pointee.retryQueue }
        _modify { yield &hot.pointee.retryQueue }
    }
    private var newQueue: CallQueue {
        _read { yield hot.pointee.newQueue }
        _modify { yield &hot.pointee.newQueue }
    }
    private var live: [EngineCall] {
        _read { yield hot.pointee.live }
        _modify { yield &hot.pointee.live }
    }
    private var pumping: Bool {
        _read { yield hot.pointee.pumping }
        _modify { yield &hot.pointee.pumping }
    }
    private var submitting: Int {
        _read { yield hot.pointee.submitting }
        _modify { yield &hot.pointee.submitting }
    }
    private var budget: RetryBudget {
        _read { yield hot.pointee.budget }
        _modify { yield &hot.pointee.budget }
    }
    private var gate: HealthGate {
        _read { yield hot.pointee.gate }
        _modify { yield &hot.pointee.gate }
    }
    private var result: RunResult {
        _read { yield hot.pointee.result }
        _modify { yield &hot.pointee.result }
    }
    private var scratchAttempts: [AttemptRecord] {
        _read { yield hot.pointee.scratchAttempts }
        _modify { yield &hot.pointee.scratchAttempts }
    }
    private var lastEnd: UInt64 {
        _read { yield hot.pointee.lastEnd }
        _modify { yield &hot.pointee.lastEnd }
    }
    private var progress: LoopProgress {
        _read { yield hot.pointee.progress }
        _modify { yield &hot.pointee.progress }
    }
    private var loadFinished: Bool {
        _read { yield hot.pointee.loadFinished }
        _modify { yield &hot.pointee.loadFinished }
    }
    private var expired: Bool {
        _read { yield hot.pointee.expired }
        _modify { yield &hot.pointee.expired }
    }
    private var users: [Int] {
        _read { yield hot.pointee.users }
        _modify { yield &hot.pointee.users }
    }
    private var userIterations: [Int64] {
        _read { yield hot.pointee.userIterations }
        _modify { yield &hot.pointee.userIterations }
    }
    private var userWarmupIterations: [Int64] {
        _read { yield hot.pointee.userWarmupIterations }
        _modify { yield &hot.pointee.userWarmupIterations }
    }

    let loop: EventLoop
    let loopIndex: Int
    private let settings: EngineRunSettings
    private let onDone: @Sendable (LoopOutcome) -> Void


    private var rng: EngineRandom
    private var proberTimer: TimerID?
    private var proberConnection: HTTPClientConnection?


    private var measureStart: UInt64 = 0
    private var loadEnd: UInt64 = 0
    private var started = false
    private var reported = false
    private var drainTimer: TimerID?
    private var drainDeadline: UInt64 = 0
    private var loadEndTimer: TimerID?
    private var interrupted = false

    private var streams: [ArrivalStream] = []
    private var arrivalTimer: TimerID?

    /// Closed loop: the loop's users (global user = loopIndex + local × loopCount).
    private var closedModel: ClosedLoopModel?
    private var gateRetryDelay: UInt64 = 0

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
                budget: RetryBudget(settings.policy.budgets[loopIndex]), gate: HealthGate(settings.policy.gate)))
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
                host: settings.host, port: settings.port, on: loop, timeout: settings.policy.connectTimeout
            ) { [self] result in
                preconnected(slot: index, result: result)
            }
        }
    }

    private var preconnectPending = 0
    private var preconnectOpened = 0
    private var preconnectError: HTTPClientError?
    private var preconnectCompletion: (@Sendable (Int, HTTPClientError?) -> Void)?

    private func preconnected(slot index: Int, result: Result<HTTPClientConnection, HTTPClientError>) {
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

    // MARK: - Open loop

    private func fireArrivals() {
        arrivalTimer = nil
        guard !expired else { return }
        let now = EventLoop.now()
        let step = Int64(settings.loopCount)
        while let stream = streams.first {
            guard stream.next < stream.schedule.count else {
                streams.removeFirst()
                continue
            }
            let due = stream.base &+ UInt64(stream.schedule.intendedTime(of: stream.next))
            if due > now {
                arrivalTimer = loop.schedule(after: due - now) { [self] in fireArrivals() }
                return
            }
            // Interrupted: no call starts any more; `interrupt()` (on its way to this loop) accounts for the rest.
            if settings.stop.at != nil { return }
            let index = stream.next
            streams[0].next += step
            dispatch(index: index, intendedStart: due, warmup: stream.warmup, user: -1)
        }
        loadFinished = true
        checkDone()
    }

    // MARK: - Closed loop

    private func issueUserCall(_ local: Int) {
        guard !loadFinished, !expired, settings.stop.at == nil, let model = closedModel else { return }
        let now = EventLoop.now()
        guard now < loadEnd else { return }
        let warmup = now < measureStart
        let index: Int64
        if warmup {
            index = model.arrivalIndex(user: users[local], iteration: userWarmupIterations[local])
            userWarmupIterations[local] += 1
        } else {
            index = model.arrivalIndex(user: users[local], iteration: userIterations[local])
            userIterations[local] += 1
        }
        dispatch(index: index, intendedStart: now, warmup: warmup, user: local)
    }

    private func userCallEnded(_ local: Int, gateRefused: Bool) {
        guard !loadFinished, !expired, let model = closedModel else { return }
        var pause = UInt64(max(0, model.thinkTime.nanoseconds))
        if gateRefused { pause = max(pause, gateRetryDelay) }
        if pause > 0 || submitting > 0 {
            // A pause, or a call that ended synchronously inside a send: continue from a timer so the loop
            // can run its other work (and a refused target cannot spin the loop).
            loop.schedule(after: pause) { [self] in issueUserCall(local) }
        } else {
            issueUserCall(local)
        }
    }

    // MARK: - Calls

    private func dispatch(index: Int64, intendedStart: UInt64, warmup: Bool, user: Int) {
        let request = settings.requests.request(at: index)
        progress.offered += 1
        let call = EngineCall(
            index: index, intendedStart: intendedStart, warmup: warmup, user: user, request: request,
            machine: CallMachine(
                policy: settings.policy.call, idempotent: settings.requests.idempotent[request.requestIndex],
                deadline: nil))
        call.liveIndex = live.count
        live.append(call)
        if !idle.isEmpty || newQueue.count < settings.queueLimit {
            newQueue.append(call)
            pump()
        } else {
            finishNotSent(call, reason: .clientQueueFull)
        }
    }

    /// Starts queued calls while connections are free (retries first).
    private func pump() {
        guard !pumping else { return }
        pumping = true
        defer { pumping = false }
        while !idle.isEmpty, !expired {
            // Once interrupted, calls already sent may retry, but no call makes its first attempt.
            guard let call = retryQueue.popFirst() ?? (settings.stop.at == nil ? newQueue.popFirst() : nil) else {
                return
            }
            startAttempt(call, slot: idle.removeLast())
        }
    }

    /// Gives the call's next attempt a connection slot, if its machine sends one (the gate may hold it: a
    /// closed gate ends the call, `failFast`, as the scenario's health gate is documented to do).
    private func startAttempt(_ call: EngineCall, slot: Int) {
        let now = EventLoop.now()
        let action =
            call.machine.state == .idle
            ? call.machine.start(now: Self.duration(now), budget: &budget, gate: &gate)
            : call.machine.wake(now: Self.duration(now), gate: &gate)
        settings.trace?(call.index, action)
        guard case .send(let attempt) = action else {
            idle.append(slot)
            if !call.hasAttempts {
                finishNotSent(call, reason: .healthGate)
            } else {
                finishSent(call, now: now)  // the last attempt stands
            }
            return
        }
        launch(call, attempt, slot: slot, now: now)
    }

    /// Sends `attempt` of `call` on connection slot `slot` (opening a connection first when the slot has none
    /// it can reuse), and arms the call's hedge timer when the machine asks for one.
    private func launch(_ call: EngineCall, _ attempt: CallAttempt, slot: Int, now: UInt64) {
        let deadline = attempt.timeout.map { now &+ UInt64(max(0, Self.nanoseconds($0))) } ?? UInt64.max
        let sent = EngineAttempt(number: attempt.number, slot: slot, sent: now, deadline: deadline)
        call.attemptDeadline = deadline
        call.attemptSent = now
        call.slot = slot
        slots[slot].call = call
        if let after = attempt.hedgeAfter { armHedge(call, after: after) }
        if settings.policy.call.hedging != nil { call.hedges.append(sent) }
        submitting += 1
        defer { submitting -= 1 }
        if let connection = slots[slot].connection, connection.isReusable {
            send(call, sent, on: connection)
        } else {
            if let stale = slots[slot].connection {
                stale.close()
                slots[slot].connection = nil
            }
            // https: no connection of the loop's own (slots only bound the attempts in flight).
            if let secure = settings.secure {
                sendSecure(call, slot: slot, via: secure)
                return
            }
            if call.phase != .inFlight { call.phase = .connecting }
            HTTPClientConnection.connect(
                host: settings.host, port: settings.port, on: loop, timeout: settings.policy.connectTimeout
            ) { [self] result in
                connected(call, sent, result: result)
            }
        }
    }

    /// Whether `attempt`'s end is still awaited: the call lives and its machine waits for that attempt.
    private func awaited(_ call: EngineCall, _ attempt: EngineAttempt) -> Bool {
        (call.phase == .inFlight || call.phase == .connecting) && call.machine.isInFlight(attempt.number)
    }

    private func connected(
        _ call: EngineCall, _ attempt: EngineAttempt, result: Result<HTTPClientConnection, HTTPClientError>
    ) {
        guard awaited(call, attempt), !reported else {
            if case .success(let connection) = result { connection.close() }
            return
        }
        switch result {
        case .success(let connection):
            slots[attempt.slot].connection = connection
            submitting += 1
            defer { submitting -= 1 }
            send(call, attempt, on: connection)
        case .failure(let error):
            attemptEnded(call, attempt, result: .failure(error))
        }
    }

    private func send(_ call: EngineCall, _ attempt: EngineAttempt, on connection: HTTPClientConnection) {
        call.phase = .inFlight
        let request = call.request
        connection.send(method: request.method, encodedRequest: request.encoded, deadline: attempt.deadline) {
            [self] result in
            attemptEnded(call, attempt, result: result)
        }
    }

    private func attemptEnded(_ call: EngineCall, _ attempt: EngineAttempt, result: Result<HTTPResponse, HTTPClientError>) {
        guard awaited(call, attempt) else { return }
        let now = EventLoop.now()
        let slot = attempt.slot
        slots[slot].call = nil
        let record: AttemptRecord
        let outcome: AttemptOutcome
        var succeeded = false
        var retryAfter: RetryAfter?
        switch result {
        case .success(let response):
            (record, outcome, succeeded, retryAfter) = answered(
                call, sent: attempt.sent, status: response.head.status,
                retryAfter: response.head.headers["Retry-After"], now: now)
            if let connection = slots[slot].connection, !connection.isReusable {
                connection.close()
                slots[slot].connection = nil
            }
        case .failure(let error):
            let failure = TransportFailure(error, expired: expired)
            record = .failure(sent: Int64(attempt.sent), ended: Int64(now), error: failure.kind)
            outcome = failure.outcome
            // The connection is broken (or was never opened): the next attempt on this slot reconnects.
            if let connection = slots[slot].connection {
                connection.close()
                slots[slot].connection = nil
            }
        }
        attemptRecorded(
            call, attempt, record: record, outcome: outcome, succeeded: succeeded, retryAfter: retryAfter, now: now)
    }

    // MARK: - Hedging

    /// Arms the timer that asks the call's machine for its next hedge (replacing an earlier one).
    private func armHedge(_ call: EngineCall, after delay: Duration) {
        if let timer = call.hedgeTimer { loop.cancel(timer) }
        call.hedgeTimer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(delay)))) { [self] in
            call.hedgeTimer = nil
            hedgeDue(call)
        }
    }

    /// The hedge delay passed with the call's attempts still in flight. A hedge needs a free connection slot:
    /// with none free, no hedge is sent (the attempts in flight run on).
    private func hedgeDue(_ call: EngineCall) {
        guard call.phase == .inFlight || call.phase == .connecting, !expired, let slot = idle.popLast() else { return }
        let now = EventLoop.now()
        let action = call.machine.hedgeDue(now: Self.duration(now), budget: &budget, gate: &gate)
        settings.trace?(call.index, action)
        switch action {
        case .send(let attempt):
            launch(call, attempt, slot: slot, now: now)
        case .finish:
            idle.append(slot)
            finishSent(call, now: now)
        case .retry, .waitForGate, .awaitAttempts:
            idle.append(slot)
        }
    }

    /// A hedged call ended: its attempts still in flight are the losers. Each is cancelled (its connection
    /// closed, its slot freed) and recorded as a sent attempt of kind `cancelled`, before the attempt that
    /// decided the call.
    private func cancelLosers(_ call: EngineCall, now: UInt64) {
        let losers = call.hedges
        call.hedges.removeAll()
        for loser in losers where slots[loser.slot].call === call {
            slots[loser.slot].call = nil
            if let connection = slots[loser.slot].connection {
                slots[loser.slot].connection = nil
                connection.close()
            }
            if !expired { idle.append(loser.slot) }
            call.insertBeforeLast(.failure(sent: Int64(loser.sent), ended: Int64(now), error: TransportFailure.cancelledKind))
            progress.attempts += 1
        }
    }

    /// What an answer with `status` means for the call (record, outcome for the planner and the gate, success,
    /// `Retry-After`); counts a measured 503.
    @inline(__always)
    private func answered(
        _ call: EngineCall, sent: UInt64, status: Int, retryAfter header: @autoclosure () -> String?, now: UInt64
    ) -> (AttemptRecord, AttemptOutcome, Bool, RetryAfter?) {
        let succeeded = settings.requests.isSuccess(status, requestIndex: call.request.requestIndex)
        let record = AttemptRecord.response(
            sent: Int64(sent), ended: Int64(now), status: status, succeeded: succeeded)
        var retryAfter: RetryAfter?
        if !succeeded, let value = header() {
            retryAfter = RetryAfter(headerValue: value, nowSecondsSince1970: Self.wallClock())
        }
        if status == 503, !call.warmup { progress.status503 += 1 }
        return (record, .status(status), succeeded, retryAfter)
    }

    /// The attempt is recorded: free its slot, then retry, finish or give up (`conclude`), and start what waits.
    @inline(__always)
    private func attemptRecorded(
        _ call: EngineCall, _ attempt: EngineAttempt, record: AttemptRecord, outcome: AttemptOutcome,
        succeeded: Bool, retryAfter: RetryAfter?, now: UInt64
    ) {
        progress.attempts += 1
        call.append(record)
        if !call.hedges.isEmpty { call.hedges.removeAll { $0.number == attempt.number } }
        if !expired { idle.append(attempt.slot) }
        conclude(
            call, attempt: attempt.number, outcome: outcome, succeeded: succeeded, retryAfter: retryAfter, now: now)
        pump()
    }

    // MARK: - https attempts

    /// Sends the call's attempt through the `https` transport on a task; the answer comes back to this loop
    /// (`secureAttemptEnded`). When the transport does not bound the attempt itself, a loop timer does.
    private func sendSecure(_ call: EngineCall, slot: Int, via secure: SecureSender) {
        call.phase = .inFlight
        let sent = call.attemptSent
        guard let request = secure.request(call.request) else {
            secureAttemptEnded(call, slot: slot, sent: sent, result: .failure(TransportError(.other, "unreadable request")))
            return
        }
        let timeout = Self.duration(settings.policy.attemptTimeout)
        let stop = settings.stop
        call.task = Task { [self, loop] in
            let result: Result<TransportResponse, TransportError>
            do throws(TransportError) {
                result = .success(try await secure.transport.send(request, timeout: timeout))
            } catch {
                result = .failure(error)
            }
            guard !stop.isClosed else { return }
            loop.execute { [self] in secureAttemptEnded(call, slot: slot, sent: sent, result: result) }
        }
        if !secure.transport.enforcesTimeout {
            call.timer = loop.schedule(after: settings.policy.attemptTimeout) { [self] in
                call.timer = nil
                guard call.phase == .inFlight, call.attemptSent == sent else { return }
                call.task?.cancel()
                secureAttemptEnded(
                    call, slot: slot, sent: sent, result: .failure(TransportError(.responseTimeout, "timed out")))
            }
        }
    }

    /// An `https` attempt ended (loop thread): recorded like an answer on the loop's own connections. A late
    /// answer (the attempt already timed out, or the run expired) is dropped.
    private func secureAttemptEnded(
        _ call: EngineCall, slot: Int, sent: UInt64, result: Result<TransportResponse, TransportError>
    ) {
        guard call.phase == .inFlight, call.attemptSent == sent else { return }
        if let timer = call.timer {
            loop.cancel(timer)
            call.timer = nil
        }
        call.task = nil
        let now = EventLoop.now()
        slots[slot].call = nil
        let attempt = EngineAttempt(number: call.machine.attempts, slot: slot, sent: sent, deadline: call.attemptDeadline)
        switch result {
        case .success(let response):
            let (record, outcome, succeeded, retryAfter) = answered(
                call, sent: sent, status: response.status,
                retryAfter: response.headers.first { $0.name.lowercased() == "retry-after" }?.value, now: now)
            attemptRecorded(
                call, attempt, record: record, outcome: outcome, succeeded: succeeded, retryAfter: retryAfter,
                now: now)
        case .failure(let error):
            let failure = TransportFailure(error, expired: expired)
            attemptRecorded(
                call, attempt,
                record: .failure(sent: Int64(call.attemptSent), ended: Int64(now), error: failure.kind),
                outcome: failure.outcome, succeeded: false, retryAfter: nil, now: now)
        }
    }

    /// After an attempt: its call's machine tells the gate and decides: finish, or sleep before the next attempt.
    private func conclude(
        _ call: EngineCall, attempt: Int, outcome: AttemptOutcome, succeeded: Bool, retryAfter: RetryAfter?,
        now: UInt64
    ) {
        if expired {
            finishSent(call, now: now)
            return
        }
        let step = call.machine.attemptEnded(
            attempt, outcome, succeeded: succeeded, retryAfter: retryAfter, now: Self.duration(now),
            wallClockSeconds: retryAfter == nil ? 0 : Self.wallClock(), budget: &budget, gate: &gate, rng: &rng)
        if let transition = step.transition, transition.to == .closed { startProber() }
        settings.trace?(call.index, step.action)
        switch step.action {
        case .retry(let delay, _):
            call.phase = .backoff
            call.timer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(delay)))) { [self] in
                backoffEnded(call)
            }
        case .finish(let end):
            if end == .gaveUp(.budgetExhausted) { call.budgetDenied = true }
            finishSent(call, now: now)
        case .send(let next):
            // A hedged call's next hedge, at once after a non-fatal failure, on the slot just freed.
            if let slot = idle.popLast() {
                launch(call, next, slot: slot, now: now)
            } else {
                finishSent(call, now: now)
            }
        case .awaitAttempts:
            break  // a hedged call's other attempts run on
        case .waitForGate:
            finishSent(call, now: now)  // not after an outcome: the engine's gate fails fast
        }
    }

    private func backoffEnded(_ call: EngineCall) {
        call.timer = nil
        guard call.phase == .backoff, !expired else { return }
        call.phase = .queued
        retryQueue.append(call)
        pump()
    }

    private func finishSent(_ call: EngineCall, now: UInt64) {
        guard call.phase != .finished else { return }
        if !call.hasAttempts {
            finishNotSent(call, reason: .runEnded)
            return
        }
        retire(call)
        if !call.hedges.isEmpty { cancelLosers(call, now: now) }
        if call.warmup {
            result.warmupCalls += 1
        } else {
            let last = call.lastAttempt
            if let last { lastEnd = max(lastEnd, UInt64(last.ended)) }
            if last?.succeeded == true { progress.ok += 1 } else { progress.failed += 1 }
            call.copyAttempts(into: &scratchAttempts)
            result.record(
                .sent(
                    index: call.index, intendedStart: Int64(call.intendedStart), attempts: scratchAttempts,
                    retryDeniedByBudget: call.budgetDenied, requestIndex: call.request.requestIndex))
        }
        if call.user >= 0 { userCallEnded(call.user, gateRefused: false) }
        checkDone()
    }

    private func finishNotSent(_ call: EngineCall, reason: NotSentReason) {
        guard call.phase != .finished else { return }
        retire(call)
        if call.warmup {
            result.warmupCalls += 1
        } else {
            result.record(
                .notSent(
                    index: call.index, intendedStart: Int64(call.intendedStart), reason: reason,
                    requestIndex: call.request.requestIndex))
        }
        if call.user >= 0 { userCallEnded(call.user, gateRefused: reason == .healthGate) }
        checkDone()
    }

    /// Marks a call finished and removes it from the live list.
    private func retire(_ call: EngineCall) {
        call.phase = .finished
        if let timer = call.timer {
            loop.cancel(timer)
            call.timer = nil
        }
        if let timer = call.hedgeTimer {
            loop.cancel(timer)
            call.hedgeTimer = nil
        }
        let position = call.liveIndex
        if position >= 0, position < live.count, live[position] === call {
            let last = live.removeLast()
            if last !== call {
                live[position] = last
                last.liveIndex = position
            }
        }
        call.liveIndex = -1
    }

    // MARK: - Health gate prober

    private func startProber() {
        guard gate.beginProbing() else { return }
        scheduleProbe()
    }

    private func scheduleProbe() {
        guard !reported, !expired else {
            gate.endProbing()
            return
        }
        let delay = gate.nextProbeDelay(using: &rng)
        proberTimer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(delay)))) { [self] in
            proberTimer = nil
            probe()
        }
    }

    private func probe() {
        guard !reported, !expired else {
            gate.endProbing()
            return
        }
        if let secure = settings.secure {
            secureProbe(secure)
            return
        }
        let deadline = EventLoop.now() &+ settings.policy.attemptTimeout
        HTTPClientConnection.connect(
            host: settings.host, port: settings.port, on: loop, timeout: settings.policy.connectTimeout
        ) { [self] result in
            switch result {
            case .failure:
                probeEnded(healthy: false)
            case .success(let connection):
                guard !reported else {
                    connection.close()
                    return
                }
                proberConnection = connection
                connection.send(method: "GET", target: settings.pingPath, deadline: deadline) { [self] answer in
                    connection.close()
                    proberConnection = nil
                    if case .success(let response) = answer {
                        probeEnded(healthy: response.head.status == 200)
                    } else {
                        probeEnded(healthy: false)
                    }
                }
            }
        }
    }

    /// `GET` the health path through the `https` transport; the answer comes back to this loop.
    private func secureProbe(_ secure: SecureSender) {
        guard let request = secure.get(settings.pingPath) else {
            probeEnded(healthy: false)
            return
        }
        let timeout = Self.duration(settings.policy.attemptTimeout)
        let stop = settings.stop
        Task { [self, loop] in
            let healthy = (try? await secure.transport.send(request, timeout: timeout))?.status == 200
            guard !stop.isClosed else { return }
            loop.execute { [self] in probeEnded(healthy: healthy) }
        }
    }

    private func probeEnded(healthy: Bool) {
        guard !reported else { return }
        if gate.recordProbe(healthy: healthy) != nil { return }
        scheduleProbe()
    }

    // MARK: - End of run

    /// The run was interrupted (loop thread; `settings.stop` is set): the load ends at the cut. Arrivals due by
    /// then that were not dispatched yet, and calls still waiting for their first attempt, are not sent
    /// (`interrupted`); arrivals due after the cut are not part of the run; closed-loop users stop. Calls
    /// already sent drain as at the normal end, within `drainNanoseconds` from the cut.
    func interrupt() {
        guard started, !reported, !interrupted, let cut = settings.stop.at else { return }
        interrupted = true
        loadFinished = true
        if let arrivalTimer { loop.cancel(arrivalTimer) }
        arrivalTimer = nil
        if let loadEndTimer { loop.cancel(loadEndTimer) }
        loadEndTimer = nil
        let step = Int64(settings.loopCount)
        for stream in streams where !stream.warmup {
            var index = stream.next
            while index < stream.schedule.count {
                let due = stream.base &+ UInt64(stream.schedule.intendedTime(of: index))
                if due > cut { break }
                result.record(
                    .notSent(
                        index: index, intendedStart: Int64(due), reason: .interrupted,
                        requestIndex: settings.requests.requestIndex(at: index)))
                index += step
            }
        }
        streams.removeAll()
        for call in newQueue.removeAll() { finishNotSent(call, reason: .interrupted) }
        let deadline = cut &+ settings.drainNanoseconds
        if deadline < drainDeadline, let drainTimer {
            loop.cancel(drainTimer)
            drainDeadline = deadline
            self.drainTimer = loop.schedule(after: Self.delay(until: deadline, now: EventLoop.now())) {
                [self] in expire()
            }
        }
        checkDone()
    }

    /// The drain period is over: queued calls are not sent, calls in backoff end with their last attempt,
    /// attempts in flight fail with `timeout`.
    private func expire() {
        drainTimer = nil
        guard !reported else { return }
        expired = true
        loadFinished = true
        if let arrivalTimer { loop.cancel(arrivalTimer) }
        arrivalTimer = nil
        streams.removeAll()
        let now = EventLoop.now()
        for call in retryQueue.removeAll() + newQueue.removeAll() { finishSent(call, now: now) }
        for call in live where call.phase == .backoff { finishSent(call, now: now) }
        // Closing a connection fails its in-flight attempt (reported as a timeout while expired).
        closeConnections()
        for call in live where call.phase == .connecting || call.phase == .inFlight {
            call.task?.cancel()
            call.task = nil
            call.append(.failure(sent: Int64(call.attemptSent), ended: Int64(now), error: .timeout))
            progress.attempts += 1
            finishSent(call, now: now)
        }
        checkDone()
    }

    private func closeConnections() {
        for index in slots.indices {
            if let connection = slots[index].connection {
                slots[index].connection = nil
                connection.close()
            }
        }
        proberConnection?.close()
        proberConnection = nil
    }

    private func checkDone() {
        guard started, loadFinished, live.isEmpty, !reported else { return }
        reported = true
        for timer in [drainTimer, loadEndTimer, proberTimer, arrivalTimer] {
            if let timer { loop.cancel(timer) }
        }
        drainTimer = nil
        loadEndTimer = nil
        proberTimer = nil
        arrivalTimer = nil
        closeConnections()
        var outcome = result
        outcome.elapsedNanoseconds = lastEnd > measureStart ? Int64(lastEnd - measureStart) : 0
        onDone(LoopOutcome(result: outcome, lastEnd: lastEnd))
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
