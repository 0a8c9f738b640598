import Dispatch
import EndpointSpec
import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

@testable import ReferenceEndpoint

private typealias F = WorkerPoolFixtures

/// Issue 12, "Python workers": recycling (`--worker-max-calls`, `--worker-max-rss`), the memory limit
/// (`--worker-memory`), backoff for a model that keeps crashing, `/ping` while no worker is up, a flood of
/// `print` output, and a model that forks or leaves threads behind at shutdown.
@Suite(.serialized, .dedicatedThreads)
struct WorkerLifecycleTests {
    static let model = """
        import os, signal, sys, threading, time

        _held = []

        if os.path.exists("flaky"):
            threading.Timer(0.1, os._exit, (1,)).start()
        if os.path.exists("broken"):
            raise RuntimeError("model temporarily broken")

        def pid():
            return os.getpid()

        def leak(mb):
            # Holds up to 10 chunks of touched memory; sleeps so the twice-a-second RSS check sees it.
            if len(_held) < 10:
                _held.append(b"x" * (mb << 20))
            time.sleep(0.05)
            return os.getpid()

        def hog(mb):
            block = bytearray(mb << 20)
            return {"pid": os.getpid(), "bytes": len(block)}

        def die():
            os._exit(1)

        def spawn():
            child = os.fork()
            if child == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                time.sleep(600)
                os._exit(0)
            return child

        def linger():
            threading.Thread(target=time.sleep, args=(600,), daemon=False).start()
            return os.getpid()

        def longline():
            sys.stdout.write("a" * 40000 + "\\r\\n" + "b\\n\\n" + "tail")
            sys.stdout.flush()
            return 1

        def chatty(lines):
            for i in range(lines):
                print("line", i, "x" * 200)
            sys.stdout.write("y" * 100000)
            return lines
        """

    enum Route {
        static let pid = 0, leak = 1, hog = 2, die = 3, spawn = 4, linger = 5, chatty = 6, longline = 7
    }

    static let routes = [
        RouteSpec(path: "/pid", file: "model", function: "pid"),
        RouteSpec(path: "/leak", file: "model", function: "leak", positional: true, body: [BodyParam(name: "mb", type: .int)]),
        RouteSpec(path: "/hog", file: "model", function: "hog", positional: true, body: [BodyParam(name: "mb", type: .int)]),
        RouteSpec(path: "/die", file: "model", function: "die"),
        RouteSpec(path: "/spawn", file: "model", function: "spawn"),
        RouteSpec(path: "/linger", file: "model", function: "linger"),
        RouteSpec(path: "/chatty", file: "model", function: "chatty", positional: true, body: [BodyParam(name: "lines", type: .int)]),
        RouteSpec(path: "/longline", file: "model", function: "longline"),
    ]

    static func pool(
        _ folder: TemporaryModel, log: CapturedLog, workers: Int = 1, _ adjust: (inout WorkerPoolConfiguration) -> Void = { _ in }
    ) throws -> WorkerPool {
        var config = F.configuration(folder.path, Self.routes, workers: workers)
        adjust(&config)
        let pool = WorkerPool(configuration: config, log: log.log)
        try pool.start()
        return pool
    }

    static func integer(_ result: WorkerResult) -> Int? { F.text(result).flatMap { Int($0) } }

    /// True once `pid` no longer runs (gone, or a zombie waiting for init), polling at most 10 s.
    static func processEnds(_ pid: Int) -> Bool {
        for _ in 0..<1_000 {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
            if let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z" { return true }
            usleep(10_000)
        }
        return false
    }

    // MARK: - Recycling

