import Foundation
import NetIO
import Synchronization
import Testing

@testable import LoadgenCore
@testable import ResilientClient

/// The library (async/await) and loadgen's engine (an event loop) drive one `CallMachine`: the same scripted
/// answers from a real server on 127.0.0.1 give the same sequence of actions through both.
@Suite(.serialized) struct SameActionsTests {
    /// Actions seen by a driver, in order.
    final class Trace: Sendable {
        private let actions = Mutex<[CallAction]>([])
        var all: [CallAction] { actions.withLock { $0 } }
        func add(_ action: CallAction) { actions.withLock { $0.append(action) } }
    }

    /// The scenario's client section and the library configuration it means: no deadline, no budget limit,
    /// jitter off (so the delays are the same numbers), and the engine's fail-fast gate when there is one.
    static func settings(gateThreshold: Int?) -> (ClientSpec, (inout ResilientClientConfiguration) -> Void) {
        let spec = ClientSpec(
            connections: 1, timeout: .seconds(5),
            retry: RetrySpec(maxAttempts: 4, baseDelay: .milliseconds(2), maxDelay: .milliseconds(20), jitter: .none),
            budget: nil, healthGate: gateThreshold.map { HealthGateSpec(failureThreshold: $0, probeInterval: .seconds(5)) })
        let configure: (inout ResilientClientConfiguration) -> Void = { configuration in
            configuration.retry = RetryPolicy(
                maxAttempts: 4, backoff: Backoff(base: .milliseconds(2), multiplier: 2, cap: .milliseconds(20), jitter: .none))
            configuration.budget = .unlimited
            configuration.deadline = nil
            configuration.attemptTimeout = .seconds(5)
            if let gateThreshold {
                // Probes every 5 s, as the spec's `probeInterval` means for the engine: with the default (faster)
                // probe backoff, a loaded machine could delay the retry past a healthy probe, which had moved the
                // library's gate to trial before the retry asked.
                configuration.gate = HealthGate.Configuration(
                    failureThreshold: gateThreshold, trialCalls: 3,
                    probeBackoff: Backoff(base: .seconds(5), multiplier: 1, cap: .seconds(5), jitter: .none))
                configuration.gateWaitMode = .failFast
            } else {
                configuration.gate = .disabled
            }
        }
        return (spec, configure)
    }

