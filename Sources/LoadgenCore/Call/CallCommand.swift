import CommandLine
import EndpointSpec
import Foundation
import HTTP1
import ResilientClient

/// `loadgen call URL [...]`: a resilient curl. Sends one request with ``ResilientClient``'s retries,
/// backoff, retry budget, health gate and deadline; prints the response body on stdout and one line
/// per attempt on stderr; the exit code says how it ended.
///
/// ```
/// $ loadgen call http://127.0.0.1:8080/predict --body '{"text": "hi"}' --retries 6
/// attempt 1: HTTP 503 in 0.4ms; retrying in 71.2ms (backoff)
/// attempt 2: HTTP 200 in 1.9ms
/// {"text":"hi","length":2}
/// ```
public enum CallCommand {
    /// `loadgen call`'s exit codes. 2, 3 and 4 mean what they mean for every `loadgen` command (usage
    /// error, target unreachable, runtime error); the others say how the endpoint answered, one class
    /// each, as httpie's `--check-status` does (whose own numbers clash with loadgen's 2 to 4).
    public enum ExitCode: Int32, Sendable, CaseIterable {
        /// The endpoint answered 2xx.
        case success = 0
        /// The endpoint's final answer was neither 2xx nor an error (1xx, 3xx: redirects are not followed).
        case otherStatus = 1
        /// Bad flags or values, unreadable `--body-file` or `--ca-file`, invalid `--route-spec`.
        case usageError = 2
        /// The target could not be reached: connection refused, host not found, connect timeout, TLS
        /// handshake or certificate failure, connection lost without an answer; `--wait-healthy` timed
        /// out; the health gate stayed closed.
        case unreachable = 3
        /// Anything else: a malformed HTTP response, cancellation.
        case runtimeError = 4
        /// The endpoint was reached but did not answer in time: `--attempt-timeout` or `--deadline` passed
        /// while waiting for the response.
        case timedOut = 5
        /// The endpoint answered 4xx, or the body does not match `--route-spec` (then nothing was sent:
        /// the endpoint would answer 422).
        case clientError = 6
        /// The endpoint answered 5xx (500, 502, 504, ...), other than a 503 after every retry.
        case serverError = 7
        /// The endpoint answered 503 to every attempt allowed: overloaded.
        case overloaded = 8
    }

    static let exitCodes = """
        EXIT CODES:
          0  the endpoint answered 2xx (its body is printed on stdout)
          1  the endpoint answered another status (1xx, 3xx; redirects are not followed)
          2  usage error (bad flag or value, unreadable --body-file or --ca-file, invalid --route-spec)
          3  could not reach the target (connection refused, host not found, connect timeout, TLS
             certificate not trusted, connection lost without an answer, --wait-healthy timed out)
          4  other runtime error (malformed HTTP response, cancelled)
          5  timed out: the target was reached but no answer came within --attempt-timeout or --deadline
          6  the endpoint answered 4xx, or the body does not match --route-spec (the 422 body the endpoint
             would send is printed; nothing is sent)
          7  the endpoint answered 5xx (500, 502, 504, ...) after every retry allowed
          8  the endpoint answered 503 (overloaded) to every attempt allowed
          With an answer (1, 6, 7, 8) its body is printed on stdout, as with 0.
        """

