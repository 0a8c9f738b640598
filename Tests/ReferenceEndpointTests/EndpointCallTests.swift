import EndpointSpec
import Foundation
import Glibc
import HTTP1
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// Route calls over real sockets: argument mapping, defaults, coercions, 422/400 bodies, Python errors, logging.
@Suite("Endpoint end to end: calls", .dedicatedThreads)
struct EndpointCallTests {
    @Test("positional route: attributes are passed in template order, whatever the body's key order")
    func positionalCalls() throws {
        let model = try E2ETemporaryModel(["ops.py": "def sub(a, b=10):\n    return {'diff': a - b}\n"])
        let route = RouteSpec(
            path: "/sub", file: "ops", function: "sub", positional: true,
            body: [BodyParam(name: "a", type: .int), BodyParam(name: "b", type: .int, optional: true, defaultValue: "100")])
        let endpoint = try RunningEndpoint(E2E.configuration("echo", [route]) { $0.modelDirectory = model.path })
        let cases: [(String, String)] = [
            (#"{"a":3,"b":10}"#, #"{"diff":-7}"#),
            (#"{"b":10,"a":3}"#, #"{"diff":-7}"#),
            // Omitted optional: the template's default_value (100), not the function's own default (10).
            (#"{"a":3}"#, #"{"diff":-97}"#),
        ]
        for (body, expected) in cases {
            let response = try endpoint.send("POST", "/sub", json: body)
            #expect(response.status == 200, "\(body)")
            #expect(response.text == expected, "\(body)")
        }
        // The example calculator's positional route with its float default.
        let calc = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        #expect(try calc.send("POST", "/add", json: #"{"a":2}"#).text == #"{"sum":3.5}"#)
        #expect(try calc.send("POST", "/add", json: #"{"b":0.25,"a":2}"#).text == #"{"sum":2.25}"#)
    }

    @Test("keyword route: attributes are passed by name; omitted optionals get their default_value")
    func keywordCalls() throws {
        let model = try E2ETemporaryModel(["kw.py": "def pair(second, first):\n    return [first, second]\n"])
        let route = RouteSpec(
            path: "/pair", file: "kw.py", function: "pair",
            body: [
                BodyParam(name: "first", type: .str),
                BodyParam(name: "second", type: .str, optional: true, defaultValue: "'dflt'"),
            ])
        let endpoint = try RunningEndpoint(E2E.configuration("echo", [route]) { $0.modelDirectory = model.path })
        #expect(try endpoint.send("POST", "/pair", json: #"{"first":"1","second":"2"}"#).text == #"["1","2"]"#)
        #expect(try endpoint.send("POST", "/pair", json: #"{"first":"1"}"#).text == #"["1","dflt"]"#)
        // null for an optional attribute is passed as None (not replaced by the default).
        #expect(try endpoint.send("POST", "/pair", json: #"{"first":"1","second":null}"#).text == #"["1",null]"#)

        let calc = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let defaults = try calc.send("POST", "/describe", json: #"{"text":"hi"}"#)
        #expect(defaults.status == 200)
        #expect(
            defaults.text
                == #"{"text":"hi","count":3,"ratio":0.25,"flag":true,"meta":{"k":"v"},"items":[1,2],"types":["str","int","float","bool","dict","list"]}"#
        )
        // A mutable default is a fresh copy on every call.
        for _ in 0..<3 {
            #expect(try calc.send("POST", "/append", json: "{}").text == #"["a",null]"#)
        }
        #expect(try calc.send("POST", "/append", json: #"{"items":[1],"item":"z"}"#).text == #"[1,"z"]"#)
    }

    /// (attribute JSON fragment, the value the function saw as JSON, its Python type name)
    static let coercions: [(String, String, String, String)] = [
        ("text", #""héllo ☃""#, #""héllo ☃""#, "str"),
        ("count", #""12""#, "12", "int"),
        ("count", "3.0", "3", "int"),
        ("count", "true", "1", "int"),
        ("count", "-7", "-7", "int"),
        ("ratio", "1", "1.0", "float"),
        ("ratio", #""1e3""#, "1000.0", "float"),
        ("ratio", #""-0.5""#, "-0.5", "float"),
        ("flag", #""yes""#, "true", "bool"),
        ("flag", #""off""#, "false", "bool"),
        ("flag", "1", "true", "bool"),
        ("flag", "0", "false", "bool"),
        ("flag", #""TRUE""#, "true", "bool"),
        ("meta", #"{"a":[1,{"b":null}]}"#, #"{"a":[1,{"b":null}]}"#, "dict"),
        ("items", #"[1,"x",null,2.5]"#, #"[1,"x",null,2.5]"#, "list"),
        ("meta", "null", "null", "NoneType"),
    ]

    @Test("every coercion type reaches the function as the Python type pydantic would give")
    func coercions() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let order = ["text", "count", "ratio", "flag", "meta", "items"]
        for (name, input, seen, type) in Self.coercions {
            let body = name == "text" ? #"{"text":\#(input)}"# : #"{"text":"t","\#(name)":\#(input)}"#
            let response = try endpoint.send("POST", "/describe", json: body)
            #expect(response.status == 200, "\(body): \(response.text)")
            guard case .object(let object) = try response.json() else {
                Issue.record("not an object: \(response.text)")
                continue
            }
            let value = try #require(object[name])
            #expect(String(decoding: JSON.serialize(value), as: UTF8.self) == seen, "\(body)")
            guard case .array(let types) = object["types"], let index = order.firstIndex(of: name) else {
                Issue.record("no types in \(response.text)")
                continue
            }
            #expect(types[index] == .string(type), "\(body)")
        }
    }

    @Test("422 bodies: missing field, int_from_float, array body, invalid JSON, non-JSON content type, no body")
    func validationErrors() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let json = [("Content-Type", "application/json")]
        let cases: [(String, [(String, String)], [UInt8]?, String)] = [
            (
                "missing field", json, Array("{}".utf8),
                #"{"detail":[{"type":"missing","loc":["body","a"],"msg":"Field required","input":{}}]}"#
            ),
            (
                "int_from_float", json, Array(#"{"a":1.5}"#.utf8),
                #"{"detail":[{"type":"int_from_float","loc":["body","a"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5}]}"#
            ),
            (
                "array body", json, Array("[1,2]".utf8),
                #"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1,2]}]}"#
            ),
            (
                "invalid JSON", json, Array(#"{"a":"#.utf8),
                #"{"detail":[{"type":"json_invalid","loc":["body",5],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting value"}}]}"#
            ),
            (
                "text/plain", [("Content-Type", "text/plain")], Array("a=1".utf8),
                #"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"a=1"}]}"#
            ),
            (
                "no content type", [], Array(#"{"a":1}"#.utf8),
                #"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"{\"a\":1}"}]}"#
            ),
            (
                "no body", json, nil,
                #"{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#
            ),
            (
                "two errors in template order", json, Array(#"{"b":"x","a":"y"}"#.utf8),
                #"{"detail":[{"type":"int_parsing","loc":["body","a"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"y"},{"type":"float_parsing","loc":["body","b"],"msg":"Input should be a valid number, unable to parse string as a number","input":"x"}]}"#
            ),
        ]
        for (name, headers, body, expected) in cases {
            let client = try endpoint.connect()
            var head = "POST /add HTTP/1.1\r\nHost: \(client.host)\r\n"
            for (field, value) in headers { head += "\(field): \(value)\r\n" }
            if let body { head += "Content-Length: \(body.count)\r\n" }
            try client.send(Array((head + "\r\n").utf8) + (body ?? []))
            let response = try client.readResponse()
            #expect(response.status == 422, "\(name)")
            #expect(response.text == expected, "\(name)")
            #expect(response.header("content-type") == "application/json", "\(name)")
        }
        #expect(endpoint.stats.clientErrors == cases.count)
    }

    @Test("a body that cannot be decoded at all (invalid UTF-8 with a JSON content type) answers 400, as FastAPI")
    func undecodableBodyIs400() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let client = try endpoint.connect()
        let body: [UInt8] = [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]  // {"a":"\xff\xfe"}
        try client.send(
            Array("POST /add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
                + body)
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.text == #"{"detail":"There was an error parsing the body"}"#)
    }

    @Test("a Python exception answers 500 JSON naming it; the endpoint keeps serving")
    func exceptionIs500() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let response = try endpoint.send("POST", "/fail", json: #"{"message":"boom"}"#)
        #expect(response.status == 500)
        #expect(response.text == #"{"detail":"Internal Server Error","error":"ValueError: boom"}"#)
        #expect(response.header("content-type") == "application/json")
        // An exception raised by the argument itself (None + int) is reported the same way.
        let typeError = try endpoint.send("POST", "/add", json: #"{"a":1,"b":null}"#)
        #expect(typeError.status == 500)
        #expect(typeError.text.contains(#""error":"TypeError: "#))
        #expect(try endpoint.send("POST", "/add", json: #"{"a":1}"#).status == 200)
        #expect(endpoint.logFile.waitFor("ValueError: boom"))
    }

    @Test("an unencodable result answers 500; a result with .tolist()/.item() is converted and answers 200")
    func resultEncoding() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let opaque = try endpoint.send("POST", "/opaque", json: "{}")
        #expect(opaque.status == 500)
        #expect(
            opaque.text
                == #"{"detail":"Internal Server Error","error":"TypeError: Object of type Opaque is not JSON serializable"}"#)
        let matrix = try endpoint.send("POST", "/matrix", json: #"{"n":3}"#)
        #expect(matrix.status == 200)
        #expect(matrix.text == #"{"matrix":[[0,1,2],[3,4,5],[6,7,8]],"trace":12}"#)
    }

    @Test("the model's print output (print, C-level stdout, stderr) goes to the log, never into the response")
    func printGoesToLog() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let response = try endpoint.send("POST", "/shout", json: #"{"text":"hey-123"}"#)
        #expect(response.status == 200)
        #expect(response.text == #"{"shouted":"HEY-123"}"#)
        #expect(endpoint.logFile.waitFor("shout: hey-123"))
        #expect(endpoint.logFile.waitFor("raw stdout: hey-123"))
        #expect(endpoint.logFile.waitFor("stderr: hey-123"))
        // The request log line too (access log on by default).
        #expect(endpoint.logFile.waitFor("POST /shout 200 "))
    }

    @Test("with the access log off, requests are not logged but model output still is")
    func accessLogOff() throws {
        let endpoint = try RunningEndpoint(
            E2E.configuration("calculator", Repository.calculatorRoutes) { $0.accessLog = false })
        #expect(try endpoint.send("POST", "/shout", json: #"{"text":"quiet"}"#).status == 200)
        #expect(try endpoint.send("GET", "/ping").status == 200)
        #expect(endpoint.logFile.waitFor("shout: quiet"))
        #expect(!endpoint.logFile.contents.contains("GET /ping 200"))
        #expect(!endpoint.logFile.contents.contains("POST /shout 200"))
    }

    @Test("a route with an empty template ignores whatever body it gets")
    func emptyTemplate() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let client = try endpoint.connect()
        try client.send("POST /matrix HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"n\":1}")
        #expect(try client.readResponse().status == 200)
        // /opaque has no parameters: garbage and no content type still reach the function (which then fails).
        try client.send("POST /opaque HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n!!!!!")
        let response = try client.readResponse()
        #expect(response.status == 500)
        #expect(response.text.contains("Opaque"))
    }
}

/// A temporary model folder with the given files (removed on deinit).
final class E2ETemporaryModel: Sendable {
    let path: String

    init(_ files: [String: String]) throws {
        let created = NSTemporaryDirectory() + "/e2e-model-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: created, withIntermediateDirectories: true)
        path = URL(fileURLWithPath: created).resolvingSymlinksInPath().path
        for (name, text) in files {
            try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
