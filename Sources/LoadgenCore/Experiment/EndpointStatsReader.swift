import Foundation
import ResilientClient

/// Reads the embedded endpoint's `GET /stats` at the end of a variant. Calls the client abandoned at its
/// timeout may still be queued or running there, so it waits (polling, bounded by `settleTimeout`) until the
/// endpoint is idle: the count of work served after the client left is then final.
struct EndpointStatsReader {
    /// How long to wait for the endpoint to finish the calls it still holds.
    var settleTimeout: Duration = .seconds(30)
    /// Pause between polls.
    var pollInterval: Duration = .milliseconds(100)

    /// What reading the statistics gave.
    enum Reading: Sendable, Equatable {
        /// The endpoint's counts, once it was idle (or when `settleTimeout` ran out: `settled` false).
        case stats(EndpointStatsSnapshot, settled: Bool)
        /// The endpoint has no `/stats` (404), or it could not be read: why.
        case unavailable(String)
    }

    /// Polls `url`'s `/stats` until the endpoint is idle.
    func read(_ url: TargetURL) async -> Reading {
        let transport: LoopTransport
        do {
            transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 1))
        } catch {
            return .unavailable("cannot start the HTTP client: \(error)")
        }
        defer { transport.shutdown() }
        let shownHost = url.host.contains(":") ? "[\(url.host)]" : url.host
        guard let statsURL = URL(string: "\(url.scheme.rawValue)://\(shownHost):\(url.port)/stats") else {
            return .unavailable("cannot form the /stats URL of \(url)")
        }
        let clock = ContinuousClock()
        let deadline = clock.now + settleTimeout
        while true {
            let response: TransportResponse
            do {
                response = try await transport.send(
                    TransportRequest(method: "GET", url: statsURL), timeout: .seconds(5))
            } catch {
                return .unavailable("GET /stats failed: \(error)")
            }
            guard response.status == 200 else {
                return .unavailable("GET /stats answered \(response.status) (an endpoint without /stats?)")
            }
            let snapshot: EndpointStatsSnapshot
            do {
                snapshot = try EndpointStatsSnapshot(json: try LoadgenJSON.parse(response.body))
            } catch let error as EndpointStatsError {
                return .unavailable(error.message)
            } catch {
                return .unavailable("GET /stats: \(error)")
            }
            if snapshot.isIdle { return .stats(snapshot, settled: true) }
            if clock.now >= deadline { return .stats(snapshot, settled: false) }
            try? await Task.sleep(for: pollInterval)
        }
    }
}
