import CommandLine
import EndpointSpec
import Foundation
import ResilientClient

/// Everything `loadgen call` was asked to do, checked and converted from its flags.
public struct CallCommandOptions: Sendable {
    /// `scheme://host[:port]`, the client's base URL.
    public var baseURL: URL
    /// The path (and query) called, e.g. `/predict`.
    public var path: String
    /// The HTTP method (upper-case).
    public var method: String
    /// The body bytes exactly as given (`nil`: no body).
    public var body: [UInt8]?
    /// Extra header fields, in order.
    public var headers: [(name: String, value: String)]
    /// The client's retry policy (`--retries`, `--base-delay`, `--max-delay`, `--max-retry-after`, `--jitter`).
    public var retry: RetryPolicy
    /// `--deadline` (default 30 s).
    public var deadline: Duration
    /// `--attempt-timeout` (default 10 s).
    public var attemptTimeout: Duration
    /// `--max-response`: the largest response body read (default 8 MiB).
    public var maxResponseBytes: Int
    /// `false` with `--no-idempotent`.
    public var idempotent: Bool
    /// `--wait-healthy`: poll `/ping` this long before calling.
    public var waitHealthy: Duration?
    /// `--route-spec`: the route whose body template the body is checked against before sending.
    public var routeSpec: RouteSpec?
    /// `--quiet`: no attempt lines.
    public var quiet: Bool
    /// `--write-out`: printed on stdout after the body (see `CallWriteOut`).
    var writeOut: CallWriteOut?
    /// `--ca-file`: a PEM file of certificate authorities trusted for an `https://` URL (instead of the
    /// system's), as an absolute path.
    public var caFile: String?

    /// The `Content-Type` the request will carry: the user's header, else JSON when there is a body.
    public var contentType: String? {
        if let given = headers.first(where: { $0.name.lowercased() == "content-type" }) { return given.value }
        return body == nil ? nil : "application/json"
    }

