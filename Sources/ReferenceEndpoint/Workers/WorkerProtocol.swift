import EndpointSpec
import NetIO

/// The framing spoken over a worker's private pipes (see the header of `WorkerScript.source`).
///
/// Every frame is `u32 length (little-endian, of what follows) · u8 kind · body`. Calls and results travel
/// in batches: one `calls` frame carries up to `maxCallsPerFrame` calls, one `results` frame every result the
/// worker had ready, so a busy pool pays one `write(2)` and one `read(2)` per batch instead of per call.
enum WorkerProtocol {
    /// Pool → worker: the startup configuration, UTF-8 JSON.
    static let kindConfig: UInt8 = 1
    /// Pool → worker: repeated `u64 call id · u16 route · u32 n · n bytes of JSON arguments`. Call ids come
    /// from one counter per pool and are never reused, so a result can only ever complete the call it answers.
    static let kindCalls: UInt8 = 2
    /// Worker → pool: imported the model, resolved every function; body describes the interpreter.
    static let kindReady: UInt8 = 1
    /// Worker → pool: startup failed; body is the message. The worker exits next.
    static let kindFailed: UInt8 = 2
    /// Worker → pool: repeated `u64 call id · u8 status · u32 micros · u32 n · n bytes`.
    static let kindResults: UInt8 = 3
    /// Result status: the payload is the JSON encoding of the function's result.
    static let statusSuccess: UInt8 = 0
    /// Result status: the payload is `TypeName\0message`.
    static let statusException: UInt8 = 1
    /// At most this many calls go in one frame.
    static let maxCallsPerFrame = 32
    /// Size of a call record's header.
    static let callHeaderSize = 14
    /// Size of a result record's header.
    static let resultHeaderSize = 17

    /// Appends a whole frame.
    static func appendFrame(kind: UInt8, body: some Collection<UInt8>, to out: inout [UInt8]) {
        appendUInt32(UInt32(body.count + 1), to: &out)
        out.append(kind)
        out.append(contentsOf: body)
    }

    /// Starts a frame whose length is patched by `closeFrame`; returns the offset to patch.
    static func openFrame(kind: UInt8, in out: inout [UInt8]) -> Int {
        let start = out.count
        out.append(contentsOf: [0, 0, 0, 0, kind])
        return start
    }

    /// Writes the length of the frame opened at `start`.
    static func closeFrame(at start: Int, in out: inout [UInt8]) {
        let length = UInt32(out.count - start - 4)
        out[start] = UInt8(truncatingIfNeeded: length)
        out[start + 1] = UInt8(truncatingIfNeeded: length >> 8)
        out[start + 2] = UInt8(truncatingIfNeeded: length >> 16)
        out[start + 3] = UInt8(truncatingIfNeeded: length >> 24)
    }

    /// Appends one call record to an open calls frame.
    static func appendCall(id: UInt64, route: UInt16, arguments: [UInt8], to out: inout [UInt8]) {
        appendUInt64(id, to: &out)
        out.append(UInt8(truncatingIfNeeded: route))
        out.append(UInt8(truncatingIfNeeded: route >> 8))
        appendUInt32(UInt32(arguments.count), to: &out)
        out.append(contentsOf: arguments)
    }

