import EndpointSpec
import Foundation
import Testing

@testable import LoadgenCore

/// Scenario checks that use EndpointSpec: routes decoded by `RouteSpec.decode`, request bodies validated by the
/// server's `BodyTemplate`, and JSON syntax errors from `JSON.parse` located by line and column.
@Suite struct ScenarioValidationTests {
    static func error(_ original: String, _ replacement: String) -> String {
        ScenarioTests.error(ScenarioTests.variant(original, replacement))
    }

    static let textBody = "\"body\": {\"text\": \"hello\"}"
    static let textParam = "[{\"name\": \"text\", \"type\": \"str\"}]"

    // MARK: Routes (RouteSpec.decode)

    @Test func routeErrorsUseEndpointSpecWordingAndScenarioPaths() {
        let cases: [(String, String, String)] = [
            (Self.textParam, "[{\"name\": \"text\", \"type\": \"str\"}, {\"name\": \"n\", \"type\": \"integer\"}]",
                "target.embedded.routes[0].body[1].type: expected one of str, int, float, bool, dict, list, got \"integer\""),
            (Self.textParam, "[{\"name\": \"text\", \"type\": \"str\"}, {\"name\": \"text\", \"type\": \"int\"}]",
                "target.embedded.routes[0].body[1].name: duplicate parameter name \"text\""),
            (Self.textParam, "[{\"name\": \"_text\", \"type\": \"str\"}]",
                "target.embedded.routes[0].body[0].name: expected a Python identifier not starting with \"_\", got \"_text\""),
            (Self.textParam, "[{\"name\": \"text\"}]", "target.embedded.routes[0].body[0].type: required key is missing"),
            (Self.textParam, "[5]", "target.embedded.routes[0].body[0]: expected an object, got a number"),
            (Self.textParam, "{}", "target.embedded.routes[0].body: expected an array of parameters, got an object"),
            ("\"function\": \"predict\"", "\"function\": \"predict-v2\"",
                "target.embedded.routes[0].function: expected a Python function name, got \"predict-v2\""),
            ("\"verb\": \"POST\", \"file\"", "\"verb\": \"PO ST\", \"file\"",
                "target.embedded.routes[0].verb: expected an HTTP method like POST, got \"PO ST\""),
            ("\"positional\": false", "\"positional\": \"no\"", "target.embedded.routes[0].positional: expected true or false, got a string"),
            ("\"routes\": [{", "\"routes\": [5, {", "target.embedded.routes[0]: expected an object, got a number"),
            // Scenario strictness on top of the seed format: unknown keys are typos.
            ("\"positional\": false", "\"positionl\": false", "target.embedded.routes[0].positionl: unknown field; did you mean \"positional\"?"),
            (Self.textParam, "[{\"name\": \"text\", \"type\": \"str\", \"optinal\": true}]",
                "target.embedded.routes[0].body[0].optinal: unknown field; did you mean \"optional\"?"),
        ]
        for (original, replacement, expected) in cases {
            #expect(Self.error(original, replacement) == expected, "\(replacement)")
        }
    }

    @Test func routesAcceptTheSeedFormsEndpointSpecAccepts() throws {
        let text = ScenarioTests.variant(
            Self.textParam,
            "[{\"name\": \"text\", \"type\": \"str\"}, {\"name\": \"n\", \"type\": \"int\", \"optional\": true, \"default_value\": 3}]")
            .replacingOccurrences(of: "\"verb\": \"POST\", ", with: "\"verb\": \"post\", ")
        let scenario = try ScenarioTests.decode(text)
        guard case .embedded(let embedded) = scenario.target else {
            Issue.record("expected embedded")
            return
        }
        #expect(embedded.routes[0].verb == "POST")
        #expect(embedded.routes[0].body[1] == BodyParam(name: "n", type: .int, optional: true, defaultValue: "3"))
        let duplicate = ScenarioTests.variant("\"routes\": [{", "\"routes\": [{\"path\": \"/predict\", \"file\": \"f\", \"function\": \"g\"}, {")
        #expect(ScenarioTests.error(duplicate) == "target.embedded.routes[1]: duplicate route POST /predict")
    }

    // MARK: Bodies (BodyTemplate)

