// The route vocabulary is part of this library's API: callers describe routes with it, so importing
// ResilientClient is enough. What an application gets from EndpointSpec through this re-export is its public
// part, and only that:
// - `RouteSpec`, `BodyParam`, `ParamType`: a route and its body template, in the seed's JSON form
//   (`RouteSpec.decode(json:)`, `decodeList(json:)`, `jsonValue`; `SpecError` names a bad field);
// - `JSONValue`, `JSONObject`: request and reply bodies of `callJSON`, and the details of a `ValidationProblem`;
//   `JSON.parse` and `JSON.serialize(_:)` (throwing `JSONSyntaxError`) read and write them;
// - `SplitMix64`: the seeded generator for reproducible jitter with a `Backoff` or `BackoffStrategy`.
// The rest is `package` (for the endpoint, loadgen and the tests of this package only): the validator
// (`BodyTemplate`, `ValidatedBody`, `ValidationFailure`, `ValidationErrorDetail`; the client reports its verdict
// as `ValidationProblem`), Python's number forms (`PythonNumber`, `JSON.NumberStyle`), the endpoint's routes file
// (`EndpointConfig`) and a route's Python module name.
@_exported import EndpointSpec
