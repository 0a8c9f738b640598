/// The type of one body-template parameter, as the seed names them.
public enum ParamType: String, Codable, Sendable, CaseIterable {
    case str, int, float, bool, dict, list
}

/// One attribute of a route's request body template: `{name, type, optional, default_value}`.
///
/// `defaultValue` is Python literal source text (`None`, `0.5`, `'abc'`, `[1, 2]`), exactly as the
/// proxiML SDK and CLI take it. It is evaluated by the Python worker with `ast.literal_eval` at start.
public struct BodyParam: Sendable, Equatable, Hashable {
    /// Attribute name in the JSON body, and keyword argument name for keyword routes.
    public var name: String
    /// Expected type.
    public var type: ParamType
    /// Whether the attribute may be omitted (it then receives `defaultValue`).
    public var optional: Bool
    /// Python literal used when an optional attribute is omitted; `nil` means `None`.
    public var defaultValue: String?

    /// Creates a parameter.
    public init(name: String, type: ParamType, optional: Bool = false, defaultValue: String? = nil) {
        self.name = name
        self.type = type
        self.optional = optional
        self.defaultValue = defaultValue
    }
}

/// One route of an endpoint: `{verb, path, file, function, positional, body}` as in the proxiML seed.
public struct RouteSpec: Sendable, Equatable, Hashable {
    /// HTTP method, upper-case (`POST` by default, as in the seed).
    public var verb: String
    /// URL path, starting with `/`.
    public var path: String
    /// Python file inside the model folder, with or without `.py`.
    public var file: String
    /// Function inside `file` to call.
    public var function: String
    /// `true`: body attributes are passed as positional arguments in template order; `false`: by keyword.
    public var positional: Bool
    /// The request body template.
    public var body: [BodyParam]

    /// Creates a route.
    public init(
        verb: String = "POST", path: String, file: String, function: String, positional: Bool = false,
        body: [BodyParam] = []
    ) {
        self.verb = verb.uppercased()
        self.path = path
        self.file = file
        self.function = function
        self.positional = positional
        self.body = body
    }

    /// `file` without a trailing `.py`, i.e. the Python module name (package-internal: the endpoint's workers
    /// import it).
    package var moduleName: String {
        file.hasSuffix(".py") ? String(file.dropLast(3)) : file
    }
}

/// The SDK's `endpoint` object: `{"routes": [...]}` (the endpoint's routes file; package-internal: an
/// application describes routes with `RouteSpec` and `Route`).
package struct EndpointConfig: Sendable, Equatable {
    /// The routes, in declaration order.
    public var routes: [RouteSpec]
    /// Creates a configuration.
    public init(routes: [RouteSpec]) { self.routes = routes }
}
