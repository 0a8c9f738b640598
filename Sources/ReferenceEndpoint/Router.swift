import EndpointSpec

/// What the router decided for one request line. Pure value: no IO.
public enum RouteDecision: Equatable, Sendable {
    /// The built-in health check (`GET` or `HEAD /ping`).
    case ping
    /// A configured route, by its index in the configuration.
    case route(Int)
    /// The path exists with other methods: 405 with an `Allow` header listing them.
    case methodNotAllowed(allow: String)
    /// The path exists only with or without a trailing slash: 307 to the other spelling, as FastAPI's
    /// `redirect_slashes` does.
    case redirect(path: String)
    /// Nothing at this path: 404.
    case notFound
}

/// Maps method and path to a route, mirroring Starlette's routing rules as FastAPI applies them:
/// exact path match; a GET route also answers HEAD; a path known under other methods gives 405 with
/// `Allow`; a path that exists only with (or without) a trailing slash gives a 307 redirect.
public struct Router: Sendable {
    /// Path of the built-in health check.
    public static let pingPath = "/ping"

    private var methodsByPath: [String: [String: Int]] = [:]

    /// Builds the table; throws on a duplicate route or one that shadows `GET /ping`.
    public init(routes: [RouteSpec]) throws(RouteTableError) {
        for (index, route) in routes.enumerated() {
            let verb = route.verb.uppercased()
            guard route.path.hasPrefix("/") else {
                throw RouteTableError(message: "route \(index) (\(verb) \(route.path)): path must start with '/'")
            }
            if route.path == Self.pingPath && (verb == "GET" || verb == "HEAD") {
                throw RouteTableError(
                    message: "route \(index) (\(verb) \(route.path)) conflicts with the built-in health check GET /ping")
            }
            var methods = methodsByPath[route.path] ?? [:]
            if let other = methods[verb] {
                throw RouteTableError(
                    message: "route \(index) (\(verb) \(route.path)) duplicates route \(other) with the same verb and path")
            }
            methods[verb] = index
            methodsByPath[route.path] = methods
        }
    }

    /// Decides what to do with `method` on `path` (the request target without its query string).
    public func resolve(method: String, path: String) -> RouteDecision {
        if path == Self.pingPath {
            if method == "GET" || method == "HEAD" { return .ping }
            if let index = methodsByPath[path]?[method] { return .route(index) }
            return .methodNotAllowed(allow: allowHeader(for: path))
        }
        if let methods = methodsByPath[path] {
            if let index = methods[method] { return .route(index) }
            if method == "HEAD", let index = methods["GET"] { return .route(index) }
            return .methodNotAllowed(allow: allowHeader(for: path))
        }
        let alternative = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path + "/"
        if methodsByPath[alternative] != nil || alternative == Self.pingPath {
            return .redirect(path: alternative)
        }
        return .notFound
    }

    private func allowHeader(for path: String) -> String {
        var verbs = Set(methodsByPath[path]?.keys.map { $0 } ?? [])
        if path == Self.pingPath { verbs.formUnion(["GET", "HEAD"]) }
        if verbs.contains("GET") { verbs.insert("HEAD") }
        return verbs.sorted().joined(separator: ", ")
    }
}

/// A route table that cannot be served (duplicate route, bad path, clash with `/ping`).
public struct RouteTableError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the route.
    public var message: String
    /// Same as `message`.
    public var description: String { message }
}
