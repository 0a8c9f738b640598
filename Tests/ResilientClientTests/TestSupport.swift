import Foundation
import Synchronization

@testable import ResilientClient

/// A virtual clock. `sleep(for:)` advances virtual time at once (recording the delay) unless
/// `autoAdvance` is off; `sleep(until:)` waits until `advance(by:)` moves time past its deadline.
final class TestClock: ClientClock {
    private struct Timer {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration = .zero
        var autoAdvance: Bool
        var slept: [Duration] = []
        var timers: [UInt64: Timer] = [:]
        var nextID: UInt64 = 0
        var pendingWatchers: [(Int, CheckedContinuation<Void, Never>)] = []
    }

    private let state: Mutex<State>
    /// Wall-clock seconds at virtual time zero.
    let wallOrigin: Double = 1_700_000_000

    init(autoAdvance: Bool = true) {
        state = Mutex(State(autoAdvance: autoAdvance))
    }

    var now: Duration { state.withLock { $0.now } }
    var wallClockSecondsSince1970: Double { wallOrigin + Double(now.clampedNanoseconds) / 1e9 }
    /// Delays passed to `sleep(for:)`, in order.
    var slept: [Duration] { state.withLock { $0.slept } }
    /// Timers (and non-advancing sleeps) waiting.
    var pendingTimers: Int { state.withLock { $0.timers.count } }

    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        let (auto, target) = state.withLock { state in
            state.slept.append(duration)
            return (state.autoAdvance, state.now + duration)
        }
        if auto {
            advance(to: target)
        } else {
            try await sleep(until: target)
        }
    }

    func sleep(until deadline: Duration) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Immediate { case cancelled, fired, none }
                let (immediate, watchers) = state.withLock { state -> (Immediate, [CheckedContinuation<Void, Never>]) in
                    if Task.isCancelled { return (.cancelled, []) }
                    if state.now >= deadline { return (.fired, []) }
                    state.timers[id] = Timer(deadline: deadline, continuation: continuation)
                    return (.none, Self.readyWatchers(&state))
                }
                for watcher in watchers { watcher.resume() }
                switch immediate {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .fired: continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let timer = state.withLock { $0.timers.removeValue(forKey: id) }
            timer?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves virtual time forward and fires every timer that is due.
    func advance(by duration: Duration) {
        advance(to: now + duration)
    }

    private func advance(to target: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = max(state.now, target)
            let dueIDs = state.timers.filter { $0.value.deadline <= state.now }.keys
            return dueIDs.compactMap { state.timers.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due { continuation.resume() }
    }

    /// Returns once at least `count` timers are pending.
    func waitForPendingTimers(_ count: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.timers.count >= count { return true }
                state.pendingWatchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func readyWatchers(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        let count = state.timers.count
        let ready = state.pendingWatchers.filter { $0.0 <= count }.map(\.1)
        state.pendingWatchers.removeAll { $0.0 <= count }
        return ready
    }
}

/// A transport that answers from scripts: one for `/ping`, one for everything else.
final class ScriptedTransport: HTTPTransport {
    enum Step: Sendable {
        case respond(Int, headers: [(name: String, value: String)] = [], body: String = "{}")
        case fail(TransportError.Kind)
        /// Advance the clock by this much (firing timers), then hang until cancelled.
        case hang(advance: Duration)
        /// Cancel the calling task, then answer with this status anyway (a reply that raced a cancellation).
        /// The calling task is the call's own only when the transport `enforcesTimeout` and the client runs on
        /// the system clock; otherwise the client sends from a child task (racing a timer).
        case respondAfterCancelling(Int, body: String = "{}")
    }

    private struct State {
        var main: [Step]
        var ping: [Step]
        var mainDefault: Step
        var pingDefault: Step
        var requests: [TransportRequest] = []
    }

    private let state: Mutex<State>
    private let clock: TestClock?
    let enforcesTimeout: Bool

    init(
        _ main: [Step] = [], ping: [Step] = [], mainDefault: Step = .respond(200), pingDefault: Step = .respond(200),
        clock: TestClock? = nil, enforcesTimeout: Bool = false
    ) {
        state = Mutex(State(main: main, ping: ping, mainDefault: mainDefault, pingDefault: pingDefault))
        self.clock = clock
        self.enforcesTimeout = enforcesTimeout
    }

    var requests: [TransportRequest] { state.withLock { $0.requests } }
    var mainRequests: Int { requests.filter { $0.url.path != "/ping" }.count }
    var pingRequests: Int { requests.filter { $0.url.path == "/ping" }.count }

    func send(_ request: TransportRequest, timeout: Duration?) async throws(TransportError) -> TransportResponse {
        let step = state.withLock { state -> Step in
            state.requests.append(request)
            if request.url.path == "/ping" {
                return state.ping.isEmpty ? state.pingDefault : state.ping.removeFirst()
            }
            return state.main.isEmpty ? state.mainDefault : state.main.removeFirst()
        }
        switch step {
        case .respond(let status, let headers, let body):
            return TransportResponse(status: status, headers: headers, body: Array(body.utf8))
        case .fail(let kind):
            throw TransportError(kind, "scripted")
        case .respondAfterCancelling(let status, let body):
            withUnsafeCurrentTask { $0?.cancel() }
            return TransportResponse(status: status, body: Array(body.utf8))
        case .hang(let advance):
            clock?.advance(by: advance)
            await hangUntilCancelled()
            throw TransportError(.cancelled, "cancelled")
        }
    }

    private func hangUntilCancelled() async {
        let box = Mutex<(CheckedContinuation<Void, Never>?, Bool)>((nil, false))
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let cancelled = box.withLock { value -> Bool in
                    if value.1 || Task.isCancelled { return true }
                    value.0 = continuation
                    return false
                }
                if cancelled { continuation.resume() }
            }
        } onCancel: {
            let waiter = box.withLock { value -> CheckedContinuation<Void, Never>? in
                value.1 = true
                defer { value.0 = nil }
                return value.0
            }
            waiter?.resume()
        }
    }
}

/// Collects events from a client's hook.
final class EventLog: Sendable {
    private let events = Mutex<[ClientEvent]>([])
    var all: [ClientEvent] { events.withLock { $0 } }
    func append(_ event: ClientEvent) { events.withLock { $0.append(event) } }
}

let testURL = URL(string: "http://127.0.0.1:9")!  // never contacted: tests use ScriptedTransport

func makeClient(
    _ transport: ScriptedTransport, clock: any ClientClock, configure: (inout ResilientClientConfiguration) -> Void = { _ in }
) -> ResilientClient {
    var configuration = ResilientClientConfiguration(baseURL: testURL)
    configuration.retry.backoff = Backoff(base: .milliseconds(100), multiplier: 2, cap: .seconds(5), jitter: .none)
    configuration.gate.probeBackoff = Backoff(base: .milliseconds(100), multiplier: 2, cap: .seconds(1), jitter: .none)
    configuration.randomSeed = 1
    configure(&configuration)
    return ResilientClient(configuration: configuration, transport: transport, clock: clock)
}
