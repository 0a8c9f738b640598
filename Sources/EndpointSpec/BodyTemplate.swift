/// Validates request bodies against a route's body template exactly as the FastAPI app that the template
/// stands for would (FastAPI 0.165.0, pydantic 2.13.4, Starlette 1.x, CPython 3.11).
///
/// The app a template stands for (the differential test, `Tests/differential/fastapi_oracle.py`, builds the same):
/// ```python
/// from typing import Optional
/// from pydantic import BaseModel
/// class Body(BaseModel):
///     x: int                          # required param:  name: T
///     y: Optional[float] = 0.5        # optional param:  name: Optional[T] = <default_value, or None>
/// @app.post("/predict")
/// def handler(body: Body): ...        # an EMPTY template: def handler(): ... (the body is never read)
/// ```
/// with `T` one of `str`, `int`, `float`, `bool`, `dict`, `list`.
///
/// What that app does with a request, and therefore what `validate` does:
/// - empty template: every request passes, whatever the body;
/// - no body or an empty body: 422 `missing` at `["body"]`, input `null`;
/// - Content-Type `application/json` or `application/<anything>+json` (parameters and case ignored): the body
///   is parsed as `json.loads` does. Syntax error: 422 `json_invalid` at `["body", <char index>]`, input `{}`,
///   `ctx.error` = Python's message. Undecodable bytes, nesting deeper than `JSON.defaultMaxDepth`, or an integer
///   literal over 4300 digits: 400 `{"detail":"There was an error parsing the body"}`;
/// - any other or no Content-Type: the raw body is validated as the model and fails with 422
///   `model_attributes_type`, input = the body text;
/// - a JSON value that is not an object: 422 `model_attributes_type` at `["body"]`;
/// - an object: each parameter in template order; an absent required one is `missing` (input: the whole body),
///   `null` is accepted only by optional ones, other values go through pydantic's lax coercions (see
///   `PydanticCoercion`); unknown attributes are ignored; all errors are reported, in template order.
///
/// Known differences, all cases where FastAPI itself answers 500 because its response encoder
/// (`json.dumps(..., allow_nan=False)` then UTF-8) fails on the echoed `input`: `NaN`/`Infinity` inputs are
/// echoed as `NaN`/`Infinity`, lone surrogates as U+FFFD, undecodable non-JSON bodies with U+FFFD.
///
/// Package-internal: the endpoint validates with it, and so does `ResilientClient` before it sends (an
/// application sees the verdict as the client's `ValidationProblem`).
package struct BodyTemplate: Sendable {
    /// The template's parameters, in order.
    public let params: [BodyParam]
    private let names: [String]

    /// Creates a template. Parameter names are expected to be unique (`RouteSpec.decode` enforces it).
    public init(_ params: [BodyParam]) {
        self.params = params
        self.names = params.map(\.name)
    }

    /// Validates a raw request body.
    /// - Parameters:
    ///   - body: the raw body bytes; `nil` when the request had none.
    ///   - contentType: the `Content-Type` header value, `nil` when absent.
    public func validate(body: [UInt8]?, contentType: String?) -> Result<ValidatedBody, ValidationFailure> {
        if params.isEmpty { return .success(ValidatedBody(names: [], values: [])) }
        guard let body, !body.isEmpty else {
            return .failure(
                ValidationFailure(details: [
                    ValidationErrorDetail(type: "missing", loc: [.key("body")], msg: "Field required", input: .null)
                ]))
        }
        guard BodyTemplate.isJSONContentType(contentType) else {
            return .failure(
                ValidationFailure(details: [
                    ValidationErrorDetail.modelAttributesType(input: .string(String(decoding: body, as: UTF8.self)))
                ]))
        }
        let value: JSONValue
        do {
            value = try JSON.parse(body)
        } catch {
            guard error.kind == .syntax else { return .failure(ValidationFailure.malformedBody) }
            var ctx = JSONObject()
            ctx["error"] = .string(error.message)
            return .failure(
                ValidationFailure(details: [
                    ValidationErrorDetail(
                        type: "json_invalid", loc: [.key("body"), .index(error.position)], msg: "JSON decode error",
                        input: .object(JSONObject()), ctx: ctx)
                ]))
        }
        return validate(value)
    }

    /// Validates an already parsed body (what `json.loads` returned).
    public func validate(_ value: JSONValue) -> Result<ValidatedBody, ValidationFailure> {
        if params.isEmpty { return .success(ValidatedBody(names: [], values: [])) }
        var values: [JSONValue?] = []
        values.reserveCapacity(params.count)
        if let failure = Self.run(value, params: params, values: &values, keep: true) { return .failure(failure) }
        return .success(ValidatedBody(names: names, values: values))
    }

    /// Checks an already parsed body against a template without building a `BodyTemplate` or the coerced
    /// values, e.g. on a client before sending: `nil` when ``validate(_:)`` would succeed, otherwise the
    /// same failure.
    public static func check(_ value: JSONValue, against params: [BodyParam]) -> ValidationFailure? {
        if params.isEmpty || passesAsIs(value, params) { return nil }
        var unused: [JSONValue?] = []
        return run(value, params: params, values: &unused, keep: false)
    }

    /// Whether `value` is an object in which every parameter is present with a value of its own JSON type
    /// (or `null` for an optional one), or absent and optional: the common case, which then needs no
    /// failure list, no index and no coercion. Any other body takes `run`, which says what is wrong.
    private static func passesAsIs(_ value: JSONValue, _ params: [BodyParam]) -> Bool {
        guard case .object(let object) = value, object.pairs.count <= 16 else { return false }
        for param in params {
            guard let provided = object[param.name] else {
                if param.optional { continue }
                return false
            }
            if case .null = provided, param.optional { continue }
            if !passesAsIs(provided, param.type) { return false }
        }
        return true
    }

    /// Whether `value` passes for `type` with no coercion that could fail: a string for `str`, an integer
    /// literal for `int` (Python's `int` has no range), a boolean, an object for `dict`, an array for `list`.
    private static func passesAsIs(_ value: JSONValue, _ type: ParamType) -> Bool {
        switch (type, value) {
        case (.str, .string), (.bool, .bool), (.dict, .object), (.list, .array): return true
        case (.int, .number(let literal)): return PythonNumber.isInteger(literal)
        default: return false
        }
    }

    /// The validation itself; appends each coerced value (`nil`: omitted) to `values` when `keep` is set.
    private static func run(
        _ value: JSONValue, params: [BodyParam], values: inout [JSONValue?], keep: Bool
    ) -> ValidationFailure? {
        guard case .object(let object) = value else {
            return ValidationFailure(details: [ValidationErrorDetail.modelAttributesType(input: value)])
        }
        var index: [String: Int]? = nil
        if object.pairs.count > 16 {
            var map: [String: Int] = [:]
            for (k, pair) in object.pairs.enumerated() { map[pair.key] = k }
            index = map
        }
        var details: [ValidationErrorDetail] = []
        for param in params {
            let provided: JSONValue?
            if let index {
                provided = index[param.name].map { object.pairs[$0].value }
            } else {
                provided = object[param.name]
            }
            guard let provided else {
                if keep { values.append(nil) }
                if !param.optional {
                    details.append(
                        ValidationErrorDetail(
                            type: "missing", loc: [.key("body"), .key(param.name)], msg: "Field required", input: value))
                }
                continue
            }
            if provided == .null && param.optional {
                if keep { values.append(.null) }
                continue
            }
            // A value of the parameter's own JSON type passes as it is; only `validate` needs its coerced form.
            if !keep && passesAsIs(provided, param.type) { continue }
            switch PydanticCoercion.coerce(provided, to: param.type) {
            case .success(let coerced):
                if keep { values.append(coerced) }
            case .failure(let failure):
                if keep { values.append(nil) }
                details.append(
                    ValidationErrorDetail(
                        type: failure.type, loc: [.key("body"), .key(param.name)], msg: failure.message,
                        input: provided))
            }
        }
        return details.isEmpty ? nil : ValidationFailure(details: details)
    }

    /// Whether FastAPI parses a body with this Content-Type as JSON: `email.message.Message` semantics, i.e. the
    /// part before `;`, stripped and lower-cased, must be exactly `type/subtype` with type `application` and
    /// subtype `json` or ending in `+json`. An absent or empty header is not JSON (FastAPI's default
    /// `strict_content_type=True`).
    public static func isJSONContentType(_ value: String?) -> Bool {
        guard let value, !value.isEmpty else { return false }
        if value == "application/json" || value == "application/json; charset=utf-8" { return true }
        var bytes: [UInt8] = []
        for byte in value.utf8 {
            if byte == UInt8(ascii: ";") { break }
            bytes.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
        }
        let trimmed = PythonWhitespace.strip(bytes)
        guard let slash = trimmed.firstIndex(of: UInt8(ascii: "/")) else { return false }
        let main = trimmed[..<slash]
        let sub = trimmed[(slash + 1)...]
        if sub.contains(UInt8(ascii: "/")) { return false }
        guard main.elementsEqual("application".utf8) else { return false }
        return sub.elementsEqual("json".utf8) || (sub.count >= 5 && sub.suffix(5).elementsEqual("+json".utf8))
    }
}

