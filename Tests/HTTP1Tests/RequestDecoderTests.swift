import HTTP1
import Testing

@Suite struct RequestDecoderTests {
    @Test func simpleGet() throws {
        let run = decodeRequests("GET /health?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent:  curl/8 \r\n\r\n")
        #expect(run.error == nil)
        let request = try #require(run.requests.first)
        #expect(run.requests.count == 1)
        #expect(request.head.method == "GET")
        #expect(request.head.target == "/health?x=1")
        #expect(request.head.version == .http1_1)
        #expect(request.head.headers == ["Host": "example.com", "User-Agent": "curl/8"])
        #expect(request.head.headers["user-agent"] == "curl/8")
        #expect(request.head.keepAlive)
        #expect(!request.head.expectsContinue)
        #expect(request.body == nil)
    }

    @Test func postWithContentLength() throws {
        let run = decodeRequests(
            "POST /predict HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"x\":1}")
        let request = try #require(run.requests.first)
        #expect(run.error == nil)
        #expect(request.head.method == "POST")
        #expect(request.body == bytes("{\"x\":1}"))
        #expect(request.head.headers["content-type"] == "application/json")
    }

    @Test func zeroContentLengthIsAnEmptyBody() throws {
        let run = decodeRequests("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        let request = try #require(run.requests.first)
        #expect(request.body == [])
    }

    @Test func chunkedBodyWithExtensionsAndTrailers() throws {
        let run = decodeRequests(
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;name=value\r\nhello\r\n6 ; x=\"q\"\r\n world\r\nA\r\n0123456789\r\n0;last\r\n"
                + "X-Checksum: abc\r\nX-Other: 1\r\n\r\n")
        #expect(run.error == nil)
        let request = try #require(run.requests.first)
        #expect(request.body == bytes("hello world0123456789"))
        #expect(request.head.headers["x-checksum"] == nil)  // trailers are discarded
        #expect(request.head.headers["transfer-encoding"] == "chunked")
    }

    @Test func chunkedWithoutTrailersAndUppercaseHex() throws {
        let run = decodeRequests("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n1F\r\n"
            + String(repeating: "z", count: 31) + "\r\n0\r\n\r\n")
        #expect(run.requests.first?.body == Array(repeating: UInt8(ascii: "z"), count: 31))
    }

    @Test func emptyChunkedBody() throws {
        let run = decodeRequests("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        #expect(run.requests.first?.body == [])
    }

    @Test func pipelinedRequestsInOneAppend() throws {
        let run = decodeRequests(
            "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                + "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
                + "DELETE /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        #expect(run.error == nil)
        #expect(run.requests.map(\.head.target) == ["/a", "/b", "/c", "/d"])
        #expect(run.requests.map(\.head.method) == ["GET", "POST", "POST", "DELETE"])
        #expect(run.requests.map(\.body) == [nil, bytes("abc"), bytes("hi"), nil])
        #expect(run.requests.map(\.head.keepAlive) == [true, true, true, false])
    }

    @Test func bareLineFeedsAreRejected() throws {
        let run = decodeRequests("POST /lf HTTP/1.1\nHost: h\nContent-Length: 2\n\nok")
        #expect(run.error?.status == 400)
        #expect(run.error?.reason.contains("bare LF") == true)
    }

    @Test func emptyLinesBeforeRequestLineAreIgnored() throws {
        let run = decodeRequests("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(run.error == nil)
        #expect(run.requests.count == 1)
        #expect(decodeRequests("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n").error?.status == 400)
    }

    @Test func keepAliveRules() throws {
        func keepAlive(_ text: String) -> Bool? { decodeRequests(text).requests.first?.head.keepAlive }
        #expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\n\r\n") == true)
        #expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, CLOSE\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n") == true)
        #expect(keepAlive("GET / HTTP/1.0\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == true)
        #expect(keepAlive("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n") == false)
    }

    @Test func http10WithoutHostIsAccepted() throws {
        let run = decodeRequests("GET / HTTP/1.0\r\n\r\n")
        #expect(run.requests.first?.head.version == .http1_0)
    }

    @Test func otherTargetForms() throws {
        let run = decodeRequests(
            "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\nGET http://h:8/p?q HTTP/1.1\r\nHost: h:8\r\n\r\nPATCH /x HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(run.requests.map(\.head.target) == ["*", "http://h:8/p?q", "/x"])
        #expect(run.requests.map(\.head.method) == ["OPTIONS", "GET", "PATCH"])
    }

    @Test func repeatedIdenticalContentLengthIsRejected() throws {
        let listed = decodeRequests("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\nab")
        #expect(listed.error?.status == 400)
        let repeated = decodeRequests("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab")
        #expect(repeated.error?.reason == "repeated Content-Length header field")
    }

    @Test func headerValuesKeepInnerWhitespaceAndObsText() throws {
        var input = bytes("GET / HTTP/1.1\r\nHost: h\r\nX-A: \t a  b \t\r\nX-Empty:\r\nX-Bin: caf")
        input += [0xC3, 0xA9]
        input += bytes("\r\n\r\n")
        let request = try #require(decodeRequests([input]).requests.first)
        #expect(request.head.headers["x-a"] == "a  b")
        #expect(request.head.headers["x-empty"] == "")
        #expect(request.head.headers["x-bin"] == "café")
    }

    @Test("firstValue(of:is:) compares the first field's trimmed value byte for byte; the name ignores case")
    func firstValueIs() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes(
            "POST /p HTTP/1.1\r\nHost: h\r\ncontent-TYPE: \t application/json  \r\nContent-Type: text/plain\r\n"
                + "X-Upper: Application/JSON\r\nX-Long: application/json; charset=utf-8\r\nX-Empty:\r\n"
                + "Content-Length: 0\r\n\r\n"))
        let headers = try #require(try decoder.next()).head.headers
        #expect(headers.firstValue(of: "Content-Type", is: "application/json"))
        #expect(!headers.firstValue(of: "content-type", is: "text/plain"))  // only the first field counts
        #expect(!headers.firstValue(of: "x-upper", is: "application/json"))  // values are compared as they are
        #expect(!headers.firstValue(of: "x-long", is: "application/json"))
        #expect(!headers.firstValue(of: "x-long", is: "application/json; charset=utf-8; x"))
        #expect(headers.firstValue(of: "x-empty", is: ""))
        #expect(!headers.firstValue(of: "x-missing", is: ""))
        let built: HTTPHeaders = ["Content-Type": "application/json"]
        #expect(built.firstValue(of: "content-type", is: "application/json"))
        #expect(!built.firstValue(of: "content-type", is: "application/jsoN"))
    }

    @Test("On-demand lookups take a line only when its whole name matches: prefixes, colons in values, tabs")
    func onDemandLookupMatchesWholeNames() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes(
            "POST /p HTTP/1.1\r\nHost: h\r\nX-Ab: 1:2\r\nX-A:b\r\nX-Abc: long\r\nX: a:b\r\n"
                + "X-Tab: a\tb \t\r\nX-Last:\tz\r\n\r\n"))
        let headers = try #require(try decoder.next()).head.headers
        #expect(headers["x-a"] == "b")  // after "X-Ab", whose name starts with it
        #expect(headers["X-AB"] == "1:2")
        #expect(headers["x-abc"] == "long")
        #expect(headers["x"] == "a:b")
        #expect(headers["x-tab"] == "a\tb")
        #expect(headers["x-last"] == "z")
        #expect(headers["x-ab:"] == nil)
        #expect(headers["x: a"] == nil)  // a name with a colon never matches, though "X: a" is followed by ":"
        #expect(headers["x-a:b"] == nil)
        #expect(headers["host: h"] == nil)
        #expect(headers[""] == nil)
        #expect(headers["x-missing"] == nil)
        #expect(headers.contains(name: "X-LAST"))
        #expect(!headers.contains(name: "x-las"))
        #expect(headers.values(for: "x-ab") == ["1:2"])
    }

    @Test func expectContinueIsOfferedOnceBeforeTheBody() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n"))
        do { let value = try decoder.next(); #expect(value == nil) }
        do { let offered = decoder.takeContinueRequest(); #expect(offered) }
        do { let offered = decoder.takeContinueRequest(); #expect(!offered) }
        decoder.append(bytes("ab"))
        do { let value = try decoder.next(); #expect(value == nil) }
        do { let offered = decoder.takeContinueRequest(); #expect(!offered) }
        decoder.append(bytes("cd"))
        let request = try #require(try decoder.next())
        #expect(request.head.expectsContinue)
        #expect(request.body == bytes("abcd"))
        do { let offered = decoder.takeContinueRequest(); #expect(!offered) }
    }

    @Test func expectContinueNotOfferedWhenBodyAlreadyArrived() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"))
        do { let value = try decoder.next()?.body; #expect(value == bytes("x")) }
        do { let offered = decoder.takeContinueRequest(); #expect(!offered) }
    }

    @Test func expectContinueIgnoredForHTTP10AndBodylessRequests() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes("POST /p HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"))
        do { let value = try decoder.next(); #expect(value == nil) }
        do { let offered = decoder.takeContinueRequest(); #expect(!offered) }
        let get = decodeRequests("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n")
        #expect(get.requests.first?.head.expectsContinue == false)
    }

    @Test func expectContinueOversizedBodyFailsBeforeContinue() throws {
        var decoder = HTTPRequestDecoder(limits: HTTPLimits(maxBodyBytes: 10))
        decoder.append(bytes("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"))
        #expect(throws: HTTPParseError.self) { try decoder.next() }
        do { let offered = decoder.takeContinueRequest(); #expect(!offered) }
    }

    @Test func decoderStaysFailed() throws {
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n"))
        let first = #expect(throws: HTTPParseError.self) { try decoder.next() }
        #expect(decoder.isFailed)
        decoder.append(bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        let second = #expect(throws: HTTPParseError.self) { try decoder.next() }
        #expect(first == second)
        #expect(first?.status == 400)
        #expect(!decoder.hasPartialRequest)
    }

    @Test func partialRequestBookkeeping() throws {
        var decoder = HTTPRequestDecoder()
        #expect(!decoder.hasPartialRequest)
        decoder.append(bytes("GET / HTTP/1.1\r\nHo"))
        do { let value = try decoder.next(); #expect(value == nil) }
        #expect(decoder.hasPartialRequest)
        #expect(decoder.bufferedByteCount == 18)
        decoder.append(bytes("st: h\r\n\r\nPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na"))
        do { let value = try decoder.next()?.head.method; #expect(value == "GET") }
        do { let value = try decoder.next(); #expect(value == nil) }
        #expect(decoder.hasPartialRequest)
        decoder.append(bytes("bc"))
        do { let value = try decoder.next()?.body; #expect(value == bytes("abc")) }
        #expect(!decoder.hasPartialRequest)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func largeHeadFedByteByByteWithinLimits() throws {
        let filler = String(repeating: "a", count: 15_000)
        let input = bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Big: \(filler)\r\n\r\n")
        let run = decodeRequests(byteAtATime(input))
        #expect(run.error == nil)
        #expect(run.requests.first?.head.headers["x-big"]?.utf8.count == 15_000)
    }

    @Test func largeBodyAcrossManyAppends() throws {
        var chunks: [[UInt8]] = [bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")]
        var expected: [UInt8] = []
        for i in 0..<100 {
            let piece = Array(repeating: UInt8(i), count: 1000)
            chunks.append(piece)
            expected += piece
        }
        chunks[chunks.count - 1] += bytes("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        let run = decodeRequests(chunks)
        #expect(run.requests.count == 2)
        #expect(run.requests.first?.body == expected)
        #expect(run.requests.last?.head.target == "/next")
    }
}

/// Every error path of the request decoder, with its status and reason.
@Suite struct RequestDecoderErrorTests {
    func expectError(
        _ text: String, _ status: Int, _ reasonContains: String, limits: HTTPLimits = .default,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let run = decodeRequests(text, limits: limits)
        #expect(run.requests.isEmpty, sourceLocation: sourceLocation)
        #expect(run.error?.status == status, "\(String(describing: run.error))", sourceLocation: sourceLocation)
        #expect(
            run.error?.reason.contains(reasonContains) == true, "\(String(describing: run.error))",
            sourceLocation: sourceLocation)
        // Byte-at-a-time input fails with the same status (the reason may name the first bad byte seen, e.g. a
        // lone CR found by the scanner before the field parser would have seen the whole line).
        let slow = decodeRequests(byteAtATime(bytes(text)), limits: limits)
        #expect(slow.error?.status == run.error?.status, sourceLocation: sourceLocation)
    }

    @Test func unsupportedVersions() {
        expectError("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "unsupported HTTP version HTTP/2.0")
        expectError("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505, "HTTP/1.2")
        expectError("GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9")
    }

    @Test func malformedRequestLines() {
        expectError("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400, "invalid HTTP version \"HTTP/1.1x\"")
        expectError("GET / http/1.1\r\nHost: h\r\n\r\n", 400, "invalid HTTP version")
        expectError("GET /\r\nHost: h\r\n\r\n", 400, "invalid request line")
        expectError("GET\r\n\r\n", 400, "invalid request line")
        expectError(" / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request line")
        expectError("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in method")
        expectError("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request line")
        expectError("GET /a\u{7}b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in request-target")
        expectError("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "invalid HTTP version")
        expectError("GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n", 400, "invalid HTTP version")
    }

    @Test func malformedHeaderLines() {
        expectError("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "whitespace between header field name and colon")
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n", 400, "obsolete line folding")
        expectError("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400, "whitespace before the first header field")
        expectError("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "header line without a colon")
        expectError("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400, "empty header field name")
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX(A): v\r\n\r\n", 400, "invalid character in header field name")
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{1}b\r\n\r\n", 400, "invalid character in value")
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400, "CR not followed by LF")
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\u{7F}\r\n\r\n", 400, "invalid character in value")
    }

    @Test func hostRules() {
        expectError("GET / HTTP/1.1\r\n\r\n", 400, "missing Host header")
        expectError("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "more than one Host header")
        expectError("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "more than one Host header")
    }

    @Test func invalidContentLength() {
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 400, "invalid Content-Length value \"abc\"")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "invalid Content-Length value \"-1\"")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400, "invalid Content-Length value")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400, "invalid Content-Length value")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400, "invalid Content-Length value \"\"")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,\r\n\r\n", 400, "not the list")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400, "invalid Content-Length value")
    }

    @Test func conflictingContentLength() {
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", 400, "not the list \"5, 6\"")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n", 400, "conflicting Content-Length")
    }

    @Test func transferEncodingErrors() {
        expectError(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
            "both Transfer-Encoding and Content-Length")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "final coding is not chunked")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "\"gzip\"")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400, "final coding is not chunked")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "more than once")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n", 400, "empty Transfer-Encoding")
        expectError("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"x\"\r\n\r\n", 400, "invalid Transfer-Encoding value")
        expectError("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "Transfer-Encoding in an HTTP/1.0 request")
    }

    @Test func malformedChunks() {
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectError(head + "xyz\r\n", 400, "invalid chunk size line \"xyz\"")
        expectError(head + "\r\n", 400, "invalid chunk size line")
        expectError(head + "5 x\r\n", 400, "invalid chunk size line")
        expectError(head + "5;a=\u{1}\r\n", 400, "chunk extension without a value")
        expectError(head + "3\r\nabcX", 400, "missing CRLF after chunk data")
        expectError(head + "3\r\nabc\rX", 400, "missing CRLF after chunk data")
        expectError(head + "0\r\nBad Trailer: x\r\n\r\n", 400, "whitespace between header field name and colon")
        let longLine = HTTPLimits(maxHeaderBytes: 64)
        expectError(head + "1;" + String(repeating: "e", count: 100), 400, "chunk size line too long", limits: longLine)
    }

    @Test func headerSizeAndCountLimits() {
        let limits = HTTPLimits(maxHeaderBytes: 64, maxHeaderCount: 3)
        // Incomplete head already over the limit.
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + String(repeating: "a", count: 80), 431, "larger than 64 bytes", limits: limits)
        // Complete head over the limit.
        expectError("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + String(repeating: "a", count: 40) + "\r\n\r\n", 431, "larger than 64", limits: limits)
        expectError("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, "too many header fields (more than 3)", limits: limits)
        let exact = decodeRequests("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits)
        #expect(exact.error == nil && exact.requests.count == 1)
    }

    @Test func trailerLimits() {
        let limits = HTTPLimits(maxHeaderBytes: 80, maxHeaderCount: 2)
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectError(head + "0\r\nT: " + String(repeating: "t", count: 100), 431, "trailer section larger than 80", limits: limits)
        expectError(head + "0\r\nT: " + String(repeating: "t", count: 80) + "\r\n\r\n", 431, "trailer section", limits: limits)
        expectError(head + "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431, "too many header fields", limits: limits)
    }

    @Test func bodyLimits() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413, "Content-Length 11 exceeds the limit of 10 bytes", limits: limits)
        expectError("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "overflows", limits: limits)
        let head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        expectError(head + "6\r\nabcdef\r\n5\r\n", 413, "chunked body larger than the limit of 10 bytes", limits: limits)
        expectError(head + "FFFFFFFFFFFFFFFFFFFFFFFF\r\n", 400, "overflows", limits: limits)
        let exact = decodeRequests(head + "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n", limits: limits)
        #expect(exact.requests.first?.body == bytes("abcdefghij"))
        let exactLength = decodeRequests("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits)
        #expect(exactLength.requests.first?.body?.count == 10)
    }

    @Test func errorDescription() {
        let error = HTTPParseError(status: 400, reason: "bad")
        #expect(error.description == "400 bad")
    }
}

@Suite struct RequestDecoderBufferTests {
    @Test func compactionKeepsAPartialPipelinedRequestIntact() throws {
        // The first append holds a large request and the start of the next one; the next append triggers
        // compaction of the consumed prefix.
        let body = [UInt8](repeating: UInt8(ascii: "b"), count: 6000)
        var decoder = HTTPRequestDecoder()
        decoder.append(bytes("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 6000\r\n\r\n") + body + bytes("GET /sec"))
        let first = try #require(try decoder.next())
        #expect(first.body == body)
        do { let value = try decoder.next(); #expect(value == nil) }
        decoder.append(bytes("ond HTTP/1.1\r\nHost: h\r\n\r\n"))
        do { let value = try decoder.next()?.head.target; #expect(value == "/second") }
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func decodedHeadersCanBeEditedAndIterated() throws {
        let run = decodeRequests("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nAccept: */*\r\n\r\n")
        var headers = try #require(run.requests.first?.head.headers)
        #expect(headers.values(for: "X-A") == ["1", "2"])
        #expect(headers.fields.map(\.name) == ["Host", "X-A", "x-a", "Accept"])
        headers.replaceOrAdd(name: "X-A", value: "3")
        headers.add(name: "New", value: "v")
        headers.remove(name: "accept")
        var seen: [String] = []
        for (name, value) in headers { seen.append("\(name)=\(value)") }
        #expect(seen == ["Host=h", "X-A=3", "New=v"])
        #expect(headers == ["Host": "h", "X-A": "3", "New": "v"])
    }
}
