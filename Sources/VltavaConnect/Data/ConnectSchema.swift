/// Kafka Connect's schema (`org.apache.kafka.connect.data.Schema`): a type, optionality, a default, a name,
/// version, doc and parameters, struct fields, and the item/key/value schemas of arrays and maps. Immutable, as
/// Kafka's are; logical types (Decimal, Date, Time, Timestamp) are schemas of a physical type with Kafka's names.
public final class ConnectSchema: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case int8, int16, int32, int64, float32, float64, boolean, string, bytes, array, map
        case structure = "struct"

        /// Whether values of this kind are primitives (not array, map or struct).
        public var isPrimitive: Bool { ![.array, .map, .structure].contains(self) }

        /// The zero of a primitive kind (0, false, the empty string or bytes), as Java's defaults and protobuf's
        /// unset fields are; nil for array, map and struct.
        public var zeroValue: ConnectValue? {
            switch self {
            case .int8: return .int8(0)
            case .int16: return .int16(0)
            case .int32: return .int32(0)
            case .int64: return .int64(0)
            case .float32: return .float32(0)
            case .float64: return .float64(0)
            case .boolean: return .boolean(false)
            case .string: return .string("")
            case .bytes: return .bytes([])
            case .array, .map, .structure: return nil
            }
        }
    }

    public let type: Kind
    public let isOptional: Bool
    public let defaultValue: ConnectValue?
    public let name: String?
    public let version: Int32?
    public let doc: String?
    /// Parameters in insertion order (Kafka keeps a LinkedHashMap; the JSON envelope writes them in that order).
    public let parameters: [(String, String)]?
    /// A struct's fields, in order.
    public let fields: [ConnectField]
    /// A map's key schema.
    public let keySchema: ConnectSchema?
    /// An array's item schema or a map's value schema.
    public let valueSchema: ConnectSchema?

    public init(type: Kind, isOptional: Bool = false, defaultValue: ConnectValue? = nil, name: String? = nil,
                version: Int32? = nil, doc: String? = nil, parameters: [(String, String)]? = nil,
                fields: [ConnectField] = [], keySchema: ConnectSchema? = nil, valueSchema: ConnectSchema? = nil) {
        self.type = type
        self.isOptional = isOptional
        self.defaultValue = defaultValue
        self.name = name
        self.version = version
        self.doc = doc
        self.parameters = parameters
        self.fields = fields
        self.keySchema = keySchema
        self.valueSchema = valueSchema
    }

    /// The field named `name` of a struct schema.
    public func field(_ name: String) -> ConnectField? { fields.first { $0.name == name } }

    /// The parameter named `name`.
    public func parameter(_ name: String) -> String? { parameters?.first { $0.0 == name }?.1 }

    /// A copy with some properties changed.
    public func with(isOptional: Bool? = nil, name: String?? = nil, version: Int32?? = nil, doc: String?? = nil,
                     defaultValue: ConnectValue?? = nil, fields: [ConnectField]? = nil) -> ConnectSchema {
        ConnectSchema(type: type, isOptional: isOptional ?? self.isOptional, defaultValue: defaultValue ?? self.defaultValue,
                      name: name ?? self.name, version: version ?? self.version, doc: doc ?? self.doc,
                      parameters: parameters, fields: fields ?? self.fields, keySchema: keySchema, valueSchema: valueSchema)
    }

    public static func == (lhs: ConnectSchema, rhs: ConnectSchema) -> Bool {
        if lhs === rhs { return true }
        return lhs.type == rhs.type && lhs.isOptional == rhs.isOptional && lhs.defaultValue == rhs.defaultValue
            && lhs.name == rhs.name && lhs.version == rhs.version && lhs.doc == rhs.doc
            && lhs.parameters?.map(\.0) == rhs.parameters?.map(\.0) && lhs.parameters?.map(\.1) == rhs.parameters?.map(\.1)
            && lhs.fields == rhs.fields && lhs.keySchema == rhs.keySchema && lhs.valueSchema == rhs.valueSchema
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(isOptional)
        hasher.combine(name)
        hasher.combine(fields.map(\.name))
    }

    public var description: String {
        "Schema{\(name.map { "\($0):" } ?? "")\(type.rawValue.uppercased())\(isOptional ? ", optional" : "")}"
    }

    // MARK: Kafka's predefined schemas (SchemaBuilder's shortcuts)

    public static let int8 = ConnectSchema(type: .int8)
    public static let int16 = ConnectSchema(type: .int16)
    public static let int32 = ConnectSchema(type: .int32)
    public static let int64 = ConnectSchema(type: .int64)
    public static let float32 = ConnectSchema(type: .float32)
    public static let float64 = ConnectSchema(type: .float64)
    public static let boolean = ConnectSchema(type: .boolean)
    public static let string = ConnectSchema(type: .string)
    public static let bytes = ConnectSchema(type: .bytes)
    public static let optionalInt8 = ConnectSchema(type: .int8, isOptional: true)
    public static let optionalInt16 = ConnectSchema(type: .int16, isOptional: true)
    public static let optionalInt32 = ConnectSchema(type: .int32, isOptional: true)
    public static let optionalInt64 = ConnectSchema(type: .int64, isOptional: true)
    public static let optionalFloat32 = ConnectSchema(type: .float32, isOptional: true)
    public static let optionalFloat64 = ConnectSchema(type: .float64, isOptional: true)
    public static let optionalBoolean = ConnectSchema(type: .boolean, isOptional: true)
    public static let optionalString = ConnectSchema(type: .string, isOptional: true)
    public static let optionalBytes = ConnectSchema(type: .bytes, isOptional: true)

    public static func array(of items: ConnectSchema, isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .array, isOptional: isOptional, valueSchema: items)
    }

    public static func map(keys: ConnectSchema, values: ConnectSchema, isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .map, isOptional: isOptional, keySchema: keys, valueSchema: values)
    }

    public static func structure(name: String? = nil, fields: [(String, ConnectSchema)], isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .structure, isOptional: isOptional, name: name,
                      fields: fields.enumerated().map { ConnectField(name: $0.element.0, index: $0.offset, schema: $0.element.1) })
    }
}

/// A field of a struct schema.
public struct ConnectField: Sendable, Hashable {
    public var name: String
    public var index: Int
    public var schema: ConnectSchema

    public init(name: String, index: Int, schema: ConnectSchema) {
        self.name = name
        self.index = index
        self.schema = schema
    }
}

/// Kafka Connect's logical types: their schema names and how their values are carried (as Kafka does: Decimal as
/// the big-endian two's-complement unscaled bytes with a `scale` parameter, Date as int32 days since the epoch,
/// Time as int32 milliseconds of the day, Timestamp as int64 milliseconds since the epoch).
public enum ConnectLogical {
    public static let decimalName = "org.apache.kafka.connect.data.Decimal"
    public static let dateName = "org.apache.kafka.connect.data.Date"
    public static let timeName = "org.apache.kafka.connect.data.Time"
    public static let timestampName = "org.apache.kafka.connect.data.Timestamp"
    public static let scaleParameter = "scale"

    public static func decimal(scale: Int32, isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .bytes, isOptional: isOptional, name: decimalName, version: 1,
                      parameters: [(scaleParameter, String(scale))])
    }

    public static func date(isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .int32, isOptional: isOptional, name: dateName, version: 1)
    }

    public static func time(isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .int32, isOptional: isOptional, name: timeName, version: 1)
    }

    public static func timestamp(isOptional: Bool = false) -> ConnectSchema {
        ConnectSchema(type: .int64, isOptional: isOptional, name: timestampName, version: 1)
    }
}
