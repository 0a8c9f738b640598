import EndpointSpec
import Foundation

/// Where the package lives, found from this file's path (Tests/TestSupport/Repository.swift), so tests can
/// reach `examples/` and `scenarios/` whatever the working directory.
public enum Repository {
    /// The package root.
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `examples/NAME`.
    public static func example(_ name: String) -> String { root + "/examples/" + name }

    /// The routes of examples/calculator/routes.json, decoded the way `--routes-file` decodes them, in the
    /// file's order. The file is part of the repository: a test run that cannot read it stops here, saying why.
    public static let calculatorRoutes: [RouteSpec] = {
        let path = example("calculator") + "/routes.json"
        guard let data = FileManager.default.contents(atPath: path) else { fatalError("cannot read \(path)") }
        do {
            return try EndpointConfig.decode(json: Array(data)).routes
        } catch {
            fatalError("\(path): \(error)")
        }
    }()

    /// The calculator route with this path.
    public static func calculatorRoute(_ path: String) -> RouteSpec {
        guard let route = calculatorRoutes.first(where: { $0.path == path }) else {
            fatalError("examples/calculator/routes.json has no route \(path)")
        }
        return route
    }
}
