import Foundation
import Glibc
import TestSupport
import Testing

@testable import LoadgenCore

/// `loadgen ... | head -1`: a stdout whose reader is gone ends the real executable quietly with 141, never with
/// a trap and a backtrace. The pipe's read end is closed before loadgen starts, so every write gets EPIPE.
@Suite(.serialized) struct BrokenPipeTests {
    struct Outcome {
        var status: Int32
        var reason: Process.TerminationReason
        var stderr: String
    }

    static func runWithClosedStdout(_ arguments: [String]) throws -> Outcome {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        close(fds[0])  // nobody will ever read
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try InterruptProcessTests.loadgenExecutable())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Repository.root)
        process.standardOutput = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        let errors = Pipe()
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, reason: process.terminationReason,
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test("--help, validate and run --json - into a closed pipe exit 141 without a trap", arguments: [
        ["--help"],
        ["validate", "scenarios/quickstart.json"],
        ["run", "scenarios/quickstart.json", "--duration", "1s", "--json", "-", "-q"],
    ])
    func closedStdout(arguments: [String]) throws {
        let outcome = try Self.runWithClosedStdout(arguments)
        #expect(outcome.reason == .exit, "killed by a signal: \(outcome.status)")
        #expect(outcome.status == LoadgenExitCode.brokenPipe.rawValue)
        #expect(!outcome.stderr.contains("Fatal error"), "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("crashed"), "\(outcome.stderr)")
    }

    @Test("StandardStreams.write reports a closed reader instead of trapping")
    func writeReportsEPIPE() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer { close(fds[1]) }
        #expect(StandardStreams.write("hello\n", to: fds[1]))
        close(fds[0])
        signal(SIGPIPE, SIG_IGN)
        #expect(!StandardStreams.write("lost\n", to: fds[1]))
    }
}
