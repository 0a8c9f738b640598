import EndpointSpec
import Foundation
import ReferenceEndpoint
import Synchronization
import TestSupport
import Testing

@testable import ResilientClient

/// ResilientClient against the real reference endpoint: Python workers running examples/echo and
/// examples/calculator, fault injection, admission control, a stop and a restart, on 127.0.0.1.
@Suite(.serialized, .dedicatedThreads, .timeLimit(.minutes(2))) struct EndToEndTests {
    // MARK: - Retries

    @Test func injectedFailuresAreRetriedAndCountedExactly() async throws {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo], workers: 2)
        endpoint.failRate = 0.3
        endpoint.retryAfterSeconds = 0
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 16))
        defer { transport.shutdown() }
        var configuration = try EndToEnd.client(server.url)
        configuration.retry.maxAttempts = 30  // 0.3^30: no call can plausibly run out of attempts
        configuration.budget = .init(window: .seconds(10), minRetriesPerSecond: 10, retryRatio: 1)
        configuration.gate = .disabled  // a run of 503s must not hold traffic: this test is about retries
        let client = ResilientClient(configuration: configuration, transport: transport)
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)

        let calls = 2000
        let results = await EndToEnd.forEach(count: calls, width: 16) { index in
            await client.callReporting(route, EchoBody(text: "message \(index)"))
        }

        #expect(results.count == calls)
        for (index, (result, report)) in results.enumerated() {
            let text = "message \(index)"
            #expect(try result.get() == EchoReply(text: text, length: text.count))
            // Every attempt but the last was an injected 503, and each was retried after a delay.
            #expect(report.attempts.dropLast().allSatisfy { $0.outcome == .status(503) && $0.delayAfter != nil })
            #expect(report.attempts.last?.outcome == .status(200))
        }
        let counters = client.counters
        let injected = server.stats.injectedFailures
        #expect(counters.calls == calls && counters.succeeded == calls && counters.failed == 0)
        #expect(counters.retries == injected)
        #expect(counters.attempts == calls + injected)
        #expect(counters.budgetRefusals == 0)
        #expect(results.map { $0.report.attempts.count }.reduce(0, +) == calls + injected)
        #expect(await EndToEnd.waitFor { server.stats.ok == calls && server.stats.requests == calls + injected })
        // 0.3 / 0.7 × 2000 ≈ 857 expected; anything near that shows the injection really ran.
        #expect(injected > 600 && injected < 1200)
    }

    // MARK: - Stop and restart

    @Test func callsInFlightSurviveARestartBehindTheHealthGate() async throws {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo], workers: 1)
        endpoint.delayMilliseconds = 300  // calls are still in the worker (or its queue) when the server stops
        let first = try EndToEnd.start(endpoint)
        defer { first.shutdown() }
        let port = first.port
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 16))
        defer { transport.shutdown() }
        let log = EventLog()
        var configuration = try EndToEnd.client(first.url)
        configuration.retry = RetryPolicy(
            maxAttempts: 100, backoff: Backoff(base: .milliseconds(5), multiplier: 2, cap: .milliseconds(50)))
        configuration.budget = .unlimited
        configuration.gate = .init(
            failureThreshold: 5, trialCalls: 3,
            probeBackoff: Backoff(base: .milliseconds(20), multiplier: 2, cap: .milliseconds(200)))
        configuration.gateWaitMode = .wait
        configuration.deadline = .seconds(60)
        configuration.attemptTimeout = .seconds(10)
        configuration.onEvent = { log.append($0) }
        let client = ResilientClient(configuration: configuration, transport: transport)
        defer { client.shutdown() }
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)

        let calls = 6
        let running = Task {
            await EndToEnd.forEach(count: calls, width: calls) { index in
                await client.callReporting(route, EchoBody(text: "in flight \(index)"))
            }
        }
        // Every call has sent its first attempt; the worker holds each for 300 ms.
        #expect(await EndToEnd.waitFor { client.counters.attempts >= calls })
        try await Task.sleep(for: .milliseconds(100))
        first.shutdown()

        // The failures close the gate; calls now wait while the prober polls a dead port.
        #expect(await EndToEnd.waitFor { client.gateState == .blocked })
        #expect(await EndToEnd.waitFor { client.counters.probes >= 1 })
        var restarted = endpoint
        restarted.port = port
        let second = try EndToEnd.start(restarted)
        defer { second.shutdown() }

        let results = await running.value
        #expect(results.count == calls)
        for (index, (result, report)) in results.enumerated() {
            let text = "in flight \(index)"
            #expect(try result.get() == EchoReply(text: text, length: text.count))
            #expect(report.attempts.count >= 2)
            #expect(report.attempts.last?.outcome == .status(200))
        }
        // At least one call was cut off mid-request by the stop (the connection closed after sending).
        let outcomes = results.flatMap { $0.report.attempts.map(\.outcome) }
        #expect(outcomes.contains(.transport(.connectionClosed(requestSent: true))))
        // The prober, not the calls, met the dead port.
        let probes = log.all.compactMap { event -> AttemptOutcome? in
            if case .probe(_, let outcome) = event { return outcome }
            return nil
        }
        #expect(probes.contains(.transport(.connectionRefused)))
        #expect(probes.last == .status(200))

        // The gate went blocked → trial → passing, in that order, and ended passing.
        let transitions = log.all.compactMap { event -> HealthGate.Transition? in
            if case .gate(let transition) = event { return transition }
            return nil
        }
        let closed = transitions.firstIndex(of: .init(from: .passing, to: .blocked))
        let trial = transitions.lastIndex(of: .init(from: .blocked, to: .trial))
        let opened = transitions.lastIndex(of: .init(from: .trial, to: .passing))
        #expect(closed != nil && trial != nil && opened != nil)
        if let closed, let trial, let opened { #expect(closed < trial && trial < opened) }
        #expect(transitions.last == .init(from: .trial, to: .passing))
        #expect(client.gateState == .passing)
        let counters = client.counters
        #expect(counters.gateBlocked >= 1 && counters.gateTrial >= 1 && counters.gatePassing >= 1)
        #expect(counters.probes >= 1)
        #expect(counters.succeeded == calls && counters.failed == 0)
        // Calls waited for the gate instead of hammering the dead port: beyond the one attempt each
        // call lost to the stop, at most `failureThreshold` failed attempts closed the gate.
        #expect(outcomes.filter { $0 != .status(200) }.count <= calls + configuration.gate.failureThreshold)
        #expect(second.stats.ok >= calls)
    }

    // MARK: - Overload and the retry budget

    @Test func retryBudgetBoundsAttemptsUnderSustainedOverload() async throws {
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo], workers: 1)
        endpoint.maxQueue = 2
        endpoint.delayMilliseconds = 20
        endpoint.retryAfterSeconds = 0
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: 32))
        defer { transport.shutdown() }
        let finished = Atomic<Int>(0)
        let window = Duration.seconds(10)
        let minRetriesPerSecond = 2
        let retryRatio = 0.2
        var configuration = try EndToEnd.client(server.url)
        configuration.retry = RetryPolicy(
            maxAttempts: 8, backoff: Backoff(base: .milliseconds(2), multiplier: 2, cap: .milliseconds(20)))
        configuration.budget = .init(window: window, minRetriesPerSecond: minRetriesPerSecond, retryRatio: retryRatio)
        configuration.gate = .disabled  // the budget alone must hold the line
        configuration.deadline = .seconds(20)
        configuration.onEvent = { event in
            if case .callFinished = event { finished.add(1, ordering: .relaxed) }
        }
        let client = ResilientClient(configuration: configuration, transport: transport)
        let route = Route<EchoBody, EchoReply>(EndToEnd.echo)

        let calls = 200
        let started = ContinuousClock.now
        let results = await EndToEnd.forEach(count: calls, width: 32) { index in
            await client.callReporting(route, EchoBody(text: "\(index)"))
        }
        let elapsed = started.duration(to: .now)

        // Attempts are bounded by the budget: (1 + ratio) per call plus the constant allowance of
        // minRetriesPerSecond × window for every window-long stretch of time the run touched.
        let counters = client.counters
        let windowsTouched = Int(elapsed / window) + 2
        let allowance = Double(minRetriesPerSecond) * 10 * Double(windowsTouched)
        let bound = Double(calls) * (1 + retryRatio) + allowance
        #expect(Double(counters.attempts) <= bound, "attempts \(counters.attempts) > bound \(bound)")
        #expect(counters.attempts == calls + counters.retries)
        // No hidden traffic (the gate is off: no probes).
        #expect(await EndToEnd.waitFor { server.stats.requests == counters.attempts })
        #expect(server.stats.shed > 0)

        // The budget refused retries, and said so.
        var succeeded = 0
        var refused = 0
        var other = 0
        for (result, report) in results {
            switch result {
            case .success: succeeded += 1
            case .failure(.budgetExhausted(let attempts, let last)):
                refused += 1
                #expect(attempts == report.attempts.count && last == .status(503))
            case .failure: other += 1
            }
        }
        #expect(refused > 0)
        #expect(counters.budgetRefusals == refused)

        // Every call ended exactly once, with exactly one outcome.
        #expect(results.count == calls)
        #expect(succeeded + refused + other == calls)
        #expect(counters.calls == calls && counters.succeeded == succeeded && counters.failed == calls - succeeded)
        #expect(finished.load(ordering: .relaxed) == calls)
        #expect(await EndToEnd.waitFor { server.stats.ok == succeeded })
    }

    // MARK: - Validation

    @Test func invalidBodiesNeverReachTheNetworkAndMatchTheServersAnswer() async throws {
        let server = try EndToEnd.start(EndToEnd.endpoint("calculator", EndToEnd.calculatorRoutes))
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = ResilientClient(configuration: try EndToEnd.client(server.url), transport: transport)

        let bodies: [JSONValue] = [
            .object(JSONObject()),  // missing field
            .object(JSONObject([.init(key: "a", value: .string("x"))])),  // wrong type
            .object(JSONObject([.init(key: "a", value: .number("1.5")), .init(key: "b", value: .string("y"))])),
            .array([.number("1")]),  // not an object
        ]
        for body in bodies {
            let before = server.stats.requests
            var problem: ValidationProblem?
            do {
                _ = try await client.callJSON(EndToEnd.add, body)
            } catch {
                if case .validation(let found) = error { problem = found }
            }
            let found = try #require(problem, "expected a validation error for \(body)")
            #expect(server.stats.requests == before, "the invalid body reached the network")

            // The same bytes sent raw: the server's 422 carries the very same detail list.
            let url = try #require(URL(string: server.url + "/add"))
            let raw = try await transport.send(
                TransportRequest(
                    method: "POST", url: url, headers: [("Content-Type", "application/json")],
                    body: JSON.serialize(body)),
                timeout: .seconds(10))
            #expect(raw.status == 422)
            #expect(await EndToEnd.waitFor { server.stats.requests == before + 1 })
            guard case .object(let answer) = try JSON.parse(raw.body), case .array(let details)? = answer["detail"]
            else {
                Issue.record("422 body is not {\"detail\": [...]}")
                continue
            }
            #expect(found.details == details)
            #expect(JSON.serialize(.object(JSONObject([.init(key: "detail", value: .array(found.details))]))) == raw.body)
        }
        #expect(client.counters.validationFailures == bodies.count && client.counters.attempts == 0)
    }

    // MARK: - Waiting for an endpoint to come up

    @Test func waitUntilHealthyReturnsOnceALateEndpointAnswersPing() async throws {
        let port = try EndToEnd.freePort()
        let loop = try LoopTransport()
        defer { loop.shutdown() }
        let recorder = RecordingTransport(loop)
        let client = ResilientClient(
            configuration: try EndToEnd.client("http://127.0.0.1:\(port)"), transport: recorder)
        let waiting = Task { () async -> String? in
            do throws(ResilientClientError) {
                try await client.waitUntilHealthy(timeout: .seconds(60))
                return nil
            } catch {
                return error.description
            }
        }
        // The client is polling a port where nothing listens yet.
        #expect(await EndToEnd.waitFor { recorder.pings.count >= 3 })
        var endpoint = EndToEnd.endpoint("echo", [EndToEnd.echo])
        endpoint.port = port
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }

        let failure = await waiting.value
        #expect(failure == nil, "waitUntilHealthy failed: \(failure ?? "")")
        let pings = recorder.pings
        #expect(pings.count >= 4)
        #expect(pings.last?.outcome == .status(200))
        // Before it answers 200: nothing listening (refused), then, once bound, 503 while its Python workers start.
        #expect(pings.dropLast().allSatisfy { $0.outcome == .transport(.connectionRefused) || $0.outcome == .status(503) })
        #expect(pings.first?.outcome == .transport(.connectionRefused))
        #expect(await EndToEnd.waitFor { server.stats.ok == 1 })
        // And the endpoint is usable at once.
        let reply = try await client.call(Route<EchoBody, EchoReply>(EndToEnd.echo), EchoBody(text: "up"))
        #expect(reply == EchoReply(text: "up", length: 2))
    }

    @Test func waitUntilHealthyGivesUpAtItsTimeoutWithTheLastOutcome() async throws {
        let port = try EndToEnd.freePort()
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = ResilientClient(
            configuration: try EndToEnd.client("http://127.0.0.1:\(port)"), transport: transport)
        await #expect {
            try await client.waitUntilHealthy(timeout: .milliseconds(300))
        } throws: { error in
            guard case ResilientClientError.deadlineExceeded(let attempts, let last) = error else { return false }
            return attempts >= 1 && last == .transport(.connectionRefused)
        }
    }

    // MARK: - Typed and untyped routes, statuses from Python

    @Test func typedAndUntypedRoutesRoundTrip() async throws {
        let server = try EndToEnd.start(EndToEnd.endpoint("calculator", EndToEnd.calculatorRoutes))
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = ResilientClient(configuration: try EndToEnd.client(server.url), transport: transport)

        // Typed: Codable structs in, Codable structs out, optional fields left to the route's defaults.
        let describe = Route<DescribeBody, DescribeReply>(EndToEnd.describe)
        let described = try await client.call(describe, DescribeBody(text: "hi", count: 2))
        #expect(
            described
                == DescribeReply(
                    text: "hi", count: 2, ratio: 0.25, flag: true, meta: ["k": "v"], items: [1, 2],
                    types: ["str", "int", "float", "bool", "dict", "list"]))
        let add = Route<AddBody, SumReply>(EndToEnd.add)
        #expect(try await client.call(add, AddBody(a: 2)) == SumReply(sum: 3.5))
        #expect(try await client.call(add, AddBody(a: 2, b: 0.25)) == SumReply(sum: 2.25))

        // Untyped: JSON in, JSON out, numbers as the server wrote them.
        let reply = try await client.callJSON(
            EndToEnd.add,
            .object(JSONObject([.init(key: "a", value: .number("40")), .init(key: "b", value: .number("2"))])))
        #expect(reply == .object(JSONObject([.init(key: "sum", value: .number("42.0"))])))

        // A reply that does not fit the Reply type is a decoding error carrying the body.
        let mistyped = Route<AddBody, EchoReply>(EndToEnd.add)
        await #expect {
            try await client.call(mistyped, AddBody(a: 1))
        } throws: { error in
            guard case ResilientClientError.decoding(_, let body) = error else { return false }
            return String(decoding: body, as: UTF8.self) == #"{"sum":2.5}"#
        }
        #expect(client.counters.attempts == 5 && client.counters.retries == 0)
        #expect(await EndToEnd.waitFor { server.stats.requests == 5 })
    }

    @Test func pythonExceptionIs500WithoutRetry() async throws {
        let server = try EndToEnd.start(EndToEnd.endpoint("calculator", EndToEnd.calculatorRoutes))
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        let client = ResilientClient(configuration: try EndToEnd.client(server.url), transport: transport)

        var status: Int?
        var text = ""
        var attempts = 0
        do {
            _ = try await client.callJSON(
                EndToEnd.fail, .object(JSONObject([.init(key: "message", value: .string("boom"))])))
        } catch {
            if case .httpStatus(let code, let body, let count) = error {
                status = code
                text = String(decoding: body, as: UTF8.self)
                attempts = count
            }
        }
        #expect(status == 500)
        #expect(attempts == 1)
        #expect(text == #"{"detail":"Internal Server Error","error":"ValueError: boom"}"#)
        #expect(await EndToEnd.waitFor { server.stats.requests == 1 && server.stats.serverErrors == 1 })
        #expect(client.counters.retries == 0 && client.gateState == .passing)
    }

    @Test func hungCallTimesOutAs504AndIsRetriedOnlyWhenIdempotent() async throws {
        var endpoint = EndToEnd.endpoint("calculator", EndToEnd.calculatorRoutes, workers: 2)
        endpoint.callTimeout = 0.3
        let server = try EndToEnd.start(endpoint)
        defer { server.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        var configuration = try EndToEnd.client(server.url)
        configuration.retry.maxAttempts = 2
        let client = ResilientClient(configuration: configuration, transport: transport)

        // Idempotent (the default): the 504 is retried; both attempts time out on the server.
        let idempotent = Route<SleepBody, SumReply>(EndToEnd.sleep)
        let (first, firstReport) = await client.callReporting(idempotent, SleepBody(seconds: 30))
        guard case .failure(.overloaded(let attempts, let lastStatus)) = first else {
            Issue.record("expected overloaded after two 504s, got \(first)")
            return
        }
        #expect(attempts == 2 && lastStatus == 504)
        #expect(firstReport.attempts.map(\.outcome) == [.status(504), .status(504)])
        #expect(firstReport.attempts.first?.delayReason?.cause == .status(504))

        // Not idempotent: the same 504 is final after one attempt.
        #expect(await EndToEnd.waitFor { server.aliveWorkers == 2 })
        let once = Route<SleepBody, SumReply>(EndToEnd.sleep, idempotent: false)
        let (second, secondReport) = await client.callReporting(once, SleepBody(seconds: 30))
        guard case .failure(.httpStatus(let status, let body, let count)) = second else {
            Issue.record("expected httpStatus 504, got \(second)")
            return
        }
        #expect(status == 504 && count == 1)
        #expect(String(decoding: body, as: UTF8.self).contains("Gateway Timeout"))
        #expect(secondReport.attempts.count == 1)
        #expect(await EndToEnd.waitFor { server.stats.requests == 3 })
        #expect(client.counters.retries == 1)
    }
}
