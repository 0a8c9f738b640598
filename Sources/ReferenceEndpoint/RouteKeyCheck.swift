import CommandLine
import EndpointSpec

/// The strict reading of the route vocabulary: the seed's JSON form ignores unknown keys, so a typo such as
/// `"methd"` or `"optinal"` would silently change a route. `reference-endpoint --route`/`--routes-file` and a
/// scenario's `target.embedded.routes` reject them with this one check, and so give the same message.
public enum RouteKeyCheck {
    /// The keys of a route object.
    public static let routeKeys = ["verb", "path", "file", "function", "positional", "body"]
    /// The keys of a body parameter object.
    public static let bodyParamKeys = ["name", "type", "optional", "default_value"]

    /// Throws for the first unknown key in the route object `value` or in its body parameters, located by
    /// `path` (e.g. `--route #1`'s `methd`, or `target.embedded.routes[0].body[1].optinal`), with a "did you
    /// mean" suggestion when one key is close. Values that are not objects are left to `RouteSpec.decode`.
    public static func check(_ value: JSONValue, path: String) throws(SpecError) {
        guard case .object(let object) = value else { return }
        try checkKeys(object, allowed: routeKeys, aliases: routeAliases, path: path)
        guard case .array(let params)? = object["body"] else { return }
        for (index, param) in params.enumerated() {
            if case .object(let paramObject) = param {
                try checkKeys(
                    paramObject, allowed: bodyParamKeys, aliases: bodyParamAliases, path: join(path, "body") + "[\(index)]")
            }
        }
    }

    /// Names users reach for that the seed spells differently (`"method"` is `verb`, `"default"` is
    /// `default_value`): a typo close to one of them is pointed at the right key.
    static let routeAliases = [
        "method": "verb", "url": "path", "route": "path", "func": "function", "filename": "file", "module": "file",
        "params": "body", "parameters": "body", "args": "body",
    ]
    static let bodyParamAliases = ["default": "default_value", "defaultValue": "default_value", "kind": "type"]

    /// Strict `RouteSpec.decode(value:path:)`: unknown keys first (``check(_:path:)``), then the seed's rules.
    public static func decode(_ value: JSONValue, path: String) throws(SpecError) -> RouteSpec {
        try check(value, path: path)
        return try RouteSpec.decode(value: value, path: path)
    }

    /// Strict `RouteSpec.decode(json:)`, for `--route JSON`.
    public static func decode(json: [UInt8]) throws(SpecError) -> RouteSpec {
        try decode(parse(json), path: "")
    }

    /// Checks every route of a routes file (the SDK's `{"routes": [...]}` or a bare array) for unknown keys;
    /// the file is then decoded as before (`EndpointConfig.decode`/`RouteSpec.decodeList`).
    public static func checkRoutesFile(json: [UInt8]) throws(SpecError) {
        let value = try parse(json)
        var items: [JSONValue] = []
        var prefix = ""
        if case .array(let array) = value {
            items = array
        } else if case .object(let object) = value, case .array(let array)? = object["routes"] {
            items = array
            prefix = "routes"
        }
        for (index, item) in items.enumerated() { try check(item, path: "\(prefix)[\(index)]") }
    }

    private static func parse(_ json: [UInt8]) throws(SpecError) -> JSONValue {
        do {
            return try JSON.parse(json)
        } catch {
            throw SpecError(path: "", message: "invalid JSON: \(error.message) at position \(error.position)")
        }
    }

    /// The message for an unknown key: `unknown field; did you mean "verb"?`, or the list of keys.
    static func checkKeys(_ object: JSONObject, allowed: [String], aliases: [String: String], path: String)
        throws(SpecError)
    {
        for pair in object.pairs where !allowed.contains(pair.key) {
            var message = "unknown field"
            let candidates = allowed + aliases.keys.sorted()
            if let match = Suggestion.closest(to: pair.key, in: candidates) {
                message += "; did you mean \"\(aliases[match] ?? match)\"?"
            } else {
                message += " (expected one of: \(allowed.joined(separator: ", ")))"
            }
            throw SpecError(path: join(path, pair.key), message: message)
        }
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
