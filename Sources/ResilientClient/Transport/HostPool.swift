// `LoopTransport`'s connection pools run on NetIO's epoll event loops: Linux only (see Package.swift).
#if os(Linux) && !RESILIENT_CLIENT_NO_LOOP
import HTTP1
import NetIO

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
    /// Requests waiting for a connection, with the timers that bound their waits.
    private var waiting = WaitQueue<Job, TimerID>()
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

    private var waitingCount: Int { waiting.count }

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
        // The attempt's timeout also bounds the wait for a connection (and the connect itself).
        let timer = job.deadline.map { deadline in
            let id = job.id
            let now = EventLoop.now()
            return loop.schedule(after: deadline > now ? deadline - now : 0) { [self] in expireWaiting(id) }
        }
        waiting.append(job, id: job.id, timer: timer)
        pump()
    }

    /// Fails job `id` with a connect timeout if it is still waiting for a connection (it was never sent,
    /// so the failure is always safe to retry).
    private func expireWaiting(_ id: UInt64) {
        guard let (job, _) = waiting.remove(id) else { return }
        job.continuation.resume(returning: .failure(TransportError(
            .connectTimeout, "no connection to \(host):\(port) became free before the attempt timeout")))
    }

    func cancel(_ id: UInt64) {
        if let (job, timer) = waiting.remove(id) {
            if let timer { loop.cancel(timer) }
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

    /// The oldest waiting request; the timer of its wait is cancelled.
    private func popWaiting() -> Job? {
        guard let (job, timer) = waiting.popFirst() else { return nil }
        if let timer { loop.cancel(timer) }
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
#endif
