import Testing
@testable import VltavaEtcd

@Suite struct JSONObjectSplitterTests {
    static let objects = [
        #"{"result":{"header":{"revision":"5"},"created":true}}"#,
        #"{"result":{"events":[{"kv":{"key":"e30=","value":"fQ=="}}],"note":"a } and a { and \" and \\"}}"#,
        #"{"error":{"grpc_code":14,"message":"[\"x\"]"}}"#,
    ]

    @Test func objectsComeOutWholeWhateverTheSplit() throws {
        let stream = Array(Self.objects.joined(separator: "\n").utf8) + Array("\n".utf8)
        for first in 0...stream.count {
            for second in stride(from: first, through: stream.count, by: 7) {
                var splitter = JSONObjectSplitter()
                var found: [[UInt8]] = []
                found += try splitter.append(stream[..<first])
                found += try splitter.append(stream[first..<second])
                found += try splitter.append(stream[second...])
                #expect(found.map { String(decoding: $0, as: UTF8.self) } == Self.objects, "split at \(first) and \(second)")
                #expect(!splitter.hasPartialObject)
            }
        }
    }

    @Test func aPartialObjectIsReported() throws {
        var splitter = JSONObjectSplitter()
        #expect(try splitter.append(Array(#"{"result":{"#.utf8)).isEmpty)
        #expect(splitter.hasPartialObject)
    }

    @Test func textOutsideObjectsAndOversizedObjectsFail() {
        var text = JSONObjectSplitter()
        #expect(throws: JSONObjectSplitter.Failure.self) { try text.append(Array("Not Found".utf8)) }
        var small = JSONObjectSplitter(maximumObjectBytes: 16)
        #expect(throws: JSONObjectSplitter.Failure(detail: "a JSON object is larger than 16 bytes")) {
            try small.append(Array(#"{"key":"0123456789abcdef"}"#.utf8))
        }
    }
}
