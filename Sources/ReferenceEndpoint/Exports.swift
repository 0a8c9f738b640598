// The route vocabulary (RouteSpec, BodyParam, JSONValue, BodyTemplate) is part of this library's API.
@_exported import EndpointSpec
