import EndpointSpec
import Foundation
import Glibc
import ReferenceEndpoint
import Synchronization
import TestSupport
import Testing

@testable import ResilientClient

/// Fixtures for the end-to-end tests: the real reference endpoint (Python workers running the
/// repository's examples) on 127.0.0.1, and a client on its own `LoopTransport`.
enum EndToEnd {
    /// examples/echo: `predict(text) -> {"text", "length"}`.
    static let echo = RouteSpec(
        path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "text", type: .str)])

    /// The calculator routes these tests use, from examples/calculator/routes.json.
    static let add = Repository.calculatorRoute("/add")
    static let describe = Repository.calculatorRoute("/describe")
    static let fail = Repository.calculatorRoute("/fail")
    static let sleep = Repository.calculatorRoute("/sleep")
    static let calculatorRoutes = [add, describe, fail, sleep]

    /// A configuration on 127.0.0.1, a free port, one event loop, no access log.
    static func endpoint(_ model: String, _ routes: [RouteSpec], workers: Int = 1) -> EndpointConfiguration {
        var configuration = EndpointConfiguration(modelDirectory: Repository.example(model), routes: routes)
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.workers = workers
        configuration.eventLoopThreads = 1
        configuration.accessLog = false
        return configuration
    }

    /// Starts a server (Python workers ready, socket bound).
    static func start(_ configuration: EndpointConfiguration) throws -> ReferenceEndpointServer {
        let server = ReferenceEndpointServer(configuration: configuration, log: EndpointLog(enabled: false))
        try server.start()
        return server
    }

    /// A client configuration for `server` with fast, seeded backoff (the tests change what they need).
    static func client(_ url: String) throws -> ResilientClientConfiguration {
        var configuration = ResilientClientConfiguration(baseURL: try #require(URL(string: url)))
        configuration.retry = RetryPolicy(
            maxAttempts: 10, backoff: Backoff(base: .milliseconds(1), multiplier: 2, cap: .milliseconds(5)))
        configuration.gate.probeBackoff = Backoff(base: .milliseconds(10), multiplier: 2, cap: .milliseconds(100))
        configuration.randomSeed = 42
        return configuration
    }

    /// A port that was free a moment ago (bound to port 0, read back, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(bound == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        try #require(named == 0)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `operation(0..<count)` with at most `width` operations in flight; results in index order.
    static func forEach<T: Sendable>(
        count: Int, width: Int, _ operation: @escaping @Sendable (Int) async -> T
    ) async -> [T] {
        await withTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            while next < min(width, count) {
                let index = next
                group.addTask { (index, await operation(index)) }
                next += 1
            }
            while let (index, value) = await group.next() {
                results[index] = value
                if next < count {
                    let index = next
                    group.addTask { (index, await operation(index)) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }

    /// Polls `condition` every 10 ms for at most `seconds`; whether it became true. For waiting on
    /// real processes and sockets, never to time the behaviour under test. (The endpoint counts a
    /// response in `stats` just after writing it, so a client can see the answer before the count.)
    static func waitFor(seconds: Int = 20, _ condition: () async -> Bool) async -> Bool {
        for _ in 0..<(seconds * 100) {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition()
    }
}

/// Wraps a transport and records every request's path and outcome.
final class RecordingTransport: HTTPTransport {
    struct Entry: Sendable {
        var path: String
        var outcome: AttemptOutcome
    }

    let inner: any HTTPTransport
    private let entries = Mutex<[Entry]>([])

    init(_ inner: any HTTPTransport) { self.inner = inner }

    var all: [Entry] { entries.withLock { $0 } }
    var pings: [Entry] { all.filter { $0.path == "/ping" } }

    func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
        do {
            let response = try await inner.send(request, timeout: timeout)
            entries.withLock { $0.append(Entry(path: request.url.path, outcome: .status(response.status))) }
            return response
        } catch {
            entries.withLock { $0.append(Entry(path: request.url.path, outcome: .transport(error.kind))) }
            throw error
        }
    }
}

/// Bodies and replies of the examples, as Codable structs.
struct EchoBody: Codable, Sendable, Equatable {
    var text: String
}

struct EchoReply: Codable, Sendable, Equatable {
    var text: String
    var length: Int
}

struct AddBody: Codable, Sendable, Equatable {
    var a: Int
    var b: Double?
}

struct SumReply: Codable, Sendable, Equatable {
    var sum: Double
}

struct DescribeBody: Codable, Sendable, Equatable {
    var text: String
    var count: Int?
    var flag: Bool?
}

struct DescribeReply: Codable, Sendable, Equatable {
    var text: String
    var count: Int
    var ratio: Double
    var flag: Bool
    var meta: [String: String]
    var items: [Int]
    var types: [String]
}

struct SleepBody: Codable, Sendable, Equatable {
    var seconds: Double
}
