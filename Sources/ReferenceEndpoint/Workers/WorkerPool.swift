import Dispatch
import EndpointSpec
import Foundation
import Glibc
import NetIO
import Synchronization

/// Runs the model's Python functions in persistent worker processes.
///
/// Each worker is a `python3` process that imports the model folder's modules once, resolves every route's
/// function and evaluates every `default_value` before it reports ready. Calls travel to the workers in
/// batches over private pipes ("group commit": whoever finds calls waiting and a worker with room sends
/// them all in one write) and results come back batched the same way. A worker that dies fails its in-flight
/// calls with `.crashed`, one that runs a call past `callTimeout` is killed and fails them with `.timedOut`;
/// either way a replacement is spawned. In-flight calls the worker had not started yet (its
/// `WorkerProgressBoard` says so) complete with `.rejected` instead: they never ran. The model's `print` output and tracebacks go to the `EndpointLog`,
/// one line at a time, prefixed `[worker N pid P]`.
///
/// ```swift
/// let pool = WorkerPool(configuration: .init(modelDirectory: "examples/echo", routes: routes), log: log)
/// try pool.start()
/// _ = pool.submit(route: 0, arguments: Array(#"{"text":"hi"}"#.utf8)) { result in print(result) }
/// pool.shutdown()
/// ```
///
/// Completions run on the pool's supervisor thread (or, for calls still waiting at `shutdown()`, on the
/// thread calling `shutdown()`); keep them short and hop to your own thread for real work.
public final class WorkerPool: Sendable {
    let core: WorkerPoolCore

    /// Creates a pool; nothing runs until `start()`.
    public init(configuration: WorkerPoolConfiguration, log: EndpointLog) {
        core = WorkerPoolCore(configuration: configuration, log: log)
    }

    /// Spawns the workers and returns once every one of them imported the model and found every route's
    /// function. Throws the first worker's startup error (a missing file or function, an invalid
    /// `default_value`, an exception raised while importing, a missing interpreter), having stopped every
    /// process it started.
    public func start() throws(EndpointStartupError) {
        try core.start()
    }

    /// Queues one call: `route` indexes `configuration.routes`, `arguments` is the JSON object of the
    /// validated body attributes (`{"x":5}`). Returns `false`, without calling `completion`, when
    /// `maxQueue` calls already wait for a worker or the pool is not running; otherwise `completion` is
    /// called exactly once.
    ///
    /// `abandoned`, when given, is asked whether the call is still wanted while it waits: when it answers true
    /// the call is dropped before it reaches a worker and completes with `.abandoned`. Its argument is a
    /// monotonic time (`EventLoop.now()`): the moment the call would finish if it started now (now plus the
    /// route's measured duration), so that a deadline check also drops calls that could not finish in time. It
    /// is asked under the pool's lock, so it must be quick and must not call the pool.
    ///
    /// `deferringTo`, when given, is the event loop whose thread is calling: the call waits in the queue until
    /// the end of the loop's iteration, and then every call the iteration submitted goes to the workers in one
    /// write per worker, instead of one write (and one wake-up of the worker) per call.
    public func submit(
        route: Int, arguments: [UInt8], abandoned: (@Sendable (UInt64) -> Bool)? = nil,
        deferringTo loop: EventLoop? = nil, _ completion: @escaping @Sendable (WorkerResult) -> Void
    ) -> Bool {
        core.submit(route: route, arguments: arguments, abandoned: abandoned, deferringTo: loop, completion)
    }

    /// Completes with `.abandoned` every waiting call whose `abandoned` check says so (the pool also does this
    /// before it hands a call to a worker, when the queue is full, and twice a second).
    public func dropAbandonedCalls() { core.dropAbandonedCalls() }

    /// Workers that are ready (0 while starting, or while every worker is being replaced after a crash; one more
    /// than configured while a recycled worker and its replacement overlap).
    public var aliveWorkers: Int { core.alive.load(ordering: .relaxed) }

    /// Calls waiting for a worker.
    public var waitingCalls: Int { core.state.withLock { $0.queue.count } }

    /// Calls sent to a worker and not yet answered.
    public var inFlightCalls: Int { core.state.withLock { s in s.workers.reduce(0) { $0 + ($1?.inFlight ?? 0) } } }

