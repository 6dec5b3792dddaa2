import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import VltavaClient

/// Debezium's `io.debezium.connector.postgresql.PostgresConnector`: change data capture from PostgreSQL's logical
/// replication (`pgoutput`), with an initial snapshot, events in Debezium's envelope keyed by the primary key, and
/// tombstones after deletes. One task, as Debezium's.
///
/// Changes are read with `pg_logical_slot_peek_binary_changes` (SQL, over postgres-nio) rather than the streaming
/// replication protocol: a peek does not consume, and the slot is moved (`pg_replication_slot_advance`) only past
/// transactions whose records Kafka has acknowledged, so a restart neither skips nor, beyond records in flight, repeats.
public struct PostgresCdcConnector: Connector {
    public static let className = "io.debezium.connector.postgresql.PostgresConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = DebeziumTable.connectorVersion
    public static var configDefinition: [ConfigKeyDefinition] { PostgresCdcConfig.definition }

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try PostgresCdcConfig(config)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] { [config] }

    public mutating func stop() {}
}

/// The task of `PostgresCdcConnector`.
public struct PostgresCdcTask: SourceTask {
    private var config: PostgresCdcConfig?
    private var link: PostgresLink?
    /// What Kafka acknowledged, told by the worker.
    private let acknowledgements = CdcAcknowledgements()
    private var partition: ConnectValue = .null
    private var tables: [String: DebeziumTable] = [:]
    private var relations: [UInt32: PgOutputMessage.Relation] = [:]
    private var snapshot: CdcSnapshot?
    /// The change after which streaming resumes: the end LSN of the last transaction emitted whole, and within the
    /// transaction after it, the LSN of the last change emitted.
    private var emittedEnd: UInt64 = 0
    private var emittedChange: (txEnd: UInt64, lsn: UInt64)?
    /// The end LSN of the last transaction seen, emitted or not (those of tables not captured too).
    private var seenEnd: UInt64 = 0
    private var slotPosition: UInt64 = 0
    private var lastCommit: UInt64?
    private var idleUntil = ContinuousClock.now
    private let logger = Logger(label: "vltava.connect.postgres-cdc")

    public init() {}

    public mutating func initialize(_ context: SourceTaskContext) {
        context.listen(acknowledgements)
    }

