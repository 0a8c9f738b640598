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
final class ListenerSocket: Selectable, @unchecked Sendable {
    let onAccept: (Int32) -> Void
    private(set) var isClosed = false

    init(fd: Int32, loop: EventLoop, onAccept: @escaping (Int32) -> Void) {
        self.onAccept = onAccept
        super.init(fd: fd, loop: loop)
    }

    override func handleEvent(_ events: UInt32) {
        var accepted = 0
        while !isClosed, accepted < 64 {
            let client = clinux_accept(fd)
            if client < 0 {
                let code = clinux_errno()
                if code == EINTR || code == ECONNABORTED { continue }
                // EAGAIN, or EMFILE/ENFILE etc.: try again on the next readiness event.
                return
            }
            accepted += 1
            onAccept(client)
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
        group: EventLoopGroup, host: String, port: Int, backlog: Int32,
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
            listeners.append(ListenerSocket(fd: fd, loop: loop, onAccept: makeAcceptHandler(loop)))
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
