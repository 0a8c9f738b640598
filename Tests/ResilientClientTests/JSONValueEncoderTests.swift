import EndpointSpec
import Foundation
import Testing

@testable import ResilientClient

/// The typed-body fast path must write what `JSONEncoder` writes (keys in encoding order, where
/// `JSONEncoder` on Linux uses hash order), or decline.
@Suite struct JSONValueEncoderTests {
    struct Inner: Codable {
        var label: String
        var counts: [Int?]
    }

    struct Body: Codable {
        var x: Int
        var name: String
        var ok: Bool
        var small: UInt8
        var big: Int64
        var maybe: Int?
        var present: String?
        var inner: Inner
        var list: [Inner]
        var quoted: String
    }

    private func fastBytes<T: Encodable>(_ value: T, sorted: Bool = true) -> String? {
        guard let json = try? JSONValueEncoder.encode(value) else { return nil }
        return String(decoding: JSON.serialize(sorted ? sortKeys(json) : json), as: UTF8.self)
    }

    private func slowBytes<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func sortKeys(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(object.pairs.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: sortKeys($0.value)) }))
        case .array(let values): return .array(values.map(sortKeys))
        default: return value
        }
    }

    @Test func writesWhatJSONEncoderWrites() throws {
        let body = Body(
            x: -3, name: "cat.jpg", ok: true, small: 255, big: Int64.min, maybe: nil, present: "p",
            inner: Inner(label: "a \"b\" \\ c", counts: [1, nil, 3]), list: [Inner(label: "", counts: [])],
            quoted: "q")
        let fast = try #require(fastBytes(body))
        let slow = try slowBytes(body)
        #expect(fast == slow, "\(fast) vs \(slow)")
        #expect(fastBytes(7) == (try slowBytes(7)))
        #expect(fastBytes(["a", "b"]) == (try slowBytes(["a", "b"])))
        #expect(fastBytes(Inner(label: "x", counts: []), sorted: false) == #"{"label":"x","counts":[]}"#)
    }

    struct Weird: Encodable {
        enum Mode { case duplicateKey, superEncoder, nothing, twoContainers }
        var mode: Mode
        enum Keys: String, CodingKey { case a }
        func encode(to encoder: any Encoder) throws {
            switch mode {
            case .duplicateKey:
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try container.encode(2, forKey: .a)
            case .superEncoder:
                var container = encoder.container(keyedBy: Keys.self)
                try 1.encode(to: container.superEncoder())
            case .nothing:
                break
            case .twoContainers:
                _ = encoder.container(keyedBy: Keys.self)
                var list = encoder.unkeyedContainer()
                try list.encode(1)
            }
        }
    }

    @Test func declinesWhatItCannotReproduce() {
        #expect(fastBytes(1.5) == nil)
        #expect(fastBytes(Float(1)) == nil)
        #expect(fastBytes("a/b") == nil)
        #expect(fastBytes("caf\u{e9}") == nil)
        #expect(fastBytes("line\n") == nil)
        #expect(fastBytes(Data([1, 2])) == nil)
        #expect(fastBytes([Date(timeIntervalSince1970: 0)]) == nil)
        #expect(fastBytes(URL(string: "http://a/")) == nil)
        #expect(fastBytes(Decimal(1)) == nil)
        for mode in [Weird.Mode.duplicateKey, .superEncoder, .nothing, .twoContainers] {
            #expect(fastBytes(Weird(mode: mode)) == nil, "\(mode)")
        }
    }

    /// A type that swallows encoding errors: where the fast path declines a value, it must decline the whole
    /// body rather than leave that value out (JSONEncoder writes it). Each case on its own.
    @Test func declinesEvenWhenTheTypeSwallowsTheError() throws {
        struct Swallowing: Encodable {
            enum Case: CaseIterable { case keyedDouble, keyedString, unkeyedDouble, unkeyedString }
            enum Key: String, CodingKey { case a, b }
            let swallowed: Case
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(1, forKey: .a)
                switch swallowed {
                case .keyedDouble: try? container.encode(1.5, forKey: .b)
                case .keyedString: try? container.encode("caf\u{e9}", forKey: .b)
                case .unkeyedDouble:
                    var list = container.nestedUnkeyedContainer(forKey: .b)
                    try? list.encode(2.5)
                case .unkeyedString:
                    var list = container.nestedUnkeyedContainer(forKey: .b)
                    try? list.encode("caf\u{e9}")
                }
            }
        }
        for swallowed in Swallowing.Case.allCases {
            #expect(fastBytes(Swallowing(swallowed: swallowed)) == nil, "\(swallowed)")
            #expect(try slowBytes(Swallowing(swallowed: swallowed)).contains(#""b":"#), "\(swallowed)")
        }
    }
}
