import KafkaProtocol
import NIOCore
import Testing

/// Every generated message at every valid version: a sample with every present field set to a
/// non-default value (and an unknown tagged field in flexible versions) must encode, decode to an equal
/// value, and re-encode to the same bytes.
@Suite struct GeneratedRoundTripTests {
    static let cases: [(String, Int16)] = generatedMessageTypes.flatMap { type in
        type.validVersions.map { ("\(type)", $0) }
    }

    @Test(arguments: generatedMessageTypes.map { "\($0)" })
    func everyVersionRoundTrips(typeName: String) throws {
        let type = try #require(generatedMessageTypes.first { "\($0)" == typeName })
        for version in type.validVersions {
            try roundTrip(type, version: version)
        }
    }

    private func roundTrip<Message: KafkaMessage>(_ type: Message.Type, version: Int16) throws {
        let sample = try #require(generatedSample(of: type, version: version) as? Message)
        let bytes = try sample.encoded(version: version)
        let decoded = try Message.decode(from: bytes, version: version)
        #expect(decoded == sample, "\(type) v\(version) did not round trip")
        let reencoded = try decoded.encoded(version: version)
        #expect(reencoded == bytes, "\(type) v\(version) re-encoded differently")

        let empty = try Message().encoded(version: version)
        #expect(try Message.decode(from: empty, version: version) == Message())

        // Every strict prefix of the encoding is a truncated message and must be rejected, not crash.
        for cut in stride(from: 0, to: bytes.readableBytes, by: Swift.max(1, bytes.readableBytes / 16)) {
            let prefix = bytes.getSlice(at: bytes.readerIndex, length: cut)!
            #expect(throws: KafkaProtocolError.self) { try Message.decode(from: prefix, version: version) }
        }
    }

    @Test func samplesCoverEveryMessage() throws {
        #expect(generatedMessageTypes.count >= 100)
        #expect(Self.cases.count > 500)
        // Only versions without any field (ApiVersions v0-v2, ListGroups v0-v2, ...) may equal the default.
        var sameAsDefault = 0
        for type in generatedMessageTypes {
            for version in type.validVersions where try isDefault(type, version: version) { sameAsDefault += 1 }
        }
        #expect(sameAsDefault <= 12)
    }

    private func isDefault<Message: KafkaMessage>(_ type: Message.Type, version: Int16) throws -> Bool {
        try #require(generatedSample(of: type, version: version) as? Message) == Message()
    }
}
