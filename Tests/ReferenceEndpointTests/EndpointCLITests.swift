import Foundation
import Glibc
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// A child process with its stdout and stderr on pipes; reads are bounded by a deadline.
final class ChildProcess {
    let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private(set) var stdoutText = ""
    /// The child's stdin, when it was started with `stdinPipe: true`.
    let stdinPipe: Pipe?

    init(
        _ executable: String, _ arguments: [String], directory: String = Repository.root, stdinPipe: Bool = false
    ) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        self.stdinPipe = stdinPipe ? Pipe() : nil
        process.standardInput = self.stdinPipe ?? FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Reads stdout until it holds a full line (or EOF, or `seconds` pass); returns that first line.
    func readLine(seconds: Int) -> String? {
        let fd = stdoutPipe.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 4_096)
        for _ in 0..<(seconds * 10) {
            if let newline = stdoutText.firstIndex(of: "\n") { return String(stdoutText[...newline]) }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return stdoutText.isEmpty ? nil : stdoutText }
            stdoutText += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return nil
    }

    /// Waits (bounded) for the exit; returns the exit status, or nil if it is still running after `seconds`.
    func waitForExit(seconds: Int) -> Int32? {
        for _ in 0..<(seconds * 50) {
            if !process.isRunning { return process.terminationStatus }
            usleep(20_000)
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Everything on stdout/stderr so far (call after the process exited).
    var remainingStdout: String {
        stdoutText + String(decoding: stdoutPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
    var stderrText: String {
        String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Runs to completion (bounded) and returns (status, stdout, stderr).
    static func run(_ executable: String, _ arguments: [String], seconds: Int = 120) throws -> (Int32?, String, String) {
        let child = try ChildProcess(executable, arguments)
        let status = child.waitForExit(seconds: seconds)
        if status == nil { kill(child.process.processIdentifier, SIGKILL) }
        return (status, child.remainingStdout, child.stderrText)
    }
}

/// The `reference-endpoint` executable, spawned as a user would run it.
@Suite("Endpoint end to end: reference-endpoint command line", .dedicatedThreads)
struct EndpointCLITests {
    /// The build products folder holding the test bundle also holds `reference-endpoint` (`swift test` builds
    /// every product first).
    static func executable() throws -> String {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        candidates.append(Bundle.main.bundleURL.path)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent().path)
        }
        for directory in candidates {
            let path = directory + "/reference-endpoint"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        Issue.record("reference-endpoint not found next to the test bundle; looked in \(candidates)")
        throw WireError("reference-endpoint executable not found")
    }

    @Test("serves: prints the exact ready line, answers /ping, exits 0 on SIGTERM")
    func servesAndStopsOnSIGTERM() throws {
        let child = try ChildProcess(
            try Self.executable(),
            [
                "--model-dir", "examples/calculator", "--routes-file", "examples/calculator/routes.json",
                "--port", "0", "--workers", "1", "--loop-threads", "1",
            ])
        let line = try #require(child.readLine(seconds: 120), "no ready line; stderr: \(child.stderrText)")
        let prefix = "Endpoint is running at: http://127.0.0.1:"
        #expect(line.hasPrefix(prefix) && line.hasSuffix("\n"), "\(line.debugDescription)")
        let port = try #require(Int(line.dropFirst(prefix.count).dropLast()), "\(line.debugDescription)")
        #expect(port > 0 && port < 65_536)

        let client = try WireClient(port: port)
        let ping = try client.exchange("GET", "/ping")
        #expect(ping.status == 200)
        #expect(ping.text == #"{"message":"pong"}"#)
        #expect(try client.exchange("POST", "/add", json: #"{"a":1}"#).text == #"{"sum":2.5}"#)

        #expect(kill(child.process.processIdentifier, SIGTERM) == 0)
        let status = child.waitForExit(seconds: 30)
        #expect(status == 0)
        #expect(child.process.terminationReason == .exit)
        // Nothing but the ready line on stdout; the request log and the shutdown on stderr.
        #expect(child.remainingStdout == line)
        let stderr = child.stderrText
        #expect(stderr.contains("GET /ping 200"))
        #expect(stderr.contains("received SIGTERM: draining"))
        #expect(stderr.contains("drained: every call in flight finished; shutting down"))
        // The port is closed.
        #expect(throws: WireError.self) { _ = try WireClient(port: port) }
    }

    @Test("--exit-on-stdin-eof: closing its stdin stops it (exit 0), so a parent that dies never leaves it behind")
    func stopsWhenStandardInputCloses() throws {
        let child = try ChildProcess(
            try Self.executable(),
            ["--model-dir", "examples/trivial", "--route", #"{"path":"/predict","file":"predict","function":"predict","positional":true,"body":[{"name":"x","type":"int"}]}"#, "--port", "0", "--workers", "1", "--no-access-log", "--exit-on-stdin-eof"],
            stdinPipe: true)
        let line = try #require(child.readLine(seconds: 120))
        #expect(line.hasPrefix("Endpoint is running at: http://127.0.0.1:"))
        try child.stdinPipe?.fileHandleForWriting.close()
        #expect(child.waitForExit(seconds: 30) == 0)
        #expect(child.stderrText.contains("standard input closed"))
    }

    @Test("SIGINT stops it too (exit 0)")
    func stopsOnSIGINT() throws {
        let child = try ChildProcess(
            try Self.executable(),
            ["--model-dir", "examples/trivial", "--route", #"{"path":"/predict","file":"predict","function":"predict","positional":true,"body":[{"name":"x","type":"int"}]}"#, "--port", "0", "--workers", "1", "--no-access-log"])
        let line = try #require(child.readLine(seconds: 120))
        #expect(line.hasPrefix("Endpoint is running at: http://127.0.0.1:"))
        kill(child.process.processIdentifier, SIGINT)
        #expect(child.waitForExit(seconds: 30) == 0)
        #expect(child.stderrText.contains("received SIGINT"))
    }

    @Test(
        "bad flags exit 2 with a message naming the flag",
        arguments: [
            (["--model-dir", "examples/trivial", "--routes-file", "examples/calculator/routes.json", "--port", "abc"], "--port"),
            (["--model-dir", "examples/trivial", "--routes-file", "examples/calculator/routes.json", "--bogus"], "--bogus"),
            (["--routes-file", "examples/calculator/routes.json"], "--model-dir"),
            (["--model-dir", "examples/trivial", "--routes-file", "examples/calculator/routes.json", "--fail-rate", "2"], "--fail-rate"),
            (["--model-dir", "examples/trivial", "--routes-file", "examples/calculator/routes.json", "--workers", "0"], "--workers"),
            (["--model-dir", "examples/trivial", "--routes-file", "examples/calculator/routes.json", "--slow-rate", "0.1"], "--slow-delay"),
            (["--model-dir", "examples/trivial", "--routes-file", "examples/calculator/routes.json", "--delay", "50", "--slow-delay", "10"],
                "--slow-delay"),
            (["--model-dir", "examples/trivial", "--route", "{not json"], "--route"),
            (["--model-dir", "examples/trivial", "--routes-file", "/no/such/routes.json"], "--routes-file"),
            (["--model-dir", "examples/trivial"], "--route"),
        ])
    func badFlags(arguments: [String], flag: String) throws {
        let (status, stdout, stderr) = try ChildProcess.run(try Self.executable(), arguments)
        #expect(status == 2, "stderr: \(stderr)")
        #expect(stderr.contains(flag), "\(stderr)")
        #expect(stderr.hasPrefix("error: "), "\(stderr)")
        #expect(stdout.isEmpty)
    }

    @Test("--help prints usage and exits 0")
    func help() throws {
        let (status, stdout, _) = try ChildProcess.run(try Self.executable(), ["--help"])
        #expect(status == 0)
        #expect(stdout.contains("--model-dir"))
        #expect(stdout.contains("--routes-file"))
    }

    @Test("a bad configuration exits 3 with one clear error line and no ready line")
    func badConfiguration() throws {
        let (status, stdout, stderr) = try ChildProcess.run(
            try Self.executable(),
            [
                "--model-dir", "examples/calculator", "--port", "0", "--workers", "1",
                "--route", #"{"path":"/x","file":"calculator","function":"nope"}"#,
            ])
        #expect(status == 3, "stderr: \(stderr)")
        #expect(stdout.isEmpty)
        let errorLines = stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errorLines == ["error: route POST /x: function 'nope' not found in calculator.py"], "\(stderr)")
        #expect(stderr.hasSuffix("error: route POST /x: function 'nope' not found in calculator.py\n"))
    }
}
