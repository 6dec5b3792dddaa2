/// A captured table as Debezium describes its events: the `<prefix>.<schema>.<table>.Key`, `.Value` and `.Envelope`
/// schemas, and the records of its changes in Debezium's envelope (`before`, `after`, `source`, `transaction`, `op`,
/// `ts_ms`), keyed by the primary key, to the topic `<prefix>.<schema>.<table>`.
struct DebeziumTable: Sendable {
    static let connectorVersion = "2.7.3.Final"

    var schema: String
    var name: String
    var columns: [DebeziumColumn]
    /// Indexes of the primary key's columns in `columns`.
    var keyIndexes: [Int]
    var topic: String
    var keySchema: ConnectSchema?
    var valueSchema: ConnectSchema
    var envelopeSchema: ConnectSchema

    static func sourceSchema() -> ConnectSchema {
        let snapshot = ConnectSchema(type: .string, isOptional: true, defaultValue: .string("false"), name: "io.debezium.data.Enum", version: 1,
                                     parameters: [("allowed", "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental")])
        return .structure(name: "io.debezium.connector.postgresql.Source", fields: [
            ("version", .string), ("connector", .string), ("name", .string), ("ts_ms", .int64), ("snapshot", snapshot),
            ("db", .string), ("sequence", .optionalString), ("ts_us", .optionalInt64), ("ts_ns", .optionalInt64),
            ("schema", .string), ("table", .string), ("txId", .optionalInt64), ("lsn", .optionalInt64), ("xmin", .optionalInt64),
        ])
    }

    static let source = sourceSchema()
    static let transaction = ConnectSchema.structure(name: "event.block", fields: [
        ("id", .string), ("total_order", .int64), ("data_collection_order", .int64)], isOptional: true)

    init(prefix: String, schema: String, name: String, columns: [DebeziumColumn], keyIndexes: [Int]) {
        self.schema = schema
        self.name = name
        self.columns = columns
        self.keyIndexes = keyIndexes
        let base = "\(prefix).\(schema).\(name)"
        topic = base
        keySchema = keyIndexes.isEmpty ? nil : .structure(name: "\(base).Key", fields: keyIndexes.map { (columns[$0].name, columns[$0].schema) })
        valueSchema = .structure(name: "\(base).Value", fields: columns.map { ($0.name, $0.schema) }, isOptional: true)
        envelopeSchema = ConnectSchema(type: .structure, name: "\(base).Envelope", version: 2, fields: [
            ("before", valueSchema), ("after", valueSchema), ("source", Self.source), ("transaction", Self.transaction),
            ("op", .string), ("ts_ms", .optionalInt64), ("ts_us", .optionalInt64), ("ts_ns", .optionalInt64),
        ].enumerated().map { ConnectField(name: $0.element.0, index: $0.offset, schema: $0.element.1) })
    }

    /// Where an event comes from, for its `source` block.
    struct Origin: Sendable {
        var server: String
        var database: String
        var commitMicros: Int64
        var snapshot: String
        var txId: Int64?
        var lsn: UInt64?
        var lastCommitLSN: UInt64?
    }

    /// A row's struct from its columns' values (nil entries: the value was not sent, as an unchanged TOASTed value).
    func row(_ values: [ConnectValue]) -> ConnectValue {
        .structure(ConnectStruct(schema: valueSchema, values: values))
    }

    /// The records of one change: the event, and a tombstone after a delete when asked.
    func records(op: String, before: ConnectValue, after: ConnectValue, origin: Origin, nowMicros: Int64, tombstone: Bool,
                 sourcePartition: ConnectValue, sourceOffset: ConnectValue) -> [ConnectRecord] {
        let keyRow = after.isNull ? before : after
        var key = ConnectValue.null
        if let keySchema, case let .structure(row) = keyRow {
            key = .structure(ConnectStruct(schema: keySchema, values: keyIndexes.map { row.values[$0] }))
        }
        var sequence: ConnectValue = .null
        if let lsn = origin.lsn {
            sequence = .string("[\(origin.lastCommitLSN.map { "\"\($0)\"" } ?? "null"),\"\(lsn)\"]")
        }
        let source = ConnectStruct(schema: Self.source, values: [
            .string(Self.connectorVersion), .string("postgresql"), .string(origin.server), .int64(origin.commitMicros / 1000),
            .string(origin.snapshot), .string(origin.database), sequence, .int64(origin.commitMicros),
            .int64(origin.commitMicros.multipliedReportingOverflow(by: 1000).partialValue), .string(schema), .string(name),
            origin.txId.map(ConnectValue.int64) ?? .null, origin.lsn.map { .int64(Int64(truncatingIfNeeded: $0)) } ?? .null, .null,
        ])
        let envelope = ConnectStruct(schema: envelopeSchema, values: [
            before, after, .structure(source), .null, .string(op), .int64(nowMicros / 1000), .int64(nowMicros),
            .int64(nowMicros.multipliedReportingOverflow(by: 1000).partialValue),
        ])
        var records = [ConnectRecord(topic: topic, keySchema: keySchema, key: key, valueSchema: envelopeSchema,
                                     value: .structure(envelope), sourcePartition: sourcePartition, sourceOffset: sourceOffset)]
        if op == "d" && tombstone && keySchema != nil {
            records.append(ConnectRecord(topic: topic, keySchema: keySchema, key: key, valueSchema: nil, value: .null,
                                         sourcePartition: sourcePartition, sourceOffset: sourceOffset))
        }
        return records
    }
}

/// Debezium's heartbeat records: key `io.debezium.connector.common.ServerNameKey` (the topic prefix), value
/// `io.debezium.connector.common.Heartbeat` (the time in ms), carrying the connector's current offset so it is committed
/// even while no captured table changes.
enum DebeziumHeartbeat {
    static let keySchema = ConnectSchema.structure(name: "io.debezium.connector.common.ServerNameKey", fields: [("serverName", .string)])
    static let valueSchema = ConnectSchema.structure(name: "io.debezium.connector.common.Heartbeat", fields: [("ts_ms", .int64)])

    static func record(topic: String, server: String, nowMicros: Int64, sourcePartition: ConnectValue,
                       sourceOffset: ConnectValue) -> ConnectRecord {
        ConnectRecord(topic: topic, keySchema: keySchema, key: .structure(ConnectStruct(schema: keySchema, values: [.string(server)])),
                      valueSchema: valueSchema, value: .structure(ConnectStruct(schema: valueSchema, values: [.int64(nowMicros / 1000)])),
                      sourcePartition: sourcePartition, sourceOffset: sourceOffset)
    }
}
