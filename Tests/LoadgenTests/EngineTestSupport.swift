import HTTP1
import NetIO
import Synchronization
import Testing

@testable import LoadgenCore

/// What the test target does with one (non-`/ping`) request, given its 0-based number.
enum EngineTestReply: Sendable {
    /// Answer at once.
    case status(Int, headers: [(String, String)] = [])
    /// Answer after `milliseconds` (from another loop).
    case delayed(milliseconds: UInt64, status: Int)
    /// Never answer (the responder is kept until the target shuts down).
    case hold
}

/// An in-process NetIO HTTP server on 127.0.0.1 that counts what it sees.
final class EngineTestTarget: Sendable {
    let group: EventLoopGroup
    let helper: EventLoopGroup
    let server: HTTPServer
    let counters: Counters

    final class Counters: Sendable {
        let requests = Atomic<Int>(0)
        let pings = Atomic<Int>(0)
        let status503 = Atomic<Int>(0)
        let inFlight = Atomic<Int>(0)
        let maxInFlight = Atomic<Int>(0)
        let bodies = Mutex<[String]>([])
        let held = Mutex<[HTTPResponder]>([])
    }

    /// Starts a target; `reply` decides each request's answer, `ping` the status of `GET /ping`.
    init(ping: Int = 200, reply: @escaping @Sendable (Int) -> EngineTestReply) throws {
        let group = try EventLoopGroup(threads: 1, name: "target")
        let helper = try EventLoopGroup(threads: 1, name: "target-delay")
        let counters = Counters()
        let other = helper.loops[0]
        server = try HTTPServer(group: group, port: 0) { request, responder in
            if request.head.target == "/ping" {
                counters.pings.add(1, ordering: .relaxed)
                responder.respond(status: ping, body: Array(#"{"message":"pong"}"#.utf8))
                return
            }
            let number = counters.requests.add(1, ordering: .relaxed).oldValue
            if let body = request.body { counters.bodies.withLock { $0.append(String(decoding: body, as: UTF8.self)) } }
            let now = counters.inFlight.add(1, ordering: .relaxed).newValue
            _ = counters.maxInFlight.max(now, ordering: .relaxed)
            let answer: @Sendable (Int, [(String, String)]) -> Void = { status, headers in
                if status == 503 { counters.status503.add(1, ordering: .relaxed) }
                counters.inFlight.subtract(1, ordering: .relaxed)
                responder.respond(status: status, headers: headers, body: Array("{}".utf8))
            }
            switch reply(number) {
            case .status(let status, let headers):
                answer(status, headers)
            case .delayed(let milliseconds, let status):
                other.execute {
                    other.schedule(after: milliseconds * 1_000_000) { answer(status, []) }
                }
            case .hold:
                counters.held.withLock { $0.append(responder) }
            }
        }
        self.group = group
        self.helper = helper
        self.counters = counters
    }

    var port: Int { server.port }
    var requests: Int { counters.requests.load(ordering: .relaxed) }
    var status503: Int { counters.status503.load(ordering: .relaxed) }

    func shutdown() {
        server.shutdown()
        helper.shutdown()
        group.shutdown()
        // Answer held requests after the shutdown (a no-op then) so none is reported as forgotten.
        for responder in counters.held.withLock({ $0 }) { responder.respond(status: 200) }
        counters.held.withLock { $0.removeAll() }
    }
}

/// A plan for the test target.
func enginePlan(
    port: Int, load: LoadSpec, client: ClientSpec = ClientSpec(connections: 4), warmup: DurationValue = .seconds(0),
    requests: [RequestSpec] = [RequestSpec(route: "/work", method: "GET")], drain: DurationValue? = nil
) -> RunPlan {
    let target = TargetURL(host: "127.0.0.1", port: port)
    let scenario = Scenario(
        name: "engine-test", target: .url(target), requests: requests, load: load, client: client, warmup: warmup)
    var plan = RunPlan(scenario: scenario, target: target)
    plan.progressInterval = .milliseconds(100)
    if let drain { plan.drainTimeout = drain }
    return plan
}

/// Collects progress snapshots.
final class ProgressLog: Sendable {
    let snapshots = Mutex<[ProgressSnapshot]>([])
    func add(_ snapshot: ProgressSnapshot) { snapshots.withLock { $0.append(snapshot) } }
    var all: [ProgressSnapshot] { snapshots.withLock { $0 } }
}

/// Values in a histogram at or above `value`.
func count(_ histogram: Histogram, atLeast value: Int64) -> Int64 {
    histogram.nonZeroCounts().filter { $0.value >= histogram.lowestEquivalentValue(value) }.reduce(0) { $0 + $1.count }
}
