/// Kafka's `SetSchemaMetadata$Key`/`$Value`: sets the name and/or version of the key's or value's schema; a struct
/// value is rebuilt on the renamed schema.
public struct SetSchemaMetadata: Transformation {
    public let side: RecordSide
    private var schemaName: String?
    private var schemaVersion: Int32?
    private var replaceNullWithDefault = true

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        schemaName = config.string("schema.name")
        schemaVersion = try config.int32("schema.version")
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
        if schemaName == nil, schemaVersion == nil {
            throw .config(name: "schema.name", message: "Neither schema name nor version configured")
        }
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        if value.isNull, record.schema(of: side) == nil { return record }
        let schema = try Requirements.requireSchema(record.schema(of: side), purpose: "updating schema metadata")
        let updated = ConnectSchema(
            type: schema.type, isOptional: schema.isOptional, defaultValue: schema.defaultValue,
            name: schemaName ?? schema.name, version: schemaVersion ?? schema.version, doc: schema.doc,
            parameters: schema.parameters, fields: schema.fields,
            keySchema: schema.type == .map ? schema.keySchema : nil,
            valueSchema: schema.type == .map || schema.type == .array ? schema.valueSchema : nil)
        guard case let .structure(original) = value else { return record.replacing(side, schema: updated, value: value) }
        let values = updated.fields.map { original.value(of: $0, replaceNullWithDefault: replaceNullWithDefault) }
        return record.replacing(side, schema: updated, value: .structure(ConnectStruct(schema: updated, values: values)))
    }
}
