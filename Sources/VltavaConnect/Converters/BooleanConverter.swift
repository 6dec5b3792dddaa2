/// Kafka's `org.apache.kafka.connect.converters.BooleanConverter`: one byte, 0x01 for true and 0x00 for false
/// (Kafka's `BooleanSerializer`), read back with the optional boolean schema. Null stays null.
public struct BooleanConverter: Converter, HeaderConverter {
    public init() {}

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {}

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        if let schema, schema.type != .boolean {
            throw .data("Invalid schema type for BooleanConverter: \(schema.type.javaName)")
        }
        switch value {
        case .null: return nil
        case let .boolean(flag): return [flag ? 0x01 : 0x00]
        default: throw .data("BooleanConverter is not compatible with objects of type \(value.javaClassName)")
        }
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        guard let bytes else { return (.optionalBoolean, .null) }
        guard bytes.count == 1 else {
            throw .data("Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1")
        }
        switch bytes[0] {
        case 0x01: return (.optionalBoolean, .boolean(true))
        case 0x00: return (.optionalBoolean, .boolean(false))
        default:
            throw .data("Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: \(Int8(bitPattern: bytes[0]))")
        }
    }
}
