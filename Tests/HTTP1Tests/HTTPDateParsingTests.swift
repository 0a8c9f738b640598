import Testing

@testable import HTTP1

@Suite struct HTTPDateParsingTests {
    @Test("what HTTPDate formats, it parses back to the same second (1969 to 2100)")
    func formatThenParse() {
        var t = -86_400 * 3
        var checked = 0
        while t < 4_102_444_800 {  // 2100-01-01
            let text = HTTPDate.imfFixdate(secondsSince1970: t)
            #expect(HTTPDate.parse(text) == Int64(t), "\(text)")
            t += 7_777_777  // about 90 days, so every weekday, month and leap years come round
            checked += 1
        }
        #expect(checked > 500)
    }
}
