import EndpointSpec
import Foundation
import Testing

@testable import LoadgenCore

@Suite struct ScenarioTests {
    static let quickstart = """
        {"name": "quickstart",
         "target": {"embedded": {"modelDir": "model", "routes": [{"path": "/predict", "verb": "POST", "file": "predict", "function": "predict", "positional": false, "body": [{"name": "text", "type": "str"}]}], "workers": 1}},
         "requests": [{"route": "/predict", "method": "POST", "body": {"text": "hello"}, "weight": 1}],
         "load": {"type": "constant-rate", "rate": 200, "duration": "10s"},
         "client": {"connections": 32, "timeout": "5s", "retry": {"maxAttempts": 4, "baseDelay": "50ms", "maxDelay": "2s", "jitter": "full"}, "healthGate": true},
         "warmup": "2s",
         "thresholds": ["p99 < 250ms", "error_rate < 1%", "goodput > 150/s"]}
        """

    /// Decodes `text` with a temp directory containing `model/` as the base directory.
    static func decode(_ text: String) throws -> Scenario {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(atPath: directory.path + "/model", withIntermediateDirectories: true)
        try directory.write("bodies/item.json", "{\"id\": {\"$seq\": 100}, \"tag\": \"x\"}")
        try directory.write("bodies/broken.json", "{\"id\": ")
        return try Scenario.decode(Array(text.utf8), baseDirectory: directory.path, currentDirectory: "/nonexistent")
    }

