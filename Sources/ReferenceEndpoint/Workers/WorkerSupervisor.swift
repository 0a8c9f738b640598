import Glibc
import Synchronization

/// One worker process as the supervisor sees it.
final class SupervisedProcess {
    let index: Int
    let generation: Int
    let pid: pid_t
    /// Shared with the dispatcher; the descriptor closes when both let go.
    var requests: WorkerFD?
    var results: Int32
    var output: Int32
    var frames = WorkerFrameBuffer()
    var partialLine: [UInt8] = []
    var ready = false
    /// Set once reaped.
    var waitStatus: Int32?
    /// `workerClock()` when the worker reported ready (0 before).
    var readyAt: UInt64 = 0
    /// The FAILED frame's message, if the worker sent one.
    var failure: String?
    /// The last lines of output (kept while starting, to explain an early exit).
    var recentLines: [String] = []
    let prefix: String
    /// Where the worker marks each call it starts (nil when shared memory was unavailable).
    let board: WorkerProgressBoard?
    /// A recycled worker left to exit on its own (its model's atexit hooks run) is killed at this instant.
    var stopDeadline: UInt64 = 0

    init(index: Int, generation: Int, spawned: SpawnedWorker, board: WorkerProgressBoard?) {
        self.index = index
        self.generation = generation
        self.board = board
        pid = spawned.pid
        requests = WorkerFD(spawned.requests)
        results = spawned.results
        output = spawned.output
        prefix = "[worker \(index) pid \(spawned.pid)] "
    }
}

