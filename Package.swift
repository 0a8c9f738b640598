// swift-tools-version:6.0
// Zero package dependencies by design: only the Swift toolchain (Foundation, Dispatch, Glibc, Synchronization).
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "ResilientInference",
    // Synchronization's Mutex and Atomic (the client's locks) need these OS versions.
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "ResilientClient", targets: ["ResilientClient"]),
        .library(name: "ReferenceEndpoint", targets: ["ReferenceEndpoint"]),
        .executable(name: "reference-endpoint", targets: ["reference-endpoint"]),
        .executable(name: "loadgen", targets: ["loadgen"]),
    ],
    targets: [
        // Header-only C shim for what Glibc does not export (epoll, eventfd, accept4, pipe2, posix_spawn helpers).
        .target(name: "CLinux"),
        // Route spec (seed JSON), JSON value/parser/writer, body-template validation, FastAPI-shaped errors. No IO.
        .target(name: "EndpointSpec", swiftSettings: strict),
        // HTTP/1.1 request/response decoders and encoders as pure values. No IO.
        .target(name: "HTTP1", swiftSettings: strict),
        // Non-blocking sockets on epoll: event loops, TCP listener/connections, timers, HTTP server/client channels.
        .target(name: "NetIO", dependencies: ["CLinux", "HTTP1"], swiftSettings: strict),
        // Small argument parser shared by the executables.
        .target(name: "CommandLine", swiftSettings: strict),
        // The client library builds wherever Foundation does. On Linux it also has `LoopTransport` (NetIO's epoll
        // event loops) for `http://`; elsewhere it sends with URLSession. Its Linux-only code is under
        // `#if os(Linux) && !RESILIENT_CLIENT_NO_LOOP`: the define builds it on Linux as it builds elsewhere, a check
        // that CI runs (`.ci/run`) and that is of no other use.
        .target(
            name: "ResilientClient",
            dependencies: ["EndpointSpec", "HTTP1", .target(name: "NetIO", condition: .when(platforms: [.linux]))],
            swiftSettings: strict),
        .target(
            name: "ReferenceEndpoint", dependencies: ["EndpointSpec", "HTTP1", "NetIO", "CLinux", "CommandLine"],
            swiftSettings: strict),
        .executableTarget(name: "reference-endpoint", dependencies: ["ReferenceEndpoint"], swiftSettings: strict),
        .target(
            name: "LoadgenCore",
            dependencies: ["EndpointSpec", "HTTP1", "NetIO", "ResilientClient", "ReferenceEndpoint", "CommandLine", "CLinux"],
            swiftSettings: strict),
        .executableTarget(name: "loadgen", dependencies: ["LoadgenCore", "ReferenceEndpoint"], swiftSettings: strict),

        // Helpers shared by the test targets (not shipped): the `.dedicatedThreads` suite trait.
        .target(name: "TestSupport", dependencies: ["ReferenceEndpoint"], path: "Tests/TestSupport", swiftSettings: strict),

        .testTarget(name: "EndpointSpecTests", dependencies: ["EndpointSpec", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"], swiftSettings: strict),
        .testTarget(name: "NetIOTests", dependencies: ["NetIO", "HTTP1", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ReferenceEndpointTests", dependencies: ["ReferenceEndpoint", "EndpointSpec", "CommandLine", "NetIO", "HTTP1", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ResilientClientTests", dependencies: ["ResilientClient", "HTTP1", "ReferenceEndpoint", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "LoadgenTests", dependencies: ["LoadgenCore", "CommandLine", "ReferenceEndpoint", "ResilientClient", "EndpointSpec", "NetIO", "HTTP1", "TestSupport"], swiftSettings: strict),
    ]
)