    public mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        let parsed = try PostgresCdcConfig(config)
        self.config = parsed
        partition = .map([ConnectMapEntry(key: .string("server"), value: .string(parsed.topicPrefix))])
        let link = try PostgresLink.open(parsed.connection, logger: logger)
        do throws(ConnectError) {
            try preparePublication(parsed, link: link)
            slotPosition = try prepareSlot(parsed, link: link)
            let stored = offsets.offset(for: partition)
            let snapshotDone = stored.map { $0[entry: "snapshot_completed"]?.booleanValue == true || $0[entry: "lsn_proc"] != nil } ?? false
            if let stored, let end = stored[entry: "lsn_commit"]?.integerValue {
                let proc = UInt64(bitPattern: stored[entry: "lsn_proc"]?.integerValue ?? 0)
                if stored[entry: "tx_complete"]?.booleanValue == true { emittedEnd = UInt64(bitPattern: end) } else {
                    emittedChange = (UInt64(bitPattern: end), proc)
                }
                lastCommit = UInt64(bitPattern: end)
            }
            if [.initial, .initialOnly].contains(parsed.snapshotMode) && !snapshotDone {
                snapshot = try CdcSnapshot(config: parsed, link: link, slotPosition: slotPosition)
            }
            self.link = link
        } catch {
            link.close()
            throw error
        }
    }

    private func preparePublication(_ config: PostgresCdcConfig, link: PostgresLink) throws(ConnectError) {
        var name = PostgresBindings()
        name.append(PostgresParameter.untyped(config.publicationName))
        let exists = try link.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM pg_publication WHERE pubname = $1", binds: name))
        let quoted = SQLIdentifier.quote(config.publicationName)
        switch config.publicationMode {
        case .disabled:
            guard !exists.rows.isEmpty else {
                throw .failed("Publication \(config.publicationName) does not exist and publication.autocreate.mode is disabled")
            }
        case .allTables:
            if exists.rows.isEmpty { try link.execute("CREATE PUBLICATION \(quoted) FOR ALL TABLES") }
        case .filtered:
            let tables = try CdcSnapshot.capturedTables(config, link: link).map(\.qualified)
            guard !tables.isEmpty else { throw .failed("No table matches table.include.list to create publication \(config.publicationName) for") }
            let list = tables.joined(separator: ", ")
            try link.execute(exists.rows.isEmpty ? "CREATE PUBLICATION \(quoted) FOR TABLE \(list)" : "ALTER PUBLICATION \(quoted) SET TABLE \(list)")
        }
    }

    /// Creates the slot when missing; its confirmed position.
    private func prepareSlot(_ config: PostgresCdcConfig, link: PostgresLink) throws(ConnectError) -> UInt64 {
        var name = PostgresBindings()
        name.append(PostgresParameter.untyped(config.slotName))
        let slot = try link.query(PostgresQuery(unsafeSQL: "SELECT plugin::text, confirmed_flush_lsn::text, database::text FROM pg_replication_slots WHERE slot_name = $1", binds: name))
        if let row = slot.rows.first, row.count == 3 {
            guard PostgresBinary.text(row[0]) == "pgoutput", PostgresBinary.text(row[2]) == config.connection.database else {
                throw .failed("Replication slot \(config.slotName) exists for another plugin or database; choose another slot.name")
            }
            return PostgresBinary.text(row[1]).flatMap(LSN.parse) ?? 0
        }
        let created = try link.query(PostgresQuery(unsafeSQL: "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", binds: name))
        logger.info("created replication slot", metadata: ["slot": "\(config.slotName)"])
        return created.rows.first?.first.flatMap { PostgresBinary.text($0) }.flatMap(LSN.parse) ?? 0
    }

    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        guard let config else { throw .failed("the PostgreSQL CDC task was not started") }
        if link == nil { link = try PostgresLink.open(config.connection, logger: logger) }
        guard let link else { return [] }
        if var running = snapshot {
            let records = try running.next(link: link, partition: partition, tables: &tables)
            snapshot = running.isDone ? nil : running
            if running.isDone { logger.info("snapshot completed", metadata: ["records": "\(running.emitted)"]) }
            if running.isDone && config.snapshotMode == .initialOnly { snapshot = running }
            return records
        }
        if config.snapshotMode == .initialOnly { return [] }
        guard ContinuousClock.now >= idleUntil else { return [] }
        try advanceSlot(link: link, config: config)
        let records = try stream(link: link, config: config)
        if records.isEmpty { idleUntil = ContinuousClock.now + .milliseconds(config.pollIntervalMs) }
        return records
    }

    /// Moves the slot past what Kafka acknowledged (a whole transaction), or past transactions that gave no record when
    /// nothing is in flight.
    private mutating func advanceSlot(link: PostgresLink, config: PostgresCdcConfig) throws(ConnectError) {
        var target = slotPosition
        if let acknowledged = acknowledgements.last, let end = acknowledged[entry: "lsn_commit"]?.integerValue {
            let complete = acknowledged[entry: "tx_complete"]?.booleanValue == true
            let ackedEnd = UInt64(bitPattern: end)
            if complete { target = max(target, ackedEnd) }
            let caughtUp = complete && ackedEnd == emittedEnd && emittedChange == nil
            if caughtUp { target = max(target, seenEnd) }
        } else if emittedEnd == 0 && emittedChange == nil && snapshot == nil {
            target = max(target, seenEnd)
        }
        guard target > slotPosition else { return }
        var bindings = PostgresBindings()
        bindings.append(PostgresParameter.untyped(config.slotName))
        bindings.append(PostgresParameter.untyped(LSN.text(target)))
        try link.execute("SELECT pg_replication_slot_advance($1, $2::pg_lsn)", bindings)
        slotPosition = target
    }

    /// Decodes the changes after the slot's position and makes records of those not emitted yet.
    private mutating func stream(link: PostgresLink, config: PostgresCdcConfig) throws(ConnectError) -> [ConnectRecord] {
        var bindings = PostgresBindings()
        bindings.append(PostgresParameter.untyped(config.slotName))
        bindings.append(PostgresParameter.int32(Int32(clamping: config.maxBatchSize * 4)))
        bindings.append(PostgresParameter.untyped(config.publicationName))
        let result = try link.query(PostgresQuery(unsafeSQL: """
            SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, 'proto_version', '1', 'publication_names', $3)
            """, binds: bindings))
        var records: [ConnectRecord] = []
        var transaction: [(lsn: UInt64, change: PgOutputMessage)] = []
        var begin: (xid: UInt32, micros: Int64)?
        for row in result.rows {
            guard row.count == 2, let lsnText = PostgresBinary.text(row[0]), let lsn = LSN.parse(lsnText), let data = row[1] else { continue }
            let message = try PgOutputMessage.decode(data)
            switch message {
            case let .relation(relation):
                relations[relation.id] = relation
            case let .begin(_, micros, xid):
                begin = (xid, micros)
                transaction = []
            case .insert, .update, .delete:
                transaction.append((lsn, message))
            case let .commit(_, end, micros):
                defer { transaction = [] }
                if end <= emittedEnd {
                    seenEnd = max(seenEnd, end)
                    continue
                }
                // A full batch: later transactions wait for the next poll (the slot must not pass them).
                if records.count >= config.maxBatchSize { return records }
                let txRecords = try self.records(of: transaction, end: end, xid: begin?.xid ?? 0, micros: micros, link: link, config: config)
                seenEnd = max(seenEnd, end)
                if !txRecords.isEmpty {
                    records += txRecords
                    emittedEnd = end
                    emittedChange = nil
                    lastCommit = end
                }
            case .truncate, .other:
                break
            }
        }
        return records
    }

    private mutating func records(of changes: [(lsn: UInt64, change: PgOutputMessage)], end: UInt64, xid: UInt32, micros: Int64,
                                  link: PostgresLink, config: PostgresCdcConfig) throws(ConnectError) -> [ConnectRecord] {
        var records: [ConnectRecord] = []
        let now = WallClock.microseconds()
        let skipThrough = emittedChange.flatMap { $0.txEnd == end ? $0.lsn : nil } ?? 0
        let captured = changes.filter { $0.lsn > skipThrough }
        for (index, (lsn, change)) in captured.enumerated() {
            let relationID: UInt32
            switch change {
            case let .insert(relation, _), let .update(relation, _, _), let .delete(relation, _): relationID = relation
            default: continue
            }
            guard let relation = relations[relationID], config.captures(schema: relation.namespace, table: relation.name) else { continue }
            let table = try self.table(relation, link: link, config: config)
            let complete = index == captured.count - 1
            let offset = ConnectValue.map([
                ConnectMapEntry(key: .string("lsn_proc"), value: .int64(Int64(bitPattern: lsn))),
                ConnectMapEntry(key: .string("lsn_commit"), value: .int64(Int64(bitPattern: end))),
                ConnectMapEntry(key: .string("lsn"), value: .int64(Int64(bitPattern: end))),
                ConnectMapEntry(key: .string("txId"), value: .int64(Int64(xid))),
                ConnectMapEntry(key: .string("ts_usec"), value: .int64(micros + PostgresParameter.postgresEpochMicros)),
                ConnectMapEntry(key: .string("tx_complete"), value: .boolean(complete)),
            ])
            let origin = DebeziumTable.Origin(server: config.topicPrefix, database: config.connection.database,
                                              commitMicros: micros + PostgresParameter.postgresEpochMicros, snapshot: "false",
                                              txId: Int64(xid), lsn: lsn, lastCommitLSN: lastCommit)
            let (op, before, after): (String, ConnectValue, ConnectValue)
            switch change {
            case let .insert(_, new): (op, before, after) = ("c", .null, try Self.row(new, relation: relation, table: table, unavailable: nil))
            case let .update(_, old, new):
                let oldRow = try old.map { values throws(ConnectError) in try Self.row(values, relation: relation, table: table, unavailable: nil) }
                (op, before, after) = ("u", oldRow ?? .null, try Self.row(new, relation: relation, table: table, unavailable: oldRow))
            case let .delete(_, old): (op, before, after) = ("d", try Self.row(old, relation: relation, table: table, unavailable: nil), .null)
            default: continue
            }
            records += table.records(op: op, before: before, after: after, origin: origin, nowMicros: now, tombstone: config.tombstonesOnDelete,
                                     sourcePartition: partition, sourceOffset: offset)
        }
        return records
    }

    /// A tuple as a row of the table's value schema, columns matched by name; an unchanged TOASTed value is taken from
    /// the old row when sent, else Debezium's placeholder for text and null otherwise.
    static func row(_ values: [PgOutputMessage.Value], relation: PgOutputMessage.Relation, table: DebeziumTable,
                    unavailable old: ConnectValue?) throws(ConnectError) -> ConnectValue {
        var row = [ConnectValue](repeating: .null, count: table.columns.count)
        for (index, column) in relation.columns.enumerated() where index < values.count {
            guard let target = table.columns.firstIndex(where: { $0.name == column.name }) else { continue }
            switch values[index] {
            case .null:
                // A key-only old row (a delete or key change under the default replica identity) has no values for the
                // other columns: a required one gets its type's zero, as Debezium fills it.
                let schema = table.columns[target].schema
                row[target] = schema.isOptional ? .null : schema.defaultValue ?? schema.type.zeroValue ?? (schema.type == .array ? .array([]) : .null)
            case let .text(text): row[target] = try table.columns[target].value(text)
            case .unchangedToast:
                if let previous = old?[field: column.name], !previous.isNull {
                    row[target] = previous
                } else {
                    row[target] = table.columns[target].schema.type == .string ? .string("__debezium_unavailable_value") : .null
                }
            }
        }
        return table.row(row)
    }

    /// The table of a relation, described from the catalog once (again when its columns change).
    private mutating func table(_ relation: PgOutputMessage.Relation, link: PostgresLink, config: PostgresCdcConfig) throws(ConnectError) -> DebeziumTable {
        let key = "\(relation.namespace).\(relation.name)"
        if let known = tables[key], known.columns.map(\.name) == relation.columns.map(\.name) { return known }
        let described = try CdcSnapshot.describe(PostgresTable(schema: relation.namespace, name: relation.name), config: config, link: link)
        tables[key] = described
        return described
    }

    public mutating func stop() {
        link?.close()
        link = nil
    }
}

/// The offset of the last record of the CDC task that Kafka acknowledged (its one source partition), kept for the
/// task's next poll, which moves the replication slot past it.
final class CdcAcknowledgements: SourceRecordListener {
    private let offset = NIOLockedValueBox<ConnectValue?>(nil)

    var wantsRecordPlacements: Bool { false }

    func offsetsAcknowledged(_ offsets: [(partition: ConnectValue, offset: ConnectValue)]) {
        guard let last = offsets.last?.offset else { return }
        offset.withLockedValue { $0 = last }
    }

    var last: ConnectValue? { offset.withLockedValue { $0 } }
}
