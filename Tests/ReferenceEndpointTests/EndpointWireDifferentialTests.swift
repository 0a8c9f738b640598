import EndpointSpec
import Foundation
import Glibc
import HTTP1
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// One request of the wire corpus, sent byte for byte the same to both servers (only `Host` differs).
struct WireCase: Sendable, CustomTestStringConvertible {
    /// How the two answers are compared.
    enum Comparison: Sendable {
        /// Same status; same body and content type (405: same Allow, HEAD aside; 307: same Location path).
        case same
        /// Same status only: FastAPI answers 500 with plain text `Internal Server Error`, we answer JSON.
        case statusOnly
        /// A documented difference: each side must give exactly its expected status.
        case knownDifference(ours: Int, fastAPI: Int, why: String)
    }

    var name: String
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]?
    var chunked = false
    var comparison: Comparison = .same

    var testDescription: String { "\(method) \(target) [\(name)]" }

    func bytes(host: String) -> [UInt8] {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        guard let body else { return Array((head + "\r\n").utf8) }
        if chunked {
            head += "Transfer-Encoding: chunked\r\n\r\n"
            var out = Array(head.utf8)
            var start = 0
            while start < body.count {
                let end = min(body.count, start + 3)
                out += Array("\(String(end - start, radix: 16))\r\n".utf8) + body[start..<end] + Array("\r\n".utf8)
                start = end
            }
            return out + Array("0\r\n\r\n".utf8)
        }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}

/// The corpus: every routing outcome, valid calls, coercions, every 422 kind, 400, Python exceptions.
enum WireCorpus {
    static let json = [("Content-Type", "application/json")]

    static func post(_ name: String, _ path: String, _ body: String, _ comparison: WireCase.Comparison = .same) -> WireCase {
        WireCase(name: name, method: "POST", target: path, headers: json, body: Array(body.utf8), comparison: comparison)
    }

    static func request(
        _ name: String, _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        _ comparison: WireCase.Comparison = .same
    ) -> WireCase {
        WireCase(name: name, method: method, target: target, headers: headers, body: body, comparison: comparison)
    }

    static let cases: [WireCase] = routing + calls + coercions + validation + failures

