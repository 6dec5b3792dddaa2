import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

/// The record batches in Produce requests that real clients sent (librdkafka 2.0 and 2.16, kafka-python), one
/// per codec, as captured on the wire for KafkaProtocolTests (`Tests/KafkaProtocolTests/Fixtures/captures`).
@Suite struct ClientProduceCaptureTests {
    static let capturesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KafkaProtocolTests/Fixtures/captures")

    static let produceCaptures: [String] = ["confluent-kafka", "kafka-python", "kcat"].flatMap { client in
        ((try? FileManager.default.contentsOfDirectory(atPath: capturesDirectory.appendingPathComponent(client).path)) ?? [])
            .filter { $0.hasPrefix("Produce-") }
            .map { "\(client)/\($0)" }
    }.sorted()

    @Test func everyCodecIsCaptured() {
        for codec in ["uncompressed", "gzip", "snappy", "lz4", "zstd"] {
            #expect(Self.produceCaptures.filter { $0.contains("-\(codec)") }.count >= 3, "\(codec)")
        }
    }

    @Test(arguments: produceCaptures)
    func batchesValidateAndDecode(file: String) throws {
        let data = try Data(contentsOf: Self.capturesDirectory.appendingPathComponent(file))
        let frame = try KafkaRequestFrame(payload: ByteBuffer(bytes: data))
        var body = frame.body
        let request = try ProduceRequest(from: &body, version: frame.header.requestApiVersion)
        let records = try #require(request.topicData.first?.partitionData.first?.records)

        let validated = try RecordBatchValidator().validate(records)
        let expected: CompressionCodec = ["gzip": .gzip, "snappy": .snappy, "lz4": .lz4, "zstd": .zstd]
            .first { file.contains("-\($0.key)") }?.value ?? CompressionCodec.none
        #expect(validated.batches.allSatisfy { $0.header.compression == expected })
        #expect(validated.batches.allSatisfy { $0.header.hasProducerId == file.contains("idempotent") })

        let decoded = try RecordBatch.decodeRecords(records)
        #expect(decoded.count == validated.recordCount)
        #expect(decoded.map(\.offset) == Array(0..<Int64(decoded.count)) || validated.batches.count > 1)

        // Re-encoding what was decoded with the same codec gives batches that decode to the same records.
        var reencoded = ByteBuffer()
        var input = records
        while input.readableBytes > 0 {
            try RecordBatch(decoding: &input).encode(into: &reencoded)
        }
        #expect(try RecordBatch.decodeRecords(reencoded).map(\.record) == decoded.map(\.record))
    }
}
