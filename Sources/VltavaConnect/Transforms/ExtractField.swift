/// Kafka's `ExtractField$Key`/`$Value`: replaces the key or value by one of its fields (struct or map); nulls pass
/// through. Only plain field names (Kafka's `field.syntax.version=V1`).
public struct ExtractField: Transformation {
    static let purpose = "field extraction"
    public let side: RecordSide
    private var field = ""
    private var replaceNullWithDefault = true

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        field = try config.requiredString("field")
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        guard let schema = record.schema(of: side) else {
            if value.isNull { return record.replacing(side, schema: nil, value: .null) }
            let map = try Requirements.requireMap(value, purpose: Self.purpose)
            return record.replacing(side, schema: nil, value: map[stringKey: field] ?? .null)
        }
        let structValue: ConnectStruct? = value.isNull ? nil : try Requirements.requireStruct(value, purpose: Self.purpose)
        guard schema.type == .structure else { throw .data("Cannot look up fields on non-struct type") }
        guard let fieldSchema = schema.field(field) else { throw .data("Unknown field: \(field)") }
        let extracted = structValue?.value(named: field, replaceNullWithDefault: replaceNullWithDefault) ?? .null
        return record.replacing(side, schema: fieldSchema.schema, value: extracted)
    }
}
