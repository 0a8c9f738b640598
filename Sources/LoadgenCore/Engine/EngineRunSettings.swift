import ResilientClient

/// Settings shared by every loop of one run (immutable).
struct EngineRunSettings: Sendable {
    /// Target host and port.
    let host: String
    let port: Int
    /// Requests per arrival index.
    let requests: RequestFactory
    /// Retry, budget, gate and timeouts.
    let policy: EnginePolicy
    /// Health path (base path included).
    let pingPath: String
    /// Jitter seed.
    let seed: UInt64
    /// Loops in the run.
    let loopCount: Int
    /// How long after the load ends calls may still finish.
    let drainNanoseconds: UInt64
    /// Calls allowed to wait for a connection, per loop.
    let queueLimit: Int
    /// The measured load.
    let load: LoadShape
    /// The warmup load, if any.
    let warmup: LoadShape?
    /// Set when the run is interrupted.
    let stop: EngineStop
    /// For an `https://` target: the transport attempts go through instead of the loop's connections.
    var secure: SecureSender? = nil
    /// Sees every action of every call's machine, with the call's arrival index.
    var trace: (@Sendable (Int64, CallAction) -> Void)? = nil

    /// Length of a load shape in nanoseconds.
    static func length(_ shape: LoadShape) -> UInt64 {
        switch shape {
        case .open(let schedule): return UInt64(max(0, schedule.length))
        case .closed(let model): return UInt64(max(0, model.duration.nanoseconds))
        }
    }

    /// Length of the warmup in nanoseconds.
    var warmupLength: UInt64 { warmup.map(EngineRunSettings.length) ?? 0 }
    /// Length of the measured load in nanoseconds.
    var loadLength: UInt64 { EngineRunSettings.length(load) }
}
