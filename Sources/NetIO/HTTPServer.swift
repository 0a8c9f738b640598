import CLinux
import Glibc
import HTTP1
import Synchronization

/// Answers HTTP requests for an `HTTPServer`.
///
/// `handle` runs on the connection's event loop thread; it must not block. It answers through `responder`
/// exactly once, either before returning or later from any thread.
public protocol HTTPServerHandler: Sendable {
    /// Handles one decoded request; answer with `responder.respond(...)` exactly once.
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder)
}

/// The one-shot reply channel for one request.
///
/// Contract: call `respond` exactly once, from any thread (off the loop thread the response hops to the loop with
/// `EventLoop.execute`). Responses go out in request order even when answered out of order, so a slow request holds
/// back later pipelined answers on the same connection. A second `respond` is ignored (and logged in debug
/// builds). A responder released without answering is reported in debug builds and answered with
/// `500 {"detail":"no response"}` so the connection does not stall.
public final class HTTPResponder: Sendable {
    /// The loop of the connection that received the request.
    public let loop: EventLoop
    let connection: HTTPServerConnection
    let sequence: UInt64
    private let answered = Atomic<Bool>(false)
    /// An answer given off the loop thread, until the loop thread takes it (see `respond`).
    private let handedOver = Mutex<(status: Int, headers: [(String, String)], body: [UInt8])?>(nil)

    init(connection: HTTPServerConnection, sequence: UInt64) {
        self.connection = connection
        self.loop = connection.loop
        self.sequence = sequence
    }

