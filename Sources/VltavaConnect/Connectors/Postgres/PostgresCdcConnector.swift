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
    private var position = CdcPosition()
    private var slotPosition: UInt64 = 0
    private var stream: PostgresReplicationStream?
    /// Events taken from the stream and not handled yet (a poll stops at `max.batch.size` records).
    private var backlog: ArraySlice<PostgresReplicationStream.Event> = []
    private var transaction: OpenTransaction?
    /// While another session still holds the slot (a previous stream the server has not seen close), until when to
    /// keep trying.
    private var slotBusySince: ContinuousClock.Instant?
    /// Polls in a row that found nothing. A poll waits for changes only after two: the worker converts and produces
    /// earlier batches while the connector polls, and a poll that waited right after a burst would hold them back.
    private var emptyPolls = 2
    private var nextHeartbeat = ContinuousClock.now

    /// The transaction being read: its commit LSN, the LSN through which its changes were emitted before (a resent
    /// stream), and its latest change, held until the next message says whether it is the transaction's last.
    private struct OpenTransaction {
        var commit: UInt64
        var xid: UInt32
        var micros: Int64
        var skipThrough: UInt64
        var held: (lsn: UInt64, change: PgOutputMessage)?
    }

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
            position = CdcPosition(stored: stored)
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
        if let stream { stream.confirm(position.confirmable(acknowledged: acknowledgements.last)) }
        guard let stream = try openStream(config) else { return [] }
        var records: [ConnectRecord] = []
        var waited = false
        while records.count < config.maxBatchSize {
            if backlog.isEmpty {
                let events: [PostgresReplicationStream.Event]
                do {
                    events = try stream.take(waitingUpTo: waited || emptyPolls < 2 ? .zero : .milliseconds(config.pollIntervalMs))
                } catch {
                    // Read again from the slot by the next poll; what was emitted is skipped when resent.
                    logger.warning("replication stream lost; reconnecting", metadata: ["error": "\(error)"])
                    stream.close()
                    self.stream = nil
                    transaction = nil
                    position.restarted()
                    break
                }
                waited = true
                if events.isEmpty { break }
                backlog = events[...]
            }
            while records.count < config.maxBatchSize, let event = backlog.popFirst() {
                try handle(event, into: &records, link: link, config: config)
            }
        }
        emptyPolls = records.isEmpty ? min(emptyPolls + 1, 2) : 0
        if config.heartbeatIntervalMs > 0, ContinuousClock.now >= nextHeartbeat,
           let offset = position.heartbeat(micros: WallClock.microseconds()) {
            nextHeartbeat = ContinuousClock.now + .milliseconds(config.heartbeatIntervalMs)
            records.append(DebeziumHeartbeat.record(topic: config.heartbeatTopic, server: config.topicPrefix,
                                                    nowMicros: WallClock.microseconds(), sourcePartition: partition, sourceOffset: offset))
        }
        return records
    }

    /// The replication stream, opened when there is none; nil while another session still holds the slot (for at most
    /// a minute, PostgreSQL's default `wal_sender_timeout`, after which the failure is the task's).
    private mutating func openStream(_ config: PostgresCdcConfig) throws(ConnectError) -> PostgresReplicationStream? {
        if let stream { return stream }
        do {
            let opened = try PostgresReplicationStream.open(config.connection, slot: config.slotName,
                                                            publication: config.publicationName, logger: logger)
            stream = opened
            slotBusySince = nil
            emptyPolls = 2
            return opened
        } catch {
            guard error.isSlotInUse else { throw .failed(error.description) }
            let since = slotBusySince ?? ContinuousClock.now
            slotBusySince = since
            guard ContinuousClock.now - since < .seconds(60) else { throw .failed(error.description) }
            logger.info("replication slot still in use by another session; retrying", metadata: ["slot": "\(config.slotName)"])
            return nil
        }
    }

    /// One event of the stream: relations remembered, a transaction's changes made records as they come (the last one
    /// with its COMMIT, to mark it complete), changes already emitted before a restart skipped.
    private mutating func handle(_ event: PostgresReplicationStream.Event, into records: inout [ConnectRecord],
                                 link: PostgresLink, config: PostgresCdcConfig) throws(ConnectError) {
        let lsn: UInt64, bytes: ByteBuffer
        switch event {
        case let .keepalive(walEnd):
            position.keepalive(walEnd: walEnd)
            return
        case let .message(at, data): (lsn, bytes) = (at, data)
        }
        let message = try PgOutputMessage.decode(bytes)
        switch message {
        case let .relation(relation):
            relations[relation.id] = relation
        case let .begin(commit, micros, xid):
            transaction = OpenTransaction(commit: commit, xid: xid, micros: micros, skipThrough: position.began(commit: commit))
        case let .insert(relation, _), let .update(relation, _, _), let .delete(relation, _):
            guard var open = transaction, lsn > open.skipThrough, let described = relations[relation],
                  config.captures(schema: described.namespace, table: described.name) else { return }
            if let held = open.held { records += try self.records(of: held, in: open, complete: false, link: link, config: config) }
            open.held = (lsn, message)
            transaction = open
        case let .commit(_, end, _):
            var whole = false
            if let open = transaction, let held = open.held {
                records += try self.records(of: held, in: open, complete: true, link: link, config: config)
                whole = true
            }
            position.committed(commit: transaction?.commit ?? 0, end: end, emittedWhole: whole)
            transaction = nil
        case .truncate, .other:
            break
        }
    }

    private mutating func records(of held: (lsn: UInt64, change: PgOutputMessage), in open: OpenTransaction, complete: Bool,
                                  link: PostgresLink, config: PostgresCdcConfig) throws(ConnectError) -> [ConnectRecord] {
        let (lsn, change) = held
        let relationID: UInt32
        switch change {
        case let .insert(relation, _), let .update(relation, _, _), let .delete(relation, _): relationID = relation
        default: return []
        }
        guard let relation = relations[relationID] else { return [] }
        let table = try self.table(relation, link: link, config: config)
        let commitMicros = open.micros + PostgresParameter.postgresEpochMicros
        let offset = CdcPosition.offset(commit: open.commit, lsn: lsn, xid: open.xid, commitMicros: commitMicros, complete: complete)
        let origin = DebeziumTable.Origin(server: config.topicPrefix, database: config.connection.database,
                                          commitMicros: commitMicros, snapshot: "false", txId: Int64(open.xid), lsn: lsn,
                                          lastCommitLSN: position.lastCommit)
        let (op, before, after): (String, ConnectValue, ConnectValue)
        switch change {
        case let .insert(_, new): (op, before, after) = ("c", .null, try Self.row(new, relation: relation, table: table, unavailable: nil))
        case let .update(_, old, new):
            let oldRow = try old.map { values throws(ConnectError) in try Self.row(values, relation: relation, table: table, unavailable: nil) }
            (op, before, after) = ("u", oldRow ?? .null, try Self.row(new, relation: relation, table: table, unavailable: oldRow))
        case let .delete(_, old): (op, before, after) = ("d", try Self.row(old, relation: relation, table: table, unavailable: nil), .null)
        default: return []
        }
        position.emitted(offset: offset, commit: open.commit, lsn: lsn, complete: complete)
        return table.records(op: op, before: before, after: after, origin: origin, nowMicros: WallClock.microseconds(),
                             tombstone: config.tombstonesOnDelete, sourcePartition: partition, sourceOffset: offset)
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
        stream?.close()
        stream = nil
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
