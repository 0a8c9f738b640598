import LoadgenCore
import ReferenceEndpoint

#if canImport(Glibc)
    import Glibc
#endif

let arguments = Array(Swift.CommandLine.arguments.dropFirst())

// `loadgen serve` runs the reference endpoint in this process. It is dispatched before any Swift
// concurrency thread exists, so that the SIGINT/SIGTERM mask it sets is inherited by every thread.
if arguments.first == "serve" {
    exit(EndpointCommand.main(arguments: Array(arguments.dropFirst()), name: "loadgen serve"))
}

// Every other command runs in a detached task, while this (main) thread receives SIGINT and SIGTERM with
// sigwait for as long as the process lives. The signals are blocked here, before any other thread exists
// (threads inherit the mask; child processes reset it at spawn). `main` does not await (an async main would
// leave this thread in libdispatch's sigsuspend with every signal unblocked, where a Ctrl-C would kill the
// process outright). The first signal goes to `run` through `interruption` (the load stops early and is still
// reported, exit code 130); a second exits at once, after the abort handlers told the embedded endpoint to
// stop. A signal that nothing handles (another command, or before or after the load) ends the process as
// the signal would have.
func stopSignals() -> sigset_t {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    return set
}

// A closed stdout must not kill the process mid-write: writes get EPIPE instead, and StandardStreams ends the
// program quietly with 141 (see LoadgenExitCode.brokenPipe).
signal(SIGPIPE, SIG_IGN)

var signals = stopSignals()
pthread_sigmask(SIG_BLOCK, &signals, nil)

let interruption = RunInterruption()
let environment = LoadgenEnvironment(
    engine: NetworkLoadEngine(), launcher: ProcessTargetLauncher(),
    serve: { args in EndpointCommand.main(arguments: args, name: "loadgen serve") },
    call: { args in await CallCommand.main(args) }, interruption: interruption)
Task.detached {
    exit(await LoadgenCommand.main(arguments, environment: environment))
}

while true {
    var received: Int32 = 0
    guard sigwait(&signals, &received) == 0 else { continue }
    switch interruption.interrupt(signal: received == SIGINT ? "SIGINT" : "SIGTERM") {
    case .stopping:
        continue
    case .abort:
        StandardStreams.writeError("interrupted again: exiting now\n")
        exit(LoadgenExitCode.interrupted.rawValue)
    case .unhandled:
        // Die of the signal itself (the parent sees what it sent), with its default action.
        signal(received, SIG_DFL)
        var only = sigset_t()
        sigemptyset(&only)
        sigaddset(&only, received)
        pthread_sigmask(SIG_UNBLOCK, &only, nil)
        raise(received)
        exit(128 + received)
    }
}