    /// Whether `drain` was called: the pool takes no more calls.
    public var isDraining: Bool { core.state.withLock { $0.draining } }

    /// Begins a graceful stop: calls waiting for a worker complete at once with `.rejected`, later `submit`s
    /// are refused, and calls already at a worker go on. Returns once none is in flight, or after `timeout`
    /// seconds, with the number still in flight then (`shutdown` ends those). The workers keep running.
    @discardableResult
    public func drain(timeout: Double) -> Int {
        core.drain(timeout: timeout)
    }

    /// Stops the workers (SIGTERM, then SIGKILL after `shutdownGrace`), reaps them and closes their pipes.
    /// Calls still waiting or in flight complete with `.crashed`. Safe to call more than once. Returns once
    /// every worker is reaped, except when called from a completion (the supervisor thread), where it only
    /// starts the shutdown.
    public func shutdown() {
        core.shutdown()
    }

    deinit {
        core.shutdown()
    }

    /// Every worker process id spawned so far (for tests checking that none is left behind).
    var spawnedProcessIDs: [pid_t] { core.state.withLock { $0.spawned } }

    /// Process ids of the current workers, by worker index (nil for the free slot, and while a worker is being
    /// replaced).
    var currentProcessIDs: [pid_t?] { core.state.withLock { $0.workers.map { $0?.pid } } }
}

/// Monotonic nanoseconds: the event loops' clock, so worker and HTTP timestamps compare directly.
@inline(__always) func workerClock() -> UInt64 { EventLoop.now() }

/// A worker as the dispatcher sees it: its request pipe and the calls it has in flight.
struct DispatchWorker {
    let generation: Int
    let pid: pid_t
    let pipe: WorkerFD
    var ready = false
    /// A write failed (the worker is dying; the supervisor will notice its end of file).
    var broken = false
    /// `output` could not be written whole; the supervisor waits for POLLOUT.
    var awaitingWritable = false
    /// The worker's replacement is ready (`recycleDue`): it takes no new calls and is stopped once its calls in
    /// flight are done. (Declared beside the other flags, where it takes no room: a larger `DispatchWorker` made
    /// the dispatcher copy each one it looks at for a call.)
    var retiring = false
    /// Bytes not yet written to the pipe: `output[outputOffset...]`.
    var output: [UInt8] = []
    /// Bytes at the start of `output` already written (a partial write leaves the rest in place instead of
    /// copying it, so a frame of n bytes through a 64 KiB pipe costs O(n), not O(n²/64 KiB)).
    var outputOffset = 0
    /// In-flight calls by call id; the id travels with the call and comes back with its result.
    var calls = InFlightCalls()
    var inFlight: Int { calls.count }
    /// Sum of the estimated costs of the calls in flight, in nanoseconds.
    var outstanding: UInt64 = 0
    /// Calls sent to this worker so far.
    var sent = 0
    /// Why the worker is due for recycling (`maxCallsPerWorker`, `maxResidentBytes`): the supervisor starts its
    /// replacement, and the worker keeps taking calls until that one is ready (then it is `retiring`), so that
    /// recycling never leaves the pool a worker short while a model imports.
    var recycleDue: String?
    private var frameStart = -1
    private var frameCalls = 0

    init(generation: Int, pid: pid_t, pipe: WorkerFD) {
        self.generation = generation
        self.pid = pid
        self.pipe = pipe
    }

    /// Queues `call` for this worker under `id`, which must be greater than every id used before in this pool.
    mutating func send(_ call: WaitingCall, id: UInt64, now: UInt64, cost: UInt64) {
        calls.append(id: id, InFlightCall(route: call.route, sentAt: now, cost: cost, completion: call.completion))
        outstanding &+= cost
        sent += 1
        if frameStart < 0 || frameCalls == WorkerProtocol.maxCallsPerFrame {
            closeFrame()
            frameStart = WorkerProtocol.openFrame(kind: WorkerProtocol.kindCalls, in: &output)
        }
        WorkerProtocol.appendCall(id: id, route: UInt16(call.route), arguments: call.arguments, to: &output)
        frameCalls += 1
    }

    mutating func closeFrame() {
        if frameStart >= 0 { WorkerProtocol.closeFrame(at: frameStart, in: &output) }
        frameStart = -1
        frameCalls = 0
    }

