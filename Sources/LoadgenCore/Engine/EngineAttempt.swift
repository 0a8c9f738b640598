/// One attempt of a call on a loop: which of the call's attempts it is, the connection slot it holds, and
/// when it was sent and times out (`EventLoop.now()` scale). Captured by the attempt's callbacks, so that a
/// hedged call's attempts in flight at once each report their own.
struct EngineAttempt: Sendable, Equatable {
    /// The attempt's number (1 for the first).
    var number: Int
    /// The connection slot it holds.
    var slot: Int
    /// When it started (connect included).
    var sent: UInt64
    /// When it times out.
    var deadline: UInt64
}
