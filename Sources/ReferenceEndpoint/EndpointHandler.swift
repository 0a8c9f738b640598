import EndpointSpec
import HTTP1
import NetIO
import Synchronization

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
    let dropAbandoned: Bool
    let pingOverloadQueue: Int?
    let outage: OutageWindow?
    let outageRetryAfter: String
    /// `EventLoop.now()` when the endpoint became ready (0 before): the origin of `outage`.
    let readyAt = Atomic<UInt64>(0)
    /// Nil: no access check.
    let auth: BearerAuth?

    /// The request header that carries a call's deadline (`--drop-abandoned`): milliseconds left when it was
    /// sent, relative so that no clock needs to be shared.
    static let deadlineHeader = "x-deadline-ms"
    static let jsonHeaders: [(String, String)] = [("content-type", "application/json")]
    static let pong = Array(#"{"message":"pong"}"#.utf8)
    static let notFound = Array(#"{"detail":"Not Found"}"#.utf8)
    static let methodNotAllowed = Array(#"{"detail":"Method Not Allowed"}"#.utf8)
    static let unavailable = Array(#"{"detail":"Service Unavailable"}"#.utf8)
    static let starting = Array(#"{"detail":"Service Unavailable: no Python worker is ready"}"#.utf8)
    static let draining = Array(#"{"detail":"Service Unavailable: the endpoint is shutting down"}"#.utf8)
    static let unauthorized = Array(#"{"detail":"Not authenticated"}"#.utf8)
    static let crashed = Array(#"{"detail":"Internal Server Error: the Python worker crashed while running this call"}"#.utf8)
    static let outageBody = Array(#"{"detail":"Service Unavailable: outage (--outage)"}"#.utf8)
    static let abandonedBody = Array(
        #"{"detail":"Gateway Timeout: the call's X-Deadline-Ms passed (or its client left) while it waited for a worker; it did not run"}"#
            .utf8)

    init(
        router: Router, configuration config: EndpointConfiguration, templates: [BodyTemplate], pool: WorkerPool,
        log: EndpointLog, stats: EndpointStats
    ) {
        self.router = router
        self.routes = config.routes
        self.templates = templates
        self.pool = pool
        self.injector = FaultInjector(failRate: config.failRate, seed: config.seed)
        self.retryAfter = String(config.retryAfterSeconds)
        self.callTimeout = config.callTimeout
        self.accessLog = config.accessLog
        self.slow = FaultInjector(failRate: config.slowRate, seed: config.seed &+ 0x5_1_0_3)
        self.slowExtraNanoseconds = UInt64(max(0, (config.slowDelayMilliseconds - config.pool.delayMilliseconds) * 1e6))
        self.log = log
        self.stats = stats
        self.dropAbandoned = config.dropAbandoned
        self.pingOverloadQueue = config.pingOverloadQueue
        self.outage = config.outage
        self.outageRetryAfter = String(config.outageRetryAfterSeconds)
        self.auth = config.authToken.map { BearerAuth(token: $0) }
    }

    /// Whether `--outage` is on at `now`.
    func inOutage(now: UInt64) -> Bool {
        guard let outage else { return false }
        let ready = readyAt.load(ordering: .relaxed)
        guard ready != 0, now >= ready else { return false }
        return outage.contains(elapsed: Double(now - ready) / 1e9)
    }

    /// `GET /stats`: `{"served":N,"rejected":N,"abandoned_before_running":N,"served_after_client_left":N,
    /// "queued":N,"in_flight":N}`.
    func statsBody() -> [UInt8] {
        if dropAbandoned { pool.dropAbandonedCalls() }
        let fields: [(String, Int)] = [
            ("served", stats.served), ("rejected", stats.rejected),
            ("abandoned_before_running", stats.abandonedBeforeRunning),
            ("served_after_client_left", stats.servedAfterClientLeft),
            ("queued", pool.waitingCalls), ("in_flight", pool.inFlightCalls),
        ]
        return JSON.serialize(.object(JSONObject(fields.map { .init(key: $0.0, value: .number(String($0.1))) })))
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

        let answer = Answer(handler: self, responder: responder, started: started, method: head.method, target: target)

        let resolved = router.resolve(method: head.method, path: path)
        // Everything but /ping needs the token when one is set (health checkers need no secret), so an
        // unauthenticated client learns nothing about the routes, not even a 404 from a 405.
        if let auth, resolved != .ping, !auth.admits(head.headers["authorization"]) {
            answer(401, Self.jsonHeaders + [BearerAuth.challenge], Self.unauthorized)
            return
        }
        switch resolved {
        case .ping:
            if pool.isDraining {
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.draining)
            } else if pool.aliveWorkers == 0 {
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], Self.starting)
            } else if inOutage(now: started) {
                answer(503, Self.jsonHeaders + [("retry-after", outageRetryAfter)], Self.outageBody)
            } else if let limit = pingOverloadQueue, overloaded(limit: limit) {
                let detail = JSON.serialize(.object(JSONObject([
                    .init(key: "detail", value: .string(
                        "Service Unavailable: overloaded (more than \(limit) calls wait for a worker)")),
                ])))
                answer(503, Self.jsonHeaders + [("retry-after", retryAfter)], detail)
            } else {
                answer(200, Self.jsonHeaders, Self.pong)
            }
        case .stats:
            answer(200, Self.jsonHeaders, statsBody())
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
            if inOutage(now: started) {
                stats.recordRejected()
                answer(503, Self.jsonHeaders + [("retry-after", outageRetryAfter)], Self.outageBody)
                return
            }
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
            var abandoned: AbandonedCheck?
            if dropAbandoned {
                var deadline = UInt64.max
                if let text = head.headers[Self.deadlineHeader] {
                    guard let millis = Double(text), millis.isFinite, millis >= 0, millis < 1e12 else {
                        let detail = JSON.serialize(.object(JSONObject([
                            .init(key: "detail", value: .string(
                                "X-Deadline-Ms must be a number of milliseconds >= 0, got '\(text)'")),
                        ])))
                        answer(400, Self.jsonHeaders, detail)
                        return
                    }
                    deadline = started &+ UInt64(millis * 1e6)
                }
                abandoned = { [deadline] now in responder.isClientGone || now >= deadline }
            }
            let validated: ValidatedBody
            // The usual Content-Type is recognised without building a String of it (one allocation per request).
            let contentType =
                head.headers.firstValue(of: "content-type", is: "application/json")
                ? "application/json" : head.headers["content-type"]
            switch templates[index].validate(body: request.body, contentType: contentType) {
            case .success(let value): validated = value
            case .failure(let failure):
                answer(failure.status, Self.jsonHeaders, failure.responseBody())
                return
            }
            // The completion captures only `answer` and `index` (one closure context per call); the rest it
            // reaches through `answer.handler`.
            let accepted = pool.submit(
                route: index, arguments: validated.argumentsJSON(), abandoned: abandoned, deferringTo: responder.loop
            ) { [answer] result in
                let handler = answer.handler
                let stats = handler.stats
                switch result {
                case .success(let body):
                    stats.recordServed(clientGone: answer.responder.isClientGone)
                    answer(200, Self.jsonHeaders, body)
                case .exception(let type, let message):
                    stats.recordServed(clientGone: answer.responder.isClientGone)
                    let detail = JSON.serialize(.object(JSONObject([
                        .init(key: "detail", value: .string("Internal Server Error")),
                        .init(key: "error", value: .string(message.isEmpty ? type : "\(type): \(message)")),
                    ])))
                    answer(500, Self.jsonHeaders, detail)
                case .crashed:
                    let route = handler.routes[index]
                    handler.log.log("\(route.verb) \(route.path): worker crashed during the call")
                    answer(500, Self.jsonHeaders, Self.crashed)
                case .rejected:
                    stats.recordRejected()
                    answer(503, Self.jsonHeaders + [("retry-after", handler.retryAfter)], Self.unavailable)
                case .abandoned:
                    stats.recordAbandoned()
                    answer(504, Self.jsonHeaders, Self.abandonedBody)
                case .timedOut:
                    let detail = JSON.serialize(.object(JSONObject([
                        .init(key: "detail", value: .string(
                            "Gateway Timeout: the model call ran longer than \(handler.callTimeout)s")),
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

    /// Answers one request: counts it in the stats, sends the response and writes the access-log line. The body
    /// is passed whole for HEAD too: the connection writes only the head, with the Content-Length a GET would
    /// have had (RFC 9110 §9.3.2). Stats are counted before the response leaves, so a client that has read a
    /// response always finds it counted. A value rather than a closure, so that a worker call's completion
    /// holds it in its own context instead of allocating a second one.
    private struct Answer: Sendable {
        let handler: EndpointHandler
        let responder: HTTPResponder
        let started: UInt64
        let method: String
        let target: String

        func callAsFunction(_ status: Int, _ headers: [(String, String)], _ body: [UInt8]) {
            handler.stats.record(status: status)
            responder.respond(status: status, headers: headers, body: body)
            if handler.accessLog {
                let micros = (EventLoop.now() &- started) / 1_000
                handler.log.log("\(method) \(target) \(status) \(EndpointHandler.formatMillis(micros))ms")
            }
        }
    }

    /// Whether more than `limit` calls wait for a worker (abandoned ones dropped first).
    private func overloaded(limit: Int) -> Bool {
        guard pool.waitingCalls > limit else { return false }
        if dropAbandoned { pool.dropAbandonedCalls() }
        return pool.waitingCalls > limit
    }

    static func formatMillis(_ micros: UInt64) -> String {
        let whole = micros / 1_000
        let frac = micros % 1_000
        let fracText = String(frac)
        return "\(whole)." + String(repeating: "0", count: 3 - fracText.count) + fracText
    }
}
