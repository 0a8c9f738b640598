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
}
