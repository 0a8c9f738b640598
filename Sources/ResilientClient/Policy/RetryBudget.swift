/// A per-client retry budget in the style of Finagle's `RetryBudget`: retries may add at most a fixed
/// fraction of extra load, plus a small constant allowance so that a client with little traffic can
/// still retry.
///
/// **Design.** Every call (first attempt) *deposits* into the budget; every retry *withdraws* one.
/// Over any sliding window of `window` length (default 10 s), the number of retries allowed is
///
///     minRetriesPerSecond × window  +  retryRatio × calls-in-window
///
/// so under sustained overload, when every attempt fails, a client sends at most
/// `(1 + retryRatio)` times its call rate plus `minRetriesPerSecond` — not `maxAttempts` times it.
/// Deposits and withdrawals expire after `window` (they are counted in `slots` buckets of
/// `window / slots` each), so a burst of calls long ago does not pay for retries now.
///
/// Defaults (Finagle's): `window` 10 s, `minRetriesPerSecond` 10, `retryRatio` 0.2.
///
/// The budget is a pure value: time is passed in as `now`, a monotonic reading since any fixed origin.
///
/// ```swift
/// var budget = RetryBudget(.init(window: .seconds(10), minRetriesPerSecond: 0, retryRatio: 0.5))
/// budget.deposit(now: .zero)               // one call
/// budget.deposit(now: .zero)               // another call
/// budget.tryWithdraw(now: .seconds(1))     // true: 0.5 × 2 = 1 retry allowed
/// budget.tryWithdraw(now: .seconds(1))     // false: the budget is spent
/// ```
public struct RetryBudget: Sendable, Equatable {
    /// The parameters of a budget.
    public struct Configuration: Sendable, Equatable, Hashable {
        /// How long a deposit or withdrawal counts. Default 10 s.
        public var window: Duration
        /// Retries always allowed per second of `window`, whatever the call rate. Default 10.
        public var minRetriesPerSecond: Int
        /// Retries allowed per call within the window (0.2 = 20 % extra load). Default 0.2.
        public var retryRatio: Double
        /// Number of time buckets the window is split into (its resolution). Default 10.
        public var slots: Int
        /// When `true` the budget never refuses (use for tests and benchmarks, not in production).
        public var unlimited: Bool

        /// Creates a configuration; out-of-range values are clamped (window ≥ 1 ms, counts ≥ 0, slots ≥ 1).
        public init(
            window: Duration = .seconds(10), minRetriesPerSecond: Int = 10, retryRatio: Double = 0.2,
            slots: Int = 10, unlimited: Bool = false
        ) {
            self.window = max(window, .milliseconds(1))
            self.minRetriesPerSecond = max(0, minRetriesPerSecond)
            self.retryRatio = retryRatio.isFinite ? max(0, retryRatio) : 0
            self.slots = max(1, slots)
            self.unlimited = unlimited
        }

        /// A budget that always allows retries.
        public static let unlimited = Configuration(unlimited: true)
    }

    private struct Slot: Sendable, Equatable {
        var epoch: Int64 = Int64.min
        var deposits: Int = 0
        var withdrawals: Int = 0
    }

    /// The configuration this budget enforces.
    public let configuration: Configuration
    private var slots: [Slot]
    private let slotNanoseconds: Int64
    /// The slot last touched and the time span it covers, so that a deposit within the same span
    /// needs two comparisons instead of a 128-bit division (a cache: not part of the budget's value).
    private var current: (index: Int, from: Duration, until: Duration) = (0, .zero, .zero)

    /// Creates an empty budget (only the `minRetriesPerSecond` allowance is available).
    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.slots = Array(repeating: Slot(), count: configuration.slots)
        self.slotNanoseconds = max(1, configuration.window.clampedNanoseconds / Int64(configuration.slots))
    }

    /// Records one call (a first attempt) at `now`.
    public mutating func deposit(now: Duration) {
        let index = touch(now)
        slots[index].deposits += 1
    }

    /// Takes one retry from the budget if it allows one at `now`; `false` means "do not retry".
    public mutating func tryWithdraw(now: Duration) -> Bool {
        if configuration.unlimited { return true }
        guard available(now: now) >= 1 else { return false }
        let index = touch(now)
        slots[index].withdrawals += 1
        return true
    }

    /// The number of retries that `tryWithdraw` would allow at `now` (`Int.max` when unlimited).
    public func available(now: Duration) -> Int {
        if configuration.unlimited { return Int.max }
        let current = epoch(now)
        var deposits = 0
        var withdrawals = 0
        for slot in slots where slot.epoch > current - Int64(slots.count) && slot.epoch <= current {
            deposits += slot.deposits
            withdrawals += slot.withdrawals
        }
        let windowSeconds = Double(configuration.window.clampedNanoseconds) / 1e9
        let allowance = Double(configuration.minRetriesPerSecond) * windowSeconds
        let earned = configuration.retryRatio * Double(deposits)
        let balance = (allowance + earned - Double(withdrawals)).rounded(.down)
        return balance >= Double(Int.max) ? Int.max : max(0, Int(balance))
    }

    private func epoch(_ now: Duration) -> Int64 {
        now.clampedNanoseconds / slotNanoseconds
    }

    /// The slot index for `now`, cleared if it last held an older bucket.
    private mutating func touch(_ now: Duration) -> Int {
        if now >= current.from && now < current.until { return current.index }
        let epoch = epoch(now)
        let index = Int(((epoch % Int64(slots.count)) + Int64(slots.count)) % Int64(slots.count))
        if slots[index].epoch != epoch {
            slots[index] = Slot(epoch: epoch)
        }
        let (from, overflow) = epoch.multipliedReportingOverflow(by: slotNanoseconds)
        // Only a slot at or after the origin whose span fits in Int64 nanoseconds is remembered (before the
        // origin, `epoch` rounds toward zero, so a slot's span is not where its readings fall).
        current =
            epoch < 0 || overflow || from > Int64.max - slotNanoseconds
            ? (0, .zero, .zero) : (index, .nanoseconds(from), .nanoseconds(from + slotNanoseconds))
        return index
    }

    /// Budgets are equal when they hold the same deposits and withdrawals under the same configuration.
    public static func == (lhs: RetryBudget, rhs: RetryBudget) -> Bool {
        lhs.configuration == rhs.configuration && lhs.slots == rhs.slots && lhs.slotNanoseconds == rhs.slotNanoseconds
    }
}
