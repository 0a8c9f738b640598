import EndpointSpec
import Foundation
import Testing

@testable import ResilientClient

/// Per-call and per-route options with a scripted transport and an injected clock: what each attempt
/// carries, how often the call is tried, and when it gives up.
@Suite(.timeLimit(.minutes(1))) struct CallOptionsTests {
    /// The headers of a request as `name: value` lines, in order.
    static func lines(_ request: TransportRequest) -> [String] { request.headers.map { "\($0.name): \($0.value)" } }

    @Test func headersAreMergedCaseInsensitivelyWithTheLaterWinning() {
        let base: [(name: String, value: String)] = [("Accept", "application/json"), ("Authorization", "Bearer old")]
        let merged = CallOptions.merge([("authorization", "Bearer new"), ("X-Request-ID", "r-1")], over: base)
        #expect(merged.map { "\($0.name): \($0.value)" }
            == ["Accept: application/json", "authorization: Bearer new", "X-Request-ID: r-1"])
        #expect(CallOptions.merge([], over: base).map(\.name) == ["Accept", "Authorization"])
    }

    @Test func callOptionsApplyOverTheRoutesFieldByField() {
        let route = CallOptions(headers: [("A", "route"), ("B", "route")], deadline: .seconds(5), retry: RetryPolicy(maxAttempts: 2))
        let call = CallOptions(headers: [("b", "call")], retry: RetryPolicy(maxAttempts: 1))
        let applied = call.applied(over: route)
        #expect(applied.headers.map { "\($0.name): \($0.value)" } == ["A: route", "b: call"])
        #expect(applied.deadline == .seconds(5))
        #expect(applied.retry?.maxAttempts == 1)
        #expect(call.applied(over: nil).retry?.maxAttempts == 1)
        #expect(CallOptions.idempotencyKey("k-1").headers.map(\.value) == ["k-1"])
    }

    @Test func everyAttemptCarriesTheCallsHeadersOverTheConfigurations() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(503)], mainDefault: .respond(200, body: catReply))
        let client = makeClient(transport, clock: clock) { $0.headers = [("Accept", "application/json"), ("Authorization", "Bearer config")] }
        let options = CallOptions(headers: [("Authorization", "Bearer call"), ("X-Request-ID", "req-7")])
        let reply = try await client.call(predict, cat, options: options)
        #expect(reply == Prediction(label: "cat"))
        let requests = transport.requests
        #expect(requests.count == 2)
        for request in requests {
            #expect(Self.lines(request)
                == ["Accept: application/json", "Content-Type: application/json", "Authorization: Bearer call", "X-Request-ID: req-7"])
        }
        // The next call without options sends the configuration's headers only.
        _ = try await client.call(predict, cat)
        #expect(transport.requests.last.map(Self.lines)
            == ["Accept: application/json", "Authorization: Bearer config", "Content-Type: application/json"])
    }

    @Test func aRoutesOptionsApplyToEachOfItsCallsAndTheCallsOverThem() async throws {
        let transport = ScriptedTransport(mainDefault: .respond(200, body: catReply))
        let client = makeClient(transport, clock: TestClock())
        var route = predict
        route.options = CallOptions(headers: [("X-Tenant", "blue"), ("X-Request-ID", "route")])
        _ = try await client.call(route, cat)
        _ = try await client.call(route, cat, options: CallOptions(headers: [("x-request-id", "call")]))
        let sent = transport.requests.map(Self.lines)
        #expect(sent.count == 2)
        #expect(sent.first?.suffix(2) == ["X-Tenant: blue", "X-Request-ID: route"])
        #expect(sent.last?.suffix(2) == ["X-Tenant: blue", "x-request-id: call"])
    }

    @Test func aCallsRetryPolicyReplacesTheConfigurationsForThatCallOnly() async throws {
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: TestClock()) { $0.retry.maxAttempts = 4 }
        let (once, report) = await client.callReporting(predict, cat, options: CallOptions(retry: RetryPolicy(maxAttempts: 1)))
        guard case .failure(.overloaded(let attempts, let status)) = once else {
            Issue.record("expected overloaded after one attempt, got \(once)")
            return
        }
        #expect(attempts == 1 && status == 503)
        #expect(report.attempts.count == 1)
        #expect(transport.mainRequests == 1)
        // Without options the configuration's four attempts apply again.
        let (again, _) = await client.callReporting(predict, cat)
        guard case .failure(.overloaded(let all, _)) = again else {
            Issue.record("expected overloaded after four attempts, got \(again)")
            return
        }
        #expect(all == 4)
        #expect(transport.mainRequests == 5)
    }

    @Test func aCallsDeadlineBoundsItAndAnExplicitDeadlineArgumentWins() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) { $0.retry.maxAttempts = 50 }
        // Backoff 100, 200, 400 ms …: a deadline of 250 ms leaves room for two attempts, not a third.
        let (bounded, report) = await client.callReporting(predict, cat, options: CallOptions(deadline: .milliseconds(250)))
        guard case .failure(.deadlineExceeded(let attempts, _)) = bounded else {
            Issue.record("expected the deadline, got \(bounded)")
            return
        }
        #expect(attempts == 2)
        #expect(report.attempts.count == 2)
        // `deadline:` over the options': 50 ms leaves room for one attempt only.
        let (first, _) = await client.callReporting(
            predict, cat, deadline: .milliseconds(50), options: CallOptions(deadline: .seconds(10)))
        guard case .failure(.deadlineExceeded(let only, _)) = first else {
            Issue.record("expected the deadline, got \(first)")
            return
        }
        #expect(only == 1)
    }

    @Test func callJSONTakesOptionsToo() async throws {
        let transport = ScriptedTransport(mainDefault: .respond(200, body: catReply))
        let client = makeClient(transport, clock: TestClock())
        let spec = RouteSpec(verb: "POST", path: "/predict", file: "", function: "", body: [BodyParam(name: "filename", type: .str)])
        let body = JSONValue.object(JSONObject([.init(key: "filename", value: .string("cat.jpg"))]))
        _ = try await client.callJSON(spec, body, options: .idempotencyKey("key-1"))
        #expect(transport.requests.last.map(Self.lines)?.last == "Idempotency-Key: key-1")
    }
}
