import EndpointSpec
import NetIO

/// How a `WorkerPool` runs the model's Python code.
public struct WorkerPoolConfiguration: Sendable {
    /// Folder holding the model's Python files; it becomes the workers' working directory and the first
    /// entry of `sys.path`.
    public var modelDirectory: String
    /// The routes; `submit(route:)` takes an index into this array.
    public var routes: [RouteSpec]
    /// Python worker processes (default: one per core this process may run on).
    public var workers: Int = WorkerPoolConfiguration.defaultWorkerCount
    /// Calls each worker runs at once in a thread pool; 1 runs calls inline, one after the other (fastest for
    /// code that holds the GIL).
    public var threads: Int = 1
    /// Calls allowed to wait for a free worker; `submit` returns `false` beyond that.
    public var maxQueue: Int = 256
    /// Seconds a call may stay in flight before its worker is killed and the call answered `.timedOut`.
    public var callTimeout: Double = 60
    /// The Python interpreter: a path, or a name looked up in `PATH`.
    public var pythonPath: String = "python3"
    /// Fault injection: milliseconds the worker sleeps (releasing the GIL) before each call.
    public var delayMilliseconds: Double = 0
    /// Seconds `start()` waits for every worker to import the model before it gives up.
    public var startTimeout: Double = 120
    /// Seconds `shutdown()` gives workers to exit after SIGTERM before it sends SIGKILL.
    public var shutdownGrace: Double = 2
    /// When set, each worker's address space is limited to this many bytes (RLIMIT_AS, set before the model is
    /// imported): an allocation past it raises `MemoryError` in Python (the call answers 500), and a worker the
    /// limit kills is respawned like any crashed worker. nil: no limit.
    public var memoryLimitBytes: Int? = nil
    /// When set, a worker is replaced after it has been sent this many calls (like gunicorn's
    /// `max_requests`): its replacement starts while it goes on serving, and once the replacement is ready it
    /// takes no more calls, finishes those it has and is stopped. No call is lost, and the pool is never a
    /// worker short for a recycle. nil: never.
    public var maxCallsPerWorker: Int? = nil
    /// When set, a worker whose resident memory exceeds this many bytes (checked twice a second) is replaced
    /// the same way, for models that leak. nil: never.
    public var maxResidentBytes: Int? = nil

    /// Whether workers are recycled (`maxCallsPerWorker` or `maxResidentBytes` is set).
    var recyclesWorkers: Bool { maxCallsPerWorker != nil || maxResidentBytes != nil }

    /// The pool's worker slots: `workers`, and one more where a recycled worker's replacement starts while the
    /// worker still serves, when workers are recycled (otherwise the dispatcher has no empty slot to skip for
    /// every call).
    var workerSlots: Int { max(1, workers) + (recyclesWorkers ? 1 : 0) }

    /// Creates a configuration with defaults for everything but the model folder and the routes.
    public init(modelDirectory: String, routes: [RouteSpec]) {
        self.modelDirectory = modelDirectory
        self.routes = routes
    }

    /// One worker per core this process may run on.
    public static var defaultWorkerCount: Int { EventLoopGroup.coreCount }
}

/// How one call ended. Every call `WorkerPool.submit` accepted ends exactly once.
public enum WorkerResult: Sendable, Equatable {
    /// The function returned; the JSON encoding of its result (compact, UTF-8, as Python's
    /// `json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`).
    case success([UInt8])
    /// The function raised (or its result could not be encoded): exception type name and message.
    case exception(type: String, message: String)
    /// The worker process died while the call was in flight (or the pool shut down).
    case crashed
    /// The call stayed in flight longer than `callTimeout`; its worker was killed and replaced.
    case timedOut
    /// The call never ran, and may be retried elsewhere, even when it is not idempotent: it was still waiting
    /// for a worker when the pool began to drain (`WorkerPool.drain`), or it was queued at a worker that was
    /// killed (`callTimeout`) before it started it.
    case rejected
    /// The call was dropped while it waited for a worker, because its `abandoned` check said its submitter no
    /// longer wants it (the client left, or its deadline passed). It never ran.
    case abandoned
}

/// Why the endpoint could not start: one clear sentence, e.g.
/// `route POST /predict: function 'predict_image' not found in predict.py`.
public struct EndpointStartupError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The message shown to the user.
    public var message: String
    /// Creates an error with a message.
    public init(message: String) { self.message = message }
    /// Same as `message`.
    public var description: String { message }
}
