import LoadgenCore
import ReferenceEndpoint

#if canImport(Glibc)
    import Glibc
#endif

let arguments = Array(Swift.CommandLine.arguments.dropFirst())

// `loadgen serve` runs the reference endpoint in this process. It is dispatched before any Swift
// concurrency thread exists, so that the SIGINT/SIGTERM mask it sets is inherited by every thread.
if arguments.first == "serve" {
    exit(EndpointCommand.main(arguments: Array(arguments.dropFirst()), name: "loadgen serve"))
}

let environment = LoadgenEnvironment(
    engine: NetworkLoadEngine(), launcher: ProcessTargetLauncher(),
    serve: { args in EndpointCommand.main(arguments: args, name: "loadgen serve") },
    call: { args in await CallCommand.main(args) })
exit(await LoadgenCommand.main(arguments, environment: environment))
