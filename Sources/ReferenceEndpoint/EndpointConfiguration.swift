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
    /// Seconds from the first byte of a request head to its end; slower clients (slowloris) get 408 and a close.
    public var headerTimeout: Double = 30
    /// Seconds from the end of a request head to the end of its body; slower uploads get 408 and a close.
    public var bodyTimeout: Double = 30
    /// Seconds answers may wait unread with the client taking nothing before the connection is closed.
    public var sendTimeout: Double = 30
    /// Seconds an idle keep-alive connection stays open.
    public var idleTimeout: Double = 75
    /// Connections open at once; past it a new connection gets 503 with `Retry-After` and a close. Nil: the
    /// open-file limit less a reserve (`HTTPServer.defaultMaxConnections()`).
    public var maxConnections: Int? = nil
    /// When set, every route needs `Authorization: Bearer <token>` (401 with `WWW-Authenticate: Bearer`
    /// otherwise); `/ping` stays open. Compared in constant time.
    public var authToken: String? = nil
    /// Seconds calls in flight may take to finish after SIGTERM or SIGINT (`ReferenceEndpointServer.drain`).
    public var drainTimeout: Double = 30
    /// Drop calls waiting for a worker whose client has gone or whose `X-Deadline-Ms` has passed, before they
    /// reach Python (`--drop-abandoned`); they count in `EndpointStats.abandonedBeforeRunning`.
    public var dropAbandoned: Bool = false
    /// When set, `/ping` answers 503 with `Retry-After` while more than this many calls wait for a worker
    /// (`--ping-overload-queue`), so that health checks and clients' gates see overload.
    public var pingOverloadQueue: Int? = nil
    /// Testing: a window during which every route call and `/ping` get 503 (`--outage START:DURATION`).
    public var outage: OutageWindow? = nil
    /// The `Retry-After` value (seconds) of the 503s answered during `outage`.
    public var outageRetryAfterSeconds: Int = 2

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
