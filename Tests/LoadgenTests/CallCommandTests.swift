import CommandLine
import EndpointSpec
import Foundation
import Glibc
import ReferenceEndpoint
import ResilientClient
import TestSupport
import Testing

@testable import LoadgenCore

/// The real reference endpoint for `loadgen call` tests.
enum CallFixtures {
    static let echoJSON = #"{"path": "/predict", "file": "predict", "function": "predict", "body": [{"name": "text", "type": "str"}]}"#
    static let echo = RouteSpec(
        path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "text", type: .str)])
    static let sleep = Repository.calculatorRoute("/sleep")

    static func start(
        _ model: String = "echo", routes: [RouteSpec] = [echo], configure: (inout EndpointConfiguration) -> Void = { _ in }
    ) throws -> ReferenceEndpointServer {
        var configuration = EndpointConfiguration(modelDirectory: Repository.example(model), routes: routes)
        configuration.port = 0
        configuration.workers = 1
        configuration.eventLoopThreads = 1
        configuration.accessLog = false
        configure(&configuration)
        let server = ReferenceEndpointServer(configuration: configuration, log: EndpointLog(enabled: false))
        try server.start()
        return server
    }

    /// Runs `loadgen call ARGS` in-process; returns (exit code, stdout, stderr).
    static func call(_ arguments: [String], directory: String = "/") async -> (Int32, String, String) {
        let out = Buffer()
        let err = Buffer()
        let code = await CallCommand.main(
            arguments, standardOutput: out.append, standardError: err.append, currentDirectory: directory)
        return (code, out.text, err.text)
    }
}

