import Foundation
import KafkaRecords
import NIOCore

/// Test fixtures live beside this file; they are located through #filePath, not bundle resources.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func buffer(_ name: String) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The records scripts/make-record-fixtures.py writes into every batch-*.bin.
    static let pythonRecords: [Record] = (0..<20).map { index in
        var headers: [RecordHeader] = []
        if index % 2 == 1 { headers.append(RecordHeader(key: "trace", value: ByteBuffer(string: "t-\(index)"))) }
        if index % 3 == 0 { headers.append(RecordHeader(key: "empty", value: nil)) }
        return Record(
            offsetDelta: Int32(index), timestampDelta: Int64(7 * index),
            key: index % 4 == 0 ? nil : ByteBuffer(string: "key-\(index)"),
            value: index % 5 == 3 ? nil : ByteBuffer(string: String(repeating: "value-\(index)", count: index + 1)),
            headers: headers)
    }

    static let pythonBaseTimestamp: Int64 = 1_700_000_000_000
}

extension ByteBuffer {
    var bytes: [UInt8] { Array(readableBytesView) }
}

func sampleRecords(count: Int) -> [Record] {
    (0..<count).map { index in
        Record(
            offsetDelta: Int32(index), timestampDelta: Int64(index * 3),
            key: index % 7 == 0 ? nil : ByteBuffer(string: "key-\(index)"),
            value: ByteBuffer(string: String(repeating: "payload \(index) ", count: index % 13 + 1)),
            headers: index % 2 == 0 ? [RecordHeader(key: "h\(index)", value: ByteBuffer(string: "v"))] : [])
    }
}
