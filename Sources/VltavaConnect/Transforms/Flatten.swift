/// Kafka's `Flatten$Key`/`$Value`: lifts the fields of nested structs (or maps) to the top level, their names joined
/// by `delimiter` (default "."). A flattened field is optional when an ancestor is, and takes its default from the
/// field or, failing that, from the ancestors' defaults. Arrays are kept as they are.
public struct Flatten: Transformation {
    static let purpose = "flattening"
    public let side: RecordSide
    private var delimiter = "."
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        delimiter = TransformConfig(configs).string("delimiter", default: ".") ?? "."
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        if value.isNull { return record }
        guard let schema = record.schema(of: side) else {
            var flattened: [ConnectMapEntry] = []
            try flatten(try Requirements.requireMap(value, purpose: Self.purpose), prefix: "", into: &flattened)
            return record.replacing(side, schema: nil, value: .map(flattened))
        }
        let original = try Requirements.requireStruct(value, purpose: Self.purpose)
        let updated = try cache.schema(for: schema) { () throws(ConnectError) in
            var fields: [(String, ConnectSchema)] = []
            var defaultFromParent: ConnectStruct?
            if case let .structure(defaultValue)? = schema.defaultValue { defaultFromParent = defaultValue }
            try flattenSchema(schema, prefix: "", isOptional: schema.isOptional, defaultFromParent: defaultFromParent, into: &fields)
            return schema.structWithBasics(fields: fields)
        }
        var values: [ConnectValue] = []
        try flattenValue(original, into: &values)
        return record.replacing(side, schema: updated, value: .structure(ConnectStruct(schema: updated, values: values)))
    }

    private func name(_ prefix: String, _ field: String) -> String { prefix.isEmpty ? field : prefix + delimiter + field }

    private func flatten(_ map: [ConnectMapEntry], prefix: String, into result: inout [ConnectMapEntry]) throws(ConnectError) {
        for entry in map {
            guard case let .string(key) = entry.key else {
                throw .data("Flatten transformation does not support map keys of type \(entry.key.javaTypeName)")
            }
            let fieldName = name(prefix, key)
            switch entry.value {
            case .map(let nested): try flatten(nested, prefix: fieldName, into: &result)
            case .structure:
                throw .data("Flatten transformation does not support class org.apache.kafka.connect.data.Struct for record without schemas (for field \(fieldName)).")
            default: result.put(fieldName, entry.value)
            }
        }
    }

    private func flattenSchema(_ schema: ConnectSchema, prefix: String, isOptional: Bool, defaultFromParent: ConnectStruct?,
                               into fields: inout [(String, ConnectSchema)]) throws(ConnectError) {
        for field in schema.fields {
            let fieldName = name(prefix, field.name)
            let fieldIsOptional = isOptional || field.schema.isOptional
            var fieldDefault = field.schema.defaultValue
            if fieldDefault == nil, let defaultFromParent {
                let inherited = defaultFromParent.value(of: field, replaceNullWithDefault: true)
                fieldDefault = inherited.isNull ? nil : inherited
            }
            switch field.schema.type {
            case .structure:
                var nestedDefault: ConnectStruct?
                if case let .structure(value)? = fieldDefault { nestedDefault = value }
                try flattenSchema(field.schema, prefix: fieldName, isOptional: fieldIsOptional, defaultFromParent: nestedDefault, into: &fields)
            case .map:
                throw .data("Flatten transformation does not support MAP for record with schemas (for field \(fieldName)).")
            default:
                let converted = ConnectSchema(type: field.schema.type, isOptional: fieldIsOptional, defaultValue: fieldDefault,
                                              name: field.schema.name, version: nil, doc: field.schema.doc,
                                              parameters: field.schema.parameters, valueSchema: field.schema.type == .array ? field.schema.valueSchema : nil)
                fields.append((fieldName, converted))
            }
        }
    }

    /// The leaf values in schema order; a null nested struct contributes nulls for its leaves.
    private func flattenValue(_ value: ConnectStruct?, schema: ConnectSchema? = nil, into values: inout [ConnectValue]) throws(ConnectError) {
        let schema = value?.schema ?? schema
        for field in schema?.fields ?? [] {
            let fieldValue = value?.value(of: field, replaceNullWithDefault: true) ?? .null
            switch field.schema.type {
            case .structure:
                if case let .structure(nested) = fieldValue {
                    try flattenValue(nested, into: &values)
                } else {
                    try flattenValue(nil, schema: field.schema, into: &values)
                }
            case .map:
                throw .data("Flatten transformation does not support MAP for record with schemas (for field \(field.name)).")
            default:
                values.append(fieldValue)
            }
        }
    }
}
