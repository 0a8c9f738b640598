import CLinux
import Foundation
import Glibc
import Synchronization

/// Where the embedded endpoint's log (its standard error, and its standard output after the ready line) goes.
public enum EndpointLogDestination: Sendable, Equatable {
    /// Thrown away (the default; the last 8 KiB are still kept to explain a failed start).
    case discard
    /// Appended to this file (created if missing), e.g. from `loadgen run --endpoint-log FILE`.
    case file(String)
    /// Copied to loadgen's own standard error.
    case standardError
}

/// Starts `target.embedded` as a child process: this same executable (`/proc/self/exe`) with `serve` and the
/// endpoint's flags, waits for its `Endpoint is running at: http://HOST:PORT` line, and stops it with SIGTERM
/// (SIGKILL after a grace period).
///
/// The child's standard input is `/dev/null`; its standard output is read for the ready line; its standard error
/// (the endpoint's log) goes to `log`. If the child exits before it is ready, or is not ready within
/// `startupTimeout`, `start` throws `LoadgenRunError.embeddedTargetFailed` with the end of its standard error.
/// When the log is discarded the child also gets `--no-access-log`, so it does not format a line per request.
public struct ProcessTargetLauncher: TargetLauncher {
    /// The program to run (default `/proc/self/exe`, this very executable).
    public var executable: String
    /// Arguments put before the endpoint's flags (default `["serve"]`).
    public var leadingArguments: [String]
    /// Where the endpoint's log goes.
    public var log: EndpointLogDestination
    /// How long to wait for the ready line (default 60s).
    public var startupTimeout: DurationValue
    /// How long `stop()` waits after SIGTERM before SIGKILL (default 5s).
    public var stopGracePeriod: DurationValue

    /// The line the endpoint prints once every worker is ready, followed by its URL.
    public static let readyPrefix = "Endpoint is running at: "

    /// Creates a launcher.
    public init(
        executable: String = "/proc/self/exe", leadingArguments: [String] = ["serve"],
        log: EndpointLogDestination = .discard, startupTimeout: DurationValue = .seconds(60),
        stopGracePeriod: DurationValue = .seconds(5)
    ) {
        self.executable = executable
        self.leadingArguments = leadingArguments
        self.log = log
        self.startupTimeout = startupTimeout
        self.stopGracePeriod = stopGracePeriod
    }

    /// How errors name the child: `the embedded endpoint (loadgen serve)` for this very executable (whose path,
    /// `/proc/self/exe`, means nothing to a user), the program's path otherwise.
    public var displayName: String {
        guard executable == "/proc/self/exe" else { return executable }
        return "the embedded endpoint (" + (["loadgen"] + leadingArguments).joined(separator: " ") + ")"
    }

    /// The endpoint's flags for `target` (`EmbeddedTarget.commandLineArguments`), plus `--exit-on-stdin-eof`
    /// (its stdin is a pipe only this process holds, so the endpoint stops if loadgen dies), plus `--no-access-log`
    /// when the log is discarded.
    public func arguments(for target: EmbeddedTarget) -> [String] {
        var arguments = target.commandLineArguments + ["--exit-on-stdin-eof"]
        if log == .discard { arguments.append("--no-access-log") }
        return arguments
    }

    /// Starts the endpoint and returns once it printed its URL.
    public func start(_ target: EmbeddedTarget) async throws -> any RunningTarget {
        try await startProcess(arguments: leadingArguments + arguments(for: target))
    }

    /// Starts `executable` with `arguments` and waits for the ready line (also used by tests with any program).
    func startProcess(arguments: [String]) async throws -> RunningEmbeddedTarget {
        let process = try EmbeddedEndpointProcess.spawn(
            executable: executable, displayName: displayName, arguments: arguments, log: log, grace: stopGracePeriod)
        let state = process.startup
        let timeout = UInt64(max(1, startupTimeout.nanoseconds))
        let timer = Task {
            try? await Task.sleep(nanoseconds: timeout)
            state.resolve(.timedOut)
        }
        let outcome = await state.wait()
        timer.cancel()
        switch outcome {
        case .ready(let url):
            return process.running(url: url)
        case .exited:
            let status = await process.reap()
            throw LoadgenRunError.embeddedTargetFailed(
                "\(displayName) exited (\(status)) before it was ready" + process.stderrTail())
        case .timedOut:
            await process.terminate()
            throw LoadgenRunError.embeddedTargetFailed(
                "\(displayName) did not print '\(Self.readyPrefix)URL' within \(startupTimeout)" + process.stderrTail())
        case .badURL(let line):
            await process.terminate()
            throw LoadgenRunError.embeddedTargetFailed("cannot read the endpoint's URL from \"\(line)\"")
        }
    }
}

