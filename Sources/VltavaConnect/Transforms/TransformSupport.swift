import NIOConcurrencyHelpers

/// Kafka's `Requirements`: the checks a transformation makes on the data it is given, with Kafka's messages.
enum Requirements {
    static func requireSchema(_ schema: ConnectSchema?, purpose: String) throws(ConnectError) -> ConnectSchema {
        guard let schema else { throw .data("Schema required for [\(purpose)]") }
        return schema
    }

    /// A schemaless map value, as an ordered list of entries with string keys.
    static func requireMap(_ value: ConnectValue, purpose: String) throws(ConnectError) -> [ConnectMapEntry] {
        guard case let .map(entries) = value else {
            throw .data("Only Map objects supported in absence of schema for [\(purpose)], found: \(value.javaTypeName)")
        }
        return entries
    }

    static func requireStruct(_ value: ConnectValue, purpose: String) throws(ConnectError) -> ConnectStruct {
        guard case let .structure(value) = value else {
            throw .data("Only Struct objects supported for [\(purpose)], found: \(value.javaTypeName)")
        }
        return value
    }
}

/// The updated schemas a transformation built, by input schema (Kafka's `SynchronizedCache` over an LRU of 16).
final class SchemaUpdateCache: Sendable {
    private let entries = NIOLockedValueBox<[(ConnectSchema, ConnectSchema)]>([])
    private let capacity = 16

    func get(_ schema: ConnectSchema) -> ConnectSchema? {
        entries.withLockedValue { entries in
            guard let index = entries.firstIndex(where: { $0.0 == schema }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry.1
        }
    }

    func put(_ schema: ConnectSchema, _ updated: ConnectSchema) {
        entries.withLockedValue { entries in
            entries.removeAll { $0.0 == schema }
            entries.append((schema, updated))
            if entries.count > capacity { entries.removeFirst() }
        }
    }

    /// The cached schema for `schema`, else the one `build` makes, cached.
    func schema(for schema: ConnectSchema, build: () throws(ConnectError) -> ConnectSchema) throws(ConnectError) -> ConnectSchema {
        if let cached = get(schema) { return cached }
        let built = try build()
        put(schema, built)
        return built
    }
}

extension ConnectSchema {
    /// A struct schema with this schema's name, doc and parameters and the given fields (Kafka's
    /// `SchemaUtil.copySchemaBasics(schema, SchemaBuilder.struct())`: version, optionality and default are not copied).
    func structWithBasics(fields: [(String, ConnectSchema)], isOptional: Bool = false,
                          defaultValue: ConnectValue? = nil) -> ConnectSchema {
        ConnectSchema(type: .structure, isOptional: isOptional, defaultValue: defaultValue, name: name, doc: doc,
                      parameters: parameters, fields: Self.numbered(fields))
    }

    static func numbered(_ fields: [(String, ConnectSchema)]) -> [ConnectField] {
        fields.enumerated().map { ConnectField(name: $0.element.0, index: $0.offset, schema: $0.element.1) }
    }
}

extension ConnectStruct {
    /// A field's value; a null replaced by the field's default when `replaceNullWithDefault` (Kafka's `Struct.get`
    /// versus `getWithoutDefault`).
    func value(of field: ConnectField, replaceNullWithDefault: Bool) -> ConnectValue {
        let value = field.index < values.count ? values[field.index] : .null
        if value.isNull, replaceNullWithDefault, let defaultValue = field.schema.defaultValue { return defaultValue }
        return value
    }

    func value(named name: String, replaceNullWithDefault: Bool) -> ConnectValue? {
        schema.field(name).map { value(of: $0, replaceNullWithDefault: replaceNullWithDefault) }
    }
}

extension Array where Element == ConnectMapEntry {
    /// The value under a string key of a schemaless map (nil when absent).
    subscript(stringKey key: String) -> ConnectValue? {
        first { $0.key == .string(key) }?.value
    }

    /// Puts a value under a string key: replaced where it is, else appended (Kafka's `HashMap.put`).
    mutating func put(_ key: String, _ value: ConnectValue) {
        if let index = firstIndex(where: { $0.key == .string(key) }) {
            self[index].value = value
        } else {
            append(ConnectMapEntry(key: .string(key), value: value))
        }
    }

    mutating func remove(stringKey key: String) {
        removeAll { $0.key == .string(key) }
    }
}

extension ConnectValue {
    /// The Java class Kafka would name for this value in its messages.
    var javaTypeName: String {
        switch self {
        case .null: return "null"
        case .boolean: return "java.lang.Boolean"
        case .int8: return "java.lang.Byte"
        case .int16: return "java.lang.Short"
        case .int32: return "java.lang.Integer"
        case .int64: return "java.lang.Long"
        case .float32: return "java.lang.Float"
        case .float64: return "java.lang.Double"
        case .string: return "java.lang.String"
        case .bytes: return "[B"
        case .array: return "java.util.ArrayList"
        case .map: return "java.util.HashMap"
        case .structure: return "org.apache.kafka.connect.data.Struct"
        }
    }

    /// The schema type Kafka infers for a schemaless value (`ConnectSchema.schemaType`).
    var inferredType: ConnectSchema.Kind? {
        switch self {
        case .null: return nil
        case .boolean: return .boolean
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .string: return .string
        case .bytes: return .bytes
        case .array: return .array
        case .map: return .map
        case .structure: return .structure
        }
    }
}
