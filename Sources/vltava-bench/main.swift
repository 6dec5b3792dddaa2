import Foundation
@_spi(Testing) import KafkaRecords
import KafkaProtocol
import NIOCore

// Throughput of the produce hot path: CRC32C, batch validation with offset assignment, and Produce decoding.
// Meaningful only in a release build: scripts/bench-codec builds and runs it.

/// Runs `body` repeatedly for about `seconds` and returns the iterations per second.
func measure(seconds: Double = 1.0, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<3 { try body() }
    var iterations = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed: Double = 0
    repeat {
        for _ in 0..<16 { try body() }
        iterations += 16
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    return Double(iterations) / elapsed
}

func report(_ name: String, perSecond: Double, bytesEach: Int, unit: String) {
    let gigabytes = perSecond * Double(bytesEach) / 1e9
    let rate = String(format: "%12.0f", perSecond)
    let throughput = String(format: "%7.2f", gigabytes)
    print("\(name.padding(toLength: 56, withPad: " ", startingAt: 0)) \(rate) \(unit)/s  \(throughput) GB/s")
}

var sink: UInt64 = 0

// CRC32C over 1 MiB.
let mebibyte = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
mebibyte.withUnsafeBytes { bytes in
    report("CRC32C, 1 MiB (dispatching)", perSecond: measure { sink &+= UInt64(CRC32C.checksum(bytes)) },
           bytesEach: bytes.count, unit: "buffers")
    report("CRC32C, 1 MiB (slicing-by-8 fallback)", perSecond: measure { sink &+= UInt64(CRC32C.softwareChecksum(bytes)) },
           bytesEach: bytes.count, unit: "buffers")
}

// 16 KiB uncompressed batches: 64 of them in one Produce-sized buffer.
func batch16KiB() throws -> ByteBuffer {
    var records: [Record] = []
    var size = RecordBatchHeader.size
    while size < 16 * 1024 - 120 {
        let value = ByteBuffer(repeating: UInt8(truncatingIfNeeded: records.count), count: 90)
        records.append(Record(offsetDelta: Int32(records.count), timestampDelta: Int64(records.count),
                              key: ByteBuffer(string: "key-\(records.count)"), value: value))
        size += 110
    }
    return try RecordBatch(baseTimestamp: 1_700_000_000_000, producerId: 1, producerEpoch: 0, baseSequence: 0,
                           records: records).encoded()
}

let single = try batch16KiB()
var batches = ByteBuffer()
for _ in 0..<64 { batches.writeImmutableBuffer(single) }
let validator = RecordBatchValidator()
var nextOffset: Int64 = 0
let validationRate = try measure {
    let result = try validator.validate(batches)
    nextOffset = RecordBatchValidator.assignOffsets(result, startingAt: nextOffset, in: &batches)
}
report("validate + assign offsets, 16 KiB batches (\(single.readableBytes) B)", perSecond: validationRate * 64,
       bytesEach: single.readableBytes, unit: "batches")

// Produce v9 decode of one topic, one partition, one 16 KiB batch.
let request = ProduceRequest(acks: -1, timeoutMs: 30_000, topicData: [
    .init(name: "bench-topic", partitionData: [.init(index: 0, records: single)]),
])
var encodedRequest = ByteBuffer()
try request.write(to: &encodedRequest, version: 9)
let decodeRate = try measure {
    var copy = encodedRequest
    let decoded = try ProduceRequest(from: &copy, version: 9)
    sink &+= UInt64(decoded.topicData.count)
}
report("ProduceRequest v9 decode (\(encodedRequest.readableBytes) B)", perSecond: decodeRate,
       bytesEach: encodedRequest.readableBytes, unit: "requests")
let decodeAndValidateRate = try measure {
    var copy = encodedRequest
    let decoded = try ProduceRequest(from: &copy, version: 9)
    let records = decoded.topicData[0].partitionData[0].records!
    sink &+= UInt64(try validator.validate(records).recordCount)
}
report("ProduceRequest v9 decode + batch validation", perSecond: decodeAndValidateRate,
       bytesEach: encodedRequest.readableBytes, unit: "requests")

// Codecs over the records of one batch.
let payload = single.getSlice(at: RecordBatchHeader.size, length: single.readableBytes - RecordBatchHeader.size)!
for codec in CompressionCodec.allCases where codec != .none && codec.isAvailable {
    let compressed = try codec.compress(payload)
    report("\(codec) compress 16 KiB (ratio \(String(format: "%.2f", Double(payload.readableBytes) / Double(compressed.readableBytes))))",
           perSecond: try measure(seconds: 0.5) { sink &+= UInt64(try codec.compress(payload).readableBytes) },
           bytesEach: payload.readableBytes, unit: "blocks")
    report("\(codec) decompress 16 KiB",
           perSecond: try measure(seconds: 0.5) {
               sink &+= UInt64(try codec.decompress(compressed, maximumSize: 1 << 20).readableBytes)
           },
           bytesEach: payload.readableBytes, unit: "blocks")
}
if sink == 42 { print("") }
