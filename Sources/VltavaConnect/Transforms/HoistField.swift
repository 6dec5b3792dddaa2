/// Kafka's `HoistField$Key`/`$Value`: wraps the key or value in a struct (or a map, without schema) of one field.
public struct HoistField: Transformation {
    public let side: RecordSide
    private var field = ""
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        field = try TransformConfig(configs).requiredString("field")
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        guard let schema = record.schema(of: side) else {
            return record.replacing(side, schema: nil, value: .map([ConnectMapEntry(key: .string(field), value: value)]))
        }
        let field = field
        let updated = try cache.schema(for: schema) { () throws(ConnectError) in
            ConnectSchema.structure(fields: [(field, schema)])
        }
        return record.replacing(side, schema: updated, value: .structure(ConnectStruct(schema: updated, values: [value])))
    }
}
