import CommandLine
import EndpointSpec
import Foundation
import Glibc
import HTTP1
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Access: the bearer token, the exposure warning, the timeout and connection-limit flags, and the model-folder
/// jail against symlinks.
@Suite("Endpoint end to end: access and slow clients", .dedicatedThreads)
struct EndpointAccessTests {
    static let token = "s3cret-token_42"

    static func configuration(_ arguments: [String], environment: [String: String] = [:]) throws
        -> EndpointConfiguration
    {
        let parser = CommandParser(root: EndpointCommand.spec(name: "reference-endpoint"))
        let route = #"{"path": "/predict", "file": "predict", "function": "predict"}"#
        guard case .run(let parsed) = try parser.parse(["--model-dir", "m", "--route", route] + arguments) else {
            throw CommandLineError("expected run")
        }
        return try EndpointCommand.configuration(from: parsed, environment: environment)
    }

    static func error(_ arguments: [String], environment: [String: String] = [:]) -> String {
        do {
            _ = try configuration(arguments, environment: environment)
            return "no error"
        } catch let error as CommandLineError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("with a token, routes need 'Authorization: Bearer TOKEN' (401 + WWW-Authenticate: Bearer); /ping stays open")
    func bearerToken() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.authToken = Self.token })
        #expect(try endpoint.send("GET", "/ping").status == 200)
        let cases: [(String?, Int)] = [
            (nil, 401),
            ("Bearer wrong", 401),
            ("Bearer \(Self.token)x", 401),
            ("Bearer \(Self.token.dropLast())", 401),
            ("Basic \(Self.token)", 401),
            (Self.token, 401),
            ("Bearer \(Self.token)", 200),
            ("bearer \(Self.token)", 200),
        ]
        for (authorization, status) in cases {
            let headers = authorization.map { [("Authorization", $0)] } ?? []
            let response = try endpoint.send("POST", "/predict", json: #"{"x": 3}"#, headers: headers)
            #expect(response.status == status, "Authorization: \(authorization ?? "(none)")")
            if status == 401 {
                #expect(response.head.headers["www-authenticate"] == "Bearer")
                #expect(response.text == #"{"detail":"Not authenticated"}"#)
            }
        }
        // An unknown path says nothing either without the token; with it, it is a 404.
        #expect(try endpoint.send("GET", "/nope").status == 401)
        #expect(try endpoint.send("GET", "/nope", headers: [("Authorization", "Bearer \(Self.token)")]).status == 404)
    }

    @Test("without a token every route is open, as before")
    func noToken() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        #expect(try endpoint.send("POST", "/predict", json: #"{"x": 3}"#).status == 200)
    }

    @Test("the token compare checks every byte and the length")
    func constantTimeCompare() {
        let expected = Array("Bearer abc".utf8)
        #expect(BearerAuth.constantTimeEqual(expected, expected))
        #expect(!BearerAuth.constantTimeEqual(Array("Bearer abd".utf8), expected))
        #expect(!BearerAuth.constantTimeEqual(Array("Bearer ab".utf8), expected))
        #expect(!BearerAuth.constantTimeEqual(Array("Bearer abcd".utf8), expected))
        #expect(!BearerAuth.constantTimeEqual([], expected))
        // Lengths that differ by a multiple of 256 are still different.
        let long = [UInt8](repeating: 0x61, count: 266)
        #expect(!BearerAuth.constantTimeEqual(long, Array(long[0..<10])))
    }

    @Test("--auth-token, or ENDPOINT_AUTH_TOKEN from the environment (the flag wins); a bad token is named")
    func tokenFromFlagOrEnvironment() throws {
        #expect(try Self.configuration([]).authToken == nil)
        #expect(try Self.configuration(["--auth-token", "abc"]).authToken == "abc")
        #expect(try Self.configuration([], environment: ["ENDPOINT_AUTH_TOKEN": "fromenv"]).authToken == "fromenv")
        #expect(
            try Self.configuration(["--auth-token", "flag"], environment: ["ENDPOINT_AUTH_TOKEN": "env"]).authToken
                == "flag")
        #expect(Self.error(["--auth-token", ""]).hasPrefix("--auth-token: a token must be non-empty"))
        #expect(
            Self.error([], environment: ["ENDPOINT_AUTH_TOKEN": "has space"])
                .hasPrefix("ENDPOINT_AUTH_TOKEN: a token must be non-empty"))
    }

    @Test("binding a non-loopback address without a token warns; loopback or a token does not")
    func exposureWarning() throws {
        var config = try Self.configuration(["--host", "0.0.0.0"])
        let warning = try #require(EndpointCommand.exposureWarning(config))
        #expect(warning.hasPrefix("warning: listening on 0.0.0.0"))
        #expect(warning.contains("ENDPOINT_AUTH_TOKEN"))
        config.authToken = "t"
        #expect(EndpointCommand.exposureWarning(config) == nil)
        for host in ["127.0.0.1", "127.0.0.2", "localhost", "::1"] {
            #expect(EndpointCommand.exposureWarning(try Self.configuration(["--host", host])) == nil, "\(host)")
        }
        #expect(EndpointCommand.exposureWarning(try Self.configuration(["--host", "::"])) != nil)
    }

    @Test("--header-timeout, --body-timeout, --send-timeout, --idle-timeout and --max-connections")
    func timeoutFlags() throws {
        let config = try Self.configuration([
            "--header-timeout", "2s", "--body-timeout", "1500ms", "--send-timeout", "7", "--idle-timeout", "1m",
            "--max-connections", "500",
        ])
        #expect(config.headerTimeout == 2)
        #expect(config.bodyTimeout == 1.5)
        #expect(config.sendTimeout == 7)
        #expect(config.idleTimeout == 60)
        #expect(config.maxConnections == 500)
        let defaults = try Self.configuration([])
        #expect(defaults.headerTimeout == 30 && defaults.bodyTimeout == 30 && defaults.maxConnections == nil)
        #expect(Self.error(["--header-timeout", "0"]).contains("--header-timeout"))
        #expect(Self.error(["--body-timeout", "soon"]).contains("--body-timeout"))
        #expect(Self.error(["--max-connections", "0"]).contains("--max-connections"))
    }

    @Test("slowloris at the endpoint: a trickled head gets 408, the slot is freed, others are served meanwhile")
    func slowloris() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.headerTimeout = 0.3 })
        let slow = try endpoint.connect()
        var status: Int? = nil
        for byte in Array(("POST /predict HTTP/1.1\r\nHost: x\r\nX-Pad: " + String(repeating: "p", count: 300)).utf8) {
            try slow.send([byte])
            if status == nil, byte == UInt8(ascii: "X") {
                #expect(try endpoint.send("POST", "/predict", json: #"{"x": 1}"#).status == 200)
            }
            usleep(20_000)
            var probe: UInt8 = 0
            if recv(slow.fd, &probe, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 1 {
                status = try slow.readResponse().status
                break
            }
        }
        #expect(status == 408)
        #expect(slow.waitForEOF())
    }

    @Test("past --max-connections the endpoint answers 503 with Retry-After and closes")
    func connectionLimit() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.maxConnections = 1 })
        let held = try endpoint.connect()
        #expect(try held.exchange("GET", "/ping").status == 200)
        let refused = try endpoint.connect()
        let response = try refused.exchange("GET", "/ping")
        #expect(response.status == 503)
        #expect(response.head.headers["retry-after"] == "1")
        #expect(refused.waitForEOF())
        #expect(try held.exchange("GET", "/ping").status == 200)
    }

    // MARK: the model-folder jail

    /// A model folder with `predict.py` inside and `outside.py` in a sibling folder, plus the symlinks `setup`
    /// makes; returns the startup error's message, or nil if the endpoint started.
    func startupMessage(file: String, setup: (_ model: String, _ outside: String) throws -> Void) throws -> String? {
        let model = try E2ETemporaryModel(["predict.py": "def predict(x):\n    return {'inside': x}\n"])
        let outside = try E2ETemporaryModel(["outside.py": "def predict(x):\n    return {'outside': x}\n"])
        try FileManager.default.createDirectory(atPath: model.path + "/sub", withIntermediateDirectories: true)
        try setup(model.path, outside.path)
        let route = RouteSpec(path: "/x", file: file, function: "predict", positional: true, body: [BodyParam(name: "x", type: .int)])
        let config = E2E.configuration("trivial", [route]) { $0.modelDirectory = model.path }
        let server = ReferenceEndpointServer(configuration: config, log: EndpointLogFile().log)
        do {
            try server.start()
        } catch {
            return error.message
        }
        server.shutdown()
        return nil
    }

    @Test("a model file that is a symlink to a file outside the model folder is refused at start")
    func symlinkedFileOutside() throws {
        let message = try #require(
            try startupMessage(file: "evil") { model, outside in
                try FileManager.default.createSymbolicLink(atPath: model + "/evil.py", withDestinationPath: outside + "/outside.py")
            })
        #expect(message.hasPrefix("route POST /x: file 'evil' resolves outside the model folder "), "\(message)")
    }

    @Test("a file under a symlinked folder that points outside the model folder is refused at start")
    func symlinkedFolderOutside() throws {
        let message = try #require(
            try startupMessage(file: "link/outside") { model, outside in
                try FileManager.default.createSymbolicLink(atPath: model + "/link", withDestinationPath: outside)
            })
        #expect(message.hasPrefix("route POST /x: file 'link/outside' resolves outside the model folder "), "\(message)")
    }

    @Test("a relative symlink climbing out with .. is refused; an absolute path is refused")
    func relativeSymlinkAndAbsolutePath() throws {
        let climbing = try #require(
            try startupMessage(file: "sub/up") { model, outside in
                let sibling = URL(fileURLWithPath: outside).lastPathComponent
                try FileManager.default.createSymbolicLink(
                    atPath: model + "/sub/up.py", withDestinationPath: "../../\(sibling)/outside.py")
            })
        #expect(climbing.contains("resolves outside the model folder"), "\(climbing)")
        let absolute = try #require(
            try startupMessage(file: "/etc/passwd") { _, _ in })
        #expect(absolute.contains("resolves outside the model folder"), "\(absolute)")
    }

    @Test("a symlink that stays inside the model folder is allowed")
    func symlinkInside() throws {
        let message = try startupMessage(file: "sub/alias") { model, _ in
            try FileManager.default.createSymbolicLink(atPath: model + "/sub/alias.py", withDestinationPath: "../predict.py")
        }
        #expect(message == nil, "\(message ?? "")")
    }
}
