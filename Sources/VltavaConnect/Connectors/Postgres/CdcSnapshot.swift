import PostgresNIO
import VltavaClient

/// The initial snapshot of the CDC task: every captured table read in one repeatable-read transaction started after
/// the replication slot was created (so each change after it is in the stream; a change between the slot's creation
/// and the snapshot's start may be seen twice, never missed), a cursor per table, `op` `r` events.
struct CdcSnapshot: Sendable {
    private var pending: [PostgresTable]
    private var current: DebeziumTable?
    private let config: PostgresCdcConfig
    private let slotPosition: UInt64
    private var started = false
    private(set) var isDone = false
    private(set) var emitted = 0
    static let cursor = "vltava_cdc_snapshot"

    init(config: PostgresCdcConfig, link: PostgresLink, slotPosition: UInt64) throws(ConnectError) {
        self.config = config
        self.slotPosition = slotPosition
        pending = try Self.capturedTables(config, link: link)
    }

    /// The next rows of the snapshot as events; none once it is done (its transaction then ends).
    mutating func next(link: PostgresLink, partition: ConnectValue, tables: inout [String: DebeziumTable]) throws(ConnectError) -> [ConnectRecord] {
        if !started {
            try link.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            started = true
        }
        if current == nil {
            guard !pending.isEmpty else {
                try link.execute("COMMIT")
                isDone = true
                return []
            }
            let next = pending.removeFirst()
            let table = try Self.describe(next, config: config, link: link)
            tables["\(next.schema).\(next.name)"] = table
            let select = table.columns.map { "\(SQLIdentifier.quote($0.name))::text" }.joined(separator: ", ")
            try link.execute("DECLARE \(Self.cursor) NO SCROLL CURSOR FOR SELECT \(select) FROM \(next.qualified)")
            current = table
        }
        guard let table = current else { return [] }
        let result = try link.query(PostgresQuery(unsafeSQL: "FETCH FORWARD \(config.maxBatchSize) FROM \(Self.cursor)"))
        let exhausted = result.rows.count < config.maxBatchSize
        if exhausted {
            try link.execute("CLOSE \(Self.cursor)")
            current = nil
        }
        let now = WallClock.microseconds()
        var records: [ConnectRecord] = []
        records.reserveCapacity(result.rows.count)
        for (index, row) in result.rows.enumerated() {
            var values: [ConnectValue] = []
            values.reserveCapacity(table.columns.count)
            for (column, cell) in zip(table.columns, row) { values.append(try column.value(PostgresBinary.text(cell))) }
            let isLast = exhausted && pending.isEmpty && index == result.rows.count - 1
            let marker = emitted == 0 ? "first" : isLast ? "last" : "true"
            let offset = ConnectValue.map([
                ConnectMapEntry(key: .string("snapshot"), value: .boolean(true)),
                ConnectMapEntry(key: .string("last_snapshot_record"), value: .boolean(isLast)),
                ConnectMapEntry(key: .string("snapshot_completed"), value: .boolean(isLast)),
                ConnectMapEntry(key: .string("lsn"), value: .int64(Int64(bitPattern: slotPosition))),
                ConnectMapEntry(key: .string("ts_usec"), value: .int64(now)),
            ])
            let origin = DebeziumTable.Origin(server: config.topicPrefix, database: config.connection.database, commitMicros: now,
                                              snapshot: marker, txId: nil, lsn: nil, lastCommitLSN: nil)
            records += table.records(op: "r", before: .null, after: table.row(values), origin: origin, nowMicros: now,
                                     tombstone: false, sourcePartition: partition, sourceOffset: offset)
            emitted += 1
        }
        return records
    }

    /// The ordinary and partitioned tables (not their partitions) the include and exclude lists capture.
    static func capturedTables(_ config: PostgresCdcConfig, link: PostgresLink) throws(ConnectError) -> [PostgresTable] {
        try PostgresCatalog.tables(link: link, kinds: ["r", "p"], selectableOnly: false, includePartitions: false)
            .filter { config.captures(schema: $0.schema, table: $0.name) }
    }

    /// A table's columns (types, nullability) and primary key from the catalog, as Debezium's schemas.
    static func describe(_ table: PostgresTable, config: PostgresCdcConfig, link: PostgresLink) throws(ConnectError) -> DebeziumTable {
        let columns = try PostgresCatalog.columns(of: table.qualified, link: link)
        let keys = try PostgresCatalog.primaryKey(of: table.qualified, link: link)
        let mapped = columns.map {
            DebeziumColumn(name: $0.name, typeOID: $0.typeOID, typeModifier: $0.typeModifier, elementOID: $0.elementOID,
                           isOptional: $0.isNullable, timeMode: config.timeMode, decimalMode: config.decimalMode)
        }
        return DebeziumTable(prefix: config.topicPrefix, schema: table.schema, name: table.name, columns: mapped,
                             keyIndexes: keys.compactMap { key in columns.firstIndex { $0.name == key } })
    }
}
