import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The delegate of ``URLSessionTransport``'s session: collects each task's response and body as they arrive,
/// and cancels a task whose body grows past the limit (announced by `Content-Length`, or counted as it
/// arrives), so that a long or endless body is never read past it. Each task's continuation is resumed
/// exactly once, when the task completes.
final class URLSessionResponseReceiver: NSObject, URLSessionDataDelegate, Sendable {
    /// How a task ended.
    typealias Outcome = Result<(response: HTTPURLResponse, body: [UInt8]), TransportError>

    private struct Entry {
        var continuation: CheckedContinuation<Outcome, Never>
        var response: URLResponse?
        var body: [UInt8] = []
        var tooLarge = false
    }

    /// The longest body read, in bytes.
    let maxBodyBytes: Int
    private let entries = Mutex<[Int: Entry]>([:])

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// Starts following `task` (before it is resumed): `continuation` gets its outcome.
    func follow(_ task: URLSessionTask, continuation: CheckedContinuation<Outcome, Never>) {
        entries.withLock { $0[task.taskIdentifier] = Entry(continuation: continuation) }
    }

    /// Ends `task` with `outcome` unless it ended already (its continuation is resumed once either way).
    func end(_ task: URLSessionTask, with outcome: Outcome) {
        guard let entry = entries.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        entry.continuation.resume(returning: outcome)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let tooLarge = entries.withLock { entries -> Bool in
            guard var entry = entries[dataTask.taskIdentifier] else { return false }
            entry.response = response
            entry.tooLarge = response.expectedContentLength > Int64(maxBodyBytes)
            entries[dataTask.taskIdentifier] = entry
            return entry.tooLarge
        }
        completionHandler(tooLarge ? .cancel : .allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let tooLarge = entries.withLock { entries -> Bool in
            // Taken out and put back, so that the body is appended to in place (never copied).
            guard var entry = entries.removeValue(forKey: dataTask.taskIdentifier) else { return false }
            defer { entries[dataTask.taskIdentifier] = entry }
            if entry.tooLarge { return false }
            if data.count > maxBodyBytes - entry.body.count {
                entry.tooLarge = true
                entry.body = []
                return true
            }
            entry.body.append(contentsOf: data)
            return false
        }
        if tooLarge { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let entry = entries.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        entry.continuation.resume(returning: outcome(entry, error: error))
    }

    private func outcome(_ entry: Entry, error: Error?) -> Outcome {
        if entry.tooLarge { return .failure(.responseTooLarge(limit: maxBodyBytes)) }
        if let error {
            if let error = error as? URLError { return .failure(URLSessionTransport.map(error)) }
            return .failure(TransportError(.other, "\(error)"))
        }
        guard let response = entry.response as? HTTPURLResponse else {
            return .failure(TransportError(.protocolError, "not an HTTP response"))
        }
        return .success((response, entry.body))
    }
}
