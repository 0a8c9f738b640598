import EndpointSpec
import Foundation
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
