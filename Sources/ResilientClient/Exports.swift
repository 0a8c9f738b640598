// The route vocabulary (RouteSpec, BodyParam, JSONValue, BodyTemplate) is part of this library's API:
// callers describe routes with it, so importing ResilientClient is enough.
@_exported import EndpointSpec
