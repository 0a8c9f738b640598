// The per-call cost of ResilientClient over the bare LoopTransport it sends with, against a fixed fast
// target, so that the client's own cost dominates. Built and run by Benchmarks/client-overhead.sh
// (a throwaway package that depends on this repository by path); prints figures, never fails a test.
//
//   bench server PORT                              a NetIO server: POST /predict → {"y":1}, GET /ping → pong
//   bench client URL CALLS CONCURRENCY ROUNDS      the measurement (run it pinned to another core)
//
// Each round runs every variant with the same number of calls and the same concurrency (CONCURRENCY
// tasks each sending CALLS / CONCURRENCY calls back to back over a pool of CONCURRENCY keep-alive
// connections), the variants' order rotating from round to round. Each variant's wall-clock time and the
// process's CPU time (user + system, every thread: the client's own work) are taken per round; the
// overhead is the median over rounds of the ratio to the bare transport in the same round.
import EndpointSpec
import Foundation
import Glibc
import NetIO
import ResilientClient
import Synchronization

let arguments = Array(CommandLine.arguments.dropFirst())

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

// MARK: - The target

if arguments.first == "server" {
    let port = Int(arguments.dropFirst().first ?? "") ?? 18090
    let reply = Array(#"{"y":1}"#.utf8)
    let pong = Array(#"{"message":"pong"}"#.utf8)
    let headers = [("Content-Type", "application/json")]
    let server: HTTPServer
    do {
        let group = try EventLoopGroup(threads: 1, name: "bench-server")
        server = try HTTPServer(group: group, port: port) { request, responder in
            responder.respond(status: 200, headers: headers, body: request.head.target == "/ping" ? pong : reply)
        }
    } catch {
        fail("bench server: cannot listen on 127.0.0.1:\(port): \(error)")
    }
    print("listening on \(server.port)")
    while true { sleep(1000) }
}

// MARK: - The measurement

guard arguments.first == "client", arguments.count == 5, let base = URL(string: arguments[1]),
    let calls = Int(arguments[2]), let concurrency = Int(arguments[3]), let rounds = Int(arguments[4]),
    calls > 0, concurrency > 0, rounds > 0
else { fail("usage: bench server PORT | bench client URL CALLS CONCURRENCY ROUNDS") }

struct Body: Codable, Sendable { var x: Int }
struct Reply: Codable, Sendable { var y: Int }

let transport = try LoopTransport(configuration: .init(maxConnectionsPerHost: concurrency))
let route = RouteSpec(path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "x", type: .int)])
let typed = Route<Body, Reply>(route)
let value = JSONValue.object(JSONObject([.init(key: "x", value: .number("1"))]))
guard let url = URL(string: arguments[1] + "/predict") else { fail("bad URL \(arguments[1])") }
let jsonHeaders = [(name: "Accept", value: "application/json"), (name: "Content-Type", value: "application/json")]
let bare = TransportRequest(method: "POST", url: url, headers: jsonHeaders, body: JSON.serialize(value))
let encoder = JSONEncoder()
let decoder = JSONDecoder()
// The client as an application would configure it: default policy, budget, gate, 30 s deadline and
// 10 s attempt timeout.
let client = ResilientClient(configuration: ResilientClientConfiguration(baseURL: base), transport: transport)
// The same without a deadline or attempt timeout: no timer task races each attempt (shows what the timers cost).
let untimed = ResilientClient(
    configuration: ResilientClientConfiguration(baseURL: base, deadline: nil, attemptTimeout: nil), transport: transport)

enum Variant: String, CaseIterable {
    case bare = "LoopTransport.send (bare)"
    case bareJSON = "bare + JSON by hand"
    case bareCodable = "bare + Codable by hand"
    case json = "ResilientClient.callJSON"
    case untimed = "callJSON, no deadline/timeout"
    case typed = "ResilientClient.call (Codable)"

    /// What a caller without the library writes for the same result: the bare transport plus the same
    /// encoding of the body and decoding of the reply.
    var byHand: Variant? {
        switch self {
        case .bare, .bareJSON, .bareCodable: return nil
        case .json, .untimed: return .bareJSON
        case .typed: return .bareCodable
        }
    }

    /// The variants to run: all, or those named in `VARIANTS` (e.g. `VARIANTS=bare,json`, for a profiler).
    static let selected: [Variant] = {
        guard let names = ProcessInfo.processInfo.environment["VARIANTS"]?.split(separator: ",") else {
            return allCases
        }
        return allCases.filter { names.contains(Substring("\($0)")) }
    }()
}

