import HTTP1
import NetIO
import Testing

@testable import LoadgenCore
@testable import ResilientClient

/// One reading of NetIO's client failures for the library and the engine.
@Suite struct TransportMappingTests {
    @Test func aTimeoutBeforeTheRequestWasWrittenIsAConnectTimeoutInBoth() {
        #expect(TransportError(HTTPClientError.timedOut(requestSent: false)).kind == .connectTimeout)
        #expect(TransportError(HTTPClientError.timedOut(requestSent: true)).kind == .responseTimeout)
        // The engine used to call both a response timeout, and did not retry where the library would.
        let notSent = TransportFailure(.timedOut(requestSent: false), expired: false)
        #expect(notSent.outcome == .transport(.connectTimeout))
        #expect(notSent.kind == .timeout)
        #expect(TransportFailure(.timedOut(requestSent: true), expired: false).outcome == .transport(.responseTimeout))
    }

    @Test func theEngineReadsEveryFailureAsTheLibraryDoes() {
        let errors: [HTTPClientError] = [
            .connectRefused, .connectTimedOut, .unreachable, .connectFailed(.addressResolution(host: "nowhere.invalid")),
            .timedOut(requestSent: false), .timedOut(requestSent: true), .resetBeforeSend, .resetAfterSend,
            .closedByPeer(requestSent: true), .closed(requestSent: false),
        ]
        for error in errors {
            #expect(TransportFailure(error, expired: false).outcome == .transport(TransportError(error).kind), "\(error)")
        }
    }

    @Test func aResponseOverTheLimitIsTooLargeOnEveryPath() {
        let plain = TransportFailure(.invalidResponse(HTTPParseError(status: 413, reason: "x")), expired: false)
        #expect(plain.kind == .tooLarge)
        #expect(plain.outcome == .transport(.responseTooLarge))
        // The https transports (URLSession, libcurl) report it as a TransportError: the same kind and outcome.
        let secure = TransportFailure(TransportError.responseTooLarge(limit: 65536), expired: false)
        #expect(secure == plain)
        #expect(TransportError.responseTooLarge(limit: 65536).message == "response body larger than the limit of 65536 bytes")
    }

    @Test func anUnresolvedHostHasAKindOfItsOwnAndIsRetried() {
        let error = TransportError(HTTPClientError.connectFailed(.addressResolution(host: "nowhere.invalid")))
        #expect(error.kind == .unresolvedHost)
        #expect(error.message == "cannot resolve host name 'nowhere.invalid' (DNS)")
        let classifier = RetryClassifier()
        #expect(classifier.classify(.transport(.unresolvedHost), idempotent: false) == .retry)
        #expect(classifier.isEndpointFailure(.transport(.unresolvedHost)))
    }
}
