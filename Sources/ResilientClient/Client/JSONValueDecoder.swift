import EndpointSpec
import Foundation

/// A fast path for decoding typed replies: a `Decoder` over an already parsed ``JSONValue``.
///
/// It only succeeds where `JSONDecoder` (default strategies) gives the very same value: plain integer
/// literals for integer types, strict JSON numbers for floating-point types, no Foundation types that
/// `JSONDecoder` treats specially (`Data`, `Date`, `URL`, `Decimal`), no replacement characters in
/// strings. Anything else throws, and the caller decodes with `JSONDecoder` instead, which then also
/// produces the error message.
struct JSONValueDecoder: Decoder {
    /// Thrown for every failure; the caller falls back to `JSONDecoder`.
    struct Fallback: Error {}

    let value: JSONValue
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try JSONValueDecoder.check(type)
        return try T(from: JSONValueDecoder(value: value))
    }

    /// Types that `JSONDecoder` decodes in its own way.
    static func check<T>(_ type: T.Type) throws {
        if type == Data.self || type == Date.self || type == URL.self || type == Decimal.self { throw Fallback() }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else { throw Fallback() }
        return KeyedDecodingContainer(Keyed<Key>(object: object))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let values) = value else { throw Fallback() }
        return Unkeyed(values: values)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(value: value) }

    // MARK: - Scalars

    static func string(_ value: JSONValue) throws -> String {
        guard case .string(let string) = value, !string.unicodeScalars.contains("\u{FFFD}") else { throw Fallback() }
        return string
    }

    static func bool(_ value: JSONValue) throws -> Bool {
        guard case .bool(let bool) = value else { throw Fallback() }
        return bool
    }

    /// A JSON integer literal (`-?(0|[1-9][0-9]*)`) that fits `T`; anything else falls back to `JSONDecoder`.
    static func integer<T: FixedWidthInteger>(_ value: JSONValue, _ type: T.Type) throws -> T {
        guard case .number(let text) = value else { throw Fallback() }
        var result: T = 0
        var count = 0
        var leadingZero = false
        var negative = false
        for byte in text.utf8 {
            if count == 0 && !negative && byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= 0x30 && byte <= 0x39, !leadingZero else { throw Fallback() }
            if count == 0 && byte == 0x30 { leadingZero = true }
            count += 1
            if negative { continue }  // validated here, converted below
            let (shifted, overflow) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(T(byte - 0x30))
            guard !overflow, !overflow2 else { throw Fallback() }
            result = sum
        }
        guard count > 0 else { throw Fallback() }
        if negative {
            guard let parsed = T(text) else { throw Fallback() }
            return parsed
        }
        return result
    }

    static func floating<T: LosslessStringConvertible & BinaryFloatingPoint>(_ value: JSONValue, _ type: T.Type) throws
        -> T
    {
        guard case .number(let text) = value, isStrictNumber(text), let result = T(text), result.isFinite,
            let double = Double(text), T(double) == result
        else { throw Fallback() }
        return result
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    static func isStrictNumber(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < bytes.count, bytes[index] == 0x2D { index += 1 }
        let start = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || bytes[start] != 0x30 else { return false }
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
            index += 1
            if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == bytes.count
    }

    static func decodeAny<T: Decodable>(_ type: T.Type, _ value: JSONValue) throws -> T {
        try check(type)
        return try T(from: JSONValueDecoder(value: value))
    }

    // MARK: - Containers

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: JSONObject
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { object.pairs.compactMap { Key(stringValue: $0.key) } }

        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        private func value(_ key: Key) throws -> JSONValue {
            guard let value = object[key.stringValue] else { throw Fallback() }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try JSONValueDecoder.bool(value(key)) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try JSONValueDecoder.string(value(key)) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
            try JSONValueDecoder.floating(value(key), type)
        }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            try JSONValueDecoder.floating(value(key), type)
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try JSONValueDecoder.integer(value(key), type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try JSONValueDecoder.integer(value(key), type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try JSONValueDecoder.integer(value(key), type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
            try JSONValueDecoder.integer(value(key), type)
        }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try JSONValueDecoder.decodeAny(type, value(key))
        }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try JSONValueDecoder(value: value(key)).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try JSONValueDecoder(value: value(key)).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { throw Fallback() }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw Fallback() }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let values: [JSONValue]
        var currentIndex = 0
        var codingPath: [any CodingKey] { [] }
        var count: Int? { values.count }
        var isAtEnd: Bool { currentIndex >= values.count }

        init(values: [JSONValue]) { self.values = values }

        private mutating func next() throws -> JSONValue {
            guard currentIndex < values.count else { throw Fallback() }
            defer { currentIndex += 1 }
            return values[currentIndex]
        }

        mutating func decodeNil() throws -> Bool {
            guard currentIndex < values.count else { throw Fallback() }
            if values[currentIndex] == .null {
                currentIndex += 1
                return true
            }
            return false
        }
        mutating func decode(_ type: Bool.Type) throws -> Bool { try JSONValueDecoder.bool(next()) }
        mutating func decode(_ type: String.Type) throws -> String { try JSONValueDecoder.string(next()) }
        mutating func decode(_ type: Double.Type) throws -> Double { try JSONValueDecoder.floating(next(), type) }
        mutating func decode(_ type: Float.Type) throws -> Float { try JSONValueDecoder.floating(next(), type) }
        mutating func decode(_ type: Int.Type) throws -> Int { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONValueDecoder.integer(next(), type) }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONValueDecoder.decodeAny(type, next()) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try JSONValueDecoder(value: next()).container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try JSONValueDecoder(value: next()).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { throw Fallback() }
    }

    struct Single: SingleValueDecodingContainer {
        let value: JSONValue
        var codingPath: [any CodingKey] { [] }

        func decodeNil() -> Bool { value == .null }
        func decode(_ type: Bool.Type) throws -> Bool { try JSONValueDecoder.bool(value) }
        func decode(_ type: String.Type) throws -> String { try JSONValueDecoder.string(value) }
        func decode(_ type: Double.Type) throws -> Double { try JSONValueDecoder.floating(value, type) }
        func decode(_ type: Float.Type) throws -> Float { try JSONValueDecoder.floating(value, type) }
        func decode(_ type: Int.Type) throws -> Int { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: UInt.Type) throws -> UInt { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONValueDecoder.integer(value, type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONValueDecoder.integer(value, type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONValueDecoder.decodeAny(type, value) }
    }
}