/// How the start of an embedded endpoint ended.
enum StartupOutcome: Sendable, Equatable {
    case ready(TargetURL)
    case exited
    case timedOut
    case badURL(String)
}

/// A one-shot rendezvous between the reader threads, the timeout and `start`.
final class StartupState: Sendable {
    private struct State {
        var outcome: StartupOutcome?
        var waiter: CheckedContinuation<StartupOutcome, Never>?
    }

    private let state = Mutex(State())

    /// Records the first outcome (later ones are ignored).
    func resolve(_ outcome: StartupOutcome) {
        let waiter = state.withLock { state -> CheckedContinuation<StartupOutcome, Never>? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            let waiter = state.waiter
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: outcome)
    }

    /// Waits for the first outcome.
    func wait() async -> StartupOutcome {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> StartupOutcome? in
                if let outcome = state.outcome { return outcome }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// The child process, its two reader threads and its log.
final class EmbeddedEndpointProcess: Sendable {
    let pid: pid_t
    let startup = StartupState()
    private let grace: DurationValue
    private let logFD: Int32
    private let closeLog: Bool
    private let tail = Mutex<[UInt8]>([])
    private let readersLeft: Atomic<Int>
    /// Signalled when both readers reached end of file and the log was closed; every waiter that gets it signals
    /// it again, so it stays open.
    private let readersDone = DispatchSemaphore(value: 0)
    private let reaped = Mutex<String?>(nil)
    /// Write end of the child's stdin; closed once the child is stopped (the child stops on end of file).
    private let lifeline: Mutex<Int32>
    private static let tailLimit = 8192

    private init(pid: pid_t, logFD: Int32, closeLog: Bool, grace: DurationValue, lifeline: Int32) {
        self.pid = pid
        self.lifeline = Mutex(lifeline)
        self.logFD = logFD
        self.closeLog = closeLog
        self.grace = grace
        self.readersLeft = Atomic(2)
    }

    /// Spawns the child in a process group of its own (a Ctrl-C at the terminal reaches loadgen, which drains
    /// the run and then stops the endpoint, not the endpoint mid-run), with stdin a pipe whose other end only
    /// this process holds (so the endpoint sees end of file and stops if loadgen dies, even by SIGKILL) and
    /// stdout/stderr on pipes, and starts the readers.
    static func spawn(
        executable: String, displayName: String, arguments: [String], log: EndpointLogDestination,
        grace: DurationValue
    ) throws -> EmbeddedEndpointProcess {
        var logFD: Int32 = -1
        var closeLog = false
        switch log {
        case .discard: break
        case .standardError: logFD = 2
        case .file(let path):
            logFD = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if logFD < 0 {
                throw LoadgenRunError.embeddedTargetFailed(
                    "cannot open the endpoint log '\(path)': \(String(cString: strerror(errno)))")
            }
            closeLog = true
        }
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard clinux_pipe2(&out, 0) == 0 else {
            if closeLog { close(logFD) }
            throw LoadgenRunError.embeddedTargetFailed("pipe2 failed: \(String(cString: strerror(errno)))")
        }
        guard clinux_pipe2(&err, 0) == 0 else {
            close(out[0])
            close(out[1])
            if closeLog { close(logFD) }
            throw LoadgenRunError.embeddedTargetFailed("pipe2 failed: \(String(cString: strerror(errno)))")
        }
        var lifeline: [Int32] = [-1, -1]
        guard clinux_pipe2(&lifeline, 0) == 0 else {
            for fd in out + err { close(fd) }
            if closeLog { close(logFD) }
            throw LoadgenRunError.embeddedTargetFailed("pipe2 failed: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, lifeline[0], 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // The child starts with no blocked signals and default dispositions for the stop signals, whatever
        // the spawning thread had (a blocked SIGTERM would otherwise survive into the endpoint).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let argv = ([executable] + arguments).map { strdup($0) }
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv + [nil], environ)
        close(out[1])
        close(err[1])
        close(lifeline[0])
        guard code == 0 else {
            close(lifeline[1])
            close(out[0])
            close(err[0])
            if closeLog { close(logFD) }
            throw LoadgenRunError.embeddedTargetFailed("cannot start \(displayName): \(String(cString: strerror(code)))")
        }
        let process = EmbeddedEndpointProcess(
            pid: pid, logFD: logFD, closeLog: closeLog, grace: grace, lifeline: lifeline[1])
        let stdoutFD = out[0]
        let stderrFD = err[0]
        Thread.detachNewThread { process.readStandardOutput(stdoutFD) }
        Thread.detachNewThread { process.readStandardError(stderrFD) }
        return process
    }

    /// The handle returned to the command.
    func running(url: TargetURL) -> RunningEmbeddedTarget { RunningEmbeddedTarget(process: self, url: url) }

    // MARK: readers

    /// Passes what `fd` yields to `handle` until end of file (or an error), then closes it.
    private func readUntilEnd(_ fd: Int32, _ handle: (ArraySlice<UInt8>) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            handle(buffer[0..<count])
        }
        close(fd)
        readerEnded()
    }

    private func readStandardOutput(_ fd: Int32) {
        var pending: [UInt8] = []
        var ready = false
        readUntilEnd(fd) { chunk in
            writeLog(chunk)
            guard !ready else { return }
            pending += chunk
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                guard line.hasPrefix(ProcessTargetLauncher.readyPrefix) else { continue }
                let text = String(line.dropFirst(ProcessTargetLauncher.readyPrefix.count))
                    .trimmingCharacters(in: .whitespaces)
                if let url = try? TargetURL(parsing: text) {
                    startup.resolve(.ready(url))
                } else {
                    startup.resolve(.badURL(line))
                }
                ready = true
                pending.removeAll()
                break
            }
        }
    }

    private func readStandardError(_ fd: Int32) {
        readUntilEnd(fd) { chunk in
            tail.withLock { tail in
                tail += chunk
                if tail.count > Self.tailLimit { tail.removeFirst(tail.count - Self.tailLimit) }
            }
            writeLog(chunk)
        }
    }

    private func readerEnded() {
        // Both pipes at end of file: the child (and everything that shared its output) has exited.
        if readersLeft.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            startup.resolve(.exited)
            if closeLog { close(logFD) }
            readersDone.signal()
        }
    }

