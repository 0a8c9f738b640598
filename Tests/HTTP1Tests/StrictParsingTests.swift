import Foundation
import HTTP1
import Testing

/// One case of the shared corpus `Tests/fixtures/http-corpus/requests.json` (also read by
/// `Tests/differential/parser_crosscheck.py`): the request bytes in hex and the status our decoder must answer
/// (0 = accepted as one or more complete requests).
struct CorpusCase: Decodable {
    var name: String
    var request: String
    var expect: Int

    var bytes: [UInt8] {
        var out: [UInt8] = []
        var chars = Array(request.utf8)
        if chars.count % 2 == 1 { chars.append(UInt8(ascii: "0")) }
        var i = 0
        while i < chars.count {
            out.append(UInt8(Self.nibble(chars[i]) << 4 | Self.nibble(chars[i + 1])))
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8 {
        c <= UInt8(ascii: "9") ? c - UInt8(ascii: "0") : (c | 0x20) - UInt8(ascii: "a") + 10
    }
}

func loadRequestCorpus() throws -> [CorpusCase] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/http-corpus/requests.json")
    return try JSONDecoder().decode([CorpusCase].self, from: Data(contentsOf: url))
}

/// The strict rules (RFC 9112 §2.2, §6.1, §6.3, §7.1.1; llhttp strict mode), one test per rule, each through
/// whole-input and split-at-every-byte feeding.
@Suite struct StrictParsingTests {
    /// Every two-way split and byte-at-a-time input must give the same status as the whole input, and the
    /// reason must contain `reason`.
    func expectStrict(
        _ text: String, _ status: Int, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let input = Array(text.utf8)
        let whole = decodeRequests([input])
        #expect(whole.error?.status == status, "\(String(describing: whole.error))", sourceLocation: sourceLocation)
        #expect(
            whole.error?.reason.contains(reason) == true, "\(String(describing: whole.error))",
            sourceLocation: sourceLocation)
        for chunks in twoWaySplits(input) + [byteAtATime(input)] {
            let run = decodeRequests(chunks)
            #expect(run.error?.status == status, "split \(chunks.map(\.count))", sourceLocation: sourceLocation)
        }
    }

    static let post = "POST / HTTP/1.1\r\nHost: h\r\n"
    static let chunked = post + "Transfer-Encoding: chunked\r\n\r\n"

    @Test func bareLineFeedIsRefusedEverywhereInTheHead() {
        expectStrict("GET / HTTP/1.1\nHost: h\r\n\r\n", 400, "bare LF")
        expectStrict("GET / HTTP/1.1\r\nHost: h\n\r\n", 400, "bare LF")
        expectStrict("GET / HTTP/1.1\r\nHost: h\r\n\n", 400, "bare LF")
        expectStrict("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare LF")
    }

    @Test func bareLineFeedIsRefusedInChunkedFraming() {
        expectStrict(Self.chunked + "5\nhello\r\n0\r\n\r\n", 400, "not ended by CRLF")
        expectStrict(Self.chunked + "5\r\nhello\n0\r\n\r\n", 400, "bare LF (without CR) after chunk data")
        expectStrict(Self.chunked + "0\r\nT: 1\n\r\n", 400, "bare LF")
        expectStrict(Self.chunked + "0\r\n\n", 400, "bare LF")
    }

    @Test func loneCarriageReturnIsRefusedAtOnce() {
        // No empty line ever arrives: the error must not wait for more bytes (or the header timeout).
        expectStrict("GET / HTTP/1.1\rHost: h\r\r", 400, "CR not followed by LF")
        expectStrict("GET / HTTP/1.1\r\nHost: h\rX: y", 400, "CR not followed by LF")
        expectStrict(Self.chunked + "5\rX", 400, "not ended by CRLF")
    }

