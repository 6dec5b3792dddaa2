import SchemaRegistry

/// An Avro schema as the registry converters need it: a tree (a named type is spelled out wherever it is used, so
/// conversions never look names up) that keeps every attribute Avro's Java library keeps, in order, because
/// Confluent's converter stores Connect's metadata in them (`connect.name`, `connect.type`, `logicalType`, …) and
/// writes them back in the schema it registers.
struct AvroType: Hashable, Sendable {
    indirect enum Kind: Hashable, Sendable {
        case null, boolean, int, long, float, double, bytes, string
        case array(items: AvroType)
        case map(values: AvroType)
        case union([AvroType])
        case record(AvroRecord)
        case enumeration(AvroEnum)
        case fixed(AvroFixed)
        /// A use of a named type inside its own definition (a recursive schema), by full name.
        case recursiveReference(String)
    }

    var kind: Kind
    /// Attributes other than the ones that define the type (`logicalType`, `precision`, `connect.*`, …), in order.
    var properties: [AvroProperty]

    init(_ kind: Kind, properties: [AvroProperty] = []) {
        self.kind = kind
        self.properties = properties
    }

    /// The attribute named `name`.
    func property(_ name: String) -> JSONValue? { properties.first { $0.name == name }?.value }

    /// Adds an attribute unless one of that name is there already (Avro's `addProp` keeps the first).
    mutating func addProperty(_ name: String, _ value: JSONValue) {
        guard property(name) == nil else { return }
        properties.append(AvroProperty(name: name, value: value))
    }

    /// The type's name as Avro's `Schema.Type.getName` gives it (`int`, `record`, `union`).
    var typeName: String {
        switch kind {
        case .null: return "null"
        case .boolean: return "boolean"
        case .int: return "int"
        case .long: return "long"
        case .float: return "float"
        case .double: return "double"
        case .bytes: return "bytes"
        case .string: return "string"
        case .array: return "array"
        case .map: return "map"
        case .union: return "union"
        case .record, .recursiveReference: return "record"
        case .enumeration: return "enum"
        case .fixed: return "fixed"
        }
    }

    /// The full name of a record, enum or fixed.
    var fullName: String? {
        switch kind {
        case let .record(record): return record.fullName
        case let .enumeration(enumeration): return enumeration.fullName
        case let .fixed(fixed): return fixed.fullName
        case let .recursiveReference(name): return name
        default: return nil
        }
    }

    var isNull: Bool { if case .null = kind { return true } else { return false } }

    static let null = AvroType(.null)
}

/// A schema attribute: a name and a JSON value.
struct AvroProperty: Hashable, Sendable {
    var name: String
    var value: JSONValue
}

struct AvroRecord: Hashable, Sendable {
    var fullName: String
    var doc: String?
    var fields: [AvroField]
    var aliases: [String] = []

    /// The field named `name`.
    func field(_ name: String) -> AvroField? { fields.first { $0.name == name } }
}

struct AvroField: Hashable, Sendable {
    var name: String
    var type: AvroType
    var doc: String?
    /// The default as written in the schema (JSON, in Avro's JSON encoding of the field's type).
    var defaultValue: JSONValue?
    var order: String?
    var aliases: [String] = []
    var properties: [AvroProperty] = []

    func property(_ name: String) -> JSONValue? { properties.first { $0.name == name }?.value }
}

struct AvroEnum: Hashable, Sendable {
    var fullName: String
    var doc: String?
    var symbols: [String]
    var defaultSymbol: String?
    var aliases: [String] = []
}

struct AvroFixed: Hashable, Sendable {
    var fullName: String
    var doc: String?
    var size: Int
    var aliases: [String] = []
}

/// A value in Avro's generic data model, as written to or read from Avro's binary encoding. A union value says
/// which branch it is, so that encoding needs no guessing.
indirect enum AvroDatum: Hashable, Sendable {
    case null
    case boolean(Bool)
    case int(Int32)
    case long(Int64)
    case float(Float)
    case double(Double)
    case bytes([UInt8])
    case string(String)
    case array([AvroDatum])
    /// Entries in order (Avro's binary encoding keeps the writer's order).
    case map([AvroMapEntry])
    /// Field values in the record's field order.
    case record([AvroDatum])
    case enumSymbol(index: Int, symbol: String)
    case fixed([UInt8])
    case union(branch: Int, AvroDatum)
}

struct AvroMapEntry: Hashable, Sendable {
    var key: String
    var value: AvroDatum
}

/// Why an Avro schema or datum was refused; turned into a `ConnectError` by the converter.
struct AvroError: Error, Hashable, Sendable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
