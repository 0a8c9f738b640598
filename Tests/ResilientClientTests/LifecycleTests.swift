import Foundation
import Synchronization
import Testing

@testable import ResilientClient

/// What happens around a client's life: after `shutdown()`, when it is dropped, while calls wait at the gate.
/// Every wait here is bounded (`bounded`), so a regression shows as a failed expectation, not a hung run.
@Suite struct LifecycleTests {
    struct Empty: Codable, Sendable {}

    static let spec = RouteSpec(path: "/predict", file: "", function: "", body: [])

    /// Runs `operation`, or returns `nil` when it has not finished after 20 s (a hang, not a measurement).
    /// The operation runs in a task of its own that is left behind if it hangs: a task group would wait for it.
    static func bounded<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T? {
        let waiter = Mutex<CheckedContinuation<T?, Never>?>(nil)
        let finish: @Sendable (T?) -> Void = { value in waiter.withLock { $0.take() }?.resume(returning: value) }
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            waiter.withLock { $0 = continuation }
            let timer = Task {
                try? await Task.sleep(for: .seconds(20))
                finish(nil)
            }
            Task {
                finish(await operation())
                timer.cancel()
            }
        }
    }

    @Test func aCallAfterShutdownFailsAtOnceWithoutSending() async {
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: TestClock())
        client.shutdown()
        let outcome = await Self.bounded { () -> String in
            do {
                _ = try await client.callJSON(Self.spec, .object(JSONObject([])))
                return "succeeded"
            } catch {
                return "\(error)"
            }
        }
        #expect(outcome == "client shut down: no new calls or attempts are sent")
        #expect(transport.requests.isEmpty)
    }

    @Test func aSendOnAShutDownLoopTransportFailsAtOnce() async throws {
        let transport = try LoopTransport()
        transport.shutdown()
        let request = TransportRequest(method: "GET", url: try #require(URL(string: "http://127.0.0.1:9/x")))
        let outcome = await Self.bounded { () -> String in
            do throws(TransportError) {
                _ = try await transport.send(request, timeout: .seconds(1))
                return "answered"
            } catch {
                return "\(error.kind)"
            }
        }
        #expect(outcome == "shutdown")
    }

    @Test func aCallWaitingAtTheGateWithoutDeadlineEndsAtShutdown() async {
        // The gate blocks after one 503 and /ping never answers 200: the retry waits at the gate, with no
        // deadline to end the wait.
        let clock = TestClock(autoAdvance: false)
        let transport = ScriptedTransport([.respond(503)], pingDefault: .respond(503), clock: clock)
        let client = makeClient(transport, clock: clock) { configuration in
            configuration.deadline = nil
            configuration.retry.backoff = Backoff(base: .zero, multiplier: 1, cap: .zero, jitter: .none)
            configuration.gate = HealthGate.Configuration(failureThreshold: 1)
        }
        let call = Task { () -> String in
            do {
                _ = try await client.callJSON(Self.spec, .object(JSONObject([])))
                return "succeeded"
            } catch {
                return "\(error)"
            }
        }
        // The prober's first sleep is pending once the gate has closed.
        await clock.waitForPendingTimers(1)
        client.shutdown()
        let outcome = await Self.bounded { await call.value }
        call.cancel()
        #expect(outcome == "client shut down: no new calls or attempts are sent")
        #expect(transport.mainRequests == 1)
    }

    @Test func theProberDoesNotKeepADroppedClientAlive() async {
        let clock = TestClock(autoAdvance: false)
        let transport = ScriptedTransport(mainDefault: .respond(503), pingDefault: .respond(503), clock: clock)
        weak var dropped: ResilientClient?
        do {
            let client = makeClient(transport, clock: clock) { configuration in
                configuration.gateWaitMode = .failFast
                configuration.retry = .noRetries
                configuration.gate = HealthGate.Configuration(failureThreshold: 1)
            }
            dropped = client
            _ = try? await client.callJSON(Self.spec, .object(JSONObject([])))
            #expect(client.gateState == .blocked)
            // The prober sleeps before its first probe.
            await clock.waitForPendingTimers(1)
        }
        #expect(dropped == nil)
        // deinit cancelled the prober: its sleep is gone and no probe is sent however far time moves.
        clock.advance(by: .seconds(60))
        #expect(transport.pingRequests == 0)
    }

    @Test func aTypedGETSendsNoBody() async throws {
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: TestClock())
        let route = Route<Empty, Empty>(verb: "GET", path: "/status", body: [])
        _ = try await client.call(route, Empty())
        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        #expect(request.body.isEmpty)
        #expect(!request.headers.contains { $0.name.lowercased() == "content-type" })
    }
}
