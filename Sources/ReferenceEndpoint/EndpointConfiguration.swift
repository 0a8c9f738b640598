import EndpointSpec

/// Everything the reference endpoint needs to start; the `reference-endpoint` command line and
/// `loadgen serve` fill it from flags, tests and `loadgen` fill it directly.
///
/// How the Python code runs is a `WorkerPoolConfiguration`, held in `pool`; its settings read and write
/// directly on the endpoint's configuration (`config.workers = 4`, `config.callTimeout = 10`, …), with the
/// pool's defaults. Seen over HTTP: a call refused because `maxQueue` calls already wait is answered 503, and a
/// call running longer than `callTimeout` seconds is answered 504 (and its worker replaced).
@dynamicMemberLookup
public struct EndpointConfiguration: Sendable {
    /// The model folder, the routes and the Python worker settings.
    public var pool: WorkerPoolConfiguration
    /// Address to bind; loopback by default.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks a free port (read it back from `ReferenceEndpointServer.port`).
    public var port: Int = 8080
    /// Fault injection: fraction of route calls answered 503 before they run.
    public var failRate: Double = 0
    /// Seed for `failRate`'s and `slowRate`'s draws.
    public var seed: UInt64 = 0x5EED
    /// A heavy tail for testing callers: the fraction of route calls that take `slowDelayMilliseconds` in all
    /// instead of the pool's `delayMilliseconds`.
    public var slowRate: Double = 0
    /// How long a slow call takes (its extra wait, beyond `delayMilliseconds`, is spent before it reaches a
    /// worker).
    public var slowDelayMilliseconds: Double = 0
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
    /// Seconds calls in flight may take to finish after SIGTERM or SIGINT (`ReferenceEndpointServer.drain`).
    public var drainTimeout: Double = 30

    /// Creates a configuration with defaults for everything but the model folder and routes.
    public init(modelDirectory: String, routes: [RouteSpec]) {
        pool = WorkerPoolConfiguration(modelDirectory: modelDirectory, routes: routes)
    }

    /// A worker setting of `pool`, e.g. `modelDirectory`, `routes`, `workers`, `threads`, `maxQueue`,
    /// `callTimeout`, `pythonPath` or `delayMilliseconds`.
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<WorkerPoolConfiguration, Value>) -> Value {
        get { pool[keyPath: keyPath] }
        set { pool[keyPath: keyPath] = newValue }
    }
}
