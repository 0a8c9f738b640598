import EndpointSpec
import Foundation
import Glibc
import HTTP1
import TestSupport
import Testing

@testable import ReferenceEndpoint

/// HTTP/1.1 behaviour of the endpoint over real sockets: keep-alive, pipelining, chunked bodies, limits, garbage.
@Suite("Endpoint end to end: HTTP/1.1", .dedicatedThreads)
struct EndpointHTTPTests {
    @Test("keep-alive: many requests one after the other on one connection")
    func keepAlive() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let client = try endpoint.connect()
        for index in 0..<200 {
            let response = try client.exchange("POST", "/predict", json: #"{"x":\#(index)}"#)
            #expect(response.status == 200)
            #expect(response.text == #"{"y":\#(index)}"#)
            #expect(response.head.keepAlive)
        }
        #expect(endpoint.stats.requests == 200)
        #expect(endpoint.stats.ok == 200)
    }

    @Test("pipelined requests of every kind are answered in request order")
    func pipelining() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let client = try endpoint.connect()
        var bytes: [UInt8] = []
        var expected: [(String, Int, String)] = []  // method, status, body
        for index in 0..<60 {
            switch index % 6 {
            case 0:
                bytes += client.request("POST", "/add", json: #"{"a":\#(index)}"#)
                expected.append(("POST", 200, #"{"sum":\#(Double(index) + 1.5)}"#))
            case 1:
                bytes += client.request("GET", "/ping")
                expected.append(("GET", 200, #"{"message":"pong"}"#))
            case 2:
                bytes += client.request("GET", "/missing")
                expected.append(("GET", 404, #"{"detail":"Not Found"}"#))
            case 3:
                bytes += client.request("POST", "/add", json: "[]")
                expected.append((
                    "POST", 422,
                    #"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}]}"#
                ))
            case 4:
                bytes += client.request("POST", "/fail", json: #"{"message":"n\#(index)"}"#)
                expected.append(("POST", 500, #"{"detail":"Internal Server Error","error":"ValueError: n\#(index)"}"#))
            default:
                // A slower call (the worker sleeps 50 ms): later, faster answers must wait for it.
                bytes += client.request("POST", "/sleep", json: #"{"seconds":0.05}"#)
                expected.append(("POST", 200, ""))
            }
        }
        try client.send(bytes)
        for (index, (method, status, body)) in expected.enumerated() {
            let response = try client.readResponse(method: method)
            #expect(response.status == status, "request \(index)")
            if body.isEmpty {
                #expect(response.text.hasPrefix(#"{"started":"#), "request \(index)")
            } else {
                #expect(response.text == body, "request \(index)")
            }
        }
        #expect(endpoint.stats.requests == 60)
    }

    @Test("a chunked request body is decoded and validated like a Content-Length one")
    func chunkedBody() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let client = try endpoint.connect()
        try client.send(
            "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\n{\"x\":\r\n3;ext=1\r\n 42\r\n1\r\n}\r\n0\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == #"{"y":42}"#)
        // Sent in pieces, one byte at a time for the size lines.
        try client.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in ["8", "\r", "\n", #"{"x": 77"#, "\r\n", "1\r\n}", "\r\n", "0", "\r\n\r\n"] { try client.send(piece) }
        let second = try client.readResponse()
        #expect(second.status == 200)
        #expect(second.text == #"{"y":77}"#)
        // An empty chunked body is "no body" for the validator: 422 missing.
        try client.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        let empty = try client.readResponse()
        #expect(empty.status == 422)
        #expect(empty.text.contains(#""type":"missing","loc":["body"]"#))
    }

    @Test("a body over maxBodyBytes answers 413 (Content-Length and chunked) and the connection closes")
    func bodyTooLarge() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.maxBodyBytes = 64 })
        // At the limit: fine.
        let padded = #"{"x":1,"pad":""# + String(repeating: "p", count: 64 - 16) + #""}"#
        #expect(padded.utf8.count == 64)
        #expect(try endpoint.send("POST", "/predict", json: padded).status == 200)

        let client = try endpoint.connect()
        let big = #"{"x":1,"pad":""# + String(repeating: "p", count: 1_000) + #""}"#
        try client.send(client.request("POST", "/predict", json: big))
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(client.waitForEOF())

        let chunked = try endpoint.connect()
        try chunked.send("POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try chunked.send("40\r\n" + String(repeating: "a", count: 64) + "\r\n1\r\nb\r\n0\r\n\r\n")
        #expect(try chunked.readResponse().status == 413)
        #expect(chunked.waitForEOF())
    }

    @Test("huge request headers answer 431")
    func headersTooLarge() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let client = try endpoint.connect()
        try client.send("GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "h", count: 32 * 1024))\r\n\r\n")
        let response = try client.readResponse(method: "GET")
        #expect(response.status == 431)
        #expect(client.waitForEOF())
        // Too many header fields.
        let many = try endpoint.connect()
        var head = "GET /ping HTTP/1.1\r\nHost: x\r\n"
        for index in 0..<200 { head += "X-H\(index): v\r\n" }
        try many.send(head + "\r\n")
        #expect(try many.readResponse(method: "GET").status == 431)
        // The endpoint still serves.
        #expect(try endpoint.send("GET", "/ping").status == 200)
    }

    @Test("garbage answers 400 and closes; earlier pipelined requests are still answered")
    func garbage() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        for junk in ["GARBAGE\r\n\r\n", "GET / HTTP/9\r\n\r\n", "\u{1}\u{2}\u{3} nonsense \r\n\r\n", "GET /ping HTTP/1.1\r\nBad Header\r\n\r\n"] {
            let client = try endpoint.connect()
            try client.send(junk)
            let response = try client.readResponse(method: "GET")
            #expect([400, 505].contains(response.status), "\(junk.debugDescription)")
            #expect(client.waitForEOF(), "\(junk.debugDescription)")
        }
        let client = try endpoint.connect()
        try client.send(client.request("GET", "/ping") + Array("NOT HTTP AT ALL\r\n\r\n".utf8))
        #expect(try client.readResponse(method: "GET").status == 200)
        #expect(try client.readResponse(method: "GET").status == 400)
        #expect(client.waitForEOF())
        #expect(try endpoint.send("GET", "/ping").status == 200)
    }

    @Test("Connection: close and HTTP/1.0 get one answer, then the server closes")
    func connectionClose() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let client = try endpoint.connect()
        try client.send(client.request("GET", "/ping", headers: [("Connection", "close")]))
        let response = try client.readResponse(method: "GET")
        #expect(response.status == 200)
        #expect(!response.head.keepAlive)
        #expect(client.waitForEOF())

        let old = try endpoint.connect()
        try old.send("POST /predict HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"x\":9}")
        let answer = try old.readResponse()
        #expect(answer.status == 200)
        #expect(answer.text == #"{"y":9}"#)
        #expect(old.waitForEOF())
    }

    @Test("Expect: 100-continue gets an interim 100 before the body is sent")
    func expectContinue() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let client = try endpoint.connect()
        try client.send(
            "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\nExpect: 100-continue\r\n\r\n")
        let interim = try client.readRawHead()
        #expect(interim.hasPrefix("HTTP/1.1 100 "), "\(interim.debugDescription)")
        try client.send(#"{"x":55}"#)
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.text == #"{"y":55}"#)
    }

    @Test("a client that does not finish its request body within bodyTimeout gets 408 and is closed")
    func slowClient() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.bodyTimeout = 0.5 })
        let client = try endpoint.connect()
        try client.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"x\":")
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(client.waitForEOF())
        #expect(try endpoint.send("GET", "/ping").status == 200)
    }

    @Test("an idle keep-alive connection is closed after idleTimeout")
    func idleConnection() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes) { $0.idleTimeout = 0.5 })
        let client = try endpoint.connect()
        #expect(try client.exchange("GET", "/ping").status == 200)
        #expect(client.waitForEOF())
    }

    @Test("ambiguous framing (Content-Length with chunked, conflicting Content-Lengths) answers 400")
    func ambiguousFraming() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("trivial", E2E.trivialRoutes))
        let requests = [
            "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nContent-Length: 9\r\n\r\n{\"x\":1}  ",
            "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        ]
        for request in requests {
            let client = try endpoint.connect()
            try client.send(request)
            #expect(try client.readResponse().status == 400, "\(request.debugDescription)")
            #expect(client.waitForEOF())
        }
        #expect(endpoint.stats.requests == 0)  // parse errors never reach the endpoint's handler
    }

    @Test("large request and response bodies (about 2 MB) pass through the worker intact")
    func largeBodies() throws {
        let endpoint = try RunningEndpoint(E2E.configuration("calculator", Repository.calculatorRoutes))
        let items = (0..<200_000).map(String.init).joined(separator: ",")
        let body = #"{"text":"big","items":[\#(items)]}"#
        #expect(body.utf8.count > 1_000_000)
        let response = try endpoint.send("POST", "/describe", json: body)
        #expect(response.status == 200)
        #expect(response.text.contains("[\(items)]"))
        #expect(response.text.hasSuffix(#""types":["str","int","float","bool","dict","list"]}"#))
    }

    @Test("many connections (one thread each) with pipelined calls on two workers: every answer matches its request")
    func concurrentConnections() throws {
        let endpoint = try RunningEndpoint(
            E2E.configuration("trivial", E2E.trivialRoutes) {
                $0.workers = 2
                // 300 calls arrive at once; this test is about matching answers to requests, not admission,
                // so every call may wait (before the first calls are timed, a worker takes one at a time).
                $0.maxQueue = 1_000
                $0.eventLoopThreads = 2
            })
        let port = endpoint.port
        let mismatches = E2ERecorder<String>()
        let finished = DispatchGroup()
        for connection in 0..<12 {
            finished.enter()
            Thread.detachNewThread {
                defer { finished.leave() }
                do {
                    let client = try WireClient(port: port)
                    var bytes: [UInt8] = []
                    for call in 0..<25 {
                        bytes += client.request("POST", "/predict", json: #"{"x":\#(connection * 1000 + call)}"#)
                    }
                    try client.send(bytes)
                    for call in 0..<25 {
                        let response = try client.readResponse()
                        if response.status != 200 || response.text != #"{"y":\#(connection * 1000 + call)}"# {
                            mismatches.append("\(connection)/\(call): \(response.status) \(response.text)")
                        }
                    }
                } catch {
                    mismatches.append("connection \(connection): \(error)")
                }
            }
        }
        #expect(finished.wait(timeout: .now() + 120) == .success)
        #expect(mismatches.values.isEmpty, "\(mismatches.values.prefix(5))")
        #expect(endpoint.stats.ok == 300)
    }
}
