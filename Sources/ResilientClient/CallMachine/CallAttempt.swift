/// One attempt a ``CallMachine`` wants sent.
public struct CallAttempt: Sendable, Equatable, Hashable {
    /// 1 for the first attempt.
    public var number: Int
    /// Whether the gate let it through as a half-open trial.
    public var trial: Bool
    /// How long it may take: the attempt timeout, shortened to the time left before the call's deadline;
    /// `nil` for no bound.
    public var timeout: Duration?

    /// Creates an attempt.
    public init(number: Int, trial: Bool, timeout: Duration?) {
        self.number = number
        self.trial = trial
        self.timeout = timeout
    }
}
