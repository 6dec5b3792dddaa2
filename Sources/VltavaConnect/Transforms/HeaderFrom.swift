/// Kafka's `HeaderFrom$Key`/`$Value`: copies or moves fields of the key or value into headers (`fields` and
/// `headers` pair up by position; `operation` is `copy` or `move`).
public struct HeaderFrom: Transformation {
    public let side: RecordSide
    private var fields: [String] = []
    private var headers: [String] = []
    private var isMove = false
    private var replaceNullWithDefault = true
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        fields = try config.nonEmptyList("fields")
        headers = try config.nonEmptyList("headers")
        if headers.count != fields.count {
            throw .config(name: "headers", message: "'fields' config must have the same number of elements as 'headers' config.")
        }
        isMove = try config.oneOf("operation", ["move", "copy"]) == "move"
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let purpose = "header \(isMove ? "move" : "copy")"
        let value = record.value(of: side)
        var result = record
        guard let schema = record.schema(of: side) else {
            var map = try Requirements.requireMap(value, purpose: purpose)
            let original = map
            for (field, header) in zip(fields, headers) {
                if isMove { map.remove(stringKey: field) }
                result.headers.append(ConnectHeader(key: header, schema: nil, value: original[stringKey: field] ?? .null))
            }
            return result.replacing(side, schema: nil, value: .map(map))
        }
        let original = try Requirements.requireStruct(value, purpose: purpose)
        for (field, header) in zip(fields, headers) {
            guard let fieldSchema = schema.field(field) else { throw .data("\(field) is not a valid field name") }
            let fieldValue = original.value(named: field, replaceNullWithDefault: replaceNullWithDefault) ?? .null
            result.headers.append(ConnectHeader(key: header, schema: fieldSchema.schema, value: fieldValue))
        }
        guard isMove else { return result }
        let fields = fields
        let updated = try cache.schema(for: schema) { () throws(ConnectError) in
            schema.structWithBasics(fields: schema.fields.filter { !fields.contains($0.name) }.map { ($0.name, $0.schema) })
        }
        let values = updated.fields.map { original.value(named: $0.name, replaceNullWithDefault: replaceNullWithDefault) ?? .null }
        return result.replacing(side, schema: updated, value: .structure(ConnectStruct(schema: updated, values: values)))
    }
}
