import CLinux
import Glibc
import Synchronization

/// A fixed set of event loops, each on its own thread (by default one per available core).
public final class EventLoopGroup: Sendable {
    /// The loops, in creation order.
    public let loops: [EventLoop]
    private let threads: [UInt]
    private let counter = Atomic<Int>(0)
    private let isShutDown = Atomic<Bool>(false)

    /// Starts `threads` loops named `name-0`, `name-1`, …; `pinToCores` pins loop *i* to CPU *i* modulo the core
    /// count. Ignores SIGPIPE process-wide (sockets also write with MSG_NOSIGNAL).
    public init(threads: Int = EventLoopGroup.coreCount, name: String = "netio", pinToCores: Bool = false) throws(NetError) {
        clinux_ignore_sigpipe()
        let count = max(1, threads)
        var loops: [EventLoop] = []
        for index in 0..<count { loops.append(try EventLoop(name: "\(name)-\(index)")) }
        let started = Latch(count: count)
        var handles: [UInt] = []
        let cores = EventLoopGroup.coreCount
        for (index, loop) in loops.enumerated() {
            let box = Unmanaged.passRetained(ThreadStart(loop: loop, latch: started, cpu: pinToCores ? index % cores : -1))
            var handle: pthread_t = 0
            let rc = pthread_create(&handle, nil, { raw in
                guard let raw else { return nil }
                let start = Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue()
                if start.cpu >= 0 { _ = clinux_pin_current_thread(Int32(start.cpu)) }
                start.loop.startOnCurrentThread(latch: start.latch)
                return nil
            }, box.toOpaque())
            if rc != 0 {
                box.release()
                // Stop what was started before failing.
                for (started, handle) in zip(loops, handles) {
                    started.execute { [loop = started] in loop.stopFromLoop() }
                    _ = pthread_join(handle, nil)
                }
                throw NetError.system(call: "pthread_create", errno: rc)
            }
            handles.append(handle)
        }
        started.wait()
        self.loops = loops
        self.threads = handles
    }

    /// The number of CPUs this process may run on.
    public static var coreCount: Int { Int(clinux_cpu_count()) }

    /// The next loop, round robin.
    public func next() -> EventLoop {
        let index = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[index % loops.count]
    }

    /// Stops every loop after the tasks already submitted and joins their threads. Must not be called on one of the
    /// group's loops. Idempotent.
    public func shutdown() {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for loop in loops {
            precondition(!loop.inEventLoop, "EventLoopGroup.shutdown() called on one of its own loops")
            loop.execute { [loop] in loop.stopFromLoop() }
        }
        for handle in threads { _ = pthread_join(handle, nil) }
    }
}

private final class ThreadStart {
    let loop: EventLoop
    let latch: Latch
    let cpu: Int
    init(loop: EventLoop, latch: Latch, cpu: Int) {
        self.loop = loop
        self.latch = latch
        self.cpu = cpu
    }
}

extension EventLoop {
    func startOnCurrentThread(latch: Latch) {
        markCurrentThread()
        latch.countDown()
        run()
    }
}
