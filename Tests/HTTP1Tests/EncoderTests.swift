import HTTP1
import Testing

@Suite struct EncoderTests {
    func response(
        _ status: Int, _ headers: [(String, String)], _ body: String, keepAlive: Bool = true,
        requestVersion: HTTPVersion = .http1_1
    ) -> (date: String?, rest: String) {
        var out: [UInt8] = []
        HTTPEncoder.writeResponse(
            status: status, headers: headers, body: bytes(body), keepAlive: keepAlive, requestVersion: requestVersion,
            into: &out)
        return splitOffDate(out)
    }

    func expectIMFFixdate(_ date: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let date else {
            Issue.record("no Date header", sourceLocation: sourceLocation)
            return
        }
        let b = bytes(date)
        #expect(b.count == 29, sourceLocation: sourceLocation)
        #expect(date.hasSuffix(" GMT"), sourceLocation: sourceLocation)
        #expect(["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].contains(String(date.prefix(3))), sourceLocation: sourceLocation)
        #expect(b.count == 29 && b[3] == UInt8(ascii: ",") && b[19] == UInt8(ascii: ":"), sourceLocation: sourceLocation)
    }

    @Test func okResponseByteForByte() {
        let (date, rest) = response(200, [("Content-Type", "application/json"), ("X-Id", "7")], "{\"a\":1}")
        #expect(rest == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Id: 7\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
        expectIMFFixdate(date)
    }

    @Test func closeAndHTTP10KeepAlive() {
        #expect(response(404, [], "no", keepAlive: false).rest
            == "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno")
        #expect(response(200, [], "", requestVersion: .http1_0).rest
            == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n")
        #expect(response(200, [], "", keepAlive: false, requestVersion: .http1_0).rest
            == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test func framingHeadersFromCallerAreReplaced() {
        let (date, rest) = response(
            503,
            [("content-length", "99"), ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"), ("Retry-After", "1")],
            "busy", keepAlive: false)
        #expect(rest == "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy")
        expectIMFFixdate(date)
    }

    @Test func callerDateIsKept() {
        var out: [UInt8] = []
        HTTPEncoder.writeResponse(
            status: 200, headers: [("Date", "Sun, 06 Nov 1994 08:49:37 GMT")], body: [UInt8](), keepAlive: true, into: &out)
        #expect(String(decoding: out, as: UTF8.self)
            == "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func noContentLengthOrBodyFor204And304And1xx() {
        #expect(response(204, [], "ignored").rest == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(response(304, [("ETag", "\"x\"")], "ignored").rest == "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
        #expect(response(103, [], "").rest == "HTTP/1.1 103 Unknown\r\n\r\n")
    }

    @Test func headForHeadRequests() {
        var out: [UInt8] = []
        HTTPEncoder.writeResponseHead(status: 200, headers: [("A", "b")], contentLength: 42, keepAlive: true, into: &out)
        #expect(splitOffDate(out).rest == "HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 42\r\n\r\n")
        var noLength: [UInt8] = []
        HTTPEncoder.writeResponseHead(status: 200, headers: [], contentLength: nil, keepAlive: false, into: &noLength)
        #expect(splitOffDate(noLength).rest == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    }

    @Test func appendsToExistingBytes() {
        var out = bytes("prefix")
        HTTPEncoder.writeResponse(status: 201, headers: [], body: bytes("x"), keepAlive: true, into: &out)
        #expect(splitOffDate(out).rest == "prefixHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx")
    }

    @Test func injectedLineBreaksAreNeutralised() {
        let (_, rest) = response(200, [("X-Evil", "a\r\nSet-Cookie: b"), ("Bad\nName", "v\u{0}")], "")
        #expect(rest == "HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: b\r\nBad Name: v \r\nContent-Length: 0\r\n\r\n")
    }

    @Test func unusualStatusCodes() {
        #expect(response(599, [], "").rest == "HTTP/1.1 599 Unknown\r\nContent-Length: 0\r\n\r\n")
        #expect(response(42, [], "").rest.hasPrefix("HTTP/1.1 500 Unknown\r\n"))
    }

    @Test func continueResponseBytes() {
        #expect(HTTPEncoder.continueResponse == bytes("HTTP/1.1 100 Continue\r\n\r\n"))
    }

    @Test func requestByteForByte() {
        var out: [UInt8] = []
        HTTPEncoder.writeRequest(
            method: "POST", target: "/predict", host: "127.0.0.1:8080",
            headers: [("Content-Type", "application/json"), ("Host", "ignored"), ("Content-Length", "1")],
            body: bytes("{\"x\":5}"), into: &out)
        #expect(String(decoding: out, as: UTF8.self)
            == "POST /predict HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"x\":5}")
        var get: [UInt8] = []
        HTTPEncoder.writeRequest(method: "GET", target: "/", host: "h", headers: [("Connection", "close")], body: [UInt8](), into: &get)
        #expect(String(decoding: get, as: UTF8.self) == "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        var emptyPost: [UInt8] = []
        HTTPEncoder.writeRequest(method: "POST", target: "/", host: "h", headers: [], body: [UInt8](), into: &emptyPost)
        #expect(String(decoding: emptyPost, as: UTF8.self) == "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func encodedMessagesRoundTripThroughDecoders() throws {
        var wire: [UInt8] = []
        HTTPEncoder.writeRequest(method: "POST", target: "/a", host: "h", headers: [("X", "1")], body: bytes("abc"), into: &wire)
        HTTPEncoder.writeRequest(method: "GET", target: "/b", host: "h", headers: [], body: [UInt8](), into: &wire)
        let requests = decodeRequests([wire])
        #expect(requests.error == nil)
        #expect(requests.requests.map(\.body) == [bytes("abc"), nil])
        #expect(requests.requests.first?.head.headers["x"] == "1")

        var responses: [UInt8] = []
        HTTPEncoder.writeResponse(status: 200, headers: [("A", "b")], body: bytes("hello"), keepAlive: true, into: &responses)
        HTTPEncoder.writeResponse(status: 500, headers: [], body: bytes("oops"), keepAlive: false, into: &responses)
        let decoded = decodeResponses([responses], methods: ["POST", "GET"])
        #expect(decoded.error == nil)
        #expect(decoded.responses.map(\.head.status) == [200, 500])
        #expect(decoded.responses.map(\.body) == [bytes("hello"), bytes("oops")])
        #expect(decoded.responses.map(\.head.keepAlive) == [true, false])
        expectIMFFixdate(decoded.responses.first?.head.headers["date"])
    }

    @Test func reasonPhrases() {
        #expect(HTTPStatus.reasonPhrase(200) == "OK")
        #expect(HTTPStatus.reasonPhrase(400) == "Bad Request")
        #expect(HTTPStatus.reasonPhrase(413) == "Content Too Large")
        #expect(HTTPStatus.reasonPhrase(422) == "Unprocessable Content")
        #expect(HTTPStatus.reasonPhrase(429) == "Too Many Requests")
        #expect(HTTPStatus.reasonPhrase(431) == "Request Header Fields Too Large")
        #expect(HTTPStatus.reasonPhrase(503) == "Service Unavailable")
        #expect(HTTPStatus.reasonPhrase(505) == "HTTP Version Not Supported")
        #expect(HTTPStatus.reasonPhrase(799) == "Unknown")
    }
}

@Suite struct HTTPDateTests {
    @Test func knownDates() {
        #expect(HTTPDate.imfFixdate(secondsSince1970: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.imfFixdate(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.imfFixdate(secondsSince1970: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
        #expect(HTTPDate.imfFixdate(secondsSince1970: 1_700_000_000) == "Tue, 14 Nov 2023 22:13:20 GMT")
        #expect(HTTPDate.imfFixdate(secondsSince1970: 253_402_300_799) == "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(HTTPDate.imfFixdate(secondsSince1970: -86_400) == "Wed, 31 Dec 1969 00:00:00 GMT")
    }

