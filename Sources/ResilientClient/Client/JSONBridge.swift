import EndpointSpec
import Foundation

/// The client's only access to JSON text and to the body-template validator, kept in one place so that
/// it can follow EndpointSpec's parser, writer and `BodyTemplate` as they land.
///
/// Interim: until EndpointSpec ships `JSON.parse`/`JSON.serialize` and `BodyTemplate`, parsing goes
/// through `JSONSerialization` (object key order and number spelling are not preserved) and bodies are
/// not validated on the client (the server still validates them).
enum JSONBridge {
    struct ParseError: Error {
        var message: String
    }

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw ParseError(message: "\(error)")
        }
        return convert(object)
    }

    private static func convert(_ object: Any) -> JSONValue {
        switch object {
        case is NSNull: return .null
        case let string as String: return .string(string)
        case let array as [Any]: return .array(array.map(convert))
        case let dictionary as [String: Any]:
            return .object(JSONObject(dictionary.keys.sorted().map { key in
                JSONObject.Pair(key: key, value: convert(dictionary[key] ?? NSNull()))
            }))
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
            return .number(number.stringValue)
        default:
            return .null
        }
    }

    static func serialize(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let text): out += Array(text.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (index, pair) in object.pairs.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(pair.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(pair.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [0x5C, 0x22]
            case UInt8(ascii: "\\"): out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Validates `body` against a route's template with the server's validator; `nil` when it passes.
    static func validate(_ body: JSONValue, template: [BodyParam]) -> ValidationProblem? {
        nil
    }
}
