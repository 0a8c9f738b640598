import EndpointSpec
import Foundation
import HTTP1
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// The router over real sockets: /ping, 404, 405 with Allow, 307 trailing-slash redirects.
@Suite("Endpoint end to end: routing", .dedicatedThreads)
struct EndpointRoutingTests {
    @Test("GET /ping answers 200 {\"message\":\"pong\"} as JSON, also with a query string")
    func ping() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("echo", E2E.echoRoutes))
        for target in ["/ping", "/ping?probe=1"] {
            let response = try endpoint.send("GET", target)
            #expect(response.status == 200)
            #expect(response.text == #"{"message":"pong"}"#)
            #expect(response.header("content-type") == "application/json")
        }
    }

    @Test("HEAD /ping answers 200 with GET's Content-Length and no body; the connection stays usable")
    func headPing() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("echo", E2E.echoRoutes))
        let client = try endpoint.connect()
        // Pipelined: if HEAD's response carried body bytes, they would corrupt the GET's response.
        try client.send(client.request("HEAD", "/ping") + client.request("GET", "/ping"))
        let head = try client.readResponse(method: "HEAD")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("content-length") == "18")
        #expect(head.header("content-type") == "application/json")
        let get = try client.readResponse(method: "GET")
        #expect(get.status == 200)
        #expect(get.text == #"{"message":"pong"}"#)
    }

    @Test("unknown paths answer 404 {\"detail\":\"Not Found\"}", arguments: ["GET", "POST", "DELETE"])
    func notFound(method: String) throws {
        let endpoint = try RunningEndpoint(E2E.configuration("echo", E2E.echoRoutes))
        for target in ["/nope", "/", "/predict/x", "/PREDICT", "/nope/"] {
            let response = try endpoint.send(method, target)
            #expect(response.status == 404, "\(method) \(target)")
            #expect(response.text == #"{"detail":"Not Found"}"#, "\(method) \(target)")
            #expect(response.header("content-type") == "application/json")
        }
    }

    @Test("a known path with another method answers 405 with Allow")
    func methodNotAllowed() throws {
        let model = try E2ETemporaryModel(["m.py": "def predict(text=''):\n    return text\ndef info():\n    return {'ok': True}\n"])
        let routes = [
            RouteSpec(path: "/predict", file: "m", function: "predict", body: [BodyParam(name: "text", type: .str)]),
            RouteSpec(verb: "PUT", path: "/predict", file: "m", function: "predict"),
            RouteSpec(verb: "GET", path: "/info", file: "m", function: "info"),
        ]
        let endpoint = try RunningEndpoint(E2E.configuration("echo", routes) { $0.modelDirectory = model.path })
        let cases: [(String, String, String)] = [
            ("GET", "/predict", "POST, PUT"),
            ("DELETE", "/predict", "POST, PUT"),
            ("POST", "/info", "GET, HEAD"),
            ("POST", "/ping", "GET, HEAD"),
            ("DELETE", "/ping", "GET, HEAD"),
        ]
        for (method, path, allow) in cases {
            let response = try endpoint.send(method, path)
            #expect(response.status == 405, "\(method) \(path)")
            #expect(response.header("allow") == allow, "\(method) \(path)")
            #expect(response.text == #"{"detail":"Method Not Allowed"}"#, "\(method) \(path)")
        }
        // A GET route answers HEAD (200, no body), like Starlette's routes.
        let get = try endpoint.send("GET", "/info")
        #expect(get.status == 200)
        #expect(get.text == #"{"ok":true}"#)
        let head = try endpoint.send("HEAD", "/info")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head.header("content-length") == "11")
        #expect(try endpoint.send("PUT", "/predict").text == "\"\"")
    }

    @Test("a path that exists only with/without a trailing slash answers 307 with Location (query kept)")
    func trailingSlashRedirect() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let cases: [(String, String, String)] = [
            ("POST", "/add/", "/add"),
            ("POST", "/add/?x=1&y=2", "/add?x=1&y=2"),
            ("GET", "/ping/", "/ping"),
            ("GET", "/add/", "/add"),  // the redirect does not look at the method, as in Starlette
        ]
        for (method, target, location) in cases {
            let client = try endpoint.connect()
            let response = try client.exchange(method, target, json: method == "POST" ? #"{"a":1}"# : nil)
            #expect(response.status == 307, "\(method) \(target)")
            #expect(response.header("location") == "http://\(client.host)\(location)", "\(method) \(target)")
            #expect(response.body.isEmpty)
        }
        // Without a Host header (HTTP/1.0) the Location is the bare path.
        let client = try endpoint.connect()
        try client.send("POST /add/ HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 307)
        #expect(response.header("location") == "/add")
    }

    @Test("paths are routed percent-decoded and absolute-form targets by their path, as under FastAPI")
    func targetForms() throws {
        var routes = Repository.calculatorRoutes
        routes.append(RouteSpec(path: "/café", file: "calculator", function: "opaque"))
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", routes))
        let cases: [(String, String, Int, String?)] = [
            ("POST", "/a%64d", 200, nil),
            ("POST", "/%61%64%64?x=%2F", 200, nil),
            ("POST", "http://127.0.0.1/add", 200, nil),
            ("POST", "HTTP://example.com:8080/add?q=1", 200, nil),
            ("GET", "http://example.com", 404, nil),
            ("GET", "/%70ing", 200, nil),
            ("POST", "/add%zz", 404, nil),
            ("POST", "/add%", 404, nil),
            ("POST", "/add%2F", 307, "/add"),
            ("POST", "/caf%C3%A9/", 307, "/caf%C3%A9"),
            ("POST", "/caf%c3%a9", 500, nil),  // routed; opaque() cannot be encoded
            ("POST", "/add/%3Fx", 404, nil),
        ]
        for (method, target, status, location) in cases {
            let client = try endpoint.connect()
            let response = try client.exchange(method, target, json: method == "POST" ? #"{"a":1}"# : nil)
            #expect(response.status == status, "\(method) \(target): \(response.text)")
            if let location {
                #expect(response.header("location") == "http://\(client.host)\(location)", "\(target)")
            }
        }
    }

    @Test("routingPath and quotedPath: the pure helpers")
    func pathHelpers() {
        #expect(Router.routingPath(of: "/predict") == "/predict")
        #expect(Router.routingPath(of: "/predict?x=1#f") == "/predict")
        #expect(Router.routingPath(of: "/p#frag") == "/p")
        #expect(Router.routingPath(of: "https://h:1/p/q?x") == "/p/q")
        #expect(Router.routingPath(of: "http://h?x") == "/")
        #expect(Router.routingPath(of: "/a%20b%2") == "/a b%2")
        #expect(Router.routingPath(of: "/%FF") == "/\u{FFFD}")
        #expect(Router.routingPath(of: "*") == "*")
        #expect(Router.quotedPath("/add") == "/add")
        #expect(Router.quotedPath("/a b/é") == "/a%20b/%C3%A9")
        #expect(Router.quotedPath("/x\r\ny") == "/x%0D%0Ay")
    }
}
