#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CVltavaFuzzMain
import KafkaProtocol
import KafkaRecords
import SchemaRegistry

/// The decoders this libFuzzer binary can drive; `VLTAVA_FUZZ_TARGET` names the one a run fuzzes.
enum FuzzTarget: String, CaseIterable, Sendable {
    case frameDecoder = "frame-decoder"
    case requestDecoder = "request-decoder"
    case recordBatch = "record-batch"
    case gzip, snappy, lz4, zstd
    case avro, protobuf
    case protobufDescriptor = "protobuf-descriptor"
    case jsonSchema = "json-schema"
    case jsonValue = "json-value"

    func run(_ input: UnsafeRawBufferPointer) {
        switch self {
        case .frameDecoder: KafkaProtocolFuzzing.frameDecoder(input)
        case .requestDecoder: KafkaProtocolFuzzing.requestDecoder(input)
        case .recordBatch: KafkaRecordsFuzzing.recordBatches(input)
        case .gzip: KafkaRecordsFuzzing.decompress(.gzip, input)
        case .snappy: KafkaRecordsFuzzing.decompress(.snappy, input)
        case .lz4: KafkaRecordsFuzzing.decompress(.lz4, input)
        case .zstd: KafkaRecordsFuzzing.decompress(.zstd, input)
        case .avro: SchemaRegistryFuzzing.avro(input)
        case .protobuf: SchemaRegistryFuzzing.protobuf(input)
        case .protobufDescriptor: SchemaRegistryFuzzing.protobufDescriptor(input)
        case .jsonSchema: SchemaRegistryFuzzing.jsonSchema(input)
        case .jsonValue: SchemaRegistryFuzzing.jsonValue(input)
        }
    }
}

let selectedTarget: FuzzTarget? = getenv("VLTAVA_FUZZ_TARGET").flatMap { FuzzTarget(rawValue: String(cString: $0)) }

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard selectedTarget != nil else {
        var message = "Set VLTAVA_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))\n"
        message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selectedTarget?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
