import EndpointSpec
import Foundation
import Testing

@testable import ResilientClient

/// The typed-reply fast path must give exactly what `JSONDecoder` gives, or decline (and let
/// `JSONDecoder` decide, errors included).
@Suite struct JSONValueDecoderTests {
    struct Inner: Codable, Equatable {
        var label: String
        var scores: [Double]
    }

    struct Reply: Codable, Equatable {
        var y: Int
        var name: String
        var ok: Bool
        var ratio: Double
        var small: Float
        var tiny: UInt8
        var maybe: Int?
        var absent: String?
        var inner: Inner
        var map: [String: Int]
        var list: [Int?]
    }

    private func fast<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        guard let value = try? JSON.parse(Array(text.utf8)) else { return nil }
        return try? JSONValueDecoder.decode(type, from: value)
    }

    @Test func decodesLikeJSONDecoder() throws {
        let text = #"""
            {"y": -12, "name": "caf\u00e9 \"x\"", "ok": true, "ratio": 1.5e-3, "small": 0.1, "tiny": 255,
             "maybe": null, "inner": {"label": "cat", "scores": [0.25, 1, -0.0]}, "map": {"a": 1, "b": 2},
             "list": [1, null, 3]}
            """#
        let expected = try JSONDecoder().decode(Reply.self, from: Data(text.utf8))
        let decoded = try #require(fast(Reply.self, text))
        #expect(decoded == expected)
        #expect(fast(Int.self, "42") == 42)
        #expect(fast([String].self, #"["a","b"]"#) == ["a", "b"])
    }

    @Test func declinesWhatJSONDecoderTreatsDifferently() {
        // Non-integer literals for integers, out of range, non-strict numbers, type mismatches.
        #expect(fast(Int.self, "1.0") == nil)
        #expect(fast(Int.self, "1e2") == nil)
        #expect(fast(UInt8.self, "256") == nil)
        #expect(fast(Int.self, "99999999999999999999") == nil)
        #expect(fast(Double.self, "NaN") == nil)
        #expect(fast(Float.self, "1e40") == nil)
        #expect(fast(String.self, "1") == nil)
        #expect(fast(Bool.self, "1") == nil)
        #expect(fast(Int.self, "null") == nil)
        // Missing keys, and Foundation types JSONDecoder decodes in its own way.
        #expect(fast(Inner.self, #"{"label":"x"}"#) == nil)
        #expect(fast(Data.self, #""AAEC""#) == nil)
        #expect(fast([Data].self, "[[0,1,2]]") == nil)
        #expect(fast(URL.self, #""http://a/""#) == nil)
        #expect(fast(Date.self, "0") == nil)
        #expect(fast(Decimal.self, "1.5") == nil)
        // Replacement characters (a lone surrogate in the text) are left to JSONDecoder.
        #expect(fast(String.self, #""\ud800""#) == nil)
    }

    /// Integers: whatever the fast path returns is what JSONDecoder returns, for every type's edges; the
    /// plain literals that fit are taken by the fast path.
    @Test func integersAgreeWithJSONDecoder() {
        let literals = [
            "0", "-0", "1", "-1", "007", "00", "-01", "127", "128", "-128", "-129", "255", "256", "65535",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "1.0", "1e2", "--1", "-", "1-", "12a", "",
        ]
        func check<T: FixedWidthInteger & Decodable>(_ type: T.Type, mustTake: [String]) {
            for literal in literals {
                let reference = try? JSONDecoder().decode(T.self, from: Data(literal.utf8))
                let decoded = fast(T.self, literal)
                #expect(decoded == nil || decoded == reference, "\(T.self) \(literal)")
            }
            for literal in mustTake {
                #expect(fast(T.self, literal) != nil, "\(T.self) \(literal)")
            }
        }
        check(Int.self, mustTake: ["0", "-1", "9223372036854775807", "-9223372036854775808"])
        check(Int8.self, mustTake: ["127", "-128"])
        check(UInt8.self, mustTake: ["0", "255"])
        check(UInt64.self, mustTake: ["18446744073709551615"])
        check(Int64.self, mustTake: ["-9223372036854775808"])
    }

    @Test func strictNumberGrammar() {
        for good in ["0", "-0", "1", "10", "1.5", "-1.25e+3", "2E-2"] {
            #expect(JSONValueDecoder.isStrictNumber(good), "\(good)")
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "Infinity", "NaN", "0x1"] {
            #expect(!JSONValueDecoder.isStrictNumber(bad), "\(bad)")
        }
    }
}
