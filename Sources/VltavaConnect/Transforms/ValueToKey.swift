/// Kafka's `ValueToKey`: replaces the key with a struct (or map) of some fields of the value.
public struct ValueToKey: Transformation {
    static let purpose = "copying fields from value to key"
    private var fields: [String] = []
    private var replaceNullWithDefault = true
    private let cache = SchemaUpdateCache()

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        fields = try config.nonEmptyList("fields")
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        guard record.valueSchema != nil else {
            let map = try Requirements.requireMap(record.value, purpose: Self.purpose)
            var key: [ConnectMapEntry] = []
            for field in fields { key.put(field, map[stringKey: field] ?? .null) }
            return record.replacing(.key, schema: nil, value: .map(key))
        }
        let value = try Requirements.requireStruct(record.value, purpose: Self.purpose)
        let fields = fields
        let keySchema = try cache.schema(for: value.schema) { () throws(ConnectError) in
            var keyFields: [(String, ConnectSchema)] = []
            for name in fields {
                guard let field = value.schema.field(name) else { throw .data("Field does not exist: \(name)") }
                keyFields.append((name, field.schema))
            }
            return ConnectSchema.structure(fields: keyFields)
        }
        let key = ConnectStruct(schema: keySchema, values: fields.map {
            value.value(named: $0, replaceNullWithDefault: replaceNullWithDefault) ?? .null
        })
        var result = record.replacing(.key, schema: keySchema, value: .structure(key))
        result.valueSchema = value.schema
        return result
    }
}
