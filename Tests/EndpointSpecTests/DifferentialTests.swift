import Foundation
import TestSupport
import Testing

@testable import EndpointSpec

/// Differential test against the real thing: `Tests/differential/fastapi_oracle.py` builds the FastAPI app each
/// template stands for and answers every corpus case through `fastapi.testclient.TestClient`; the status code and
/// the response body bytes must equal `BodyTemplate.validate`'s, and on success the arguments the handler received
/// must equal `argumentsJSON()` as Python reads it.
///
/// Recorded against FastAPI 0.165.0, pydantic 2.13.4 (pydantic-core 2.46.4), Starlette 1.x, CPython 3.11.7.
/// Requires `pip install fastapi httpx`; without them the test fails (CI installs them). `ENDPOINTSPEC_PYTHON`
/// selects the interpreter (default `python3`).
@Suite(.dedicatedThreads) struct DifferentialTests {
    static let expectedVersions = (fastapi: "0.165.0", pydantic: "2.13.4")

    struct Case {
        var body: [UInt8]?
        var contentType: String?
        /// FastAPI answers 500 here (its response encoder cannot echo the input); we answer 422 on purpose.
        var fastAPIFails = false
        var note: String
    }

    struct Group {
        var template: [BodyParam]
        var cases: [Case]
    }