/// The pool's supervisor thread: spawns workers, reads their results and output with poll(2), enforces
/// `callTimeout`, replaces dead workers (with backoff when they fail at start), and stops them all at
/// shutdown. Lives on its own thread; only the shared `PoolState` is touched under the lock.
final class WorkerSupervisor {
    private let core: WorkerPoolCore
    private let config: WorkerPoolConfiguration
    private var processes: [SupervisedProcess?]
    private var restartAt: [UInt64?]
    private var failures: [Int]
    /// By slot: the worker (slot and generation) that the process starting there will replace once it is ready.
    private var replacing: [(slot: Int, generation: Int)?]
    /// The workers the configuration asks for; with recycling the pool has one slot more (`workerSlots`).
    private let configuredWorkers: Int
    /// Workers are recycled (`maxCallsPerWorker` or `maxResidentBytes` is set).
    private let recycles: Bool
    /// Recycled workers whose request pipe was closed, until they exit or their `stopDeadline` passes; their
    /// output is still read and logged.
    private var stopping: [SupervisedProcess] = []
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)
    private var nextTimeoutCheck: UInt64 = 0
    private var nextLivenessCheck: UInt64 = 0
    private var startDeadline: UInt64 = 0
    private var starting = true
    private var finished = false

    private static let livenessInterval: UInt64 = 500_000_000
    /// `shutdownGrace`, bounded: how long a stopped or recycled worker may take to exit before SIGKILL.
    private var graceSeconds: Double {
        config.shutdownGrace.isFinite ? max(0, min(config.shutdownGrace, 3600)) : 2
    }
    private var graceNanoseconds: UInt64 { UInt64(graceSeconds * 1e9) }
    /// How often a recycled worker left to exit on its own is checked for its exit.
    private static let stoppingInterval: UInt64 = 10_000_000
    private static let firstBackoff: UInt64 = 100_000_000
    private static let maxBackoff: UInt64 = 10_000_000_000
    /// A worker that dies sooner than this after it became ready counts as a failed start: its replacement
    /// waits (100 ms, doubling up to 10 s), so a model that crashes again and again does not keep a core busy
    /// importing itself. One that lived longer is replaced at once.
    private static let stableUptime: UInt64 = 1_000_000_000

    init(core: WorkerPoolCore) {
        self.core = core
        config = core.configuration
        configuredWorkers = max(1, config.workers)
        recycles = config.recyclesWorkers
        let slots = config.workerSlots
        processes = Array(repeating: nil, count: slots)
        restartAt = Array(repeating: nil, count: slots)
        failures = Array(repeating: 0, count: slots)
        replacing = Array(repeating: nil, count: slots)
    }

    // MARK: - Main loop

    func run() {
        core.supervisorThread.store(UInt(pthread_self()), ordering: .relaxed)
        let now = workerClock()
        let startSeconds = config.startTimeout.isFinite && config.startTimeout > 0 ? min(config.startTimeout, 1e6) : 120
        startDeadline = now + UInt64(startSeconds * 1e9)
        nextLivenessCheck = now + Self.livenessInterval
        nextTimeoutCheck = now + core.timeoutNanos
        for index in 0..<configuredWorkers {
            launch(index)
            if finished { return }
        }
        var pollFDs: [pollfd] = []
        // role 0 wake, 1 results, 2 output, 3 requests writable (index into `processes`); 4 output (into `stopping`)
        var owners: [(index: Int, role: UInt8)] = []
        while !finished {
            let (phase, writable) = core.state.withLock { s in
                (s.phase, s.workers.indices.filter { s.workers[$0]?.awaitingWritable == true })
            }
            if phase == .stopping {
                stopAll()
                return
            }
            pollFDs.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            pollFDs.append(pollfd(fd: core.wakeRead, events: Int16(POLLIN), revents: 0))
            owners.append((-1, 0))
            for process in processes {
                guard let process else { continue }
                if process.results >= 0 {
                    pollFDs.append(pollfd(fd: process.results, events: Int16(POLLIN), revents: 0))
                    owners.append((process.index, 1))
                }
                if process.output >= 0 {
                    pollFDs.append(pollfd(fd: process.output, events: Int16(POLLIN), revents: 0))
                    owners.append((process.index, 2))
                }
                if writable.contains(process.index), let requests = process.requests {
                    pollFDs.append(pollfd(fd: requests.fd, events: Int16(POLLOUT), revents: 0))
                    owners.append((process.index, 3))
                }
            }
            for (position, process) in stopping.enumerated() where process.output >= 0 {
                pollFDs.append(pollfd(fd: process.output, events: Int16(POLLIN), revents: 0))
                owners.append((position, 4))
            }
            let timeout = pollTimeout(now: workerClock())
            let ready = pollFDs.withUnsafeMutableBufferPointer { buffer in
                poll(buffer.baseAddress, nfds_t(buffer.count), timeout)
            }
            if ready < 0 && errno != EINTR {
                core.log.log("worker supervisor: poll failed: \(WorkerSupervisor.describeErrno())")
            }
            var dispatchNeeded = false
            if ready > 0 {
                for (position, entry) in pollFDs.enumerated() where entry.revents != 0 {
                    let owner = owners[position]
                    if owner.role == 0 {
                        drainWakePipe()
                        continue
                    }
                    if owner.role == 4 {
                        readOutput(stopping[owner.index])
                        continue
                    }
                    guard let process = processes[owner.index] else { continue }
                    switch owner.role {
                    case 1:
                        if readResults(process) { dispatchNeeded = true }
                    case 2:
                        readOutput(process)
                    default:
                        core.state.withLock { s in
                            if s.workers[owner.index]?.generation == process.generation {
                                s.workers[owner.index]?.awaitingWritable = false
                            }
                        }
                        dispatchNeeded = true
                    }
                    if finished { return }
                }
            }
            if runTimers(now: workerClock()) { dispatchNeeded = true }
            if finished { return }
            if dispatchNeeded || core.state.withLock({ $0.dispatchPending }) { core.dispatch() }
        }
    }

    private func pollTimeout(now: UInt64) -> Int32 {
        var next = min(nextTimeoutCheck, nextLivenessCheck)
        if starting { next = min(next, startDeadline) }
        for case let at? in restartAt { next = min(next, at) }
        if !stopping.isEmpty { next = min(next, now &+ Self.stoppingInterval) }
        if next <= now { return 0 }
        return Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    /// Timeouts, liveness checks, restarts, start deadline. Returns true if a worker became available.
    private func runTimers(now: UInt64) -> Bool {
        var changed = false
        if starting && now >= startDeadline {
            let seconds = config.startTimeout
            abortStartup("the Python workers did not become ready within \(seconds) s (model import too slow?)")
            return false
        }
        if now >= nextTimeoutCheck { checkTimeouts(now: now) }
        if finished { return false }
        if now >= nextLivenessCheck {
            nextLivenessCheck = now + Self.livenessInterval
            core.dropAbandonedCalls()
            checkResidentMemory()
            for case let process? in processes where process.waitStatus == nil {
                if let status = Self.reapIfExited(process.pid) {
                    process.waitStatus = status
                    _ = readResults(process)
                    if processes[process.index] === process {
                        retire(process, result: .crashed, reason: "exited")
                    }
                    if finished { return false }
                }
            }
        }
        recycleWorkers()
        if finished { return false }
        if !stopping.isEmpty { reapStopping(now: now) }
        for index in restartAt.indices {
            if let at = restartAt[index], at <= now {
                restartAt[index] = nil
                launch(index)
                changed = true
                if finished { return false }
            }
        }
        return changed
    }

    private func checkTimeouts(now: UInt64) {
        let timeout = core.timeoutNanos
        let routes = config.routes
        let expired = core.state.withLock { s -> [(index: Int, route: Int)] in
            var expired: [(Int, Int)] = []
            var earliest = now &+ timeout
            for index in s.workers.indices {
                guard let worker = s.workers[index] else { continue }
                guard let oldest = worker.calls.earliestSent() else { continue }
                if oldest.sentAt &+ timeout <= now {
                    expired.append((index, oldest.route))
                } else {
                    earliest = min(earliest, oldest.sentAt &+ timeout)
                }
            }
            nextTimeoutCheck = earliest
            return expired
        }
        for (index, route) in expired {
            guard let process = processes[index] else { continue }
            let label = route < routes.count ? "\(routes[route].verb) \(routes[route].path)" : "#\(route)"
            retire(
                process, result: .timedOut,
                reason: "killed: a call to \(label) ran longer than the \(config.callTimeout) s call timeout")
            if finished { return }
        }
    }

    // MARK: - Lifecycle

    private func launch(_ index: Int) {
        let python = config.pythonPath
        let board = WorkerProgressBoard.make(slots: max(1, config.threads))
        let spawnedWorker = WorkerSpawner.spawn(python: python, script: WorkerScript.source, board: board?.fd)
        board?.closeDescriptor()
        switch spawnedWorker {
        case .failure(let error):
            let message = "cannot start the Python interpreter '\(python)': \(WorkerSpawner.describe(errno: error.code))"
            if starting {
                abortStartup(message)
            } else {
                core.log.log("worker \(index): \(message)")
                scheduleRestart(index)
            }
        case .success(let spawned):
            let generation = core.state.withLock { s -> Int in
                s.nextGeneration += 1
                s.spawned.append(spawned.pid)
                if s.spawned.count > 4_096 { s.spawned.removeFirst(s.spawned.count - 4_096) }
                return s.nextGeneration
            }
            let process = SupervisedProcess(index: index, generation: generation, spawned: spawned, board: board)
            processes[index] = process
            var frame: [UInt8] = []
            WorkerProtocol.appendFrame(
                kind: WorkerProtocol.kindConfig,
                body: WorkerProtocol.configuration(
                    modelDirectory: config.modelDirectory, routes: config.routes, threads: config.threads,
                    delayMilliseconds: config.delayMilliseconds, worker: index,
                    memoryLimitBytes: config.memoryLimitBytes),
                to: &frame)
            if let requests = process.requests {
                core.state.withLock { s in
                    s.workers[index] = DispatchWorker(generation: generation, pid: spawned.pid, pipe: requests)
                }
                if !Self.writeBlocking(requests.fd, frame) {
                    // The worker died before reading its configuration; its end of file reports it.
                    core.log.log("\(process.prefix)could not send the configuration: \(Self.describeErrno())")
                }
            }
        }
    }

    /// Writes all of `bytes` to a non-blocking descriptor, waiting for room (at most 10 s).
    private static func writeBlocking(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        let deadline = workerClock() + 10_000_000_000
        return bytes.withUnsafeBytes { buffer -> Bool in
            guard let base = buffer.baseAddress else { return true }
            while offset < buffer.count {
                let n = write(fd, base + offset, buffer.count - offset)
                if n > 0 {
                    offset += n
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                guard n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), workerClock() < deadline else { return false }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 100)
            }
            return true
        }
    }

    private func scheduleRestart(_ index: Int) {
        failures[index] += 1
        let shift = UInt64(min(failures[index] - 1, 20))
        let delay = min(Self.firstBackoff << shift, Self.maxBackoff)
        restartAt[index] = workerClock() + delay
        core.log.log("worker \(index): restarting in \(delay / 1_000_000) ms (attempt \(failures[index] + 1))")
    }

    private func markReady(_ process: SupervisedProcess, description: String) {
        process.ready = true
        process.readyAt = workerClock()
        process.recentLines = []
        let replaced = replacing[process.index]
        replacing[process.index] = nil
        let allReady = core.state.withLock { s -> Bool in
            s.workers[process.index]?.ready = true
            // The worker this one replaces takes no new calls from now on.
            if let old = replaced, s.workers[old.slot]?.generation == old.generation {
                s.workers[old.slot]?.retiring = true
            }
            if s.phase == .starting && s.workers.reduce(0, { $0 + ($1?.ready == true ? 1 : 0) }) == configuredWorkers {
                s.phase = .running
                return true
            }
            return false
        }
        core.alive.add(1, ordering: .relaxed)
        let taking = replaced.map { "; it takes over from worker \($0.slot)" } ?? ""
        core.log.log("\(process.prefix)ready (\(description))\(taking)")
        if allReady {
            starting = false
            core.startupDone.signal()
        }
    }

    /// Ends a worker: kills and reaps it, logs the rest of its output, fails its in-flight calls with
    /// `result` (or `.rejected` for those its progress board shows it never started: they are safe to retry),
    /// and schedules a replacement (or fails `start()` if the pool is still starting), unless recycling already
    /// started one in another slot.
    private func retire(_ process: SupervisedProcess, result: WorkerResult, reason: String, recycled: Bool = false) {
        if recycled && process.waitStatus == nil {
            // Idle and replaced: closing its request pipe (here and, below, the dispatcher's reference) lets it
            // end on its own, its model's atexit hooks run; `reapStopping` kills it if it has not by the deadline.
            process.requests = nil
            if process.results >= 0 {
                close(process.results)
                process.results = -1
            }
            process.stopDeadline = workerClock() &+ graceNanoseconds
            stopping.append(process)
        } else {
            if process.waitStatus == nil { process.waitStatus = Self.killGroupAndReap(process.pid) }
            closeProcess(process)
        }
        var replaced = false  // its replacement was ready: it had been marked `retiring`
        let inFlight = core.state.withLock { s -> [(id: UInt64, call: InFlightCall)] in
            guard let worker = s.workers[process.index], worker.generation == process.generation else { return [] }
            s.workers[process.index] = nil
            replaced = worker.retiring
            let calls = worker.allCallsWithIDs()
            s.delivering += calls.count
            return calls
        }
        if process.ready { core.alive.subtract(1, ordering: .relaxed) }
        processes[process.index] = nil
        // A worker whose replacement is starting is not restarted either: the replacement takes its place.
        if let starting = replacing.firstIndex(where: { $0?.slot == process.index && $0?.generation == process.generation }) {
            replacing[starting] = nil
            replaced = true
        }
        // The worker is dead: its board is final. Without one, every call in flight may have started.
        let highestStarted = process.board?.highestStarted ?? .max
        let notStarted = inFlight.filter { $0.id > highestStarted }.count
        let status = process.waitStatus.map(WorkerSpawner.describe(waitStatus:)) ?? "unknown status"
        var calls = ""
        if !inFlight.isEmpty {
            calls = "; \(inFlight.count) call\(inFlight.count == 1 ? "" : "s") in flight failed"
            if notStarted > 0 { calls += " (\(notStarted) had not started: answered 503, safe to retry)" }
        }
        // While the pool is starting, a failure is reported once, by the error `start()` throws. A recycled
        // worker's end is ours (it was idle and replaced): its wait status says nothing.
        if !starting { core.log.log("\(process.prefix)\(reason)\(recycled ? "" : " (\(status))")\(calls)") }
        for entry in inFlight { entry.call.completion(entry.id > highestStarted ? .rejected : result) }
        if !inFlight.isEmpty { core.state.withLock { $0.delivering -= inFlight.count } }
        if starting {
            if let failure = process.failure {
                abortStartup(failure)
            } else {
                var message = "worker \(process.index) exited while starting (\(status))"
                if let last = process.recentLines.last { message += ": " + last }
                abortStartup(message)
            }
            return
        }
        let now = workerClock()
        if recycled || replaced {
            // Its replacement is ready or starting in another slot; this one is free now.
            failures[process.index] = 0
        } else if process.ready && now &- process.readyAt >= Self.stableUptime {
            failures[process.index] = 0
            restartAt[process.index] = now
        } else {
            scheduleRestart(process.index)
        }
    }

    /// Reaps the recycled workers that exited (and what is left of their process groups), and kills those still
    /// running at their `stopDeadline` (`shutdownGrace` after their request pipe closed).
    private func reapStopping(now: UInt64) {
        stopping.removeAll { process in
            if process.waitStatus == nil {
                if let status = Self.reapIfExited(process.pid) {
                    process.waitStatus = status
                } else if now >= process.stopDeadline {
                    process.waitStatus = Self.killGroupAndReap(process.pid)
                    core.log.log("\(process.prefix)did not exit within \(graceSeconds) s of its recycling: killed")
                } else {
                    return false
                }
            }
            closeProcess(process)
            return true
        }
    }

    /// Recycling (`maxCallsPerWorker`, `maxResidentBytes`), make-before-break. A worker due for recycling gets its
    /// replacement started in the free slot, one at a time, and keeps serving until that one is ready (`markReady`
    /// then marks it `retiring`), so a recycle never leaves the pool short of a worker while the model imports; a
    /// worker due while the free slot is taken (another replacement starting, a crashed worker's restart) waits
    /// its turn. A `retiring` worker with no call in flight is stopped: it takes no new calls, so none is lost.
    /// Without either limit there is nothing to look for (this runs after every batch of results).
    private func recycleWorkers() {
        guard recycles, !starting else { return }
        var due: [(slot: Int, generation: Int, pid: pid_t, reason: String)] = []
        var idle: [(slot: Int, generation: Int, reason: String)] = []
        core.state.withLock { s in
            for index in s.workers.indices {
                guard let worker = s.workers[index], worker.ready else { continue }
                if worker.retiring {
                    if worker.inFlight == 0 { idle.append((index, worker.generation, worker.recycleDue ?? "replaced")) }
                } else if let reason = worker.recycleDue, !s.draining {  // a draining pool takes no more calls
                    due.append((index, worker.generation, worker.pid, reason))
                }
            }
        }
        for worker in due where !replacing.contains(where: { $0?.slot == worker.slot }) {
            guard let free = processes.indices.first(where: { processes[$0] == nil && restartAt[$0] == nil }) else { break }
            replacing[free] = (worker.slot, worker.generation)
            core.log.log("[worker \(worker.slot) pid \(worker.pid)] \(worker.reason): starting worker \(free) to replace it")
            launch(free)
            if finished { return }
        }
        for entry in idle {
            guard let process = processes[entry.slot], process.generation == entry.generation else { continue }
            retire(process, result: .crashed, reason: "recycled: \(entry.reason)", recycled: true)
            if finished { return }
        }
    }

    /// Marks due for recycling (`recycleDue`) every worker whose resident memory is over `maxResidentBytes`.
    private func checkResidentMemory() {
        guard let limit = config.maxResidentBytes else { return }
        for case let process? in processes where process.ready && process.waitStatus == nil {
            guard let resident = Self.residentBytes(process.pid), resident > limit else { continue }
            let reason = "resident memory \(resident >> 20) MB is over the \(limit >> 20) MB limit (--worker-max-rss)"
            core.state.withLock { s in
                if s.workers[process.index]?.generation == process.generation, s.workers[process.index]?.recycleDue == nil {
                    s.workers[process.index]?.recycleDue = reason
                }
            }
        }
    }

    /// Resident set size of `pid` from /proc/PID/statm, in bytes.
    static func residentBytes(_ pid: pid_t) -> Int? {
        guard let file = fopen("/proc/\(pid)/statm", "r") else { return nil }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard withUnsafeMutablePointer(to: &size, { sizePointer in
            withUnsafeMutablePointer(to: &resident) { residentPointer in
                withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
            }
        }) == 2 else { return nil }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// If `pid` has exited, kills what is left of its process group (processes the model forked), then reaps it
    /// and returns its wait status; nil while it runs. The zombie keeps the group id from being reused meanwhile.
    private static func reapIfExited(_ pid: pid_t) -> Int32? {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid
        else { return nil }
        killGroup(pid)
        return reap(pid)
    }

    /// SIGKILL to the worker and its process group (processes the model forked), then reaps the worker.
    private static func killGroupAndReap(_ pid: pid_t) -> Int32? {
        killGroup(pid)
        kill(pid, SIGKILL)
        return reap(pid)
    }

    /// Sends `signal` (SIGKILL by default) to the process group a worker leads. `pid` is never 0 or 1 here,
    /// whose negation would reach this process's own group or every process; checked all the same.
    private static func killGroup(_ pid: pid_t, signal: Int32 = SIGKILL) {
        guard pid > 1 else { return }
        kill(-pid, signal)
    }

    private static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid { return status }
            if result < 0 && errno == EINTR { continue }
            return nil
        }
    }

    /// Logs what is left of the output and closes the process's descriptors.
    private func closeProcess(_ process: SupervisedProcess) {
        process.requests = nil
        if process.output >= 0 {
            readOutput(process, limit: 1_024)
            if process.output >= 0 {
                close(process.output)
                process.output = -1
            }
        }
        flushPartialLine(process)
        if process.results >= 0 {
            close(process.results)
            process.results = -1
        }
    }

    /// Start failed: stop every worker at once and report `message` to `start()`.
    private func abortStartup(_ message: String) {
        for case let process? in processes {
            process.requests = nil
            if process.waitStatus == nil { process.waitStatus = Self.killGroupAndReap(process.pid) }
            closeProcess(process)
        }
        processes = processes.map { _ in nil }
        core.state.withLock { s in
            for index in s.workers.indices { s.workers[index] = nil }
            if s.phase == .starting {
                s.phase = .failed
                s.startupError = message
            }
        }
        core.alive.store(0, ordering: .relaxed)
        starting = false
        finished = true
        core.startupDone.signal()
    }

    /// Shutdown: EOF and SIGTERM to every worker, SIGKILL after the grace period, reap, fail in-flight calls.
    private func stopAll() {
        let inFlight = core.state.withLock { s -> [InFlightCall] in
            var calls: [InFlightCall] = []
            for index in s.workers.indices {
                if let worker = s.workers[index] { calls += worker.allCalls() }
                s.workers[index] = nil
            }
            return calls
        }
        core.alive.store(0, ordering: .relaxed)
        let live = processes.compactMap { $0 } + stopping
        stopping = []
        for process in live {
            process.requests = nil
            if process.waitStatus == nil {
                Self.killGroup(process.pid, signal: SIGTERM)  // the model's children too
                kill(process.pid, SIGTERM)
            }
        }
        let deadline = workerClock() + graceNanoseconds
        while live.contains(where: { $0.waitStatus == nil }) && workerClock() < deadline {
            var entries = live.filter { $0.output >= 0 }.map { pollfd(fd: $0.output, events: Int16(POLLIN), revents: 0) }
            _ = entries.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), 10) }
            for process in live {
                if process.output >= 0 { readOutput(process) }
                if process.waitStatus == nil { process.waitStatus = Self.reapIfExited(process.pid) }
            }
        }
        for process in live where process.waitStatus == nil { process.waitStatus = Self.killGroupAndReap(process.pid) }
        for process in live { closeProcess(process) }
        processes = processes.map { _ in nil }
        restartAt = restartAt.map { _ in nil }
        for call in inFlight { call.completion(.crashed) }
        if !live.isEmpty {
            core.log.log("worker pool stopped (\(live.count) worker\(live.count == 1 ? "" : "s"))")
        }
        core.state.withLock { $0.phase = .stopped }
        if starting {
            starting = false
            core.startupDone.signal()
        }
        finished = true
    }

    // MARK: - Reading

    /// A completed call's completion and its result, wrapped so that an array stores the closure as it is: a
    /// bare closure in a tuple array element is stored at the most general abstraction, behind a thunk allocated
    /// when it is added and freed through the runtime's generic value witnesses (as `EventLoop.SubmittedTask`).
    private struct Delivery {
        let completion: WorkerCompletion
        let result: WorkerResult
    }

    private func drainWakePipe() {
        while true {
            let n = scratch.withUnsafeMutableBytes { read(core.wakeRead, $0.baseAddress, $0.count) }
            if n <= 0 && !(n < 0 && errno == EINTR) { return }
        }
    }

    /// Reads and handles every frame available. Returns true if calls completed or a worker became ready.
    /// Retires the worker at end of file.
    @discardableResult
    private func readResults(_ process: SupervisedProcess) -> Bool {
        guard process.results >= 0 else { return false }
        var endOfFile = false
        var readError: Int32 = 0
        var reads = 0
        while true {
            let n = scratch.withUnsafeMutableBytes { read(process.results, $0.baseAddress, $0.count) }
            if n > 0 {
                scratch.withUnsafeBytes { process.frames.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                reads += 1
                // Bounded, so that one chatty worker cannot starve the others; poll reports the rest.
                if n < scratch.count || reads >= 64 { break }
                continue
            }
            if n == 0 {
                endOfFile = true
                break
            }
            if errno == EINTR { continue }
            if errno != EAGAIN && errno != EWOULDBLOCK {
                readError = errno
                endOfFile = true
            }
            break
        }
        let progressed = handleFrames(process)
        if endOfFile && processes[process.index] === process {
            let reason = readError == 0
                ? (process.ready ? "exited" : "exited while starting")
                : "result pipe failed: \(WorkerSpawner.describe(errno: readError))"
            retire(process, result: .crashed, reason: reason)
        }
        return progressed
    }

    /// Handles every whole frame buffered from `process`. A worker whose pipe carries a malformed results
    /// frame, or a result for a call it does not have in flight, is corrupt (the model forked and the child
    /// wrote to the pipe, or something else writes to it): nothing it sends can be trusted to belong to the call
    /// it names, so it is replaced and its calls in flight fail, rather than risk one client reading another's
    /// answer.
    private func handleFrames(_ process: SupervisedProcess) -> Bool {
        var progressed = false
        var completed: [(id: UInt64, micros: UInt32, result: WorkerResult)] = []
        var corruption: String?
        while corruption == nil, let frame = process.frames.nextFrame() {
            let bytes = process.frames.bytes
            switch frame.kind {
            case WorkerProtocol.kindResults:
                guard let records = WorkerProtocol.results(in: bytes, frame.body) else {
                    corruption = "sent a malformed results frame"
                    break
                }
                completed.reserveCapacity(completed.count + records.count)  // not grown one doubling at a time
                for record in records {
                    completed.append((
                        record.id, record.micros,
                        WorkerProtocol.result(status: record.status, payload: bytes[record.payload])))
                }
            case WorkerProtocol.kindReady:
                if !process.ready {
                    markReady(process, description: String(decoding: bytes[frame.body], as: UTF8.self))
                    progressed = true
                }
            case WorkerProtocol.kindFailed:
                let message = String(decoding: bytes[frame.body], as: UTF8.self)
                process.failure = message
                if !starting { core.log.log("\(process.prefix)failed to start: \(message)") }
            default:
                corruption = "sent an unknown frame kind \(frame.kind)"
            }
        }
        process.frames.compact()
        let index = process.index
        let generation = process.generation
        var unknown: [UInt64] = []
        let done = core.state.withLock { s -> [Delivery] in
            guard !completed.isEmpty, corruption == nil, s.workers[index]?.generation == generation else { return [] }
            s.dispatchPending = true
            var done: [Delivery] = []
            done.reserveCapacity(completed.count)
            for entry in completed {
                guard let call = s.workers[index]?.take(id: entry.id) else {
                    unknown.append(entry.id)
                    continue
                }
                s.measured(route: call.route, micros: entry.micros)
                done.append(Delivery(completion: call.completion, result: entry.result))
            }
            s.delivering += done.count
            return done
        }
        // Nothing read together with a stray result is trusted: those calls fail with the worker's other calls.
        let trusted = unknown.isEmpty
        for delivery in done { delivery.completion(trusted ? delivery.result : .crashed) }
        if !done.isEmpty { core.state.withLock { $0.delivering -= done.count } }
        if corruption == nil, let first = unknown.first {
            let calls = unknown.count == 1 ? "call \(first)" : "\(unknown.count) calls (first \(first))"
            corruption = "returned a result for \(calls) it does not have in flight (did the model fork a process that "
                + "wrote to the worker's pipe?)"
        }
        if let corruption, processes[index] === process {
            retire(process, result: .crashed, reason: "\(corruption): its result pipe is corrupt, replacing it")
            return true
        }
        return progressed || !done.isEmpty
    }

    /// Longest line logged whole; longer output without a newline is logged in pieces of this size.
    static let maxLineBytes = 16_384

    /// Reads the worker's stdout/stderr (at most `limit` chunks) and logs it line by line. Lines are found with
    /// memchr and the lines of one chunk are logged together (one timestamp, one lock), so that a model printing
    /// megabytes is slowed as little as possible: the log drops what its reader cannot take.
    private func readOutput(_ process: SupervisedProcess, limit: Int = 16) {
        guard process.output >= 0 else { return }
        var reads = 0
        while reads < limit {
            let n = scratch.withUnsafeMutableBytes { read(process.output, $0.baseAddress, $0.count) }
            if n > 0 {
                reads += 1
                var lines: [[UInt8]] = []
                scratch.withUnsafeBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    var start = 0
                    while start < n {
                        guard let newline = memchr(base + start, 0x0A, n - start) else {
                            process.partialLine.append(contentsOf: raw[start..<n])
                            break
                        }
                        let end = base.distance(to: UnsafeRawPointer(newline))
                        process.partialLine.append(contentsOf: raw[start..<end])
                        Self.appendCut(process.partialLine, to: &lines)
                        process.partialLine.removeAll(keepingCapacity: true)
                        start = end + 1
                    }
                }
                if process.partialLine.count >= Self.maxLineBytes {
                    let whole = process.partialLine.count / Self.maxLineBytes * Self.maxLineBytes
                    Self.appendCut(process.partialLine[..<whole], to: &lines)
                    process.partialLine.removeFirst(whole)
                }
                emitLines(process, lines)
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                flushPartialLine(process)
                close(process.output)
                process.output = -1
            }
            return
        }
    }

    /// Appends `line` to `lines`, in pieces of at most `maxLineBytes`.
    private static func appendCut<Bytes: Collection<UInt8>>(_ line: Bytes, to lines: inout [[UInt8]])
    where Bytes.Index == Int {
        var start = line.startIndex
        repeat {
            let end = min(start + maxLineBytes, line.endIndex)
            lines.append(Array(line[start..<end]))
            start = end
        } while start < line.endIndex
    }

    private func emitLines(_ process: SupervisedProcess, _ lines: [[UInt8]]) {
        guard !lines.isEmpty else { return }
        let texts = lines.map { bytes -> String in
            var line = String(decoding: bytes, as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            return line
        }
        core.log.log(prefix: process.prefix, lines: texts)
        if !process.ready {
            process.recentLines += texts.filter { !$0.isEmpty }.suffix(5)
            if process.recentLines.count > 5 { process.recentLines.removeFirst(process.recentLines.count - 5) }
        }
    }

    private func flushPartialLine(_ process: SupervisedProcess) {
        guard !process.partialLine.isEmpty else { return }
        var lines: [[UInt8]] = []
        Self.appendCut(process.partialLine, to: &lines)
        process.partialLine.removeAll(keepingCapacity: true)
        emitLines(process, lines)
    }

    static func describeErrno() -> String { WorkerSpawner.describe(errno: errno) }
}