    /// Converts parsed flags; errors name the flag and the value.
    ///
    /// - Parameters:
    ///   - parsed: the parser's output for `loadgen call`.
    ///   - currentDirectory: where relative `--body-file` and `--route-spec @FILE` paths start.
    public init(_ parsed: ParsedArguments, currentDirectory: String) throws(CommandLineError) {
        func fail(_ message: String) -> CommandLineError { CommandLineError(message, commandPath: parsed.commandPath) }
        func duration(_ name: String, default value: Duration) throws(CommandLineError) -> Duration {
            try parsed.value(name, expected: "a duration greater than 0 like 500ms or 2s") { text in
                guard let parsed = DurationValue(parsing: text), parsed.nanoseconds > 0 else { return nil }
                return parsed.duration
            } ?? value
        }
        func read(_ path: String, flag: String) throws(CommandLineError) -> [UInt8] {
            let absolute = path.hasPrefix("/") ? path : currentDirectory + "/" + path
            guard let data = FileManager.default.contents(atPath: absolute) else {
                throw fail("\(flag): cannot read '\(path)'")
            }
            return Array(data)
        }

        // The URL; without a scheme (`127.0.0.1:8080/predict`, `localhost:8080`) it is http, as for curl.
        let given = parsed.positional("URL") ?? ""
        let text = Self.withScheme(given)
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw fail(
                "<URL> expects an http:// or https:// URL like http://127.0.0.1:8080/predict (or 127.0.0.1:8080/predict), "
                    + "got '\(given)'")
        }
        var origin = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)"
        if let port = url.port { origin += ":\(port)" }
        guard let baseURL = URL(string: origin) else { throw fail("<URL>: cannot use host '\(host)'") }
        self.baseURL = baseURL
        var path = url.path(percentEncoded: true).isEmpty ? "/" : url.path(percentEncoded: true)
        if let query = url.query(percentEncoded: true) { path += "?" + query }

        // The body.
        if parsed.string("body") != nil, parsed.string("body-file") != nil {
            throw fail("--body and --body-file cannot be used together")
        }
        if let body = parsed.string("body") {
            self.body = Array(body.utf8)
        } else if let file = parsed.string("body-file") {
            self.body = try read(file, flag: "--body-file")
        } else {
            self.body = nil
        }

        // The route spec.
        if var spec = parsed.string("route-spec") {
            let source: String
            if spec.hasPrefix("@") {
                source = String(spec.dropFirst())
                spec = String(decoding: try read(source, flag: "--route-spec"), as: UTF8.self)
            } else {
                source = ""
            }
            do {
                routeSpec = try RouteSpec.decode(json: Array(spec.utf8))
            } catch {
                let from = source.isEmpty ? "" : " ('\(source)')"
                throw fail("--route-spec\(from) is not a valid route: \(error)")
            }
        } else {
            routeSpec = nil
        }
        if let routeSpec, path == "/" { path = routeSpec.path }
        self.path = path

        // Method and headers.
        if let method = parsed.string("method") {
            guard !method.isEmpty, method.allSatisfy({ $0.isLetter && $0.isASCII }) else {
                throw fail("--method expects an HTTP method like GET or POST, got '\(method)'")
            }
            self.method = method.uppercased()
        } else {
            self.method = routeSpec?.verb ?? (body == nil ? "GET" : "POST")
        }
        headers = try parsed.values("header", expected: "NAME:VALUE like 'X-Trace: 1'") { raw in
            guard let colon = raw.firstIndex(of: ":") else { return nil }
            let name = raw[..<colon].trimmingWhitespace()
            let value = raw[raw.index(after: colon)...].trimmingWhitespace()
            let token = "!#$%&'*+-.^_`|~"
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || token.contains($0)) })
            else { return nil }
            return (name: name, value: value)
        }

        // The retry policy.
        let retries = try parsed.int("retries", in: 0...1000) ?? 4
        let base = try duration("base-delay", default: .milliseconds(100))
        let cap = try duration("max-delay", default: .seconds(5))
        if cap < base {
            throw fail(
                "--max-delay (\(parsed.string("max-delay") ?? "5s")) must not be shorter than "
                    + "--base-delay (\(parsed.string("base-delay") ?? "100ms"))")
        }
        // ResilientClient's JitterMode (LoadgenCore has a scenario type of the same name).
        var backoff = Backoff(base: base, multiplier: 2, cap: cap)
        backoff.jitter = try parsed.value("jitter", expected: "one of none, full, equal, decorrelated") {
            type(of: backoff.jitter).init(rawValue: $0)
        } ?? .full
        let retryAfterCap: Duration? =
            parsed.string("max-retry-after") == nil ? nil : try duration("max-retry-after", default: .zero)
        retry = RetryPolicy(maxAttempts: retries + 1, backoff: backoff, retryAfterCap: retryAfterCap)
        deadline = try duration("deadline", default: .seconds(30))
        attemptTimeout = try duration("attempt-timeout", default: .seconds(10))
        idempotent = !parsed.flag("no-idempotent")
        maxResponseBytes =
            try parsed.int("max-response", in: 1...ClientSpec.maxResponseLimit) ?? ClientSpec.defaultMaxResponseBytes
        waitHealthy = try parsed.value("wait-healthy", expected: "a duration greater than 0 like 30s") { text in
            guard let parsed = DurationValue(parsing: text), parsed.nanoseconds > 0 else { return nil }
            return parsed.duration
        }
        quiet = parsed.flag("quiet")
        if let format = parsed.string("write-out") {
            do {
                writeOut = try CallWriteOut(parsing: format)
            } catch {
                throw fail("--write-out: \(error)")
            }
        } else {
            writeOut = nil
        }
        if let file = parsed.string("ca-file") {
            guard baseURL.scheme == "https" else { throw fail("--ca-file is for https:// URLs, got '\(given)'") }
            let absolute = file.hasPrefix("/") ? file : currentDirectory + "/" + file
            let pem = String(decoding: try read(file, flag: "--ca-file"), as: UTF8.self)
            guard pem.contains("-----BEGIN CERTIFICATE-----") else {
                throw fail("--ca-file: '\(file)' holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
            }
            caFile = absolute
        } else {
            caFile = nil
        }
    }

    /// `text` with `http://` in front when it names no scheme (`host:port/path`, `host/path`, `host`).
    static func withScheme(_ text: String) -> String {
        if text.contains("://") || text.isEmpty || text.hasPrefix("/") { return text }
        return "http://" + text
    }
}