    static let scriptPath: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("differential/fastapi_oracle.py").path
    }()

    // MARK: corpus

    /// JSON literals tried against every parameter type.
    static let valueLiterals: [String] = [
        "null", "true", "false", "0", "1", "2", "-1", "-0", "5.0", "5.5", "-0.0", "1.0", "0.5", "1e3", "1.5e300", "9.2e18", "9.3e18", "1e19", "-9.2e18", "12345678901234567890123", "100000000000000000000",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e-7", "123456789.125", "0.1",
        #""5""#, #"" 5 ""#, #""+5""#, #""-5""#, #""5.0""#, #""5.00""#, #""5.""#, #"".5""#, #""5.5""#, #""1e3""#,
        #""1_000""#, #""1__0""#, #""_1""#, #""1_""#, #""0x10""#, #""""#, #"" ""#, #""abc""#, #""nan""#, #""NaN""#,
        #""-inf""#, #""Infinity""#, #""infinit""#, #""0""#, #""1""#, #""true""#, #""TRUE""#, #""TrUe""#, #""yes""#,
        #""off""#, #""n""#, #""F""#, #"" true""#, #""00""#, #""01""#, #""-0""#, #""1.0""#, #""0.0""#, #""\t5\n""#,
        "\"\u{a0}5\u{2003}\"", #""\u001c5""#, "\"\u{0665}\"", #""1_0.0_1""#, #"" 1_0""#, #""1_0""#, #""1_e5""#,
        #""1._5""#, #""+.5""#, #""1e""#, #""e5""#, #""+-1""#, #""-+1""#, #""- 1""#, #""0_0""#, #""00_""#, #""0_.0""#,
        #""-0_1""#, #""1.5_5""#, #""1e1_0""#, #""12345678901234567890123""#, #""9223372036854775808""#,
        #""1e400""#, #""5\u0000""#, "[]", #"[1,"a",2.50]"#, "{}", #"{"a":1.50,"b":[true,null]}"#,
        #""é\u00e9\n\"\\/""#, #""\ud83d\ude00""#,
    ]

    static func corpus() -> [Group] {
        var groups: [Group] = []
        let json = "application/json"
        for type in ParamType.allCases {
            // Required parameter: every value literal, plus missing.
            var cases = valueLiterals.map { literal in
                Case(body: Array(#"{"v":\#(literal)}"#.utf8), contentType: json, note: "\(type) ← \(literal)")
            }
            cases.append(Case(body: Array("{}".utf8), contentType: json, note: "\(type) missing"))
            // Non-finite floats echoed in an error: FastAPI's encoder refuses them (allow_nan=False) → 500.
            for literal in ["NaN", "Infinity", "-Infinity", "1E400", "-1e400"] where type != .float {
                cases.append(
                    Case(
                        body: Array(#"{"v":\#(literal)}"#.utf8), contentType: json, fastAPIFails: true,
                        note: "\(type) ← \(literal) (FastAPI 500)"))
            }
            if type == .float {
                for literal in ["NaN", "Infinity", "-Infinity", "1E400", "-1e400", #""nan""#, #""-Infinity""#] {
                    cases.append(Case(body: Array(#"{"v":\#(literal)}"#.utf8), contentType: json, note: "float ← \(literal)"))
                }
            }
            groups.append(Group(template: [BodyParam(name: "v", type: type)], cases: cases))
            // Optional parameter: null, missing, a valid and an invalid value.
            let defaults: [ParamType: String] = [
                .str: "'dflt'", .int: "7", .float: "0.5", .bool: "True", .dict: "None", .list: "[1, 2]",
            ]
            let optionalCases = ["null", "1", #""x""#, "[]", "{}"].map { literal in
                Case(body: Array(#"{"v":\#(literal)}"#.utf8), contentType: json, note: "Optional[\(type)] ← \(literal)")
            } + [
                Case(body: Array("{}".utf8), contentType: json, note: "Optional[\(type)] missing"),
                Case(body: Array(#"{"w":1}"#.utf8), contentType: json, note: "Optional[\(type)] other key"),
            ]
            groups.append(
                Group(
                    template: [BodyParam(name: "v", type: type, optional: true, defaultValue: defaults[type])],
                    cases: optionalCases))
        }
        groups.append(Group(template: wholeBodyTemplate, cases: wholeBodyCases()))
        // Generated numeric-looking strings against the string parsers of int, float and bool.
        let fuzz = fuzzStrings(count: 120)
        for type in [ParamType.int, .float, .bool] {
            groups.append(
                Group(
                    template: [BodyParam(name: "v", type: type)],
                    cases: fuzz.map { text in
                        Case(body: JSON.serialize(.object(JSONObject([.init(key: "v", value: .string(text))]))),
                             contentType: json, note: "\(type) ← fuzz \(text.debugDescription)")
                    }))
        }
        groups.append(
            Group(
                template: [BodyParam(name: "v", type: .int)],
                cases: [
                    Case(body: Array(#"{"v":"\ud800"}"#.utf8), contentType: json, fastAPIFails: true,
                         note: "int ← lone surrogate (FastAPI 500)")
                ]))
        groups.append(
            Group(
                template: [],
                cases: [
                    Case(body: nil, contentType: nil, note: "empty template, no body"),
                    Case(body: Array("{not json".utf8), contentType: json, note: "empty template, bad JSON"),
                    Case(body: Array(#"{"a":1}"#.utf8), contentType: "text/plain", note: "empty template, text"),
                ]))
        return groups
    }

    static let wholeBodyTemplate = [
        BodyParam(name: "x", type: .int),
        BodyParam(name: "y", type: .str, optional: true, defaultValue: "'dflt'"),
        BodyParam(name: "z", type: .list, optional: true),
    ]

    static func wholeBodyCases() -> [Case] {
        let json = "application/json"
        var cases: [Case] = []
        func add(_ text: String, _ contentType: String? = "application/json", _ note: String = "") {
            cases.append(Case(body: Array(text.utf8), contentType: contentType, note: note.isEmpty ? text : note))
        }
        func addBytes(_ bytes: [UInt8], _ contentType: String? = "application/json", fails: Bool = false, _ note: String) {
            cases.append(Case(body: bytes, contentType: contentType, fastAPIFails: fails, note: note))
        }
        // No body / empty body.
        cases.append(Case(body: nil, contentType: nil, note: "no body"))
        cases.append(Case(body: nil, contentType: json, note: "no body, JSON content type"))
        addBytes([], json, "empty body")
        addBytes([], nil, "empty body, no content type")
        addBytes([], "text/plain", "empty body, text/plain")
        // Content types.
        for contentType in [
            nil, "", "text/plain", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
            "Application/Json;charset=latin-1", "application/vnd.api+json", "application/problem+JSON",
            "application/+json", "application/json/x", " application/json ", "\tapplication/json", "application /json",
            "application/jsonx", "application/x-json", "text/json", "application/json;", ";application/json",
            "application/JSON ; charset=utf-8", "multipart/form-data", "application/x-www-form-urlencoded",
            "application", "application/", "json", "*/*",
        ] as [String?] {
            add(#"{"x":1}"#, contentType, "{x:1} as \(contentType ?? "<none>")")
        }
        add(#"{"x":"é"}"#, "text/plain", "non-ASCII text/plain body")
        addBytes([0x7B, 0xFF, 0x7D], "text/plain", fails: true, "invalid UTF-8 text/plain body (FastAPI 500)")
        // JSON values that are not objects.
        for text in ["[]", "[1,2]", #""x""#, "5", "5.0", "1e3", "-0", "null", "true", "false", #"[{"x":1}]"#] {
            add(text)
        }
        addBytes(Array("NaN".utf8), json, fails: true, "NaN body (FastAPI 500)")
        addBytes(Array("1E400".utf8), json, fails: true, "1E400 body (FastAPI 500)")
        addBytes(Array(#"{"a":1.50,"b":1E400,"c":-0,"d":[1e3]}"#.utf8), json, fails: true, "missing x, infinity echoed (FastAPI 500)")
        add(#"{"a":1.50,"c":-0,"d":[1e3,1E-7,123456789012345678]}"#, json, "missing x, numbers echoed")
        // Attributes.
        for text in [
            "{}", #"{"y":"a"}"#, #"{"X":1}"#, #"{"x":null}"#, #"{"x":1,"y":null,"z":null}"#,
            #"{"x":"a","y":5,"z":{}}"#, #"{"x":1,"x":"bad"}"#, #"{"x":"bad","y":"s","x":2}"#,
            #"{"x":1,"extra":[1,2,{"k":1.50}],"y":"ok"}"#, #"{"z":[1,2.50,"a",{"b":-0}],"x":3}"#,
            #"{"x":"\ud83d\ude00"}"#, #"{"x":1,"y":"\ud800"}"#,
            #"{"x":1,"y":"\u001f\u007f\b\f\n\r\t\"\\"}"#, "{\"x\":1,\"y\":\"日本語 ✓\"}",
            #"{"x":"4","y":"\/"}"#, "{\"x\":1,\"y\":\"\(String(repeating: "long ", count: 2000))\"}",
            "\(#"{"x":1,"z":"#)\(String(repeating: "[", count: 100))\(String(repeating: "]", count: 100))}",
            "{\"x\":\(String(repeating: "9", count: 4300))}",
        ] {
            add(text, json, String(text.prefix(60)))
        }
        addBytes([0x7B, 0x22, 0x78, 0x22, 0x3A, 0x31, 0x2C, 0x22, 0x79, 0x22, 0x3A, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x7D], json,
                 "UTF-8 encoded surrogate in a string")
        // Malformed JSON: message and character position.
        for text in [
            "{", #"{"x""#, #"{"x":"#, #"{"x":1"#, #"{"x":1,"#, #"{"x":1,}"#, "{,}", #"{"x" 1}"#, #"{"x":1 "y":2}"#,
            "[", "[1", "[1,", "[1,]", "[,]", "[1 2]", #"{"x":1}}"#, #"{"x":1} x"#, "1 2", "tru", "true x", "nul",
            "-NaN", "-Inf", "+1", "01", "-", "-a", "1.", "1.e5", "1e", "1e+", ".5", #""abc"#, #""a\"#, #""a\x""#,
            #""a\u12""#, #""a\u12"#, #""a\u""#, #""\ud800\u""#, #""\ud800\uXYZW""#, #""\ud800\x""#,
            "\"a\tb\"", "\"a\u{0}\"", "'a'", "{a:1}", "{'a':1}", "[1,2", #"{"a":[1,2}"#, #"{"a":{"b":1]}"#,
            #"{"\uZZZZ":1}"#, #"["é", x]"#, "[\u{0}]", "  ", "\n", "\u{0C}1", "[1,\n2,\nx]", #"{"é":1,"ü":"#,
            #"{"x":1,"日本":[1,}"#, "[-]", "[--1]", "[1e5x]", "[0x1]", "[Infinityx]", "[NaNa]", "[truex]",
            #"{"x":t}"#, "\u{FEFF}{}", #"{"x":"\ud83d\ude00","y":"é","z":]"#,
        ] {
            add(text, json, "malformed: \(text)")
        }
        // Encodings: UTF-8 BOM, UTF-16/32 detection, undecodable bytes (400).
        let doc = Array(#"{"x":1,"y":"é"}"#.utf8)
        addBytes([0xEF, 0xBB, 0xBF] + doc, json, "UTF-8 BOM")
        addBytes([0xEF, 0xBB, 0xBF], json, "UTF-8 BOM alone")
        addBytes(utf16(#"{"x":2,"y":"é😀"}"#, bigEndian: false, bom: false), json, "UTF-16LE")
        addBytes(utf16(#"{"x":2,"y":"é"}"#, bigEndian: true, bom: false), json, "UTF-16BE")
        addBytes(utf16(#"{"x":2,"y":"é"}"#, bigEndian: false, bom: true), json, "UTF-16 with BOM")
        addBytes(utf16(#"{"x":2,}"#, bigEndian: false, bom: false), json, "UTF-16LE malformed")
        addBytes(utf32(#"{"x":3}"#, bigEndian: true, bom: false), json, "UTF-32BE")
        addBytes(utf32(#"{"x":3}"#, bigEndian: false, bom: true), json, "UTF-32 with BOM")
        addBytes(Array(utf16("{}", bigEndian: false, bom: false).dropLast()), json, "UTF-16LE odd length")
        addBytes([0x31, 0x00], json, "two bytes, second NUL (UTF-16LE)")
        addBytes([0x7B, 0x22, 0x78, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D], json, "invalid UTF-8 in a string")
        addBytes(Array(#"{"x":1}}"#.utf8) + [0xC3], json, "invalid UTF-8 after a syntax error")
        addBytes([0x7B, 0xC0, 0x80, 0x7D], json, "overlong UTF-8")
        addBytes(Array(#"{"x":""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#""}"#.utf8), json, "beyond U+10FFFF")
        // Limits: nesting (FastAPI: RecursionError → 400), integer literal over 4300 digits (ValueError → 400).
        add(String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000), json, "nesting 2000")
        add("{\"x\":\(String(repeating: "9", count: 4301))}", json, "int literal 4301 digits")
        add("{\"x\":\"\(String(repeating: "1", count: 4301))\"}", json, "int string 4301 digits")
        add("{\"x\":\"\(String(repeating: "1", count: 4300))\"}", json, "int string 4300 digits")
        add("{\"x\":\"-\(String(repeating: "1", count: 4300))\"}", json, "int string -4300 digits")
        add("{\"x\":\" \(String(repeating: "1", count: 4301))\"}", json, "int string space+4301 digits")
        add("{\"x\":\"\(String(repeating: "1", count: 4301))x\"}", json, "int string 4301 digits+x")
        add("{\"x\":\"\(String(repeating: "0", count: 5000))1\"}", json, "int string 5000 zeros")
        return cases
    }

    /// Deterministic strings over an alphabet that exercises signs, zeros, underscores, dots, exponents, spaces.
    static func fuzzStrings(count: Int) -> [String] {
        let alphabet = Array("0012345_9.+-eE nIif\u{a0}")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var out: [String] = []
        for _ in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int((state >> 33) % 7) + 1
            var text = ""
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text.append(alphabet[Int((state >> 33) % UInt64(alphabet.count))])
            }
            out.append(text)
        }
        return out
    }

    static func utf16(_ text: String, bigEndian: Bool, bom: Bool) -> [UInt8] {
        var out: [UInt8] = bom ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
        for unit in text.utf16 {
            let hi = UInt8(unit >> 8)
            let lo = UInt8(unit & 0xFF)
            out += bigEndian ? [hi, lo] : [lo, hi]
        }
        return out
    }

    static func utf32(_ text: String, bigEndian: Bool, bom: Bool) -> [UInt8] {
        var out: [UInt8] = bom ? (bigEndian ? [0, 0, 0xFE, 0xFF] : [0xFF, 0xFE, 0, 0]) : []
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let be = [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
            out += bigEndian ? be : be.reversed()
        }
        return out
    }

    // MARK: running Python

    struct ProcessOutput {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    static func runPython(_ arguments: [String]) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // ENDPOINTSPEC_PYTHON picks another interpreter (e.g. a virtualenv's python3).
        let python = ProcessInfo.processInfo.environment["ENDPOINTSPEC_PYTHON"] ?? "python3"
        process.arguments = [python] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to EOF before waiting, so a large output cannot block the child.
        let errData = LockedData()
        let errThread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        errThread.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessOutput(status: process.terminationStatus, stdout: outData, stderr: errData.waitForValue())
    }

    final class LockedData: @unchecked Sendable {
        private let condition = NSCondition()
        private var value: Data?
        func set(_ data: Data) {
            condition.lock()
            value = data
            condition.signal()
            condition.unlock()
        }
        func waitForValue() -> Data {
            condition.lock()
            defer { condition.unlock() }
            // Bounded: the writer finishes once the child exits and its stderr closes.
            var rounds = 0
            while value == nil && rounds < 600 {
                _ = condition.wait(until: Date().addingTimeInterval(1))
                rounds += 1
            }
            return value ?? Data()
        }
    }

    static func corpusJSON(_ groups: [Group]) -> [UInt8] {
        let value = JSONValue.array(
            groups.map { group in
                var object = JSONObject()
                object["template"] = .array(group.template.map(\.jsonValue))
                object["cases"] = .array(
                    group.cases.map { c in
                        var item = JSONObject()
                        item["body_b64"] = c.body.map { .string(Data($0).base64EncodedString()) } ?? .null
                        item["content_type"] = c.contentType.map { .string($0) } ?? .null
                        return .object(item)
                    })
                return .object(object)
            })
        return JSON.serialize(value)
    }

    // MARK: the test

    @Test func bodyTemplateMatchesFastAPI() throws {
        let probe = try Self.runPython(["-c", "import fastapi, httpx, pydantic"])
        guard probe.status == 0 else {
            Issue.record(
                """
                python3 cannot import fastapi/httpx: run `pip install fastapi httpx` (CI installs them). \
                stderr: \(String(decoding: probe.stderr, as: UTF8.self))
                """)
            return
        }
        let versions = try Self.runPython([Self.scriptPath, "--versions"])
        let versionText = String(decoding: versions.stdout, as: UTF8.self)
        let versionValue = try JSON.parse(Array(versions.stdout))
        guard case .object(let versionObject) = versionValue else {
            Issue.record("unexpected --versions output: \(versionText)")
            return
        }
        if versionObject["fastapi"] != .string(Self.expectedVersions.fastapi)
            || versionObject["pydantic"] != .string(Self.expectedVersions.pydantic)
        {
            // Still compared below; a mismatch then points at a behaviour change in the newer versions.
            print("note: corpus recorded with FastAPI 0.165.0 / pydantic 2.13.4, running against \(versionText)")
        }

        let groups = Self.corpus()
        let caseCount = groups.reduce(0) { $0 + $1.cases.count }
        #expect(caseCount >= 150)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "endpointspec-diff-\(ProcessInfo.processInfo.processIdentifier)-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let corpusURL = directory.appendingPathComponent("corpus.json")
        try Data(Self.corpusJSON(groups)).write(to: corpusURL)

        let run = try Self.runPython([Self.scriptPath, corpusURL.path])
        try #require(run.status == 0, "oracle failed: \(String(decoding: run.stderr, as: UTF8.self))")
        let output = try JSON.parse(Array(run.stdout))
        guard case .array(let groupResults) = output, groupResults.count == groups.count else {
            Issue.record("oracle output has the wrong shape")
            return
        }

        var compared = 0
        var mismatches: [String] = []
        var fastAPI500 = 0
        for (group, groupResult) in zip(groups, groupResults) {
            guard case .array(let results) = groupResult, results.count == group.cases.count else {
                Issue.record("oracle output has the wrong number of results")
                return
            }
            let template = BodyTemplate(group.template)
            for (c, result) in zip(group.cases, results) {
                guard case .object(let r) = result, case .number(let statusText) = r["status"] ?? .null,
                    let status = Int(statusText), case .string(let b64) = r["body_b64"] ?? .null,
                    let bodyData = Data(base64Encoded: b64)
                else {
                    Issue.record("bad oracle result for \(c.note)")
                    continue
                }
                compared += 1
                let expectedBody = Array(bodyData)
                let ours = template.validate(body: c.body, contentType: c.contentType)
                let label = "[\(group.template.map { "\($0.name):\($0.type)\($0.optional ? "?" : "")" }.joined(separator: ","))] \(c.note)"
                if c.fastAPIFails {
                    fastAPI500 += 1
                    if status != 500 { mismatches.append("\(label): expected FastAPI to fail with 500, got \(status)") }
                    if case .failure(let failure) = ours, failure.status == 422 { continue }
                    mismatches.append("\(label): expected our 422")
                    continue
                }
                switch ours {
                case .success(let validated):
                    if status != 200 {
                        mismatches.append(
                            "\(label): FastAPI \(status) \(String(decoding: expectedBody, as: UTF8.self)), ours 200")
                        continue
                    }
                    let theirs = JSON.serialize(r["args"] ?? .null, numbers: .python)
                    let mine = (try? JSON.parse(validated.argumentsJSON())).map { JSON.serialize($0, numbers: .python) }
                    if mine != theirs {
                        mismatches.append(
                            "\(label): args FastAPI \(String(decoding: theirs, as: UTF8.self)) ours \(String(decoding: validated.argumentsJSON(), as: UTF8.self))"
                        )
                    }
                case .failure(let failure):
                    let body = failure.responseBody()
                    if status != failure.status || body != expectedBody {
                        mismatches.append(
                            "\(label):\n  FastAPI \(status) \(String(decoding: expectedBody.prefix(400), as: UTF8.self))\n  ours    \(failure.status) \(String(decoding: body.prefix(400), as: UTF8.self))"
                        )
                    }
                }
            }
        }
        print("differential corpus: \(compared) of \(caseCount) cases compared, \(mismatches.count) differ, \(fastAPI500) deliberate 422-vs-500")
        #expect(compared == caseCount)
        #expect(fastAPI500 > 0)
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(compared) cases differ:\n\(mismatches.joined(separator: "\n"))")
    }
}