    /// The command's flags.
    public static let spec = CommandSpec(
        name: "loadgen call",
        abstract: "Call an endpoint once, with ResilientClient's retries, and print the response body.",
        discussion: """
            Retried: 429 and 503 always (honouring Retry-After as sent, up to --deadline and
            --max-retry-after); refused connections; and, unless
            --no-idempotent, 502, 504, response timeouts and connections lost after sending. The method
            defaults to the --route-spec's verb, else POST with a body and GET without. The body is sent
            exactly as given, with Content-Type: application/json unless a --header sets another.
            --route-spec takes one route in the seed's JSON form (or @FILE); the body is then checked with
            the endpoint's own validator before anything is sent, and a URL without a path calls the
            route's path. Each attempt is reported on stderr: number, status or error, latency, and the
            delay slept before the next attempt and why (backoff or Retry-After). A timeout before any
            byte of the request was sent (connect timeout) is retried even with --no-idempotent.

            https:// URLs go through URLSession (libcurl on Linux) and trust the system's certificate
            authorities; --ca-file PEM trusts the authorities in PEM instead (e.g. a local CA that signed
            a development certificate).

            \(exitCodes)
            """,
        options: [
            .value("body", short: "d", valueName: "JSON", help: "Request body, sent as given."),
            .value("body-file", valueName: "FILE", help: "Read the request body from FILE."),
            .value("method", short: "X", valueName: "METHOD", help: "HTTP method.", defaultDescription: "see below"),
            .value(
                "header", short: "H", valueName: "NAME:VALUE", help: "Add a header field.", repeatable: true),
            .value("retries", valueName: "N", help: "Retries after the first attempt.", defaultDescription: "4"),
            .value("base-delay", valueName: "D", help: "Backoff before the first retry, doubling.", defaultDescription: "100ms"),
            .value("max-delay", valueName: "D", help: "Longest backoff.", defaultDescription: "5s"),
            .value(
                "max-retry-after", valueName: "D", help: "Cut a longer Retry-After to D instead of waiting it out.",
                defaultDescription: "as sent, up to --deadline"),
            .value(
                "jitter", valueName: "MODE", help: "Backoff jitter: none, full, equal or decorrelated.",
                defaultDescription: "full"),
            .value("deadline", valueName: "D", help: "Overall deadline across attempts and sleeps.", defaultDescription: "30s"),
            .value("attempt-timeout", valueName: "D", help: "Timeout of one attempt.", defaultDescription: "10s"),
            .value(
                "max-response", valueName: "BYTES",
                help: "Largest response body read; a longer one fails the attempt.",
                defaultDescription: "8388608"),
            .flag("no-idempotent", help: "The route has side effects: do not retry after it may have run."),
            .value("wait-healthy", valueName: "D", help: "First poll GET /ping until it answers 200, for at most D."),
            .value("route-spec", valueName: "JSON", help: "Validate the body against this route before sending."),
            .flag("quiet", short: "q", help: "No attempt lines on stderr (errors are still printed)."),
            .value(
                "write-out", short: "w", valueName: "FORMAT",
                help: "After the body, print FORMAT on stdout: %{http_code} (000: no answer), %{attempts}, "
                    + "%{time_total} (seconds), %{exitcode}; \\n is a newline, %% a %."),
            .value("ca-file", valueName: "PEM", help: "Trust the certificate authorities in PEM (https:// only) instead of the system's."),
        ],
        positionals: [
            PositionalSpec(
                "URL",
                help: "the endpoint URL with the route's path, e.g. http://127.0.0.1:8080/predict; without a "
                    + "scheme (127.0.0.1:8080/predict) http:// is assumed")
        ])

    /// Runs `loadgen call` with `arguments` (those after `call`); returns the exit code.
    ///
    /// - Parameters:
    ///   - arguments: the command-line arguments after `call`.
    ///   - standardOutput: where the response body goes.
    ///   - standardError: where attempt lines and errors go.
    ///   - currentDirectory: where relative file paths start.
    public static func main(
        _ arguments: [String], standardOutput: @escaping @Sendable (String) -> Void = StandardStreams.writeOutput,
        standardError: @escaping @Sendable (String) -> Void = StandardStreams.writeError,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) async -> Int32 {
        let options: CallCommandOptions
        do {
            switch try CommandParser(root: spec).parse(arguments) {
            case .help(let text), .version(let text):
                standardOutput(text)
                return ExitCode.success.rawValue
            case .run(let parsed):
                options = try CallCommandOptions(parsed, currentDirectory: currentDirectory)
            }
        } catch {
            standardError(error.report)
            return ExitCode.usageError.rawValue
        }
        return await run(options, standardOutput: standardOutput, standardError: standardError).rawValue
    }

    /// Performs the call described by `options`.
    public static func run(
        _ options: CallCommandOptions, standardOutput: @escaping @Sendable (String) -> Void,
        standardError: @escaping @Sendable (String) -> Void
    ) async -> ExitCode {
        let started = ContinuousClock.now
        var transport: CallTransport?
        let code = await perform(
            options, standardOutput: standardOutput, standardError: standardError, started: { transport = $0 })
        if let writeOut = options.writeOut {
            let elapsed = ContinuousClock.now - started
            standardOutput(
                writeOut.render(
                    .init(
                        status: transport?.lastResponse?.status, attempts: transport?.attempts ?? 0,
                        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                        exitCode: code.rawValue)))
        }
        return code
    }

