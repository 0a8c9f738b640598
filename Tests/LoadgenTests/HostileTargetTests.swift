import TestSupport
import Testing

@testable import LoadgenCore

/// loadgen's engine against a target that misbehaves on purpose (`HostileServer`): every call is counted exactly
/// once, with the reason it failed, and an endless body is cut at the response limit. Outcomes only, no timings.
@Suite(.serialized, .dedicatedThreads) struct HostileTargetTests {
    /// Calls in each run: 40/s for 250 ms.
    static let load = LoadSpec.constantRate(rate: 40, duration: .milliseconds(250))
    static var scheduled: Int64 { ArrivalSchedule(load: load)?.count ?? 0 }

    /// One attempt per call (so each call's reason is its only attempt's), a short attempt timeout, 1 MiB limit.
    static func client(attempts: Int = 1, timeout: DurationValue = .milliseconds(300)) -> ClientSpec {
        var client = ClientSpec(
            connections: 16, timeout: timeout,
            retry: RetrySpec(maxAttempts: attempts, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2), jitter: .none),
            budget: nil)
        client.maxResponseBytes = 1 << 20
        return client
    }

    @Test(
        "each fault fails every call once, with its reason",
        arguments: [
            (HostileServer.Behaviour.reset, ErrorKind.reset),
            (.stallMidResponse, .timeout),
            (.garbage, .protocolError),
            (.halfResponse, .reset),
            (.endlessBody, .tooLarge),
        ])
    func everyCallCountedWithItsReason(behaviour: HostileServer.Behaviour, kind: ErrorKind) async throws {
        let server = try HostileServer { _ in behaviour }
        defer { server.stop() }
        // Only the stalled answer should end in the attempt timeout; every other fault gets one long enough that
        // a busy machine (the test suite runs in parallel) cannot turn its reset or bad bytes into a timeout.
        let timeout: DurationValue = behaviour == .stallMidResponse ? .milliseconds(300) : .seconds(5)
        let plan = enginePlan(port: server.port, load: Self.load, client: Self.client(timeout: timeout))
        let result = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(plan) { _ in }

        #expect(result.calls == Self.scheduled)
        #expect(result.ok == 0)
        #expect(result.failed == Self.scheduled, "\(behaviour): \(result.callFailures)")
        #expect(result.callFailures.byKind == [kind: Self.scheduled], "\(behaviour)")
        #expect(result.accountingProblems().isEmpty, "\(result.accountingProblems())")
        // Every attempt reached the server once and is counted once.
        #expect(result.attempts == Int64(server.requests))
        if behaviour == .endlessBody {
            // The client stopped reading at its limit: the server could push only the limit plus socket buffers.
            #expect(server.largestEndlessBodySent < 64 << 20, "\(server.largestEndlessBodySent) bytes")
        }
    }

    @Test("faults mixed with good answers and retries: calls == ok + failed, attempts == requests the server read")
    func mixedFaultsAreAccountedExactly() async throws {
        let behaviours = HostileServer.Behaviour.allCases
        let server = try HostileServer { number in behaviours[number % behaviours.count] }
        defer { server.stop() }
        let plan = enginePlan(port: server.port, load: Self.load, client: Self.client(attempts: 3))
        let result = try await NetworkLoadEngine(configuration: .init(threads: 1)).run(plan) { _ in }

        #expect(result.calls == Self.scheduled)
        #expect(result.calls == result.ok + result.failed + result.notSentTotal)
        #expect(result.ok > 0)
        #expect(result.attempts == Int64(server.requests))
        #expect(result.accountingProblems().isEmpty, "\(result.accountingProblems())")
        // Retried faults (idempotent GET): a reset, a cut-off answer and a timeout are retried; garbage and an
        // oversize body are not.
        #expect(result.retries > 0)
    }

    @Test("client.maxResponse and --max-response set the response limit")
    func responseLimitIsConfigurable() throws {
        #expect(ClientSpec().maxResponseBytes == 8 << 20)
        #expect(EnginePolicy(Self.client(), loops: 1).responseLimits.maxBodyBytes == 1 << 20)
    }
}

/// `loadgen call` against the same hostile target.
@Suite(.dedicatedThreads) struct HostileTargetCallTests {
    @Test("--max-response: an endless body fails the call at the limit, with a message, instead of growing memory")
    func maxResponse() async throws {
        let server = try HostileServer { _ in .endlessBody }
        defer { server.stop() }
        let (code, out, err) = await CallFixtures.call([
            "http://127.0.0.1:\(server.port)/x", "-X", "GET", "--max-response", "65536", "--retries", "0",
        ])
        #expect(code != 0)
        #expect(out.isEmpty)
        #expect(err.contains("65536"), "\(err)")
        server.stop()
        #expect(server.largestEndlessBodySent < 64 << 20)
    }

    @Test("--max-response 0 is a usage error that names the flag")
    func maxResponseFlag() async throws {
        let (code, _, err) = await CallFixtures.call(["http://127.0.0.1:1/x", "--max-response", "0"])
        #expect(code == 2)
        #expect(err.contains("--max-response"), "\(err)")
    }

    @Test("a cut-off answer is retried by loadgen call like a reset, and the retry's answer is printed")
    func cutOffAnswerIsRetried() async throws {
        let server = try HostileServer { number in number == 0 ? .halfResponse : .ok }
        defer { server.stop() }
        let (code, out, _) = await CallFixtures.call([
            "http://127.0.0.1:\(server.port)/x", "-X", "GET", "--base-delay", "1ms", "--max-delay", "2ms",
        ])
        #expect(code == 0)
        #expect(out.hasPrefix("{}"))
        #expect(server.requests == 2)
    }
}
