import CLinux
import Glibc
import Synchronization

/// Identifies a timer scheduled with `EventLoop.schedule(after:_:)`.
public struct TimerID: Hashable, Sendable {
    /// The timer's slot in its loop's table (reused once the timer fired or was cancelled).
    let slot: UInt32
    /// The timer's number on its loop, never reused: a slot holds the timer only while their numbers match.
    let serial: UInt64
}

/// Something registered with an event loop's epoll set. Subclasses override `handleEvent(_:)`.
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
class Selectable: @unchecked Sendable {
    /// The file descriptor watched by epoll.
    let fd: Int32
    /// The loop that owns this object; loops outlive everything registered on them.
    unowned(unsafe) let loop: EventLoop
    /// The epoll data word (`generation << 32 | fd`); 0 while unregistered.
    @exclusivity(unchecked) var token: UInt64 = 0
    /// The epoll event mask currently registered.
    @exclusivity(unchecked) var interest: UInt32 = 0
    /// True while queued on the loop's end-of-iteration flush list.
    @exclusivity(unchecked) var flushScheduled = false

    init(fd: Int32, loop: EventLoop) {
        self.fd = fd
        self.loop = loop
    }

    /// Called on the loop thread with the epoll event mask.
    func handleEvent(_ events: UInt32) {}

    /// Called at the end of a loop iteration after `EventLoop.scheduleFlush(_:)`.
    func flushScheduledOutput() {}

    /// Called once on the loop thread when the loop stops while this object is still registered.
    func loopDidStop() {}
}

/// One thread running an epoll loop: I/O readiness, timers and tasks submitted from any thread.
///
/// Everything registered on a loop (sockets, timers) is touched only on the loop's thread. Other threads talk to the
/// loop through `execute(_:)`, which appends to a lock-protected queue that the loop drains once per iteration; the
/// loop's eventfd is written only when that queue goes from empty to non-empty.
///
/// Loop-confined state (this loop's, and that of everything registered on it: `Selectable`, `StreamChannel`
/// and its subclasses, loadgen's `EngineLoop` and `EngineCall`) is declared `@exclusivity(unchecked)`: only the
/// loop's thread touches it, one callback at a time, and Swift's dynamic exclusivity checks on those class
/// properties (a thread-local lookup per access) were a tenth of the endpoint's instructions per request
/// (callgrind, POST /predict: 27,244 with them, 24,499 without; `Benchmarks/README.md`).
public final class EventLoop: @unchecked Sendable {
    /// A unit of work submitted with `execute(_:)`.
    public typealias Task = @Sendable () -> Void

    /// The loop's name (thread name prefix), for diagnostics.
    public let name: String
    let epollFD: Int32
    let wakeFD: Int32
    private let tasks = Mutex<[SubmittedTask]>([])
    @exclusivity(unchecked) private var runningTasks: [SubmittedTask] = []
    @exclusivity(unchecked) private var thread: pthread_t = 0
    @exclusivity(unchecked) private var stopped = false

    @exclusivity(unchecked) private var slots: [Selectable?] = []
    @exclusivity(unchecked) private var generations: [UInt32] = []
    @exclusivity(unchecked) private var flushList: [Selectable] = []
    @exclusivity(unchecked) private var endOfIterationTasks: [LoopTask] = []
    @exclusivity(unchecked) private var runningEndOfIteration: [LoopTask] = []

    /// Deadlines, earliest first; an entry whose slot has moved on (the timer fired or was cancelled) is skipped.
    @exclusivity(unchecked) private var timerHeap: [TimerEntry] = []
    /// Live timers by slot: an array indexed by `TimerID.slot`, so that scheduling, cancelling and firing a timer
    /// hash nothing (a dictionary keyed by the timer's number cost about 200 instructions per operation, three
    /// operations per call in loadgen's open loop).
    @exclusivity(unchecked) private var timerSlots: [TimerSlot] = []
    @exclusivity(unchecked) private var freeTimerSlots: [UInt32] = []
    @exclusivity(unchecked) private var liveTimers = 0
    @exclusivity(unchecked) private var nextTimerSerial: UInt64 = 1

    /// Scratch buffer shared by every socket read on this loop (copied out by readers before the next read).
    let readBuffer: UnsafeMutableRawBufferPointer
    private let events: UnsafeMutablePointer<clinux_event>
    private static let maxEvents: Int32 = 512
    private static let wakeToken: UInt64 = .max

    init(name: String) throws(NetError) {
        self.name = name
        let ep = clinux_epoll_create()
        if ep < 0 { throw NetError.current("epoll_create1") }
        let wake = clinux_eventfd()
        if wake < 0 {
            let error = NetError.current("eventfd")
            Glibc.close(ep)
            throw error
        }
        if clinux_epoll_ctl(ep, CLINUX_EPOLL_CTL_ADD, wake, CLINUX_EPOLLIN, EventLoop.wakeToken) != 0 {
            let error = NetError.current("epoll_ctl")
            Glibc.close(ep)
            Glibc.close(wake)
            throw error
        }
        epollFD = ep
        wakeFD = wake
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        events = UnsafeMutablePointer<clinux_event>.allocate(capacity: Int(EventLoop.maxEvents))
    }

