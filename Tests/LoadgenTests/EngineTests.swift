import TestSupport
import Testing

@testable import LoadgenCore

/// The network engine against an in-process NetIO server on 127.0.0.1. Serialized: each test is a short
/// load run and the machine is small. Assertions compare recorded numbers with each other and with the
/// server's own counters, never with wall-clock thresholds.
@Suite(.serialized, .dedicatedThreads) struct EngineTests {
    let twoLoops = NetworkLoadEngine(configuration: .init(threads: 2))

    @Test func constantRateAccountsForEveryCallAndAttempt() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let body = ValueTemplate.object([TemplateField(key: "n", value: .sequence(start: 0, step: 1))])
        let plan = enginePlan(
            port: target.port, load: .constantRate(rate: 200, duration: .milliseconds(500)),
            requests: [RequestSpec(route: "/work", method: "POST", body: body)])
        let log = ProgressLog()
        let result = try await twoLoops.run(plan) { log.add($0) }

        let scheduled = ArrivalSchedule.constant(rate: 200, duration: .milliseconds(500)).count
        #expect(result.calls == scheduled)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.ok == scheduled)
        #expect(result.attempts == result.attemptLatency.totalCount)
        #expect(result.attempts == Int64(target.requests))
        #expect(result.accountingProblems().isEmpty)
        #expect(result.latency.totalCount == result.ok)
        #expect(result.elapsedNanoseconds >= 500_000_000)
        #expect(result.scenarioName == "engine-test")
        // Bodies come from the generator: arrival i sends {"n":i}, each exactly once.
        let expected = (0..<scheduled).map { String(decoding: plan.requests.request(at: $0).body ?? [], as: UTF8.self) }
        let received = target.counters.bodies.withLock { $0 }
        #expect(received.sorted() == expected.sorted())
        #expect(Set(received).count == Int(scheduled))
        // Progress was reported from the loops.
        let snapshots = log.all
        #expect(!snapshots.isEmpty)
        #expect(snapshots.allSatisfy { $0.total == .milliseconds(500) && $0.errors == 0 })
    }

    @Test func rampingRateSendsEveryScheduledArrival() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let load = LoadSpec.rampingRate(
            startRate: 0, stages: [RampStage(target: 300, duration: .milliseconds(300)), RampStage(target: 100, duration: .milliseconds(200))])
        let plan = enginePlan(port: target.port, load: load)
        let result = try await twoLoops.run(plan) { _ in }
        #expect(result.calls == ArrivalSchedule(load: load)?.count)
        #expect(result.ok == result.calls)
        #expect(result.attempts == Int64(target.requests))
    }

    @Test func retries503AndHonoursTheClassifier() async throws {
        // One user on one connection: requests are strictly sequential, so every third request (n % 3 == 2)
        // is a 503 and the retry that follows it is request n + 1, which succeeds.
        let target = try EngineTestTarget { number in
            number % 3 == 2 ? .status(503, headers: [("Retry-After", "0")]) : .status(200)
        }
        defer { target.shutdown() }
        // No retry budget: every 503 is retried (the default budget would refuse some in a short, dense run).
        let client = ClientSpec(
            connections: 1,
            retry: RetrySpec(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5), jitter: .none),
            budget: nil)
        let plan = enginePlan(
            port: target.port, load: .closed(users: 1, duration: .milliseconds(400), thinkTime: .milliseconds(0)),
            client: client)
        let result = try await twoLoops.run(plan) { _ in }

        #expect(result.calls > 10)
        #expect(result.failed == 0)
        #expect(result.notSentTotal == 0)
        #expect(result.ok == result.calls)
        #expect(result.attempts == Int64(target.requests))
        #expect(result.retries == Int64(target.status503))
        #expect(result.attemptErrors.byStatus[503] == Int64(target.status503))
        #expect(target.status503 == target.requests / 3)
        #expect(result.amplification == Double(result.calls + result.retries) / Double(result.calls))
        #expect(result.accountingProblems().isEmpty)
    }

    @Test func honoursRetryAfterBoundedByTheCap() async throws {
        // Retry-After asks for 1s; the cap (maxDelay) is 40ms, so each retried call sleeps exactly 40ms.
        let target = try EngineTestTarget { number in
            number % 3 == 2 ? .status(503, headers: [("Retry-After", "1")]) : .status(200)
        }
        defer { target.shutdown() }
        let client = ClientSpec(
            connections: 1,
            retry: RetrySpec(maxAttempts: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(40), jitter: .none))
        let plan = enginePlan(
            port: target.port, load: .closed(users: 1, duration: .milliseconds(300), thinkTime: .milliseconds(0)),
            client: client)
        let result = try await twoLoops.run(plan) { _ in }
        #expect(result.ok == result.calls)
        #expect(result.retries == Int64(target.status503))
        #expect(result.retries > 0)
        // Every retried call slept at least the capped Retry-After between its attempts.
        #expect(count(result.serviceTime, atLeast: 40_000) >= result.retries)
    }

    @Test func stalledServerShowsInLatencyFromTheIntendedStart() async throws {
        // 4 connections, 300ms per answer: capacity 13/s against 40/s offered, so calls wait in the client.
        let target = try EngineTestTarget { _ in .delayed(milliseconds: 300, status: 200) }
        defer { target.shutdown() }
        let plan = enginePlan(port: target.port, load: .constantRate(rate: 40, duration: .milliseconds(500)))
        let result = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(plan) { _ in }

        #expect(result.ok == 20)
        #expect(result.accountingProblems().isEmpty)
        // The server's stall bounds every service time from below.
        #expect((result.serviceTime.minValue ?? 0) >= result.serviceTime.lowestEquivalentValue(300_000))
        // Latency from the intended start includes the queueing that service time hides.
        for percentile in [50.0, 90.0, 99.0, 100.0] {
            #expect(result.latency.value(atPercentile: percentile) >= result.serviceTime.value(atPercentile: percentile))
        }
        #expect(result.latency.value(atPercentile: 99) > 2 * result.serviceTime.value(atPercentile: 99))
        #expect(result.latency.mean > result.serviceTime.mean)
    }

    @Test(arguments: [(users: 3, connections: 8), (users: 5, connections: 2)])
    func closedLoopNeverExceedsUsersOrConnectionsInFlight(users: Int, connections: Int) async throws {
        let target = try EngineTestTarget { _ in .delayed(milliseconds: 20, status: 200) }
        defer { target.shutdown() }
        let plan = enginePlan(
            port: target.port, load: .closed(users: users, duration: .milliseconds(400), thinkTime: .milliseconds(0)),
            client: ClientSpec(connections: connections))
        let result = try await twoLoops.run(plan) { _ in }
        let peak = target.counters.maxInFlight.load(ordering: .relaxed)
        #expect(peak >= 1)
        #expect(peak <= min(users, connections))
        #expect(result.ok == result.calls)
        #expect(result.attempts == Int64(target.requests))
        #expect(result.calls >= Int64(min(users, connections)))
    }

    @Test("wait before send: near nothing in a closed loop with a connection per user; a queue's wait when arrivals outrun the one connection")
    func sendLagShowsTheClientSideQueue() async throws {
        let target = try EngineTestTarget { _ in .delayed(milliseconds: 20, status: 200) }
        defer { target.shutdown() }
        // 100 arrivals/s for 0.3 s over one connection to a 20 ms answer: each arrival waits for the one before it.
        let queued = enginePlan(
            port: target.port, load: .constantRate(rate: 100, duration: .milliseconds(300)),
            client: ClientSpec(connections: 1))
        let open = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(queued) { _ in }
        #expect(open.ok == open.calls && open.sendLag.totalCount == open.calls)
        // The last of 30 arrivals (at 290 ms) cannot be sent before 29 answers of 20 ms each (580 ms): it waits
        // at least 290 ms, however fast the machine.
        #expect((open.sendLag.maxValue ?? 0) >= 290_000, "\(open.sendLag.maxValue ?? 0) µs")
        // Closed loop, a connection per user: each call is sent as it is issued.
        let closed = enginePlan(
            port: target.port, load: .closed(users: 2, duration: .milliseconds(200), thinkTime: .milliseconds(0)),
            client: ClientSpec(connections: 2))
        let direct = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(closed) { _ in }
        #expect(direct.sendLag.totalCount == direct.calls)
        #expect((direct.sendLag.maxValue ?? .max) < (open.sendLag.maxValue ?? 0))
    }

    @Test func refusedConnectionsFailWithKindRefused() async throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let client = ClientSpec(
            connections: 2, retry: RetrySpec(maxAttempts: 2, baseDelay: .milliseconds(1), jitter: .none))
        let plan = enginePlan(port: port, load: .constantRate(rate: 100, duration: .milliseconds(200)), client: client)
        let engine = NetworkLoadEngine(configuration: .init(threads: 2, failIfUnreachable: false))
        let result = try await engine.run(plan) { _ in }
        #expect(result.calls == 20)
        #expect(result.ok == 0)
        #expect(result.callFailures.byKind[.refused] == 20)
        // Refused connections are always retried (nothing reached the server).
        #expect(result.attempts == 40)
        #expect(result.attemptErrors.byKind[.refused] == 40)
        #expect(result.accountingProblems().isEmpty)
    }

    @Test func unreachableTargetThrowsBeforeTheRun() async throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let plan = enginePlan(port: port, load: .constantRate(rate: 100, duration: .milliseconds(200)))
        await #expect(throws: LoadgenRunError.self) { _ = try await twoLoops.run(plan) { _ in } }
        do {
            _ = try await twoLoops.run(plan) { _ in }
        } catch let error as LoadgenRunError {
            guard case .targetUnreachable(let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(message.contains("refused"))
        }
    }

    @Test func healthGateWaitsForPingOrThrowsUnreachable() async throws {
        let engine = NetworkLoadEngine(configuration: .init(threads: 1, startupTimeout: .milliseconds(300)))
        let gated = ClientSpec(connections: 2, healthGate: HealthGateSpec(probeInterval: .milliseconds(50)))
        // Nothing listening.
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let refused = enginePlan(port: port, load: .constantRate(rate: 50, duration: .milliseconds(100)), client: gated)
        await #expect(throws: LoadgenRunError.self) { _ = try await engine.run(refused) { _ in } }
        // Listening, but /ping answers 503.
        let sick = try EngineTestTarget(ping: 503) { _ in .status(200) }
        defer { sick.shutdown() }
        let plan = enginePlan(port: sick.port, load: .constantRate(rate: 50, duration: .milliseconds(100)), client: gated)
        do {
            _ = try await engine.run(plan) { _ in }
            Issue.record("expected targetUnreachable")
        } catch let error as LoadgenRunError {
            #expect(error.description.contains("503"))
        }
        #expect(sick.counters.pings.load(ordering: .relaxed) >= 2)
        #expect(sick.requests == 0)
        // Healthy: the run happens after one ping.
        let healthy = try EngineTestTarget { _ in .status(200) }
        defer { healthy.shutdown() }
        let result = try await engine.run(
            enginePlan(port: healthy.port, load: .constantRate(rate: 50, duration: .milliseconds(100)), client: gated)) { _ in }
        #expect(result.ok == 5)
        #expect(healthy.counters.pings.load(ordering: .relaxed) >= 1)
    }

    @Test func budgetBoundsRetriesUnderTotalOverload() async throws {
        let target = try EngineTestTarget { _ in .status(503) }
        defer { target.shutdown() }
        let client = ClientSpec(
            connections: 4, retry: RetrySpec(maxAttempts: 5, baseDelay: .milliseconds(1), jitter: .none),
            budget: RetryBudgetSpec(ratio: 0.5, minRetriesPerSecond: 0, window: .seconds(10)))
        let plan = enginePlan(port: target.port, load: .constantRate(rate: 200, duration: .milliseconds(500)), client: client)
        let result = try await twoLoops.run(plan) { _ in }
        #expect(result.calls == 100)
        #expect(result.ok == 0)
        #expect(result.callFailures.byStatus[503] == 100)
        #expect(result.retries <= result.calls / 2)
        #expect(result.attempts <= 5 * result.calls)
        #expect(result.budgetDenials > 0)
        #expect(result.attempts == Int64(target.requests))
        #expect(result.accountingProblems().isEmpty)
    }

    @Test func healthGateBlocksOnFailuresAndProbes() async throws {
        // Routes always 503 while /ping says 200: the gate blocks after 3 failures, the probe lets traffic through again
        // half-way, the trials fail, and so on. Calls due while it is closed are not sent.
        let target = try EngineTestTarget { _ in .status(503) }
        defer { target.shutdown() }
        let client = ClientSpec(
            connections: 2, healthGate: HealthGateSpec(failureThreshold: 3, probeInterval: .milliseconds(50)))
        let plan = enginePlan(port: target.port, load: .constantRate(rate: 200, duration: .milliseconds(400)), client: client)
        let result = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(plan) { _ in }
        #expect(result.calls == 80)
        #expect((result.notSent[.healthGate] ?? 0) > 0)
        #expect(result.failed + (result.notSent[.healthGate] ?? 0) == 80)
        #expect(result.attempts == Int64(target.requests))
        #expect(target.counters.pings.load(ordering: .relaxed) >= 2)
        #expect(result.accountingProblems().isEmpty)
    }

    @Test func warmupCallsAreExecutedButNotRecorded() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let plan = enginePlan(
            port: target.port, load: .constantRate(rate: 100, duration: .milliseconds(300)), warmup: .milliseconds(200))
        let result = try await twoLoops.run(plan) { _ in }
        #expect(result.warmupCalls == 20)
        #expect(result.calls == 30)
        #expect(result.ok == 30)
        #expect(result.attempts == 30)
        #expect(target.requests == 50)
    }

    @Test func fullClientQueueDropsCallsAsNotSent() async throws {
        let target = try EngineTestTarget { _ in .delayed(milliseconds: 300, status: 200) }
        defer { target.shutdown() }
        let plan = enginePlan(
            port: target.port, load: .constantRate(rate: 100, duration: .milliseconds(100)),
            client: ClientSpec(connections: 1))
        let engine = NetworkLoadEngine(configuration: .init(threads: 1, maxQueuedCalls: 2))
        let result = try await engine.run(plan) { _ in }
        #expect(result.calls == 10)
        #expect((result.notSent[.clientQueueFull] ?? 0) > 0)
        #expect(result.ok + (result.notSent[.clientQueueFull] ?? 0) == 10)
        #expect(result.ok >= 3)
        #expect(result.attempts == Int64(target.requests))
    }

    @Test func drainEndFailsInFlightAsTimeoutAndQueuedAsNotSent() async throws {
        let target = try EngineTestTarget { _ in .hold }
        defer { target.shutdown() }
        let plan = enginePlan(
            port: target.port, load: .constantRate(rate: 50, duration: .milliseconds(100)),
            client: ClientSpec(connections: 1, timeout: .seconds(30)), drain: .milliseconds(100))
        let result = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(plan) { _ in }
        #expect(result.calls == 5)
        #expect(result.callFailures.byKind[.timeout] == 1)
        #expect(result.notSent[.runEnded] == 4)
        #expect(result.attempts == 1)
        #expect(result.accountingProblems().isEmpty)
    }
}