/// Python `str.strip()` whitespace, for the characters a header value can hold.
enum PythonWhitespace {
    static func strip(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var slice = ArraySlice(bytes)
        while let first = slice.first, isSpace(slice, at: slice.startIndex) { slice = slice.dropFirst(width(first)) }
        while !slice.isEmpty, let length = trailingSpaceLength(slice) { slice = slice.dropLast(length) }
        return slice
    }

    private static func width(_ lead: UInt8) -> Int { lead < 0x80 ? 1 : (lead < 0xE0 ? 2 : (lead < 0xF0 ? 3 : 4)) }

    private static func isSpace(_ s: ArraySlice<UInt8>, at i: Int) -> Bool {
        let b = s[i]
        if b < 0x80 { return (0x09...0x0D).contains(b) || (0x1C...0x20).contains(b) }
        // U+0085 and U+00A0 (what Latin-1 decoded header bytes can produce), and the other Unicode spaces.
        let scalar = RustWhitespace.decode(Array(s[i..<min(s.endIndex, i + 4)]), at: 0)?.0 ?? 0
        return RustWhitespace.isWhiteSpace(scalar)
    }

    private static func trailingSpaceLength(_ s: ArraySlice<UInt8>) -> Int? {
        var start = s.endIndex - 1
        while start > s.startIndex && s[start] & 0xC0 == 0x80 && s.endIndex - start < 4 { start -= 1 }
        return isSpace(s, at: start) ? s.endIndex - start : nil
    }
}

