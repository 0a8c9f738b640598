import EndpointSpec

/// What the router decided for one request line. Pure value: no IO.
public enum RouteDecision: Equatable, Sendable {
    /// The built-in health check (`GET` or `HEAD /ping`).
    case ping
    /// The built-in counters (`GET` or `HEAD /stats`).
    case stats
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
    /// Path of the built-in counters.
    public static let statsPath = "/stats"
    /// Paths whose `GET` and `HEAD` the endpoint answers itself; a route may not claim them.
    static let reservedPaths = [pingPath, statsPath]

    /// The routes of each path as (verb, route index) pairs, sorted by path and found by binary search: a few
    /// string comparisons cost less than hashing the path for a dictionary (1.5% of a `POST /predict`'s
    /// instructions, `Benchmarks/endpoint-instructions.sh`). A path has a few verbs at most, so
    /// a linear search among them costs less than hashing the method. (`String`'s `<` and `==` agree: both
    /// compare canonical equivalence, as a dictionary's keys do.)
    private var table: [(path: String, methods: [(verb: String, index: Int)])] = []

    /// Builds the table; throws on a duplicate route or one that shadows `GET /ping` or `GET /stats`.
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
            if route.path == Self.statsPath && (verb == "GET" || verb == "HEAD") {
                throw RouteTableError(
                    message: "route \(index) (\(verb) \(route.path)) conflicts with the built-in counters GET /stats "
                        + "(reserved, like GET /ping)")
            }
            let position = firstPosition(notBelow: route.path)
            let known = position < table.count && table[position].path == route.path
            if known, let other = table[position].methods.first(where: { $0.verb == verb }) {
                throw RouteTableError(
                    message: "route \(index) (\(verb) \(route.path)) duplicates route \(other.index) with the same verb "
                        + "and path")
            }
            if known {
                table[position].methods.append((verb, index))
            } else {
                table.insert((route.path, [(verb, index)]), at: position)
            }
        }
    }

    /// The index of the first entry of `table` whose path is not below `path` (`table.count` if none).
    private func firstPosition(notBelow path: String) -> Int {
        var low = 0
        var high = table.count
        while low < high {
            let middle = low + (high - low) / 2
            if table[middle].path < path { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The routes at exactly `path`, nil if it has none.
    private func methods(at path: String) -> [(verb: String, index: Int)]? {
        let position = firstPosition(notBelow: path)
        return position < table.count && table[position].path == path ? table[position].methods : nil
    }

    /// Decides what to do with `method` on `path` (the request target without its query string).
    public func resolve(method: String, path: String) -> RouteDecision {
        if Self.reservedPaths.contains(path) {
            if method == "GET" || method == "HEAD" { return path == Self.pingPath ? .ping : .stats }
            if let index = methods(at: path)?.first(where: { $0.verb == method })?.index { return .route(index) }
            return .methodNotAllowed(allow: allowHeader(for: path))
        }
        if let methods = methods(at: path) {
            if let route = methods.first(where: { $0.verb == method }) { return .route(route.index) }
            if method == "HEAD", let route = methods.first(where: { $0.verb == "GET" }) { return .route(route.index) }
            return .methodNotAllowed(allow: allowHeader(for: path))
        }
        let alternative = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path + "/"
        if methods(at: alternative) != nil || Self.reservedPaths.contains(alternative) {
            return .redirect(path: alternative)
        }
        return .notFound
    }

    /// The path to route for a request target, as Starlette (uvicorn) sees it: an absolute-form target
    /// (`http://host/add`, RFC 9112 §3.2.2) is reduced to its path, the query and any fragment are dropped and
    /// `%XX` escapes are decoded as UTF-8 (invalid escapes kept, invalid UTF-8 replaced by U+FFFD, like
    /// Python's `urllib.parse.unquote`), so `/a%64d` routes to `/add` as it does under FastAPI.
    public static func routingPath(of target: String) -> String {
        // The common case, an origin-form path without query, fragment or escape, is its own routing path (one
        // pass over contiguous bytes; Substring's UTF8View, below, is several times slower per byte).
        var copy = target
        let isPlainPath = copy.withUTF8 { bytes in
            bytes.first == UInt8(ascii: "/") && !bytes.contains { $0 == 0x3F || $0 == 0x23 || $0 == 0x25 }
        }
        if isPlainPath { return target }
        var rest = Substring(target)
        // Absolute form (`http://host/path`), which RFC 9112 §3.2.2 says servers must accept.
        if rest.utf8.first != UInt8(ascii: "/"), let scheme = rest.range(of: "://"),
            rest[..<scheme.lowerBound].allSatisfy({ $0.isLetter })
        {
            let authorityAndPath = rest[scheme.upperBound...]
            if let slash = authorityAndPath.utf8.firstIndex(where: { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 }),
                authorityAndPath.utf8[slash] == 0x2F
            {
                rest = authorityAndPath[slash...]
            } else {
                return "/"
            }
        }
        // Query and fragment are not part of the path ('?' and '#' are ASCII, so byte search is exact).
        if let end = rest.utf8.firstIndex(where: { $0 == 0x3F || $0 == 0x23 }) { rest = rest[..<end] }
        guard rest.utf8.contains(UInt8(ascii: "%")) else { return String(rest) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rest.utf8.count)
        let utf8 = Array(rest.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `path` percent-encoded for a `Location` header the way Starlette's `RedirectResponse` quotes it: ASCII
    /// letters, digits, `_.-~` and `:/%#?=@[]!$&'()*+,;` are kept, every other UTF-8 byte becomes `%XX`.
    public static func quotedPath(_ path: String) -> String {
        let safe = Set(":/%#?=@[]!$&'()*+,;_.-~".utf8)
        guard path.utf8.contains(where: { !(isASCIIAlphanumeric($0) || safe.contains($0)) }) else { return path }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in path.utf8 {
            if isASCIIAlphanumeric(byte) || safe.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private func allowHeader(for path: String) -> String {
        var verbs = Set(methods(at: path)?.map(\.verb) ?? [])
        if Self.reservedPaths.contains(path) { verbs.formUnion(["GET", "HEAD"]) }
        if verbs.contains("GET") { verbs.insert("HEAD") }
        return verbs.sorted().joined(separator: ", ")
    }
}

/// A route table that cannot be served (duplicate route, bad path, clash with `/ping` or `/stats`).
public struct RouteTableError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, naming the route.
    public var message: String
    /// Same as `message`.
    public var description: String { message }
}
