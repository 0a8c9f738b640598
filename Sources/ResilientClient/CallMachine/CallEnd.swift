/// How a call ended, as a ``CallMachine`` decided it.
public enum CallEnd: Sendable, Equatable, Hashable {
    /// The last attempt succeeded.
    case succeeded
    /// The call failed for this reason after its last attempt (``CallMachine/lastOutcome``); `.deadlineExceeded`
    /// also when the deadline passed before an attempt could be sent (at the gate, or with no time left).
    case gaveUp(GiveUpReason)
    /// The gate is blocked and calls fail fast (``GateWaitMode/failFast``).
    case gateBlocked
    /// The caller cancelled the call.
    case cancelled
    /// The client (or the run) shut down.
    case shutdown
}
