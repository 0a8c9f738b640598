import EndpointSpec
import Foundation
import Synchronization
import HTTP1
import Testing

@testable import ResilientClient

struct PredictBody: Encodable, Sendable {
    var filename: String
}

struct Prediction: Decodable, Sendable, Equatable {
    var label: String
}

let predict = Route<PredictBody, Prediction>(path: "/predict", body: [BodyParam(name: "filename", type: .str)])
let sideEffect = Route<PredictBody, Prediction>(
    path: "/record", body: [BodyParam(name: "filename", type: .str)], idempotent: false)
let cat = PredictBody(filename: "cat.jpg")
let catReply = #"{"label":"cat"}"#

@Suite(.timeLimit(.minutes(1))) struct ClientRetryTests {
    @Test func transient503IsInvisible() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(503), .respond(503), .respond(200, body: catReply)])
        let client = makeClient(transport, clock: clock)
        let (result, report) = await client.callReporting(predict, cat)
        #expect(try result.get() == Prediction(label: "cat"))
        #expect(report.attempts.map(\.outcome) == [.status(503), .status(503), .status(200)])
        #expect(report.attempts.map(\.delayAfter) == [.milliseconds(100), .milliseconds(200), nil])
        #expect(report.attempts[0].delayReason?.cause == .status(503))
        #expect(report.succeeded)
        #expect(clock.slept == [.milliseconds(100), .milliseconds(200)])
        #expect(report.duration == .milliseconds(300))
        let counters = client.counters
        #expect(counters.calls == 1 && counters.succeeded == 1 && counters.attempts == 3 && counters.retries == 2)
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == "http://127.0.0.1:9/predict")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"filename":"cat.jpg"}"#)
        #expect(request.headers.contains { $0.name == "Content-Type" && $0.value == "application/json" })
    }

    @Test func retryAfterIsHonouredAsSentUpToTheDeadline() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([
            .respond(503, headers: [("Retry-After", "2")]),
            .respond(503, headers: [("retry-after", "20")]),
            .respond(200, body: catReply),
        ])
        let client = makeClient(transport, clock: clock)
        _ = try await client.call(predict, cat)
        // 20 s is beyond the 5 s backoff cap but within the 30 s deadline: slept as sent.
        #expect(clock.slept == [.seconds(2), .seconds(20)])
    }

    @Test func retryAfterBeyondTheDeadlineFailsAtOnceNamingTheWait() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([
            .respond(503, headers: [("retry-after", "3600")]),
            .respond(200, body: catReply),
        ])
        let client = makeClient(transport, clock: clock)
        do {
            _ = try await client.call(predict, cat)
            Issue.record("expected a failure")
        } catch {
            guard case .retryAfterBeyondDeadline(let wait, let attempts, let last) = error else {
                Issue.record("expected retryAfterBeyondDeadline, got \(error)")
                return
            }
            #expect(wait == .seconds(3600) && attempts == 1 && last == .status(503))
            #expect(error.description.contains("3600"))
        }
        #expect(clock.slept.isEmpty)
        #expect(transport.requests.count == 1)
    }

    @Test func retryAfterHTTPDateUsesTheWallClock() async throws {
        let clock = TestClock()
        let date = "Tue, 14 Nov 2023 22:13:23 GMT"  // wall origin 1_700_000_000 + 3 s
        #expect(HTTPDate.parse(date) == 1_700_000_003)
        let transport = ScriptedTransport([.respond(503, headers: [("Retry-After", date)]), .respond(200, body: catReply)])
        let client = makeClient(transport, clock: clock)
        _ = try await client.call(predict, cat)
        #expect(clock.slept == [.seconds(3)])
    }

    @Test func overloadedAfterMaxAttempts() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) { $0.retry.maxAttempts = 3; $0.gate.enabled = false }
        await #expect {
            try await client.call(predict, cat)
        } throws: { error in
            guard case ResilientClientError.overloaded(3, 503) = error else { return false }
            return true
        }
        #expect(transport.mainRequests == 3)
        #expect(client.counters.failed == 1)
    }

    @Test func finalStatusIsNotRetried() async {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(500, body: "boom")])
        let client = makeClient(transport, clock: clock)
        let (result, report) = await client.callReporting(predict, cat)
        guard case .failure(.httpStatus(500, let body, 1)) = result else {
            Issue.record("expected httpStatus, got \(result)")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == "boom")
        #expect(transport.mainRequests == 1)
        #expect(report.error != nil)
    }

    @Test func server422BecomesAValidationProblem() async {
        let clock = TestClock()
        let detail = #"{"detail":[{"type":"missing","loc":["body","filename"],"msg":"Field required","input":{}}]}"#
        let transport = ScriptedTransport([.respond(422, body: detail)])
        let client = makeClient(transport, clock: clock)
        let (result, _) = await client.callReporting(predict, cat)
        guard case .failure(.validation(let problem)) = result else {
            Issue.record("expected validation, got \(result)")
            return
        }
        #expect(problem.locations == [["body", "filename"]])
        #expect(problem.messages == ["Field required"])
        #expect(problem.description == "body.filename: Field required")
        // A 422 whose body is not FastAPI-shaped stays an HTTP status.
        let plain = ScriptedTransport([.respond(422, body: "nope")])
        let (other, _) = await makeClient(plain, clock: clock).callReporting(predict, cat)
        guard case .failure(.httpStatus(422, _, 1)) = other else {
            Issue.record("expected httpStatus, got \(other)")
            return
        }
    }

    @Test func idempotenceDecidesAmbiguousFailures() async throws {
        for step: ScriptedTransport.Step in [.respond(502), .respond(504), .fail(.connectionClosed(requestSent: true))] {
            let clock = TestClock()
            let idempotent = ScriptedTransport([step, .respond(200, body: catReply)])
            #expect(try await makeClient(idempotent, clock: clock).call(predict, cat) == Prediction(label: "cat"))
            #expect(idempotent.mainRequests == 2)
            let once = ScriptedTransport([step, .respond(200, body: catReply)])
            let (result, _) = await makeClient(once, clock: clock).callReporting(sideEffect, cat)
            #expect(once.mainRequests == 1)
            switch result {
            case .failure(.httpStatus(let status, _, 1)): #expect(status == 502 || status == 504)
            case .failure(.transport(let error, 1)): #expect(error.kind == .connectionClosed(requestSent: true))
            default: Issue.record("unexpected \(result)")
            }
        }
    }

    @Test func refusedConnectionsAreAlwaysRetried() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([
            .fail(.connectionRefused), .fail(.connectTimeout), .fail(.connectionClosed(requestSent: false)),
            .respond(200, body: catReply),
        ])
        let client = makeClient(transport, clock: clock) { $0.gate.enabled = false }
        #expect(try await client.call(sideEffect, cat) == Prediction(label: "cat"))
        #expect(transport.mainRequests == 4)
    }

    @Test func exhaustedTransportRetriesReportTheTransportError() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .fail(.connectionRefused))
        let client = makeClient(transport, clock: clock) { $0.retry.maxAttempts = 2; $0.gate.enabled = false }
        let (result, _) = await client.callReporting(predict, cat)
        guard case .failure(.transport(let error, 2)) = result else {
            Issue.record("expected transport, got \(result)")
            return
        }
        #expect(error.kind == .connectionRefused)
    }

    @Test func emptyBudgetFailsFast() async {
        let clock = TestClock()
        let log = EventLog()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) {
            $0.budget = .init(minRetriesPerSecond: 0, retryRatio: 0)
            $0.onEvent = { log.append($0) }
        }
        #expect(client.availableRetries == 0)
        let (result, _) = await client.callReporting(predict, cat)
        guard case .failure(.budgetExhausted(1, .status(503))) = result else {
            Issue.record("expected budgetExhausted, got \(result)")
            return
        }
        #expect(transport.mainRequests == 1)
        #expect(client.counters.budgetRefusals == 1)
        #expect(log.all.contains { if case .budgetRefused(path: "/predict", attempts: 1) = $0 { return true } else { return false } })
        #expect(clock.slept.isEmpty)
    }

    @Test func budgetBoundsRetriesAcrossCalls() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) {
            $0.budget = .init(window: .seconds(1000), minRetriesPerSecond: 0, retryRatio: 0.5)
            $0.gate.enabled = false
        }
        for _ in 0..<20 { _ = await client.callReporting(predict, cat) }
        // 20 calls earn at most 10 retries: at most 30 attempts rather than 100.
        #expect(transport.mainRequests <= 30)
        #expect(client.counters.retries <= 10)
        #expect(client.counters.budgetRefusals >= 10)
    }

    @Test func decodingFailureIsReported() async {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(200, body: #"{"score":1}"#)])
        let client = makeClient(transport, clock: clock)
        let (result, report) = await client.callReporting(predict, cat)
        guard case .failure(.decoding(_, let body)) = result else {
            Issue.record("expected decoding, got \(result)")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == #"{"score":1}"#)
        guard case .decoding? = report.error else {
            Issue.record("the report should carry the decoding error, has \(String(describing: report.error))")
            return
        }
        // The call failed: counted once, as a failure, not also as a success.
        let counters = client.counters
        #expect(counters.calls == 1 && counters.failed == 1 && counters.succeeded == 0 && counters.attempts == 1)
    }

    @Test func undecodableJSONReplyFailsTheCallForObserversToo() async {
        let log = Mutex<[ClientEvent]>([])
        let transport = ScriptedTransport([.respond(200, body: "not json")])
        let client = makeClient(transport, clock: TestClock()) { configuration in
            configuration.onEvent = { event in log.withLock { $0.append(event) } }
        }
        let spec = RouteSpec(path: "/predict", file: "", function: "", body: [])
        await #expect(throws: ResilientClientError.self) { try await client.callJSON(spec, .object(JSONObject())) }
        let finished = log.withLock { $0 }.compactMap { event -> CallReport? in
            if case .callFinished(let report) = event { return report }
            return nil
        }
        #expect(finished.count == 1)
        guard case .decoding? = finished.first?.error else {
            Issue.record("callFinished should carry the decoding error: \(finished)")
            return
        }
        #expect(client.counters.failed == 1 && client.counters.succeeded == 0)
    }

    @Test func unencodableBodyIsAnInvalidRequest() async {
        struct Bad: Encodable, Sendable {
            func encode(to encoder: any Encoder) throws {
                throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "no"))
            }
        }
        let route = Route<Bad, Prediction>(path: "/predict", body: [])
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: TestClock())
        let (result, _) = await client.callReporting(route, Bad())
        guard case .failure(.invalidRequest) = result else {
            Issue.record("expected invalidRequest, got \(result)")
            return
        }
        #expect(transport.requests.isEmpty)
        #expect(client.counters.failed == 1)
    }

    @Test func callJSONRoundTrip() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(503), .respond(200, body: #"{"sum":3}"#)])
        let client = makeClient(transport, clock: clock)
        let spec = RouteSpec(path: "/add", file: "m", function: "add", body: [
            BodyParam(name: "x", type: .int), BodyParam(name: "y", type: .int),
        ])
        let body = JSONValue.object(JSONObject([.init(key: "x", value: .number("1")), .init(key: "y", value: .number("2"))]))
        let reply = try await client.callJSON(spec, body)
        #expect(reply == .object(JSONObject([.init(key: "sum", value: .number("3"))])))
        #expect(String(decoding: transport.requests[0].body, as: UTF8.self) == #"{"x":1,"y":2}"#)
        let bad = ScriptedTransport([.respond(200, body: "not json")])
        await #expect(throws: ResilientClientError.self) {
            try await makeClient(bad, clock: clock).callJSON(spec, body)
        }
    }

    @Test func eventsAreDeliveredToHookAndStream() async throws {
        let clock = TestClock()
        let log = EventLog()
        let transport = ScriptedTransport([.respond(503), .respond(200, body: catReply)])
        let client = makeClient(transport, clock: clock) { $0.onEvent = { log.append($0) } }
        let stream = client.events()
        _ = try await client.call(predict, cat)
        client.shutdown()
        var streamed: [ClientEvent] = []
        for await event in stream { streamed.append(event) }
        for events in [log.all, streamed] {
            #expect(events.count == 4)
            guard events.count == 4 else { continue }
            guard case .attempt("/predict", let first) = events[0] else { Issue.record("attempt"); continue }
            #expect(first.outcome == .status(503) && first.number == 1)
            guard case .retryScheduled("/predict", 2, .milliseconds(100), _) = events[1] else { Issue.record("retry"); continue }
            guard case .attempt("/predict", let second) = events[2] else { Issue.record("attempt"); continue }
            #expect(second.outcome == .status(200) && second.number == 2)
            guard case .callFinished(let report) = events[3] else { Issue.record("finished"); continue }
            #expect(report.attempts.count == 2 && report.succeeded)
        }
        // After shutdown new streams end at once.
        var late = 0
        for await _ in client.events() { late += 1 }
        #expect(late == 0)
    }

    @Test func seededClientsJitterIdentically() async throws {
        func delays() async throws -> [Duration] {
            let clock = TestClock()
            let transport = ScriptedTransport([.respond(503), .respond(503), .respond(503), .respond(200, body: catReply)])
            let client = makeClient(transport, clock: clock) { $0.retry.backoff.jitter = .full; $0.randomSeed = 77 }
            _ = try await client.call(predict, cat)
            return clock.slept
        }
        let a = try await delays()
        let b = try await delays()
        #expect(a == b)
        #expect(a.count == 3)
    }
}

