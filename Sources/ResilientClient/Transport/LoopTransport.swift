import Foundation
import HTTP1
import NetIO
import Synchronization

/// The client's transport for `http://`: a keep-alive HTTP/1.1 connection pool per `host:port` on the
/// project's own NetIO event loops (no URLSession, no thread per request).
///
/// - Up to `maxConnectionsPerHost` connections per host; each carries one request at a time.
/// - Idle connections are reused (most recently used first); a connection that failed, timed out, or
///   that the server announced it will close is dropped and replaced by a new one on demand.
/// - Requests that find every connection busy wait in a FIFO queue of at most `maxWaitingRequests`;
///   beyond that a request fails at once (`.other`, "connection pool queue full") rather than queue
///   without bound.
/// - Cancelling the calling task removes a waiting request, or closes the connection of a request in
///   flight (the connection is then replaced).
///
/// All of a host's pool state lives on one event loop, so the request path takes no lock.
///
/// ```swift
/// let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 16))
/// let client = ResilientClient(configuration: .init(baseURL: url), transport: transport)
/// // …
/// transport.shutdown()
/// ```
public final class LoopTransport: HTTPTransport {
    /// Pool limits.
    public struct Configuration: Sendable, Equatable, Hashable {
        /// Connections per `host:port`. Default 8.
        public var maxConnectionsPerHost: Int
        /// Requests per `host:port` that may wait for a free connection. Default 1024.
        public var maxWaitingRequests: Int
        /// TCP connect timeout. Default 5 s.
        public var connectTimeout: Duration
        /// Parser limits for responses. Default `HTTPLimits()` (8 MiB bodies).
        public var limits: HTTPLimits

        /// Creates a configuration (counts below 1 are raised to 1; the waiting queue may be 0).
        public init(
            maxConnectionsPerHost: Int = 8, maxWaitingRequests: Int = 1024, connectTimeout: Duration = .seconds(5),
            limits: HTTPLimits = HTTPLimits()
        ) {
            self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
            self.maxWaitingRequests = max(0, maxWaitingRequests)
            self.connectTimeout = connectTimeout
            self.limits = limits
        }
    }

    /// A transport shared by clients that were not given one (one event-loop thread, created on first
    /// use, never shut down).
    public static let shared: LoopTransport? = try? LoopTransport()

    /// The pool limits.
    public let configuration: Configuration
    private let group: EventLoopGroup
    private let ownsGroup: Bool
    private let pools = Mutex<[String: HostPool]>([:])
    /// Set by `shutdown()`. A request is handed to its pool's loop under this lock, so none reaches a loop
    /// after its shutdown began (the loop runs what it was given before it stops, and nothing after).
    private let isShutDown = Mutex(false)
    private let nextJobID = Atomic<UInt64>(0)
    /// What `send` derives from a URL (request target and pool), remembered for the URLs sent to
    /// recently, so that a request parses no URL.
    private let routes = Mutex(RouteCache())

    /// Request targets and pools by URL: the last few URLs compared with `==` (a caller sends the same
    /// few URL values over and over, and comparing equal storage is cheaper than hashing a URL), then a
    /// dictionary of up to 256.
    private struct RouteCache {
        typealias Route = (target: String, pool: HostPool)
        var recent: [(url: URL, route: Route)] = []
        var nextRecent = 0
        var all: [URL: Route] = [:]
        static let recentCount = 8

        mutating func route(for url: URL) -> Route? {
            for entry in recent where entry.url == url { return entry.route }
            guard let route = all[url] else { return nil }
            remember(url, route)
            return route
        }

        mutating func insert(_ url: URL, _ route: Route) {
            if all.count >= 256 { all.removeAll() }
            all[url] = route
            remember(url, route)
        }

        /// Puts `url` among the recent ones, in place of the oldest when they are all taken.
        private mutating func remember(_ url: URL, _ route: Route) {
            if recent.count < Self.recentCount {
                recent.append((url, route))
            } else {
                recent[nextRecent] = (url, route)
                nextRecent = (nextRecent + 1) % Self.recentCount
            }
        }

        mutating func removeAll() {
            recent.removeAll()
            nextRecent = 0
            all.removeAll()
        }
    }

    /// Creates a transport on its own event-loop group of `threads` threads.
    public init(configuration: Configuration = Configuration(), threads: Int = 1) throws(NetError) {
        self.configuration = configuration
        self.group = try EventLoopGroup(threads: max(1, threads), name: "resilient-client")
        self.ownsGroup = true
    }

    /// Creates a transport on an existing group (which the caller shuts down).
    public init(configuration: Configuration = Configuration(), group: EventLoopGroup) {
        self.configuration = configuration
        self.group = group
        self.ownsGroup = false
    }

