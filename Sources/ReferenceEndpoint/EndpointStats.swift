import Synchronization

/// Counters of what the endpoint answered, safe to read from any thread while it serves.
public final class EndpointStats: Sendable {
    private let requestsCounter = Atomic<Int>(0)
    private let injectedCounter = Atomic<Int>(0)
    private let shedCounter = Atomic<Int>(0)
    private let okCounter = Atomic<Int>(0)
    private let clientErrorCounter = Atomic<Int>(0)
    private let serverErrorCounter = Atomic<Int>(0)

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

    func recordInjected() { injectedCounter.add(1, ordering: .relaxed) }
    func recordShed() { shedCounter.add(1, ordering: .relaxed) }
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