    private func writeLog(_ bytes: ArraySlice<UInt8>) {
        guard logFD >= 0 else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(logFD, raw.baseAddress?.advanced(by: offset), raw.count - offset)
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// `": <last lines of stderr>"`, or empty when it wrote nothing. Complete once the child was reaped (the
    /// readers ended before `.exited`) or terminated (`terminate()` waits for them).
    func stderrTail() -> String {
        let text = tail.withLock { String(decoding: $0, as: UTF8.self) }.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "" : ": " + text
    }

    // MARK: stopping

    /// Waits for the child's exit (blocking a helper thread) and describes its status.
    func reap() async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: self.reapNow(blocking: true) ?? "unknown status") }
        }
    }

    /// SIGTERM, wait up to the grace period, SIGKILL, reap, wait (bounded) for the readers to drain the pipes.
    func terminate() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.terminateNow()
                continuation.resume()
            }
        }
    }

    private func terminateNow() {
        stopChild()
        lifeline.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
        // Everything the child wrote is in the log once both readers reached end of file. Bounded by the grace
        // period: a grandchild that outlives the endpoint could hold the pipes open.
        _ = waitForReaders(nanoseconds: UInt64(max(0, grace.nanoseconds)))
    }

    /// Blocks (helper threads only) until both readers ended, at most `nanoseconds`; true if they did.
    private func waitForReaders(nanoseconds: UInt64) -> Bool {
        let deadline = DispatchTime.now() + .nanoseconds(Int(clamping: nanoseconds))
        guard readersDone.wait(timeout: deadline) == .success else { return false }
        readersDone.signal()
        return true
    }

    private func stopChild() {
        if reapNow(blocking: false) != nil { return }
        kill(pid, SIGTERM)
        let steps = max(1, grace.nanoseconds / 10_000_000)
        for _ in 0..<steps {
            if reapNow(blocking: false) != nil { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        _ = reapNow(blocking: true)
    }

    /// Reaps the child once; returns its status description, or `nil` if it is still running.
    private func reapNow(blocking: Bool) -> String? {
        reaped.withLock { reaped -> String? in
            if let reaped { return reaped }
            var status: Int32 = 0
            var result: pid_t
            repeat {
                result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            } while result < 0 && errno == EINTR
            if result == 0 { return nil }
            let description: String
            if result < 0 {
                description = "already reaped"
            } else if status & 0x7f == 0 {
                description = "exit code \((status >> 8) & 0xff)"
            } else {
                description = "signal \(status & 0x7f)"
            }
            reaped = description
            return description
        }
    }
}

/// A started embedded endpoint.
public final class RunningEmbeddedTarget: RunningTarget {
    /// Where it listens.
    public let url: TargetURL
    let process: EmbeddedEndpointProcess

    init(process: EmbeddedEndpointProcess, url: TargetURL) {
        self.process = process
        self.url = url
    }

    /// The child's process id.
    public var pid: Int32 { process.pid }

    /// SIGTERM, SIGKILL after the grace period, reap; then waits (at most the grace period again) until the
    /// endpoint's output is in the log. Idempotent.
    public func stop() async { await process.terminate() }
}
