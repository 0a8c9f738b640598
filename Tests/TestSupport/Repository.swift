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
}
