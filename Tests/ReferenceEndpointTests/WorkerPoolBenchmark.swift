import Dispatch
import EndpointSpec
import Foundation
import ReferenceEndpoint
import Synchronization
import TestSupport
import Testing

/// Raw throughput of the pool on examples/trivial. Prints figures, asserts nothing about speed; runs only
/// with WORKERPOOL_BENCH=1, ideally in release mode:
///
///     WORKERPOOL_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter WorkerPoolBenchmark
@Suite(.serialized, .dedicatedThreads, .enabled(if: ProcessInfo.processInfo.environment["WORKERPOOL_BENCH"] == "1"))
struct WorkerPoolBenchmark {
    @Test func trivialThroughput() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let routes = [
            RouteSpec(path: "/predict", file: "predict", function: "predict", positional: true,
                      body: [BodyParam(name: "x", type: .int)])
        ]
        let env = ProcessInfo.processInfo.environment
        let workers = Int(env["WORKERPOOL_BENCH_WORKERS"] ?? "") ?? 2
        let total = Int(env["WORKERPOOL_BENCH_CALLS"] ?? "") ?? 200_000
        var config = WorkerPoolConfiguration(modelDirectory: root + "/examples/trivial", routes: routes)
        config.workers = workers
        config.maxQueue = 1 << 20
        let pool = WorkerPool(configuration: config, log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let arguments = Array(#"{"x":7}"#.utf8)
        for window in [1, 8, 64, 512] {
            let calls = window == 1 ? total / 10 : total
            let slots = DispatchSemaphore(value: window)
            let finished = DispatchSemaphore(value: 0)
            let failures = Atomic<Int>(0)
            let started = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<calls {
                slots.wait()
                let accepted = pool.submit(route: 0, arguments: arguments) { result in
                    if case .success = result {} else { failures.add(1, ordering: .relaxed) }
                    slots.signal()
                    finished.signal()
                }
                if !accepted {
                    failures.add(1, ordering: .relaxed)
                    slots.signal()
                    finished.signal()
                }
            }
            for _ in 0..<calls { _ = finished.wait(timeout: .now() + 60) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let rate = Int(Double(calls) / seconds)
            print("WorkerPool trivial: \(workers) workers, \(window) calls outstanding: \(calls) calls in "
                + "\(String(format: "%.2f", seconds)) s = \(rate) calls/s (failures: \(failures.load(ordering: .relaxed)))")
        }
    }
}