    static let routing: [WireCase] = [
        request("ping", "GET", "/ping"),
        request("ping with query", "GET", "/ping?x=1"),
        request(
            "HEAD ping", "HEAD", "/ping",
            .knownDifference(
                ours: 200, fastAPI: 405,
                why: "FastAPI's APIRoute does not add HEAD to a GET route (Starlette's Route does); we answer HEAD /ping")),
        request("POST ping", "POST", "/ping"),
        request("DELETE ping", "DELETE", "/ping"),
        request("unknown path", "GET", "/nope"),
        request("unknown path POST", "POST", "/nope", headers: json, body: Array("{}".utf8)),
        request("root", "GET", "/"),
        request("unknown with slash", "POST", "/nope/"),
        request("deeper path", "POST", "/add/more"),
        request("case matters", "POST", "/ADD"),
        request("GET on POST route", "GET", "/add"),
        request("DELETE on POST route", "DELETE", "/describe"),
        request("PUT on POST route", "PUT", "/append", headers: json, body: Array("{}".utf8)),
        request("HEAD on POST route", "HEAD", "/add"),
        request("trailing slash", "POST", "/add/", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("trailing slash + query", "POST", "/add/?x=1&y=%20", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("ping trailing slash", "GET", "/ping/"),
        request("GET trailing slash of POST route", "GET", "/describe/"),
        request("query string on a route", "POST", "/add?debug=1", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("percent-encoded path", "POST", "/a%64d", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("percent-encoded ping", "GET", "/%70ing"),
        request("percent-encoded slash redirect", "POST", "/add%2F", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("encoded question mark", "POST", "/add/%3Fx", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("invalid escape", "POST", "/add%zz", headers: json, body: Array(#"{"a":1}"#.utf8)),
        request("absolute-form target", "POST", "http://127.0.0.1/add", headers: json, body: Array(#"{"a":1}"#.utf8)),
    ]

    static let calls: [WireCase] = [
        post("positional with default", "/add", #"{"a":2}"#),
        post("positional both", "/add", #"{"a":2,"b":0.25}"#),
        post("positional reversed keys", "/add", #"{"b":0.25,"a":2}"#),
        post("extra attribute ignored", "/add", #"{"a":2,"zzz":[1]}"#),
        post("big int", "/add", #"{"a":123456789012345678901234567890,"b":0}"#),
        post("negative", "/add", #"{"a":-5,"b":-0.5}"#),
        post("keyword defaults", "/describe", #"{"text":"hi"}"#),
        post(
            "keyword all", "/describe",
            #"{"text":"hi","count":5,"ratio":1.5,"flag":false,"meta":{"a":[1,{"b":null}]},"items":[1,"x",null]}"#),
        post("unicode text", "/describe", #"{"text":"héllo ☃ \ud83d\ude00"}"#),
        post("escaped text", "/describe", #"{"text":"a\"b\\c\n\t\u0001"}"#),
        post("mutable default fresh (1)", "/append", "{}"),
        post("mutable default fresh (2)", "/append", "{}"),
        post("append given", "/append", #"{"items":[1],"item":"z"}"#),
        post("optional null passed as None", "/append", #"{"items":["q"],"item":null}"#),
        post("shout", "/shout", #"{"text":"hey"}"#),
        WireCase(
            name: "chunked body", method: "POST", target: "/describe", headers: json,
            body: Array(#"{"text":"chunks","count":"9"}"#.utf8), chunked: true),
        WireCase(
            name: "charset parameter", method: "POST", target: "/add",
            headers: [("Content-Type", "application/json; charset=utf-8")], body: Array(#"{"a":1}"#.utf8)),
        WireCase(
            name: "+json content type", method: "POST", target: "/add",
            headers: [("Content-Type", "application/vnd.api+json")], body: Array(#"{"a":1}"#.utf8)),
        WireCase(
            name: "upper-case content type", method: "POST", target: "/add",
            headers: [("Content-Type", "APPLICATION/JSON")], body: Array(#"{"a":1}"#.utf8)),
        post(
            "matrix (tolist/item)", "/matrix", #"{"n":2}"#,
            .knownDifference(
                ours: 200, fastAPI: 200,
                why: "bodies differ: we convert numpy-like results with .tolist()/.item(), FastAPI's jsonable_encoder falls back to vars()")),
    ]

    static let coercions: [WireCase] = [
        post("int from string", "/add", #"{"a":"7"}"#),
        post("int from float .0", "/add", #"{"a":2.0}"#),
        post("int from bool", "/add", #"{"a":true}"#),
        post("int from string with spaces", "/add", #"{"a":" 8 "}"#),
        post("int from string 1e2", "/add", #"{"a":"1e2"}"#),
        post("float from int", "/add", #"{"a":1,"b":2}"#),
        post("float from string", "/add", #"{"a":1,"b":"2.5"}"#),
        post("float from string exp", "/add", #"{"a":1,"b":"1e-3"}"#),
        post("float from bool", "/add", #"{"a":1,"b":false}"#),
        post("bool from yes", "/describe", #"{"text":"t","flag":"yes"}"#),
        post("bool from off", "/describe", #"{"text":"t","flag":"off"}"#),
        post("bool from 1", "/describe", #"{"text":"t","flag":1}"#),
        post("bool from 0.0", "/describe", #"{"text":"t","flag":0.0}"#),
        post("bool from 'T'", "/describe", #"{"text":"t","flag":"T"}"#),
        post("int from '-3'", "/describe", #"{"text":"t","count":"-3"}"#),
        post("float from big exponent string", "/describe", #"{"text":"t","ratio":"1.5e300"}"#),
        post("dict empty", "/describe", #"{"text":"t","meta":{}}"#),
        post("list nested", "/describe", #"{"text":"t","items":[[1],[2,[3]]]}"#),
        post("optional null", "/describe", #"{"text":"t","count":null,"ratio":null,"flag":null,"meta":null,"items":null}"#),
    ]

    static let validation: [WireCase] = [
        post("missing required", "/add", "{}"),
        post("missing text", "/describe", #"{"count":1}"#),
        post("int_from_float", "/add", #"{"a":1.5}"#),
        post("int_parsing", "/add", #"{"a":"x"}"#),
        post("int_type list", "/add", #"{"a":[1]}"#),
        post("float_parsing", "/add", #"{"a":1,"b":"x"}"#),
        post("float_type", "/add", #"{"a":1,"b":{}}"#),
        post("string_type int", "/describe", #"{"text":5}"#),
        post("string_type null", "/describe", #"{"text":null}"#),
        post("bool_parsing", "/describe", #"{"text":"t","flag":"maybe"}"#),
        post("bool_parsing 2", "/describe", #"{"text":"t","flag":2}"#),
        post("dict_type", "/describe", #"{"text":"t","meta":[1]}"#),
        post("list_type dict", "/describe", #"{"text":"t","items":{"a":1}}"#),
        post("list_type string", "/describe", #"{"text":"t","items":"abc"}"#),
        post("several errors in order", "/describe", #"{"ratio":"y","text":1,"count":"x"}"#),
        post("array body", "/add", "[1,2]"),
        post("string body", "/add", #""a""#),
        post("number body", "/add", "5"),
        post("null body", "/add", "null"),
        post("json_invalid truncated", "/add", #"{"a":"#),
        post("json_invalid trailing comma", "/add", #"{"a":1,}"#),
        post("json_invalid single quotes", "/add", "{'a': 1}"),
        post("json_invalid extra data", "/add", #"{"a":1} x"#),
        request("text/plain body", "POST", "/add", headers: [("Content-Type", "text/plain")], body: Array(#"{"a":1}"#.utf8)),
        request("no content type", "POST", "/add", body: Array("a=1&b=2".utf8)),
        request("form content type", "POST", "/add", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("a=1".utf8)),
        request("empty body", "POST", "/add", headers: json, body: []),
        request("no body", "POST", "/add", headers: json),
        request("invalid UTF-8 JSON", "POST", "/add", headers: json, body: [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]),
    ]

    static let failures: [WireCase] = [
        post("exception", "/fail", #"{"message":"boom"}"#, .statusOnly),
        post("exception empty message", "/fail", #"{"message":""}"#, .statusOnly),
        post("TypeError from None", "/add", #"{"a":1,"b":null}"#, .statusOnly),
        post("AttributeError from None", "/append", #"{"items":null}"#, .statusOnly),
        post("NaN result", "/describe", #"{"text":"t","ratio":"nan"}"#, .statusOnly),
        post(
            "unencodable result", "/opaque", "{}",
            .knownDifference(
                ours: 500, fastAPI: 200,
                why: "FastAPI's jsonable_encoder encodes an arbitrary object as vars() ({}); json (our worker) refuses it")),
    ]
}

/// Sends the same requests to our endpoint and to FastAPI + uvicorn serving the same routes and model code,
/// and compares the answers on the wire.
@Suite("Endpoint end to end: wire differential against FastAPI", .serialized, .dedicatedThreads)
struct EndpointWireDifferentialTests {
    static let script = Repository.root + "/Tests/differential/wire_fastapi_app.py"

    @Test("the corpus is large enough and covers every comparison kind")
    func corpusShape() {
        #expect(WireCorpus.cases.count >= 60)
        #expect(Set(WireCorpus.cases.map(\.testDescription)).count == WireCorpus.cases.count)
    }

    @Test("same status and body as FastAPI for every request of the corpus")
    func compareWithFastAPI() throws {
        let (importStatus, _, importError) = try ChildProcess.run(
            "/usr/bin/env", ["python3", "-c", "import fastapi, uvicorn, pydantic"], seconds: 60)
        guard importStatus == 0 else {
            Issue.record(
                "FastAPI/uvicorn are not importable by python3: pip install -r requirements-dev.txt (\(importError))")
            return
        }
        let peer = try ChildProcess(
            "/usr/bin/env",
            [
                "python3", Self.script, "--model-dir", "examples/calculator", "--routes-file",
                "examples/calculator/routes.json", "--port", "0", "--no-access-log",
                // Pinned: uvicorn's default picks httptools when installed and h11 otherwise, and the two differ
                // (h11 answers an absolute-form target 404; RFC 9112 §3.2.2 and httptools accept it).
                "--http", "httptools",
            ])
        defer {
            kill(peer.process.processIdentifier, SIGTERM)
            _ = peer.waitForExit(seconds: 10)
        }
        let line = try #require(peer.readLine(seconds: 120), "the FastAPI app did not start: \(peer.stderrText)")
        let prefix = "Endpoint is running at: http://127.0.0.1:"
        let theirPort = try #require(Int(line.dropFirst(prefix.count).dropLast()), "\(line.debugDescription)")

        let ours = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))

        var compared = 0
        for wireCase in WireCorpus.cases {
            let mine = try exchange(wireCase, port: ours.port)
            let theirs = try exchange(wireCase, port: theirPort)
            let label = wireCase.testDescription
            let detail = "\(label)\n  ours:    \(mine.status) \(mine.text)\n  FastAPI: \(theirs.status) \(theirs.text)"
            switch wireCase.comparison {
            case .knownDifference(let expectedOurs, let expectedTheirs, _):
                #expect(mine.status == expectedOurs, "\(detail)")
                #expect(theirs.status == expectedTheirs, "\(detail)")
                continue
            case .statusOnly:
                #expect(mine.status == 500 && theirs.status == 500, "\(detail)")
                #expect(theirs.text == "Internal Server Error", "\(detail)")
                #expect(mine.header("content-type") == "application/json", "\(detail)")
            case .same:
                #expect(mine.status == theirs.status, "\(detail)")
                switch theirs.status {
                case 307:
                    #expect(locationPath(mine) == locationPath(theirs), "\(detail)")
                    #expect(locationPath(mine) != nil, "\(detail)")
                case 405:
                    #expect(allowSet(mine).subtracting(["HEAD"]) == allowSet(theirs).subtracting(["HEAD"]), "\(detail)")
                    #expect(mine.body == theirs.body, "\(detail)")
                default:
                    #expect(mine.body == theirs.body, "\(detail)")
                    if !theirs.body.isEmpty {
                        #expect(mine.header("content-type") == theirs.header("content-type"), "\(detail)")
                    }
                }
            }
            compared += 1
        }
        #expect(compared >= 55)
    }

    /// One request on a fresh connection.
    func exchange(_ wireCase: WireCase, port: Int) throws -> HTTPResponse {
        let client = try WireClient(port: port)
        try client.send(wireCase.bytes(host: client.host))
        return try client.readResponse(method: wireCase.method)
    }

    /// The Location header without scheme and authority.
    func locationPath(_ response: HTTPResponse) -> String? {
        guard let location = response.header("location") else { return nil }
        guard let scheme = location.range(of: "://") else { return location }
        let rest = location[scheme.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "/" }
        return String(rest[slash...])
    }

    func allowSet(_ response: HTTPResponse) -> Set<String> {
        Set((response.header("allow") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }
}
