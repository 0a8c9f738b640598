import Synchronization

/// Counters of what the endpoint answered, safe to read from any thread while it serves. `GET /stats` serves
/// `served`, `rejected`, `abandonedBeforeRunning` and `servedAfterClientLeft` with the pool's queue and
/// in-flight counts.
public final class EndpointStats: Sendable {
    private let requestsCounter = Atomic<Int>(0)
    private let injectedCounter = Atomic<Int>(0)
    private let shedCounter = Atomic<Int>(0)
    private let okCounter = Atomic<Int>(0)
    private let clientErrorCounter = Atomic<Int>(0)
    private let serverErrorCounter = Atomic<Int>(0)
    private let servedCounter = Atomic<Int>(0)
    private let rejectedCounter = Atomic<Int>(0)
    private let abandonedCounter = Atomic<Int>(0)
    private let servedAfterLeftCounter = Atomic<Int>(0)

    init() {}

    /// Requests answered (every status, including health checks).
    public var requests: Int { requestsCounter.load(ordering: .relaxed) }
    /// Route calls answered 503 by `--fail-rate` fault injection.
    public var injectedFailures: Int { injectedCounter.load(ordering: .relaxed) }
    /// Route calls answered 503 because `--max-queue` calls were already waiting for a worker.
    public var shed: Int { shedCounter.load(ordering: .relaxed) }
    /// Responses with a 2xx status.
    public var ok: Int { okCounter.load(ordering: .relaxed) }
    /// Responses with a 4xx status.
    public var clientErrors: Int { clientErrorCounter.load(ordering: .relaxed) }
    /// Responses with a 5xx status (including injected and shed 503s).
    public var serverErrors: Int { serverErrorCounter.load(ordering: .relaxed) }
    /// Route calls the model answered: its function returned or raised (200 or 500).
    public var served: Int { servedCounter.load(ordering: .relaxed) }
    /// Route calls answered 503 without running: overload (`--max-queue`, no worker ready), `--fail-rate`,
    /// `--outage`, a graceful drain, or a worker killed by `--timeout` before it started them.
    public var rejected: Int { rejectedCounter.load(ordering: .relaxed) }
    /// Route calls dropped while they waited for a worker because their client had gone or their
    /// `X-Deadline-Ms` had passed (`--drop-abandoned`); they never reached Python.
    public var abandonedBeforeRunning: Int { abandonedCounter.load(ordering: .relaxed) }
    /// Of `served`, the calls whose client had already gone when the answer was ready: wasted work.
    public var servedAfterClientLeft: Int { servedAfterLeftCounter.load(ordering: .relaxed) }

    func recordInjected() {
        injectedCounter.add(1, ordering: .relaxed)
        recordRejected()
    }
    func recordShed() {
        shedCounter.add(1, ordering: .relaxed)
        recordRejected()
    }
    func recordRejected() { rejectedCounter.add(1, ordering: .relaxed) }
    func recordAbandoned() { abandonedCounter.add(1, ordering: .relaxed) }
    func recordServed(clientGone: Bool) {
        servedCounter.add(1, ordering: .relaxed)
        if clientGone { servedAfterLeftCounter.add(1, ordering: .relaxed) }
    }
    func record(status: Int) {
        requestsCounter.add(1, ordering: .relaxed)
        switch status {
        case 200..<300: okCounter.add(1, ordering: .relaxed)
        case 400..<500: clientErrorCounter.add(1, ordering: .relaxed)
        case 500..<600: serverErrorCounter.add(1, ordering: .relaxed)
        default: break
        }
    }
}
