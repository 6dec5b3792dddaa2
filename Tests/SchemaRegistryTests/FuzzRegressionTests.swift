import Foundation
import SchemaRegistry
import Testing

/// The inputs the schema fuzzers (scripts/fuzz-decoders) crashed on, and their corpora, fed again to the same
/// entry points: each must be rejected or parsed without a trap.
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

    static let targets: [(String, @Sendable (UnsafeRawBufferPointer) -> Void)] = [
        ("avro", SchemaRegistryFuzzing.avro),
        ("protobuf", SchemaRegistryFuzzing.protobuf),
        ("protobuf-descriptor", SchemaRegistryFuzzing.protobufDescriptor),
        ("json-schema", SchemaRegistryFuzzing.jsonSchema),
        ("json-value", SchemaRegistryFuzzing.jsonValue),
    ]

    @Test(arguments: targets.map(\.0))
    func schemaParser(target: String) throws {
        let entryPoint = try #require(Self.targets.first { $0.0 == target }?.1)
        let inputs = Self.inputs(target)
        #expect(!inputs.isEmpty)
        for (_, bytes) in inputs { bytes.withUnsafeBytes(entryPoint) }
    }
}
