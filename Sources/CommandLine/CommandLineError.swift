/// A usage error. `description` is the message without the `error: ` prefix, naming the flag or argument and
/// what was expected, e.g. `--rate expects a positive number, got 'abc'`.
public struct CommandLineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message.
    public var message: String
    /// The command path the error belongs to (e.g. `["loadgen", "run"]`), used to point at the right `--help`.
    public var commandPath: [String]

    /// Creates an error.
    public init(_ message: String, commandPath: [String] = []) {
        self.message = message
        self.commandPath = commandPath
    }

    /// The message.
    public var description: String { message }

    /// The full text to print on standard error: `error: <message>` and a hint to run `--help`.
    public var report: String {
        var text = "error: \(message)\n"
        if !commandPath.isEmpty {
            text += "Run '\(commandPath.joined(separator: " ")) --help' for usage.\n"
        }
        return text
    }
}

/// Spelling suggestions for unknown flags and commands.
public enum Suggestion {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a plausible typo
    /// (distance at most 2, or at most a third of the word's length for long words), or if `word` is a
    /// unique prefix of one candidate.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let prefixed = candidates.filter { $0.hasPrefix(word) }
        if !word.isEmpty, prefixed.count == 1 { return prefixed[0] }
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(word, candidate)
            if best == nil || distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        guard let (candidate, distance) = best else { return nil }
        let limit = max(2, word.count / 3)
        return distance <= limit && distance < max(word.count, candidate.count) ? candidate : nil
    }

    /// Damerau–Levenshtein (optimal string alignment) distance: insertions, deletions, substitutions and
    /// transpositions of adjacent characters each cost 1.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a)
        let y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                var value = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    value = min(value, d[i - 2][j - 2] + 1)
                }
                d[i][j] = value
            }
        }
        return d[x.count][y.count]
    }
}