    @Test func contentLengthWithTransferEncodingIsRefused() {
        expectStrict(Self.post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both Transfer-Encoding and Content-Length")
        expectStrict(Self.post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "both Transfer-Encoding and Content-Length")
    }

    @Test func contentLengthMustBeOneNumber() {
        expectStrict(Self.post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "conflicting Content-Length values 5 and \"6\"")
        expectStrict(Self.post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, "repeated Content-Length header field")
        expectStrict(Self.post + "Content-Length: 5, 5\r\n\r\n", 400, "must be a single number, not the list \"5, 5\"")
        expectStrict(Self.post + "Content-Length: 5a\r\n\r\n", 400, "invalid Content-Length value \"5a\"")
        expectStrict(Self.post + "Content-Length: 9223372036854775808\r\n\r\n", 400, "overflows")
    }

    @Test func transferEncodingMustEndWithChunked() {
        expectStrict(Self.post + "Transfer-Encoding: gzip\r\n\r\n", 400, "final coding is not chunked")
        expectStrict(Self.post + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "final coding is not chunked")
        expectStrict(Self.post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "unsupported transfer coding \"gzip\"")
        expectStrict(Self.post + "Transfer-Encoding: chunked;x=1\r\n\r\n", 400, "parameters on the chunked transfer coding")
        expectStrict(Self.post + "Transfer-Encoding: chunked\u{B}\r\n\r\n", 400, "invalid character in value")
    }

    @Test func chunkExtensionsFollowTheGrammar() {
        expectStrict(Self.chunked + "5;\r\n", 400, "chunk extension without a name")
        expectStrict(Self.chunked + "5;a=\"b\r\n", 400, "unterminated quoted string")
        expectStrict(Self.chunked + "5;a=\r\n", 400, "without a value after \"=\"")
        expectStrict(Self.chunked + "5 \r\n", 400, "whitespace before CRLF")
        expectStrict(Self.chunked + "5;a=b \r\n", 400, "whitespace before CRLF")
        expectStrict(Self.chunked + "5;a=\"\u{1}\"\r\n", 400, "invalid character in quoted chunk extension value")
        expectStrict(Self.chunked + "5 x\r\n", 400, "expected \";\"")
        // BWS before ";" and around "=" is in the RFC 9112 §7.1.1 grammar, and so are quoted-pairs.
        let ok = decodeRequests(Self.chunked + "5 ;a = \"b\\\"c\" ;d\r\nhello\r\n0\r\n\r\n")
        #expect(ok.error == nil)
        #expect(ok.requests.first?.body == Array("hello".utf8))
    }

    @Test func chunkSizesAreHexAndFit() {
        expectStrict(Self.chunked + "5g\r\n", 400, "non-hex character in chunk size")
        expectStrict(Self.chunked + "0x5\r\n", 400, "non-hex character in chunk size")
        expectStrict(Self.chunked + "-5\r\n", 400, "no hex digits")
        expectStrict(Self.chunked + "10000000000000000\r\n", 400, "overflows")
        expectStrict(Self.chunked + "7FFFFFFFFFFFFFFF\r\n", 413, "chunked body larger than the limit")
    }

    @Test func requestLineIsStrict() {
        expectStrict("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in method")
        expectStrict("G\u{0}T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in method")
        expectStrict("GET /a\u{1}b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in request-target")
        expectStrict("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in request-target")
        expectStrict("GET / RTSP/1.0\r\nHost: h\r\n\r\n", 400, "invalid HTTP version \"RTSP/1.0\"")
        expectStrict("SOURCE / ICE/1.0\r\nHost: h\r\n\r\n", 400, "invalid HTTP version \"ICE/1.0\"")
        expectStrict("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "unsupported HTTP version HTTP/2.0")
        expectStrict("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505, "unsupported HTTP version HTTP/1.2")
    }

    @Test func headerFieldsAreStrict() {
        expectStrict("GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400, "invalid character in header field name")
        expectStrict("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", 400, "obsolete line folding")
        expectStrict("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n", 400, "obsolete line folding")
        expectStrict("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "whitespace between header field name and colon")
        expectStrict("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", 400, "invalid character in value")
    }

    @Test func onlyTheContinueExpectationIsSupported() {
        expectStrict(Self.post + "Expect: 200-ok\r\nContent-Length: 0\r\n\r\n", 417, "unsupported expectation \"200-ok\"")
        expectStrict(Self.post + "Expect: 100-continue, x\r\nContent-Length: 0\r\n\r\n", 417, "unsupported expectation \"x\"")
        expectStrict("GET / HTTP/1.0\r\nExpect: x\r\n\r\n", 417, "unsupported expectation")
        let ok = decodeRequests(Self.post + "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx")
        #expect(ok.error == nil && ok.requests.count == 1)
    }

    /// The shared corpus: our verdict must be the one recorded in the fixture (the cross-check script compares
    /// that same fixture with h11 and llhttp), for whole and byte-at-a-time input.
    @Test func corpusVerdicts() throws {
        let corpus = try loadRequestCorpus()
        #expect(corpus.count >= 50)
        for item in corpus {
            let input = item.bytes
            for run in [decodeRequests([input]), decodeRequests(byteAtATime(input))] {
                if item.expect == 0 {
                    #expect(run.error == nil && !run.requests.isEmpty, "\(item.name): \(String(describing: run.error))")
                } else {
                    #expect(run.error?.status == item.expect, "\(item.name): \(String(describing: run.error))")
                }
            }
        }
    }
}
