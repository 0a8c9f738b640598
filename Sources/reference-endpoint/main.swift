import Glibc
import ReferenceEndpoint

exit(EndpointCommand.main(arguments: Array(CommandLine.arguments.dropFirst()), name: "reference-endpoint"))
