import EndpointSpec

/// The client's access to JSON text and to the body-template validator: EndpointSpec's parser, writer
/// and `BodyTemplate`, the very code the endpoint runs, so that client and server cannot disagree.
enum JSONBridge {
    struct ParseError: Error {
        var message: String
    }

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        do {
            return try JSON.parse(bytes)
        } catch {
            throw ParseError(message: error.description)
        }
    }

    static func serialize(_ value: JSONValue) -> [UInt8] {
        JSON.serialize(value)
    }

    /// Validates `body` against a route's template with the server's validator; `nil` when it passes.
    /// The problem holds the detail list exactly as the server would write it in its 422 response.
    static func validate(_ body: JSONValue, template: [BodyParam]) -> ValidationProblem? {
        guard let failure = BodyTemplate.check(body, against: template) else { return nil }
        return ValidationProblem.fromResponseBody(failure.responseBody()) ?? ValidationProblem(details: [])
    }
}