    /// The calls in flight if this worker can take one more call of estimated `cost` nanoseconds, else nil.
    func load(ifRoomFor cost: UInt64, threads: Int, maxInFlight: Int, budget: UInt64) -> Int? {
        guard ready, !broken, !awaitingWritable, !retiring else { return nil }
        if inFlight < threads || (inFlight < maxInFlight && outstanding &+ cost <= budget) { return inFlight }
        return nil
    }

    /// The bytes waiting to be written, if the pipe can take them now (they are removed from `output`), and
    /// how many of them were already written.
    mutating func takeWritableOutput() -> (bytes: [UInt8], offset: Int)? {
        guard outputOffset < output.count, !awaitingWritable, !broken else { return nil }
        var bytes: [UInt8] = []
        swap(&bytes, &output)
        defer { outputOffset = 0 }
        return (bytes, outputOffset)
    }

    /// Puts back what a partial write left: `bytes[offset...]` goes before anything queued meanwhile. Pass the
    /// only reference to `bytes`, so that nothing is copied but what was queued meanwhile.
    mutating func restoreUnwritten(_ bytes: consuming [UInt8], offset: Int) {
        if output.isEmpty {
            output = bytes
        } else {
            var kept = bytes
            kept.append(contentsOf: output)
            output = kept
        }
        outputOffset = offset
    }

    /// Removes and returns the call `id`; nil if this worker has no such call in flight.
    mutating func take(id: UInt64) -> InFlightCall? {
        guard let call = calls.take(id: id) else { return nil }
        outstanding = outstanding >= call.cost ? outstanding - call.cost : 0
        return call
    }

    /// Every call in flight, oldest first.
    func allCalls() -> [InFlightCall] { allCallsWithIDs().map(\.call) }

    /// Every call in flight with its id, oldest first.
    func allCallsWithIDs() -> [(id: UInt64, call: InFlightCall)] {
        calls.callsWithIDs()
    }
}

/// Everything shared between submitters, the dispatcher role and the supervisor thread.
struct PoolState {
    enum Phase { case idle, starting, running, stopping, stopped, failed }
    var phase = Phase.idle
    var startupError: String?
    var queue = WorkerCallQueue()
    /// By worker index (`WorkerPoolConfiguration.workerSlots`): when workers are recycled, one more slot than
    /// workers, where a recycled worker's replacement starts while the worker still serves (afterwards the
    /// recycled worker's slot is the free one).
    var workers: [DispatchWorker?]
    /// Someone is dispatching (building frames and writing them); others only enqueue.
    var flushing = false
    /// The supervisor is completing a batch of results and dispatches right after: submitters only enqueue,
    /// so that everything submitted meanwhile goes out in one write per worker (group commit).
    var dispatchPending = false
    /// An event loop will dispatch at the end of its iteration (`submit(deferringTo:)`): submitters only enqueue.
    var dispatchDeferred = false
    /// Calls taken from a worker whose completions have not returned yet. `drain` waits for them as well as for
    /// the calls in flight: a call's answer is on its way only once its completion ran.
    var delivering = 0
    /// Estimated nanoseconds per call, by route (EWMA of what the workers measure).
    var routeCost: [UInt64]
    var routeMeasured: [Bool]
    var spawned: [pid_t] = []
    var nextGeneration = 0
    /// `drain` was called: no call is taken or dispatched any more.
    var draining = false
    /// The next call id: one counter for the pool's life, so that an id is never reused (a late or forged
    /// result can never complete another call).
    var nextCallID: UInt64 = 1
    /// A worker is recycled after this many calls (`WorkerPoolConfiguration.maxCallsPerWorker`).
    var maxCallsPerWorker: Int?

