/// A rule of the caller's about which failed attempts are retried, consulted before the status sets of
/// ``RetryClassifier``: it answers `true` (retry), `false` (do not), or `nil` (let the classifier decide).
///
/// ```swift
/// // Retry 500 too, but only for idempotent routes; never retry a connect timeout.
/// let predicate = RetryPredicate { outcome, idempotent in
///     switch outcome {
///     case .status(500): return idempotent
///     case .transport(.connectTimeout): return false
///     default: return nil
///     }
/// }
/// let policy = RetryPolicy(retryPredicate: predicate)
/// ```
///
/// It sees every outcome that is not a 2xx (a success is never retried). A retry it allows is still subject
/// to the attempts, the deadline and the retry budget. Two predicates are equal only when they are the same
/// value (closures cannot be compared).
public struct RetryPredicate: Sendable, Hashable {
    private final class Box: Sendable {
        let decide: @Sendable (AttemptOutcome, Bool) -> Bool?
        init(_ decide: @escaping @Sendable (AttemptOutcome, Bool) -> Bool?) { self.decide = decide }
    }

    private let box: Box

    /// A predicate over an attempt's outcome and whether the route is idempotent.
    public init(_ decide: @escaping @Sendable (_ outcome: AttemptOutcome, _ idempotent: Bool) -> Bool?) {
        box = Box(decide)
    }

    /// The predicate's answer for `outcome`.
    public func callAsFunction(_ outcome: AttemptOutcome, idempotent: Bool) -> Bool? {
        box.decide(outcome, idempotent)
    }

    /// The same predicate value.
    public static func == (lhs: RetryPredicate, rhs: RetryPredicate) -> Bool {
        lhs.box === rhs.box
    }

    /// Hashes the predicate's identity.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(box))
    }
}