    static func error(_ text: String) -> String {
        do {
            _ = try decode(text)
            return "no error"
        } catch let error as ScenarioError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    /// The quickstart with `replacement` substituted for `original`.
    static func variant(_ original: String, _ replacement: String) -> String {
        precondition(quickstart.contains(original), "fixture does not contain \(original)")
        return quickstart.replacingOccurrences(of: original, with: replacement)
    }

    @Test func decodesTheIssueExample() throws {
        let scenario = try Self.decode(Self.quickstart)
        #expect(scenario.name == "quickstart")
        guard case .embedded(let embedded) = scenario.target else {
            Issue.record("expected embedded")
            return
        }
        #expect(embedded.modelDirectory.hasSuffix("/model"))
        #expect(embedded.routes == [
            RouteSpec(verb: "POST", path: "/predict", file: "predict", function: "predict", body: [BodyParam(name: "text", type: .str)])
        ])
        #expect(embedded.workers == 1)
        #expect(scenario.requests == [
            RequestSpec(route: "/predict", method: "POST", body: .literal(.object(JSONObject([.init(key: "text", value: .string("hello"))]))), weight: 1)
        ])
        #expect(scenario.load == .constantRate(rate: 200, duration: .seconds(10)))
        #expect(scenario.client.connections == 32)
        #expect(scenario.client.retry == RetrySpec(maxAttempts: 4, baseDelay: .milliseconds(50), maxDelay: .seconds(2), jitter: .full))
        #expect(scenario.client.healthGate == HealthGateSpec())
        #expect(scenario.warmup == .seconds(2))
        #expect(scenario.thresholds.map(\.expression) == ["p99 < 250ms", "error_rate < 1%", "goodput > 150/s"])
        #expect(scenario.seed == 1)
        #expect(embedded.commandLineArguments.contains("--route"))
        #expect(embedded.commandLineArguments.contains(
            "{\"verb\":\"POST\",\"path\":\"/predict\",\"file\":\"predict\",\"function\":\"predict\",\"positional\":false,\"body\":[{\"name\":\"text\",\"type\":\"str\",\"optional\":false}]}"))
    }

    @Test func decodesExtensions() throws {
        let text = """
            {"target": {"url": "http://127.0.0.1:8080/v1/"},
             "seed": 42, "headers": {"Authorization": "Bearer x"},
             "requests": [
               {"name": "a", "route": "/predict", "body": {"x": {"$int": [1, 10]}}, "weight": 3, "expect": [200, 422], "headers": {"X-A": "1"}},
               {"route": "/items?x=1", "method": "get", "expect": 204},
               {"route": "/file", "bodyFile": "bodies/item.json"}],
             "load": {"type": "ramping-rate", "startRate": "10/s", "stages": [{"target": 100, "duration": "30s"}, {"target": "0", "duration": "10s"}]},
             "client": {"budget": {"ratio": 0.1, "minRetriesPerSecond": 5, "window": "5s"}, "healthGate": {"path": "/health", "failureThreshold": 3, "probeInterval": "500ms"}, "connectTimeout": "1s",
                        "retry": {"retryOn": [503], "retryOnErrors": false}}}
            """
        let scenario = try Self.decode(text)
        #expect(scenario.name == "scenario")
        #expect(scenario.target == .url(TargetURL(host: "127.0.0.1", port: 8080, basePath: "/v1")))
        #expect(scenario.seed == 42)
        #expect(scenario.headers == [HTTPHeaderField(name: "Authorization", value: "Bearer x")])
        #expect(scenario.requests[0].weight == 3)
        #expect(scenario.requests[0].expect == [200, 422])
        #expect(scenario.requests[0].body == .object([TemplateField(key: "x", value: .int(lower: 1, upper: 10))]))
        #expect(scenario.requests[1].method == "GET")
        #expect(scenario.requests[1].expect == [204])
        #expect(scenario.requests[1].body == nil)
        #expect(scenario.requests[2].body == .object([
            TemplateField(key: "id", value: .sequence(start: 100, step: 1)), TemplateField(key: "tag", value: .literal(.string("x"))),
        ]))
        #expect(scenario.load == .rampingRate(startRate: 10, stages: [
            RampStage(target: 100, duration: .seconds(30)), RampStage(target: 0, duration: .seconds(10)),
        ]))
        #expect(scenario.client.budget == RetryBudgetSpec(ratio: 0.1, minRetriesPerSecond: 5, window: .seconds(5)))
        #expect(scenario.client.healthGate == HealthGateSpec(path: "/health", failureThreshold: 3, probeInterval: .milliseconds(500)))
        #expect(scenario.client.connectTimeout == .seconds(1))
        #expect(scenario.client.retry.retryOnStatus == [503])
        #expect(!scenario.client.retry.retryOnTransportErrors)
        #expect(scenario.requests[0].isSuccess(status: 422))
        #expect(!scenario.requests[0].isSuccess(status: 201))
        #expect(RequestSpec(route: "/").isSuccess(status: 201))
        #expect(!RequestSpec(route: "/").isSuccess(status: 503))
    }

    @Test func decodesClosedLoop() throws {
        let text = Self.variant(
            "{\"type\": \"constant-rate\", \"rate\": 200, \"duration\": \"10s\"}",
            "{\"type\": \"closed\", \"users\": 8, \"duration\": \"1m\", \"thinkTime\": \"100ms\"}")
        #expect(try Self.decode(text).load == .closed(users: 8, duration: .seconds(60), thinkTime: .milliseconds(100)))
    }

    @Test func errorsNameThePath() {
        let load = "{\"type\": \"constant-rate\", \"rate\": 200, \"duration\": \"10s\"}"
        let cases: [(String, String, String)] = [
            (load, "{\"type\": \"ramping-rate\", \"stages\": [{\"target\": 10, \"duration\": \"1s\"}, {\"target\": 20, \"duration\": 5}]}",
                "load.stages[1].duration: expected a duration like \"10s\", got 5"),
            (load, "{\"type\": \"constant-rate\", \"rate\": 200, \"duration\": \"0s\"}",
                "load.duration: expected a duration greater than 0, got \"0s\""),
            (load, "{\"type\": \"constant-rate\", \"rate\": 0, \"duration\": \"10s\"}",
                "load.rate: expected a rate greater than 0, got 0"),
            (load, "{\"type\": \"constant-rate\", \"rate\": \"fast\", \"duration\": \"10s\"}",
                "load.rate: expected a rate like 200 or \"200/s\", got \"fast\""),
            // 1e19/s used to trap (SIGILL) while counting the arrivals.
            (load, "{\"type\": \"constant-rate\", \"rate\": 1e19, \"duration\": \"10s\"}",
                "load.rate: expected a rate of at most 10000000/s (far beyond what one machine can send), got 1e19"),
            (load, "{\"type\": \"ramping-rate\", \"stages\": [{\"target\": \"2e10/s\", \"duration\": \"1s\"}]}",
                "load.stages[0].target: expected a rate of at most 10000000/s (far beyond what one machine can send), got \"2e10/s\""),
            (load, "{\"type\": \"constant-rate\", \"rat\": 5, \"duration\": \"10s\"}",
                "load.rat: unknown field; did you mean \"rate\"?"),
            (load, "{\"type\": \"constant-rate\", \"duration\": \"10s\"}", "load.rate: required field is missing"),
            (load, "{\"type\": \"constant\", \"rate\": 1, \"duration\": \"10s\"}",
                "load.type: expected \"constant-rate\", \"ramping-rate\" or \"closed\", got \"constant\"; did you mean \"constant-rate\"?"),
            (load, "{\"type\": \"constant-rate\", \"rate\": 1, \"duration\": \"10s\", \"users\": 3}",
                "load.users: not used by load type \"constant-rate\""),
            (load, "{\"type\": \"ramping-rate\", \"stages\": []}", "load.stages: expected at least one stage"),
            (load, "{\"type\": \"ramping-rate\", \"stages\": [{\"target\": 0, \"duration\": \"1s\"}]}",
                "load.stages: every stage targets 0/s, so no call would be made"),
            (load, "{\"type\": \"ramping-rate\", \"stages\": [{\"target\": -1, \"duration\": \"1s\"}]}",
                "load.stages[0].target: expected a rate like 200 or \"200/s\", got -1"),
            (load, "{\"type\": \"closed\", \"users\": 0, \"duration\": \"10s\"}",
                "load.users: expected an integer from 1 to 100000, got 0"),
            (load, "[]", "load: expected an object, got an array"),
            ("\"weight\": 1", "\"weight\": 0", "requests[0].weight: expected a weight greater than 0, got 0"),
            ("\"weight\": 1", "\"weight\": \"heavy\"", "requests[0].weight: expected a number, got \"heavy\""),
            ("\"route\": \"/predict\"", "\"route\": \"predict\"",
                "requests[0].route: expected a path starting with \"/\", got \"predict\""),
            ("\"route\": \"/predict\"", "\"route\": \"/other\"",
                "requests[0].route: no route POST /other in target.embedded.routes (routes: POST /predict)"),
            ("\"method\": \"POST\"", "\"method\": \"GET\"",
                "requests[0].route: no route GET /predict in target.embedded.routes (routes: POST /predict)"),
            ("\"method\": \"POST\"", "\"method\": \"PO ST\"",
                "requests[0].method: expected an HTTP method like \"POST\", got \"PO ST\""),
            ("{\"text\": \"hello\"}", "{\"txt\": \"hello\"}",
                "requests[0].body: text: Field required (missing)"),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$int\": [5, 1]}}",
                "requests[0].body.text.$int: expected lo <= hi, got [5, 1]"),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$int\": [1]}}",
                "requests[0].body.text.$int: expected [lo, hi] with two integers, got an array"),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$int\": [1, \"x\"]}}",
                "requests[0].body.text.$int[1]: expected an integer, got \"x\""),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$choice\": []}}",
                "requests[0].body.text.$choice: expected a non-empty array of values"),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$choice\": [1, {\"$float\": [2, 1]}]}}",
                "requests[0].body.text.$choice[1].$float: expected lo <= hi, got [2.0, 1.0]"),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$seq\": \"x\"}}",
                "requests[0].body.text.$seq: expected true, a start integer or {\"start\": S, \"step\": K}, got \"x\""),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$seq\": {\"begin\": 1}}}",
                "requests[0].body.text.$seq.begin: unknown field (expected one of: start, step)"),
            ("{\"text\": \"hello\"}", "{\"text\": {\"$choise\": [1]}}",
                "requests[0].body.text.$choise: unknown generator \"$choise\"; expected one of $int, $float, $choice, $seq, $concat, $literal (did you mean \"$choice\"?); use {\"$literal\": ...} to send such an object as is"),
            ("\"body\": {\"text\": \"hello\"}", "\"bodyFile\": \"bodies/none.json\"",
                "requests[0].bodyFile: file \"bodies/none.json\" not found"),
            ("\"body\": {\"text\": \"hello\"}", "\"bodyFile\": \"bodies/broken.json\"",
                "requests[0].bodyFile: file \"bodies/broken.json\" is not valid JSON: Expecting value: line 1 column 8"),
            ("\"body\": {\"text\": \"hello\"}", "\"body\": {\"text\": \"hello\"}, \"bodyFile\": \"bodies/item.json\"",
                "requests[0]: use either \"body\" or \"bodyFile\", not both"),
            ("\"weight\": 1", "\"weight\": 1, \"expect\": 99", "requests[0].expect: expected an integer from 100 to 599, got 99"),
            ("\"weight\": 1", "\"weight\": 1, \"expect\": []", "requests[0].expect: expected a status or a non-empty array of statuses"),
            ("\"weight\": 1", "\"weight\": 1, \"headers\": {\"X-A\": 5}", "requests[0].headers.X-A: expected a string, got 5"),
            ("\"weight\": 1", "\"weight\": 1, \"headers\": {\"Bad Name\": \"v\"}", "requests[0].headers.Bad Name: invalid header name"),
            ("\"weight\": 1", "\"weight\": 1, \"headers\": {\"X\": \"a\\r\\nb\"}",
                "requests[0].headers.X: a header value must not contain line breaks"),
            ("\"modelDir\": \"model\"", "\"modelDir\": \"missing\"", "target.embedded.modelDir: directory \"missing\" not found"),
            ("\"workers\": 1", "\"workers\": 0", "target.embedded.workers: expected an integer from 1 to 256, got 0"),
            ("\"workers\": 1", "\"workers\": 1, \"failRate\": 2", "target.embedded.failRate: expected a number from 0 to 1, got 2"),
            ("\"workers\": 1", "\"workers\": 1, \"delay\": 20", "target.embedded.delay: expected a duration like \"10s\", got 20"),
            ("\"path\": \"/predict\"", "\"path\": \"predict\"",
                "target.embedded.routes[0].path: must start with \"/\", got \"predict\""),
            ("\"type\": \"str\"", "\"type\": \"string\"",
                "target.embedded.routes[0].body[0].type: expected one of str, int, float, bool, dict, list, got \"string\""),
            ("\"function\": \"predict\", ", "", "target.embedded.routes[0].function: required key is missing"),
            ("\"routes\": [", "\"routes\": [], \"threads\": [", "target.embedded.routes: expected at least one route"),
            ("\"connections\": 32", "\"connections\": 0", "client.connections: expected an integer from 1 to 100000, got 0"),
            ("\"timeout\": \"5s\"", "\"timeout\": \"5\"", "client.timeout: expected a duration like \"10s\", got \"5\""),
            ("\"maxAttempts\": 4", "\"maxAttempts\": 0", "client.retry.maxAttempts: expected an integer from 1 to 100, got 0"),
            ("\"maxDelay\": \"2s\"", "\"maxDelay\": \"10ms\"",
                "client.retry.maxDelay: maxDelay (10ms) must not be less than baseDelay (50ms)"),
            ("\"jitter\": \"full\"", "\"jitter\": \"some\"",
                "client.retry.jitter: expected one of \"none\", \"full\", \"equal\", \"decorrelated\", got \"some\""),
            ("\"healthGate\": true", "\"healthGate\": \"yes\"", "client.healthGate: expected true, false or an object, got \"yes\""),
            ("\"healthGate\": true", "\"healthGate\": {\"path\": \"ping\"}",
                "client.healthGate.path: expected a path starting with \"/\", got \"ping\""),
            ("\"healthGate\": true", "\"budget\": {\"ratio\": -1}", "client.budget.ratio: expected a ratio >= 0, got -1"),
            ("\"warmup\": \"2s\"", "\"warmup\": 2", "warmup: expected a duration like \"10s\", got 2"),
            ("\"p99 < 250ms\", ", "\"p99 < 250ms\", \"p99 < 250\", ",
                "thresholds[1]: p99 expects a duration like \"250ms\" or \"1s\", got \"250\""),
            ("\"p99 < 250ms\", ", "5, ", "thresholds[0]: expected a string, got 5"),
            ("\"warmup\": \"2s\"", "\"warmup\": \"2s\", \"seed\": -3", "seed: expected a non-negative integer, got -3"),
            ("\"warmup\": \"2s\"", "\"warmup\": \"2s\", \"thresold\": []", "thresold: unknown field; did you mean \"thresholds\"?"),
            ("\"name\": \"quickstart\"", "\"name\": \"\"", "name: expected a non-empty string"),
        ]
        for (original, replacement, expected) in cases {
            let message = Self.error(Self.variant(original, replacement))
            #expect(message.hasPrefix(expected), "\(replacement)")
        }
    }

    @Test func targetErrors() {
        let embedded = "{\"embedded\": {\"modelDir\""
        let base = Self.quickstart
        let start = base.range(of: "\"target\": ")
        #expect(start != nil)
        let cases: [(String, String)] = [
            ("{\"url\": \"ftp://x\"}", "target.url: expected a URL like \"http://127.0.0.1:8080\" or \"https://host\", got \"ftp://x\""),
            ("{\"url\": \"http://x:99999\"}", "target.url: port must be 1...65535, got \"99999\" in \"http://x:99999\""),
            ("{\"url\": \"http://:80\"}", "target.url: missing host in \"http://:80\""),
            ("{}", "target: expected exactly one of \"url\" or \"embedded\""),
            ("{\"uri\": \"http://x\"}", "target.uri: unknown field; did you mean \"url\"?"),
        ]
        for (target, expected) in cases {
            let text = "{\"target\": \(target), \"requests\": [{\"route\": \"/p\"}], \"load\": {\"type\": \"closed\", \"users\": 1, \"duration\": \"1s\"}}"
            #expect(Self.error(text) == expected, "\(target)")
        }
        #expect(Self.error(base.replacingOccurrences(of: embedded, with: "{\"url\": \"http://h\", \"embedded\": {\"modelDir\"")).hasPrefix(
            "target: expected exactly one of"))
        #expect(Self.error("{\"target\": {\"url\": \"http://h\"}, \"requests\": [], \"load\": {}}") == "requests: expected at least one request")
        #expect(Self.error("{\"requests\": []}") == "target: required field is missing")
    }

    @Test func syntaxErrorsHaveLineAndColumn() {
        // Python json's wording (EndpointSpec's parser), located by line and column.
        #expect(Self.error("{\n  \"name\": \"x\",\n  oops\n}") == "invalid JSON: Expecting property name enclosed in double quotes: line 3 column 3")
        #expect(Self.error("") == "invalid JSON: Expecting value: line 1 column 1")
        #expect(Self.error("{} x") == "invalid JSON: Extra data: line 1 column 4")
        #expect(Self.error("[1, 2") == "invalid JSON: Expecting ',' delimiter: line 1 column 6")
        #expect(Self.error("\"abc") == "invalid JSON: Unterminated string starting at: line 1 column 1")
        #expect(Self.error("01") == "invalid JSON: Extra data: line 1 column 2")
        #expect(Self.error("[\"\\x\"]") == "invalid JSON: Invalid \\escape: line 1 column 3")
        #expect(Self.error("5") == "expected an object, got 5")
    }

    @Test func loadsFilesRelativeToTheScenario() throws {
        let directory = try TempDir()
        defer { directory.cleanup() }
        try FileManager.default.createDirectory(atPath: directory.path + "/sub/model", withIntermediateDirectories: true)
        let path = try directory.write("sub/quick.json", Self.quickstart)
        let scenario = try Scenario.load(path: path, currentDirectory: "/")
        #expect(scenario.baseDirectory == directory.path + "/sub")
        guard case .embedded(let embedded) = scenario.target else {
            Issue.record("expected embedded")
            return
        }
        #expect(embedded.modelDirectory == directory.path + "/sub/model")
        // The current directory is the fallback.
        try FileManager.default.createDirectory(atPath: directory.path + "/model", withIntermediateDirectories: true)
        let other = try directory.write("elsewhere/q.json", Self.quickstart.replacingOccurrences(of: "\"name\": \"quickstart\",", with: ""))
        let fallback = try Scenario.load(path: "elsewhere/q.json", currentDirectory: directory.path)
        #expect(fallback.name == "q")
        _ = other
        #expect(throws: ScenarioError(path: "", message: "cannot read scenario file \"nope.json\": no such file")) {
            try Scenario.load(path: "nope.json", currentDirectory: directory.path)
        }
        #expect(throws: ScenarioError(path: "", message: "cannot read scenario file \"sub\": not a readable file")) {
            try Scenario.load(path: "sub", currentDirectory: directory.path)
        }
    }

    @Test func targetURLs() throws {
        #expect(try TargetURL(parsing: "http://localhost") == TargetURL(host: "localhost", port: 80))
        #expect(try TargetURL(parsing: "https://localhost") == TargetURL(host: "localhost", port: 443, scheme: .https))
        #expect(try TargetURL(parsing: "HTTPS://127.0.0.1:8443/v1/").description == "https://127.0.0.1:8443/v1")
        #expect(try TargetURL(parsing: "https://127.0.0.1:8443").isSecure)
        #expect(try !TargetURL(parsing: "http://127.0.0.1:8443").isSecure)
        #expect(try TargetURL(parsing: "HTTP://[::1]:9000/api/?x") == TargetURL(host: "::1", port: 9000, basePath: "/api"))
        #expect(try TargetURL(parsing: "http://[::1]:9000").description == "http://[::1]:9000")
        #expect(throws: TargetURLError.self) { try TargetURL(parsing: "http://[::1") }
        #expect(throws: TargetURLError.self) { try TargetURL(parsing: "http://[::1]x") }
        #expect(throws: TargetURLError.self) { try TargetURL(parsing: "http://u@h") }
        #expect(throws: TargetURLError.self) { try TargetURL(parsing: "http://h:abc") }
    }
}
