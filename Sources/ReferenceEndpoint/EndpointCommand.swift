import CommandLine
import EndpointSpec
import Foundation
import Glibc
import NetIO

/// The `reference-endpoint` command line (also `loadgen serve`): flags → `EndpointConfiguration`,
/// start, print `Endpoint is running at: URL` once ready, serve until SIGINT or SIGTERM.
public enum EndpointCommand {
    /// Exit codes: 0 stopped by a signal, 2 usage error, 3 the endpoint could not start.
    public enum ExitCode {
        /// Served, then stopped by SIGINT/SIGTERM.
        public static let success: Int32 = 0
        /// Bad flags.
        public static let usage: Int32 = 2
        /// Bad configuration (missing model file or function, bad default, duplicate route) or bind failure.
        public static let startup: Int32 = 3
    }

    /// The flags, shared by `reference-endpoint` and `loadgen serve`.
    public static func spec(name: String) -> CommandSpec {
        CommandSpec(
            name: name,
            abstract: "Serve a folder of Python model code as REST routes (proxiML endpoint semantics).",
            discussion: """
                Each --route is the proxiML CLI's route JSON, e.g.
                  --route '{"verb": "POST", "path": "/predict", "file": "predict", "positional": true,
                            "body": [{"name": "filename", "type": "str"}], "function": "predict_image"}'
                --routes-file takes the SDK's endpoint object {"routes": [...]}. When every Python worker has
                imported the model and found every function, one line is printed on stdout:
                  Endpoint is running at: http://HOST:PORT
                GET /ping answers {"message":"pong"}; GET /stats the counters {"served", "rejected",
                "abandoned_before_running", "served_after_client_left", "queued", "in_flight"} (both paths are
                reserved: a route may not claim their GET). Over --max-queue waiting calls, routes answer 503 with
                Retry-After. Exit codes: 0 stopped by SIGINT/SIGTERM, 2 usage error, 3 could not start.
                """,
            options: [
                .value("model-dir", valueName: "DIR", help: "Folder holding the model's Python files."),
                .value("route", valueName: "JSON", help: "One route as JSON.", repeatable: true),
                .value("routes-file", valueName: "FILE", help: "JSON file with {\"routes\": [...]}."),
                .value("host", valueName: "HOST", help: "Address to bind.", defaultDescription: "127.0.0.1"),
                .value("port", valueName: "PORT", help: "Port to bind; 0 picks a free one.", defaultDescription: "8080"),
                .value("workers", valueName: "N", help: "Python worker processes.", defaultDescription: "number of cores"),
                .value("threads", valueName: "N", help: "Concurrent calls per worker (for code that releases the GIL).", defaultDescription: "1"),
                .value("max-queue", valueName: "N", help: "Calls allowed to wait for a worker before 503.", defaultDescription: "256"),
                .value(
                    "timeout", valueName: "DURATION",
                    help: "A call running longer is answered 504 and its worker replaced (e.g. 30s; a bare number is seconds).",
                    defaultDescription: "60s"),
                .value("python", valueName: "PATH", help: "Python interpreter.", defaultDescription: "python3"),
                .value("fail-rate", valueName: "P", help: "Testing: answer this fraction of route calls 503 before running them.", defaultDescription: "0"),
                .value(
                    "delay", valueName: "DURATION",
                    help: "Testing: each call sleeps this long in its worker first (e.g. 10ms; a bare number is milliseconds).",
                    defaultDescription: "0ms"),
                .value(
                    "slow-rate", valueName: "P",
                    help: "Testing: this fraction of route calls takes --slow-delay instead of --delay (a heavy tail).",
                    defaultDescription: "0"),
                .value(
                    "slow-delay", valueName: "DURATION",
                    help: "How long a --slow-rate call takes (e.g. 200ms; a bare number is milliseconds).",
                    defaultDescription: "none"),
                .value("seed", valueName: "N", help: "Seed for --fail-rate and --slow-rate draws.", defaultDescription: "24301"),
                .value("retry-after", valueName: "SECONDS", help: "Retry-After value on 503 answers.", defaultDescription: "1"),
                .value("loop-threads", valueName: "N", help: "HTTP event-loop threads.", defaultDescription: "number of cores"),
                .value("max-body", valueName: "BYTES", help: "Largest request body (413 beyond).", defaultDescription: "8388608"),
                .value(
                    "drain-timeout", valueName: "DURATION",
                    help: "On SIGTERM/SIGINT, how long calls in flight may finish (new ones get 503) before the stop "
                        + "(e.g. 10s; a bare number is seconds).",
                    defaultDescription: "30s"),
                .flag(
                    "drop-abandoned",
                    help: "Drop calls waiting for a worker whose client has disconnected, or whose X-Deadline-Ms "
                        + "(milliseconds left when sent) has passed or would pass before the call could finish; "
                        + "they never reach Python (504)."),
                .value(
                    "ping-overload-queue", valueName: "N",
                    help: "GET /ping answers 503 with Retry-After while more than N calls wait for a worker.",
                    defaultDescription: "off"),
                .value(
                    "outage", valueName: "START:DURATION",
                    help: "Testing: from START for DURATION (seconds after the endpoint is ready, or durations like "
                        + "5s:2s), every route call and /ping get 503, with --outage-retry-after as their Retry-After.",
                    defaultDescription: "none"),
                .value(
                    "outage-retry-after", valueName: "SECONDS", help: "Retry-After value of the 503s during the outage.",
                    defaultDescription: "2"),
                .value(
                    "worker-memory", valueName: "MB",
                    help: "Limit each Python worker's address space (RLIMIT_AS): past it the model gets MemoryError "
                        + "(the call answers 500); a worker it kills is respawned.",
                    defaultDescription: "no limit"),
                .value(
                    "worker-max-calls", valueName: "N",
                    help: "Replace a worker after N calls: its replacement starts while it serves, then it "
                        + "finishes its calls (none is lost).",
                    defaultDescription: "never"),
                .value(
                    "worker-max-rss", valueName: "MB",
                    help: "Replace a worker whose resident memory exceeds MB (checked twice a second), for models "
                        + "that leak.",
                    defaultDescription: "never"),
                .value(
                    "header-timeout", valueName: "DURATION",
                    help: "A request head not complete this long after its first byte gets 408 and a close "
                        + "(slowloris; a bare number is seconds).",
                    defaultDescription: "30s"),
                .value(
                    "body-timeout", valueName: "DURATION",
                    help: "A request body not complete this long after its head gets 408 and a close "
                        + "(a bare number is seconds).",
                    defaultDescription: "30s"),
                .value(
                    "send-timeout", valueName: "DURATION",
                    help: "A client that reads none of its pending answers for this long is disconnected "
                        + "(a bare number is seconds).",
                    defaultDescription: "30s"),
                .value(
                    "idle-timeout", valueName: "DURATION",
                    help: "A keep-alive connection with no request for this long is closed (a bare number is seconds).",
                    defaultDescription: "75s"),
                .value(
                    "max-connections", valueName: "N",
                    help: "Connections open at once; past it a new connection gets 503 and a close.",
                    defaultDescription: "the open-file limit less 128"),
                .value(
                    "auth-token", valueName: "TOKEN",
                    help: "Require 'Authorization: Bearer TOKEN' on every route (401 otherwise; /ping stays open). "
                        + "Prefer the \(authTokenVariable) environment variable: a flag shows in ps."),
                .flag("no-access-log", help: "Do not log one line per request."),
                .flag(
                    "exit-on-stdin-eof",
                    help: "Shut down when standard input reaches end of file (a parent holding the pipe's other end "
                        + "then never leaves the endpoint behind; loadgen uses it)."),
            ])
    }

