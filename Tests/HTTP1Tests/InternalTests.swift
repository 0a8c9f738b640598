import Testing

@testable import HTTP1

@Suite struct InternalTests {
    @Test func tokenTableMatchesRFC9110() {
        let specials = Set("!#$%&'*+-.^_`|~".utf8)
        for value in 0...255 {
            let b = UInt8(value)
            let expected =
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || specials.contains(b)
            #expect(isTokenByte(b) == expected, "byte \(value)")
        }
    }

    @Test func sectionEndSearchResumesAndFindsEveryLineFeedPosition() throws {
        // The word-at-a-time search must find the empty line wherever it falls relative to 8-byte words.
        for padding in 0..<20 {
            let text = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: padding) + "\r\n\r\nrest"
            var queue = ByteQueue()
            var found: Int? = nil
            for byte in text.utf8 {
                queue.append([byte])
                if found == nil { found = try queue.findSectionEnd() }
            }
            #expect(found == text.utf8.count - 4)
            var whole = ByteQueue()
            whole.append(Array(text.utf8))
            #expect(try whole.findSectionEnd() == text.utf8.count - 4)
        }
    }

    @Test func caseInsensitiveNameComparisonLooksAtEveryByte() {
        // Word-at-a-time comparison: each byte of every constant the decoders compare, at every offset in the buffer,
        // upper- or lowercase, and a change to any one byte (also a different length) breaks equality.
        let names: [StaticString] = [
            "host", "close", "expect", "chunked", "connection", "keep-alive", "100-continue", "content-length",
            "transfer-encoding",
        ]
        for name in names {
            let lower = Array(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            for offset in 0..<9 {
                for variant in [lower, lower.map { (b: UInt8) in b >= 97 && b <= 122 ? b - 32 : b }] {
                    let bytes = Array(repeating: UInt8(ascii: "x"), count: offset) + variant + [cr, lf]
                    let end = offset + variant.count
                    bytes.withUnsafeBufferPointer { p in
                        #expect(bytesEqualLowercased(p, offset, end, name), "\(name) at \(offset)")
                        #expect(!bytesEqualLowercased(p, offset, end + 1, name), "\(name) longer")
                        if offset > 0 { #expect(!bytesEqualLowercased(p, offset - 1, end, name), "\(name) longer") }
                    }
                    for index in variant.indices {
                        var changed = bytes
                        changed[offset + index] = UInt8(ascii: "_")
                        changed.withUnsafeBufferPointer { p in
                            #expect(!bytesEqualLowercased(p, offset, end, name), "\(name) byte \(index) changed")
                        }
                    }
                }
            }
        }
    }
}
