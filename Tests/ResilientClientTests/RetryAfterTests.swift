import HTTP1
import Testing

@testable import ResilientClient

@Suite struct RetryAfterTests {
    // Sun, 06 Nov 1994 08:49:37 GMT
    let sample: Int64 = 784_111_777

    @Test func parsesDelaySeconds() {
        #expect(RetryAfter(headerValue: "0") == .seconds(0))
        #expect(RetryAfter(headerValue: "120") == .seconds(120))
        #expect(RetryAfter(headerValue: "  7\t") == .seconds(7))
        #expect(RetryAfter(headerValue: "99999999999999999999999") == .seconds(Int64.max))
    }

    @Test(arguments: ["", " ", "-1", "1.5", "+3", "3s", "soon", "0x10", "Sun, 06 Nov 1994 08:49:37 UTC"])
    func rejectsInvalidValues(value: String) {
        #expect(RetryAfter(headerValue: value) == nil)
    }

    @Test func parsesAllThreeDateForms() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == sample)
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") == sample)
        #expect(HTTPDate.parse("Sun Nov  6 08:49:37 1994") == sample)
        #expect(HTTPDate.parse("Sun Nov 16 08:49:37 1994") == sample + 10 * 86_400)
        #expect(RetryAfter(headerValue: "Sun, 06 Nov 1994 08:49:37 GMT") == .date(secondsSince1970: sample))
    }

    @Test func knownEpochValues() {
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 23:59:59 GMT") == 951_868_799)
        #expect(HTTPDate.parse("Wed, 31 Dec 1969 23:59:59 GMT") == -1)
        #expect(HTTPDate.parse("Sat, 01 Jan 2050 00:00:00 GMT") == 2_524_608_000)
        #expect(HTTPDate.parse("Sat, 31 Dec 2016 23:59:60 GMT") == 1_483_228_800)  // leap second
    }

    @Test(arguments: [
        "Sun, 6 Nov 1994 08:49:37 GMT",  // one-digit day
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 08:49:37 GMT ",  // trailing space inside (after trimming there is none)
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",  // 31 November
        "Sun, 29 Feb 1900 08:49:37 GMT",  // 1900 is not a leap year
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",  // long day name with IMF layout
        "Sun, 06-Nov-94 08:49:37 GMT",  // short day name with RFC 850 layout
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Xyz Nov  6 08:49:37 1994",
        "Sun Nov x6 08:49:37 1994",
        "Sun, 0a Nov 1994 08:49:37 GMT",
    ])
    func rejectsMalformedDates(value: String) {
        #expect(HTTPDate.parse(value) == nil)
    }

    @Test func trailingSpaceIsTrimmedForTheHeader() {
        #expect(RetryAfter(headerValue: "Sun, 06 Nov 1994 08:49:37 GMT ") == .date(secondsSince1970: sample))
    }

    @Test func rfc850TwoDigitYearsFollowTheFiftyYearRule() {
        let year2025 = 1_735_689_600.0  // 2025-01-01
        // "94" would be 2094, more than 50 years ahead: read as 1994.
        #expect(HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", nowSecondsSince1970: year2025) == sample)
        // "70" is 2070, within 50 years: kept in the future.
        let y2070 = HTTPDate.parse("Thursday, 01-Jan-70 00:00:00 GMT", nowSecondsSince1970: year2025)
        #expect(y2070 == HTTPDate.parse("Wed, 01 Jan 2070 00:00:00 GMT"))
        // "76" would be 2076 (51 years ahead): 1976.
        let y1976 = HTTPDate.parse("Thursday, 01-Jan-76 00:00:00 GMT", nowSecondsSince1970: year2025)
        #expect(y1976 == HTTPDate.parse("Thu, 01 Jan 1976 00:00:00 GMT"))
        // "26" is next year.
        let y2026 = HTTPDate.parse("Thursday, 01-Jan-26 00:00:00 GMT", nowSecondsSince1970: year2025)
        #expect(y2026 == HTTPDate.parse("Thu, 01 Jan 2026 00:00:00 GMT"))
        // Relative to 1970: "05" is 2005 (35 years ahead), "21" is 1921 (2021 would be 51 years ahead).
        #expect(HTTPDate.parse("Saturday, 01-Jan-05 00:00:00 GMT") == HTTPDate.parse("Sat, 01 Jan 2005 00:00:00 GMT"))
        #expect(HTTPDate.parse("Saturday, 01-Jan-21 00:00:00 GMT") == HTTPDate.parse("Sat, 01 Jan 1921 00:00:00 GMT"))
    }

    @Test func delayIsBoundedByTheCap() {
        let cap = Duration.seconds(5)
        #expect(RetryAfter.seconds(2).delay(nowSecondsSince1970: 0, cap: cap) == .seconds(2))
        #expect(RetryAfter.seconds(5).delay(nowSecondsSince1970: 0, cap: cap) == .seconds(5))
        #expect(RetryAfter.seconds(6).delay(nowSecondsSince1970: 0, cap: cap) == cap)
        #expect(RetryAfter.seconds(Int64.max).delay(nowSecondsSince1970: 0, cap: cap) == cap)
        #expect(RetryAfter.seconds(3).delay(nowSecondsSince1970: 0, cap: .seconds(-1)) == .zero)
    }

    @Test func dateDelayIsRelativeToTheWallClock() {
        let cap = Duration.seconds(60)
        let date = RetryAfter.date(secondsSince1970: 1000)
        #expect(date.delay(nowSecondsSince1970: 990, cap: cap) == .seconds(10))
        #expect(date.delay(nowSecondsSince1970: 999.5, cap: cap) == .milliseconds(500))
        #expect(date.delay(nowSecondsSince1970: 1000, cap: cap) == .zero)
        #expect(date.delay(nowSecondsSince1970: 5000, cap: cap) == .zero)  // in the past
        #expect(date.delay(nowSecondsSince1970: 0, cap: cap) == cap)
    }
}