    deinit {
        readBuffer.deallocate()
        events.deallocate()
        Glibc.close(epollFD)
        Glibc.close(wakeFD)
    }

    // MARK: Public API

    /// True when called on this loop's thread.
    public var inEventLoop: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// CLOCK_MONOTONIC time in nanoseconds.
    public static func now() -> UInt64 { clinux_now_ns() }

    /// Runs `task` on the loop thread, after every task submitted before it (FIFO). Callable from any thread,
    /// including the loop thread itself (then the task runs later in the same or the next iteration).
    public func execute(_ task: @escaping Task) {
        let wasEmpty = tasks.withLock { queue -> Bool in
            let empty = queue.isEmpty
            queue.append(SubmittedTask(run: task))
            return empty
        }
        if wasEmpty { _ = clinux_eventfd_signal(wakeFD) }
    }

    /// Runs `task` on the loop thread once `nanoseconds` have passed (CLOCK_MONOTONIC). Loop thread only.
    @discardableResult
    public func schedule(after nanoseconds: UInt64, _ task: @escaping () -> Void) -> TimerID {
        precondition(inEventLoop || thread == 0, "EventLoop.schedule must be called on the loop thread")
        let serial = nextTimerSerial
        nextTimerSerial &+= 1
        let deadline = EventLoop.now() &+ nanoseconds
        let slot: UInt32
        if let free = freeTimerSlots.popLast() {
            slot = free
            timerSlots[Int(slot)] = TimerSlot(serial: serial, task: LoopTask(run: task))
        } else {
            slot = UInt32(timerSlots.count)
            timerSlots.append(TimerSlot(serial: serial, task: LoopTask(run: task)))
        }
        liveTimers += 1
        pushTimer(TimerEntry(deadline: deadline, serial: serial, slot: slot))
        return TimerID(slot: slot, serial: serial)
    }

    /// Cancels a timer that has not fired yet; a no-op otherwise. Loop thread only.
    public func cancel(_ id: TimerID) {
        guard takeTimer(slot: id.slot, serial: id.serial) != nil else { return }
        if timerHeap.count > 64, timerHeap.count > 4 * liveTimers { compactTimers() }
    }

    // MARK: Registration (loop thread, or before the object is shared)

    func register(_ object: Selectable, events mask: UInt32) throws(NetError) {
        let fd = Int(object.fd)
        if fd >= slots.count {
            let newCount = max(fd + 1, slots.count * 2, 64)
            slots.append(contentsOf: repeatElement(nil, count: newCount - slots.count))
            generations.append(contentsOf: repeatElement(0, count: newCount - generations.count))
        }
        generations[fd] &+= 1
        if generations[fd] == 0 { generations[fd] = 1 }
        let token = UInt64(generations[fd]) << 32 | UInt64(UInt32(bitPattern: object.fd))
        if clinux_epoll_ctl(epollFD, CLINUX_EPOLL_CTL_ADD, object.fd, mask, token) != 0 {
            throw NetError.current("epoll_ctl")
        }
        object.token = token
        object.interest = mask
        slots[fd] = object
    }

    func modify(_ object: Selectable, events mask: UInt32) {
        guard object.token != 0, object.interest != mask else { return }
        object.interest = mask
        _ = clinux_epoll_ctl(epollFD, CLINUX_EPOLL_CTL_MOD, object.fd, mask, object.token)
    }

    /// Removes `object` from epoll (before its fd is closed) and drops the loop's reference to it.
    func deregister(_ object: Selectable) {
        guard object.token != 0 else { return }
        _ = clinux_epoll_ctl(epollFD, CLINUX_EPOLL_CTL_DEL, object.fd, 0, 0)
        let fd = Int(object.fd)
        if fd < slots.count, slots[fd] === object { slots[fd] = nil }
        object.token = 0
    }

    /// Runs `task` at the end of this loop iteration, after every event of the iteration was handled and before
    /// the sockets' output is flushed: work that is cheaper once per iteration than once per event (one write to
    /// a worker pipe for every call the iteration's requests made). Loop thread only.
    public func atEndOfIteration(_ task: @escaping () -> Void) {
        precondition(inEventLoop || thread == 0, "EventLoop.atEndOfIteration must be called on the loop thread")
        endOfIterationTasks.append(LoopTask(run: task))
    }

    /// Asks the loop to call `object.flushScheduledOutput()` at the end of this iteration.
    func scheduleFlush(_ object: Selectable) {
        guard !object.flushScheduled else { return }
        object.flushScheduled = true
        flushList.append(object)
    }

    // MARK: Running

    func markCurrentThread() { thread = pthread_self() }

