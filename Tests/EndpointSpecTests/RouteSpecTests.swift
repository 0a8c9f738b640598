import Testing
@testable import EndpointSpec

@Test func moduleNameDropsPySuffix() {
    #expect(RouteSpec(path: "/p", file: "predict.py", function: "f").moduleName == "predict")
    #expect(RouteSpec(path: "/p", file: "predict", function: "f").moduleName == "predict")
}
