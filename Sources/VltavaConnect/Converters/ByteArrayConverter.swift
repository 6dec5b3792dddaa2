/// Kafka's `org.apache.kafka.connect.converters.ByteArrayConverter`: passes bytes through unchanged, read back with
/// the optional bytes schema. Null stays null.
public struct ByteArrayConverter: Converter, HeaderConverter {
    public init() {}

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {}

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        if let schema, schema.type != .bytes {
            throw .data("Invalid schema type for ByteArrayConverter: \(schema.type.javaName)")
        }
        switch value {
        case .null: return nil
        case let .bytes(bytes): return bytes
        default: throw .data("ByteArrayConverter is not compatible with objects of type \(value.javaClassName)")
        }
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        (.optionalBytes, bytes.map { .bytes($0) } ?? .null)
    }
}
