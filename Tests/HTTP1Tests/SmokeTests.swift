import Testing
import HTTP1

@Test func smokeDecodesSimpleGet() throws {
    var decoder = HTTPRequestDecoder()
    decoder.append(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
    let request = try #require(try decoder.next())
    #expect(request.head.method == "GET")
    #expect(request.body == nil)
}