@Suite(.timeLimit(.minutes(1))) struct ClientDeadlineTests {
    @Test func deadlineStopsRetrying() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) { $0.deadline = .milliseconds(250); $0.gate.enabled = false }
        let (result, _) = await client.callReporting(predict, cat)
        guard case .failure(.deadlineExceeded(2, .status(503)?)) = result else {
            Issue.record("expected deadlineExceeded, got \(result)")
            return
        }
        #expect(clock.slept == [.milliseconds(100)])  // 100 + 200 would cross 250 ms
        #expect(client.counters.deadlinesExceeded == 1)
    }

    @Test func perCallDeadlineOverridesTheDefault() async {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) { $0.deadline = nil; $0.gate.enabled = false }
        let (result, _) = await client.callReporting(predict, cat, deadline: .milliseconds(50))
        guard case .failure(.deadlineExceeded(1, _)) = result else {
            Issue.record("expected deadlineExceeded, got \(result)")
            return
        }
    }

    @Test func attemptTimeoutIsRetriedForIdempotentRoutes() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([.hang(advance: .seconds(3)), .respond(200, body: catReply)], clock: clock)
        let client = makeClient(transport, clock: clock) { $0.attemptTimeout = .seconds(2) }
        let (result, report) = await client.callReporting(predict, cat)
        #expect(try result.get() == Prediction(label: "cat"))
        #expect(report.attempts.first?.outcome == .transport(.responseTimeout))
        #expect(report.attempts.first?.latency == .seconds(3))
    }

    @Test func attemptTimeoutFailsANonIdempotentRoute() async {
        let clock = TestClock()
        let transport = ScriptedTransport([.hang(advance: .seconds(3)), .respond(200, body: catReply)], clock: clock)
        let client = makeClient(transport, clock: clock) { $0.attemptTimeout = .seconds(2) }
        let (result, _) = await client.callReporting(sideEffect, cat)
        guard case .failure(.transport(let error, 1)) = result else {
            Issue.record("expected transport timeout, got \(result)")
            return
        }
        #expect(error.kind == .responseTimeout)
        #expect(transport.mainRequests == 1)
    }

    @Test func deadlineCutsAnAttemptShort() async {
        let clock = TestClock()
        let transport = ScriptedTransport([.hang(advance: .seconds(2))], clock: clock)
        let client = makeClient(transport, clock: clock) { $0.deadline = .seconds(1); $0.attemptTimeout = .seconds(10) }
        let (result, report) = await client.callReporting(predict, cat)
        guard case .failure(.deadlineExceeded(1, _)) = result else {
            Issue.record("expected deadlineExceeded, got \(result)")
            return
        }
        #expect(report.duration == .seconds(2))
    }

    @Test func cancellationDuringBackoffReturnsAtOnce() async {
        let clock = TestClock(autoAdvance: false)
        let transport = ScriptedTransport([.respond(503), .respond(200, body: catReply)])
        let client = makeClient(transport, clock: clock) { $0.deadline = nil; $0.attemptTimeout = nil }
        let task = Task { await client.callReporting(predict, cat) }
        await clock.waitForPendingTimers(1)  // the backoff sleep (no other timer exists)
        task.cancel()
        let (result, report) = await task.value
        guard case .failure(.cancelled) = result else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
        #expect(clock.now == .zero)
        #expect(transport.mainRequests == 1)
        #expect(report.attempts.count == 1)
    }

    // These two run on the system clock with a transport that enforces the timeout: the client then sends
    // from the call's own task, which the transport cancels while the reply is on its way. No test sleeps:
    // neither call waits for anything.
    @Test func aReplyThatArrivedBeforeTheCancellationIsReturned() async throws {
        let transport = ScriptedTransport([.respondAfterCancelling(200, body: catReply)], enforcesTimeout: true)
        let client = makeClient(transport, clock: SystemClientClock())
        let (result, report) = await client.callReporting(predict, cat)
        #expect(try result.get() == Prediction(label: "cat"))
        #expect(report.attempts.map(\.outcome) == [.status(200)])
        #expect(client.counters.succeeded == 1 && client.counters.failed == 0)
    }

    @Test func aFailureThatArrivedAfterTheCancellationEndsTheCall() async {
        let transport = ScriptedTransport([.respondAfterCancelling(503)], enforcesTimeout: true)
        let client = makeClient(transport, clock: SystemClientClock())
        let (result, report) = await client.callReporting(predict, cat)
        guard case .failure(.cancelled) = result else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
        #expect(transport.mainRequests == 1)  // not retried
        #expect(report.attempts.map(\.outcome) == [.transport(.cancelled)])
    }

    @Test func aDeadlineThatHasPassedSendsNothing() async {
        let clock = TestClock()
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: clock)
        let (result, report) = await client.callReporting(predict, cat, deadline: .zero)
        guard case .failure(.deadlineExceeded(attempts: 0, last: nil)) = result else {
            Issue.record("expected deadlineExceeded before any attempt, got \(result)")
            return
        }
        #expect(transport.mainRequests == 0 && report.attempts.isEmpty)
        let counters = client.counters
        #expect(counters.calls == 1 && counters.attempts == 0 && counters.failed == 1 && counters.deadlinesExceeded == 1)
    }

    @Test func cancellationDuringAnAttemptReturnsAtOnce() async {
        let clock = TestClock()
        let transport = ScriptedTransport([.hang(advance: .zero)], clock: clock)
        let client = makeClient(transport, clock: clock)
        let task = Task { await client.callReporting(predict, cat) }
        await clock.waitForPendingTimers(1)  // the attempt's timer: the attempt is in flight
        task.cancel()
        let (result, report) = await task.value
        guard case .failure(.cancelled) = result else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
        #expect(client.counters.failed == 1)
        #expect(report.attempts.map(\.outcome) == [.transport(.cancelled)])
    }

    @Test func cancelledBeforeStartingSendsNothing() async {
        let clock = TestClock()
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: clock) { $0.gate = .init(failureThreshold: 1) }
        _ = await client.callReporting(predict, cat)  // fine
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await client.callReporting(predict, cat)
        }
        let (result, _) = await task.value
        guard case .failure(.cancelled) = result else {
            Issue.record("expected cancelled, got \(result)")
            return
        }
        #expect(transport.mainRequests == 1)
    }
}