    /// Closes idle connections and, if the transport created its event loops, stops them. Requests in
    /// flight fail; a request sent afterwards fails at once with `.shutdown`. Do not call from one of the
    /// group's own loop threads.
    public func shutdown() {
        guard !isShutDown.withLock({ down in defer { down = true }; return down }) else { return }
        let all = pools.withLock { pools in
            defer { pools.removeAll() }
            return Array(pools.values)
        }
        routes.withLock { $0.removeAll() }
        for pool in all { pool.loop.execute { pool.closeAll() } }
        if ownsGroup { group.shutdown() }
    }

    /// Connections to `host:port` that are busy or idle and still reusable, read on the pool's loop.
    public func openConnections(host: String, port: Int) async -> Int {
        guard let pool = pools.withLock({ $0["\(host):\(port)"] }) else { return 0 }
        return await withUnsafeContinuation { continuation in
            pool.loop.execute {
                continuation.resume(returning: pool.idle.filter(\.isReusable).count + pool.busy.count)
            }
        }
    }

    /// Sends one request on a pooled connection.
    public func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
        if isShutDown.withLock({ $0 }) { throw Self.shutDownError }
        let (target, pool) = try route(request.url)
        let id = nextJobID.wrappingAdd(1, ordering: .relaxed).newValue
        let deadline = timeout.map { EventLoop.now() &+ UInt64(max(0, $0.clampedNanoseconds)) }
        let headers = request.headers.map { ($0.name, $0.value) }
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Result<TransportResponse, TransportError>, Never>) in
                let job = HostPool.Job(
                    id: id, method: request.method, target: target, headers: headers, body: request.body,
                    deadline: deadline, continuation: continuation)
                let accepted = isShutDown.withLock { down in
                    if !down { pool.loop.execute { pool.enqueue(job) } }
                    return !down
                }
                if !accepted { continuation.resume(returning: .failure(Self.shutDownError)) }
            }
        } onCancel: {
            pool.loop.execute { pool.cancel(id) }
        }
        return try result.get()
    }

    static let shutDownError = TransportError(.shutdown, "LoopTransport is shut down: no request can be sent")

    /// The request target and the host pool for `url`.
    private func route(_ url: URL) throws(TransportError) -> (target: String, pool: HostPool) {
        if let known = routes.withLock({ $0.route(for: url) }) { return known }
        guard let host = url.host, !host.isEmpty else {
            throw TransportError(.other, "no host in \(url)")
        }
        guard url.scheme?.lowercased() == "http" else {
            throw TransportError(.other, "LoopTransport only speaks http://, not \(url.scheme ?? "")")
        }
        let port = url.port ?? 80
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        var target = components?.percentEncodedPath ?? url.path
        if target.isEmpty { target = "/" }
        if let query = components?.percentEncodedQuery { target += "?" + query }
        let key = "\(host):\(port)"
        let pool = pools.withLock { pools -> HostPool in
            if let pool = pools[key] { return pool }
            let pool = HostPool(host: host, port: port, loop: group.next(), configuration: configuration)
            pools[key] = pool
            return pool
        }
        routes.withLock { $0.insert(url, (target, pool)) }
        return (target, pool)
    }

    static func map(_ error: HTTPClientError) -> TransportError {
        TransportError(error)
    }
}

