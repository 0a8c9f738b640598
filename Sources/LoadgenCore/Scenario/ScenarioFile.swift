import Foundation

/// A scenario or experiment file read from disk: its bytes, the folder its relative paths resolve against,
/// and its name without the extension (the default scenario name).
struct ScenarioFile {
    /// The file's contents.
    let bytes: [UInt8]
    /// The folder holding the file.
    let directory: String
    /// The working directory relative paths on the command line resolved against.
    let currentDirectory: String
    /// The file name without its extension.
    let stem: String

    /// Reads the file at `path` (relative to `currentDirectory`, the process's by default). Throws a
    /// `ScenarioError` naming the file and what is wrong: missing, a folder, unreadable. `kind` names the file
    /// in that message ("scenario", "experiment").
    init(path: String, currentDirectory: String?, kind: String) throws(ScenarioError) {
        let cwd = currentDirectory ?? FileManager.default.currentDirectoryPath
        let absolute = path.hasPrefix("/") ? path : (cwd as NSString).appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            throw ScenarioError(path: "", message: "cannot read \(kind) file \"\(path)\": no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: absolute) else {
            throw ScenarioError(path: "", message: "cannot read \(kind) file \"\(path)\": not a readable file")
        }
        bytes = Array(data)
        directory = (absolute as NSString).deletingLastPathComponent
        self.currentDirectory = cwd
        stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    }
}
