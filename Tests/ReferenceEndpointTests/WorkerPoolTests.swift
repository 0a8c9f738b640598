import Dispatch
import EndpointSpec
import Foundation
import Glibc
import NetIO
import Synchronization
import TestSupport
import Testing

@testable import ReferenceEndpoint

private typealias F = WorkerPoolFixtures
private typealias Calc = WorkerPoolFixtures.Calc

/// Real python3 worker processes; serialized so that the 2-core machine is not flooded with workers.
@Suite(.serialized, .dedicatedThreads)
struct WorkerPoolTests {
    // MARK: - Calls

    @Test func keywordCallEchoesUnicode() throws {
        let routes = [RouteSpec(path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "text", type: .str)])]
        let pool = WorkerPool(configuration: F.configuration(Repository.example("echo"), routes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        #expect(pool.aliveWorkers == 1)
        let result = try F.call(pool, 0, #"{"text":"héllo ✓"}"#)
        #expect(F.text(result) == #"{"text":"héllo ✓","length":7}"#)
    }

    @Test func positionalCallsUseTemplateOrderAndDefaults() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":2,"b":0.5}"#)) == #"{"sum":2.5}"#)
        // Key order in the arguments object does not matter: positional order is the template's.
        #expect(F.text(try F.call(pool, Calc.add, #"{"b":0.25,"a":1}"#)) == #"{"sum":1.25}"#)
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":2}"#)) == #"{"sum":3.5}"#)
    }

    @Test func keywordCallsGetTemplateDefaultsOfEveryType() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let defaults = try F.call(pool, Calc.describe, #"{"text":"t"}"#)
        #expect(F.text(defaults) == #"{"text":"t","count":3,"ratio":0.25,"flag":true,"meta":{"k":"v"},"items":[1,2],"types":["str","int","float","bool","dict","list"]}"#)
        let given = try F.call(
            pool, Calc.describe, #"{"items":[],"text":"u","count":-1,"ratio":1e300,"flag":false,"meta":{}}"#)
        #expect(F.text(given) == #"{"text":"u","count":-1,"ratio":1e+300,"flag":false,"meta":{},"items":[],"types":["str","int","float","bool","dict","list"]}"#)
    }

    @Test func mutableDefaultsAreFreshForEveryCall() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        #expect(F.text(try F.call(pool, Calc.append, "{}")) == #"["a",null]"#)
        #expect(F.text(try F.call(pool, Calc.append, #"{"item":"b"}"#)) == #"["a","b"]"#)
        #expect(F.text(try F.call(pool, Calc.append, "{}")) == #"["a",null]"#)
    }

    @Test func callsSubmittedFromALoopWaitForTheIterationsEndThenAllComplete() throws {
        let pool = WorkerPool(configuration: F.configuration(Repository.example("trivial"), F.trivialRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let group = try EventLoopGroup(threads: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let count = 200
        let answers = Mutex<[Int: String]>([:])
        let done = DispatchSemaphore(value: 0)
        let beforeTheEnd = Mutex<(waiting: Int, inFlight: Int)?>(nil)
        loop.execute {
            for x in 0..<count {
                let accepted = pool.submit(route: 0, arguments: Array("{\"x\": \(x)}".utf8), deferringTo: loop) { result in
                    answers.withLock { $0[x] = F.text(result) ?? "\(result)" }
                    done.signal()
                }
                if !accepted { Issue.record("call \(x) refused") }
            }
            // Still on the loop, before the iteration ends: everything waits, nothing was written to the worker.
            beforeTheEnd.withLock { $0 = (pool.waitingCalls, pool.inFlightCalls) }
        }
        for _ in 0..<count { try #require(done.wait(timeout: .now() + 60) == .success, "a call did not complete") }
        #expect(beforeTheEnd.withLock { $0 }.map { $0.waiting == count && $0.inFlight == 0 } == true)
        let all = answers.withLock { $0 }
        #expect(all.count == count)
        #expect((0..<count).allSatisfy { all[$0] == "{\"y\":\($0)}" })
    }

    @Test(arguments: [1, 2])
    func resultsEncodeAsJSONEncoderDidAfterAnErrorAndOnThreads(threads: Int) throws {
        let model = try TemporaryModel(["enc.py": """
            SHARED = {"list": [1, 2.5, "é\\u0000"], "nested": {"t": True, "n": None}}
            def circular():
                a = []
                a.append([a])
                return {"a": a}
            def shared():
                return SHARED
            """])
        let routes = [
            RouteSpec(path: "/circular", file: "enc", function: "circular"),
            RouteSpec(path: "/shared", file: "enc", function: "shared"),
        ]
        let pool = WorkerPool(configuration: F.configuration(model.path, routes, threads: threads), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        #expect(try F.call(pool, 0, "{}") == .exception(type: "ValueError", message: "Circular reference detected"))
        // The encoder's circular-reference check forgets the failed result: the same objects encode afterwards,
        // also from many calls at once.
        let expected = #"{"list":[1,2.5,"é\u0000"],"nested":{"t":true,"n":null}}"#
        let answers = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<40 {
            let accepted = pool.submit(route: 1, arguments: Array("{}".utf8)) { result in
                answers.withLock { $0.append(F.text(result) ?? "\(result)") }
                done.signal()
            }
            try #require(accepted)
        }
        for _ in 0..<40 { try #require(done.wait(timeout: .now() + 60) == .success) }
        #expect(answers.withLock { $0 }.allSatisfy { $0 == expected })
    }

    @Test func aBurstDeferredToTheIterationsEndIsAdmittedAsOneSentAtOnce() throws {
        // Ten 1 s calls at once against one worker and a queue of 2: the same number is admitted whether each
        // call goes to the worker as it comes or all wait for the end of the loop's iteration (the calls an idle
        // worker would take are not "waiting for a worker", so they must not fill the queue).
        func admitted(deferred: Bool) throws -> Int {
            let pool = WorkerPool(
                configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, maxQueue: 2),
                log: EndpointLog(enabled: false))
            try pool.start()
            defer { pool.shutdown() }
            let group = try EventLoopGroup(threads: 1)
            defer { group.shutdown() }
            let loop = group.loops[0]
            let count = Mutex<Int?>(nil)
            let done = DispatchSemaphore(value: 0)
            loop.execute {
                var accepted = 0
                for _ in 0..<10 {
                    let arguments = Array(#"{"seconds":1}"#.utf8)
                    if pool.submit(route: Calc.sleep, arguments: arguments, deferringTo: deferred ? loop : nil, { _ in }) {
                        accepted += 1
                    }
                }
                count.withLock { $0 = accepted }
                done.signal()
            }
            try #require(done.wait(timeout: .now() + 60) == .success)
            return try #require(count.withLock { $0 })
        }
        let direct = try admitted(deferred: false)
        #expect(direct >= 3)
        #expect(try admitted(deferred: true) == direct)
    }

    @Test func drainWaitsUntilTheCompletionsOfAnsweredCallsHaveReturned() throws {
        let pool = WorkerPool(configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        // A completion that takes its time (as handing an answer to a busy event loop can): the call has left
        // the worker, but its answer is not on its way until the completion returns.
        let returned = Atomic<Bool>(false)
        let accepted = pool.submit(route: Calc.sleep, arguments: Array(#"{"seconds":0.2}"#.utf8)) { _ in
            usleep(500_000)
            returned.store(true, ordering: .releasing)
        }
        try #require(accepted)
        #expect(pool.drain(timeout: 30) == 0)
        let completionReturned = returned.load(ordering: .acquiring)
        #expect(completionReturned, "drain returned while an answered call's completion was still running")
    }

    @Test func exceptionBecomesResultAndTracebackGoesToLog() throws {
        let log = CapturedLog()
        let pool = WorkerPool(configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: log.log)
        try pool.start()
        let result = try F.call(pool, Calc.fail, #"{"message":"bad input"}"#)
        #expect(result == .exception(type: "ValueError", message: "bad input"))
        // The worker still serves calls afterwards.
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":1,"b":1.0}"#)) == #"{"sum":2.0}"#)
        let pid = try #require(pool.currentProcessIDs.first ?? nil)
        pool.shutdown()
        #expect(log.log.flush(timeout: 30))  // the log's own thread writes the file (it may lag on a loaded machine)
        let text = log.contents
        #expect(text.contains("[worker 0 pid \(pid)] Traceback (most recent call last):"))
        #expect(text.contains("[worker 0 pid \(pid)] ValueError: bad input"))
        #expect(text.contains("route POST /fail: fail() raised ValueError: bad input"))
    }

    @Test func unencodableResultsBecomeExceptions() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        #expect(try F.call(pool, Calc.opaque, "{}") == .exception(type: "TypeError", message: "Object of type Opaque is not JSON serializable"))
        #expect(try F.call(pool, Calc.nan, "{}") == .exception(type: "ValueError", message: "Out of range float values are not JSON compliant"))
        // Objects with .tolist() (numpy arrays) and .item() (numpy scalars) are converted.
        #expect(F.text(try F.call(pool, Calc.matrix, #"{"n":2}"#)) == #"{"matrix":[[0,1],[2,3]],"trace":3}"#)
    }

    @Test func argumentsThatAreNotJSONFailOnlyThatCall() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        guard case .exception(let type, _) = try F.call(pool, Calc.add, "{not json") else {
            Issue.record("expected an exception")
            return
        }
        #expect(type == "JSONDecodeError")
        guard case .exception(let missingType, let message) = try F.call(pool, Calc.add, "{}") else {
            Issue.record("expected an exception")
            return
        }
        #expect(missingType == "TypeError")
        #expect(message == "missing required argument 'a'")
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":1}"#)) == #"{"sum":2.5}"#)
    }

    @Test func printsGoToTheLogNotTheProtocol() throws {
        let log = CapturedLog()
        let pool = WorkerPool(configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: log.log)
        try pool.start()
        let pid = try #require(pool.currentProcessIDs.first ?? nil)
        for _ in 0..<3 {
            #expect(F.text(try F.call(pool, Calc.shout, #"{"text":"hi"}"#)) == #"{"shouted":"HI"}"#)
        }
        pool.shutdown()  // drains the output pipe
        // The log's own thread writes the file: wait until it has (on a loaded machine it may lag).
        #expect(log.log.flush(timeout: 30))
        let lines = log.contents.split(separator: "\n")
        #expect(lines.filter { $0.hasSuffix("[worker 0 pid \(pid)] shout: hi") }.count == 3)
        #expect(lines.filter { $0.hasSuffix("[worker 0 pid \(pid)] raw stdout: hi") }.count == 3)
        #expect(lines.filter { $0.hasSuffix("[worker 0 pid \(pid)] stderr: hi") }.count == 3)
        #expect(log.contents.contains("[worker 0 pid \(pid)] ready (Python 3."))
    }

    @Test func delayIsSpentInTheWorkerBeforeEachCall() throws {
        var config = F.configuration(Repository.example("calculator"), F.calculatorRoutes)
        config.delayMilliseconds = 200
        let pool = WorkerPool(configuration: config, log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let before = Date().timeIntervalSince1970
        let object = try F.object(try F.call(pool, Calc.sleep, #"{"seconds":0}"#))
        let started = try #require(object["started"] as? Double)
        // The function starts only after the injected delay (a lower bound, not a timing threshold).
        #expect(started - before >= 0.19)
    }

    // MARK: - Concurrency and admission

    @Test func threadsRunCallsConcurrently() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, threads: 4),
            log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let results = Mutex<[WorkerResult]>([])
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<4 {
            #expect(pool.submit(route: Calc.sleep, arguments: Array(#"{"seconds":0.5}"#.utf8)) { result in
                results.withLock { $0.append(result) }
                done.signal()
            })
        }
        for _ in 0..<4 { try #require(done.wait(timeout: .now() + 60) == .success) }
        let spans = try results.withLock { $0 }.map { result -> (Double, Double) in
            let object = try F.object(result)
            return (try #require(object["started"] as? Double), try #require(object["ended"] as? Double))
        }
        #expect(spans.count == 4)
        // All four were sleeping at the same time: every one started before any one ended.
        let lastStart = spans.map(\.0).max() ?? 0
        let firstEnd = spans.map(\.1).min() ?? 0
        #expect(lastStart < firstEnd)
    }

    @Test func queueFullRefusesAtOnce() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, maxQueue: 2),
            log: EndpointLog(enabled: false))
        try pool.start()
        let counts = Mutex<[Int]>([0, 0, 0])
        let arguments = Array(#"{"seconds":30}"#.utf8)
        var accepted: [Bool] = []
        for index in 0..<3 {
            accepted.append(pool.submit(route: Calc.sleep, arguments: arguments) { result in
                #expect(result == .crashed)
                counts.withLock { $0[index] += 1 }
            })
        }
        // One call runs, two wait: the queue is full.
        #expect(accepted == [true, true, true])
        #expect(pool.waitingCalls == 2)
        #expect(!pool.submit(route: Calc.sleep, arguments: arguments) { _ in Issue.record("refused call completed") })
        pool.shutdown()
        #expect(counts.withLock { $0 } == [1, 1, 1])
        #expect(!pool.submit(route: Calc.add, arguments: Array(#"{"a":1}"#.utf8)) { _ in Issue.record("completed") })
    }

    @Test func submitIsRefusedBeforeStartAndForUnknownRoutes() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes), log: EndpointLog(enabled: false))
        #expect(!pool.submit(route: Calc.add, arguments: Array(#"{"a":1}"#.utf8)) { _ in Issue.record("completed") })
        try pool.start()
        defer { pool.shutdown() }
        #expect(!pool.submit(route: 99, arguments: []) { _ in Issue.record("completed") })
        #expect(!pool.submit(route: -1, arguments: []) { _ in Issue.record("completed") })
        do {
            try pool.start()
            Issue.record("second start succeeded")
        } catch {
            #expect(error.message == "the worker pool was already started")
        }
    }

    @Test func manyConcurrentSubmitsCompleteExactlyOnce() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("trivial"), F.trivialRoutes, workers: 2, maxQueue: 100_000),
            log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        let total = 5_000
        let counts = Mutex<[Int]>(Array(repeating: 0, count: total))
        let wrong = Atomic<Int>(0)
        let refused = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.concurrentPerform(iterations: 8) { chunk in
            for i in stride(from: chunk, to: total, by: 8) {
                let accepted = pool.submit(route: 0, arguments: Array(#"{"x":\#(i)}"#.utf8)) { result in
                    if F.text(result) != #"{"y":\#(i)}"# { wrong.add(1, ordering: .relaxed) }
                    counts.withLock { $0[i] += 1 }
                    done.signal()
                }
                if !accepted {
                    refused.add(1, ordering: .relaxed)
                    done.signal()
                }
            }
        }
        for _ in 0..<total { try #require(done.wait(timeout: .now() + 60) == .success) }
        #expect(refused.load(ordering: .relaxed) == 0)
        #expect(wrong.load(ordering: .relaxed) == 0)
        #expect(counts.withLock { $0.allSatisfy { $0 == 1 } })
    }

    // MARK: - Crashes and hangs

    @Test func crashFailsEveryInFlightCallOnceAndPoolKeepsServing() throws {
        let log = CapturedLog()
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, threads: 4), log: log.log)
        try pool.start()
        let firstPID = try #require(pool.currentProcessIDs.first ?? nil)
        let counts = Mutex<[Int]>([0, 0, 0, 0])
        let results = Mutex<[WorkerResult]>([])
        let done = DispatchSemaphore(value: 0)
        let calls: [(Int, String)] = [
            (Calc.sleep, #"{"seconds":30}"#), (Calc.sleep, #"{"seconds":30}"#), (Calc.sleep, #"{"seconds":30}"#),
            (Calc.crash, #"{"code":7}"#),
        ]
        // threads = 4: all four calls are in flight on the one worker when the crash happens.
        for (index, call) in calls.enumerated() {
            #expect(pool.submit(route: call.0, arguments: Array(call.1.utf8)) { result in
                counts.withLock { $0[index] += 1 }
                results.withLock { $0.append(result) }
                done.signal()
            })
        }
        for _ in 0..<4 { try #require(done.wait(timeout: .now() + 60) == .success) }
        #expect(results.withLock { $0 } == Array(repeating: .crashed, count: 4))
        // A call submitted now waits for the replacement and succeeds.
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":1}"#)) == #"{"sum":2.5}"#)
        #expect(pool.aliveWorkers == 1)
        let secondPID = try #require(pool.currentProcessIDs.first ?? nil)
        #expect(secondPID != firstPID)
        pool.shutdown()
        #expect(log.log.flush(timeout: 30))  // the log's own thread writes the file (it may lag on a loaded machine)
        #expect(counts.withLock { $0 } == [1, 1, 1, 1])
        #expect(log.contents.contains("[worker 0 pid \(firstPID)] exited (exit status 7); 4 calls in flight failed"))
        for pid in pool.spawnedProcessIDs { #expect(F.isGone(pid)) }
    }

    @Test func crashWithOneThreadFailsOnlyThatWorkersCalls() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, workers: 2),
            log: EndpointLog(enabled: false))
        try pool.start()
        defer { pool.shutdown() }
        #expect(try F.call(pool, Calc.crash, "{}") == .crashed)
        for value in 0..<10 {
            #expect(F.text(try F.call(pool, Calc.add, #"{"a":\#(value),"b":0.0}"#)) == #"{"sum":\#(value).0}"#)
        }
    }

    @Test func hungCallTimesOutAndWorkerIsReplaced() throws {
        let log = CapturedLog()
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, timeout: 0.5), log: log.log)
        try pool.start()
        let firstPID = try #require(pool.currentProcessIDs.first ?? nil)
        #expect(try F.call(pool, Calc.sleep, #"{"seconds":60}"#) == .timedOut)
        #expect(F.text(try F.call(pool, Calc.add, #"{"a":1}"#)) == #"{"sum":2.5}"#)
        let secondPID = try #require(pool.currentProcessIDs.first ?? nil)
        #expect(secondPID != firstPID)
        #expect(F.isGone(firstPID))
        pool.shutdown()
        #expect(log.log.flush(timeout: 30))  // the log's own thread writes the file (it may lag on a loaded machine)
        #expect(log.contents.contains("[worker 0 pid \(firstPID)] killed: a call to POST /sleep ran longer than the 0.5 s call timeout (signal 9"))
    }

    @Test func replacementThatFailsAtStartIsRetriedWithBackoff() throws {
        let model = try TemporaryModel([
            "predict.py": """
                import os
                if os.path.exists("broken"):
                    raise RuntimeError("model temporarily broken")
                def predict(x):
                    return x
                def die():
                    os._exit(1)
                """
        ])
        let log = CapturedLog()
        let routes = [
            RouteSpec(path: "/p", file: "predict", function: "predict", positional: true, body: [BodyParam(name: "x", type: .int)]),
            RouteSpec(path: "/die", file: "predict", function: "die"),
        ]
        let pool = WorkerPool(configuration: F.configuration(model.path, routes), log: log.log)
        try pool.start()
        defer { pool.shutdown() }
        try "".write(toFile: model.path + "/broken", atomically: true, encoding: .utf8)
        #expect(try F.call(pool, 1, "{}") == .crashed)
        let waiting = Mutex<WorkerResult?>(nil)
        let done = DispatchSemaphore(value: 0)
        #expect(pool.submit(route: 0, arguments: Array(#"{"x":42}"#.utf8)) { result in
            waiting.withLock { $0 = result }
            done.signal()
        })
        #expect(log.waitFor("failed to start: route POST /p: importing predict.py failed: RuntimeError: model temporarily broken"))
        #expect(log.waitFor("restarting in 100 ms"))
        #expect(pool.aliveWorkers == 0)
        unlink(model.path + "/broken")
        try #require(done.wait(timeout: .now() + 60) == .success)
        #expect(waiting.withLock { $0 }.flatMap(F.text) == "42")
        #expect(pool.aliveWorkers == 1)
    }

    // MARK: - Start errors

    private func expectStartFailure(
        _ config: WorkerPoolConfiguration, sourceLocation: SourceLocation = #_sourceLocation
    ) -> (message: String, pool: WorkerPool) {
        let pool = WorkerPool(configuration: config, log: EndpointLog(enabled: false))
        do {
            try pool.start()
            Issue.record("start succeeded", sourceLocation: sourceLocation)
            pool.shutdown()
            return ("", pool)
        } catch {
            #expect(pool.aliveWorkers == 0, sourceLocation: sourceLocation)
            for pid in pool.spawnedProcessIDs { #expect(F.isGone(pid), "pid \(pid) left behind", sourceLocation: sourceLocation) }
            #expect(!pool.submit(route: 0, arguments: Array("{}".utf8)) { _ in }, sourceLocation: sourceLocation)
            pool.shutdown()
            return (error.message, pool)
        }
    }

    private static let brokenModel: [String: String] = [
        "predict.py": "def predict(x):\n    return x\n",
        "broken_import.py": "import no_such_module_xyz\n",
        "dies.py": "import os\nos._exit(7)\n",
        "syntax.py": "def f(:\n",
    ]

    @Test func missingFunctionFailsStart() throws {
        let model = try TemporaryModel(Self.brokenModel)
        let routes = [RouteSpec(path: "/predict", file: "predict", function: "predict_image", positional: true)]
        let failure = expectStartFailure(F.configuration(model.path, routes, workers: 2))
        #expect(failure.message == "route POST /predict: function 'predict_image' not found in predict.py")
        #expect(failure.pool.spawnedProcessIDs.count >= 1)
    }

    @Test func invalidDefaultValueFailsStart() throws {
        let model = try TemporaryModel(Self.brokenModel)
        let routes = [
            RouteSpec(path: "/predict", file: "predict.py", function: "predict", positional: true,
                      body: [BodyParam(name: "x", type: .int, optional: true, defaultValue: "os.getcwd()")])
        ]
        let failure = expectStartFailure(F.configuration(model.path, routes))
        #expect(failure.message.hasPrefix("route POST /predict: default_value for 'x' is not a valid Python literal: os.getcwd() ("))
    }

    @Test func missingFileFailsStart() throws {
        let model = try TemporaryModel(Self.brokenModel)
        let routes = [RouteSpec(path: "/predict", file: "missing", function: "predict")]
        let failure = expectStartFailure(F.configuration(model.path, routes))
        #expect(failure.message == "route POST /predict: model file missing.py not found in \(model.path)")
    }

    @Test func fileOutsideTheModelFolderFailsStart() throws {
        let model = try TemporaryModel(Self.brokenModel)
        for file in ["../predict", "/etc/passwd"] {
            let routes = [RouteSpec(path: "/predict", file: file, function: "predict")]
            let failure = expectStartFailure(F.configuration(model.path, routes))
            #expect(failure.message == "route POST /predict: file '\(file)' resolves outside the model folder \(model.path)")
        }
    }

    @Test func importErrorFailsStart() throws {
        let model = try TemporaryModel(Self.brokenModel)
        let routes = [RouteSpec(path: "/b", file: "broken_import", function: "predict")]
        let failure = expectStartFailure(F.configuration(model.path, routes, workers: 2))
        #expect(failure.message == "route POST /b: importing broken_import.py failed: ModuleNotFoundError: No module named 'no_such_module_xyz'")
        let syntax = expectStartFailure(F.configuration(model.path, [RouteSpec(path: "/s", file: "syntax", function: "f")]))
        #expect(syntax.message.hasPrefix("route POST /s: importing syntax.py failed: SyntaxError: "))
    }

    @Test func workerExitingDuringImportFailsStart() throws {
        let model = try TemporaryModel(Self.brokenModel)
        let routes = [RouteSpec(path: "/d", file: "dies", function: "predict")]
        let failure = expectStartFailure(F.configuration(model.path, routes))
        #expect(failure.message.hasPrefix("worker 0 exited while starting (exit status 7)"))
    }

    @Test func missingInterpreterOrFolderFailsStart() throws {
        var config = F.configuration(Repository.example("echo"), [RouteSpec(path: "/p", file: "predict", function: "predict")])
        config.pythonPath = "/nonexistent/python3"
        let failure = expectStartFailure(config)
        #expect(failure.message == "cannot start the Python interpreter '/nonexistent/python3': No such file or directory")
        let folder = expectStartFailure(F.configuration("/nonexistent/model", [RouteSpec(path: "/p", file: "predict", function: "predict")]))
        #expect(folder.message == "model directory /nonexistent/model not found")
    }

    @Test func startupErrorDescriptionIsTheMessage() {
        let error = EndpointStartupError(message: "route POST /x: function 'f' not found in m.py")
        #expect(error.description == error.message)
    }

    // MARK: - Shutdown

    @Test func shutdownLeavesNoProcessBehind() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("calculator"), F.calculatorRoutes, workers: 3),
            log: EndpointLog(enabled: false))
        try pool.start()
        #expect(pool.aliveWorkers == 3)
        let inFlight = DispatchSemaphore(value: 0)
        let outcome = Mutex<WorkerResult?>(nil)
        let accepted = pool.submit(route: Calc.sleep, arguments: Array(#"{"seconds":60}"#.utf8)) { result in
            outcome.withLock { $0 = result }
            inFlight.signal()
        }
        #expect(accepted)
        let pids = pool.spawnedProcessIDs
        #expect(pids.count == 3)
        pool.shutdown()
        #expect(inFlight.wait(timeout: .now()) == .success)
        #expect(outcome.withLock { $0 } == .crashed)
        #expect(pool.aliveWorkers == 0)
        for pid in pids { #expect(F.isGone(pid)) }
        pool.shutdown()  // idempotent
    }

    @Test func shutdownFromACompletionDoesNotDeadlock() throws {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("trivial"), F.trivialRoutes), log: EndpointLog(enabled: false))
        try pool.start()
        let done = DispatchSemaphore(value: 0)
        let accepted = pool.submit(route: 0, arguments: Array(#"{"x":1}"#.utf8)) { _ in
            pool.shutdown()  // on the supervisor thread: starts the shutdown, does not wait for itself
            done.signal()
        }
        #expect(accepted)
        try #require(done.wait(timeout: .now() + 60) == .success)
        pool.shutdown()  // waits for the supervisor to finish
        #expect(pool.aliveWorkers == 0)
        for pid in pool.spawnedProcessIDs { #expect(F.isGone(pid)) }
    }

    @Test func droppingThePoolStopsItsWorkers() throws {
        var pids: [pid_t] = []
        do {
            let pool = WorkerPool(
                configuration: F.configuration(Repository.example("trivial"), F.trivialRoutes, workers: 2),
                log: EndpointLog(enabled: false))
            try pool.start()
            pids = pool.spawnedProcessIDs
        }
        #expect(pids.count == 2)
        for pid in pids { #expect(F.isGone(pid)) }
    }

    @Test func shutdownBeforeStartIsHarmless() {
        let pool = WorkerPool(
            configuration: F.configuration(Repository.example("echo"), []), log: EndpointLog(enabled: false))
        pool.shutdown()
        #expect(pool.spawnedProcessIDs.isEmpty)
    }
}