    /// Turns parsed flags into a configuration; errors name the flag.
    public static func configuration(
        from args: ParsedArguments, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CommandLineError) -> EndpointConfiguration {
        func fail(_ message: String) -> CommandLineError { CommandLineError(message, commandPath: args.commandPath) }
        guard let modelDir = args.string("model-dir") else { throw fail("missing --model-dir DIR") }
        var routes: [RouteSpec] = []
        for (index, text) in args.strings("route").enumerated() {
            do {
                routes.append(try RouteKeyCheck.decode(json: Array(text.utf8)))
            } catch {
                throw fail("--route #\(index + 1) is not a valid route: \(error)")
            }
        }
        if let file = args.string("routes-file") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw fail("--routes-file: cannot read '\(file)'")
            }
            do {
                let bytes = Array(data)
                try RouteKeyCheck.checkRoutesFile(json: bytes)
                let trimmed = bytes.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
                if trimmed == UInt8(ascii: "[") {
                    routes += try RouteSpec.decodeList(json: bytes)
                } else {
                    routes += try EndpointConfig.decode(json: bytes).routes
                }
            } catch {
                throw fail("--routes-file '\(file)': \(error)")
            }
        }
        if routes.isEmpty { throw fail("no routes: give at least one --route JSON or --routes-file FILE") }
        var config = EndpointConfiguration(modelDirectory: modelDir, routes: routes)
        if let host = args.string("host") { config.host = host }
        if let port = try args.int("port", in: 0...65_535) { config.port = port }
        if let workers = try args.int("workers", in: 1...256) { config.workers = workers }
        if let threads = try args.int("threads", in: 1...1_024) { config.threads = threads }
        if let maxQueue = try args.int("max-queue", in: 0...Int.max) { config.maxQueue = maxQueue }
        if let timeout = try args.duration("timeout", bareUnit: .seconds, positive: true) {
            config.callTimeout = Double(timeout) / 1e9
        }
        if let python = args.string("python") { config.pythonPath = python }
        if let rate = try args.double("fail-rate", in: 0...1) { config.failRate = rate }
        if let delay = try args.duration("delay", bareUnit: .milliseconds, maximum: 3_600 * 1_000_000_000) {
            config.delayMilliseconds = Double(delay) / 1e6
        }
        if let seed = try args.value("seed", expected: "an unsigned integer", { UInt64($0) }) { config.seed = seed }
        if let rate = try args.double("slow-rate", in: 0...1) { config.slowRate = rate }
        if let slow = try args.duration("slow-delay", bareUnit: .milliseconds, maximum: 3_600 * 1_000_000_000) {
            config.slowDelayMilliseconds = Double(slow) / 1e6
        }
        if config.slowRate > 0, args.string("slow-delay") == nil {
            throw fail("--slow-rate \(config.slowRate) needs --slow-delay: how long a slow call takes")
        }
        if args.string("slow-delay") != nil, config.slowDelayMilliseconds < config.pool.delayMilliseconds {
            throw fail(
                "--slow-delay (\(config.slowDelayMilliseconds) ms) must not be shorter than --delay (\(config.pool.delayMilliseconds) ms)"
                    + ": a slow call takes --slow-delay in all")
        }
        if let retryAfter = try args.int("retry-after", in: 0...86_400) { config.retryAfterSeconds = retryAfter }
        if let loops = try args.int("loop-threads", in: 1...256) { config.eventLoopThreads = loops }
        if let maxBody = try args.int("max-body", in: 1...Int.max) { config.maxBodyBytes = maxBody }
        if let drain = try args.duration("drain-timeout", bareUnit: .seconds, maximum: 86_400 * 1_000_000_000) {
            config.drainTimeout = Double(drain) / 1e9
        }
        if let timeout = try timeoutSeconds(args, "header-timeout") { config.headerTimeout = timeout }
        if let timeout = try timeoutSeconds(args, "body-timeout") { config.bodyTimeout = timeout }
        if let timeout = try timeoutSeconds(args, "send-timeout") { config.sendTimeout = timeout }
        if let timeout = try timeoutSeconds(args, "idle-timeout") { config.idleTimeout = timeout }
        if let connections = try args.int("max-connections", in: 1...10_000_000) { config.maxConnections = connections }
        if let token = args.string("auth-token") ?? environment[authTokenVariable] {
            guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw fail(
                    "\(args.string("auth-token") != nil ? "--auth-token" : authTokenVariable): a token must be "
                        + "non-empty printable ASCII without spaces")
            }
            config.authToken = token
        }
        if args.flag("no-access-log") { config.accessLog = false }
        if args.flag("drop-abandoned") { config.dropAbandoned = true }
        if let megabytes = try args.int("worker-memory", in: 16...(1 << 30)) { config.memoryLimitBytes = megabytes << 20 }
        if let calls = try args.int("worker-max-calls", in: 1...Int.max) { config.maxCallsPerWorker = calls }
        if let megabytes = try args.int("worker-max-rss", in: 1...(1 << 30)) { config.maxResidentBytes = megabytes << 20 }
        if let limit = try args.int("ping-overload-queue", in: 0...Int.max) { config.pingOverloadQueue = limit }
        config.outage = try args.value(
            "outage", expected: "START:DURATION in seconds (e.g. 10:5 or 10s:5s; DURATION greater than 0)",
            OutageWindow.parse)
        if let retryAfter = try args.int("outage-retry-after", in: 0...86_400) {
            config.outageRetryAfterSeconds = retryAfter
        }
        return config
    }

    /// The environment variable holding the bearer token (`--auth-token` wins when both are given).
    public static let authTokenVariable = "ENDPOINT_AUTH_TOKEN"

    /// A positive duration flag in seconds, at most a day.
    private static func timeoutSeconds(_ args: ParsedArguments, _ name: String) throws(CommandLineError) -> Double? {
        try args.duration(name, bareUnit: .seconds, positive: true, maximum: 86_400 * 1_000_000_000).map {
            Double($0) / 1e9
        }
    }

    /// The warning for a configuration that lets other machines call the model without a token, or nil.
    static func exposureWarning(_ config: EndpointConfiguration) -> String? {
        guard config.authToken == nil, !isLoopback(config.host) else { return nil }
        return "warning: listening on \(config.host), reachable from other machines, without a token: anyone who "
            + "can connect may call the model (set \(authTokenVariable) or --auth-token)"
    }

    /// Whether `host` names only this machine (a loopback address or `localhost`).
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Parses `arguments` (without the program name), serves until SIGINT/SIGTERM, returns the exit code.
    public static func main(arguments: [String], name: String) -> Int32 {
        let parser = CommandParser(root: spec(name: name))
        let parsed: ParsedArguments
        do {
            switch try parser.parse(arguments) {
            case .run(let value): parsed = value
            case .help(let text), .version(let text):
                writeAll(1, text.hasSuffix("\n") ? text : text + "\n")
                return ExitCode.success
            }
        } catch {
            writeAll(2, error.report)
            return ExitCode.usage
        }
        let config: EndpointConfiguration
        do {
            config = try configuration(from: parsed)
        } catch {
            writeAll(2, error.report)
            return ExitCode.usage
        }
        return serve(config, exitOnStandardInputEOF: parsed.flag("exit-on-stdin-eof"))
    }

    /// Starts `config`, prints the ready line, serves until SIGINT or SIGTERM.
    public static func serve(_ config: EndpointConfiguration, exitOnStandardInputEOF: Bool = false) -> Int32 {
        // Block the stop signals before any thread starts, so that every thread inherits the mask and the
        // main thread alone receives them through sigwait. Worker processes reset their mask at spawn.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)

        let log = EndpointLog()
        let server = ReferenceEndpointServer(configuration: config, log: log)
        do {
            try server.start()
        } catch {
            log.flush()
            writeAll(2, "error: \(error.message)\n")
            return ExitCode.startup
        }
        if let warning = exposureWarning(config) { log.log(warning) }
        writeAll(1, "Endpoint is running at: \(server.url)\n")
        if exitOnStandardInputEOF {
            // End of file on stdin (the parent closed its end, or died) stops the endpoint like SIGTERM does.
            let watcher = Thread {
                var byte: UInt8 = 0
                while true {
                    let n = read(0, &byte, 1)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                }
                log.log("standard input closed (--exit-on-stdin-eof)")
                kill(getpid(), SIGTERM)
            }
            watcher.start()
        }
        var received: Int32 = 0
        sigwait(&stopSignals, &received)
        // A graceful stop: no new connections, 503 + Retry-After for /ping and new calls, calls in flight finish
        // (up to --drain-timeout), then the workers stop.
        let signalName = received == SIGINT ? "SIGINT" : "SIGTERM"
        log.log("received \(signalName): draining (calls in flight may finish within \(config.drainTimeout) s)")
        let cut = server.drain(timeout: config.drainTimeout)
        log.log(
            cut == 0
                ? "drained: every call in flight finished; shutting down"
                : "drain timeout: \(cut) call\(cut == 1 ? "" : "s") still running will be cut; shutting down")
        server.shutdown()
        // The last lines (worker exits, the shutdown) reach the log unless its reader is stuck.
        log.flush(timeout: 2)
        return ExitCode.success
    }

    /// Writes all of `text` to `fd` (unbuffered, so the ready line reaches a pipe at once).
    static func writeAll(_ fd: Int32, _ text: String) { BlockingWrite.all(Array(text.utf8), to: fd) }
}
