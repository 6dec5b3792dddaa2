import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Requests captured from real clients (kafka-python, confluent-kafka/librdkafka, kcat) decode with the
/// generated codecs and re-encode to exactly the bytes the client sent.
@Suite struct ClientCaptureTests {
    static let capturesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/captures")

    static var captureFiles: [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: capturesDirectory.path) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".bin") }.sorted()
    }

    @Test func capturesExistForEveryClient() {
        let files = Self.captureFiles
        for client in ["kafka-python", "confluent-kafka", "kcat"] {
            #expect(files.contains { $0.hasPrefix(client + "/") }, "no captures from \(client)")
        }
        let apis = Set(files.compactMap { $0.split(separator: "/").last?.split(separator: "-").first.map(String.init) })
        for api in ["ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "FindCoordinator", "JoinGroup",
                    "SyncGroup", "Heartbeat", "OffsetCommit", "OffsetFetch", "CreateTopics", "InitProducerId"] {
            #expect(apis.contains(api), "no capture of \(api)")
        }
    }

    @Test(arguments: captureFiles)
    func captureDecodesAndReencodesExactly(file: String) throws {
        let data = try Data(contentsOf: Self.capturesDirectory.appendingPathComponent(file))
        let payload = ByteBuffer(bytes: data)
        let frame = try KafkaRequestFrame(payload: payload)
        let apiKey = try #require(frame.apiKey, "\(file): unknown API key \(frame.header.requestApiKey)")
        #expect(file.split(separator: "/").last!.hasPrefix(apiKey.name + "-v\(frame.header.requestApiVersion)"))
        var body = frame.body
        let request = try KafkaRequestBody.decode(apiKey: apiKey, version: frame.header.requestApiVersion, from: &body)
        #expect(body.readableBytes == 0, "\(file): \(body.readableBytes) bytes after the body")

        var reencoded = ByteBuffer()
        try frame.header.write(to: &reencoded, version: frame.headerVersion)
        try request.write(to: &reencoded, version: frame.header.requestApiVersion)
        #expect(Array(reencoded.readableBytesView) == Array(data), "\(file) re-encoded differently")
    }

    /// librdkafka 2.16 follows a Metadata v12 body with three bytes; Kafka ignores them, so the body decodes
    /// and the rest is left for the broker to judge.
    @Test func librdkafkaMetadataV12WithTrailingBytes() throws {
        let hex = "0003000c00000003000772646b61666b610000000000010000"
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        let frame = try KafkaRequestFrame(payload: ByteBuffer(bytes: bytes))
        var body = frame.body
        guard case let .metadata(request) = try KafkaRequestBody.decode(apiKey: .metadata, version: 12, from: &body) else {
            Issue.record("not a Metadata request")
            return
        }
        #expect(request.topics == nil)
        #expect(body.readableBytes == 3)
    }
}
