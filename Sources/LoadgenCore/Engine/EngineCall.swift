import NetIO
import ResilientClient

/// One scheduled call while it lives on a loop: queued, connecting, in flight, or sleeping before a retry.
/// Touched only on its loop's thread.
/// Its stored properties are `@exclusivity(unchecked)`, as everything touched only on a loop's thread is here
/// (see `EventLoop`): one callback runs at a time, so Swift's dynamic exclusivity checks cannot find a conflict.
final class EngineCall: @unchecked Sendable {
    /// Where the call is in its life.
    enum Phase: Equatable {
        /// Waiting for a free connection.
        case queued
        /// Its attempt is opening a connection.
        case connecting
        /// Its attempt's request was handed to a connection.
        case inFlight
        /// Sleeping before the next attempt (a backoff, or a wait for the adaptive rate limiter's token).
        case backoff
        /// Recorded.
        case finished
    }

    /// Arrival index (request generation and the record).
    let index: Int64
    /// The intended start (`EventLoop.now()` scale).
    let intendedStart: UInt64
    /// Whether the call started during warmup (executed, not recorded).
    let warmup: Bool
    /// The closed-loop user (loop-local index), or -1 in an open loop.
    let user: Int
    /// The request, built once.
    let request: PreparedRequest
    /// The call's life, as the library lives it: this loop does what it says.
    @exclusivity(unchecked) var machine: CallMachine
    /// The first attempt (kept inline: most calls have exactly one).
    @exclusivity(unchecked) private(set) var firstAttempt: MeasuredAttempt?
    /// Attempts after the first.
    @exclusivity(unchecked) private(set) var laterAttempts: [MeasuredAttempt] = []
    /// Current phase.
    @exclusivity(unchecked) var phase: Phase = .queued
    /// Whether the budget refused a retry the policy wanted.
    @exclusivity(unchecked) var budgetDenied = false
    /// How many of its attempts the adaptive rate limiter made wait.
    @exclusivity(unchecked) var pacedAttempts = 0
    /// Position in the loop's list of live calls.
    @exclusivity(unchecked) var liveIndex = -1
    /// The connection slot of the current attempt.
    @exclusivity(unchecked) var slot = -1
    /// When the current attempt started (connect included).
    @exclusivity(unchecked) var attemptSent: UInt64 = 0
    /// When the current attempt times out (`EventLoop.now()` scale).
    @exclusivity(unchecked) var attemptDeadline: UInt64 = 0
    /// The backoff timer, or an `https` attempt's timeout.
    @exclusivity(unchecked) var timer: TimerID?
    /// An `https` attempt's task (`SecureSender`), cancelled when the run's drain period ends.
    @exclusivity(unchecked) var task: Task<Void, Never>?
    /// A hedged call: the timer that sends the next hedge.
    @exclusivity(unchecked) var hedgeTimer: TimerID?
    /// A hedged call: its attempts in flight (the losers to cancel when it ends).
    @exclusivity(unchecked) var hedges: [EngineAttempt] = []

    init(index: Int64, intendedStart: UInt64, warmup: Bool, user: Int, request: PreparedRequest, machine: CallMachine) {
        self.index = index
        self.intendedStart = intendedStart
        self.warmup = warmup
        self.user = user
        self.request = request
        self.machine = machine
    }

    /// Whether any attempt was made.
    var hasAttempts: Bool { firstAttempt != nil }

    /// The latest attempt.
    var lastAttempt: MeasuredAttempt? { laterAttempts.last ?? firstAttempt }

    /// Adds an attempt.
    func append(_ attempt: MeasuredAttempt) {
        if firstAttempt == nil { firstAttempt = attempt } else { laterAttempts.append(attempt) }
    }

    /// Adds an attempt before the last one: a hedged call's losers, cancelled when the last attempt decided
    /// the call (whose outcome is its last attempt's).
    func insertBeforeLast(_ attempt: MeasuredAttempt) {
        guard let first = firstAttempt else {
            firstAttempt = attempt
            return
        }
        if laterAttempts.isEmpty {
            firstAttempt = attempt
            laterAttempts.append(first)
        } else {
            laterAttempts.insert(attempt, at: laterAttempts.count - 1)
        }
    }

    /// Writes every attempt, in order, into `buffer` (reused between calls to avoid an allocation per call).
    func copyAttempts(into buffer: inout [MeasuredAttempt]) {
        // Emptied from the end: `removeAll(keepingCapacity:)` goes through the generic `replaceSubrange` (about
        // 150 instructions), `removeLast()` is a count decrement, and the buffer holds one attempt for most calls.
        while !buffer.isEmpty { buffer.removeLast() }
        if let firstAttempt { buffer.append(firstAttempt) }
        if !laterAttempts.isEmpty { buffer.append(contentsOf: laterAttempts) }
    }
}

/// A FIFO of calls.
typealias CallQueue = FIFOQueue<EngineCall>