    func run() {
        while !stopped {
            let timeout = nextTimeoutNanoseconds()
            let count = clinux_epoll_wait_ns(epollFD, events, EventLoop.maxEvents, timeout)
            if count < 0 {
                if clinux_errno() == EINTR { continue }
                break
            }
            for index in 0..<Int(count) {
                let event = events[index]
                if event.data == EventLoop.wakeToken {
                    _ = clinux_eventfd_drain(wakeFD)
                    continue
                }
                let fd = Int(UInt32(truncatingIfNeeded: event.data))
                guard fd < slots.count, let object = slots[fd], object.token == event.data else { continue }
                object.handleEvent(event.events)
            }
            if !timerHeap.isEmpty { runTimers() }
            runTasks()
            flushScheduled()
        }
        // Drain whatever was submitted before stop, then tell remaining registrants.
        runTasks()
        flushScheduled()
        for case let object? in slots {
            deregister(object)
            object.loopDidStop()
        }
        timerSlots.removeAll()
        freeTimerSlots.removeAll()
        liveTimers = 0
        timerHeap.removeAll()
    }

    func stopFromLoop() { stopped = true }

    private func runTasks() {
        tasks.withLock { queue in swap(&queue, &runningTasks) }
        if runningTasks.isEmpty { return }
        for task in runningTasks { task.run() }
        runningTasks.removeAll(keepingCapacity: true)
    }

    private func flushScheduled() {
        if !endOfIterationTasks.isEmpty {
            swap(&endOfIterationTasks, &runningEndOfIteration)
            for task in runningEndOfIteration { task.run() }
            runningEndOfIteration.removeAll(keepingCapacity: true)
        }
        var index = 0
        while index < flushList.count {
            let object = flushList[index]
            object.flushScheduled = false
            object.flushScheduledOutput()
            index += 1
        }
        flushList.removeAll(keepingCapacity: true)
    }

    // MARK: Timers

    struct TimerEntry {
        var deadline: UInt64
        var serial: UInt64
        var slot: UInt32
    }

    /// A slot of the timer table: the live timer numbered `serial`, or free (`task` nil).
    struct TimerSlot {
        var serial: UInt64
        var task: LoopTask?
    }

    /// A closure the loop keeps (a timer's, or one for the end of the iteration), wrapped so that collections
    /// store it as it is: a bare closure as a dictionary value or array element is stored at the most general
    /// abstraction, behind a thunk allocated when it is added and freed through the runtime's generic
    /// value witnesses when it is removed.
    struct LoopTask {
        let run: () -> Void
    }

    /// A task submitted with `execute`, wrapped for the same reason.
    struct SubmittedTask: Sendable {
        let run: Task
    }

    /// Nanoseconds until the earliest live timer (0: one is due, -1: none), at most 60 s.
    private func nextTimeoutNanoseconds() -> Int64 {
        while let top = timerHeap.first {
            if !isLive(top) {
                popTimer()
                continue
            }
            let now = EventLoop.now()
            if top.deadline <= now { return 0 }
            return Int64(min(top.deadline - now, 60_000_000_000))
        }
        return -1
    }

    private func runTimers() {
        let now = EventLoop.now()
        while let top = timerHeap.first, top.deadline <= now {
            popTimer()
            if let task = takeTimer(slot: top.slot, serial: top.serial) { task.run() }
        }
    }

    private func isLive(_ entry: TimerEntry) -> Bool {
        timerSlots[Int(entry.slot)].serial == entry.serial
    }

    /// Removes the live timer `serial` from its slot, freeing the slot, and returns its task (nil when the timer
    /// already fired or was cancelled).
    private func takeTimer(slot: UInt32, serial: UInt64) -> LoopTask? {
        let index = Int(slot)
        guard index < timerSlots.count, timerSlots[index].serial == serial, let task = timerSlots[index].task else {
            return nil
        }
        timerSlots[index] = TimerSlot(serial: 0, task: nil)
        freeTimerSlots.append(slot)
        liveTimers -= 1
        return task
    }

    private func pushTimer(_ entry: TimerEntry) {
        timerHeap.append(entry)
        var child = timerHeap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if Self.before(timerHeap[child], timerHeap[parent]) {
                timerHeap.swapAt(child, parent)
                child = parent
            } else {
                break
            }
        }
    }

    private func popTimer() {
        let last = timerHeap.removeLast()
        guard !timerHeap.isEmpty else { return }
        timerHeap[0] = last
        siftDown(0)
    }

    private func siftDown(_ start: Int) {
        var parent = start
        let count = timerHeap.count
        while true {
            let left = 2 * parent + 1
            if left >= count { return }
            var best = left
            if left + 1 < count, Self.before(timerHeap[left + 1], timerHeap[left]) { best = left + 1 }
            if Self.before(timerHeap[best], timerHeap[parent]) {
                timerHeap.swapAt(best, parent)
                parent = best
            } else {
                return
            }
        }
    }

    private func compactTimers() {
        timerHeap.removeAll { !isLive($0) }
        var index = timerHeap.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    /// Earlier deadline first; equal deadlines fire in scheduling order.
    private static func before(_ a: TimerEntry, _ b: TimerEntry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.serial < b.serial)
    }

    /// Number of live timers (tests).
    var pendingTimerCount: Int { liveTimers }
    /// Entries in the timer heap, cancelled ones included (tests).
    var timerHeapCount: Int { timerHeap.count }
}
