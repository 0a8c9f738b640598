/// What a loop hands back at the end.
struct LoopOutcome: Sendable {
    /// The loop's share of the result.
    var result: RunResult
    /// When its last measured call ended (0 if none).
    var lastEnd: UInt64
}
