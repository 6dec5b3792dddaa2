import Foundation
import KafkaRecords
import Testing

/// The inputs the record and codec fuzzers (scripts/fuzz-decoders) crashed on, and their corpora, fed again to
/// the same entry points: each must be rejected or decoded without a trap.
@Suite struct FuzzRegressionTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    /// Every file of `Tests/Fuzz/crashes/<target>` and `Tests/Fuzz/corpus/<target>`, by name.
    static func inputs(_ target: String) -> [(String, [UInt8])] {
        ["crashes", "corpus"].flatMap { kind -> [(String, [UInt8])] in
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name in
                (try? Data(contentsOf: directory.appendingPathComponent(name))).map { ("\(kind)/\(name)", Array($0)) }
            }
        }
    }

    @Test func recordBatches() {
        let inputs = Self.inputs("record-batch")
        #expect(!inputs.isEmpty)
        for (_, bytes) in inputs { bytes.withUnsafeBytes(KafkaRecordsFuzzing.recordBatches) }
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4, .zstd])
    func decompression(codec: CompressionCodec) {
        let inputs = Self.inputs("\(codec)")
        #expect(!inputs.isEmpty)
        for (_, bytes) in inputs { bytes.withUnsafeBytes { KafkaRecordsFuzzing.decompress(codec, $0) } }
    }
}