    @Test func everyDayOfTwoYearsHasTheRightShape() {
        // Cross-check consecutive days: the weekday advances by one and the day-of-month restarts at 01.
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        var previousWeekday = 6  // Saturday 2023-12-30, so the first day checked, 2023-12-31, is a Sunday
        var dayOfMonth = 30
        for day in 0..<731 {
            let t = 1_703_980_800 + day * 86_400 + 3_661  // from 2023-12-31T01:01:01Z
            let text = HTTPDate.imfFixdate(secondsSince1970: t)
            let weekday = names.firstIndex(of: String(text.prefix(3)))
            #expect(weekday == (previousWeekday + 1) % 7)
            previousWeekday = weekday ?? 0
            let dom = Int(String(Array(text)[5..<7])) ?? -1
            #expect(dom == dayOfMonth + 1 || dom == 1)
            dayOfMonth = dom
            #expect(text.hasSuffix(" 01:01:01 GMT"))
        }
    }

    @Test func nowIsAnIMFFixdate() {
        let now = HTTPDate.now()
        #expect(now.utf8.count == 29)
        #expect(now.hasSuffix(" GMT"))
    }
}

@Suite struct HeadersTests {
    @Test func caseInsensitiveLookupKeepsOrderAndDuplicates() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "Set-Cookie": "a=1"]
        headers.add(name: "set-cookie", value: "b=2")
        #expect(headers.count == 3)
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers["missing"] == nil)
        #expect(headers.values(for: "Set-Cookie") == ["a=1", "b=2"])
        #expect(headers.contains(name: "content-type"))
        #expect(headers.map(\.name) == ["Content-Type", "Set-Cookie", "set-cookie"])
        headers.remove(name: "SET-COOKIE")
        #expect(headers.count == 1)
        #expect(!headers.isEmpty)
    }

    @Test func replaceOrAdd() {
        var headers = HTTPHeaders([("A", "1"), ("B", "2"), ("a", "3")])
        headers.replaceOrAdd(name: "A", value: "9")
        #expect(headers == HTTPHeaders([("A", "9"), ("B", "2")]))
        headers.replaceOrAdd(name: "C", value: "3")
        #expect(headers == HTTPHeaders([("A", "9"), ("B", "2"), ("C", "3")]))
    }

    @Test func tokenListContains() {
        let headers: HTTPHeaders = ["Connection": "keep-alive ,  Upgrade,,CLOSE"]
        #expect(headers.contains(name: "connection", value: "close"))
        #expect(headers.contains(name: "Connection", value: "upgrade"))
        #expect(headers.contains(name: "connection", value: "Keep-Alive"))
        #expect(!headers.contains(name: "connection", value: "clos"))
        #expect(!headers.contains(name: "connection", value: "keep"))
        #expect(!headers.contains(name: "other", value: "close"))
    }

    @Test func equalityAndDescription() {
        let a = HTTPHeaders([("A", "1")])
        #expect(a == ["A": "1"])
        #expect(a != ["a": "1"])
        #expect(a != ["A": "2"])
        #expect(a != HTTPHeaders())
        #expect(HTTPHeaders([("A", "1"), ("B", "2")]).description == "A: 1\nB: 2")
    }
}