    /// Sends the response. `headers` must not carry framing fields (`Content-Length`, `Transfer-Encoding`,
    /// `Connection`): the encoder writes those. Callable from any thread.
    public func respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        guard !answered.exchange(true, ordering: .acquiringAndReleasing) else {
            debugLog("HTTPResponder.respond called twice for one request; the second answer was ignored")
            return
        }
        if loop.inEventLoop {
            connection.complete(sequence: sequence, status: status, headers: headers, body: body)
            return
        }
        // The answer waits here and the loop is handed the responder itself: a closure that captures only `self`
        // uses it as its context, so the hop allocates nothing per response.
        handedOver.withLock { $0 = (status, headers, body) }
        loop.execute { self.completeHandedOver() }
    }

    /// On the loop thread: writes the answer `respond` left in `handedOver`.
    private func completeHandedOver() {
        guard let answer = handedOver.withLock({ $0.take() }) else { return }
        connection.complete(sequence: sequence, status: answer.status, headers: answer.headers, body: answer.body)
    }

    /// Whether `respond` was called.
    public var hasResponded: Bool { answered.load(ordering: .acquiring) }

    /// Whether the client has gone: the connection closed, or the server read end of file from the peer (a
    /// client that gives up on a call closes its connection; like Go's net/http, a half-close counts as gone).
    /// Callable from any thread. A connection whose reading is paused (pipelining or output limits) notices
    /// only once it reads again.
    public var isClientGone: Bool { connection.peerGone.load(ordering: .relaxed) }

    deinit {
        if !answered.load(ordering: .acquiring) {
            debugLog("HTTPResponder released without a response; answering 500")
            Self.deliver(
                connection: connection, sequence: sequence, status: 500,
                headers: [("Content-Type", "application/json")], body: Array(#"{"detail":"no response"}"#.utf8))
        }
    }

    /// Hands an answer to the connection's loop (the 500 of a responder released unanswered: `self` cannot be
    /// handed over from `deinit`).
    private static func deliver(
        connection: HTTPServerConnection, sequence: UInt64, status: Int, headers: [(String, String)], body: [UInt8]
    ) {
        if connection.loop.inEventLoop {
            connection.complete(sequence: sequence, status: status, headers: headers, body: body)
        } else {
            connection.loop.execute {
                connection.complete(sequence: sequence, status: status, headers: headers, body: body)
            }
        }
    }
}

/// An HTTP/1.1 server: one listening socket shared by the event loops (EPOLLEXCLUSIVE), keep-alive, pipelining,
/// timeouts.
///
/// Per connection, requests are decoded with `HTTPRequestDecoder` and handed to the handler on the loop thread;
/// responses produced while a read batch is processed are written with a single write at its end. A malformed
/// request is answered with its status (400, 413, 431, 501, 505) and `{"detail":"<reason>"}`, then the connection
/// closes.
///
/// Slow and greedy peers are cut by timeouts, each of which frees the connection's slot: a request head not
/// complete `headerTimeout` after its first byte, or a body not complete `bodyTimeout` after its head, gets 408 and
/// a close (bytes trickled in do not extend either); answers the peer leaves unread, with nothing taken for
/// `sendTimeout`, close the connection; a keep-alive connection with nothing in flight closes after `idleTimeout`.
/// Past `maxConnections` open connections, a new one is answered 503 with `Retry-After` and closed.
public final class HTTPServer: Sendable {
    /// The bound port (the chosen one when created with port 0).
    public let port: Int
    /// The group the server runs on.
    public let group: EventLoopGroup
    private let ownsGroup: Bool
    private let listeners: [ListenerSocket]
    private let states: [ServerLoopState]
    private let connections: ConnectionCount

    /// The default bound on a connection's unread answers: 32 MiB.
    public static let defaultMaxUnsentBytes = 32 << 20
    private let isShutDown = Atomic<Bool>(false)

    /// Binds `host:port` (port 0 picks a free port) on every loop of `group` (nil: a new group with one loop per
    /// core, owned and shut down by the server) and starts accepting. `onAcceptLimit` is told, on a loop thread,
    /// when accepting pauses because the process is out of descriptors. A connection whose peer leaves more than
    /// `maxUnsentBytes` of answers unread (pipelining without reading) is closed; one answer always goes out
    /// whole, however large. `bodyTimeout` nil means the same as `headerTimeout`. `maxConnections` counts the
    /// connections of all loops (at least 1).
    public init(
        group givenGroup: EventLoopGroup? = nil, host: String = "127.0.0.1", port: Int = 0,
        limits: HTTPLimits = .default, idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10),
        bodyTimeout: Duration? = nil, sendTimeout: Duration = .seconds(30), maxConnections: Int = .max,
        backlog: Int32 = 1024, maxUnsentBytes: Int = HTTPServer.defaultMaxUnsentBytes,
        onAcceptLimit: (@Sendable (String) -> Void)? = nil, handler: any HTTPServerHandler
    ) throws(NetError) {
        let ownsGroup = givenGroup == nil
        let group: EventLoopGroup
        if let givenGroup { group = givenGroup } else { group = try EventLoopGroup(name: "http") }
        let configuration = ServerConfiguration(
            limits: limits, idleTimeout: idleTimeout.nanoseconds, headerTimeout: headerTimeout.nanoseconds,
            bodyTimeout: (bodyTimeout ?? headerTimeout).nanoseconds, sendTimeout: sendTimeout.nanoseconds,
            connections: ConnectionCount(limit: maxConnections), maxUnsentBytes: max(maxUnsentBytes, 1),
            handler: handler)
        var states: [ServerLoopState] = []
        do throws(NetError) {
            let (listeners, bound) = try ListenerSocket.bind(
                group: group, host: host, port: port, backlog: backlog, onAcceptLimit: onAcceptLimit
            ) { loop in
                let state = ServerLoopState(loop: loop, configuration: configuration)
                states.append(state)
                return { [state] fd in state.accept(fd) }
            }
            self.listeners = listeners
            self.port = bound
        } catch {
            if ownsGroup { group.shutdown() }
            throw error
        }
        self.states = states
        self.connections = configuration.connections
        self.group = group
        self.ownsGroup = ownsGroup
    }

    /// Like the designated initializer, with the handler as a closure.
    public convenience init(
        group: EventLoopGroup? = nil, host: String = "127.0.0.1", port: Int = 0, limits: HTTPLimits = .default,
        idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10),
        handler: @escaping @Sendable (HTTPRequest, HTTPResponder) -> Void
    ) throws(NetError) {
        try self.init(
            group: group, host: host, port: port, limits: limits, idleTimeout: idleTimeout,
            headerTimeout: headerTimeout, handler: ClosureHandler(body: handler))
    }

    /// Connections open now (all loops; connections being refused past `maxConnections` are not counted).
    public var openConnections: Int { connections.current }

    /// A default for `maxConnections`: the process's open-file limit less `reserve` descriptors kept for
    /// everything else (pipes, files, logs), at least 16.
    public static func defaultMaxConnections(reserve: Int = 128) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
            return 1_024
        }
        return max(16, Int(clamping: limit.rlim_cur) - reserve)
    }

    /// Closes the listeners: new connections are refused, open ones are served as before. Waits until every
    /// loop has closed its listener; must not be called on one of the group's loops. Idempotent.
    public func stopAccepting() {
        guard !isShutDown.load(ordering: .acquiring) else { return }
        let done = Latch(count: listeners.count)
        for listener in listeners {
            listener.loop.execute { [listener] in
                listener.close()
                done.countDown()
            }
        }
        done.wait()
    }

    /// Closes the listeners and every open connection (in-flight requests are dropped; late `respond` calls become
    /// no-ops) and waits until each loop has done so. When the server created its group, the group's threads are
    /// stopped and joined too. Must not be called on one of the group's loops. Idempotent.
    public func shutdown() {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let done = Latch(count: states.count)
        for (listener, state) in zip(listeners, states) {
            state.loop.execute { [listener, state] in
                listener.close()
                state.closeAll()
                done.countDown()
            }
        }
        done.wait()
        if ownsGroup { group.shutdown() }
    }
}
