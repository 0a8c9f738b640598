/// A `/stats` answer that is not what the endpoint documents; the message names the field.
struct EndpointStatsError: Error, Sendable, Equatable {
    /// What is wrong.
    var message: String
    init(_ message: String) { self.message = message }
}