    @Test func literalBodiesAreValidatedLikeTheServer() {
        let cases: [(String, String, String)] = [
            (Self.textBody, "\"body\": {\"text\": 5}", "requests[0].body: text: Input should be a valid string (string_type)"),
            (Self.textBody, "\"body\": {\"txt\": \"hello\"}", "requests[0].body: text: Field required (missing)"),
            (Self.textBody, "\"body\": [\"hello\"]",
                "requests[0].body: Input should be a valid dictionary or object to extract fields from (model_attributes_type)"),
            (Self.textBody, "\"body\": {\"$literal\": {\"text\": null}}",
                "requests[0].body: text: Input should be a valid string (string_type)"),
            ("\"body\": {\"text\": \"hello\"}, ", "", "requests[0].body: Field required (missing)"),
        ]
        for (original, replacement, expected) in cases {
            #expect(Self.error(original, replacement) == expected, "\(replacement)")
        }
    }

    @Test func everyFailedAttributeIsNamed() {
        let text = ScenarioTests.variant(
            Self.textParam, "[{\"name\": \"x\", \"type\": \"int\"}, {\"name\": \"y\", \"type\": \"float\"}, {\"name\": \"z\", \"type\": \"list\"}]")
            .replacingOccurrences(of: Self.textBody, with: "\"body\": {\"x\": \"a\", \"y\": \"b\"}")
        #expect(ScenarioTests.error(text) == "requests[0].body: "
            + "x: Input should be a valid integer, unable to parse string as an integer (int_parsing); "
            + "y: Input should be a valid number, unable to parse string as a number (float_parsing); "
            + "z: Field required (missing)")
    }

    @Test func bodiesTheServerAcceptsPass() throws {
        let params = "[{\"name\": \"text\", \"type\": \"str\"}, {\"name\": \"n\", \"type\": \"int\", \"optional\": true}]"
        let bodies = [
            "{\"text\": \"hello\", \"extra\": [1]}",  // unknown attributes are ignored
            "{\"text\": \"hello\", \"n\": \"5\"}",  // pydantic's lax mode: "5" is an int
            "{\"text\": \"hello\", \"n\": 5.0}",
            "{\"text\": \"hello\", \"n\": null}",  // an optional attribute may be null
            "{\"text\": {\"$concat\": [\"a\", {\"$seq\": 1}]}, \"n\": {\"$int\": [1, 9]}}",
            "{\"text\": {\"$choice\": [\"a\", \"b\"]}, \"n\": {\"$choice\": [1, {\"$seq\": 4}]}}",
        ]
        for body in bodies {
            let text = ScenarioTests.variant(Self.textParam, params)
                .replacingOccurrences(of: Self.textBody, with: "\"body\": \(body)")
            #expect(ScenarioTests.error(text) == "no error", "\(body)")
        }
    }

    @Test func generatedBodiesAreValidatedBySample() {
        #expect(Self.error(Self.textBody, "\"body\": {\"text\": {\"$int\": [7, 7]}}")
            == "requests[0].body: text: Input should be a valid string (string_type), in the generated body {\"text\":7}")
        // A $choice that mixes a valid and an invalid option fails on one of the sampled arrivals.
        #expect(Self.error(Self.textBody, "\"body\": {\"text\": {\"$choice\": [\"a\", 5]}}")
            == "requests[0].body: text: Input should be a valid string (string_type), in the generated body {\"text\":5}")
        #expect(Self.error(Self.textBody, "\"body\": {\"text\": {\"$seq\": true}}")
            .hasPrefix("requests[0].body: text: Input should be a valid string (string_type), in the generated body {\"text\":"))
        // bodies/item.json is {"id": {"$seq": 100}, "tag": "x"}: no "text".
        #expect(Self.error(Self.textBody, "\"bodyFile\": \"bodies/item.json\"")
            == "requests[0].bodyFile: text: Field required (missing), in the generated body {\"id\":100,\"tag\":\"x\"}")
    }

    @Test func bodiesAreNotCheckedWhenRejectionIsExpectedOrRoutesAreUnknown() throws {
        // A request that expects 422 is meant to be rejected.
        let expected = ScenarioTests.variant("\"weight\": 1", "\"weight\": 1, \"expect\": [200, 422]")
            .replacingOccurrences(of: Self.textBody, with: "\"body\": {\"text\": 5}")
        #expect(ScenarioTests.error(expected) == "no error")
        // Without an embedded target the routes are unknown.
        let url = """
            {"target": {"url": "http://127.0.0.1:9"}, "requests": [{"route": "/predict", "body": {"text": 5}}],
             "load": {"type": "closed", "users": 1, "duration": "1s"}}
            """
        #expect(ScenarioTests.error(url) == "no error")
        // A route without a body template accepts any body, as the server does.
        let noTemplate = ScenarioTests.variant(", \"body\": \(Self.textParam)", "")
            .replacingOccurrences(of: Self.textBody, with: "\"body\": [1, 2]")
        #expect(ScenarioTests.error(noTemplate) == "no error")
    }

    @Test func describeFormatsDetailsRelativeToTheBody() {
        let failure = ValidationFailure(details: [
            ValidationErrorDetail(type: "json_invalid", loc: [.key("body"), .index(4)], msg: "JSON decode error", input: .null),
            ValidationErrorDetail(type: "t", loc: [.key("a"), .key("b")], msg: "m", input: .null),
        ])
        #expect(ScenarioDecoder.describe(failure) == "[4]: JSON decode error (json_invalid); a.b: m (t)")
        #expect(ScenarioDecoder.describe(.malformedBody) == "the endpoint could not decode the body (400)")
    }

    // MARK: JSON syntax (JSON.parse + line/column)

    static func decodeError(_ bytes: [UInt8]) -> String {
        do {
            _ = try Scenario.decode(bytes, baseDirectory: "/nonexistent", currentDirectory: "/nonexistent")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test func columnsCountCharactersNotBytes() {
        // Python counts code points: é, € and 😀 are one column each (2, 3 and 4 bytes in UTF-8).
        #expect(Self.decodeError(Array("{\"a\": \"é€😀\" x}".utf8)) == "invalid JSON: Expecting ',' delimiter: line 1 column 13")
        #expect(Self.decodeError(Array("{\"é\": 1,\n \"€\": 2,\n  😀}".utf8))
            == "invalid JSON: Expecting property name enclosed in double quotes: line 3 column 3")
    }

    @Test func lineBreaksAndByteOrderMark() {
        #expect(Self.decodeError(Array("{\r\n,}".utf8)) == "invalid JSON: Expecting property name enclosed in double quotes: line 2 column 1")
        #expect(Self.decodeError([0xEF, 0xBB, 0xBF] + Array("{,}".utf8))
            == "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2")
        #expect(Self.decodeError([0xEF, 0xBB, 0xBF] + Array("5".utf8)) == "expected an object, got 5")
    }

    @Test func nonSyntaxFailuresAreLocatedByByte() {
        #expect(Self.decodeError(Array("{\n\"a\": \"".utf8) + [0xFF] + Array("\"}".utf8))
            == "invalid JSON: 'utf-8' codec can't decode byte 0xff in position 8: line 2 column 7")
        let deep = Array(repeating: UInt8(ascii: "["), count: 600)
        #expect(Self.decodeError(deep)
            == "invalid JSON: maximum recursion depth exceeded while decoding a JSON array from a unicode string: line 1 column 513")
    }

    @Test func pythonNumberSpellingsParseButAreNotNumbersLoadgenAccepts() {
        #expect(Self.error("\"rate\": 200", "\"rate\": NaN") == "load.rate: expected a rate like 200 or \"200/s\", got NaN")
        #expect(Self.error("\"rate\": 200", "\"rate\": Infinity") == "load.rate: expected a rate like 200 or \"200/s\", got Infinity")
        #expect(Self.error("\"weight\": 1", "\"weight\": -Infinity") == "requests[0].weight: expected a number, got -Infinity")
    }

    @Test func loadgenJSONErrorLocatesEachKind() {
        let bytes = Array("ab\ncd".utf8)
        #expect(LoadgenJSONError(JSONSyntaxError(message: "m", position: 4), in: bytes) == LoadgenJSONError(message: "m", line: 2, column: 2))
        #expect(LoadgenJSONError(JSONSyntaxError(message: "m", position: 99), in: bytes) == LoadgenJSONError(message: "m", line: 2, column: 3))
        #expect(LoadgenJSONError(JSONSyntaxError(kind: .tooDeep, message: "m", position: 0), in: bytes)
            == LoadgenJSONError(message: "m", line: 1, column: 1))
        #expect(throws: LoadgenJSONError(message: "Expecting value", line: 1, column: 1)) { try LoadgenJSON.parse("") }
    }
}
