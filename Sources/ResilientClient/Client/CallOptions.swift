/// What one call (or every call of one ``Route``) changes from the client's configuration: header fields
/// (a token, a request ID, an idempotency key), a deadline and a retry policy.
///
/// ```swift
/// let options = CallOptions(
///     headers: [("Authorization", "Bearer \(token)"), ("X-Request-ID", requestID)],
///     deadline: .seconds(2), retry: RetryPolicy(maxAttempts: 1))
/// let reply = try await client.call(predict, body, options: options)
/// ```
///
/// **Headers** are added to the configuration's ``ResilientClientConfiguration/headers``; a field whose name
/// (compared without regard to case) is already there replaces it. Every attempt of the call sends them.
///
/// **Precedence.** A route's options apply to each of its calls; a call's own options apply over them, field
/// by field (their headers over the route's, which are over the configuration's). A call's `deadline:`
/// argument, when given, is over both.
public struct CallOptions: Sendable {
    /// Header fields added to the configuration's, replacing any of the same name.
    public var headers: [(name: String, value: String)]
    /// The call's overall deadline across attempts, sleeps and gate waits; `nil`: the configuration's.
    public var deadline: Duration?
    /// The retry policy of the call; `nil`: the configuration's. `RetryPolicy(maxAttempts: 1)` never retries.
    public var retry: RetryPolicy?

    /// Creates options; the defaults change nothing.
    public init(headers: [(name: String, value: String)] = [], deadline: Duration? = nil, retry: RetryPolicy? = nil) {
        self.headers = headers
        self.deadline = deadline
        self.retry = retry
    }

    /// Options that add one `Idempotency-Key` header field, the key a server uses to run a request with
    /// side effects at most once however often it is retried.
    public static func idempotencyKey(_ key: String) -> CallOptions {
        CallOptions(headers: [("Idempotency-Key", key)])
    }

    /// These options applied over `base` (a route's): fields set here win, headers are merged.
    public func applied(over base: CallOptions?) -> CallOptions {
        guard let base else { return self }
        return CallOptions(
            headers: Self.merge(headers, over: base.headers), deadline: deadline ?? base.deadline,
            retry: retry ?? base.retry)
    }

    /// `extra` added to `base`; a field of `extra` replaces every field of `base` with the same name
    /// (compared without regard to case), and keeps its own place at the end.
    static func merge(
        _ extra: [(name: String, value: String)], over base: [(name: String, value: String)]
    ) -> [(name: String, value: String)] {
        guard !extra.isEmpty else { return base }
        let replaced = Set(extra.map { $0.name.lowercased() })
        return base.filter { !replaced.contains($0.name.lowercased()) } + extra
    }
}
