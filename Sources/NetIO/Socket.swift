import CLinux
import Glibc

/// Socket creation helpers shared by listeners and connectors.
enum Socket {
    static func resolve(host: String, port: Int) throws(NetError) -> clinux_address {
        var address = clinux_address()
        let rc = host.withCString { clinux_resolve($0, Int32(port), &address) }
        if rc != 0 { throw NetError.addressResolution(host: host) }
        return address
    }

    /// A bound, listening, non-blocking socket with SO_REUSEADDR (not SO_REUSEPORT: a port we listen on
    /// must not be joinable by another process, which would silently take a share of our connections).
    static func listen(host: String, port: Int, backlog: Int32) throws(NetError) -> (fd: Int32, port: Int) {
        var address = try resolve(host: host, port: port)
        let fd = clinux_tcp_socket(address.family)
        if fd < 0 { throw NetError.current("socket") }
        if clinux_set_reuse(fd, 0) != 0 {
            let error = NetError.current("setsockopt")
            Glibc.close(fd)
            throw error
        }
        if clinux_bind(fd, &address) != 0 {
            let error = NetError.current("bind")
            Glibc.close(fd)
            throw error
        }
        if Glibc.listen(fd, backlog) != 0 {
            let error = NetError.current("listen")
            Glibc.close(fd)
            throw error
        }
        return (fd, Int(clinux_local_port(fd)))
    }
}
