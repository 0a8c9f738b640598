import EndpointSpec
import Foundation
import Glibc
import TestSupport
import Testing

@testable import LoadgenCore

/// The embedded-target launcher, driven with `/bin/sh` scripts that behave like `loadgen serve` (no Python).
@Suite(.dedicatedThreads) struct EngineLauncherTests {
    let target = EmbeddedTarget(modelDirectory: "/tmp/model", routes: [])

    func launcher(
        _ script: String, log: EndpointLogDestination = .discard, startupTimeout: DurationValue = .seconds(10),
        grace: DurationValue = .seconds(5)
    ) -> ProcessTargetLauncher {
        ProcessTargetLauncher(
            executable: "/bin/sh", leadingArguments: ["-c", script, "sh"], log: log, startupTimeout: startupTimeout,
            stopGracePeriod: grace)
    }

    func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    @Test func readsTheURLFromTheReadyLineAndStopsWithSIGTERM() async throws {
        let started = try await launcher(
            "echo 'loading the model'; echo 'Endpoint is running at: http://127.0.0.1:4321'; exec sleep 30"
        ).start(target)
        let running = try #require(started as? RunningEmbeddedTarget)
        #expect(running.url == TargetURL(host: "127.0.0.1", port: 4321))
        #expect(isAlive(running.pid))
        await running.stop()
        #expect(!isAlive(running.pid))
        await running.stop()  // idempotent
    }

    @Test func childThatExitsEarlyReportsItsStandardError() async throws {
        do {
            _ = try await launcher("echo 'cannot import predict: boom' >&2; exit 3").start(target)
            Issue.record("expected embeddedTargetFailed")
        } catch let error as LoadgenRunError {
            guard case .embeddedTargetFailed(let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(message.contains("boom"))
            #expect(message.contains("exit code 3"))
        }
    }

    @Test func childThatNeverGetsReadyTimesOut() async throws {
        do {
            _ = try await launcher("echo 'still importing' >&2; exec sleep 30", startupTimeout: .milliseconds(200))
                .start(target)
            Issue.record("expected embeddedTargetFailed")
        } catch let error as LoadgenRunError {
            #expect(error.description.contains("did not print"))
            #expect(error.description.contains("still importing"))
        }
    }

    @Test func unparsableURLIsAnError() async throws {
        await #expect(throws: LoadgenRunError.self) {
            _ = try await launcher("echo 'Endpoint is running at: ftp://nowhere'; exec sleep 30").start(target)
        }
    }

    @Test func missingExecutableIsAnError() async throws {
        let missing = ProcessTargetLauncher(executable: "/nonexistent/loadgen")
        await #expect(throws: LoadgenRunError.self) { _ = try await missing.start(target) }
    }

    @Test func sigkillAfterTheGracePeriodWhenSIGTERMIsIgnored() async throws {
        let started = try await launcher(
            "trap '' TERM; echo 'Endpoint is running at: http://127.0.0.1:1'; exec sleep 30",
            grace: .milliseconds(100)
        ).start(target)
        let running = try #require(started as? RunningEmbeddedTarget)
        await running.stop()
        #expect(!isAlive(running.pid))
    }

    @Test func endpointLogGoesToTheFile() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = directory.path + "/endpoint.log"
        let started = try await launcher(
            // The ready line and the line after it in one write: a stop that follows the ready line at once
            // cannot land between them.
            "echo 'worker 1 ready' >&2; printf 'Endpoint is running at: http://127.0.0.1:4321\\nafter ready\\n'; exec sleep 30",
            log: .file(path)
        ).start(target)
        await started.stop()
        // stop() returns once the readers drained the pipes: the log is complete.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("worker 1 ready"))
        #expect(text.contains("after ready"))
    }

    @Test func unwritableLogIsAnError() async throws {
        let launcher = launcher("exit 0", log: .file("/nonexistent-dir/endpoint.log"))
        await #expect(throws: LoadgenRunError.self) { _ = try await launcher.start(target) }
    }

    @Test func argumentsUseTheEndpointsFlagSyntax() throws {
        let route = try RouteSpec.decode(
            json: Array(#"{"verb":"POST","path":"/add","file":"calc","function":"add","body":[{"name":"x","type":"int"}]}"#.utf8))
        let embedded = EmbeddedTarget(
            modelDirectory: "/models/calc", routes: [route], workers: 2, threads: 3, maxQueue: 64,
            timeout: .milliseconds(2500), python: "/usr/bin/python3", failRate: 0.25, delay: .milliseconds(50))
        let arguments = ProcessTargetLauncher().arguments(for: embedded)
        func value(_ flag: String) -> String? {
            arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
        }
        #expect(value("--model-dir") == "/models/calc")
        #expect(value("--workers") == "2")
        #expect(value("--threads") == "3")
        #expect(value("--max-queue") == "64")
        #expect(value("--timeout") == "2.5")
        #expect(value("--python") == "/usr/bin/python3")
        #expect(value("--fail-rate") == "0.25")
        #expect(value("--delay") == "50")
        #expect(value("--host") == "127.0.0.1")
        #expect(value("--port") == "0")
        #expect(arguments.contains("--no-access-log"))
        #expect(arguments.contains("--exit-on-stdin-eof"))
        let routeJSON = try #require(value("--route"))
        #expect(try RouteSpec.decode(json: Array(routeJSON.utf8)) == route)
        let logged = ProcessTargetLauncher(log: .file("/tmp/x.log")).arguments(for: embedded)
        #expect(!logged.contains("--no-access-log"))
    }
}