    /// One call through the library against a target answering `script` (by request number), then the first
    /// call of a one-user run through the engine against a fresh target with the same script.
    func actions(
        script: [Int], gateThreshold: Int?, hedging: HedgingPolicy? = nil,
        limiter: AdaptiveRateLimiter.Configuration? = nil
    ) async throws -> (library: [CallAction], engine: [CallAction]) {
        var (spec, configure) = Self.settings(gateThreshold: gateThreshold)
        if let limiter {
            spec.adaptiveRateLimit = limiter
            let base = configure
            configure = { configuration in
                base(&configuration)
                configuration.adaptiveRateLimit = limiter
            }
        }
        if let hedging {
            spec.hedging = HedgingSpec(
                delay: DurationValue(hedging.delay), maxAttempts: hedging.maxAttempts, nonFatalStatuses: hedging.nonFatalStatuses)
            let base = configure
            configure = { configuration in
                base(&configuration)
                configuration.hedging = hedging
            }
        }
        // A status, or 0: the request is held, never answered.
        let reply: @Sendable (Int) -> EngineTestReply = { number in
            let status = number < script.count ? script[number] : 200
            return status == 0 ? .hold : .status(status)
        }

        let libraryTrace = Trace()
        let libraryTarget = try EngineTestTarget(reply: reply)
        defer { libraryTarget.shutdown() }
        let transport = try LoopTransport()
        defer { transport.shutdown() }
        var configuration = ResilientClientConfiguration(baseURL: try #require(URL(string: "http://127.0.0.1:\(libraryTarget.port)")))
        configure(&configuration)
        let client = ResilientClient(
            configuration: configuration, transport: transport, clock: SystemClientClock(),
            trace: { libraryTrace.add($0) })
        defer { client.shutdown() }
        _ = try? await client.callJSON(RouteSpec(verb: "GET", path: "/work", file: "", function: "", body: []), .object(JSONObject([])))

        let engineTrace = Trace()
        let engineTarget = try EngineTestTarget(reply: reply)
        defer { engineTarget.shutdown() }
        var engine = NetworkLoadEngine(configuration: .init(threads: 1))
        engine.trace = { index, action in if index == 0 { engineTrace.add(action) } }
        let plan = enginePlan(
            port: engineTarget.port, load: .closed(users: 1, duration: .milliseconds(150), thinkTime: .milliseconds(0)),
            client: spec)
        _ = try await engine.run(plan) { _ in }
        return (libraryTrace.all, engineTrace.all)
    }

    static func send(_ number: Int) -> CallAction {
        .send(CallAttempt(number: number, trial: false, timeout: .seconds(5)))
    }

    static func retry(_ milliseconds: Int64, after status: Int) -> CallAction {
        .retry(after: .milliseconds(milliseconds), reason: DelayReason(cause: .status(status), backoff: .milliseconds(milliseconds)))
    }

    @Test func retriedOverloadThenSuccess() async throws {
        let (library, engine) = try await actions(script: [503, 502, 200], gateThreshold: nil)
        #expect(library == [Self.send(1), Self.retry(2, after: 503), Self.send(2), Self.retry(4, after: 502), Self.send(3), .finish(.succeeded)])
        #expect(engine == library)
    }

    @Test func attemptsExhausted() async throws {
        let (library, engine) = try await actions(script: [503, 503, 503, 503], gateThreshold: nil)
        #expect(library.last == .finish(.gaveUp(.attemptsExhausted)))
        #expect(library.count == 8)
        #expect(engine == library)
    }

    @Test func notRetryableStatus() async throws {
        let (library, engine) = try await actions(script: [500], gateThreshold: nil)
        #expect(library == [Self.send(1), .finish(.gaveUp(.notRetryable))])
        #expect(engine == library)
    }

    @Test func aRetryAtTheClosedGateEndsTheCallInBoth() async throws {
        // Two 503s close the gate (threshold 2); the retry that follows finds it closed.
        let (library, engine) = try await actions(script: [503, 503], gateThreshold: 2)
        #expect(library == [Self.send(1), Self.retry(2, after: 503), Self.send(2), Self.retry(4, after: 503), .finish(.gateBlocked)])
        #expect(engine == library)
    }

    @Test func bothPaceRetriesAfterAThrottleBehindTheAdaptiveRateLimiter() async throws {
        // The first 503 turns the limiter on at its minimum rate (5/s, an empty bucket): a retry then waits for a
        // token (up to 200 ms, far longer than the 2 and 4 ms backoffs), in both drivers. How many retries wait
        // depends on the real time between them (the bucket refills meanwhile; on a loaded machine the second
        // retry may find a token), so the drivers agree on every other action and both pace.
        let limiter = AdaptiveRateLimiter.Configuration(minimumRate: 5)
        let (library, engine) = try await actions(script: [503, 503, 200], gateThreshold: nil, limiter: limiter)
        func isPace(_ action: CallAction) -> Bool {
            if case .pace = action { return true }
            return false
        }
        let expected = [Self.send(1), Self.retry(2, after: 503), Self.send(2), Self.retry(4, after: 503), Self.send(3), .finish(.succeeded)]
        #expect(library.filter { !isPace($0) } == expected)
        #expect(engine.filter { !isPace($0) } == expected)
        #expect(library.contains(where: isPace) && engine.contains(where: isPace), "library \(library), engine \(engine)")
        // A pace comes right after a retry was decided, never before the first attempt, and waits at most one token.
        for actions in [library, engine] {
            for (index, action) in actions.enumerated() where isPace(action) {
                guard index > 0, case .retry = actions[index - 1], case .pace(let wait) = action else {
                    Issue.record("a pace not right after a retry: \(actions)")
                    continue
                }
                #expect(wait >= .zero && wait <= .milliseconds(200))
            }
        }
    }

    @Test func withTheLimiterOnButNoThrottleNothingIsPaced() async throws {
        let limiter = AdaptiveRateLimiter.Configuration(minimumRate: 5)
        let (library, engine) = try await actions(script: [502, 200], gateThreshold: nil, limiter: limiter)
        #expect(library == [Self.send(1), Self.retry(2, after: 502), Self.send(2), .finish(.succeeded)])
        #expect(engine == library)
    }

    @Test func aHedgeWinsOverAHeldAttempt() async throws {
        let hedging = HedgingPolicy(delay: .milliseconds(20), maxAttempts: 2)
        let (library, engine) = try await actions(script: [0], gateThreshold: nil, hedging: hedging)
        #expect(library == [
            .send(CallAttempt(number: 1, trial: false, timeout: .seconds(5), hedgeAfter: .milliseconds(20))),
            Self.send(2), .finish(.succeeded),
        ])
        #expect(engine == library)
    }
}
