import EndpointSpec
import Testing

@testable import LoadgenCore

/// The report's JSON output: EndpointSpec's writer for values, loadgen's indentation for layout.
@Suite struct ReportJSONTests {
    static let sample: JSONValue = .object(JSONObject([
        .init(key: "name", value: .string("a \"q\"\n\u{1}é")),
        .init(key: "n", value: .number("1.50")),
        .init(key: "list", value: .array([.null, .bool(true), .array([]), .object(JSONObject())])),
        .init(key: "nested", value: .object(JSONObject([.init(key: "k", value: .array([.number("-0")]))]))),
    ]))

    @Test func indentedLayout() {
        let expected = """
            {
              "name": "a \\"q\\"\\n\\u0001é",
              "n": 1.50,
              "list": [
                null,
                true,
                [],
                {}
              ],
              "nested": {
                "k": [
                  -0
                ]
              }
            }
            """
        #expect(LoadgenJSON.serialize(Self.sample, indent: 2) == expected)
        #expect(LoadgenJSON.serialize(.array([]), indent: 4) == "[]")
        #expect(LoadgenJSON.serialize(.string("x"), indent: 2) == "\"x\"")
    }

    @Test func compactIsEndpointSpecsWriter() throws {
        let compact = LoadgenJSON.serialize(Self.sample)
        #expect(Array(compact.utf8) == JSON.serialize(Self.sample))
        #expect(try JSON.parse(Array(LoadgenJSON.serialize(Self.sample, indent: 2).utf8)) == Self.sample)
        #expect(try LoadgenJSON.parse(compact) == Self.sample)
    }

    @Test func reportJSONParsesBackWithEndpointSpec() throws {
        let report = Report.json(RunResult(), outcomes: [])
        #expect(report.hasPrefix("{\n  \"kind\": \"run\",\n  \"scenario\": "))
        #expect(report.hasSuffix("\n}\n"))
        guard case .object(let root) = try JSON.parse(Array(report.utf8)) else {
            Issue.record("not an object")
            return
        }
        #expect(root["calls"] == .number("0"))
        #expect(root["passed"] == .bool(true))
        #expect(root["offered_rps"] == .null)
    }
}
