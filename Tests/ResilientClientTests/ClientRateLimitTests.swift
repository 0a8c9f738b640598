import Foundation
import Testing

@testable import ResilientClient

/// The client behind its adaptive rate limiter, with a scripted transport and an injected clock.
@Suite(.timeLimit(.minutes(1))) struct ClientRateLimitTests {
    @Test func offByDefaultNothingIsPaced() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(503), .respond(503), .respond(200, body: catReply)])
        let client = makeClient(transport, clock: clock)
        #expect(try await client.call(predict, cat) == Prediction(label: "cat"))
        #expect(client.counters.paced == 0)
        #expect(clock.slept == [.milliseconds(100), .milliseconds(200)])
    }

    @Test func aThrottleTurnsItOnAndTheNextRetryWaitsForItsToken() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport([.respond(503), .respond(503), .respond(200, body: catReply)])
        let client = makeClient(transport, clock: clock) { $0.adaptiveRateLimit = .init(minimumRate: 5) }
        #expect(try await client.call(predict, cat) == Prediction(label: "cat"))
        // The 503 at 0 ms turns the limiter on at 5/s with an empty bucket. The retry due at 100 ms finds half
        // a token and waits 100 ms for the rest; the one due at 400 ms finds a full token and goes at once.
        let slept = clock.slept
        #expect(slept.count == 3)
        #expect(slept.first == .milliseconds(100))
        #expect(slept.last == .milliseconds(200))
        if slept.count == 3 {
            #expect(abs((slept[1] - .milliseconds(100)) / .nanoseconds(1)) < 1_000)
        }
        let counters = client.counters
        #expect(counters.paced == 1)
        #expect(counters.attempts == 3 && counters.retries == 2)
        #expect(transport.mainRequests == 3)
    }

    @Test func aWaitPastTheDeadlineFailsTheCallAtOnce() async throws {
        let clock = TestClock()
        let transport = ScriptedTransport(mainDefault: .respond(503))
        let client = makeClient(transport, clock: clock) {
            $0.adaptiveRateLimit = .init(minimumRate: 0.5)  // a token every 2 s
            $0.deadline = .seconds(1)
        }
        let (result, report) = await client.callReporting(predict, cat)
        guard case .failure(.deadlineExceeded(let attempts, let last)) = result else {
            Issue.record("expected the deadline, got \(result)")
            return
        }
        // One attempt, a 100 ms backoff, then a wait of about 1.8 s that would end after the deadline.
        #expect(attempts == 1 && last == .status(503))
        #expect(report.attempts.count == 1)
        #expect(clock.slept == [.milliseconds(100)])
        #expect(client.counters.paced == 0)
    }
}
