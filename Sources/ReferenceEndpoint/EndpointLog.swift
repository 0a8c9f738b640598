import Foundation
import NetIO
import Synchronization

/// Where the endpoint's log lines go: the request log, worker lifecycle and the model's own output.
///
/// Each line gets an ISO 8601 UTC timestamp. Logging never blocks the caller: lines go into a bounded
/// in-memory queue that a thread of the log's own writes out, whole lines in order. When the reader of the
/// log (a terminal, a pipe nobody reads) cannot keep up and the queue is full, new lines are dropped and
/// counted, and the log says how many once it can write again. A stalled stderr therefore costs log lines,
/// never requests: the event loops, the timeouts and the signal handling go on.
public final class EndpointLog: Sendable {
    private let queue: LogQueue?

    /// A log writing to a file descriptor (standard error by default); `enabled: false` drops every line.
    /// At most `capacityBytes` of lines wait to be written.
    public init(fileDescriptor: Int32 = 2, enabled: Bool = true, capacityBytes: Int = 1 << 20) {
        queue = enabled ? LogQueue(fd: fileDescriptor, capacity: max(capacityBytes, 4096)) : nil
    }

    deinit { queue?.close() }

    /// Queues one line, prefixed with a timestamp; returns at once.
    public func log(_ message: String) {
        guard let queue else { return }
        queue.enqueue(Self.line(message))
    }

    /// Queues `lines` that arrived together, each as its own log line with one shared timestamp and `prefix`;
    /// returns at once. Cheaper per line than `log(_:)` for bursts (a model's output).
    public func log(prefix: String, lines: [String]) {
        guard let queue, !lines.isEmpty else { return }
        let head = Self.timestamp() + " " + prefix
        queue.enqueue(lines: lines.map { line in
            var text = head + line
            if !text.hasSuffix("\n") { text += "\n" }
            return Array(text.utf8)
        })
    }

    /// Lines dropped so far because the queue was full.
    public var droppedLines: Int { queue?.dropped ?? 0 }

    /// Stops the log's writer thread once it has written what is queued, and waits (at most `timeout` seconds)
    /// until it has exited; later lines are dropped. Returns false if the writer is still blocked on its reader.
    /// For whoever closes the descriptor afterwards: a writer still running could write into whatever file the
    /// descriptor's number is reused for.
    @discardableResult
    func close(timeout: Double) -> Bool { queue?.closeAndWait(timeout: timeout) ?? true }

    /// Waits until every queued line has been written, at most `timeout` seconds. Returns false when lines
    /// are still waiting (the reader is stuck); call before exiting so that the last lines are not lost.
    @discardableResult
    public func flush(timeout: Double = 2) -> Bool { queue?.flush(timeout: timeout) ?? true }

    static func line(_ message: String) -> [UInt8] {
        var line = timestamp()
        line += " "
        line += message
        if !line.hasSuffix("\n") { line += "\n" }
        return Array(line.utf8)
    }

    /// `2026-11-25T22:40:01.123Z`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var parts = tm()
        gmtime_r(&t, &parts)
        let millis = Int(ts.tv_nsec / 1_000_000)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}

/// The bounded queue behind an `EndpointLog` and the thread that writes it out.
final class LogQueue: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var dropped = 0
        var reported = 0
        var writing = false
        var closed = false
    }

    private let fd: Int32
    private let capacity: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    init(fd: Int32, capacity: Int) {
        self.fd = fd
        self.capacity = capacity
        let thread = Thread { [self] in run() }
        thread.name = "endpoint-log"
        thread.start()
    }

    var dropped: Int { state.withLock { $0.dropped } }

    func enqueue(_ line: [UInt8]) {
        let signal = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            guard s.pending.count + line.count <= capacity else {
                s.dropped += 1
                return false
            }
            s.pending += line
            return true
        }
        if signal { wake.signal() }
    }

    /// Queues `lines` under one lock; those that do not fit are dropped and counted.
    func enqueue(lines: [[UInt8]]) {
        let signal = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            var queued = false
            for line in lines {
                if s.pending.count + line.count <= capacity {
                    s.pending += line
                    queued = true
                } else {
                    s.dropped += 1
                }
            }
            return queued
        }
        if signal { wake.signal() }
    }

    /// Stops the writer once it has written what is queued.
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }

    /// `close()`, then waits at most `timeout` seconds for the writer thread to exit.
    func closeAndWait(timeout: Double) -> Bool {
        close()
        guard exited.wait(timeout: .now() + max(0, timeout)) == .success else { return false }
        exited.signal()  // for a later call
        return true
    }

    func flush(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while state.withLock({ !$0.pending.isEmpty || $0.writing }) {
            if Date() >= deadline { return false }
            usleep(1_000)
        }
        return true
    }

    private func run() {
        defer { exited.signal() }
        while true {
            wake.wait()
            let (bytes, dropped, closed) = state.withLock { s -> ([UInt8], Int, Bool) in
                var taken: [UInt8] = []
                swap(&taken, &s.pending)
                s.writing = !taken.isEmpty || s.dropped > s.reported
                let dropped = s.dropped - s.reported
                s.reported = s.dropped
                return (taken, dropped, s.closed)
            }
            write(bytes)
            if dropped > 0 {
                write(
                    EndpointLog.line(
                        "log: \(dropped) line\(dropped == 1 ? "" : "s") dropped: the log's reader did not keep up"))
            }
            state.withLock { $0.writing = false }
            if closed && state.withLock({ $0.pending.isEmpty }) { return }
        }
    }

    private func write(_ bytes: [UInt8]) { BlockingWrite.all(bytes, to: fd) }
}
