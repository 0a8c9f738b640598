import EndpointSpec
import HTTP1
import NetIO

/// The bundled reference endpoint: serves a folder of Python model code as REST routes, the way a
/// proxiML endpoint does, on the project's own HTTP/1.1 server.
///
/// ```swift
/// var config = EndpointConfiguration(modelDirectory: "examples/echo", routes: [
///     RouteSpec(path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "text", type: .str)])
/// ])
/// config.port = 0
/// let server = ReferenceEndpointServer(configuration: config)
/// try server.start()            // Python workers ready, every function found, socket bound
/// print(server.url)             // http://127.0.0.1:<port>
/// server.shutdown()
/// ```
public final class ReferenceEndpointServer: Sendable {
    /// One per core this process may run on.
    public static var defaultWorkerCount: Int { EventLoopGroup.coreCount }

    /// The configuration the server was created with.
    public let configuration: EndpointConfiguration
    /// What the server has answered so far.
    public let stats = EndpointStats()
    private let log: EndpointLog
    private let state = LockedBox<Running?>(nil)

    private struct Running: Sendable {
        let pool: WorkerPool
        let group: EventLoopGroup
        let server: HTTPServer
    }

    /// Creates a server; nothing starts until `start()`.
    public init(configuration: EndpointConfiguration, log: EndpointLog = EndpointLog()) {
        self.configuration = configuration
        self.log = log
    }

    /// Binds the socket, then starts the Python workers and returns once every worker imported the model
    /// and found every route's function (meanwhile `/ping` answers 503). Any configuration problem throws
    /// here, with one clear message, never at the first request. A server starts once.
    public func start() throws(EndpointStartupError) {
        if state.withLock({ $0 != nil }) {
            throw EndpointStartupError(message: "the endpoint is already running on \(url)")
        }
        let config = configuration
        let router: Router
        do {
            router = try Router(routes: config.routes)
        } catch {
            throw EndpointStartupError(message: error.message)
        }
        let templates = config.routes.map { BodyTemplate($0.body) }
        var poolConfig = config.pool
        poolConfig.workers = max(1, config.workers)
        poolConfig.threads = max(1, config.threads)
        poolConfig.maxQueue = max(0, config.maxQueue)
        let pool = WorkerPool(configuration: poolConfig, log: log)

        let handler = EndpointHandler(
            router: router, routes: config.routes, templates: templates, pool: pool,
            injector: FaultInjector(failRate: config.failRate, seed: config.seed),
            slow: FaultInjector(failRate: config.slowRate, seed: config.seed &+ 0x5_1_0_3),
            slowExtraNanoseconds: UInt64(max(0, (config.slowDelayMilliseconds - config.pool.delayMilliseconds) * 1e6)),
            retryAfter: String(config.retryAfterSeconds), callTimeout: config.callTimeout,
            accessLog: config.accessLog, log: log, stats: stats)
        var limits = HTTPLimits()
        limits.maxBodyBytes = config.maxBodyBytes
        let group: EventLoopGroup
        let server: HTTPServer
        do {
            group = try EventLoopGroup(threads: max(1, config.eventLoopThreads), name: "endpoint")
        } catch {
            pool.shutdown()
            throw EndpointStartupError(message: "cannot start the event loops: \(error)")
        }
        do {
            server = try HTTPServer(
                group: group, host: config.host, port: config.port, limits: limits,
                idleTimeout: .nanoseconds(Int64(config.idleTimeout * 1e9)),
                headerTimeout: .nanoseconds(Int64(config.requestTimeout * 1e9)),
                onAcceptLimit: { [log] message in log.log(message) }, handler: handler)
        } catch {
            group.shutdown()
            pool.shutdown()
            throw EndpointStartupError(message: "cannot listen on \(config.host):\(config.port): \(error)")
        }
        // The socket is bound before the workers start: until they are ready, /ping answers 503 and
        // routes answer 503 (the pool refuses calls), as a starting proxiML endpoint does.
        do {
            try pool.start()
        } catch {
            server.shutdown()
            group.shutdown()
            throw error
        }
        state.withLock { $0 = Running(pool: pool, group: group, server: server) }
    }

    /// The bound port (after `start()`); 0 before.
    public var port: Int { state.withLock { $0?.server.port ?? 0 } }

    /// `http://HOST:PORT` (after `start()`).
    public var url: String { "http://\(configuration.host):\(port)" }

    /// Python workers currently ready.
    public var aliveWorkers: Int { state.withLock { $0?.pool.aliveWorkers ?? 0 } }

    /// The first half of a graceful stop (SIGTERM): stops accepting connections; `/ping` and every route answer
    /// 503 with `Retry-After` on the connections still open (health checkers and clients' gates see the
    /// drain); calls waiting for a worker get 503 with `Retry-After` at once; calls already at a worker finish,
    /// for at most `timeout` seconds. Returns how many were still running then; `shutdown()` ends them.
    @discardableResult
    public func drain(timeout: Double) -> Int {
        guard let running = state.withLock({ $0 }) else { return 0 }
        running.server.stopAccepting()
        return running.pool.drain(timeout: timeout)
    }

    /// Stops accepting, closes connections, stops the workers. Safe to call more than once.
    public func shutdown() {
        let running = state.withLock { value -> Running? in
            let current = value
            value = nil
            return current
        }
        guard let running else { return }
        running.server.shutdown()
        running.group.shutdown()
        running.pool.shutdown()
    }
}
