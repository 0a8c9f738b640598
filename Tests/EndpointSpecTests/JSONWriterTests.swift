import Testing

@testable import EndpointSpec

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

@Suite struct JSONWriterTests {
    @Test func compactWithPythonSeparators() {
        var object = JSONObject()
        object["a"] = .number("1")
        object["b"] = .array([.null, .bool(true), .bool(false), .string("x")])
        object["c"] = .object(JSONObject())
        #expect(text(JSON.serialize(.object(object))) == #"{"a":1,"b":[null,true,false,"x"],"c":{}}"#)
        #expect(text(JSON.serialize(.array([]))) == "[]")
    }

    @Test func stringEscapesAsJsonDumpsEnsureAsciiFalse() {
        // json.dumps("\"\\/\b\f\n\r\t\x00\x1f\x7f é😀", ensure_ascii=False)
        let value = JSONValue.string("\"\\/\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F} é😀")
        #expect(text(JSON.serialize(value)) == #""\"\\/\b\f\n\r\t\u0000\u001f"# + "\u{7F} é😀\"")
    }

    @Test func roundTrips() throws {
        let documents = [
            #"{"a":[1,2.50,-0,1e3,"x\n"],"b":{"c":null,"d":true},"é":"日本"}"#, "[]", "{}", #""\u0001""#,
            "[NaN,Infinity,-Infinity]", #"[{"k":[[[]]]}]"#,
        ]
        for document in documents {
            let value = try JSON.parse(Array(document.utf8))
            #expect(text(JSON.serialize(value)) == document)
            #expect(try JSON.parse(JSON.serialize(value)) == value)
        }
    }

    @Test func pythonNumberStyle() {
        // What json.dumps(json.loads(literal)) writes.
        let table: [(String, String)] = [
            ("5", "5"), ("-0", "0"), ("-12", "-12"), ("12345678901234567890123", "12345678901234567890123"),
            ("1e3", "1000.0"), ("1.50", "1.5"), ("-0.0", "-0.0"), ("0.0", "0.0"), ("1E400", "Infinity"),
            ("-1e400", "-Infinity"), ("1e-400", "0.0"), ("NaN", "NaN"), ("Infinity", "Infinity"),
            ("1e16", "1e+16"), ("1e15", "1000000000000000.0"), ("1.5e16", "1.5e+16"), ("0.0001", "0.0001"),
            ("0.00001", "1e-05"), ("1e-7", "1e-07"), ("123456789.125", "123456789.125"), ("1e22", "1e+22"),
            ("2.5e-10", "2.5e-10"), ("-1.5e300", "-1.5e+300"), ("0.1", "0.1"), ("100.0", "100.0"),
            ("9007199254740993.0", "9007199254740992.0"), ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"), ("123456789012345678.0", "1.2345678901234568e+17"),
        ]
        for (literal, python) in table {
            #expect(JSON.pythonNumberText(literal) == python, "\(literal)")
        }
        #expect(text(JSON.serialize(.array([.number("1e3"), .number("-0")]), numbers: .python)) == "[1000.0,0]")
        #expect(text(JSON.serialize(.array([.number("1e3"), .number("-0")]), numbers: .literal)) == "[1e3,-0]")
    }

    @Test func pythonReprLayout() {
        #expect(PythonNumber.repr(5) == "5.0")
        #expect(PythonNumber.repr(-0.0) == "-0.0")
        #expect(PythonNumber.repr(1e16) == "1e+16")
        #expect(PythonNumber.repr(9999999999999998) == "9999999999999998.0")
        #expect(PythonNumber.repr(0.00012) == "0.00012")
        #expect(PythonNumber.repr(1.2e-5) == "1.2e-05")
        #expect(PythonNumber.repr(1e100) == "1e+100")
        #expect(PythonNumber.floatJSON(.nan) == "NaN")
        #expect(PythonNumber.floatJSON(-.infinity) == "-Infinity")
    }

    @Test func integerHelpers() {
        #expect(PythonNumber.isInteger("-12"))
        #expect(!PythonNumber.isInteger("1.0"))
        #expect(!PythonNumber.isInteger("NaN"))
        #expect(!PythonNumber.isInteger("-"))
        #expect(PythonNumber.canonicalInteger("-000") == "0")
        #expect(PythonNumber.canonicalInteger("+007") == "7")
        #expect(PythonNumber.reserialized("not a number") == "not a number")
    }
}
