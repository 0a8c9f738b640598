import LoadgenCore

#if canImport(Glibc)
    import Glibc
#endif

// The engine, the embedded endpoint launcher and `serve`/`call` are plugged in here once they exist.
let code = await LoadgenCommand.main(Array(Swift.CommandLine.arguments.dropFirst()), environment: LoadgenEnvironment())
exit(code)