    static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    static func appendUInt64(_ value: UInt64, to out: inout [UInt8]) {
        appendUInt32(UInt32(truncatingIfNeeded: value), to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: value >> 32), to: &out)
    }

    static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        UInt64(readUInt32(bytes, at: offset)) | UInt64(readUInt32(bytes, at: offset + 4)) << 32
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    /// One decoded result record; `payload` indexes the frame buffer it came from.
    struct ResultRecord: Equatable {
        var id: UInt64
        var status: UInt8
        var micros: UInt32
        var payload: Range<Int>
    }

    /// Decodes the result records of a results frame body `bytes[range]`; nil if the body is malformed.
    static func results(in bytes: [UInt8], _ range: Range<Int>) -> [ResultRecord]? {
        var records: [ResultRecord] = []
        // Room for as many records as the body could hold (each has a header), up to a frame of calls' worth.
        records.reserveCapacity(min(range.count / resultHeaderSize, maxCallsPerFrame))
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard range.upperBound - offset >= resultHeaderSize else { return nil }
            let id = readUInt64(bytes, at: offset)
            let status = bytes[offset + 8]
            let micros = readUInt32(bytes, at: offset + 9)
            let length = Int(readUInt32(bytes, at: offset + 13))
            offset += resultHeaderSize
            guard range.upperBound - offset >= length else { return nil }
            records.append(ResultRecord(id: id, status: status, micros: micros, payload: offset..<offset + length))
            offset += length
        }
        return records
    }

    /// The `WorkerResult` for a decoded record.
    static func result(status: UInt8, payload: ArraySlice<UInt8>) -> WorkerResult {
        if status == statusSuccess { return .success(Array(payload)) }
        if let zero = payload.firstIndex(of: 0) {
            return .exception(
                type: String(decoding: payload[payload.startIndex..<zero], as: UTF8.self),
                message: String(decoding: payload[(zero + 1)...], as: UTF8.self))
        }
        return .exception(type: String(decoding: payload, as: UTF8.self), message: "")
    }

    /// The CONFIG frame body: what the worker imports and how it calls each route.
    static func configuration(
        modelDirectory: String, routes: [RouteSpec], threads: Int, delayMilliseconds: Double, worker: Int,
        memoryLimitBytes: Int? = nil
    ) -> [UInt8] {
        var json = "{\"model_dir\":" + quoted(modelDirectory)
        if let memoryLimitBytes { json += ",\"memory_bytes\":\(max(0, memoryLimitBytes))" }
        json += ",\"threads\":\(max(1, threads)),\"delay_ms\":\(delayMilliseconds.isFinite ? max(0, delayMilliseconds) : 0)"
        json += ",\"worker\":\(worker),\"routes\":["
        for (index, route) in routes.enumerated() {
            if index > 0 { json += "," }
            json += "{\"verb\":" + quoted(route.verb) + ",\"path\":" + quoted(route.path)
            json += ",\"file\":" + quoted(route.file) + ",\"function\":" + quoted(route.function)
            json += ",\"positional\":" + (route.positional ? "true" : "false") + ",\"params\":["
            for (p, param) in route.body.enumerated() {
                if p > 0 { json += "," }
                json += "{\"name\":" + quoted(param.name) + ",\"optional\":" + (param.optional ? "true" : "false")
                json += ",\"default\":" + (param.defaultValue.map(quoted) ?? "null") + "}"
            }
            json += "]}"
        }
        json += "]}"
        return Array(json.utf8)
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Accumulates bytes read from a worker and hands out whole frames.
struct WorkerFrameBuffer {
    private(set) var bytes: [UInt8] = []
    private var start = 0

    /// Appends what was read.
    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        if start > 0 && start == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            start = 0
        }
        bytes.append(contentsOf: chunk)
    }

    /// The next whole frame: its kind and the range of its body in `bytes`; nil when more bytes are needed.
    /// Ranges stay valid until the next `append`.
    mutating func nextFrame() -> (kind: UInt8, body: Range<Int>)? {
        guard bytes.count - start >= 5 else { return nil }
        let length = Int(WorkerProtocol.readUInt32(bytes, at: start))
        guard length >= 1 else {
            start += 4
            return nextFrame()
        }
        guard bytes.count - start - 4 >= length else { return nil }
        let kind = bytes[start + 4]
        let body = (start + 5)..<(start + 4 + length)
        start += 4 + length
        return (kind, body)
    }

    /// Drops consumed bytes once a batch of frames has been handled.
    mutating func compact() {
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 20)
            start = 0
        } else if start > 1 << 16 {
            bytes.removeSubrange(0..<start)
            start = 0
        }
    }
}

/// FIFO of calls waiting for a worker.
typealias WorkerCallQueue = FIFOQueue<WaitingCall>

extension FIFOQueue where Element == WaitingCall {
    /// The oldest call's route, if any.
    var firstRoute: Int? { first?.route }

    /// Removes and returns the oldest call, if any.
    mutating func removeFirst() -> WaitingCall? { popFirst() }
}

/// What every accepted call carries until it completes.
typealias WorkerCompletion = @Sendable (WorkerResult) -> Void

/// Whether a waiting call is no longer wanted, given the monotonic time now (`workerClock()`).
typealias AbandonedCheck = @Sendable (UInt64) -> Bool

/// A call waiting for a worker.
struct WaitingCall {
    var route: Int
    var arguments: [UInt8]
    /// When set and true, the call is dropped before it runs and completes with `.abandoned`.
    var abandoned: AbandonedCheck? = nil
    var completion: WorkerCompletion

    /// Whether the call's submitter no longer wants it at `now`.
    func isAbandoned(now: UInt64) -> Bool { abandoned?(now) ?? false }
}

/// A call sent to a worker.
struct InFlightCall {
    var route: Int
    var sentAt: UInt64
    var cost: UInt64
    var completion: WorkerCompletion
}