    /// Moves waiting calls to workers with room, oldest first. A worker always takes up to `threads` calls;
    /// beyond that it takes more (up to `maxInFlight`) only while the estimated work in flight stays within
    /// `budget`: fast calls are pipelined 32 deep, slow ones wait here, where admission control sees them.
    /// Calls whose `abandoned` check says so are not sent but returned (complete them with `.abandoned` once the
    /// lock is released).
    @discardableResult
    mutating func assign(now: UInt64, threads: Int, maxInFlight: Int, budget: UInt64) -> [WaitingCall] {
        var dropped: [WaitingCall] = []
        guard phase == .running, !draining else { return dropped }
        while let first = queue.first {
            if isAbandoned(first, now: now), let call = queue.removeFirst() {
                dropped.append(call)
                continue
            }
            let route = first.route
            let cost = routeCost[route]
            var best = -1
            var bestLoad = Int.max
            for index in workers.indices {
                if let load = workers[index]?.load(ifRoomFor: cost, threads: threads, maxInFlight: maxInFlight, budget: budget),
                    load < bestLoad
                {
                    best = index
                    bestLoad = load
                }
            }
            guard best >= 0, let call = queue.removeFirst() else { break }
            workers[best]?.send(call, id: nextCallID, now: now, cost: cost)
            nextCallID += 1
            if let limit = maxCallsPerWorker, let sent = workers[best]?.sent, sent == limit {
                workers[best]?.recycleDue = "it was sent \(sent) calls (--worker-max-calls \(limit))"
            }
        }
        for index in workers.indices { workers[index]?.closeFrame() }
        return dropped
    }

    /// Whether `call` is abandoned: its check is asked about the moment the call would finish if it started
    /// now (`now` plus the route's estimated duration), so that a call that could only finish after its
    /// deadline is not started either: its answer would come too late to be used.
    func isAbandoned(_ call: WaitingCall, now: UInt64) -> Bool {
        guard call.abandoned != nil else { return false }
        let cost = call.route < routeCost.count ? routeCost[call.route] : 0
        return call.isAbandoned(now: now &+ cost)
    }

    /// Removes and returns every waiting call that `isAbandoned` at `now`.
    mutating func takeAbandoned(now: UInt64) -> [WaitingCall] {
        var dropped: [WaitingCall] = []
        var kept = WorkerCallQueue()
        for call in queue.removeAll() {
            if isAbandoned(call, now: now) { dropped.append(call) } else { kept.append(call) }
        }
        queue = kept
        return dropped
    }

    /// Records a call's measured duration.
    mutating func measured(route: Int, micros: UInt32) {
        guard route < routeCost.count else { return }
        let sample = max(UInt64(micros) * 1_000, 1_000)
        if routeMeasured[route] {
            routeCost[route] = routeCost[route] - routeCost[route] / 8 + sample / 8
        } else {
            routeCost[route] = sample
            routeMeasured[route] = true
        }
    }
}

/// The pool's shared core: configuration, state, and the supervisor thread's wake-up pipe.
final class WorkerPoolCore: Sendable {
    let configuration: WorkerPoolConfiguration
    let log: EndpointLog
    let state: Mutex<PoolState>
    let alive = Atomic<Int>(0)
    /// pthread_self() of the supervisor thread (0 before it runs).
    let supervisorThread = Atomic<UInt>(0)
    let startupDone = DispatchSemaphore(value: 0)
    let supervisorExited = DispatchSemaphore(value: 0)
    let threads: Int
    let maxInFlight: Int
    let budget: UInt64
    let timeoutNanos: UInt64
    /// Supervisor wake-up pipe (read end polled by the supervisor); -1 if it could not be created.
    let wakeRead: Int32
    let wakeWrite: Int32

    /// Estimated nanoseconds of work a single-threaded worker may have queued.
    static let budgetPerThread: UInt64 = 2_000_000

    init(configuration: WorkerPoolConfiguration, log: EndpointLog) {
        self.configuration = configuration
        self.log = log
        threads = max(1, configuration.threads)
        maxInFlight = max(threads, WorkerProtocol.maxCallsPerFrame * threads)
        budget = Self.budgetPerThread * UInt64(threads)
        let seconds = configuration.callTimeout.isFinite && configuration.callTimeout > 0
            ? min(configuration.callTimeout, 1e9) : 1e9
        timeoutNanos = UInt64(seconds * 1e9)
        let routes = configuration.routes.count
        state = Mutex(PoolState(
            workers: Array(repeating: nil, count: configuration.workerSlots),
            routeCost: Array(repeating: Self.budgetPerThread * UInt64(max(1, configuration.threads)), count: routes),
            routeMeasured: Array(repeating: false, count: routes),
            maxCallsPerWorker: configuration.maxCallsPerWorker.flatMap { $0 > 0 ? $0 : nil }))
        if let wake = WorkerSpawner.makePipe() {
            WorkerSpawner.setNonBlocking(wake.read)
            WorkerSpawner.setNonBlocking(wake.write)
            wakeRead = wake.read
            wakeWrite = wake.write
        } else {
            wakeRead = -1
            wakeWrite = -1
        }
    }

