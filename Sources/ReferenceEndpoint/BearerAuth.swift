/// The endpoint's optional access check: `Authorization: Bearer <token>` (RFC 6750 §2.1).
///
/// The comparison takes the same time whatever the presented credentials are, up to their length: every byte of
/// the expected header value is compared, with no early exit, so response times say nothing about how much of a
/// guess was right.
struct BearerAuth: Sendable {
    private let expected: [UInt8]

    /// Accepts requests that carry `token`.
    init(token: String) {
        expected = Array("Bearer \(token)".utf8)
    }

    /// The headers of a 401: a challenge naming the scheme (RFC 9110 §11.6.1).
    static let challenge = ("www-authenticate", "Bearer")

    /// Whether an `Authorization` header value (nil: none) presents the token.
    func admits(_ authorization: String?) -> Bool {
        guard let authorization else { return false }
        var presented = Array(authorization.utf8)
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        if presented.count >= 7, String(decoding: presented[0..<6], as: UTF8.self).lowercased() == "bearer" {
            presented.replaceSubrange(0..<6, with: Array("Bearer".utf8))
        }
        return Self.constantTimeEqual(presented, expected)
    }

    /// Whether `a` equals `b`, in time that depends on `b`'s length only.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        if a.count != b.count { difference |= 1 }
        for index in 0..<b.count {
            let other = index < a.count ? a[index] : 0
            difference |= other ^ b[index]
        }
        return difference == 0
    }
}