/// A body that passed validation (package-internal: what the endpoint hands its workers).
package struct ValidatedBody: Sendable, Equatable {
    /// Parameter names, in template order.
    public var names: [String]
    /// Coerced values in template order (`"5"` for an int is `.number("5")`, `5` for a float is
    /// `.number("5.0")`, `"yes"` for a bool is `.bool(true)`); `nil` = optional attribute omitted (the worker
    /// uses the parameter's `default_value`).
    public var values: [JSONValue?]

    /// Creates a validated body.
    public init(names: [String], values: [JSONValue?]) {
        self.names = names
        self.values = values
    }

    /// The provided attributes, coerced, as a JSON object in template order: `{"x":5,"y":0.5}`. Python's
    /// `json.loads` of it yields the values pydantic would have passed to the function (floats may be
    /// `NaN`/`Infinity`, which `json.loads` accepts).
    public func argumentsJSON() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        out.append(UInt8(ascii: "{"))
        var first = true
        for (name, value) in zip(names, values) {
            guard let value else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSON.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
            JSON.serialize(value, numbers: .literal, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// One entry of FastAPI's `{"detail": [...]}`: `{type, loc, msg, input, ctx?}` (package-internal; an application
/// reads these entries as JSON in the client's `ValidationProblem`).
package struct ValidationErrorDetail: Sendable, Equatable {
    /// One element of `loc`: an attribute name or a character position.
    public enum Location: Sendable, Equatable {
        /// `"body"` or an attribute name.
        case key(String)
        /// A character position (`json_invalid`).
        case index(Int)
    }

    /// Pydantic error type, e.g. `missing`, `int_parsing`, `json_invalid`.
    public var type: String
    /// Where: `["body"]`, `["body", "x"]` or `["body", 12]`.
    public var loc: [Location]
    /// Pydantic's message, e.g. `Field required`.
    public var msg: String
    /// The offending input as Python saw it (written with Python's number formatting).
    public var input: JSONValue
    /// Extra context (`{"error": "Expecting value"}` for `json_invalid`), or `nil`.
    public var ctx: JSONObject?

    /// Creates a detail.
    public init(type: String, loc: [Location], msg: String, input: JSONValue, ctx: JSONObject? = nil) {
        self.type = type
        self.loc = loc
        self.msg = msg
        self.input = input
        self.ctx = ctx
    }

    static func modelAttributesType(input: JSONValue) -> ValidationErrorDetail {
        ValidationErrorDetail(
            type: "model_attributes_type", loc: [.key("body")],
            msg: "Input should be a valid dictionary or object to extract fields from", input: input)
    }

    /// Appends this detail as FastAPI writes it.
    public func write(into out: inout [UInt8]) {
        out.append(contentsOf: #"{"type":"#.utf8)
        JSON.writeString(type, into: &out)
        out.append(contentsOf: #","loc":["#.utf8)
        for (k, item) in loc.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            switch item {
            case .key(let key): JSON.writeString(key, into: &out)
            case .index(let index): out.append(contentsOf: String(index).utf8)
            }
        }
        out.append(contentsOf: #"],"msg":"#.utf8)
        JSON.writeString(msg, into: &out)
        out.append(contentsOf: #","input":"#.utf8)
        JSON.serialize(input, numbers: .python, into: &out)
        if let ctx {
            out.append(contentsOf: #","ctx":"#.utf8)
            JSON.serialize(.object(ctx), numbers: .python, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// A rejected body: the response FastAPI would send (package-internal, like ``BodyTemplate``).
package struct ValidationFailure: Error, Sendable, Equatable {
    /// HTTP status: 422 (validation errors in `details`) or 400 (the body could not be decoded at all:
    /// invalid encoding, nesting too deep, integer literal too long; `details` is empty).
    public var status: Int
    /// The validation errors, in template order.
    public var details: [ValidationErrorDetail]

    /// A 422 failure with the given details.
    public init(details: [ValidationErrorDetail]) {
        self.status = 422
        self.details = details
    }

    /// FastAPI's 400 for bodies that `json.loads` fails on with something other than a `JSONDecodeError`.
    public static let malformedBody = ValidationFailure(status: 400)

    private init(status: Int) {
        self.status = status
        self.details = []
    }

    /// The response body, byte for byte as FastAPI writes it: `{"detail":[...]}` (422) or
    /// `{"detail":"There was an error parsing the body"}` (400). Content-Type `application/json`.
    public func responseBody() -> [UInt8] {
        if status == 400 { return Array(#"{"detail":"There was an error parsing the body"}"#.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(64 + details.count * 96)
        out.append(contentsOf: #"{"detail":["#.utf8)
        for (k, detail) in details.enumerated() {
            if k > 0 { out.append(UInt8(ascii: ",")) }
            detail.write(into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }
}
