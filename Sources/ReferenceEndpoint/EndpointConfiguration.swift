import EndpointSpec

/// Everything the reference endpoint needs to start; the `reference-endpoint` command line and
/// `loadgen serve` fill it from flags, tests and `loadgen` fill it directly.
public struct EndpointConfiguration: Sendable {
    /// Folder holding the model's Python files.
    public var modelDirectory: String
    /// The routes to serve, in declaration order.
    public var routes: [RouteSpec]
    /// Address to bind; loopback by default.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port (read it back from `ReferenceEndpointServer.port`).
    public var port: Int = 8080
    /// Python worker processes (default: one per core).
    public var workers: Int = ReferenceEndpointServer.defaultWorkerCount
    /// Calls each worker may run at once in its thread pool (for model code that releases the GIL).
    public var threads: Int = 1
    /// Calls allowed to wait for a worker; beyond that calls are answered 503 at once.
    public var maxQueue: Int = 256
    /// A call running longer than this (seconds) is answered 504 and its worker replaced.
    public var callTimeout: Double = 60
    /// The Python interpreter.
    public var pythonPath: String = "python3"
    /// Fault injection: fraction of route calls answered 503 before they run.
    public var failRate: Double = 0
    /// Fault injection: milliseconds each call sleeps in the worker before running.
    public var delayMilliseconds: Double = 0
    /// Seed for `failRate`'s draws.
    public var seed: UInt64 = 0x5EED
    /// Value of the `Retry-After` header (seconds) on 503 answers.
    public var retryAfterSeconds: Int = 1
    /// Event-loop threads serving HTTP (default: one per core).
    public var eventLoopThreads: Int = ReferenceEndpointServer.defaultWorkerCount
    /// Whether each request is logged (method, path, status, duration).
    public var accessLog: Bool = true
    /// Largest request body accepted, in bytes (413 beyond).
    public var maxBodyBytes: Int = 8 << 20
    /// Seconds a client may take to send a complete request before it gets 408.
    public var requestTimeout: Double = 30
    /// Seconds an idle keep-alive connection stays open.
    public var idleTimeout: Double = 75

    /// Creates a configuration with defaults for everything but the model folder and routes.
    public init(modelDirectory: String, routes: [RouteSpec]) {
        self.modelDirectory = modelDirectory
        self.routes = routes
    }
}
