import EndpointSpec
import Foundation
import Glibc
import HTTP1
import NetIO
import Synchronization
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Crashes, hangs, overload and fault injection over real sockets.
@Suite("Endpoint end to end: resilience", .dedicatedThreads)
struct EndpointResilienceTests {
    @Test("a worker crash answers exactly one 500; the next call on the same connection succeeds")
    func crash() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let client = try endpoint.connect()
        // Pipelined: a second answer to the crashed call would be read in place of the /add answer.
        try client.send(
            client.request("POST", "/crash", json: #"{"code":7}"#) + client.request("POST", "/add", json: #"{"a":1}"#))
        let crashed = try client.readResponse()
        #expect(crashed.status == 500)
        #expect(crashed.text.contains("worker crashed"))
        let next = try client.readResponse()
        #expect(next.status == 200)
        #expect(next.text == #"{"sum":2.5}"#)
        // Sent once the replacement has answered /add: a /ping pipelined behind the crash could arrive while no
        // worker is ready and rightly get 503.
        try client.send(client.request("GET", "/ping"))
        #expect(try client.readResponse(method: "GET").status == 200)
        #expect(endpoint.stats.serverErrors == 1)
        #expect(endpoint.stats.requests == 3)
        #expect(endpoint.logFile.waitFor("worker crashed during the call"))
        // Later calls keep working on the replacement worker.
        #expect(try endpoint.send("POST", "/add", json: #"{"a":2}"#).text == #"{"sum":3.5}"#)
    }

    @Test("a call running past callTimeout answers 504; the endpoint keeps serving")
    func hang() throws {
        let endpoint = try RunningEndpoint(
            E2E.configuration("calculator", Repository.calculatorRoutes) { $0.callTimeout = 1 })
        let client = try endpoint.connect()
        try client.send(
            client.request("POST", "/sleep", json: #"{"seconds":60}"#) + client.request("POST", "/add", json: #"{"a":5}"#))
        let timedOut = try client.readResponse()
        #expect(timedOut.status == 504)
        #expect(timedOut.text == #"{"detail":"Gateway Timeout: the model call ran longer than 1.0s"}"#)
        #expect(timedOut.header("content-type") == "application/json")
        let after = try client.readResponse()
        #expect(after.status == 200)
        #expect(after.text == #"{"sum":6.5}"#)
        #expect(try endpoint.send("GET", "/ping").status == 200)
        #expect(endpoint.stats.serverErrors == 1)
    }

    @Test("overload: beyond maxQueue calls get 503 + Retry-After at once, the others 200; one answer each")
    func overload() async throws {
        let endpoint = try RunningEndpoint(
            E2E.configuration("trivial", E2E.trivialRoutes) {
                $0.maxQueue = 2
                $0.delayMilliseconds = 300
                $0.retryAfterSeconds = 7
            })
        let clients = try EventLoopGroup(threads: 1, name: "e2e-clients")
        defer { clients.shutdown() }
        let total = 24
        let port = endpoint.port
        var connections: [HTTPClientConnection] = []
        for _ in 0..<total {
            connections.append(try await HTTPClientConnection.connect(host: "127.0.0.1", port: port, on: clients.loops[0]))
        }
        // (index, status, retry-after, body) in arrival order.
        let arrivals = E2ERecorder<(Int, Int, String?, String)>()
        let failures = E2ERecorder<String>()
        await withTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    do {
                        let response = try await connection.send(
                            method: "POST", target: "/predict", headers: [("Content-Type", "application/json")],
                            body: Array(#"{"x":\#(index)}"#.utf8), deadline: EventLoop.now() + 60_000_000_000)
                        arrivals.append((index, response.head.status, response.head.headers["retry-after"], response.text))
                    } catch {
                        failures.append("request \(index): \(error)")
                    }
                }
            }
        }
        for connection in connections { connection.closeFromAnyThread() }
        let answered = arrivals.values
        #expect(failures.values.isEmpty, "\(failures.values)")
        // Every request got exactly one response.
        #expect(answered.count == total)
        #expect(Set(answered.map(\.0)).count == total)
        let rejected = answered.filter { $0.1 == 503 }
        let accepted = answered.filter { $0.1 == 200 }
        #expect(rejected.count + accepted.count == total, "statuses: \(answered.map(\.1))")
        #expect(rejected.count >= 1)
        // One running + maxQueue waiting were admitted before anything could be rejected.
        #expect(accepted.count >= 3)
        for (index, _, retryAfter, body) in rejected {
            #expect(retryAfter == "7")
            #expect(body == #"{"detail":"Service Unavailable"}"#, "request \(index)")
        }
        for (index, _, _, body) in accepted { #expect(body == #"{"y":\#(index)}"#) }
        // "At once": every 503 arrived before the last admitted call finished (they did not wait their turn).
        if let last200 = answered.lastIndex(where: { $0.1 == 200 }) {
            #expect(answered.indices.filter { answered[$0].1 == 503 }.allSatisfy { $0 < last200 })
        }
        #expect(endpoint.stats.shed == rejected.count)
        #expect(endpoint.stats.requests == total)
        #expect(endpoint.stats.injectedFailures == 0)
    }

    @Test("failRate 0.3: the 503 fraction is near 0.3 and equals stats.injectedFailures (seeded, reproducible)")
    func faultInjection() throws {
        let seed: UInt64 = 1234
        let endpoint = try RunningEndpoint(
            E2E.configuration("trivial", E2E.trivialRoutes) {
                $0.failRate = 0.3
                $0.seed = seed
                $0.maxQueue = 1_000  // all 300 calls are pipelined at once: none may be shed
            })
        let total = 300
        let client = try endpoint.connect()
        var requests: [UInt8] = []
        for index in 0..<total { requests += client.request("POST", "/predict", json: #"{"x":\#(index)}"#) }
        // Health checks are never failed.
        requests += client.request("GET", "/ping")
        try client.send(requests)
        var injected = 0
        for index in 0..<total {
            let response = try client.readResponse()
            switch response.status {
            case 503:
                injected += 1
                #expect(response.header("retry-after") == "1")
                #expect(response.text == #"{"detail":"Service Unavailable"}"#)
            case 200:
                #expect(response.text == #"{"y":\#(index)}"#)
            default:
                Issue.record("request \(index): unexpected \(response.status) \(response.text)")
            }
        }
        #expect(try client.readResponse(method: "GET").status == 200)
        #expect(injected == endpoint.stats.injectedFailures)
        let fraction = Double(injected) / Double(total)
        #expect(abs(fraction - 0.3) < 0.08, "fraction \(fraction)")
        // The same seed draws the same sequence.
        let replay = FaultInjector(failRate: 0.3, seed: seed)
        #expect((0..<total).filter { _ in replay.shouldFail() }.count == injected)
        #expect(endpoint.stats.shed == 0)
    }

    @Test("failRate 1 fails every route call but never /ping; failRate 0 never fails")
    func faultInjectionExtremes() throws {
        let always = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.failRate = 1 })
        for _ in 0..<5 { #expect(try always.send("POST", "/predict", json: #"{"x":1}"#).status == 503) }
        #expect(try always.send("GET", "/ping").status == 200)
        #expect(always.stats.injectedFailures == 5)
        always.stop()
        let never = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        for _ in 0..<5 { #expect(try never.send("POST", "/predict", json: #"{"x":1}"#).status == 200) }
        #expect(never.stats.injectedFailures == 0)
    }

    @Test("after shutdown the port refuses connections")
    func shutdownStopsServing() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let port = endpoint.port
        #expect(try endpoint.send("GET", "/ping").status == 200)
        endpoint.stop()
        endpoint.stop()  // idempotent
        #expect(throws: WireError.self) { _ = try WireClient(port: port) }
        #expect(endpoint.server.port == 0)
    }
}
