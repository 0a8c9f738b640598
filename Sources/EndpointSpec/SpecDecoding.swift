/// A JSON document (a route specification, or a load generator scenario) that could not be decoded, with the
/// path of the offending value.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where, e.g. `routes[1].body[0].type` or `load.stages[1].duration`; empty for the document itself.
    public var path: String
    /// What was wrong or expected, e.g. `expected one of str, int, float, bool, dict, list, got "integer"`.
    public var message: String

    /// Creates an error.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path: message` (or just the message at the root).
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

extension RouteSpec {
    /// Decodes one route in the seed's JSON form (the CLI's `--route` value):
    /// `{"verb": "POST", "path": "/predict", "file": "predict", "function": "f", "positional": true,
    ///   "body": [{"name": "x", "type": "str", "optional": false, "default_value": "None"}]}`.
    ///
    /// Defaults: `verb` POST, `positional` false, `body` [], `optional` false; an optional parameter without
    /// `default_value` defaults to `None`. `default_value` may be Python literal text (a JSON string, kept as is)
    /// or a JSON value, converted to Python literal text (`true` → `True`, `null` → `None`, `[1, "a"]` →
    /// `[1,"a"]`). Unknown keys are ignored. Rejected: a `path` not starting with `/`, an unknown `type`,
    /// parameter names that are not Python identifiers (or start with `_`, which pydantic treats as private),
    /// duplicate parameter names.
    public static func decode(json: [UInt8]) throws(SpecError) -> RouteSpec {
        try decode(value: SpecReader.parse(json), path: "")
    }

    /// Decodes a JSON array of routes, e.g. `[{...}, {...}]`. Paths in errors look like `[1].body[0].type`.
    public static func decodeList(json: [UInt8]) throws(SpecError) -> [RouteSpec] {
        try SpecReader.routes(SpecReader.parse(json), path: "")
    }

    /// Decodes one route from a parsed JSON value; `path` prefixes error paths.
    public static func decode(value: JSONValue, path: String) throws(SpecError) -> RouteSpec {
        let object = try SpecReader.object(value, path)
        let verb = try SpecReader.optionalString(object, "verb", path) ?? "POST"
        let upperVerb = verb.uppercased()
        guard !upperVerb.isEmpty, upperVerb.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw SpecError(path: SpecReader.join(path, "verb"), message: "expected an HTTP method like POST, got \(quoted(verb))")
        }
        let routePath = try SpecReader.requiredString(object, "path", path)
        guard routePath.hasPrefix("/") else {
            throw SpecError(path: SpecReader.join(path, "path"), message: "must start with \"/\", got \(quoted(routePath))")
        }
        let file = try SpecReader.requiredString(object, "file", path)
        guard !file.isEmpty else { throw SpecError(path: SpecReader.join(path, "file"), message: "must not be empty") }
        let function = try SpecReader.requiredString(object, "function", path)
        guard SpecReader.isIdentifier(function) else {
            throw SpecError(path: SpecReader.join(path, "function"), message: "expected a Python function name, got \(quoted(function))")
        }
        let positional = try SpecReader.optionalBool(object, "positional", path) ?? false
        var params: [BodyParam] = []
        if let body = object["body"], body != .null {
            let bodyPath = SpecReader.join(path, "body")
            guard case .array(let items) = body else {
                throw SpecError(path: bodyPath, message: "expected an array of parameters, got \(SpecReader.kind(body))")
            }
            for (k, item) in items.enumerated() {
                let itemPath = "\(bodyPath)[\(k)]"
                let param = try BodyParam.decode(value: item, path: itemPath)
                if params.contains(where: { $0.name == param.name }) {
                    throw SpecError(path: SpecReader.join(itemPath, "name"), message: "duplicate parameter name \(quoted(param.name))")
                }
                params.append(param)
            }
        }
        return RouteSpec(verb: upperVerb, path: routePath, file: file, function: function, positional: positional, body: params)
    }

    /// The route in the seed's JSON form (`default_value` as Python literal text, omitted when `nil`).
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["verb"] = .string(verb)
        object["path"] = .string(path)
        object["file"] = .string(file)
        object["function"] = .string(function)
        object["positional"] = .bool(positional)
        object["body"] = .array(body.map(\.jsonValue))
        return .object(object)
    }
}

extension BodyParam {
    /// Decodes one body-template parameter `{name, type, optional, default_value}`.
    public static func decode(value: JSONValue, path: String) throws(SpecError) -> BodyParam {
        let object = try SpecReader.object(value, path)
        let name = try SpecReader.requiredString(object, "name", path)
        guard SpecReader.isIdentifier(name), !name.hasPrefix("_") else {
            throw SpecError(
                path: SpecReader.join(path, "name"),
                message: "expected a Python identifier not starting with \"_\", got \(quoted(name))")
        }
        let typeName = try SpecReader.requiredString(object, "type", path)
        guard let type = ParamType(rawValue: typeName) else {
            let allowed = ParamType.allCases.map(\.rawValue).joined(separator: ", ")
            throw SpecError(path: SpecReader.join(path, "type"), message: "expected one of \(allowed), got \(quoted(typeName))")
        }
        let optional = try SpecReader.optionalBool(object, "optional", path) ?? false
        var defaultValue: String? = nil
        if let raw = object["default_value"] {
            defaultValue = try SpecReader.pythonLiteral(raw, path: SpecReader.join(path, "default_value"))
        }
        return BodyParam(name: name, type: type, optional: optional, defaultValue: defaultValue)
    }

