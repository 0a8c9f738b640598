import Foundation
import Glibc
import NetIO
import Synchronization

/// Where the command writes, and the parts the lead's engine and endpoint plug in.
public struct LoadgenEnvironment: Sendable {
    /// Runs the load.
    public var engine: any LoadEngine
    /// Starts embedded targets.
    public var launcher: any TargetLauncher
    /// `loadgen serve ARGS...`: runs the reference endpoint with `reference-endpoint`'s flags; returns the
    /// exit code.
    public var serve: @Sendable ([String]) async -> Int32
    /// `loadgen call URL ARGS...`: the resilient curl; returns the exit code.
    public var call: @Sendable ([String]) async -> Int32
    /// Writes to standard output.
    public var standardOutput: @Sendable (String) -> Void
    /// Writes to standard error.
    public var standardError: @Sendable (String) -> Void
    /// Whether standard error is a terminal (the progress line is then rewritten in place).
    public var progressIsTerminal: Bool
    /// Directory relative paths are resolved against.
    public var currentDirectory: String
    /// Writes the `--json` file.
    public var writeFile: @Sendable (_ path: String, _ contents: String) throws -> Void
    /// Where `run` learns about Ctrl-C and SIGTERM (`loadgen`'s `main` delivers them from its signal thread;
    /// the default never fires).
    public var interruption: RunInterruption

    /// Creates an environment; defaults write to the process's stdout/stderr and the file system.
    public init(
        engine: any LoadEngine = UnavailableEngine(), launcher: any TargetLauncher = UnavailableLauncher(),
        serve: @escaping @Sendable ([String]) async -> Int32 = UnavailableCommand.serve,
        call: @escaping @Sendable ([String]) async -> Int32 = UnavailableCommand.call,
        standardOutput: @escaping @Sendable (String) -> Void = StandardStreams.writeOutput,
        standardError: @escaping @Sendable (String) -> Void = StandardStreams.writeError,
        progressIsTerminal: Bool = StandardStreams.errorIsTerminal,
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        writeFile: @escaping @Sendable (String, String) throws -> Void = StandardStreams.writeFile,
        interruption: RunInterruption = RunInterruption()
    ) {
        self.engine = engine
        self.launcher = launcher
        self.serve = serve
        self.call = call
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.progressIsTerminal = progressIsTerminal
        self.currentDirectory = currentDirectory
        self.writeFile = writeFile
        self.interruption = interruption
    }
}

/// The process's standard streams, written with `write(2)` (Foundation's `FileHandle.write` traps on EPIPE).
///
/// A closed stdout (`loadgen ... | head -1`) ends the program quietly, as it ends any Unix tool: SIGPIPE is
/// ignored process-wide, and the EPIPE a write then gets exits with `LoadgenExitCode.brokenPipe` (141, what a
/// shell reports for a command killed by SIGPIPE). A closed or failing stderr drops the text: there is nowhere
/// left to say anything.
public enum StandardStreams {
    /// Writes to stdout; exits with 141 if stdout is a closed pipe.
    @Sendable public static func writeOutput(_ text: String) {
        if !write(text, to: STDOUT_FILENO) { exit(LoadgenExitCode.brokenPipe.rawValue) }
    }
    /// Writes to stderr (dropped if stderr is closed).
    @Sendable public static func writeError(_ text: String) { _ = write(text, to: STDERR_FILENO) }

    /// Writes all of `text` to `fd`; false when the reader went away (EPIPE) or the descriptor failed.
    static func write(_ text: String, to fd: Int32) -> Bool { BlockingWrite.all(Array(text.utf8), to: fd) }
    /// Whether stderr is a terminal.
    public static var errorIsTerminal: Bool { isatty(2) == 1 }
    /// Writes a file atomically (`-` writes to stdout).
    @Sendable public static func writeFile(_ path: String, _ contents: String) throws {
        if path == "-" {
            writeOutput(contents)
            return
        }
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Placeholder engine until the event-loop engine is linked in.
public struct UnavailableEngine: LoadEngine {
    /// Creates the placeholder.
    public init() {}
    /// Always throws `engineUnavailable`.
    public func run(_ plan: RunPlan, progress: @escaping @Sendable (ProgressSnapshot) -> Void) async throws
        -> RunResult
    {
        throw LoadgenRunError.engineUnavailable("the load engine is not available in this build")
    }
}

/// Placeholder launcher until the reference endpoint is linked in.
public struct UnavailableLauncher: TargetLauncher {
    /// Creates the placeholder.
    public init() {}
    /// Always throws `embeddedTargetFailed`.
    public func start(_ target: EmbeddedTarget) async throws -> any RunningTarget {
        throw LoadgenRunError.embeddedTargetFailed("the embedded endpoint is not available in this build")
    }
}

/// Placeholders for `serve` and `call`.
public enum UnavailableCommand {
    /// Prints that `serve` is unavailable; exit code 4.
    @Sendable public static func serve(_ arguments: [String]) async -> Int32 {
        StandardStreams.writeError("error: 'loadgen serve' is not available in this build\n")
        return LoadgenExitCode.runtimeError.rawValue
    }
    /// Prints that `call` is unavailable; exit code 4.
    @Sendable public static func call(_ arguments: [String]) async -> Int32 {
        StandardStreams.writeError("error: 'loadgen call' is not available in this build\n")
        return LoadgenExitCode.runtimeError.rawValue
    }
}

/// Prints progress lines: rewritten in place on a terminal (`\r` + clear line), one line each otherwise.
public final class ProgressPrinter: Sendable {
    private let write: @Sendable (String) -> Void
    private let terminal: Bool
    private let lineOpen = Atomic<Bool>(false)

    /// Creates a printer writing with `write`.
    public init(terminal: Bool, write: @escaping @Sendable (String) -> Void) {
        self.terminal = terminal
        self.write = write
    }

    /// Prints one snapshot.
    public func show(_ snapshot: ProgressSnapshot) {
        let line = Report.progressLine(snapshot)
        if terminal {
            write("\r\u{1B}[2K" + line)
            lineOpen.store(true, ordering: .relaxed)
        } else {
            write(line + "\n")
        }
    }

    /// Ends a rewritten line with a newline (call before printing anything else).
    public func finish() {
        if terminal, lineOpen.exchange(false, ordering: .relaxed) { write("\n") }
    }
}
