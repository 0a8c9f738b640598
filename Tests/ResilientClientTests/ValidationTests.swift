import EndpointSpec
import Foundation
import Testing

@testable import ResilientClient

@Suite struct ClientValidationTests {
    struct WrongBody: Encodable, Sendable {
        var filename: Int
    }

    struct NoFields: Encodable, Sendable {}

    let template = [BodyParam(name: "filename", type: .str), BodyParam(name: "top", type: .int, optional: true)]

    /// What the server's validator answers for `value`, parsed back.
    func serverDetails(_ value: JSONValue) throws -> [JSONValue] {
        guard case .failure(let failure) = BodyTemplate(template).validate(value) else { return [] }
        let body = try JSON.parse(failure.responseBody())
        guard case .object(let object) = body, case .array(let details)? = object["detail"] else { return [] }
        return details
    }

    @Test func missingFieldFailsBeforeSendingWithTheServersDetail() async throws {
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: TestClock())
        let route = Route<NoFields, Prediction>(path: "/predict", body: template)
        let (result, report) = await client.callReporting(route, NoFields())
        guard case .failure(.validation(let problem)) = result else {
            Issue.record("expected validation, got \(result)")
            return
        }
        #expect(problem.details == (try serverDetails(.object(JSONObject()))))
        #expect(problem.locations == [["body", "filename"]])
        #expect(problem.messages == ["Field required"])
        #expect(transport.requests.isEmpty)
        #expect(report.attempts.isEmpty)
        #expect(client.counters.validationFailures == 1 && client.counters.failed == 1 && client.counters.attempts == 0)
    }

    @Test func wrongTypeFailsWithPydanticsMessage() async throws {
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: TestClock())
        let route = Route<WrongBody, Prediction>(path: "/predict", body: template)
        let (result, _) = await client.callReporting(route, WrongBody(filename: 5))
        guard case .failure(.validation(let problem)) = result else {
            Issue.record("expected validation, got \(result)")
            return
        }
        let expected = try serverDetails(.object(JSONObject([.init(key: "filename", value: .number("5"))])))
        #expect(problem.details == expected)
        #expect(problem.messages == ["Input should be a valid string"])
        #expect(transport.requests.isEmpty)
    }

    @Test func untypedBodiesAreValidatedToo() async throws {
        let transport = ScriptedTransport()
        let client = makeClient(transport, clock: TestClock())
        let spec = RouteSpec(path: "/predict", file: "predict", function: "f", body: template)
        await #expect {
            try await client.callJSON(spec, .array([]))
        } throws: { error in
            guard case ResilientClientError.validation(let problem) = error else { return false }
            return problem.locations == [["body"]] && (try? serverDetails(.array([]))) == problem.details
        }
        #expect(transport.requests.isEmpty)
    }

    @Test func validBodiesPass() async throws {
        let transport = ScriptedTransport([.respond(200, body: catReply)])
        let client = makeClient(transport, clock: TestClock())
        let route = Route<PredictBody, Prediction>(path: "/predict", body: template)
        #expect(try await client.call(route, cat) == Prediction(label: "cat"))
        #expect(transport.requests.count == 1)
    }

    @Test func routeFromSeedJSON() throws {
        let json = #"{"verb": "POST", "path": "/predict", "file": "predict", "positional": true, "body": [{"name": "filename", "type": "str"}], "function": "predict_image"}"#
        let spec = try RouteSpec.decode(json: Array(json.utf8))
        let route = Route<PredictBody, Prediction>(spec)
        #expect(route.spec.path == "/predict")
        #expect(route.idempotent)
        #expect(route.spec.body == [BodyParam(name: "filename", type: .str)])
    }

    @Test func problemDescriptionAndErrorDescriptions() {
        let problem = ValidationProblem(details: [
            .object(JSONObject([.init(key: "loc", value: .array([.string("body"), .number("3")])),
                                .init(key: "msg", value: .string("bad"))])),
            .string("not an object"),
        ])
        #expect(problem.locations == [["body", "3"], []])
        #expect(problem.messages == ["bad", ""])
        let errors: [ResilientClientError] = [
            .validation(problem), .httpStatus(status: 500, body: Array("x".utf8), attempts: 1),
            .overloaded(attempts: 5, lastStatus: 503), .deadlineExceeded(attempts: 2, last: .status(503)),
            .deadlineExceeded(attempts: 0, last: nil), .budgetExhausted(attempts: 1, last: .status(503)), .gateBlocked,
            .transport(TransportError(.connectionRefused, "refused"), attempts: 3),
            .decoding(message: "bad", body: []), .invalidRequest("x"), .cancelled,
        ]
        let descriptions = errors.map(\.description)
        #expect(Set(descriptions).count == errors.count)
        #expect(descriptions[2] == "endpoint overloaded: HTTP 503 after 5 attempt(s)")
        #expect(TransportError(.other).description == "other")
    }
}