/// One call of `variant`; `false` if it did not succeed.
@Sendable func once(_ variant: Variant) async -> Bool {
    switch variant {
    case .bare:
        do {
            return try await transport.send(bare, timeout: .seconds(10)).status == 200
        } catch {
            return false
        }
    case .bareJSON:
        // Serialize the body, send it, parse the reply.
        do {
            let request = TransportRequest(method: "POST", url: url, headers: jsonHeaders, body: JSON.serialize(value))
            let response = try await transport.send(request, timeout: .seconds(10))
            return response.status == 200 && (try? JSON.parse(response.body)) != nil
        } catch {
            return false
        }
    case .bareCodable:
        do {
            let body = try Array(encoder.encode(Body(x: 1)))
            let request = TransportRequest(method: "POST", url: url, headers: jsonHeaders, body: body)
            let response = try await transport.send(request, timeout: .seconds(10))
            return try response.status == 200 && decoder.decode(Reply.self, from: Data(response.body)).y == 1
        } catch {
            return false
        }
    case .json:
        do {
            _ = try await client.callJSON(route, value)
            return true
        } catch {
            return false
        }
    case .untimed:
        do {
            _ = try await untimed.callJSON(route, value)
            return true
        } catch {
            return false
        }
    case .typed:
        do {
            return try await client.call(typed, Body(x: 1)).y == 1
        } catch {
            return false
        }
    }
}

/// Seconds of CPU (user and system, all threads) this process has used so far.
@Sendable func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

struct Sample {
    var wall: Double
    var cpu: Double
}

/// Wall-clock and CPU seconds taken by `calls` calls of `variant` from `concurrency` tasks.
@Sendable func measure(_ variant: Variant, calls: Int) async -> Sample {
    let start = ContinuousClock.now
    let cpuStart = cpuSeconds()
    let failures = await withTaskGroup(of: Int.self) { group in
        for worker in 0..<concurrency {
            let share = calls / concurrency + (worker < calls % concurrency ? 1 : 0)
            group.addTask {
                var failures = 0
                for _ in 0..<share where !(await once(variant)) { failures += 1 }
                return failures
            }
        }
        return await group.reduce(0, +)
    }
    let cpu = cpuSeconds() - cpuStart
    let elapsed = start.duration(to: .now)
    if failures > 0 { fail("\(variant.rawValue): \(failures) of \(calls) calls failed") }
    let (seconds, attoseconds) = elapsed.components
    return Sample(wall: Double(seconds) + Double(attoseconds) / 1e18, cpu: cpu)
}

/// Runs `body` on the concurrency pool while the main thread waits. The bench's main code is synchronous:
/// an async main parks the main thread in `dispatch_main`, whose `sigsuspend` valgrind (3.19) cannot run,
/// and this bench should run under callgrind, which counts instructions where timings are too noisy.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let value = await body()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    guard let value = result.withLock({ $0 }) else { fail("the measurement task ended without a result") }
    return value
}

let samples = blocking { () async -> [Variant: [Sample]] in
    // Warm-up: connections open, code paths hot.
    for variant in Variant.selected { _ = await measure(variant, calls: min(calls, 2000)) }
    var samples: [Variant: [Sample]] = [:]
    for round in 0..<rounds {
        let variants = Variant.selected
        let order = variants.indices.map { variants[($0 + round) % variants.count] }
        for variant in order { samples[variant, default: []].append(await measure(variant, calls: calls)) }
    }
    return samples
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

/// The median over rounds of `variant`'s figure divided by `baseline`'s in the same round, as a percentage
/// over 1: rounds run back to back, so a slow spell of a shared machine affects both sides.
func overhead(_ variant: Variant, over baseline: Variant?, _ figure: (Sample) -> Double) -> String {
    guard let baseline, variant != baseline, let base = samples[baseline], let mine = samples[variant] else {
        return ""
    }
    return fixed((median(zip(mine, base).map { figure($0) / figure($1) }) - 1) * 100, 1) + "%"
}

print("\(calls) calls × \(rounds) rounds, concurrency \(concurrency); medians over rounds")
print("".padding(toLength: 74, withPad: " ", startingAt: 0) + "overhead over bare   over same work by hand")
print("variant".padding(toLength: 32, withPad: " ", startingAt: 0)
    + "   calls/s  wall µs/call  CPU µs/call      wall     CPU           wall     CPU")
for variant in Variant.selected {
    let rows = samples[variant] ?? []
    let wall = median(rows.map(\.wall))
    let cpu = median(rows.map(\.cpu))
    var line = variant.rawValue.padding(toLength: 32, withPad: " ", startingAt: 0)
    line += fixed(Double(calls) / wall, 0).leftPadded(10)
    line += fixed(wall / Double(calls) * 1e6, 2).leftPadded(14)
    line += fixed(cpu / Double(calls) * 1e6, 2).leftPadded(13)
    line += overhead(variant, over: .bare, \.wall).leftPadded(10) + overhead(variant, over: .bare, \.cpu).leftPadded(8)
    line += overhead(variant, over: variant.byHand, \.wall).leftPadded(15)
    line += overhead(variant, over: variant.byHand, \.cpu).leftPadded(8)
    print(line)
}
let counters = [client.counters, untimed.counters]
print(
    "client counters: \(counters.map(\.calls).reduce(0, +)) calls, \(counters.map(\.retries).reduce(0, +)) retries, "
        + "\(counters.map(\.failed).reduce(0, +)) failed")
transport.shutdown()

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
