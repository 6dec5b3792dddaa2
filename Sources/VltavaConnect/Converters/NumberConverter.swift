/// Kafka's number converters (`org.apache.kafka.connect.converters.ShortConverter`, `IntegerConverter`,
/// `LongConverter`, `FloatConverter`, `DoubleConverter`): the value in Kafka's serializers' bytes — big-endian
/// two's complement for int16/int32/int64, big-endian IEEE 754 for float32/float64 — read back with the
/// optional schema of the type. As in Kafka, the schema given when writing is not checked, the value must be of
/// exactly the converter's type, and null stays null.
public struct NumberConverter: Converter, HeaderConverter {
    /// Which of Kafka's number converters this is.
    public enum NumberType: String, Sendable, CaseIterable {
        case short, integer, long, float, double

        /// Kafka's class name (`org.apache.kafka.connect.converters.IntegerConverter`).
        public var className: String { "org.apache.kafka.connect.converters.\(rawValue.prefix(1).uppercased())\(rawValue.dropFirst())Converter" }

        var schema: ConnectSchema {
            switch self {
            case .short: return .optionalInt16
            case .integer: return .optionalInt32
            case .long: return .optionalInt64
            case .float: return .optionalFloat32
            case .double: return .optionalFloat64
            }
        }

        var size: Int {
            switch self {
            case .short: return 2
            case .integer, .float: return 4
            case .long, .double: return 8
            }
        }
    }

    public let numberType: NumberType

    public init(_ numberType: NumberType) {
        self.numberType = numberType
    }

    public mutating func configure(_ configs: [String: String], isKey: Bool) throws(ConnectError) {}

    public func fromConnectData(topic: String, schema: ConnectSchema?, value: ConnectValue,
                                headers: [ConnectHeader]) throws(ConnectError) -> [UInt8]? {
        switch (numberType, value) {
        case (_, .null): return nil
        case let (.short, .int16(number)): return Self.bigEndian(UInt64(UInt16(bitPattern: number)), size: 2)
        case let (.integer, .int32(number)): return Self.bigEndian(UInt64(UInt32(bitPattern: number)), size: 4)
        case let (.long, .int64(number)): return Self.bigEndian(UInt64(bitPattern: number), size: 8)
        case let (.float, .float32(number)): return Self.bigEndian(UInt64(number.bitPattern), size: 4)
        case let (.double, .float64(number)): return Self.bigEndian(number.bitPattern, size: 8)
        default: throw .data("Failed to serialize to \(numberType.rawValue) (was \(value.javaClassName)): ")
        }
    }

    public func toConnectData(topic: String, bytes: [UInt8]?,
                              headers: [ConnectHeader]) throws(ConnectError) -> (schema: ConnectSchema?, value: ConnectValue) {
        let schema = numberType.schema
        guard let bytes else { return (schema, .null) }
        guard bytes.count == numberType.size else {
            // Kafka's float and double deserializers name no type in this message.
            let deserializer = switch numberType {
            case .short: "ShortDeserializer"
            case .integer: "IntegerDeserializer"
            case .long: "LongDeserializer"
            case .float, .double: "Deserializer"
            }
            throw .data("Failed to deserialize \(numberType.rawValue): Size of data received by \(deserializer) is not \(numberType.size)")
        }
        let bits = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch numberType {
        case .short: return (schema, .int16(Int16(bitPattern: UInt16(truncatingIfNeeded: bits))))
        case .integer: return (schema, .int32(Int32(bitPattern: UInt32(truncatingIfNeeded: bits))))
        case .long: return (schema, .int64(Int64(bitPattern: bits)))
        case .float: return (schema, .float32(Float(bitPattern: UInt32(truncatingIfNeeded: bits))))
        case .double: return (schema, .float64(Double(bitPattern: bits)))
        }
    }

    private static func bigEndian(_ bits: UInt64, size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: bits >> (8 * UInt64(size - 1 - $0))) }
    }
}
