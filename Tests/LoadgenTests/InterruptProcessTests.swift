import EndpointSpec
import Foundation
import Glibc
import Synchronization
import Testing

@testable import LoadgenCore

/// Real signals to the real `loadgen` executable (built next to the test bundle), against an in-process
/// target on 127.0.0.1: `main`'s signal thread, the exit codes, and that nothing else catches the signal.
/// Signals are sent when the child's standard error shows a progress line, not after a sleep.
@Suite(.serialized) struct InterruptProcessTests {
    static func loadgenExecutable() throws -> String {
        let endpoint = try ScenarioRunTests.endpointExecutable()
        let path = URL(fileURLWithPath: endpoint).deletingLastPathComponent().appendingPathComponent("loadgen").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw LoadgenRunError.engineUnavailable("loadgen not found at \(path)")
        }
        return path
    }

    struct Exit {
        var status: Int32
        var signalled: Bool
        var stdout: String
        var stderr: String
    }

    /// Runs `loadgen arguments` in `directory`; sends each of `signals` in turn, each once standard error
    /// contains its trigger text (the next signal waits for more output after the previous one). Gives up
    /// (SIGKILL) after 30s.
    static func run(
        _ arguments: [String], in directory: String, signals: [(trigger: String, signal: Int32)],
        afterLaunch: (@Sendable (pid_t) async -> Void)? = nil
    ) async throws -> Exit {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try loadgenExecutable())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        let out = Buffer()
        let err = Buffer()
        let pending = Mutex(signals.map { ($0.trigger, $0.signal) })
        let searchedFrom = Mutex(0)
        let pid = Mutex<pid_t>(0)
        outPipe.fileHandleForReading.readabilityHandler = { handle in
            out.append(String(decoding: handle.availableData, as: UTF8.self))
        }
        errPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            err.append(String(decoding: data, as: UTF8.self))
            let text = err.text
            pending.withLock { pending in
                guard let (trigger, signal) = pending.first else { return }
                let start = searchedFrom.withLock { $0 }
                let tail = String(text.dropFirst(start))
                guard tail.contains(trigger) else { return }
                pending.removeFirst()
                searchedFrom.withLock { $0 = text.count }
                kill(pid.withLock { $0 }, signal)
            }
        }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
                pid.withLock { $0 = process.processIdentifier }
            } catch {
                continuation.resume(throwing: error)
            }
            let child = process.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + 30) { if process.isRunning { kill(child, SIGKILL) } }
            if let afterLaunch { Task { await afterLaunch(child) } }
        }
        // Let the readers take what is left in the pipes.
        let rest = errPipe.fileHandleForReading.readDataToEndOfFile()
        if !rest.isEmpty { err.append(String(decoding: rest, as: UTF8.self)) }
        let restOut = outPipe.fileHandleForReading.readDataToEndOfFile()
        if !restOut.isEmpty { out.append(String(decoding: restOut, as: UTF8.self)) }
        return Exit(
            status: status, signalled: process.terminationReason == .uncaughtSignal, stdout: out.text,
            stderr: err.text)
    }

    static func scenario(_ directory: TempDir, port: Int) throws {
        _ = try directory.write(
            "s.json",
            """
            {"name": "signal-me", "target": {"url": "http://127.0.0.1:\(port)"}, "requests": [{"route": "/work"}],
             "load": {"type": "constant-rate", "rate": 50, "duration": "10s"}, "client": {"connections": 2},
             "thresholds": ["error_rate < 1%"]}
            """)
    }

    @Test func sigintStopsTheRunWhichIsStillReported() async throws {
        let target = try EngineTestTarget { _ in .status(200) }
        defer { target.shutdown() }
        let directory = try TempDir()
        defer { directory.cleanup() }
        try Self.scenario(directory, port: target.port)
        let exit = try await Self.run(
            ["run", "s.json", "--json", "out.json", "--threads", "1"], in: directory.path,
            signals: [("req/s", SIGINT)])
        #expect(!exit.signalled && exit.status == 130, "\(exit.stderr)")
        #expect(exit.stderr.contains("interrupted by SIGINT: stopping"))
        #expect(exit.stdout.contains("interrupted by SIGINT after "))
        // Evaluated (a call due before the signal and still waiting for a connection counts against it).
        #expect(exit.stdout.contains("thresholds:\n") && exit.stdout.contains("  error_rate < 1%"))
        let json = try String(contentsOfFile: directory.path + "/out.json", encoding: .utf8)
        guard case .object(let root) = try JSON.parse(Array(json.utf8)), case .object(let item)? = root["interrupted"]
        else {
            Issue.record("no interrupted object in \(json)")
            return
        }
        #expect(item["signal"] == .string("SIGINT"))
        #expect(root["accounting_ok"] == .bool(true))
        // The load stopped at the signal: the window is shorter than the scheduled 10 s, and fewer than the
        // scheduled 500 calls were counted.
        if case .number(let after)? = item["after_s"], case .number(let calls)? = root["calls"] {
            #expect((Double(after) ?? 10) < 10)
            #expect((Int(calls) ?? 500) < 500)
        } else {
            Issue.record("no interrupted.after_s or calls in \(json)")
        }
    }

    @Test func sigtermStopsTheRunAndASecondSignalExitsAtOnce() async throws {
        // The target never answers, and the drain would last the client timeout (5s): the second signal
        // must not wait for it.
        let target = try EngineTestTarget { _ in .hold }
        defer { target.shutdown() }
        let directory = try TempDir()
        defer { directory.cleanup() }
        try Self.scenario(directory, port: target.port)
        let exit = try await Self.run(
            ["run", "s.json"], in: directory.path,
            signals: [("req/s", SIGTERM), ("interrupt again to exit now", SIGINT)])
        // It did not wait for the drain: the drain would end with the summary on stdout.
        #expect(!exit.signalled && exit.status == 130, "\(exit.stderr)")
        #expect(exit.stderr.contains("interrupted by SIGTERM: stopping"))
        #expect(exit.stderr.contains("interrupted again: exiting now"))
        #expect(!exit.stdout.contains("calls "))
    }

    @Test func aSignalNobodyHandlesEndsTheProcessAsTheSignalWould() async throws {
        // `loadgen call` does not handle SIGTERM: the process dies of it (a held request keeps it waiting).
        let target = try EngineTestTarget { _ in .hold }
        defer { target.shutdown() }
        let directory = try TempDir()
        defer { directory.cleanup() }
        let exit = try await Self.run(
            ["call", "http://127.0.0.1:\(target.port)/work", "--attempt-timeout", "20s"], in: directory.path,
            signals: []
        ) { pid in
            // Once the request arrived (at most 10s of 10ms polls).
            for _ in 0..<1000 where target.requests == 0 { try? await Task.sleep(nanoseconds: 10_000_000) }
            kill(pid, SIGTERM)
        }
        #expect(exit.signalled && exit.status == SIGTERM, "status \(exit.status): \(exit.stderr)")
    }
}
