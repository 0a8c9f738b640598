import EndpointSpec
import Glibc
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
    /// One per core.
    public static var defaultWorkerCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

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

    /// Starts the Python workers, waits until every worker imported the model and found every route's
    /// function, then binds the socket. Any configuration problem throws here, with one clear message,
    /// never at the first request.
    public func start() throws(EndpointStartupError) {
        let config = configuration
        let router: Router
        do {
            router = try Router(routes: config.routes)
        } catch {
            throw EndpointStartupError(message: error.message)
        }
        let templates = config.routes.map { BodyTemplate($0.body) }
        var poolConfig = WorkerPoolConfiguration(modelDirectory: config.modelDirectory, routes: config.routes)
        poolConfig.workers = max(1, config.workers)
        poolConfig.threads = max(1, config.threads)
        poolConfig.maxQueue = max(0, config.maxQueue)
        poolConfig.callTimeout = config.callTimeout
        poolConfig.pythonPath = config.pythonPath
        poolConfig.delayMilliseconds = config.delayMilliseconds
        let pool = WorkerPool(configuration: poolConfig, log: log)
        try pool.start()

        let handler = EndpointHandler(
            router: router, routes: config.routes, templates: templates, pool: pool,
            injector: FaultInjector(failRate: config.failRate, seed: config.seed),
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
        if let conflict = Self.portConflict(host: config.host, port: config.port) {
            group.shutdown()
            pool.shutdown()
            throw EndpointStartupError(message: "cannot listen on \(config.host):\(config.port): \(conflict)")
        }
        do {
            server = try HTTPServer(
                group: group, host: config.host, port: config.port, limits: limits,
                idleTimeout: .nanoseconds(Int64(config.idleTimeout * 1e9)),
                headerTimeout: .nanoseconds(Int64(config.requestTimeout * 1e9)), handler: handler)
        } catch {
            group.shutdown()
            pool.shutdown()
            throw EndpointStartupError(message: "cannot listen on \(config.host):\(config.port): \(error)")
        }
        state.withLock { $0 = Running(pool: pool, group: group, server: server) }
    }

    /// Why `host:port` cannot be ours, if another socket listens there. NetIO binds its listeners with
    /// SO_REUSEPORT, which lets a second server (e.g. another `reference-endpoint --port 8080`) join a port that
    /// is already served, and the kernel would then split connections between the two. A plain bind (no
    /// SO_REUSEPORT) fails with EADDRINUSE while any socket listens on the port, so it is tried first.
    /// Port 0 and host names (not numeric addresses) are not probed.
    static func portConflict(host: String, port: Int) -> String? {
        guard port > 0, port <= 65_535 else { return nil }
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        } else {
            return nil
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc: Int32
        if family == AF_INET {
            rc = withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            rc = withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        if rc != 0 && errno == EADDRINUSE { return "address already in use" }
        return nil
    }

    /// The bound port (after `start()`); 0 before.
    public var port: Int { state.withLock { $0?.server.port ?? 0 } }

    /// `http://HOST:PORT` (after `start()`).
    public var url: String { "http://\(configuration.host):\(port)" }

    /// Python workers currently ready.
    public var aliveWorkers: Int { state.withLock { $0?.pool.aliveWorkers ?? 0 } }

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