    private static func perform(
        _ options: CallCommandOptions, standardOutput: @escaping @Sendable (String) -> Void,
        standardError: @escaping @Sendable (String) -> Void, started: (CallTransport) -> Void
    ) async -> ExitCode {
        // The endpoint's own validator, on the very bytes and Content-Type that would be sent.
        if let route = options.routeSpec,
            case .failure(let failure) = BodyTemplate(route.body).validate(
                body: options.body, contentType: options.contentType)
        {
            standardOutput(text(failure.responseBody()))
            standardError(
                "error: the body does not match --route-spec \(route.verb) \(route.path); the endpoint would "
                    + "answer \(failure.status) (nothing was sent)\n")
            return .clientError
        }

        let inner: any HTTPTransport
        var ownedLoop: LoopTransport?
        if options.baseURL.scheme == "http" {
            do {
                let loop = try LoopTransport(
                    configuration: .init(
                        maxConnectionsPerHost: 1, limits: HTTPLimits(maxBodyBytes: options.maxResponseBytes)))
                ownedLoop = loop
                inner = loop
            } catch {
                standardError("error: cannot start the HTTP client: \(error)\n")
                return .runtimeError
            }
        } else {
            do {
                inner = try SecureTransports.make(caFile: options.caFile, maxResponseBytes: options.maxResponseBytes)
            } catch {
                standardError("error: cannot start the HTTPS client: \(error)\n")
                return .runtimeError
            }
        }
        defer { ownedLoop?.shutdown() }
        let transport = CallTransport(inner, method: options.method, path: options.path, body: options.body)
        started(transport)
        let printer = AttemptPrinter(write: standardError)

        var configuration = ResilientClientConfiguration(baseURL: options.baseURL)
        configuration.retry = options.retry
        configuration.deadline = options.deadline
        configuration.attemptTimeout = options.attemptTimeout
        let userHeaders = Set(options.headers.map { $0.name.lowercased() })
        configuration.headers = configuration.headers.filter { !userHeaders.contains($0.name.lowercased()) }
            + options.headers
        if !options.quiet { configuration.onEvent = { printer.handle($0) } }
        let client = ResilientClient(configuration: configuration, transport: transport)
        defer { client.shutdown() }

        if let wait = options.waitHealthy {
            if !options.quiet {
                standardError("waiting up to \(AttemptPrinter.format(wait)) for \(configuration.pingPath) to answer 200\n")
            }
            do {
                try await client.waitUntilHealthy(timeout: wait)
            } catch {
                standardError("error: --wait-healthy: \(error)\n")
                return error.isTransportLevel ? .unreachable : exitCode(for: error)
            }
        }

        // The route as the client sees it: its template is empty, because the body was checked above
        // (on its raw bytes, as the endpoint would) and is sent by `CallTransport` as given.
        let route = RouteSpec(verb: options.method, path: options.path, file: "", function: "", body: [])
        let failure: ResilientClientError?
        do {
            _ = try await client.callJSON(route, .null, idempotent: options.idempotent)
            failure = nil
        } catch {
            failure = error
        }
        printer.flush()
        if let response = transport.lastResponse, failure.map(printsBody) ?? true {
            standardOutput(text(response.body))
        }
        guard let failure else { return statusCode(transport.lastResponse?.status ?? 200) }
        let code = exitCode(for: failure)
        if code == .success { return .success }
        if case .validation(let problem) = failure {
            standardError("error: the endpoint answered 422: \(problem)\n")
        } else {
            standardError("error: \(failure)\n")
            if "\(failure)".contains("SSL certificate problem") {
                standardError("hint: the server's certificate is not signed by a trusted authority; trust its CA with --ca-file PEM\n")
            }
        }
        return code
    }

    /// The exit code of a failed call: by the class of the last answer when there was one, else by
    /// how the last attempt failed.
    static func exitCode(for error: ResilientClientError) -> ExitCode {
        switch error {
        case .decoding: return .success  // a 2xx whose body is not JSON: still a success for a curl
        case .validation: return .clientError
        case .httpStatus(let status, _, _): return statusCode(status)
        case .overloaded(_, let status): return status == 503 ? .overloaded : statusCode(status)
        case .deadlineExceeded(_, let last):
            guard let last else { return .timedOut }
            return outcomeCode(last)
        case .budgetExhausted(_, let last), .retryAfterBeyondDeadline(_, _, let last): return outcomeCode(last)
        case .transport(let transport, _): return outcomeCode(.transport(transport.kind))
        case .gateBlocked: return .unreachable
        case .invalidRequest: return .usageError
        case .cancelled, .shutdown: return .runtimeError
        }
    }

    /// The exit code of a final status.
    static func statusCode(_ status: Int) -> ExitCode {
        switch status {
        case 200..<300: return .success
        case 400..<500: return .clientError
        case 503: return .overloaded
        case 500..<600: return .serverError
        default: return .otherStatus
        }
    }

    private static func outcomeCode(_ outcome: AttemptOutcome) -> ExitCode {
        switch outcome {
        case .status(let status): return statusCode(status)
        case .transport(.responseTimeout): return .timedOut
        case .transport(.protocolError), .transport(.responseTooLarge), .transport(.cancelled), .transport(.shutdown):
            return .runtimeError
        case .transport: return .unreachable
        }
    }

    /// Whether the last response's body belongs on stdout for this outcome (every answer from the
    /// endpoint does; a transport failure has none).
    private static func printsBody(_ error: ResilientClientError) -> Bool {
        switch error {
        case .decoding, .validation, .httpStatus, .overloaded: return true
        case .deadlineExceeded(_, let last):
            if case .status? = last { return true }
            return false
        case .budgetExhausted(_, let last), .retryAfterBeyondDeadline(_, _, let last):
            if case .status = last { return true }
            return false
        default: return false
        }
    }

    /// The body as text, ending with a newline.
    private static func text(_ body: [UInt8]) -> String {
        let string = String(decoding: body, as: UTF8.self)
        return string.isEmpty || string.hasSuffix("\n") ? string : string + "\n"
    }
}

extension ResilientClientError {
    /// Whether `waitUntilHealthy` failed because the endpoint never answered 200 in time.
    fileprivate var isTransportLevel: Bool {
        switch self {
        case .deadlineExceeded, .transport: return true
        default: return false
        }
    }
}