    /// The parameter in the seed's JSON form.
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["name"] = .string(name)
        object["type"] = .string(type.rawValue)
        object["optional"] = .bool(optional)
        if let defaultValue { object["default_value"] = .string(defaultValue) }
        return .object(object)
    }
}

extension EndpointConfig {
    /// Decodes the SDK's `endpoint` object, `{"routes": [...]}`. Paths in errors look like
    /// `routes[1].body[0].type`. Two routes with the same verb and path are rejected.
    public static func decode(json: [UInt8]) throws(SpecError) -> EndpointConfig {
        let object = try SpecReader.object(SpecReader.parse(json), "")
        guard let routes = object["routes"] else { throw SpecError(path: "routes", message: "required key is missing") }
        return EndpointConfig(routes: try SpecReader.routes(routes, path: "routes"))
    }

    /// The configuration in the SDK's JSON form.
    public var jsonValue: JSONValue {
        var object = JSONObject()
        object["routes"] = .array(routes.map(\.jsonValue))
        return .object(object)
    }
}

private func quoted(_ text: String) -> String {
    String(decoding: JSON.serialize(.string(text)), as: UTF8.self)
}

/// Helpers for reading spec JSON with path-carrying errors.
enum SpecReader {
    static func parse(_ json: [UInt8]) throws(SpecError) -> JSONValue {
        do {
            return try JSON.parse(json)
        } catch {
            throw SpecError(path: "", message: "invalid JSON: \(error.message) at position \(error.position)")
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    static func object(_ value: JSONValue, _ path: String) throws(SpecError) -> JSONObject {
        guard case .object(let object) = value else {
            throw SpecError(path: path, message: "expected an object, got \(kind(value))")
        }
        return object
    }

    static func routes(_ value: JSONValue, path: String) throws(SpecError) -> [RouteSpec] {
        guard case .array(let items) = value else {
            throw SpecError(path: path, message: "expected an array of routes, got \(kind(value))")
        }
        var routes: [RouteSpec] = []
        for (k, item) in items.enumerated() {
            let itemPath = "\(path)[\(k)]"
            let route = try RouteSpec.decode(value: item, path: itemPath)
            if routes.contains(where: { $0.verb == route.verb && $0.path == route.path }) {
                throw SpecError(path: itemPath, message: "duplicate route \(route.verb) \(route.path)")
            }
            routes.append(route)
        }
        return routes
    }

    static func requiredString(_ object: JSONObject, _ key: String, _ path: String) throws(SpecError) -> String {
        guard let value = object[key] else { throw SpecError(path: join(path, key), message: "required key is missing") }
        guard case .string(let text) = value else {
            throw SpecError(path: join(path, key), message: "expected a string, got \(kind(value))")
        }
        return text
    }

    static func optionalString(_ object: JSONObject, _ key: String, _ path: String) throws(SpecError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard case .string(let text) = value else {
            throw SpecError(path: join(path, key), message: "expected a string, got \(kind(value))")
        }
        return text
    }

    static func optionalBool(_ object: JSONObject, _ key: String, _ path: String) throws(SpecError) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard case .bool(let flag) = value else {
            throw SpecError(path: join(path, key), message: "expected true or false, got \(kind(value))")
        }
        return flag
    }

    /// A Python identifier, ASCII subset, and not a keyword.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        let isLetter = { (c: UInt8) in (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F }
        guard isLetter(first), name.utf8.allSatisfy({ isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }) else { return false }
        return !pythonKeywords.contains(name)
    }

    static let pythonKeywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
        "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ]

    /// `default_value` as Python literal text: strings are taken as literal text; other JSON becomes the Python
    /// literal that `ast.literal_eval` turns into what `json.loads` would give.
    static func pythonLiteral(_ value: JSONValue, path: String) throws(SpecError) -> String? {
        switch value {
        case .string(let text):
            return text
        case .null:
            return "None"
        default:
            var out = ""
            try appendPythonLiteral(value, path: path, to: &out)
            return out
        }
    }

    static func appendPythonLiteral(_ value: JSONValue, path: String, to out: inout String) throws(SpecError) {
        switch value {
        case .null: out += "None"
        case .bool(let flag): out += flag ? "True" : "False"
        case .number(let literal):
            switch literal {
            case "NaN": throw SpecError(path: path, message: "NaN has no Python literal form")
            case "Infinity": out += "1e999"
            case "-Infinity": out += "-1e999"
            default: out += literal
            }
        case .string(let text):
            out += String(decoding: JSON.serialize(.string(text)), as: UTF8.self)
        case .array(let items):
            out += "["
            for (k, item) in items.enumerated() {
                if k > 0 { out += ", " }
                try appendPythonLiteral(item, path: path, to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (k, pair) in object.pairs.enumerated() {
                if k > 0 { out += ", " }
                out += String(decoding: JSON.serialize(.string(pair.key)), as: UTF8.self) + ": "
                try appendPythonLiteral(pair.value, path: path, to: &out)
            }
            out += "}"
        }
    }
}
