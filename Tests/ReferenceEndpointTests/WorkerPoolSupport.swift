import Dispatch
import EndpointSpec
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Helpers shared by the worker pool tests: example folders, a captured log, bounded waits.
enum WorkerPoolFixtures {
    /// Indexes into `calculatorRoutes`.
    enum Calc {
        static let add = 0, describe = 1, append = 2, fail = 3, opaque = 4, matrix = 5, shout = 6, sleep = 7,
            crash = 8, nan = 9
    }

    /// The routes of examples/calculator/routes.json, plus one returning NaN.
    static let calculatorRoutes =
        Repository.calculatorRoutes + [RouteSpec(path: "/nan", file: "calculator", function: "not_a_number")]

    static let trivialRoutes = [
        RouteSpec(path: "/predict", file: "predict", function: "predict", positional: true,
                  body: [BodyParam(name: "x", type: .int)])
    ]

    static func configuration(
        _ directory: String, _ routes: [RouteSpec], workers: Int = 1, threads: Int = 1, maxQueue: Int = 1_000,
        timeout: Double = 60
    ) -> WorkerPoolConfiguration {
        var config = WorkerPoolConfiguration(modelDirectory: directory, routes: routes)
        config.workers = workers
        config.threads = threads
        config.maxQueue = maxQueue
        config.callTimeout = timeout
        config.startTimeout = 60
        return config
    }

    /// Submits one call and waits (at most 60 s) for its result.
    static func call(_ pool: WorkerPool, _ route: Int, _ json: String) throws -> WorkerResult {
        let box = Mutex<WorkerResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        let accepted = pool.submit(route: route, arguments: Array(json.utf8)) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        try #require(accepted, "submit was refused")
        try #require(done.wait(timeout: .now() + 60) == .success, "no completion within 60 s")
        return try #require(box.withLock { $0 })
    }

    /// Parses a success body as a JSON object (Foundation, tests only).
    static func object(_ result: WorkerResult) throws -> [String: Any] {
        guard case .success(let body) = result else {
            Issue.record("expected success, got \(result)")
            return [:]
        }
        return try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    static func text(_ result: WorkerResult) -> String? {
        if case .success(let body) = result { return String(decoding: body, as: UTF8.self) }
        return nil
    }

    /// True when `pid` is neither running nor an unreaped child of this process.
    static func isGone(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let waited = waitpid(pid, &status, WNOHANG)
        let notChild = waited == -1 && errno == ECHILD
        let noProcess = kill(pid, 0) == -1 && errno == ESRCH
        return notChild && noProcess
    }
}

/// A temporary model folder with the given files.
final class TemporaryModel: Sendable {
    let path: String

    init(_ files: [String: String]) throws {
        let created = NSTemporaryDirectory() + "/workerpool-model-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: created, withIntermediateDirectories: true)
        path = URL(fileURLWithPath: created).resolvingSymlinksInPath().path
        for (name, text) in files {
            try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
