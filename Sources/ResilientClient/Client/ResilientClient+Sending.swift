import EndpointSpec
import Foundation
import Synchronization

extension ResilientClient {
    // MARK: - Sending with a timer

    enum Raced<T: Sendable>: Sendable {
        case value(T)
        case timedOut
    }

    /// Runs `operation` against a timer that fires at `deadline` (on the injected clock). The loser is
    /// cancelled; a value that arrives after the timer won is handed to `late`.
    func race<T: Sendable>(
        until deadline: Duration?, _ operation: @escaping @Sendable () async -> T,
        late: @escaping @Sendable (T) -> Void = { _ in }
    ) async -> Raced<T> {
        guard let deadline else { return .value(await operation()) }
        let clock = self.clock
        return await withTaskGroup(of: Raced<T>?.self) { group in
            group.addTask { .value(await operation()) }
            group.addTask {
                do {
                    try await clock.sleep(until: deadline)
                    return .timedOut
                } catch {
                    return nil
                }
            }
            var winner: Raced<T>?
            while let next = await group.next() {
                guard let next else { continue }
                if winner == nil {
                    winner = next
                    group.cancelAll()
                } else if case .value(let value) = next {
                    late(value)
                }
            }
            return winner ?? .timedOut
        }
    }

    /// Sends `request` through the transport: awaited directly when it enforces the timeout itself
    /// (`sendsDirectly`), else raced against a timer that fires at `deadline` on the injected clock.
    func send(
        _ request: TransportRequest, timeout: Duration?, until deadline: Duration?
    ) async -> Result<TransportResponse, TransportError> {
        let transport = self.transport
        if sendsDirectly {
            do throws(TransportError) {
                return .success(try await transport.send(request, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
        let raced = await race(until: deadline) { () async -> Result<TransportResponse, TransportError> in
            do throws(TransportError) {
                return .success(try await transport.send(request, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
        switch raced {
        case .value(let result): return result
        case .timedOut:
            return .failure(TransportError(.responseTimeout, "no response within \(timeout ?? .zero)"))
        }
    }

    /// One `GET /ping`, bounded by the attempt timeout and `deadline`.
    func ping(until deadline: Duration?) async -> (AttemptOutcome, TransportError?) {
        guard let url = url(for: configuration.pingPath) else {
            return (.transport(.other), TransportError(.other, "bad ping URL"))
        }
        let now = readClock()
        var limit = configuration.attemptTimeout.map { now + $0 }
        if let deadline { limit = min(limit ?? deadline, deadline) }
        let request = TransportRequest(method: "GET", url: url, headers: configuration.headers)
        switch await send(request, timeout: limit.map { $0 - now }, until: limit) {
        case .success(let response): return (.status(response.status), nil)
        case .failure(let error): return (.transport(error.kind), error)
        }
    }
}
