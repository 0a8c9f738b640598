import EndpointSpec
import HTTP1
import NetIO

/// The request path of the endpoint: router → body validation → fault injection → admission →
/// worker → response. Runs on the connection's event loop; worker completions arrive on the pool's
/// thread and the responder hops back to the loop.
final class EndpointHandler: HTTPServerHandler {
    let router: Router
    let routes: [RouteSpec]
    let templates: [BodyTemplate]
    let pool: WorkerPool
    let injector: FaultInjector
    /// Draws the calls made slow (`--slow-rate`), and how much longer than `--delay` they take.
    let slow: FaultInjector
    let slowExtraNanoseconds: UInt64
    let retryAfter: String
    let callTimeout: Double
    let accessLog: Bool
    let log: EndpointLog
    let stats: EndpointStats

    static let jsonHeaders: [(String, String)] = [("content-type", "application/json")]
    static let pong = Array(#"{"message":"pong"}"#.utf8)
    static let notFound = Array(#"{"detail":"Not Found"}"#.utf8)
    static let methodNotAllowed = Array(#"{"detail":"Method Not Allowed"}"#.utf8)
    static let unavailable = Array(#"{"detail":"Service Unavailable"}"#.utf8)
    static let starting = Array(#"{"detail":"Service Unavailable: no Python worker is ready"}"#.utf8)
    static let draining = Array(#"{"detail":"Service Unavailable: the endpoint is shutting down"}"#.utf8)
    static let crashed = Array(#"{"detail":"Internal Server Error: the Python worker crashed while running this call"}"#.utf8)

    init(
        router: Router, routes: [RouteSpec], templates: [BodyTemplate], pool: WorkerPool, injector: FaultInjector,
        slow: FaultInjector = FaultInjector(failRate: 0), slowExtraNanoseconds: UInt64 = 0, retryAfter: String, callTimeout: Double, accessLog: Bool, log: EndpointLog, stats: EndpointStats
    ) {
        self.router = router
        self.routes = routes
        self.templates = templates
        self.pool = pool
        self.injector = injector
        self.slow = slow
        self.slowExtraNanoseconds = slowExtraNanoseconds
        self.retryAfter = retryAfter
        self.callTimeout = callTimeout
        self.accessLog = accessLog
        self.log = log
        self.stats = stats
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        handle(request, responder, slowSince: nil)
    }

    /// `slowSince`: the request was drawn slow (`--slow-rate`) and came back after its extra wait, which
    /// started then.
    private func handle(_ request: HTTPRequest, _ responder: HTTPResponder, slowSince: UInt64?) {
        let started = slowSince ?? EventLoop.now()
        let head = request.head
        let target = head.target
        let path = Router.routingPath(of: target)

        // The body is passed whole for HEAD too: the connection writes only the head, with the Content-Length
        // a GET would have had (RFC 9110 §9.3.2). Stats are counted before the response leaves, so a client
        // that has read a response always finds it counted.
        let answer: @Sendable (Int, [(String, String)], [UInt8]) -> Void = { [self] status, headers, body in
            stats.record(status: status)
            responder.respond(status: status, headers: headers, body: body)
            if accessLog {
                let micros = (EventLoop.now() &- started) / 1_000
                log.log("\(head.method) \(target) \(status) \(Self.formatMillis(micros))ms")
            }
        }

        switch router.resolve(method: head.method, path: path) {
        case .ping:
            if pool.isDraining {
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.draining)
            } else if pool.aliveWorkers > 0 {
                answer(200, Self.jsonHeaders, Self.pong)
            } else {
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.starting)
            }
        case .notFound:
            answer(404, Self.jsonHeaders, Self.notFound)
        case .methodNotAllowed(let allow):
            answer(405, Self.jsonHeaders + [("allow", allow)], Self.methodNotAllowed)
        case .redirect(let newPath):
            var location = Router.quotedPath(newPath)
            if let q = target.firstIndex(of: "?") { location += target[q...] }
            if let host = head.headers["host"] { location = "http://\(host)\(location)" }
            answer(307, [("location", location)], [])
        case .route(let index):
            if slowSince == nil, slowExtraNanoseconds > 0, slow.shouldFail() {
                // A slow call: it waits its extra time on this loop, then goes the way of every call.
                responder.loop.schedule(after: slowExtraNanoseconds) { [self] in
                    handle(request, responder, slowSince: started)
                }
                return
            }
            if injector.shouldFail() {
                stats.recordInjected()
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.unavailable)
                return
            }
            let validated: ValidatedBody
            switch templates[index].validate(body: request.body, contentType: head.headers["content-type"]) {
            case .success(let value): validated = value
            case .failure(let failure):
                answer(failure.status, Self.jsonHeaders, failure.responseBody())
                return
            }
            let timeout = callTimeout
            let retryAfter = self.retryAfter
            let route = routes[index]
            let log = self.log
            let accepted = pool.submit(route: index, arguments: validated.argumentsJSON()) { result in
                switch result {
                case .success(let body):
                    answer(200, Self.jsonHeaders, body)
                case .exception(let type, let message):
                    let detail = JSON.serialize(.object(JSONObject([
                        .init(key: "detail", value: .string("Internal Server Error")),
                        .init(key: "error", value: .string(message.isEmpty ? type : "\(type): \(message)")),
                    ])))
                    answer(500, Self.jsonHeaders, detail)
                case .crashed:
                    log.log("\(route.verb) \(route.path): worker crashed during the call")
                    answer(500, Self.jsonHeaders, Self.crashed)
                case .rejected:
                    answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.unavailable)
                case .timedOut:
                    let detail = JSON.serialize(.object(JSONObject([
                        .init(key: "detail", value: .string("Gateway Timeout: the model call ran longer than \(timeout)s")),
                    ])))
                    answer(504, Self.jsonHeaders, detail)
                }
            }
            if !accepted {
                stats.recordShed()
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.unavailable)
            }
        }
    }

    static func formatMillis(_ micros: UInt64) -> String {
        let whole = micros / 1_000
        let frac = micros % 1_000
        let fracText = String(frac)
        return "\(whole)." + String(repeating: "0", count: 3 - fracText.count) + fracText
    }
}
