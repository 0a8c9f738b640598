/// One attempt a ``CallMachine`` wants sent.
public struct CallAttempt: Sendable, Equatable, Hashable {
    /// 1 for the first attempt.
    public var number: Int
    /// Whether the gate let it through as a trial call.
    public var trial: Bool
    /// How long it may take: the attempt timeout, shortened to the time left before the call's deadline;
    /// `nil` for no bound.
    public var timeout: Duration?
    /// For a hedged call that may send another attempt: when this one has gone unanswered this long, call
    /// ``CallMachine/hedgeDue(now:budget:gate:)``. `nil` otherwise.
    public var hedgeAfter: Duration?

    /// Creates an attempt.
    public init(number: Int, trial: Bool, timeout: Duration?, hedgeAfter: Duration? = nil) {
        self.number = number
        self.trial = trial
        self.timeout = timeout
        self.hedgeAfter = hedgeAfter
    }
}
