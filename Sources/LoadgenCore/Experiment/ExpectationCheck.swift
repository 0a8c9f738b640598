/// One comparison of an expectation, written like a threshold but over the variants' figures:
/// `recovery_s[retries+budget+gate] <= recovery_s[no-retries] + 1`, `amplification[retries] > 2`,
/// `attempts[exponential] >= 2 * attempts[full-jitter]`.
///
/// Each side is a number or `[FACTOR *] METRIC[VARIANT] [+|- OFFSET]`, where METRIC is an
/// `ExperimentMetric` name and VARIANT a variant's name (brackets, because names like `retries+budget` hold
/// `+`). The operator is `<`, `<=`, `>` or `>=`. A time to recover or to first success that never came
/// compares as +∞; any other missing figure (the endpoint had no `/stats`, no successful call) makes the
/// check fail with "no data".
public struct ExpectationCheck: Sendable, Equatable {
    /// The check as written.
    public var expression: String
    /// The left side.
    public var left: Operand
    /// The comparison.
    public var comparison: Comparison
    /// The right side.
    public var right: Operand

    /// `<`, `<=`, `>`, `>=`.
    public enum Comparison: String, Sendable, CaseIterable {
        /// Strictly less.
        case less = "<"
        /// Less or equal.
        case lessOrEqual = "<="
        /// Strictly greater.
        case greater = ">"
        /// Greater or equal.
        case greaterOrEqual = ">="

        func holds(_ left: Double, _ right: Double) -> Bool {
            switch self {
            case .less: return left < right
            case .lessOrEqual: return left <= right
            case .greater: return left > right
            case .greaterOrEqual: return left >= right
            }
        }
    }

    /// One side of a check.
    public enum Operand: Sendable, Equatable {
        /// A number.
        case constant(Double)
        /// `factor × metric[variant] + offset`.
        case figure(factor: Double, metric: ExperimentMetric, variant: String, offset: Double)

        /// The variant the side refers to, if any.
        var variant: String? {
            if case .figure(_, _, let variant, _) = self { return variant }
            return nil
        }
    }

    /// The outcome of judging a check.
    public struct Outcome: Sendable, Equatable {
        /// The check.
        public var check: ExpectationCheck
        /// Whether it held (false when a figure was missing).
        public var held: Bool
        /// The two sides' values (`nil`: no data; +∞: never).
        public var left: Double?
        /// See `left`.
        public var right: Double?
    }

    /// Parses a check; the error says what is wrong with which part.
    public init(parsing text: String) throws(ExpectationError) {
        let trimmed = text.trimmingWhitespace()
        var depth = 0
        var found: (range: Range<String.Index>, comparison: Comparison)?
        var index = trimmed.startIndex
        while index < trimmed.endIndex, found == nil {
            let character = trimmed[index]
            if character == "[" { depth += 1 } else if character == "]" { depth -= 1 }
            if depth == 0, character == "<" || character == ">" {
                let next = trimmed.index(after: index)
                let orEqual = next < trimmed.endIndex && trimmed[next] == "="
                let end = orEqual ? trimmed.index(after: next) : next
                let symbol = String(character) + (orEqual ? "=" : "")
                if let comparison = Comparison(rawValue: symbol) { found = (index..<end, comparison) }
            }
            index = trimmed.index(after: index)
        }
        guard let found else {
            throw ExpectationError("\"\(text)\": expected a comparison like \"amplification[retries] > 2\" (with <, <=, > or >=)")
        }
        expression = trimmed
        comparison = found.comparison
        left = try Self.operand(String(trimmed[..<found.range.lowerBound]), in: text)
        right = try Self.operand(String(trimmed[found.range.upperBound...]), in: text)
        if left.variant == nil, right.variant == nil {
            throw ExpectationError("\"\(text)\": compares two numbers; name a figure like recovery_s[no-retries]")
        }
    }

    /// Parses one side.
    static func operand(_ side: String, in text: String) throws(ExpectationError) -> Operand {
        let part = side.trimmingWhitespace()
        guard !part.isEmpty else { throw ExpectationError("\"\(text)\": a side of the comparison is empty") }
        if let number = Double(part), number.isFinite { return .constant(number) }
        guard let open = part.firstIndex(of: "["), let close = part.lastIndex(of: "]"), open < close else {
            throw ExpectationError(
                "\"\(text)\": \"\(part)\" is neither a number nor a figure like amplification[retries]")
        }
        var head = String(part[..<open]).trimmingWhitespace()
        var factor = 1.0
        if let star = head.firstIndex(of: "*") {
            let factorText = String(head[..<star]).trimmingWhitespace()
            guard let value = Double(factorText), value.isFinite else {
                throw ExpectationError("\"\(text)\": expected a number before \"*\", got \"\(factorText)\"")
            }
            factor = value
            head = String(head[head.index(after: star)...]).trimmingWhitespace()
        }
        guard let metric = ExperimentMetric(rawValue: head) else {
            let names = ExperimentMetric.allCases.map(\.rawValue).joined(separator: ", ")
            throw ExpectationError("\"\(text)\": unknown figure \"\(head)\" (expected one of: \(names))")
        }
        let variant = String(part[part.index(after: open)..<close]).trimmingWhitespace()
        guard !variant.isEmpty else { throw ExpectationError("\"\(text)\": empty variant name in \"\(part)\"") }
        let tail = String(part[part.index(after: close)...]).trimmingWhitespace()
        var offset = 0.0
        if !tail.isEmpty {
            let sign: Double = tail.hasPrefix("+") ? 1 : tail.hasPrefix("-") ? -1 : 0
            let number = Double(String(tail.dropFirst()).trimmingWhitespace())
            guard sign != 0, let number, number.isFinite else {
                throw ExpectationError("\"\(text)\": expected \"+ N\" or \"- N\" after \"\(part[...close])\", got \"\(tail)\"")
            }
            offset = sign * number
        }
        return .figure(factor: factor, metric: metric, variant: variant, offset: offset)
    }

    /// The variant names the check refers to.
    public var variants: [String] { [left.variant, right.variant].compactMap { $0 } }

    /// Judges the check with `value(metric, variant)` (`nil`: missing).
    public func judge(_ value: (ExperimentMetric, String) -> Double?) -> Outcome {
        func evaluate(_ operand: Operand) -> Double? {
            switch operand {
            case .constant(let number): return number
            case .figure(let factor, let metric, let variant, let offset):
                guard let figure = value(metric, variant) else { return metric.missingMeansNever ? .infinity : nil }
                return factor * figure + offset
            }
        }
        let leftValue = evaluate(left)
        let rightValue = evaluate(right)
        var held = false
        if let leftValue, let rightValue {
            held = comparison.holds(leftValue, rightValue)
        }
        return Outcome(check: self, held: held, left: leftValue, right: rightValue)
    }
}