    deinit {
        if wakeRead >= 0 { close(wakeRead) }
        if wakeWrite >= 0 { close(wakeWrite) }
    }

    func start() throws(EndpointStartupError) {
        let config = configuration
        if config.routes.count > Int(UInt16.max) {
            throw EndpointStartupError(message: "too many routes (\(config.routes.count)); at most 65535")
        }
        if wakeRead < 0 {
            throw EndpointStartupError(message: "cannot create a pipe: \(WorkerSpawner.describe(errno: errno))")
        }
        let began = state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.phase = .starting
            return true
        }
        guard began else { throw EndpointStartupError(message: "the worker pool was already started") }
        // A write to a dead worker's pipe must fail with EPIPE, not kill the server.
        signal(SIGPIPE, SIG_IGN)
        let thread = Thread { [self] in
            WorkerSupervisor(core: self).run()
            self.supervisorExited.signal()
        }
        thread.name = "worker-supervisor"
        thread.start()
        startupDone.wait()
        let outcome = state.withLock { ($0.phase, $0.startupError) }
        switch outcome.0 {
        case .running:
            return
        case .failed:
            supervisorExited.wait()
            throw EndpointStartupError(message: outcome.1 ?? "the Python workers failed to start")
        default:
            throw EndpointStartupError(message: "the worker pool was shut down while starting")
        }
    }

    /// What a submitter does after queueing its call (or instead of it).
    private enum AfterSubmit {
        /// Somebody else dispatches it (a dispatcher at work, the supervisor, an iteration's end already asked for).
        case nothing
        /// Dispatch now: this thread took the dispatcher role.
        case dispatch
        /// Ask the loop to dispatch at the end of its iteration.
        case deferToLoop
        /// The queue is full of calls deferred to an iteration's end, some of which a worker may take at once:
        /// dispatch them (this thread took the role), then try again. Without this a burst would be turned away
        /// by calls that are not really waiting for a worker.
        case dispatchThenRetry
    }

    func submit(
        route: Int, arguments: [UInt8], abandoned: AbandonedCheck?, deferringTo loop: EventLoop?,
        _ completion: @escaping WorkerCompletion
    ) -> Bool {
        let maxQueue = configuration.maxQueue
        let routes = configuration.routes.count
        var dropped: [WaitingCall] = []
        var retried = false
        while true {
            let after = state.withLock { s -> AfterSubmit? in
                guard s.phase == .running, !s.draining, route >= 0, route < routes else { return nil }
                if s.queue.count >= maxQueue {
                    // Calls nobody waits for any more must not hold the places of calls somebody does.
                    dropped += s.takeAbandoned(now: workerClock())
                    if s.queue.count >= maxQueue {
                        guard !retried, s.dispatchDeferred, !s.flushing, !s.dispatchPending else { return nil }
                        s.flushing = true
                        return .dispatchThenRetry
                    }
                }
                s.queue.append(WaitingCall(route: route, arguments: arguments, abandoned: abandoned, completion: completion))
                if s.flushing || s.dispatchPending || s.dispatchDeferred { return .nothing }
                if loop != nil {
                    s.dispatchDeferred = true
                    return .deferToLoop
                }
                s.flushing = true
                return .dispatch
            }
            if case .dispatchThenRetry = after {
                dispatchLoop()
                retried = true
                continue
            }
            for call in dropped { call.completion(.abandoned) }
            switch after {
            case nil: return false
            case .nothing, .dispatchThenRetry: break
            case .dispatch: dispatchLoop()
            case .deferToLoop: loop?.atEndOfIteration { [self] in dispatch(endOfIteration: true) }
            }
            return true
        }
    }

    func dropAbandonedCalls() {
        let dropped = state.withLock { s -> [WaitingCall] in
            s.queue.isEmpty ? [] : s.takeAbandoned(now: workerClock())
        }
        for call in dropped { call.completion(.abandoned) }
    }

    /// Takes the dispatcher role if nobody holds it, and dispatches: for the supervisor after a batch of results,
    /// or (`endOfIteration`) at the end of the event loop iteration that deferred a call.
    func dispatch(endOfIteration: Bool = false) {
        let became = state.withLock { s -> Bool in
            if endOfIteration { s.dispatchDeferred = false } else { s.dispatchPending = false }
            if s.flushing { return false }
            s.flushing = true
            return true
        }
        if became { dispatchLoop() }
    }

    private struct PendingWrite {
        var index: Int
        var generation: Int
        var pipe: WorkerFD
        var bytes: [UInt8]
        var offset: Int
    }

    /// Runs while this thread holds the dispatcher role: assign waiting calls, write every worker's
    /// frames (one write per worker), repeat until nothing is left to write.
    private func dispatchLoop() {
        while true {
            let now = workerClock()
            var dropped: [WaitingCall] = []
            var writes = state.withLock { s -> [PendingWrite] in
                dropped = s.assign(now: now, threads: threads, maxInFlight: maxInFlight, budget: budget)
                var writes: [PendingWrite] = []
                for index in s.workers.indices {
                    guard let (bytes, offset) = s.workers[index]?.takeWritableOutput(),
                        let generation = s.workers[index]?.generation, let pipe = s.workers[index]?.pipe
                    else { continue }
                    writes.append(
                        PendingWrite(index: index, generation: generation, pipe: pipe, bytes: bytes, offset: offset))
                }
                if writes.isEmpty { s.flushing = false }
                return writes
            }
            for call in dropped { call.completion(.abandoned) }
            if writes.isEmpty { return }
            var reached: [Int?] = []
            for write in writes { reached.append(Self.writeSome(write.pipe.fd, write.bytes, from: write.offset)) }
            let wake = state.withLock { s -> Bool in
                var wake = false
                for (position, written) in reached.enumerated() {
                    let index = writes[position].index
                    guard s.workers[index]?.generation == writes[position].generation else { continue }
                    guard let written else {
                        s.workers[index]?.broken = true
                        continue
                    }
                    if written < writes[position].bytes.count {
                        // Moved out of `writes`, so that the worker holds the only reference (no copy).
                        var bytes: [UInt8] = []
                        swap(&bytes, &writes[position].bytes)
                        s.workers[index]?.restoreUnwritten(consume bytes, offset: written)
                        s.workers[index]?.awaitingWritable = true
                        wake = true
                    }
                }
                return wake
            }
            if wake { wakeSupervisor() }
        }
    }

    /// Writes what the non-blocking pipe takes of `bytes[start...]`; returns the offset reached (`bytes.count`
    /// when all was written), or nil if the pipe broke.
    private static func writeSome(_ fd: Int32, _ bytes: [UInt8], from start: Int) -> Int? {
        var offset = start
        let total = bytes.count
        let failed: Bool = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return false }
            while offset < total {
                let n = write(fd, base + offset, total - offset)
                if n > 0 {
                    offset += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return false }
                return true
            }
            return false
        }
        if failed { return nil }
        return offset
    }

    func wakeSupervisor() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    func drain(timeout: Double) -> Int {
        let waiting = state.withLock { s -> [WaitingCall] in
            s.draining = true
            return s.queue.removeAll()
        }
        for call in waiting { call.completion(.rejected) }
        let deadline = workerClock() &+ UInt64(max(0, timeout) * 1e9)
        while true {
            let (inFlight, delivering) = state.withLock { s in
                (s.workers.reduce(0) { $0 + ($1?.inFlight ?? 0) }, s.delivering)
            }
            if inFlight + delivering == 0 || workerClock() >= deadline { return inFlight }
            usleep(10_000)
        }
    }

    func shutdown() {
        let (waiting, mustWait) = state.withLock { s -> ([WaitingCall], Bool) in
            switch s.phase {
            case .idle:
                s.phase = .stopped
                return ([], false)
            case .starting, .running:
                s.phase = .stopping
                return (s.queue.removeAll(), true)
            case .stopping:
                return ([], true)  // another thread started the shutdown: wait for it too
            case .stopped, .failed:
                return ([], false)
            }
        }
        guard mustWait else { return }
        for call in waiting { call.completion(.crashed) }
        wakeSupervisor()
        if supervisorThread.load(ordering: .relaxed) == UInt(pthread_self()) { return }
        supervisorExited.wait()
        // Let any other waiter (a concurrent shutdown()) see the exit too.
        supervisorExited.signal()
    }
}
