import Testing

@testable import EndpointSpec

private func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue { try JSON.parse(Array(text.utf8)) }

private func obj(_ pairs: [(String, JSONValue)]) -> JSONValue {
    .object(JSONObject(pairs.map { JSONObject.Pair(key: $0.0, value: $0.1) }))
}

@Suite struct JSONParserTests {
    @Test func scalarsAndContainers() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("\n\r\tfalse\n") == .bool(false))
        #expect(try parse(#""abc""#) == .string("abc"))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .object(JSONObject()))
        #expect(try parse(#"[1, "a", [null], {"k": false}]"#)
            == .array([.number("1"), .string("a"), .array([.null]), obj([("k", .bool(false))])]))
        #expect(try parse(#"{ "a" : 1 , "b" : [ ] }"#) == obj([("a", .number("1")), ("b", .array([]))]))
    }

    @Test func numbersKeepTheirLiteralText() throws {
        for literal in ["0", "-0", "5", "-12", "1.50", "1e3", "1E+3", "-2.5e-10", "12345678901234567890123456789",
                        "0.000", "NaN", "Infinity", "-Infinity", "1E400"] {
            #expect(try parse(literal) == .number(literal))
        }
    }

    @Test func duplicateKeysKeepFirstPositionAndLastValue() throws {
        #expect(try parse(#"{"a":1,"a":2,"b":3,"a":4}"#) == obj([("a", .number("4")), ("b", .number("3"))]))
        // Large objects switch to a hashed index; same semantics.
        var text = "{"
        for k in 0..<40 { text += "\"k\(k)\":\(k)," }
        text += #""k3":"last","k39":null}"#
        guard case .object(let object) = try parse(text) else {
            Issue.record("not an object")
            return
        }
        #expect(object.pairs.count == 40)
        #expect(object.pairs[3] == JSONObject.Pair(key: "k3", value: .string("last")))
        #expect(object.pairs[39] == JSONObject.Pair(key: "k39", value: .null))
    }

    @Test func stringEscapesAndUnicode() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""\u00e9\u0000""#) == .string("é\u{0}"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse(#""\uD834\uDD1E""#) == .string("𝄞"))
        #expect(try parse("\"日本語 ✓ \u{7F}\"") == .string("日本語 ✓ \u{7F}"))
        // Lone surrogates are accepted (as Python does) and become U+FFFD.
        #expect(try parse(#""\ud800""#) == .string("\u{FFFD}"))
        #expect(try parse(#""x\udc00y""#) == .string("x\u{FFFD}y"))
        #expect(try parse(#""\ud800\u0041""#) == .string("\u{FFFD}A"))
        #expect(try parse(#""\ud800\ud800""#) == .string("\u{FFFD}\u{FFFD}"))
        #expect(try JSON.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) == .string("\u{FFFD}"))
    }

    @Test func encodingsAreDetectedAsPythonDoes() throws {
        #expect(try JSON.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == .array([.number("1")]))
        let utf16le: [UInt8] = [0x5B, 0x00, 0x22, 0x00, 0xE9, 0x00, 0x22, 0x00, 0x5D, 0x00]
        #expect(try JSON.parse(utf16le) == .array([.string("é")]))
        let utf16bom: [UInt8] = [0xFE, 0xFF, 0x00, 0x31]
        #expect(try JSON.parse(utf16bom) == .number("1"))
        let utf32be: [UInt8] = [0, 0, 0, 0x32]
        #expect(try JSON.parse(utf32be) == .number("2"))
        let pair: [UInt8] = [0x22, 0x00, 0x3D, 0xD8, 0x00, 0xDE, 0x22, 0x00]  // "😀" in UTF-16LE
        #expect(try JSON.parse(pair) == .string("😀"))
    }

    /// (input, message, position) as CPython 3.11's json.loads reports them.
    static let syntaxErrors: [(String, String, Int)] = [
        ("", "Expecting value", 0), (" ", "Expecting value", 1), ("{", "Expecting property name enclosed in double quotes", 1),
        (#"{"a""#, "Expecting ':' delimiter", 4), (#"{"a":"#, "Expecting value", 5),
        (#"{"a":1"#, "Expecting ',' delimiter", 6), (#"{"a":1,"#, "Expecting property name enclosed in double quotes", 7),
        (#"{"a":1,}"#, "Expecting property name enclosed in double quotes", 7),
        ("{,}", "Expecting property name enclosed in double quotes", 1), (#"{"a" 1}"#, "Expecting ':' delimiter", 5),
        (#"{"a":1 "b":2}"#, "Expecting ',' delimiter", 7), ("[", "Expecting value", 1), ("[1", "Expecting ',' delimiter", 2),
        ("[1,", "Expecting value", 3), ("[1,]", "Expecting value", 3), ("[,]", "Expecting value", 1),
        ("[1 2]", "Expecting ',' delimiter", 3), (#"{"a":1}}"#, "Extra data", 7), (#"{"a":1} x"#, "Extra data", 8),
        ("1 2", "Extra data", 2), ("tru", "Expecting value", 0), ("true x", "Extra data", 5), ("nul", "Expecting value", 0),
        ("-NaN", "Expecting value", 0), ("-Inf", "Expecting value", 0), ("+1", "Expecting value", 0),
        ("01", "Extra data", 1), ("-", "Expecting value", 0), ("-a", "Expecting value", 0), ("1.", "Extra data", 1),
        ("1.e5", "Extra data", 1), ("1e", "Extra data", 1), ("1e+", "Extra data", 1), (".5", "Expecting value", 0),
        (#""abc"#, "Unterminated string starting at", 0), (#""a\"#, "Unterminated string starting at", 0),
        (#""a\x""#, "Invalid \\escape", 2), (#""a\u12""#, "Invalid \\uXXXX escape", 3),
        (#""a\u12"#, "Invalid \\uXXXX escape", 3), (#""a\u""#, "Invalid \\uXXXX escape", 3),
        (#""a\u0041"#, "Invalid \\uXXXX escape", 3),
        ("\"a\tb\"", "Invalid control character at", 2), ("\"a\u{0}\"", "Invalid control character at", 2),
        ("'a'", "Expecting value", 0), ("{a:1}", "Expecting property name enclosed in double quotes", 1),
        ("[1,2", "Expecting ',' delimiter", 4), (#"{"a":[1,2}"#, "Expecting ',' delimiter", 9),
        (#"{"a":{"b":1]}"#, "Expecting ',' delimiter", 11), (#"{"\uZZZZ":1}"#, "Invalid \\uXXXX escape", 3),
        (#"["é", x]"#, "Expecting value", 6), ("[\u{0}]", "Expecting value", 1), ("\u{C}1", "Expecting value", 0),
        ("[1,\n2,\nx]", "Expecting value", 7), ("[-]", "Expecting value", 1), ("[--1]", "Expecting value", 1),
        ("[1e5x]", "Expecting ',' delimiter", 4), ("[0x1]", "Expecting ',' delimiter", 2),
        ("[Infinityx]", "Expecting ',' delimiter", 9), ("[NaNa]", "Expecting ',' delimiter", 4),
        ("[truex]", "Expecting ',' delimiter", 5), (#"{"a":t}"#, "Expecting value", 5),
        (#""\ud800\u""#, "Invalid \\uXXXX escape", 8), (#""\ud800\uXYZW""#, "Invalid \\uXXXX escape", 8),
        (#""\ud800\"#, "Unterminated string starting at", 0), (#""\ud800\x""#, "Invalid \\escape", 7),
        // Positions count code points, not bytes.
        (#"{"日本語":1,"#, "Expecting property name enclosed in double quotes", 9), ("[\"😀\", ]", "Expecting value", 6),
    ]

    @Test func syntaxErrorsMatchPython() {
        for (input, message, position) in Self.syntaxErrors {
            do {
                let value = try parse(input)
                Issue.record("\(input.debugDescription) parsed as \(value)")
            } catch {
                #expect(error.kind == .syntax, "\(input.debugDescription)")
                #expect(error.message == message, "\(input.debugDescription)")
                #expect(error.position == position, "\(input.debugDescription)")
            }
        }
    }

    @Test func undecodableInputIsAnEncodingError() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x7B, 0xC0, 0x80, 0x7D], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
            [0x22, 0xE0, 0x80, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
            Array("[1]]".utf8) + [0xFF],  // Python decodes first: the encoding error wins over "Extra data"
            [0x31, 0x00, 0x32, 0x00, 0x33],  // UTF-16LE detected (NUL in second byte), odd length
            [0x00, 0x00, 0x00, 0x31, 0x00, 0x11, 0x00, 0x00],  // UTF-32BE beyond U+10FFFF
        ]
        for bytes in cases {
            #expect(throws: JSONSyntaxError.self) { try JSON.parse(bytes) }
            do { _ = try JSON.parse(bytes) } catch { #expect(error.kind == .invalidEncoding, "\(bytes)") }
        }
    }

    @Test func nestingDepthIsLimited() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try parse(ok) }
        for open in ["[", #"{"a":"#] {
            let deep = String(repeating: open, count: 513)
            do {
                _ = try parse(deep)
                Issue.record("depth 513 accepted")
            } catch {
                #expect(error.kind == .tooDeep)
                #expect(error.message.hasPrefix("maximum recursion depth exceeded"))
            }
        }
        #expect(throws: Never.self) { try JSON.parse(Array("[[[1]]]".utf8), maxDepth: 3) }
        #expect(throws: JSONSyntaxError.self) { try JSON.parse(Array("[[[[1]]]]".utf8), maxDepth: 3) }
    }

    @Test func integerLiteralsOver4300DigitsFailLikePython() throws {
        #expect(try parse(String(repeating: "7", count: 4300)) == .number(String(repeating: "7", count: 4300)))
        #expect(throws: Never.self) { try parse("-" + String(repeating: "7", count: 4300)) }
        #expect(throws: Never.self) { try parse(String(repeating: "7", count: 5000) + ".0") }  // a float: fine
        do {
            _ = try parse(String(repeating: "7", count: 4301))
            Issue.record("4301 digits accepted")
        } catch {
            #expect(error.kind == .integerTooLong)
        }
    }

    @Test func parsesNonContiguousCollections() throws {
        let bytes = Array("[1,2]".utf8).lazy.map { $0 }
        #expect(try JSON.parse(bytes) == .array([.number("1"), .number("2")]))
        #expect(try JSON.parse(ArraySlice(Array("xx[3]".utf8)).dropFirst(2)) == .array([.number("3")]))
    }

    @Test func errorDescriptionNamesMessageAndPosition() {
        #expect(JSONSyntaxError(message: "Expecting value", position: 3).description == "Expecting value: position 3")
    }
}
