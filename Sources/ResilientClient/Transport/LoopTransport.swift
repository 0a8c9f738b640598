// `LoopTransport` runs on NetIO's epoll event loops: Linux only (see Package.swift).
#if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
import Foundation
import HTTP1
import NetIO
import Synchronization

/// The client's transport for `http://` on Linux: a keep-alive HTTP/1.1 connection pool per `host:port` on the
/// project's own NetIO event loops (no URLSession, no thread per request). Linux only (epoll); elsewhere the
/// client sends with ``URLSessionTransport``.
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
        /// Parser limits for responses. Default `HTTPLimits()` (8 MiB bodies); a longer body is not read past
        /// the limit and fails its request with ``TransportError/Kind/responseTooLarge``.
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
    /// The event loops (internal: a client builds a transport with its own limits on the shared one's loops).
    let group: EventLoopGroup
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

extension LoopTransport {
    /// `true`: the attempt timeout is enforced by the transport itself (an event-loop timer per request).
    public var enforcesTimeout: Bool { true }
}
#endif
