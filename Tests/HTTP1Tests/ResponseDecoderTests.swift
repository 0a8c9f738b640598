import HTTP1
import Testing

@Suite struct ResponseDecoderTests {
    func one(_ text: String, method: String = "GET", eof: Bool = false) -> ResponseRun {
        decodeResponses([bytes(text)], methods: [method], eof: eof)
    }

    @Test func contentLengthResponse() throws {
        let run = one("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let response = try #require(run.responses.first)
        #expect(response.head.status == 200)
        #expect(response.head.reason == "OK")
        #expect(response.head.version == .http1_1)
        #expect(response.head.headers["content-type"] == "application/json")
        #expect(response.head.keepAlive)
        #expect(response.body == bytes("{}"))
    }

    @Test func chunkedResponseWithTrailers() throws {
        let run = one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;e\r\nab\r\n1\r\nc\r\n0\r\nX: y\r\n\r\n")
        #expect(run.responses.first?.body == bytes("abc"))
        #expect(run.responses.first?.head.keepAlive == true)
    }

    @Test func closeDelimitedBody() throws {
        var decoder = HTTPResponseDecoder()
        decoder.append(bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one "))
        do { let value = try decoder.next(requestMethod: "GET"); #expect(value == nil) }
        decoder.append(bytes("part two"))
        do { let value = try decoder.next(requestMethod: "GET"); #expect(value == nil) }
        #expect(decoder.hasPartialResponse)
        let response = try #require(try decoder.finishOnEOF())
        #expect(response.body == bytes("part one part two"))
        #expect(!response.head.keepAlive)
        #expect(!decoder.hasPartialResponse)
        do { let value = try decoder.finishOnEOF(); #expect(value == nil) }
    }

    @Test func noBodyForHeadAnd204And304() throws {
        let run = decodeResponses(
            [
                bytes(
                    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                        + "HTTP/1.1 204 No Content\r\n\r\n"
                        + "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz")
            ], methods: ["HEAD", "GET", "GET", "HEAD", "GET"])
        #expect(run.error == nil)
        #expect(run.responses.map(\.head.status) == [200, 204, 304, 200, 200])
        #expect(run.responses.map(\.body) == [[], [], [], [], bytes("z")])
        #expect(run.responses[0].head.headers["content-length"] == "100")
    }

    @Test func interimResponsesAreSkipped() throws {
        let run = one(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            method: "POST")
        #expect(run.responses.count == 1)
        #expect(run.responses.first?.head.status == 200)
        #expect(run.responses.first?.body == bytes("x"))
    }

    @Test func switchingProtocolsIsFinal() throws {
        let run = one("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")
        #expect(run.responses.first?.head.status == 101)
        #expect(run.responses.first?.body == [])
    }

    @Test func keepAliveFromVersionAndConnection() throws {
        func keepAlive(_ text: String) -> Bool? { one(text).responses.first?.head.keepAlive }
        #expect(keepAlive("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") == true)
        #expect(keepAlive("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") == false)
        #expect(keepAlive("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n") == false)
        #expect(keepAlive("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n") == true)
    }

    @Test func reasonPhraseForms() throws {
        #expect(one("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").responses.first?.head.reason == "")
        #expect(one("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").responses.first?.head.reason == "")
        #expect(one("HTTP/1.1 422 Unprocessable Entity\r\nContent-Length: 0\r\n\r\n").responses.first?.head.reason
            == "Unprocessable Entity")
    }

    @Test func strayEmptyLinesBetweenResponsesAreTolerated() throws {
        let run = decodeResponses(
            [bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb\r\n")],
            methods: ["GET", "GET"], eof: true)
        #expect(run.error == nil)
        #expect(run.responses.map(\.body) == [bytes("a"), bytes("b")])
    }

    @Test func eofInsideAResponseIsAnError() {
        let partialHead = one("HTTP/1.1 200 OK\r\nContent-Le", eof: true)
        #expect(partialHead.error?.status == 400)
        #expect(partialHead.error?.reason.contains("header section") == true)
        let partialBody = one("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", eof: true)
        #expect(partialBody.error?.reason == "connection closed before the response body was complete")
        let partialChunked = one("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", eof: true)
        #expect(partialChunked.error?.status == 400)
        let nothing = one("", eof: true)
        #expect(nothing.error == nil && nothing.responses.isEmpty)
    }

    @Test func decoderStaysFailed() throws {
        var decoder = HTTPResponseDecoder()
        decoder.append(bytes("HTTP/1.1 2x0 OK\r\n\r\n"))
        let first = #expect(throws: HTTPParseError.self) { try decoder.next(requestMethod: "GET") }
        #expect(decoder.isFailed)
        decoder.append(bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        let second = #expect(throws: HTTPParseError.self) { try decoder.next(requestMethod: "GET") }
        let third = #expect(throws: HTTPParseError.self) { try decoder.finishOnEOF() }
        #expect(first == second && second == third)
    }

    func expectError(
        _ text: String, _ status: Int, _ reasonContains: String, limits: HTTPLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let run = decodeResponses([bytes(text)], methods: ["GET"], limits: limits)
        #expect(run.error?.status == status, "\(String(describing: run.error))", sourceLocation: sourceLocation)
        #expect(
            run.error?.reason.contains(reasonContains) == true, "\(String(describing: run.error))",
            sourceLocation: sourceLocation)
        let slow = decodeResponses(byteAtATime(bytes(text)), methods: ["GET"], limits: limits)
        #expect(slow.error == run.error, sourceLocation: sourceLocation)
    }

    @Test func errorPaths() {
        expectError("HTTP/2.0 200 OK\r\n\r\n", 505, "unsupported HTTP version HTTP/2.0")
        expectError("HTTP/1.1 2x0 OK\r\n\r\n", 400, "invalid status code")
        expectError("HTTP/1.1 099 Low\r\n\r\n", 400, "invalid status code")
        expectError("HTTP/1.1 200OK\r\n\r\n", 400, "invalid status line")
        expectError("HTTP/1.1 20\r\n\r\n", 400, "invalid status line")
        expectError("ICY 200 OK\r\n\r\n", 400, "invalid status line")
        expectError("HTTP/1.1 200 O\u{1}K\r\n\r\n", 400, "invalid character in reason phrase")
        expectError("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", 400, "invalid Content-Length value \"abc\"")
        expectError("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "conflicting Content-Length")
        expectError(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400,
            "both Transfer-Encoding and Content-Length")
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported transfer coding \"gzip\"")
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, "more than once")
        expectError("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 400, "whitespace between header field name and colon")
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "invalid chunk size line")
        let small = HTTPLimits(maxHeaderBytes: 60, maxBodyBytes: 4, maxHeaderCount: 2)
        expectError("HTTP/1.1 200 OK\r\nX: " + String(repeating: "x", count: 80), 431, "response header section larger than 60", limits: small)
        expectError("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, "too many header fields", limits: small)
        expectError("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 413, "exceeds the limit of 4 bytes", limits: small)
        expectError("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n", 413, "chunked body larger", limits: small)
        expectError("HTTP/1.1 200 OK\r\n\r\n12345", 413, "body larger than the limit of 4 bytes", limits: small)
    }
}
