import EndpointSpec

/// The reference endpoint's `GET /stats` answer: what it did with the calls it received.
public struct EndpointStatsSnapshot: Sendable, Equatable {
    /// Calls answered by the model.
    public var served: Int64
    /// Calls answered 503 before they ran (queue full, outage, shutdown).
    public var rejected: Int64
    /// Queued calls dropped before they ran because their client had left (`--drop-abandoned`).
    public var abandonedBeforeRunning: Int64
    /// Calls the model completed after their client had disconnected: wasted work.
    public var servedAfterClientLeft: Int64
    /// Calls waiting for a worker now.
    public var queued: Int64
    /// Calls running now.
    public var inFlight: Int64

    /// Parses the `/stats` JSON object; the error names the missing or malformed field.
    init(json: JSONValue) throws(EndpointStatsError) {
        guard case .object(let object) = json else {
            throw EndpointStatsError("GET /stats: expected a JSON object, got \(json.errorDescription)")
        }
        func field(_ key: String) throws(EndpointStatsError) -> Int64 {
            guard case .number(let literal)? = object[key], let value = Int64(literal) else {
                throw EndpointStatsError("GET /stats: expected an integer \"\(key)\", got \(object[key]?.errorDescription ?? "nothing")")
            }
            return value
        }
        served = try field("served")
        rejected = try field("rejected")
        abandonedBeforeRunning = try field("abandoned_before_running")
        servedAfterClientLeft = try field("served_after_client_left")
        queued = try field("queued")
        inFlight = try field("in_flight")
    }

    /// Whether the endpoint has nothing left to do (nothing queued or running).
    var isIdle: Bool { queued == 0 && inFlight == 0 }
}