    /// Calls `route` one at a time until `processes` different workers answered (at most 60 s), checking after
    /// each call that no more than `alive` workers are up. Returns the answering pids in order; every call must
    /// succeed.
    static func callUntilReplaced(
        _ pool: WorkerPool, route: Int, json: String = "{}", processes: Int, alive: Int
    ) throws -> [Int] {
        var pids: [Int] = []
        let deadline = Date().addingTimeInterval(60)
        while Set(pids).count < processes && Date() < deadline {
            pids.append(try #require(Self.integer(try F.call(pool, route, json)), "a call failed"))
            #expect(pool.aliveWorkers <= alive)
        }
        return pids
    }

    @Test("--worker-max-calls 3: a worker's replacement starts after its 3rd call, and it serves until that one is ready")
    func recycleAfterCalls() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log) { $0.maxCallsPerWorker = 3 }
        defer { pool.shutdown() }
        let pids = try Self.callUntilReplaced(pool, route: Route.pid, processes: 3, alive: 2)
        try #require(Set(pids).count == 3, "three workers served in turn: \(Set(pids))")
        // Each worker answered a run of calls, at least 3 (more while its replacement started), and never again.
        var runs: [(pid: Int, count: Int)] = []
        for pid in pids {
            if runs.last?.pid == pid { runs[runs.count - 1].count += 1 } else { runs.append((pid, 1)) }
        }
        #expect(runs.count == 3, "\(runs)")
        #expect(runs.dropLast().allSatisfy { $0.count >= 3 }, "\(runs)")
        #expect(log.waitFor("[worker 0 pid \(pids[0])] it was sent 3 calls (--worker-max-calls 3): starting worker 1 to replace it"))
        #expect(log.waitFor("ready (Python"))
        #expect(log.waitFor("; it takes over from worker 0"))
        #expect(log.waitFor("[worker 0 pid \(pids[0])] recycled: it was sent 3 calls (--worker-max-calls 3)"))
        #expect(Self.processEnds(pids[0]), "the recycled worker is gone")
    }

    @Test("--worker-max-calls under concurrent load: every call succeeds, workers are replaced, at most one extra is up")
    func recycleUnderLoad() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log, workers: 2) { $0.maxCallsPerWorker = 5 }
        defer { pool.shutdown() }
        var seen: Set<Int> = []
        // Bursts of 30 calls at once until five different workers answered (at most 60 s).
        let deadline = Date().addingTimeInterval(60)
        while seen.count < 5 && Date() < deadline {
            let results = Mutex<[WorkerResult]>([])
            let done = DispatchSemaphore(value: 0)
            for _ in 0..<30 {
                try #require(pool.submit(route: Route.pid, arguments: Array("{}".utf8)) { result in
                    results.withLock { $0.append(result) }
                    done.signal()
                })
            }
            for _ in 0..<30 { try #require(done.wait(timeout: .now() + 60) == .success) }
            let pids = results.withLock { $0 }.map(Self.integer)
            #expect(pids.allSatisfy { $0 != nil }, "every call succeeded")
            seen.formUnion(pids.compactMap { $0 })
            #expect(pool.aliveWorkers <= 3)
        }
        #expect(seen.count >= 5, "workers were replaced under load: \(seen.count) served")
        #expect(log.waitFor("recycled: it was sent 5 calls (--worker-max-calls 5)"))
    }

    @Test("recycling never leaves the pool without a worker, even while a slow model imports its replacement")
    func recycleKeepsAWorkerUp() throws {
        // An import that takes 1 s: with break-before-make recycling every call would wait that long twice.
        let folder = try TemporaryModel([
            "slow.py": "import os, time\ntime.sleep(1.0)\n\ndef pid():\n    return os.getpid()\n"
        ])
        var config = F.configuration(folder.path, [RouteSpec(path: "/pid", file: "slow", function: "pid")])
        config.maxCallsPerWorker = 20
        let pool = WorkerPool(configuration: config, log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let stop = Atomic<Bool>(false)
        let lowest = Atomic<Int>(Int.max)
        let sampled = DispatchSemaphore(value: 0)
        let sampler = Thread {
            while !stop.load(ordering: .relaxed) {
                lowest.store(min(lowest.load(ordering: .relaxed), pool.aliveWorkers), ordering: .relaxed)
                usleep(1_000)
            }
            sampled.signal()
        }
        sampler.start()
        let pids = try Self.callUntilReplaced(pool, route: 0, processes: 3, alive: 2)
        stop.store(true, ordering: .relaxed)
        try #require(sampled.wait(timeout: .now() + 10) == .success)
        #expect(Set(pids).count == 3, "two recycles happened")
        #expect(lowest.load(ordering: .relaxed) >= 1, "a worker was ready at every sample")
    }

    @Test("a replacement that cannot start is retried with backoff while the worker it replaces serves on")
    func replacementFailingToStart() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log) { $0.maxCallsPerWorker = 3 }
        defer { pool.shutdown() }
        try "".write(toFile: folder.path + "/broken", atomically: true, encoding: .utf8)
        let first = try #require(Self.integer(try F.call(pool, Route.pid, "{}")))
        for _ in 0..<2 { #expect(Self.integer(try F.call(pool, Route.pid, "{}")) == first) }
        #expect(log.waitFor("model temporarily broken"), "the replacement tried to start and failed")
        // The old worker answers every call meanwhile, past its limit.
        for _ in 0..<20 { #expect(Self.integer(try F.call(pool, Route.pid, "{}")) == first) }
        #expect(pool.aliveWorkers == 1)
        unlink(folder.path + "/broken")
        let pids = try Self.callUntilReplaced(pool, route: Route.pid, processes: 2, alive: 2)
        #expect(Set(pids).count == 2, "once the model imports again, the replacement takes over")
        #expect(log.waitFor("; it takes over from worker 0"))
    }

    @Test("a worker that dies while its replacement starts is not restarted: the replacement takes its place")
    func replacedWorkerDies() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log) { $0.maxCallsPerWorker = 3 }
        defer { pool.shutdown() }
        let first = try #require(Self.integer(try F.call(pool, Route.pid, "{}")))
        for _ in 0..<2 { _ = try F.call(pool, Route.pid, "{}") }
        #expect(try F.call(pool, Route.die, "{}") == .crashed)
        let next = try #require(Self.integer(try F.call(pool, Route.pid, "{}")))
        #expect(next != first)
        #expect(log.waitFor("exited (exit status 1); 1 call in flight failed"))
        // One worker, as configured: the dead worker's slot is not started again (a restart after a crash this
        // soon after start would come 100 ms later; 500 ms are given). The replacement has served one call.
        usleep(500_000)
        #expect(pool.aliveWorkers == 1)
        #expect(pool.currentProcessIDs.compactMap { $0 } == [pid_t(next)], "\(log.contents)")
    }

    static let atexitModel = """
        import atexit, os, time

        def _mark():
            open("atexit-%d" % os.getpid(), "w").close()

        atexit.register(_mark)
        if os.path.exists("hang"):
            atexit.register(time.sleep, 600)  # runs first (last registered): the worker never ends on its own

        def pid():
            return os.getpid()
        """

    /// True once `path` exists, polling at most 10 s.
    static func appears(_ path: String) -> Bool {
        for _ in 0..<1_000 {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(10_000)
        }
        return false
    }

    @Test("a recycled worker ends on its own, so the model's atexit hooks run; at shutdown too")
    func recycledWorkerRunsAtexitHooks() throws {
        let folder = try TemporaryModel(["model.py": Self.atexitModel])
        var config = F.configuration(folder.path, [RouteSpec(path: "/pid", file: "model", function: "pid")])
        config.maxCallsPerWorker = 3
        let log = CapturedLog()
        let pool = WorkerPool(configuration: config, log: log.log)
        try pool.start()
        let pids = try Self.callUntilReplaced(pool, route: 0, processes: 2, alive: 2)
        try #require(Set(pids).count == 2)
        #expect(Self.appears(folder.path + "/atexit-\(pids[0])"), "the recycled worker ran its atexit hooks")
        #expect(Self.processEnds(pids[0]))
        pool.shutdown()
        #expect(Self.appears(folder.path + "/atexit-\(pids[pids.count - 1])"), "so did the last worker at shutdown")
        #expect(!log.contents.contains("did not exit"))
    }

    @Test("a recycled worker that does not end (its atexit hook hangs) is killed after the shutdown grace")
    func recycledWorkerThatHangsIsKilled() throws {
        let folder = try TemporaryModel(["model.py": Self.atexitModel, "hang": ""])
        var config = F.configuration(folder.path, [RouteSpec(path: "/pid", file: "model", function: "pid")])
        config.maxCallsPerWorker = 3
        config.shutdownGrace = 0.3
        let log = CapturedLog()
        let pool = WorkerPool(configuration: config, log: log.log)
        try pool.start()
        defer { pool.shutdown() }
        let pids = try Self.callUntilReplaced(pool, route: 0, processes: 2, alive: 2)
        try #require(Set(pids).count == 2)
        #expect(log.waitFor("[worker 0 pid \(pids[0])] did not exit within 0.3 s of its recycling: killed"))
        #expect(Self.processEnds(pids[0]))
        #expect(Self.integer(try F.call(pool, 0, "{}")) == pids[pids.count - 1], "the replacement serves on")
    }

    @Test("--worker-max-rss: a leaking worker is replaced once its resident memory is over the limit")
    func recycleOnResidentMemory() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log) { $0.maxResidentBytes = 100 << 20 }
        defer { pool.shutdown() }
        let first = try #require(Self.integer(try F.call(pool, Route.leak, #"{"mb":20}"#)))
        var replaced = false
        for _ in 0..<200 where !replaced {
            replaced = try #require(Self.integer(try F.call(pool, Route.leak, #"{"mb":20}"#))) != first
        }
        #expect(replaced)
        #expect(log.waitFor("MB limit (--worker-max-rss)"))
    }

    // MARK: - Memory limit

    @Test("--worker-memory: an allocation past the limit is a MemoryError in that call; the worker goes on")
    func memoryLimit() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log) { $0.memoryLimitBytes = 400 << 20 }
        defer { pool.shutdown() }
        let before = pool.currentProcessIDs
        let result = try F.call(pool, Route.hog, #"{"mb":2000}"#)
        guard case .exception(let type, _) = result else {
            Issue.record("expected MemoryError, got \(result)")
            return
        }
        #expect(type == "MemoryError")
        #expect(try F.object(try F.call(pool, Route.hog, #"{"mb":10}"#))["bytes"] as? Int == 10 << 20)
        #expect(pool.currentProcessIDs == before)
    }

    @Test("--worker-memory over HTTP: 500 naming MemoryError")
    func memoryLimitOverHTTP() throws {
        let folder = try E2ETemporaryModel(["model.py": Self.model])
        var config = EndpointConfiguration(modelDirectory: folder.path, routes: Self.routes)
        config.port = 0
        config.workers = 1
        config.eventLoopThreads = 1
        config.memoryLimitBytes = 400 << 20
        let endpoint = try RunningEndpoint(config)
        let response = try endpoint.send("POST", "/hog", json: #"{"mb":2000}"#)
        #expect(response.status == 500)
        #expect(response.text.contains("MemoryError"))
        #expect(try endpoint.send("POST", "/hog", json: #"{"mb":1}"#).status == 200)
    }

    // MARK: - Crashes

    @Test("a worker that dies soon after it became ready, again and again, is restarted with a growing backoff")
    func crashLoopBacksOff() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log)
        defer { pool.shutdown() }
        try "".write(toFile: folder.path + "/flaky", atomically: true, encoding: .utf8)
        #expect(try F.call(pool, Route.die, "{}") == .crashed)
        #expect(log.waitFor("restarting in 100 ms"))
        #expect(log.waitFor("restarting in 200 ms"))
        #expect(log.waitFor("restarting in 400 ms"))
        unlink(folder.path + "/flaky")
    }

    @Test("/ping answers 503 while no worker is up, 200 once the replacement is ready")
    func pingWhileNoWorker() throws {
        let folder = try E2ETemporaryModel(["model.py": Self.model])
        var config = EndpointConfiguration(modelDirectory: folder.path, routes: Self.routes)
        config.port = 0
        config.workers = 1
        config.eventLoopThreads = 1
        let endpoint = try RunningEndpoint(config)
        try "".write(toFile: folder.path + "/broken", atomically: true, encoding: .utf8)
        #expect(try endpoint.send("POST", "/die").status == 500)
        let ping = try endpoint.send("GET", "/ping")
        #expect(ping.status == 503)
        #expect(ping.header("retry-after") == "1")
        #expect(endpoint.logFile.waitFor("model temporarily broken"))
        #expect(try endpoint.send("GET", "/ping").status == 503)
        unlink(folder.path + "/broken")
        var up = false
        for _ in 0..<3_000 where !up {
            up = try endpoint.send("GET", "/ping").status == 200
            if !up { usleep(10_000) }
        }
        #expect(up)
    }

    // MARK: - Output

    @Test("megabytes of print output into a log nobody reads: the calls answer, lines are dropped and counted")
    func printFlood() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        // A pipe nobody reads, with a small queue: the log must drop lines rather than block the worker.
        let stuck = try EndpointLogTests.StuckPipe()
        let log = EndpointLog(fileDescriptor: stuck.write, capacityBytes: 64 << 10)
        defer { stuck.stop(log) }
        let pool = WorkerPool(configuration: F.configuration(folder.path, Self.routes), log: log)
        try pool.start()
        defer { pool.shutdown() }
        for _ in 0..<5 {
            #expect(F.text(try F.call(pool, Route.chatty, #"{"lines":20000}"#)) == "20000")
        }
        #expect(log.droppedLines > 0)
        #expect(pool.aliveWorkers == 1)
    }

    @Test("output lines: a line over 16 KiB is logged in 16 KiB pieces, CR LF ends a line, a last line without a newline is logged at exit")
    func outputLines() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log)
        let pid = try #require(pool.currentProcessIDs.first ?? nil)
        #expect(F.text(try F.call(pool, Route.longline, "{}")) == "1")
        pool.shutdown()
        #expect(log.log.flush(timeout: 30))  // the log's own thread writes the file
        let prefix = "[worker 0 pid \(pid)] "
        let lines = log.contents.split(separator: "\n", omittingEmptySubsequences: false)
            .compactMap { line in line.range(of: prefix).map { String(line[$0.upperBound...]) } }
        let expected = [String(repeating: "a", count: 16_384), String(repeating: "a", count: 16_384),
                        String(repeating: "a", count: 40_000 - 2 * 16_384), "b", "", "tail"]
        #expect(lines.filter { $0.hasPrefix("a") || $0 == "b" || $0 == "" || $0 == "tail" } == expected)
    }

    // MARK: - Shutdown

    @Test("a model that forks a child ignoring SIGTERM, or leaves a thread running: shutdown ends them all")
    func forkAndThreadsDoNotOutliveShutdown() throws {
        let folder = try TemporaryModel(["model.py": Self.model])
        let log = CapturedLog()
        let pool = try Self.pool(folder, log: log)
        let child = try #require(Self.integer(try F.call(pool, Route.spawn, "{}")))
        let worker = try #require(Self.integer(try F.call(pool, Route.linger, "{}")))
        #expect(child != worker)
        pool.shutdown()
        #expect(Self.processEnds(worker), "worker \(worker) still runs")
        #expect(Self.processEnds(child), "the model's child \(child) still runs")
        if !Self.processEnds(child) { kill(pid_t(child), SIGKILL) }
    }
}
