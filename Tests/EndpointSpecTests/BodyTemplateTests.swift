import Testing

@testable import EndpointSpec

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Validates `{"v": literal}` against a single required parameter of `type`.
private func check(_ type: ParamType, _ literal: String) -> Result<ValidatedBody, ValidationFailure> {
    BodyTemplate([BodyParam(name: "v", type: type)]).validate(
        body: Array(#"{"v":\#(literal)}"#.utf8), contentType: "application/json")
}

/// `argumentsJSON()` on success, `"!error_type"` on a failure.
private func outcome(_ type: ParamType, _ literal: String) -> String {
    switch check(type, literal) {
    case .success(let body): return text(body.argumentsJSON())
    case .failure(let failure): return "!" + (failure.details.first?.type ?? "status \(failure.status)")
    }
}

@Suite struct BodyTemplateTests {
    // Coercion tables, each row verified with pydantic 2.13.4 (TypeAdapter(T).validate_python(json.loads(x))).

    @Test func intCoercions() {
        let table: [(String, String)] = [
            ("5", #"{"v":5}"#), ("-0", #"{"v":0}"#), ("true", #"{"v":1}"#), ("false", #"{"v":0}"#), ("5.0", #"{"v":5}"#),
            ("-0.0", #"{"v":0}"#), ("1e3", #"{"v":1000}"#), ("12345678901234567890123", #"{"v":12345678901234567890123}"#),
            ("9.2e18", #"{"v":9200000000000000000}"#), (#""5""#, #"{"v":5}"#), (#"" 5 ""#, #"{"v":5}"#),
            (#""+5""#, #"{"v":5}"#), (#""-5""#, #"{"v":-5}"#), (#""5.00""#, #"{"v":5}"#), (#""1_000""#, #"{"v":1000}"#),
            (#""00""#, #"{"v":0}"#), (#""-0_1""#, #"{"v":-1}"#), (#""\u00a05\u2003""#, #"{"v":5}"#),
            (#""12345678901234567890123""#, #"{"v":12345678901234567890123}"#),
            ("5.5", "!int_from_float"), ("NaN", "!finite_number"), ("Infinity", "!finite_number"),
            ("1e19", "!int_parsing_size"), ("-9.3e18", "!int_parsing_size"), ("null", "!int_type"), ("[]", "!int_type"),
            ("{}", "!int_type"), (#""5.5""#, "!int_parsing"), (#""5.""#, "!int_parsing"), (#"".5""#, "!int_parsing"),
            (#""1e3""#, "!int_parsing"), (#""1__0""#, "!int_parsing"), (#""_1""#, "!int_parsing"), (#""0x10""#, "!int_parsing"),
            (#""""#, "!int_parsing"), (#""abc""#, "!int_parsing"), (#""+-1""#, "!int_parsing"), (#""\u001c5""#, "!int_parsing"),
            (#""\u0665""#, "!int_parsing"), (#""true""#, "!int_parsing"),
            ("\"\(String(repeating: "1", count: 4301))\"", "!int_parsing_size"),
            ("\"\(String(repeating: "0", count: 5000))\"", #"{"v":0}"#),
        ]
        for (literal, expected) in table { #expect(outcome(.int, literal) == expected, "int ← \(literal)") }
    }

    @Test func floatCoercions() {
        let table: [(String, String)] = [
            ("5", #"{"v":5.0}"#), ("true", #"{"v":1.0}"#), ("5.5", #"{"v":5.5}"#), ("-0.0", #"{"v":-0.0}"#),
            ("-0", #"{"v":0.0}"#), ("1e3", #"{"v":1000.0}"#), ("NaN", #"{"v":NaN}"#), ("-Infinity", #"{"v":-Infinity}"#),
            ("1E400", #"{"v":Infinity}"#), ("12345678901234567890123", #"{"v":1.2345678901234568e+22}"#),
            (#""5""#, #"{"v":5.0}"#), (#"" 5 ""#, #"{"v":5.0}"#), (#""5.""#, #"{"v":5.0}"#), (#"".5""#, #"{"v":0.5}"#),
            (#""1_000.5""#, #"{"v":1000.5}"#), (#""1_e5""#, #"{"v":100000.0}"#), (#""1._5""#, #"{"v":1.5}"#),
            (#""+.5""#, #"{"v":0.5}"#), (#""nan""#, #"{"v":NaN}"#), (#""-inf""#, #"{"v":-Infinity}"#),
            (#""inFINity""#, #"{"v":Infinity}"#), (#""1e400""#, #"{"v":Infinity}"#),
            ("1" + String(repeating: "0", count: 309), "!float_type"), ("null", "!float_type"), ("[1]", "!float_type"),
            (#""1e""#, "!float_parsing"), (#""e5""#, "!float_parsing"), (#""0x1p3""#, "!float_parsing"),
            (#"" 1_0""#, "!float_parsing"), (#""infinit""#, "!float_parsing"), (#""5\u0000""#, "!float_parsing"),
            (#""""#, "!float_parsing"), (#""true""#, "!float_parsing"),
        ]
        for (literal, expected) in table { #expect(outcome(.float, literal) == expected, "float ← \(literal)") }
    }

    @Test func boolCoercions() {
        let table: [(String, String)] = [
            ("true", #"{"v":true}"#), ("0", #"{"v":false}"#), ("1", #"{"v":true}"#), ("-0", #"{"v":false}"#),
            ("1.0", #"{"v":true}"#), ("-0.0", #"{"v":false}"#), (#""yes""#, #"{"v":true}"#), (#""TrUe""#, #"{"v":true}"#),
            (#""OFF""#, #"{"v":false}"#), (#""f""#, #"{"v":false}"#), (#""1""#, #"{"v":true}"#), (#""n""#, #"{"v":false}"#),
            ("2", "!bool_parsing"), ("-1", "!bool_parsing"), ("5.0", "!bool_parsing"), ("9223372036854775807", "!bool_parsing"),
            ("9223372036854775808", "!bool_type"), ("5.5", "!bool_type"), ("NaN", "!bool_type"), ("9.3e18", "!bool_type"),
            ("null", "!bool_type"), ("{}", "!bool_type"), (#"" true""#, "!bool_parsing"), (#""2""#, "!bool_parsing"),
            (#""00""#, "!bool_parsing"), (#""""#, "!bool_parsing"), (#""truee""#, "!bool_parsing"),
        ]
        for (literal, expected) in table { #expect(outcome(.bool, literal) == expected, "bool ← \(literal)") }
    }

    @Test func strDictListCoercions() {
        #expect(outcome(.str, #""a\u00e9""#) == #"{"v":"aé"}"#)
        for literal in ["5", "true", "null", "[]", "{}", "1.5"] { #expect(outcome(.str, literal) == "!string_type") }
        #expect(outcome(.dict, #"{"a":[1.50]}"#) == #"{"v":{"a":[1.50]}}"#)
        for literal in ["[]", #""{}""#, "null", "1"] { #expect(outcome(.dict, literal) == "!dict_type") }
        #expect(outcome(.list, #"[1,"a",{}]"#) == #"{"v":[1,"a",{}]}"#)
        for literal in ["{}", #""[]""#, "null", "1"] { #expect(outcome(.list, literal) == "!list_type") }
    }

    static let template = BodyTemplate([
        BodyParam(name: "x", type: .int),
        BodyParam(name: "y", type: .str, optional: true, defaultValue: "'d'"),
        BodyParam(name: "z", type: .float, optional: true),
    ])

    private func failureBody(_ body: String?, _ contentType: String? = "application/json") -> String {
        switch Self.template.validate(body: body.map { Array($0.utf8) }, contentType: contentType) {
        case .success(let validated): return "OK " + text(validated.argumentsJSON())
        case .failure(let failure): return "\(failure.status) " + text(failure.responseBody())
        }
    }

    @Test func responseBodiesAreByteForByteFastAPIs() {
        #expect(failureBody(#"{"x":"5","z":3}"#) == #"OK {"x":5,"z":3.0}"#)
        #expect(failureBody(#"{"x":1,"y":null}"#) == #"OK {"x":1,"y":null}"#)
        #expect(failureBody(#"{"z":1.50,"w":-0}"#)
            == #"422 {"detail":[{"type":"missing","loc":["body","x"],"msg":"Field required","input":{"z":1.5,"w":0}}]}"#)
        #expect(failureBody(#"{"x":"a","y":5,"z":{}}"#)
            == #"422 {"detail":[{"type":"int_parsing","loc":["body","x"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"a"},{"type":"string_type","loc":["body","y"],"msg":"Input should be a valid string","input":5},{"type":"float_type","loc":["body","z"],"msg":"Input should be a valid number","input":{}}]}"#)
        #expect(failureBody(#"{"x":null}"#)
            == #"422 {"detail":[{"type":"int_type","loc":["body","x"],"msg":"Input should be a valid integer","input":null}]}"#)
        #expect(failureBody("[1e3]")
            == #"422 {"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1000.0]}]}"#)
        #expect(failureBody(#"{"x":1,}"#)
            == #"422 {"detail":[{"type":"json_invalid","loc":["body",7],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting property name enclosed in double quotes"}}]}"#)
        #expect(failureBody(nil) == #"422 {"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#)
        #expect(failureBody("") == #"422 {"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#)
        #expect(failureBody(#"{"x":1}"#, nil)
            == #"422 {"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"{\"x\":1}"}]}"#)
        #expect(failureBody(String(repeating: "[", count: 600)) == #"400 {"detail":"There was an error parsing the body"}"#)
        #expect(failureBody("{\"x\":\(String(repeating: "1", count: 4301))}") == #"400 {"detail":"There was an error parsing the body"}"#)
        switch Self.template.validate(body: [0x7B, 0xFF, 0x7D], contentType: "application/json") {
        case .success: Issue.record("invalid UTF-8 accepted")
        case .failure(let failure):
            #expect(failure.status == 400)
            #expect(failure.details.isEmpty)
        }
    }

    @Test func contentTypes() {
        let json = [
            "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.api+json",
            "application/+json", " application/json ", "application/JSON ; x=y", "application/json;", "\u{A0}application/json",
        ]
        let notJSON: [String?] = [
            nil, "", "text/plain", "application/json/x", "application /json", "application/jsonx", "text/json",
            ";application/json", "application", "application/", "multipart/form-data", "*/*",
        ]
        for value in json { #expect(BodyTemplate.isJSONContentType(value), "\(value.debugDescription)") }
        for value in notJSON { #expect(!BodyTemplate.isJSONContentType(value), "\(value.debugDescription)") }
    }

    @Test func emptyTemplateAcceptsAnything() throws {
        let empty = BodyTemplate([])
        for body in [nil, [], Array("{bad".utf8), [0xFF]] as [[UInt8]?] {
            let validated = try empty.validate(body: body, contentType: "application/json").get()
            #expect(validated.values.isEmpty)
            #expect(text(validated.argumentsJSON()) == "{}")
        }
        #expect(throws: Never.self) { try empty.validate(.number("1")).get() }
    }

    @Test func validatedValuesAndArguments() throws {
        let validated = try Self.template.validate(.object(JSONObject([
            .init(key: "z", value: .string("2.5")), .init(key: "x", value: .bool(true)), .init(key: "q", value: .null),
        ]))).get()
        #expect(validated.names == ["x", "y", "z"])
        #expect(validated.values == [.number("1"), nil, .number("2.5")])
        #expect(text(validated.argumentsJSON()) == #"{"x":1,"z":2.5}"#)
        // Many attributes: the hashed lookup path.
        var pairs: [JSONObject.Pair] = (0..<30).map { .init(key: "k\($0)", value: .number("\($0)")) }
        pairs.append(.init(key: "x", value: .string("-7")))
        let many = try Self.template.validate(.object(JSONObject(pairs))).get()
        #expect(text(many.argumentsJSON()) == #"{"x":-7}"#)
        let missing = Self.template.validate(.object(JSONObject(Array(pairs.dropLast()))))
        guard case .failure(let failure) = missing else {
            Issue.record("missing x accepted")
            return
        }
        #expect(failure.details.map(\.type) == ["missing"])
        #expect(failure.details.first?.loc == [.key("body"), .key("x")])
    }

    @Test func detailWithoutCtxOmitsTheKey() {
        var out: [UInt8] = []
        ValidationErrorDetail(type: "t", loc: [.key("body"), .index(3)], msg: "m\"", input: .string("é")).write(into: &out)
        #expect(text(out) == #"{"type":"t","loc":["body",3],"msg":"m\"","input":"é"}"#)
    }

    /// `check` (the client's verdict-only validation) agrees with `validate` on every JSON body of the
    /// FastAPI differential corpus, and on well-typed values of every parameter type: `nil` exactly when
    /// `validate` succeeds, otherwise the same 422 body.
    @Test func checkAgreesWithValidate() throws {
        var compared = 0
        var passed = 0
        var groups = DifferentialTests.corpus()
        let wellTyped = [#"{"v":"s"}"#, #"{"v":7}"#, #"{"v":-0}"#, #"{"v":123456789012345678901234567890}"#, #"{"v":true}"#,
            #"{"v":{"a":1}}"#, #"{"v":[1,2]}"#, #"{"v":1.5}"#, #"{"v":null}"#]
        for type in [ParamType.str, .int, .float, .bool, .dict, .list] {
            for optional in [false, true] {
                let cases = wellTyped.map { DifferentialTests.Case(body: Array($0.utf8), contentType: "application/json", note: $0) }
                groups.append(DifferentialTests.Group(template: [BodyParam(name: "v", type: type, optional: optional)], cases: cases))
            }
        }
        for group in groups {
            let template = BodyTemplate(group.template)
            for testCase in group.cases {
                guard let body = testCase.body, let value = try? JSON.parse(body) else { continue }
                compared += 1
                let checked = BodyTemplate.check(value, against: group.template)
                switch template.validate(value) {
                case .success:
                    passed += 1
                    #expect(checked == nil, "\(testCase.note)")
                case .failure(let failure):
                    #expect(checked?.responseBody() == failure.responseBody(), "\(testCase.note)")
                }
            }
        }
        #expect(compared > 1000 && passed > 100)
    }
}
