import Glibc

/// The target of one command (`run`, `capacity`): a URL, or the embedded endpoint started for the command's
/// lifetime. While it is open, a second interruption (which exits the process at once) first tells the
/// embedded endpoint to stop, so that no endpoint is left behind.
struct TargetSession {
    /// Where to send requests.
    let url: TargetURL
    private let running: (any RunningTarget)?
    private let interruption: RunInterruption
    private let abortToken: Int?

    /// Opens the scenario's target. On failure it has told the user why and returns the exit code:
    /// `.targetUnreachable` when the embedded endpoint did not start, `.interrupted` when the user interrupted
    /// before the load started.
    static func open(_ target: TargetSpec, launcher: any TargetLauncher, environment: LoadgenEnvironment) async
        -> Opening
    {
        let interruption = environment.interruption
        var running: (any RunningTarget)?
        let url: TargetURL
        switch target {
        case .url(let target): url = target
        case .embedded(let embedded):
            do {
                let started = try await launcher.start(embedded)
                running = started
                url = started.url
            } catch {
                if interruption.isInterrupted {
                    environment.standardError("interrupted before the load started\n")
                    return .failed(.interrupted)
                }
                environment.standardError("error: \(describe(error))\n")
                return .failed(.targetUnreachable)
            }
        }
        if interruption.isInterrupted {
            await running?.stop()
            environment.standardError("interrupted before the load started\n")
            return .failed(.interrupted)
        }
        let abortToken = running.map { target in interruption.onAbort { terminateNow(target) } }
        return .opened(TargetSession(url: url, running: running, interruption: interruption, abortToken: abortToken))
    }

    /// The outcome of `open`.
    enum Opening {
        /// The target is ready.
        case opened(TargetSession)
        /// It could not be opened; the user has been told why.
        case failed(LoadgenExitCode)
    }

    /// Stops the embedded endpoint, if any.
    func close() async {
        if let abortToken { interruption.remove(abortToken) }
        await running?.stop()
    }

    /// Tells an embedded endpoint to stop without waiting (the process is about to exit).
    private static func terminateNow(_ target: any RunningTarget) {
        if let embedded = target as? RunningEmbeddedTarget { kill(embedded.pid, SIGTERM) }
    }

    /// An error as one line.
    static func describe(_ error: any Error) -> String {
        if let error = error as? LoadgenRunError { return error.description }
        return "\(error)"
    }
}