@Suite(.serialized, .dedicatedThreads, .timeLimit(.minutes(2))) struct CallCommandEndToEndTests {
    let fast = ["--base-delay", "1ms", "--max-delay", "5ms"]

    @Test func successPrintsTheBodyAndOneAttemptLine() async throws {
        let server = try CallFixtures.start()
        defer { server.shutdown() }
        let (code, out, err) = await CallFixtures.call([server.url + "/predict", "--body", #"{"text": "héllo"}"#])
        #expect(code == 0)
        #expect(out == #"{"text":"héllo","length":5}"# + "\n")
        let lines = err.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("attempt 1: HTTP 200 in ") == true)

        let (quietCode, quietOut, quietErr) = await CallFixtures.call(
            [server.url + "/predict", "-q", "-d", #"{"text": "x"}"#])
        #expect(quietCode == 0 && quietOut == #"{"text":"x","length":1}"# + "\n" && quietErr.isEmpty)

        // GET without a body (the default method then), through `loadgen`'s own dispatcher.
        let out2 = Buffer()
        let environment = LoadgenEnvironment(
            call: { args in
                await CallCommand.main(args, standardOutput: out2.append, standardError: { _ in })
            }, standardOutput: { _ in }, standardError: { _ in })
        #expect(await LoadgenCommand.main(["call", server.url + "/ping"], environment: environment) == 0)
        #expect(out2.text == #"{"message":"pong"}"# + "\n")
    }

    @Test func serverValidationErrorExitsOneWithTheBody_andRouteSpecGivesTheSameWithoutSending() async throws {
        let server = try CallFixtures.start()
        defer { server.shutdown() }
        let body = #"{"txt": "hello"}"#
        let (code, out, err) = await CallFixtures.call([server.url + "/predict", "--body", body])
        #expect(code == 6)
        let expected = #"{"detail":[{"type":"missing","loc":["body","text"],"msg":"Field required","input":{"txt":"hello"}}]}"#
        #expect(out == expected + "\n")
        #expect(err.contains("attempt 1: HTTP 422"))
        #expect(err.contains("error: the endpoint answered 422: body.text: Field required"))
        // The endpoint counts a response before sending it, so it is counted by now.
        #expect(server.stats.requests == 1)

        // With --route-spec the same answer comes from the endpoint's validator, and nothing is sent. A
        // URL without a path calls the route's path.
        for spec in [CallFixtures.echoJSON, "@route.json"] {
            let directory = try TempDir()
            defer { directory.cleanup() }
            try directory.write("route.json", CallFixtures.echoJSON)
            let (specCode, specOut, specErr) = await CallFixtures.call(
                [server.url, "--route-spec", spec, "--body", body], directory: directory.path)
            #expect(specCode == 6)
            #expect(specOut == out)
            #expect(specErr.contains("does not match --route-spec POST /predict; the endpoint would answer 422 (nothing was sent)"))
            #expect(!specErr.contains("attempt"))
        }
        // Invalid JSON: the validator's 400-class answer matches the endpoint's too.
        let broken = #"{"text": "#
        let (rawCode, rawOut, _) = await CallFixtures.call([server.url + "/predict", "--body", broken])
        let (specCode, specOut, _) = await CallFixtures.call(
            [server.url + "/predict", "--route-spec", CallFixtures.echoJSON, "--body", broken])
        #expect(rawCode == 6 && specCode == 6 && rawOut == specOut && rawOut.contains("json_invalid"))
        #expect(server.stats.requests == 2)

        // A valid body passes the spec and is sent.
        let (okCode, okOut, _) = await CallFixtures.call(
            [server.url, "--route-spec", CallFixtures.echoJSON, "--body", #"{"text": "ok"}"#])
        #expect(okCode == 0 && okOut == #"{"text":"ok","length":2}"# + "\n")
    }

    @Test func refusedPortExitsThreeAfterEveryRetry() async throws {
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let (code, out, err) = await CallFixtures.call(
            ["http://127.0.0.1:\(port)/predict", "--body", "{}", "--retries", "2"] + fast)
        #expect(code == 3)
        #expect(out.isEmpty)
        let attempts = err.split(separator: "\n").filter { $0.hasPrefix("attempt ") }
        #expect(attempts.count == 3)
        #expect(attempts.allSatisfy { $0.contains(": connection refused in ") })
        #expect(attempts.dropLast().allSatisfy { $0.contains("; retrying in ") && $0.hasSuffix("(backoff)") })
        #expect(err.contains("error: transport error after 3 attempt(s)"))

        // --wait-healthy against nothing: exit 3 as well, without calling.
        let (waitCode, _, waitErr) = await CallFixtures.call(
            ["http://127.0.0.1:\(port)/predict", "--wait-healthy", "200ms"])
        #expect(waitCode == 3)
        #expect(waitErr.contains("error: --wait-healthy: deadline exceeded"))
        #expect(!waitErr.contains("attempt 1"))
    }

    @Test func injectedFailuresAreRetriedAndEachAttemptIsReported() async throws {
        let server = try CallFixtures.start { configuration in
            configuration.failRate = 0.6
            configuration.retryAfterSeconds = 0
        }
        defer { server.shutdown() }
        var total503 = 0
        for index in 0..<5 {
            let (code, out, err) = await CallFixtures.call(
                [server.url + "/predict", "-d", #"{"text": "\#(index)"}"#, "--retries", "40"] + fast)
            #expect(code == 0)
            #expect(out == #"{"text":"\#(index)","length":1}"# + "\n")
            let attempts = err.split(separator: "\n").filter { $0.hasPrefix("attempt ") }
            #expect(attempts.last?.contains("HTTP 200") == true)
            for (number, line) in attempts.dropLast().enumerated() {
                #expect(line.hasPrefix("attempt \(number + 1): HTTP 503 in "))
                #expect(line.contains("; retrying in "))
            }
            total503 += attempts.count - 1
        }
        #expect(total503 == server.stats.injectedFailures)
        #expect(total503 > 0)
    }

    @Test func persistentOverloadExitsEightWithTheCappedRetryAfterShown() async throws {
        let server = try CallFixtures.start { configuration in
            configuration.failRate = 1
            configuration.retryAfterSeconds = 2
        }
        defer { server.shutdown() }
        let (code, out, err) = await CallFixtures.call(
            [server.url + "/predict", "-d", #"{"text": "x"}"#, "--retries", "2", "--jitter", "none",
             "--max-retry-after", "5ms"] + fast)
        #expect(code == 8)
        #expect(out == #"{"detail":"Service Unavailable"}"# + "\n")
        let attempts = err.split(separator: "\n").filter { $0.hasPrefix("attempt ") }
        #expect(attempts.count == 3)
        #expect(attempts.dropLast().allSatisfy { $0.hasSuffix("(Retry-After 5ms, capped by --max-retry-after)") })
        #expect(err.contains("error: endpoint overloaded: HTTP 503 after 3 attempt(s)"))
    }

    @Test func methodHeadersAndBodyFileAreSentAsGiven() async throws {
        let server = try CallFixtures.start()
        defer { server.shutdown() }
        let directory = try TempDir()
        defer { directory.cleanup() }
        try directory.write("body.json", #"{"text": "from a file"}"#)
        let (code, out, _) = await CallFixtures.call(
            [server.url + "/predict", "--body-file", "body.json", "-H", "X-Trace: 1"], directory: directory.path)
        #expect(code == 0 && out == #"{"text":"from a file","length":11}"# + "\n")

        // The method is honoured: GET on a POST route is 405, and that is an HTTP error.
        let (getCode, getOut, getErr) = await CallFixtures.call([server.url + "/predict", "-X", "get"])
        #expect(getCode == 6 && getOut == #"{"detail":"Method Not Allowed"}"# + "\n")
        #expect(getErr.contains("attempt 1: HTTP 405"))

        // A Content-Type header replaces the JSON default: the endpoint then rejects the body as not JSON.
        let (typeCode, typeOut, _) = await CallFixtures.call(
            [server.url + "/predict", "-d", #"{"text": "x"}"#, "-H", "Content-Type: text/plain"])
        let (specCode, specOut, _) = await CallFixtures.call(
            [server.url + "/predict", "-d", #"{"text": "x"}"#, "-H", "Content-Type: text/plain",
             "--route-spec", CallFixtures.echoJSON])
        #expect(typeCode == 6 && specCode == 6 && typeOut == specOut && typeOut.contains("\"detail\""))
    }

    @Test func noIdempotentStopsAfterA504() async throws {
        let server = try CallFixtures.start("calculator", routes: [CallFixtures.sleep]) { configuration in
            configuration.workers = 2
            configuration.callTimeout = 0.3
        }
        defer { server.shutdown() }
        let url = server.url + "/sleep"
        let (code, out, err) = await CallFixtures.call([url, "-d", #"{"seconds": 30}"#, "--retries", "1"] + fast)
        #expect(code == 7 && out.contains("Gateway Timeout"))
        #expect(err.split(separator: "\n").filter { $0.hasPrefix("attempt ") }.count == 2)

        let (onceCode, onceOut, onceErr) = await CallFixtures.call(
            [url, "-d", #"{"seconds": 30}"#, "--retries", "1", "--no-idempotent"] + fast)
        #expect(onceCode == 7 && onceOut.contains("Gateway Timeout"))
        let attempts = onceErr.split(separator: "\n").filter { $0.hasPrefix("attempt ") }
        #expect(attempts.count == 1 && attempts.first?.hasPrefix("attempt 1: HTTP 504") == true)
        #expect(onceErr.contains("error: HTTP 504 after 1 attempt(s)"))
    }

    @Test func aURLWithoutSchemeIsHTTP() async throws {
        let server = try CallFixtures.start()
        defer { server.shutdown() }
        let bare = String(server.url.dropFirst("http://".count))  // 127.0.0.1:PORT
        #expect(bare.hasPrefix("127.0.0.1:"))
        let port = bare.dropFirst("127.0.0.1:".count)
        for url in [bare + "/predict", "localhost:\(port)/predict"] {
            let (code, out, _) = await CallFixtures.call([url, "-q", "-d", #"{"text": "ab"}"#])
            #expect(code == 0, "\(url)")
            #expect(out == #"{"text":"ab","length":2}"# + "\n", "\(url)")
        }
    }

    @Test func writeOutPrintsTheFinalStatusAttemptsAndTime() async throws {
        let server = try CallFixtures.start()
        defer { server.shutdown() }
        let format = "code=%{http_code} attempts=%{attempts} time=%{time_total} exit=%{exitcode} 100%%\\n"
        let (code, out, _) = await CallFixtures.call([server.url + "/ping", "-q", "-w", format])
        #expect(code == 0)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines[0] == #"{"message":"pong"}"# && lines[2].isEmpty)
        let fields = lines[1].split(separator: " ")
        #expect(fields.count == 5 && fields[0] == "code=200" && fields[1] == "attempts=1" && fields[3] == "exit=0")
        #expect(fields[4] == "100%")
        let seconds = Double(fields[2].dropFirst("time=".count)) ?? -1
        #expect(seconds > 0 && seconds < 5 && fields[2].split(separator: ".").last?.count == 6)

        // A 4xx: its status, and the body before the write-out.
        let (missingCode, missingOut, _) = await CallFixtures.call(
            [server.url + "/nowhere", "-q", "-w", "%{http_code}"])
        #expect(missingCode == 6 && missingOut.hasSuffix("}\n404"))

        // No answer at all: 000, and every attempt counted.
        let refusing = try RefusingPort()  // refused for as long as it lives
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let (refusedCode, refusedOut, _) = await CallFixtures.call(
            ["127.0.0.1:\(port)/predict", "-q", "--retries", "2", "-w", "%{http_code} %{attempts} %{exitcode}"] + fast)
        #expect(refusedCode == 3 && refusedOut == "000 3 3")
    }

    @Test func overloadedAfterEveryRetryIsEightAndTheWriteOutShowsThe503() async throws {
        let server = try CallFixtures.start { configuration in
            configuration.failRate = 1
            configuration.retryAfterSeconds = 0
        }
        defer { server.shutdown() }
        let (code, out, err) = await CallFixtures.call(
            [server.url + "/predict", "-d", #"{"text": "x"}"#, "--retries", "3", "-w", "%{http_code} %{attempts}"] + fast)
        #expect(code == 8)
        #expect(out == #"{"detail":"Service Unavailable"}"# + "\n503 4")
        #expect(err.contains("error: endpoint overloaded: HTTP 503 after 4 attempt(s)"))
    }

    @Test func aPythonErrorIsFiveHundredAndExitsSeven() async throws {
        let server = try CallFixtures.start("calculator", routes: [Repository.calculatorRoute("/fail")])
        defer { server.shutdown() }
        let (code, out, err) = await CallFixtures.call(
            [server.url + "/fail", "-d", #"{"message": "boom"}"#, "-w", "\\n%{http_code}"] + fast)
        #expect(code == 7)
        #expect(out.hasSuffix("\n500") && out.contains("boom"))
        #expect(err.contains("attempt 1: HTTP 500"))
    }

    @Test func aSlowAnswerIsATimeoutNotAnUnreachableTarget() async throws {
        let server = try CallFixtures.start("calculator", routes: [CallFixtures.sleep]) { configuration in
            configuration.workers = 2
        }
        defer { server.shutdown() }
        let url = server.url + "/sleep"
        // The attempt timeout passes while the endpoint works: exit 5, reported as a response timeout.
        let (code, out, err) = await CallFixtures.call(
            [url, "-d", #"{"seconds": 2}"#, "--attempt-timeout", "200ms", "--retries", "0", "-w", "%{http_code}"])
        #expect(code == 5)
        #expect(out == "000")
        #expect(err.contains("attempt 1: response timeout in "))
        // The overall deadline passes across retries: exit 5 as well.
        let (deadlineCode, _, deadlineErr) = await CallFixtures.call(
            [url, "-d", #"{"seconds": 2}"#, "--attempt-timeout", "150ms", "--deadline", "400ms", "--retries", "9"] + fast)
        #expect(deadlineCode == 5)
        #expect(deadlineErr.contains("error: deadline exceeded"))
    }

    /// A listener whose accept queue is full: the kernel drops new SYNs, so a connect hangs until the
    /// attempt timeout, before any byte of the request is sent.
    @Test func aTimeoutBeforeAnyByteWasSentIsAConnectTimeoutAndIsRetriedEvenWithNoIdempotent() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 && listen(listener, 0) == 0
            }
        }
        try #require(bound)
        // Fill the accept queue (backlog 0 holds one) with connections nobody accepts.
        var fillers: [Int32] = []
        defer { for fd in fillers { close(fd) } }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            try #require(fd >= 0)
            fillers.append(fd)
            _ = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
            }
        }
        usleep(100_000)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let (code, out, err) = await CallFixtures.call(
            ["127.0.0.1:\(port)/predict", "-d", "{}", "--attempt-timeout", "200ms", "--retries", "1",
             "--no-idempotent", "-w", "%{http_code} %{attempts}"] + fast)
        let attempts = err.split(separator: "\n").filter { $0.hasPrefix("attempt ") }
        #expect(attempts.count == 2, "\(err)")
        #expect(attempts.allSatisfy { $0.contains(": connect timeout in ") }, "\(err)")
        #expect(code == 3 && out == "000 2")
    }
}

@Suite struct CallCommandOptionTests {
    func usage(_ arguments: [String]) async -> String? {
        let (code, out, err) = await CallFixtures.call(arguments)
        guard code == 2, out.isEmpty else { return nil }
        return err
    }

    @Test func helpListsEveryFlagAndTheExitCodes() async {
        let (code, out, err) = await CallFixtures.call(["--help"])
        #expect(code == 0 && err.isEmpty)
        for flag in [
            "--body", "--body-file", "--method", "--header", "--retries", "--base-delay", "--max-delay", "--jitter",
            "--deadline", "--attempt-timeout", "--no-idempotent", "--wait-healthy", "--route-spec", "--quiet",
        ] {
            #expect(out.contains(flag), "help lacks \(flag)")
        }
        for flag in ["--write-out", "%{http_code}", "%{attempts}", "%{time_total}", "--ca-file"] {
            #expect(out.contains(flag), "help lacks \(flag)")
        }
        for exit in ["0  the endpoint answered 2xx", "1  the endpoint answered another status", "2  usage error",
                     "3  could not reach the target", "4  other runtime error", "5  timed out",
                     "6  the endpoint answered 4xx", "7  the endpoint answered 5xx", "8  the endpoint answered 503"] {
            #expect(out.contains(exit))
        }
    }

    @Test func usageErrorsNameTheFlag() async throws {
        let url = "http://127.0.0.1:9/predict"
        let cases: [([String], String)] = [
            ([], "missing argument <URL>"),
            (["not a url"], "<URL> expects an http:// or https:// URL"),
            (["ftp://host/x"], "<URL> expects an http:// or https:// URL"),
            ([url, "--write-out", "%{nope}"], "--write-out: unknown variable %{nope} (known: %{http_code}, %{attempts}"),
            ([url, "-w", "%{http_code"], "--write-out: unterminated %{"),
            ([url, "--ca-file", "/etc/hostname"], "--ca-file is for https:// URLs"),
            (["https://h/p", "--ca-file", "/nonexistent/ca.pem"], "--ca-file: cannot read '/nonexistent/ca.pem'"),
            (["https://h/p", "--ca-file", "/etc/hostname"], "--ca-file: '/etc/hostname' holds no PEM certificate"),
            ([url, "--body", "{}", "--body-file", "b.json"], "--body and --body-file cannot be used together"),
            ([url, "--body-file", "/nonexistent/body.json"], "--body-file: cannot read '/nonexistent/body.json'"),
            ([url, "--route-spec", "{"], "--route-spec is not a valid route"),
            ([url, "--route-spec", #"{"path": "/p"}"#], "--route-spec is not a valid route"),
            ([url, "--route-spec", "@/nonexistent/route.json"], "--route-spec: cannot read '/nonexistent/route.json'"),
            ([url, "--method", "PO ST"], "--method expects an HTTP method"),
            ([url, "--header", "NoColon"], "--header expects NAME:VALUE"),
            ([url, "--header", "Bad Name: x"], "--header expects NAME:VALUE"),
            ([url, "--retries", "-1"], "--retries expects an integer from 0 to 1000, got '-1'"),
            ([url, "--retries", "many"], "--retries expects an integer from 0 to 1000, got 'many'"),
            ([url, "--base-delay", "10"], "--base-delay expects a duration greater than 0 like 500ms or 2s, got '10'"),
            ([url, "--max-delay", "0s"], "--max-delay expects a duration"),
            ([url, "--base-delay", "2s", "--max-delay", "1s"], "--max-delay (1s) must not be shorter than --base-delay (2s)"),
            ([url, "--jitter", "random"], "--jitter expects one of none, full, equal, decorrelated, got 'random'"),
            ([url, "--deadline", "soon"], "--deadline expects a duration"),
            ([url, "--attempt-timeout", "-1s"], "--attempt-timeout expects a duration"),
            ([url, "--wait-healthy", "x"], "--wait-healthy expects a duration"),
            ([url, "--retrys", "3"], "unknown option '--retrys'; did you mean --retries?"),
            ([url, "extra"], "unexpected argument 'extra'"),
        ]
        for (arguments, message) in cases {
            let err = await usage(arguments)
            #expect(err?.contains("error: " + message) == true, "\(arguments): \(err ?? "not a usage error")")
            #expect(err?.contains("Run 'loadgen call --help' for usage.") == true)
        }
    }

    @Test func optionsConvertToTheClientsPolicy() throws {
        let parser = CommandParser(root: CallCommand.spec)
        guard case .run(let parsed) = try parser.parse([
            "https://example.com:8443/a%20b?x=1", "-d", "[1]", "--retries", "7", "--base-delay", "20ms",
            "--max-delay", "2s", "--jitter", "decorrelated", "--deadline", "1m", "--attempt-timeout", "1.5s",
            "--no-idempotent", "--wait-healthy", "5s", "-H", "Accept: text/plain", "-q",
        ]) else {
            Issue.record("expected a run")
            return
        }
        let options = try CallCommandOptions(parsed, currentDirectory: "/")
        #expect(options.baseURL.absoluteString == "https://example.com:8443")
        #expect(options.path == "/a%20b?x=1")
        #expect(options.method == "POST")
        #expect(options.body == Array("[1]".utf8))
        #expect(options.contentType == "application/json")
        #expect(options.retry.maxAttempts == 8)
        #expect(options.retry.backoff == Backoff(base: .milliseconds(20), multiplier: 2, cap: .seconds(2), jitter: .decorrelated))
        #expect(options.deadline == .seconds(60) && options.attemptTimeout == .milliseconds(1500))
        #expect(!options.idempotent && options.waitHealthy == .seconds(5) && options.quiet)
        #expect(options.headers.map(\.name) == ["Accept"] && options.headers.map(\.value) == ["text/plain"])

        // Defaults: GET without a body, the route spec's verb and path with one.
        guard case .run(let bare) = try parser.parse(["http://h"]) else { return }
        let defaults = try CallCommandOptions(bare, currentDirectory: "/")
        #expect(defaults.method == "GET" && defaults.path == "/" && defaults.body == nil && defaults.contentType == nil)
        #expect(defaults.retry.maxAttempts == 5 && defaults.retry.backoff == Backoff())
        #expect(defaults.deadline == .seconds(30) && defaults.attemptTimeout == .seconds(10) && defaults.idempotent)
        guard case .run(let routed) = try parser.parse([
            "http://h:1", "--route-spec", #"{"verb": "PUT", "path": "/r", "file": "f", "function": "g", "body": []}"#,
        ]) else { return }
        let route = try CallCommandOptions(routed, currentDirectory: "/")
        #expect(route.method == "PUT" && route.path == "/r" && route.routeSpec?.function == "g")
    }

    @Test func everyClientErrorHasADocumentedExitCode() {
        typealias Code = CallCommand.ExitCode
        let cases: [(ResilientClientError, Code)] = [
            (.decoding(message: "not JSON", body: []), .success),
            (.validation(ValidationProblem(details: [])), .clientError),
            (.httpStatus(status: 404, body: [], attempts: 1), .clientError),
            (.httpStatus(status: 500, body: [], attempts: 1), .serverError),
            (.httpStatus(status: 504, body: [], attempts: 1), .serverError),
            (.httpStatus(status: 503, body: [], attempts: 1), .overloaded),
            (.httpStatus(status: 302, body: [], attempts: 1), .otherStatus),
            (.overloaded(attempts: 5, lastStatus: 503), .overloaded),
            (.overloaded(attempts: 5, lastStatus: 502), .serverError),
            (.deadlineExceeded(attempts: 2, last: .status(503)), .overloaded),
            (.deadlineExceeded(attempts: 2, last: .status(500)), .serverError),
            (.deadlineExceeded(attempts: 2, last: .transport(.responseTimeout)), .timedOut),
            (.deadlineExceeded(attempts: 0, last: nil), .timedOut),
            (.deadlineExceeded(attempts: 3, last: .transport(.connectionRefused)), .unreachable),
            (.deadlineExceeded(attempts: 3, last: .transport(.connectTimeout)), .unreachable),
            (.budgetExhausted(attempts: 2, last: .status(503)), .overloaded),
            (.budgetExhausted(attempts: 2, last: .transport(.connectionRefused)), .unreachable),
            (.transport(TransportError(.connectionRefused), attempts: 1), .unreachable),
            (.transport(TransportError(.connectTimeout), attempts: 1), .unreachable),
            (.transport(TransportError(.responseTimeout), attempts: 1), .timedOut),
            (.transport(TransportError(.connectionClosed(requestSent: true)), attempts: 1), .unreachable),
            (.transport(TransportError(.other, "TLS"), attempts: 1), .unreachable),
            (.transport(TransportError(.protocolError), attempts: 1), .runtimeError),
            (.transport(TransportError(.cancelled), attempts: 1), .runtimeError),
            (.gateBlocked, .unreachable),
            (.invalidRequest("bad URL"), .usageError),
            (.cancelled, .runtimeError),
        ]
        for (error, code) in cases {
            #expect(CallCommand.exitCode(for: error) == code, "\(error)")
        }
        #expect(Code.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Code.usageError.rawValue == LoadgenExitCode.usageError.rawValue)
        #expect(Code.unreachable.rawValue == LoadgenExitCode.targetUnreachable.rawValue)
    }

    @Test func attemptLinesSayWhatHappenedAndWhy() {
        let out = Buffer()
        let printer = AttemptPrinter(write: out.append)
        printer.handle(.attempt(path: "/p", .init(
            number: 1, outcome: .transport(.connectionRefused), message: "connect(): Connection refused",
            latency: .microseconds(250))))
        printer.handle(.retryScheduled(
            path: "/p", nextAttempt: 2, delay: .milliseconds(80),
            reason: DelayReason(cause: .transport(.connectionRefused), backoff: .milliseconds(80))))
        printer.handle(.attempt(path: "/p", .init(number: 2, outcome: .status(503), latency: .milliseconds(2))))
        printer.handle(.retryScheduled(
            path: "/p", nextAttempt: 3, delay: .seconds(1),
            reason: DelayReason(cause: .status(503), backoff: .milliseconds(10), retryAfter: .seconds(1))))
        printer.handle(.gate(.init(from: .passing, to: .blocked)))
        printer.handle(.probe(healthy: true, outcome: .status(200)))
        printer.handle(.attempt(path: "/p", .init(number: 3, outcome: .status(200), latency: .milliseconds(3), trial: true)))
        printer.handle(.budgetRefused(path: "/p", attempts: 3))
        printer.handle(.gateRejected(path: "/p"))
        printer.flush()
        #expect(
            out.text == """
                attempt 1: connection refused in 250us (connect(): Connection refused); retrying in 80ms (backoff)
                attempt 2: HTTP 503 in 2ms; retrying in 1s (Retry-After 1s)
                health gate: passing -> blocked
                probe /ping: HTTP 200 (healthy)
                attempt 3: HTTP 200 in 3ms [trial call]
                retry budget exhausted after 3 attempts: not adding load
                health gate blocked: not sending

                """)
        #expect(AttemptPrinter.describe(.transport(.connectionClosed(requestSent: false))) == "connection closed before sending")
        #expect(AttemptPrinter.describe(DelayReason(
            cause: .status(503), backoff: .milliseconds(1), retryAfter: .seconds(5), retryAfterCapped: true))
            == "Retry-After 5s, capped by --max-retry-after")
    }
}
