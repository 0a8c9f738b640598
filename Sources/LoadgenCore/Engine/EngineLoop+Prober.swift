import Glibc
import HTTP1
import NetIO
import ResilientClient

extension EngineLoop {
    // MARK: - Health gate prober

    func startProber() {
        guard gate.beginProbing() else { return }
        scheduleProbe()
    }

    func scheduleProbe() {
        guard !reported, !expired else {
            gate.endProbing()
            return
        }
        let delay = gate.nextProbeDelay(using: &rng)
        proberTimer = loop.schedule(after: UInt64(max(0, Self.nanoseconds(delay)))) { [self] in
            proberTimer = nil
            probe()
        }
    }

    func probe() {
        guard !reported, !expired else {
            gate.endProbing()
            return
        }
        if let secure = settings.secure {
            secureProbe(secure)
            return
        }
        let deadline = EventLoop.now() &+ settings.policy.attemptTimeout
        HTTPClientConnection.connect(
            host: settings.host, port: settings.port, on: loop, timeout: settings.policy.connectTimeout,
            limits: settings.policy.responseLimits
        ) { [self] result in
            switch result {
            case .failure:
                probeEnded(healthy: false)
            case .success(let connection):
                guard !reported else {
                    connection.close()
                    return
                }
                proberConnection = connection
                connection.send(method: "GET", target: settings.pingPath, deadline: deadline) { [self] answer in
                    connection.close()
                    proberConnection = nil
                    if case .success(let response) = answer {
                        probeEnded(healthy: response.head.status == 200)
                    } else {
                        probeEnded(healthy: false)
                    }
                }
            }
        }
    }

    /// `GET` the health path through the `https` transport; the answer comes back to this loop.
    func secureProbe(_ secure: SecureSender) {
        guard let request = secure.get(settings.pingPath) else {
            probeEnded(healthy: false)
            return
        }
        let timeout = Self.duration(settings.policy.attemptTimeout)
        let stop = settings.stop
        Task { [self, loop] in
            let healthy = (try? await secure.transport.send(request, timeout: timeout))?.status == 200
            guard !stop.isClosed else { return }
            loop.execute { [self] in probeEnded(healthy: healthy) }
        }
    }

    func probeEnded(healthy: Bool) {
        guard !reported else { return }
        if gate.recordProbe(healthy: healthy) != nil { return }
        scheduleProbe()
    }
}
