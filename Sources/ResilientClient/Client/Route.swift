import EndpointSpec

/// A typed handle on one endpoint route: the route spec the server uses, plus the Swift types of the
/// request body and the reply.
///
/// Describe the route once, with the same spec as the server (seed JSON or Swift values); the client
/// checks each body against the template before sending it.
///
/// ```swift
/// struct PredictBody: Encodable, Sendable { var filename: String }
/// struct Prediction: Decodable, Sendable { var label: String; var score: Double }
///
/// let predict = Route<PredictBody, Prediction>(
///     RouteSpec(path: "/predict", file: "predict", function: "predict_file",
///               body: [BodyParam(name: "filename", type: .str)]))
/// let reply = try await client.call(predict, PredictBody(filename: "cat.jpg"))
/// ```
///
/// **Idempotence.** Inference routes are idempotent by default: running the model twice on the same
/// input returns the same answer and changes nothing, so a timeout, a connection reset after sending,
/// 502 or 504 are retried. Pass `idempotent: false` for a route with side effects; it is then retried
/// only when the server certainly did not run it (503, refused connection).
public struct Route<Body: Encodable & Sendable, Reply: Decodable & Sendable>: Sendable {
    /// The route as the server knows it (verb, path, body template).
    public var spec: RouteSpec
    /// Whether the route may be repeated after an ambiguous failure. Default `true`.
    public var idempotent: Bool
    /// Headers, deadline and retry policy for every call of this route (``CallOptions``); a call's own
    /// options apply over them. Default `nil`: the configuration's.
    public var options: CallOptions?

    /// Creates a route from the server's spec.
    public init(_ spec: RouteSpec, idempotent: Bool = true, options: CallOptions? = nil) {
        self.spec = spec
        self.idempotent = idempotent
        self.options = options
    }

    /// Creates a route from Swift values (the client does not need the Python file and function).
    ///
    /// ```swift
    /// let add = Route<AddBody, Int>(path: "/add", body: [.init(name: "x", type: .int), .init(name: "y", type: .int)])
    /// ```
    public init(
        verb: String = "POST", path: String, body: [BodyParam], idempotent: Bool = true, options: CallOptions? = nil
    ) {
        self.init(
            RouteSpec(verb: verb, path: path, file: "", function: "", body: body), idempotent: idempotent,
            options: options)
    }
}
