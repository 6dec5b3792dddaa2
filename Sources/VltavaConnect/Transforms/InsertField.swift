/// Kafka's `InsertField$Key`/`$Value`: adds fields from the record's metadata (topic, partition, offset, timestamp)
/// or a static string. A field name ending in `!` makes the field required, `?` (the default) optional.
public struct InsertField: Transformation {
    static let purpose = "field insertion"

    struct InsertionSpec: Sendable, Equatable {
        let name: String
        let isOptional: Bool

        init?(_ spec: String?) {
            guard let spec else { return nil }
            if spec.hasSuffix("?") {
                (name, isOptional) = (String(spec.dropLast()), true)
            } else if spec.hasSuffix("!") {
                (name, isOptional) = (String(spec.dropLast()), false)
            } else {
                (name, isOptional) = (spec, true)
            }
        }
    }

    public let side: RecordSide
    private var topicField: InsertionSpec?
    private var partitionField: InsertionSpec?
    private var offsetField: InsertionSpec?
    private var timestampField: InsertionSpec?
    private var staticField: InsertionSpec?
    private var staticValue: String?
    private var replaceNullWithDefault = true
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        topicField = InsertionSpec(config.string("topic.field"))
        partitionField = InsertionSpec(config.string("partition.field"))
        offsetField = InsertionSpec(config.string("offset.field"))
        timestampField = InsertionSpec(config.string("timestamp.field"))
        staticField = InsertionSpec(config.string("static.field"))
        staticValue = config.string("static.value")
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
        if topicField == nil, partitionField == nil, offsetField == nil, timestampField == nil, staticField == nil {
            throw .config(name: "topic.field", message: "No field insertion configured")
        }
        if let staticField, staticValue == nil {
            throw .config(name: "static.value", message: "No value specified for static field: \(staticField.name)")
        }
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        if value.isNull { return record }
        let inserted = try insertions(record)
        guard record.schema(of: side) != nil else {
            var map = try Requirements.requireMap(value, purpose: Self.purpose)
            for (name, _, fieldValue) in inserted { map.put(name, fieldValue) }
            return record.replacing(side, schema: nil, value: .map(map))
        }
        let original = try Requirements.requireStruct(value, purpose: Self.purpose)
        let updated = try cache.schema(for: original.schema) { () throws(ConnectError) in
            original.schema.structWithBasics(fields: original.schema.fields.map { ($0.name, $0.schema) } + schemaFields())
        }
        var values = original.schema.fields.map { original.value(of: $0, replaceNullWithDefault: replaceNullWithDefault) }
        values += Array(repeating: ConnectValue.null, count: updated.fields.count - values.count)
        var result = ConnectStruct(schema: updated, values: values)
        for (name, _, fieldValue) in inserted { result[name] = fieldValue }
        return record.replacing(side, schema: updated, value: .structure(result))
    }

    /// The fields the updated schema gains, in Kafka's order.
    private func schemaFields() -> [(String, ConnectSchema)] {
        var fields: [(String, ConnectSchema)] = []
        if let topicField { fields.append((topicField.name, topicField.isOptional ? .optionalString : .string)) }
        if let partitionField { fields.append((partitionField.name, partitionField.isOptional ? .optionalInt32 : .int32)) }
        if let offsetField { fields.append((offsetField.name, offsetField.isOptional ? .optionalInt64 : .int64)) }
        if let timestampField {
            fields.append((timestampField.name, ConnectLogical.timestamp(isOptional: timestampField.isOptional)))
        }
        if let staticField { fields.append((staticField.name, staticField.isOptional ? .optionalString : .string)) }
        return fields
    }

    /// The values to put: absent partition or timestamp put nothing, as in Kafka.
    private func insertions(_ record: ConnectRecord) throws(ConnectError) -> [(String, Bool, ConnectValue)] {
        var result: [(String, Bool, ConnectValue)] = []
        if let topicField { result.append((topicField.name, true, .string(record.topic))) }
        if let partitionField, let partition = record.kafkaPartition {
            result.append((partitionField.name, true, .int32(partition)))
        }
        if let offsetField {
            guard let offset = record.kafkaOffset else {
                throw .data("Only SinkRecord supported for [\(Self.purpose)], found: org.apache.kafka.connect.source.SourceRecord")
            }
            result.append((offsetField.name, true, .int64(offset)))
        }
        if let timestampField, let timestamp = record.timestamp {
            result.append((timestampField.name, true, .int64(timestamp)))
        }
        if let staticField, let staticValue { result.append((staticField.name, true, .string(staticValue))) }
        return result
    }
}