/// The connections to one `host:port`. Confined to `loop`: every method runs on its thread.
final class HostPool: @unchecked Sendable {
    struct Job {
        var id: UInt64
        var method: String
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]
        var deadline: UInt64?
        var continuation: UnsafeContinuation<Result<TransportResponse, TransportError>, Never>
    }

    let host: String
    let port: Int
    let loop: EventLoop
    let configuration: LoopTransport.Configuration
    var idle: [HTTPClientConnection] = []
    var busy: [UInt64: HTTPClientConnection] = [:]
    var connecting = 0
    var waiting: [Job] = []
    var waitingHead = 0
    var closed = false
    /// Jobs cancelled before they reached the pool, with when (`EventLoop.now()`): a task cancelled before
    /// it sends runs its cancellation handler before `send` enqueues the job, so the cancellation arrives
    /// first. Kept for `earlyCancelLifetime`, since a cancellation that comes after its job finished is
    /// recorded too and never claimed.
    private var earlyCancels: [(id: UInt64, at: UInt64)] = []
    private static let earlyCancelLifetime: UInt64 = 1_000_000_000
    private static let maxEarlyCancels = 4096

    init(host: String, port: Int, loop: EventLoop, configuration: LoopTransport.Configuration) {
        self.host = host
        self.port = port
        self.loop = loop
        self.configuration = configuration
    }

    private var waitingCount: Int { waiting.count - waitingHead }

    func enqueue(_ job: Job) {
        if !earlyCancels.isEmpty, claimEarlyCancel(job.id) {
            job.continuation.resume(returning: .failure(TransportError(.cancelled, "cancelled before it was sent")))
            return
        }
        if closed {
            job.continuation.resume(returning: .failure(LoopTransport.shutDownError))
            return
        }
        if let connection = takeIdle() {
            dispatch(job, on: connection)
            return
        }
        guard waitingCount < configuration.maxWaitingRequests || canConnect else {
            job.continuation.resume(returning: .failure(TransportError(
                .other, "connection pool queue full (\(configuration.maxWaitingRequests) waiting for \(host):\(port))")))
            return
        }
        waiting.append(job)
        if let deadline = job.deadline {
            // The attempt's timeout also bounds the wait for a connection (and the connect itself).
            let id = job.id
            let now = EventLoop.now()
            _ = loop.schedule(after: deadline > now ? deadline - now : 0) { [self] in expireWaiting(id) }
        }
        pump()
    }

    /// Fails job `id` with a connect timeout if it is still waiting for a connection (it was never sent,
    /// so the failure is always safe to retry).
    private func expireWaiting(_ id: UInt64) {
        guard let index = waiting[waitingHead...].firstIndex(where: { $0.id == id }) else { return }
        let job = waiting.remove(at: index)
        job.continuation.resume(returning: .failure(TransportError(
            .connectTimeout, "no connection to \(host):\(port) became free before the attempt timeout")))
    }

    func cancel(_ id: UInt64) {
        if let index = waiting[waitingHead...].firstIndex(where: { $0.id == id }) {
            let job = waiting.remove(at: index)
            job.continuation.resume(returning: .failure(TransportError(.cancelled, "cancelled")))
        } else if let connection = busy[id] {
            connection.close()  // fails the request with .closed; the connection is replaced later
        } else {
            // Not here yet (or already finished): its enqueue claims this.
            dropExpiredEarlyCancels()
            if earlyCancels.count >= Self.maxEarlyCancels { earlyCancels.removeFirst() }
            earlyCancels.append((id, EventLoop.now()))
        }
    }

    /// Whether job `id` was cancelled before it arrived (the record is consumed).
    private func claimEarlyCancel(_ id: UInt64) -> Bool {
        dropExpiredEarlyCancels()
        guard let index = earlyCancels.firstIndex(where: { $0.id == id }) else { return false }
        earlyCancels.remove(at: index)
        return true
    }

    private func dropExpiredEarlyCancels() {
        let now = EventLoop.now()
        let expired = earlyCancels.prefix { now &- $0.at > Self.earlyCancelLifetime }.count
        if expired > 0 { earlyCancels.removeFirst(expired) }
    }

    func closeAll() {
        closed = true
        for connection in idle { connection.close() }
        idle.removeAll()
        for connection in busy.values { connection.close() }
        while let job = popWaiting() {
            job.continuation.resume(returning: .failure(LoopTransport.shutDownError))
        }
    }

    private var canConnect: Bool {
        idle.count + busy.count + connecting < configuration.maxConnectionsPerHost
    }

    private func takeIdle() -> HTTPClientConnection? {
        while let connection = idle.popLast() {
            if connection.isReusable { return connection }
            connection.close()
        }
        return nil
    }

    private func popWaiting() -> Job? {
        guard waitingHead < waiting.count else { return nil }
        let job = waiting[waitingHead]
        waitingHead += 1
        if waitingHead > 64, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        return job
    }

    /// Gives waiting jobs to idle connections, and opens connections for the rest while allowed.
    private func pump() {
        while waitingCount > 0, let connection = takeIdle(), let job = popWaiting() {
            dispatch(job, on: connection)
        }
        while waitingCount > connecting, canConnect, !closed {
            connect()
        }
    }

    private func connect() {
        connecting += 1
        HTTPClientConnection.connect(
            host: host, port: port, on: loop, timeout: configuration.connectTimeout, limits: configuration.limits
        ) { [self] result in
            connecting -= 1
            switch result {
            case .success(let connection):
                if closed {
                    connection.close()
                    return
                }
                if let job = popWaiting() {
                    dispatch(job, on: connection)
                } else {
                    idle.append(connection)
                }
            case .failure(let error):
                // Nothing listening (or unreachable): the oldest waiting request learns it now; the
                // others get connections of their own.
                if let job = popWaiting() {
                    job.continuation.resume(returning: .failure(LoopTransport.map(error)))
                }
                pump()
            }
        }
    }

    private func dispatch(_ job: Job, on connection: HTTPClientConnection) {
        busy[job.id] = connection
        connection.send(
            method: job.method, target: job.target, headers: job.headers, body: job.body, deadline: job.deadline
        ) { [self] result in
            busy.removeValue(forKey: job.id)
            switch result {
            case .success(let response):
                if connection.isReusable, !closed { idle.append(connection) } else { connection.close() }
                job.continuation.resume(returning: .success(TransportResponse(
                    status: response.head.status, received: response.head.headers, body: response.body)))
            case .failure(let error):
                connection.close()
                job.continuation.resume(returning: .failure(LoopTransport.map(error)))
            }
            pump()
        }
    }
}

extension LoopTransport {
    /// `true`: the attempt timeout is enforced by the transport itself (an event-loop timer per request).
    public var enforcesTimeout: Bool { true }
}
