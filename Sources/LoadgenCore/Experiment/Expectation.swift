/// What an experiment should show: a sentence for people and the checks that decide it. It held when every
/// check holds (an expectation without checks is only printed, never judged as held).
public struct Expectation: Sendable, Equatable {
    /// The expectation in words, printed under the table.
    public var text: String
    /// The checks, like `amplification[retries] > 2`.
    public var checks: [ExpectationCheck]

    /// Creates an expectation.
    public init(text: String = "", checks: [ExpectationCheck] = []) {
        self.text = text
        self.checks = checks
    }
}
