import Glibc

/// A file descriptor closed when its last owner lets go, so that a dispatcher still writing to a worker's
/// request pipe never writes to a descriptor number the supervisor has closed and the kernel reused.
final class WorkerFD: Sendable {
    /// The descriptor.
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// The parent's ends of a freshly spawned worker's pipes, all close-on-exec and non-blocking.
struct SpawnedWorker {
    var pid: pid_t
    /// Pool → worker frames.
    var requests: Int32
    /// Worker → pool frames.
    var results: Int32
    /// The worker's stdout and stderr (model prints, tracebacks).
    var output: Int32
}

/// Why a spawn failed: an errno value.
struct SpawnError: Error {
    var code: Int32
}

/// posix_spawn of a Python worker with explicit descriptors: 0 = /dev/null, 1 and 2 = the output pipe,
/// 3 = requests, 4 = results, 5 = the progress board (when there is one); every other descriptor is closed in
/// the child.
enum WorkerSpawner {
    private typealias Pipe2Function = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    private typealias CloseFromFunction = @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32

    /// The child's request and result descriptors (also passed in argv).
    static let childRequestFD: Int32 = 3
    static let childResultFD: Int32 = 4
    static let childBoardFD: Int32 = 5

    /// Creates a close-on-exec pipe: pipe2(O_CLOEXEC) when libc has it (found with dlsym, as Swift's Glibc
    /// module does not export it), else pipe + fcntl.
    static func makePipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        let created: Bool = fds.withUnsafeMutableBufferPointer { buffer in
            if let symbol = dlsym(nil, "pipe2") {
                let pipe2 = unsafeBitCast(symbol, to: Pipe2Function.self)
                return pipe2(buffer.baseAddress, O_CLOEXEC) == 0
            }
            guard pipe(buffer.baseAddress) == 0 else { return false }
            _ = fcntl(buffer[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(buffer[1], F_SETFD, FD_CLOEXEC)
            return true
        }
        return created ? (fds[0], fds[1]) : nil
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Moves `fd` to a number >= 6 (still close-on-exec) so that the child's dup2 onto 0...5 never
    /// clobbers a source descriptor.
    private static func lifted(_ fd: Int32) -> Int32 {
        guard fd < 6 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, Int32(6))
        guard moved >= 0 else { return fd }
        close(fd)
        return moved
    }

    /// Spawns `python -c script 3 4 B`, where B is 5 when `board` (a descriptor >= 6) is given, else -1.
    /// Returns the errno of the failure (e.g. ENOENT for a missing interpreter) on error; no descriptor is left
    /// open then.
    static func spawn(python: String, script: String, board: Int32? = nil) -> Result<SpawnedWorker, SpawnError> {
        guard let requests = makePipe() else { return .failure(SpawnError(code: errno)) }
        guard let results = makePipe() else {
            let code = errno
            close(requests.read)
            close(requests.write)
            return .failure(SpawnError(code: code))
        }
        guard let output = makePipe() else {
            let code = errno
            for fd in [requests.read, requests.write, results.read, results.write] { close(fd) }
            return .failure(SpawnError(code: code))
        }
        let childRequests = lifted(requests.read)
        let childResults = lifted(results.write)
        let childOutput = lifted(output.write)
        defer {
            close(childRequests)
            close(childResults)
            close(childOutput)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, childOutput, 1)
        posix_spawn_file_actions_adddup2(&actions, childOutput, 2)
        posix_spawn_file_actions_adddup2(&actions, childRequests, childRequestFD)
        posix_spawn_file_actions_adddup2(&actions, childResults, childResultFD)
        // The board's descriptor stays its owner's: a low number is copied, and the copy closed after the spawn.
        let boardFD = board.map { $0 >= 6 ? $0 : fcntl($0, F_DUPFD_CLOEXEC, Int32(6)) }.flatMap { $0 >= 0 ? $0 : nil }
        defer { if let boardFD, boardFD != board { close(boardFD) } }
        if let boardFD { posix_spawn_file_actions_adddup2(&actions, boardFD, childBoardFD) }
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFromFunction.self)
            _ = withUnsafeMutablePointer(to: &actions) { closeFrom(UnsafeMutableRawPointer($0), 6) }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Own process group: a terminal's Ctrl-C reaches the server, which then stops the workers itself.
        posix_spawnattr_setpgroup(&attributes, 0)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETPGROUP)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let arguments = [
            python, "-c", script, String(childRequestFD), String(childResultFD), boardFD == nil ? "-1" : String(childBoardFD),
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }

        var pid: pid_t = 0
        let status = posix_spawnp(&pid, python, &actions, &attributes, argv, environ)
        guard status == 0 else {
            for fd in [requests.write, results.read, output.read] { close(fd) }
            return .failure(SpawnError(code: status))
        }
        for fd in [requests.write, results.read, output.read] { setNonBlocking(fd) }
        return .success(SpawnedWorker(pid: pid, requests: requests.write, results: results.read, output: output.read))
    }

    /// `strerror` as a Swift string.
    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// "exit status 3" or "signal 9 (Killed)".
    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exit status \((status >> 8) & 0xff)" }
        if let name = strsignal(signal) { return "signal \(signal) (\(String(cString: name)))" }
        return "signal \(signal)"
    }
}
