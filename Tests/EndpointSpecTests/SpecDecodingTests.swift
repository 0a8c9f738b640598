import Testing

@testable import EndpointSpec

private func route(_ json: String) throws(SpecError) -> RouteSpec { try RouteSpec.decode(json: Array(json.utf8)) }

private func specError(_ body: () throws(SpecError) -> Void) -> SpecError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite struct SpecDecodingTests {
    @Test func decodesTheCLIExample() throws {
        let spec = try route(
            #"{"verb": "POST", "path": "/predict", "file": "predict", "positional": true, "body": [{"name": "filename", "type": "str"}], "function": "predict_image"}"#
        )
        #expect(spec == RouteSpec(path: "/predict", file: "predict", function: "predict_image", positional: true,
                                  body: [BodyParam(name: "filename", type: .str)]))
    }

    @Test func appliesDefaultsAndIgnoresUnknownKeys() throws {
        let spec = try route(
            #"{"path": "/p", "file": "m.py", "function": "f", "extra": {"x": 1}, "body": [{"name": "a", "type": "int", "optional": true, "comment": 1}]}"#
        )
        #expect(spec.verb == "POST")
        #expect(spec.positional == false)
        #expect(spec.body == [BodyParam(name: "a", type: .int, optional: true, defaultValue: nil)])
        #expect(try route(#"{"verb": "get", "path": "/p", "file": "m", "function": "f"}"#).verb == "GET")
        #expect(try route(#"{"path": "/p", "file": "m", "function": "f", "body": null}"#).body == [])
    }

    @Test func defaultValueStringsAreKeptAndJSONValuesBecomePythonLiterals() throws {
        let table: [(String, String?)] = [
            (#""None""#, "None"), (#""'abc'""#, "'abc'"), (#""[1, 2]""#, "[1, 2]"), ("null", "None"), ("true", "True"),
            ("false", "False"), ("0.5", "0.5"), ("-3", "-3"), (#"[1, "a", null, {"k": false}]"#, #"[1, "a", None, {"k": False}]"#),
            ("Infinity", "1e999"), ("-Infinity", "-1e999"),
        ]
        for (json, literal) in table {
            let spec = try route(
                #"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "a", "type": "str", "optional": true, "default_value": \#(json)}]}"#
            )
            #expect(spec.body.first?.defaultValue == literal, "\(json)")
        }
    }

    /// (document, path, message fragment)
    static let routeErrors: [(String, String, String)] = [
        ("[1]", "", "expected an object, got an array"),
        ("{", "", "invalid JSON: Expecting property name enclosed in double quotes at position 1"),
        (#"{"file": "m", "function": "f"}"#, "path", "required key is missing"),
        (#"{"path": 1, "file": "m", "function": "f"}"#, "path", "expected a string, got a number"),
        (#"{"path": "predict", "file": "m", "function": "f"}"#, "path", "must start with \"/\""),
        (#"{"path": "/p", "function": "f"}"#, "file", "required key is missing"),
        (#"{"path": "/p", "file": "", "function": "f"}"#, "file", "must not be empty"),
        (#"{"path": "/p", "file": "m"}"#, "function", "required key is missing"),
        (#"{"path": "/p", "file": "m", "function": "a-b"}"#, "function", "expected a Python function name"),
        (#"{"path": "/p", "file": "m", "function": "f", "verb": "P O"}"#, "verb", "expected an HTTP method"),
        (#"{"path": "/p", "file": "m", "function": "f", "verb": 3}"#, "verb", "expected a string, got a number"),
        (#"{"path": "/p", "file": "m", "function": "f", "positional": "yes"}"#, "positional", "expected true or false, got a string"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": {}}"#, "body", "expected an array of parameters, got an object"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [1]}"#, "body[0]", "expected an object, got a number"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"type": "str"}]}"#, "body[0].name", "required key is missing"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "a"}]}"#, "body[0].type", "required key is missing"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "a", "type": "integer"}]}"#, "body[0].type",
         #"expected one of str, int, float, bool, dict, list, got "integer""#),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "a", "type": "str"}, {"name": "a", "type": "int"}]}"#,
         "body[1].name", #"duplicate parameter name "a""#),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "1a", "type": "str"}]}"#, "body[0].name", "Python identifier"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "class", "type": "str"}]}"#, "body[0].name", "Python identifier"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "_x", "type": "str"}]}"#, "body[0].name", "Python identifier"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "a", "type": "str", "optional": 1}]}"#, "body[0].optional", "expected true or false"),
        (#"{"path": "/p", "file": "m", "function": "f", "body": [{"name": "a", "type": "float", "default_value": NaN}]}"#, "body[0].default_value", "NaN"),
    ]

    @Test func routeErrorsNameThePath() {
        for (json, path, fragment) in Self.routeErrors {
            guard let error = specError({ () throws(SpecError) in _ = try route(json) }) else {
                Issue.record("accepted: \(json)")
                continue
            }
            #expect(error.path == path, "\(json)")
            #expect(error.message.contains(fragment), "\(json): \(error.message)")
        }
    }

    @Test func endpointConfigAndRouteLists() throws {
        let config = try EndpointConfig.decode(json: Array(#"""
            {"routes": [
              {"path": "/a", "file": "m", "function": "f"},
              {"path": "/a", "verb": "PUT", "file": "m", "function": "g", "body": [{"name": "x", "type": "list"}]}
            ]}
            """#.utf8))
        #expect(config.routes.count == 2)
        #expect(config.routes[1].verb == "PUT")
        #expect(config.routes[1].body == [BodyParam(name: "x", type: .list)])

        let error = specError { () throws(SpecError) in
            _ = try EndpointConfig.decode(json: Array(#"{"routes": [{"path": "/a", "file": "m", "function": "f"}, {"path": "/b", "file": "m", "function": "f", "body": [{"name": "x", "type": "str"}, {"name": "y", "type": "tuple"}]}]}"#.utf8))
        }
        #expect(error?.path == "routes[1].body[1].type")
        #expect(error?.description.hasPrefix("routes[1].body[1].type: expected one of") == true)

        let duplicate = specError { () throws(SpecError) in
            _ = try EndpointConfig.decode(json: Array(#"{"routes": [{"path": "/a", "file": "m", "function": "f"}, {"path": "/a", "verb": "post", "file": "m", "function": "g"}]}"#.utf8))
        }
        #expect(duplicate == SpecError(path: "routes[1]", message: "duplicate route POST /a"))
        #expect(specError { () throws(SpecError) in _ = try EndpointConfig.decode(json: Array("{}".utf8)) }?.path == "routes")
        #expect(specError { () throws(SpecError) in _ = try EndpointConfig.decode(json: Array(#"{"routes": {}}"#.utf8)) }?.message
            == "expected an array of routes, got an object")

        let list = try RouteSpec.decodeList(json: Array(#"[{"path": "/a", "file": "m", "function": "f"}]"#.utf8))
        #expect(list.map(\.path) == ["/a"])
        let listError = specError { () throws(SpecError) in
            _ = try RouteSpec.decodeList(json: Array(#"[{"path": "/a", "file": "m", "function": "f"}, {"path": "b", "file": "m", "function": "f"}]"#.utf8))
        }
        #expect(listError?.path == "[1].path")
    }

    @Test func jsonFormRoundTrips() throws {
        let spec = RouteSpec(verb: "post", path: "/p", file: "m.py", function: "f", positional: true, body: [
            BodyParam(name: "a", type: .dict, optional: true, defaultValue: "{'k': 1}"), BodyParam(name: "b", type: .bool),
        ])
        #expect(try RouteSpec.decode(json: JSON.serialize(spec.jsonValue)) == spec)
        let config = EndpointConfig(routes: [spec])
        #expect(try EndpointConfig.decode(json: JSON.serialize(config.jsonValue)) == config)
        #expect(SpecError(path: "", message: "m").description == "m")
    }
}
