import EndpointSpec
import Foundation
import Glibc
import ReferenceEndpoint
import Testing

@testable import LoadgenCore

/// `${NAME}` in scenario header values comes from the environment, so a token stays out of the file.
@Suite struct ScenarioEnvironmentTests {
    static func scenario(headers: String, requestHeaders: String = "{}") -> String {
        """
        {"target": {"url": "http://127.0.0.1:8080"}, "headers": \(headers),
         "requests": [{"route": "/predict", "body": {"x": 1}, "headers": \(requestHeaders)}],
         "load": {"type": "constant-rate", "rate": 10, "duration": "1s"}}
        """
    }

    static func decode(_ text: String, _ environment: [String: String]) throws -> Scenario {
        try Scenario.decode(Array(text.utf8), baseDirectory: "/nonexistent", currentDirectory: "/nonexistent", environment: environment)
    }

    static func error(_ text: String, _ environment: [String: String]) -> String {
        do {
            _ = try decode(text, environment)
            return "no error"
        } catch let error as ScenarioError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test("${NAME} in scenario and request headers is replaced by the environment variable; $$ is a dollar")
    func expands() throws {
        let text = Self.scenario(
            headers: #"{"Authorization": "Bearer ${API_TOKEN}", "X-Price": "$$5 and $x"}"#,
            requestHeaders: #"{"X-Trace": "${TRACE_ID}-${TRACE_ID}"}"#)
        let scenario = try Self.decode(text, ["API_TOKEN": "t0k3n", "TRACE_ID": "ab"])
        #expect(scenario.headers == [
            HTTPHeaderField(name: "Authorization", value: "Bearer t0k3n"),
            HTTPHeaderField(name: "X-Price", value: "$5 and $x"),
        ])
        #expect(scenario.requests[0].headers == [HTTPHeaderField(name: "X-Trace", value: "ab-ab")])
    }

    @Test("a variable that is not set, a bad name or an unterminated ${ is an error naming the field and the variable")
    func errors() {
        #expect(
            Self.error(Self.scenario(headers: #"{"Authorization": "Bearer ${API_TOKEN}"}"#), [:])
                == "headers.Authorization: environment variable API_TOKEN is not set (referenced as ${API_TOKEN})")
        #expect(
            Self.error(Self.scenario(headers: "{}", requestHeaders: #"{"X": "${1BAD}"}"#), [:])
                == #"requests[0].headers.X: "${1BAD}" is not a valid environment variable name"#)
        #expect(
            Self.error(Self.scenario(headers: #"{"X": "${OPEN"}"#), ["OPEN": "v"])
                .hasPrefix(#"headers.X: unterminated "${""#))
        #expect(
            Self.error(Self.scenario(headers: #"{"X": "${BREAK}"}"#), ["BREAK": "a\r\nInjected: 1"])
                == "headers.X: a header value must not contain line breaks")
    }
}

/// The whole chain: a token in the environment, `${NAME}` in the scenario, an endpoint that requires it.
@Suite(.serialized, .dedicatedThreads) struct ScenarioTokenRunTests {
    static let variable = "LOADGEN_TEST_TOKEN_ISSUE12"

    static func scenario(_ directory: TempDir, url: String) throws -> String {
        try directory.write(
            "auth.json",
            """
            {"name": "auth", "target": {"url": "\(url)"}, "headers": {"Authorization": "Bearer ${\(variable)}"},
             "requests": [{"route": "/predict", "body": {"text": "hi"}}],
             "load": {"type": "constant-rate", "rate": 50, "duration": "200ms"}, "client": {"connections": 2}}
            """)
    }

    @Test("loadgen run sends the token from the environment; every call is let in")
    func runWithTheToken() async throws {
        let server = try CallFixtures.start { $0.authToken = "tok-42" }
        defer { server.shutdown() }
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try Self.scenario(directory, url: server.url)
        setenv(Self.variable, "tok-42", 1)
        defer { unsetenv(Self.variable) }
        let json = directory.path + "/out.json"
        let run = try await ScenarioRunTests.loadgen(["run", path, "--json", json, "--quiet"], json: json)
        #expect(run.code == 0, "\(run.stderr)")
        let report = try #require(run.report)
        #expect(report["calls"] == .number("10"))
        #expect(report["ok"] == .number("10"))
        #expect(server.stats.clientErrors == 0)
    }

    @Test("loadgen run without the variable stops before sending, naming it")
    func runWithoutTheVariable() async throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        let path = try Self.scenario(directory, url: "http://127.0.0.1:1")
        unsetenv(Self.variable)
        let run = try await ScenarioRunTests.loadgen(["run", path])
        #expect(run.code == 2, "\(run.stderr)")
        #expect(run.stderr.contains("environment variable \(Self.variable) is not set"), "\(run.stderr)")
    }
}
