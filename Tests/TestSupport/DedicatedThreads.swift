// Shared by every test target that blocks threads (the TestSupport target).
import Glibc
import Synchronization
import Testing

/// Runs each test of a suite on threads of its own instead of Swift's cooperative pool.
///
/// The cooperative pool has one thread per core (two on a small machine). A test that blocks its thread
/// (a blocking socket read, a semaphore, `waitpid`, a synchronous `start()` that waits for Python workers)
/// takes one of those threads away from every other test running in parallel and from the async work of
/// the library under test; two such tests at once stall everything else. With this trait the test body,
/// and every child task that inherits its executor preference, runs on `DedicatedThreadExecutor` threads,
/// which are created whenever all existing ones are busy, so blocking there starves nobody.
///
/// The cooperative pool also used to bound, by accident, how many blocking tests ran at once (one per
/// thread); `TestSlots` keeps that bound explicit (one test per core, at least two) so that parallel runs do
/// not start dozens of Python workers at the same time. A test waits for its slot without blocking a thread.
public struct DedicatedThreadsTrait: SuiteTrait, TestTrait, TestScoping {
    /// Applies to every test of a suite it is attached to.
    public var isRecursive: Bool { true }

    /// Runs `function` on dedicated threads, one test per core at a time.
    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        guard testCase != nil else { return try await function() }
        await TestSlots.shared.acquire()
        defer { TestSlots.shared.release() }
        try await withTaskExecutorPreference(DedicatedThreadExecutor.shared) { try await function() }
    }
}

/// A counting semaphore for async code: `acquire()` suspends (it never blocks a thread) until a slot is free.
final class TestSlots: Sendable {
    static let shared = TestSlots(max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(_ count: Int) { state = Mutex(State(free: count)) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

extension Trait where Self == DedicatedThreadsTrait {
    /// Runs the tests on dedicated threads (see `DedicatedThreadsTrait`).
    public static var dedicatedThreads: Self { DedicatedThreadsTrait() }
}

/// A task executor backed by an elastic set of plain threads: a job never waits behind a blocked thread,
/// because a new thread is started whenever more jobs are queued than threads are idle. Idle threads wait
/// for the next job (they are few: at most the number of jobs that were ever blocked at the same time).
public final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    /// The executor every `.dedicatedThreads` test runs on.
    public static let shared = DedicatedThreadExecutor()

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var idle = 0

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    /// True on one of this executor's threads.
    public static var isCurrentThread: Bool { pthread_getspecific(threadMarker) != nil }
    private static let threadMarker: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let queued = jobs.count - head
        let startThread = queued > idle
        if !startThread { pthread_cond_signal(condition) }
        pthread_mutex_unlock(mutex)
        if startThread { startWorker() }
    }

    private func startWorker() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let executor = Unmanaged<DedicatedThreadExecutor>.fromOpaque(raw).takeRetainedValue()
            executor.work()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_detach(thread)
    }

    private func work() {
        pthread_setspecific(Self.threadMarker, UnsafeRawPointer(bitPattern: 1))
        let unowned = asUnownedTaskExecutor()
        pthread_mutex_lock(mutex)
        while true {
            while head == jobs.count {
                idle += 1
                pthread_cond_wait(condition, mutex)
                idle -= 1
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            pthread_mutex_unlock(mutex)
            job.runSynchronously(on: unowned)
            pthread_mutex_lock(mutex)
        }
    }
}
