import HTTP1
import Testing

/// Valid request streams used by the split tests.
let validRequestInputs: [String] = [
    "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
    "POST /predict HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":[1,2,3]}",
    "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "4;ext=1\r\nWiki\r\n5 ;a;b=\"c\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0;end\r\nExpires: never\r\nX-T: 1\r\n\r\n",
    "\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        + "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        + "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        + "GET /d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        + "POST /e HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
        + "GET /f HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
]

let validResponseInputs: [(String, [String])] = [
    ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", ["GET"]),
    ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n", ["POST"]),
    (
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
            + "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n"
            + "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy",
        ["POST", "HEAD", "GET", "GET", "GET"]
    ),
]

@Suite struct SplitTests {
    @Test(arguments: validRequestInputs.indices)
    func requestEverySplitPointMatchesSingleAppend(index: Int) throws {
        let input = bytes(validRequestInputs[index])
        let reference = decodeRequests([input])
        #expect(reference.error == nil)
        #expect(!reference.requests.isEmpty)
        for chunks in twoWaySplits(input) {
            #expect(decodeRequests(chunks) == reference)
        }
        #expect(decodeRequests(byteAtATime(input)) == reference)
    }

    @Test func requestReferenceResults() throws {
        let chunked = decodeRequests(validRequestInputs[2])
        #expect(chunked.requests.first?.body == bytes("Wikipedia in\r\n\r\nchunks."))
        let pipelined = decodeRequests(validRequestInputs[3])
        #expect(pipelined.requests.map(\.head.target) == ["/a", "/b", "/c", "/d", "/e", "/f"])
        #expect(pipelined.requests.map(\.body) == [nil, bytes("hello"), bytes("abc"), nil, bytes("ok"), nil])
        #expect(pipelined.requests.map(\.head.keepAlive) == [true, true, true, true, true, false])
    }

    @Test(arguments: validResponseInputs.indices)
    func responseEverySplitPointMatchesSingleAppend(index: Int) throws {
        let (text, methods) = validResponseInputs[index]
        let input = bytes(text)
        let reference = decodeResponses([input], methods: methods)
        #expect(reference.error == nil)
        #expect(reference.responses.count == methods.count)
        for chunks in twoWaySplits(input) {
            #expect(decodeResponses(chunks, methods: methods) == reference)
        }
        #expect(decodeResponses(byteAtATime(input), methods: methods) == reference)
    }

    @Test func closeDelimitedResponseEverySplitPoint() throws {
        let input = bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        let reference = decodeResponses([input], methods: ["GET"], eof: true)
        #expect(reference.responses.first?.body == bytes("until the end"))
        for chunks in twoWaySplits(input) {
            #expect(decodeResponses(chunks, methods: ["GET"], eof: true) == reference)
        }
        #expect(decodeResponses(byteAtATime(input), methods: ["GET"], eof: true) == reference)
    }
}

@Suite struct FuzzTests {
    /// Feeds `input` in random-sized pieces; every outcome must be "need more" or an error with a 4xx/5xx status.
    func feedRequest(_ input: [UInt8], _ rng: inout SplitMix64) {
        var decoder = HTTPRequestDecoder(limits: HTTPLimits(maxHeaderBytes: 512, maxBodyBytes: 4096, maxHeaderCount: 16))
        var offset = 0
        var steps = 0
        while offset < input.count && steps < 10_000 {
            steps += 1
            let n = Int.random(in: 1...max(1, min(64, input.count - offset)), using: &rng)
            decoder.append(Array(input[offset..<(offset + n)]))
            offset += n
            do {
                var produced = 0
                while let request = try decoder.next(), produced < 1000 {
                    produced += 1
                    #expect(request.head.version.major == 1)
                }
            } catch {
                #expect((400..<600).contains(error.status))
                #expect(!error.reason.isEmpty)
                #expect(decoder.isFailed)
                return
            }
        }
    }

    @Test func randomBytesNeverCrashRequestDecoder() {
        var rng = SplitMix64(seed: 0x5EED_1234)
        for _ in 0..<1500 {
            let length = Int.random(in: 0...300, using: &rng)
            let input = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            feedRequest(input, &rng)
        }
    }

    @Test func randomTokensNeverCrashRequestDecoder() {
        // Inputs assembled from protocol fragments reach far deeper states than uniform random bytes.
        let fragments = [
            "GET", "POST", " ", "/", "HTTP/1.1", "HTTP/1.0", "\r\n", "\n", "\r", "Host: h", "Content-Length: ",
            "Transfer-Encoding: chunked", "0", "5", "ff", ";x=1", ":", "abc", "\r\n\r\n", "Expect: 100-continue",
            "Connection: close", "\t", "\u{0}", "99999999999999999999",
        ]
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            var input: [UInt8] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                input += bytes(fragments[Int.random(in: 0..<fragments.count, using: &rng)])
            }
            feedRequest(input, &rng)
        }
    }

    @Test func mutatedValidRequestsNeverCrash() {
        var rng = SplitMix64(seed: 7)
        let corpus = validRequestInputs.map(bytes)
        for _ in 0..<1500 {
            var input = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) where !input.isEmpty {
                let at = Int.random(in: 0..<input.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: input[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: input.remove(at: at)
                default: input.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                }
            }
            feedRequest(input, &rng)
        }
    }

    @Test func randomBytesNeverCrashResponseDecoder() {
        var rng = SplitMix64(seed: 99)
        let corpus = validResponseInputs.map { bytes($0.0) }
        for round in 0..<2000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                input = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !input.isEmpty {
                    input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            var decoder = HTTPResponseDecoder(limits: HTTPLimits(maxHeaderBytes: 512, maxBodyBytes: 4096, maxHeaderCount: 16))
            decoder.append(input)
            do {
                var produced = 0
                while try decoder.next(requestMethod: round % 3 == 0 ? "HEAD" : "GET") != nil && produced < 1000 {
                    produced += 1
                }
                _ = try decoder.finishOnEOF()
            } catch {
                #expect((400..<600).contains(error.status))
            }
        }
    }
}
