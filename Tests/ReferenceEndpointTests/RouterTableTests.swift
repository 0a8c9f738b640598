import EndpointSpec
import Testing

@testable import ReferenceEndpoint

/// `Router`'s table on its own (no server): many paths added in any order, each found by its exact spelling.
struct RouterTableTests {
    @Test("300 paths in shuffled order: each resolves to its route; near misses do not")
    func manyPathsInAnyOrder() throws {
        var paths = (0..<100).flatMap { ["/m\($0)", "/m\($0)/sub", "/é\($0)"] }
        var rng = SystemRandomNumberGenerator()
        paths.shuffle(using: &rng)
        var routes = paths.map { RouteSpec(path: $0, file: "f", function: "g") }
        routes.append(RouteSpec(verb: "PUT", path: paths[0], file: "f", function: "h"))
        let router = try Router(routes: routes)
        for (index, path) in paths.enumerated() {
            #expect(router.resolve(method: "POST", path: path) == .route(index), "\(path)")
        }
        #expect(router.resolve(method: "PUT", path: paths[0]) == .route(paths.count))
        #expect(router.resolve(method: "GET", path: paths[0]) == .methodNotAllowed(allow: "POST, PUT"))
        #expect(router.resolve(method: "POST", path: "/m100") == .notFound)
        #expect(router.resolve(method: "POST", path: "/m") == .notFound)
        #expect(router.resolve(method: "POST", path: "/") == .notFound)
        #expect(router.resolve(method: "POST", path: "/zzz") == .notFound)
        #expect(router.resolve(method: "POST", path: "/m7/") == .redirect(path: "/m7"))
        // Canonically equivalent spellings are one path, as they were as dictionary keys: é precomposed (U+00E9)
        // and decomposed (e + U+0301).
        #expect(router.resolve(method: "POST", path: "/e\u{301}5") == router.resolve(method: "POST", path: "/é5"))
    }

    @Test("the same verb and path twice is refused, however many paths sort between the two")
    func duplicateAmongMany() {
        var routes = (0..<50).map { RouteSpec(path: "/p\($0)", file: "f", function: "g") }
        routes.append(RouteSpec(path: "/p17", file: "f", function: "g"))
        let error = #expect(throws: RouteTableError.self) { try Router(routes: routes) }
        #expect(error?.message == "route 50 (POST /p17) duplicates route 17 with the same verb and path")
    }
}
