import CLinux
import Glibc
import Synchronization

/// An in-progress non-blocking connect: waits for EPOLLOUT (or the timeout) and hands over the connected fd.
final class Connector: Selectable, @unchecked Sendable {
    private var completion: ((Result<Int32, NetError>) -> Void)?
    private var timer: TimerID?

    /// Starts connecting on `loop` (loop thread only); `completion` runs on the loop thread exactly once.
    static func connect(
        host: String, port: Int, loop: EventLoop, timeoutNanoseconds: UInt64,
        _ completion: @escaping (Result<Int32, NetError>) -> Void
    ) {
        var address: clinux_address
        do {
            address = try Socket.resolve(host: host, port: port)
        } catch {
            completion(.failure(error))
            return
        }
        let fd = clinux_tcp_socket(address.family)
        if fd < 0 {
            completion(.failure(NetError.current("socket")))
            return
        }
        _ = clinux_set_nodelay(fd)
        if clinux_connect(fd, &address) == 0 {
            completion(.success(fd))
            return
        }
        let code = clinux_errno()
        guard code == EINPROGRESS || code == EINTR else {
            Glibc.close(fd)
            completion(.failure(NetError.from(errno: code, call: "connect")))
            return
        }
        let connector = Connector(fd: fd, loop: loop)
        connector.completion = completion
        do {
            try loop.register(connector, events: CLINUX_EPOLLOUT)
        } catch {
            Glibc.close(fd)
            completion(.failure(error))
            return
        }
        connector.timer = loop.schedule(after: timeoutNanoseconds) { [connector] in
            connector.finish(.failure(.timedOut))
        }
    }

    override func handleEvent(_ events: UInt32) {
        let code = clinux_socket_error(fd)
        if code == 0 {
            finish(.success(fd))
        } else {
            finish(.failure(code < 0 ? NetError.current("getsockopt") : NetError.from(errno: code, call: "connect")))
        }
    }

    private func finish(_ result: Result<Int32, NetError>) {
        guard let completion else { return }
        self.completion = nil
        if let timer { loop.cancel(timer) }
        loop.deregister(self)
        if case .failure = result { Glibc.close(fd) }
        completion(result)
    }

    override func loopDidStop() { finish(.failure(.closed)) }
}

/// A listening socket on one loop; accepted fds go to `onAccept` on the loop thread.
///
/// Out of descriptors (EMFILE, ENFILE) or kernel memory, `accept` fails while the socket stays readable, so
/// a level-triggered listener would spin at 100% CPU without accepting anything. The listener then leaves
/// epoll for `acceptPause` and tries again; new clients wait in the backlog meanwhile, and connections
/// already open are served as usual. `onAcceptLimit` hears of it at most once every `limitReportInterval`.
final class ListenerSocket: Selectable, @unchecked Sendable {
    let onAccept: (Int32) -> Void
    let onAcceptLimit: ((String) -> Void)?
    private(set) var isClosed = false
    /// When `onAcceptLimit` was last told (monotonic nanoseconds; 0: never).
    private var limitReportedAt: UInt64 = 0

    /// How often at most a pause is reported.
    static let limitReportInterval: UInt64 = 10_000_000_000

    /// How long accepting pauses after EMFILE, ENFILE, ENOBUFS or ENOMEM.
    static let acceptPause: UInt64 = 100_000_000

    init(fd: Int32, loop: EventLoop, onAccept: @escaping (Int32) -> Void, onAcceptLimit: ((String) -> Void)? = nil) {
        self.onAccept = onAccept
        self.onAcceptLimit = onAcceptLimit
        super.init(fd: fd, loop: loop)
    }

    override func handleEvent(_ events: UInt32) {
        var accepted = 0
        while !isClosed, accepted < 64 {
            let client = clinux_accept(fd)
            if client < 0 {
                let code = clinux_errno()
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM { pauseAccepting(code) }
                // EAGAIN: nothing more to accept until the next readiness event.
                return
            }
            accepted += 1
            onAccept(client)
        }
    }

    private func pauseAccepting(_ code: Int32) {
        let now = EventLoop.now()
        if limitReportedAt == 0 || now &- limitReportedAt >= Self.limitReportInterval {
            limitReportedAt = now
            onAcceptLimit?(
                "cannot accept connections: \(String(cString: strerror(code))); new clients wait in the backlog "
                    + "(accepting pauses \(Self.acceptPause / 1_000_000) ms at a time until descriptors are free)")
        }
        loop.deregister(self)
        _ = loop.schedule(after: Self.acceptPause) { [self] in resumeAccepting() }
    }

    private func resumeAccepting() {
        guard !isClosed else { return }
        do throws(NetError) {
            try loop.register(self, events: CLINUX_EPOLLIN | CLINUX_EPOLLEXCLUSIVE)
        } catch {
            _ = loop.schedule(after: Self.acceptPause) { [self] in resumeAccepting() }
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(self)
        Glibc.close(fd)
    }

    override func loopDidStop() { close() }

    /// Binds one listening socket and registers it on every loop (through one `dup` per loop, with
    /// EPOLLEXCLUSIVE so that a new connection wakes one loop, not all of them). A port already in use fails
    /// with `addressInUse`. `makeAcceptHandler` builds the per-loop accept callback.
    static func bind(
        group: EventLoopGroup, host: String, port: Int, backlog: Int32, onAcceptLimit: ((String) -> Void)? = nil,
        makeAcceptHandler: (EventLoop) -> (Int32) -> Void
    ) throws(NetError) -> (listeners: [ListenerSocket], port: Int) {
        let (socket, chosenPort) = try Socket.listen(host: host, port: port, backlog: backlog)
        var listeners: [ListenerSocket] = []
        for (index, loop) in group.loops.enumerated() {
            let fd = index == 0 ? socket : fcntl(socket, F_DUPFD_CLOEXEC, 0)
            if fd < 0 {
                let error = NetError.current("dup")
                for listener in listeners { Glibc.close(listener.fd) }
                throw error
            }
            listeners.append(
                ListenerSocket(fd: fd, loop: loop, onAccept: makeAcceptHandler(loop), onAcceptLimit: onAcceptLimit))
        }
        // Register on each loop's own thread (registration bookkeeping is loop-confined).
        let registered = Latch(count: listeners.count)
        let failure = ErrorBox()
        for listener in listeners {
            listener.loop.execute { [listener] in
                do throws(NetError) {
                    try listener.loop.register(listener, events: CLINUX_EPOLLIN | CLINUX_EPOLLEXCLUSIVE)
                } catch {
                    failure.set(error)
                }
                registered.countDown()
            }
        }
        registered.wait()
        if let error = failure.get() {
            for listener in listeners { listener.loop.execute { [listener] in listener.close() } }
            throw error
        }
        return (listeners, chosenPort)
    }
}

/// A thread-safe holder for the first error reported.
final class ErrorBox: Sendable {
    private let error = Mutex<NetError?>(nil)
    func set(_ value: NetError) { error.withLock { if $0 == nil { $0 = value } } }
    func get() -> NetError? { error.withLock { $0 } }
}
