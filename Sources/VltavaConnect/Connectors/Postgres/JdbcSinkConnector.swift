import Logging
import PostgresNIO

/// Confluent's `io.confluent.connect.jdbc.JdbcSinkConnector`, writing to PostgreSQL: records become rows by
/// `pk.mode`/`pk.fields`, written with `insert.mode` insert, upsert (`ON CONFLICT … DO UPDATE`) or update, tombstones
/// deleting by key when `delete.enabled`; tables created (`auto.create`) and given missing columns (`auto.evolve`).
/// Each `put` is one transaction.
public struct JdbcSinkConnector: Connector {
    public static let className = "io.confluent.connect.jdbc.JdbcSinkConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.sink
    public static let version = "10.8.0"
    public static var configDefinition: [ConfigKeyDefinition] { JdbcSinkConfig.definition }

    private var config: [String: String] = [:]

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        _ = try JdbcSinkConfig(config)
        self.config = config
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        Array(repeating: config, count: max(1, maxTasks))
    }

    public mutating func stop() {}
}

/// The task of `JdbcSinkConnector`.
public struct JdbcSinkTask: SinkTask {
    private var config: JdbcSinkConfig?
    private var reader: JdbcSinkRowReader?
    private var link: PostgresLink?
    /// The columns of each table written, as last read from the catalog.
    private var tableColumns: [String: Set<String>] = [:]
    /// Replaced by the worker's (`initialize`); this one never stops a wait and reports nothing.
    private var context = SinkTaskContext(logger: Logger(label: "vltava.connect.jdbc-sink"))
    /// Insert statements by table, columns, rows and upsert (the text of a 3000-row statement is long to build).
    private var insertStatements: [InsertShape: String] = [:]

    struct InsertShape: Hashable {
        var table: String
        var columns: [String]
        var rows: Int
        var upsert: Bool
    }
    private let logger = Logger(label: "vltava.connect.jdbc-sink")

    public init() {}

    public mutating func initialize(_ context: SinkTaskContext) {
        self.context = context
    }

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        let parsed = try JdbcSinkConfig(config)
        self.config = parsed
        reader = JdbcSinkRowReader(config: parsed)
        link = try PostgresLink.open(parsed.connection, timeZone: parsed.timeZone, logger: logger)
    }

    /// Writes the records in one transaction, retried `max.retries` times after `retry.backoff.ms`; then, when the worker
    /// tolerates errors, row by row, the rows PostgreSQL refuses going to the errant-record reporter (the dead-letter queue).
    public mutating func put(_ records: [ConnectRecord]) throws(ConnectError) {
        guard let config, let reader else { throw .failed("the JDBC sink task was not started") }
        let reporter = context.errantRecordReporter
        var rows: [SinkRow] = []
        var sources: [Int] = []
        rows.reserveCapacity(records.count)
        var tableOfTopic: (topic: String, table: String)?
        for (index, record) in records.enumerated() {
            do throws(ConnectError) {
                if tableOfTopic?.topic != record.topic { tableOfTopic = (record.topic, config.tableName(topic: record.topic)) }
                if let row = try reader.row(record, table: tableOfTopic?.table) {
                    rows.append(row)
                    sources.append(index)
                }
            } catch {
                guard let reporter else { throw error }
                reporter.report(record, error: error)
            }
        }
        guard !rows.isEmpty else { return }
        var attempt = 0
        while true {
            do throws(ConnectError) {
                try write(rows)
                return
            } catch {
                attempt += 1
                guard attempt <= config.maxRetries else {
                    guard let reporter else { throw error }
                    // Each row alone, so that only those PostgreSQL refuses go to the errant-record reporter.
                    try writeOneByOne(rows, records: sources.map { records[$0] }, reporter: reporter)
                    return
                }
                logger.warning("writing to PostgreSQL failed, retrying", metadata: [
                    "attempt": "\(attempt)", "of": "\(config.maxRetries)", "error": "\(error)"])
                guard context.sleep(milliseconds: Int64(config.retryBackoffMs)) else { throw SinkTaskContext.stopped }
            }
        }
    }

    private mutating func writeOneByOne(_ rows: [SinkRow], records: [ConnectRecord], reporter: ErrantRecordReporter) throws(ConnectError) {
        for (row, record) in zip(rows, records) {
            do throws(ConnectError) {
                try write([row])
            } catch {
                // A lost connection is no fault of the row: the put fails instead of sending everything to the DLQ.
                if link == nil { throw error }
                reporter.report(record, error: error)
            }
        }
    }

    /// Writes rows in one transaction: runs of rows of the same table, columns and kind become multi-row statements.
    private mutating func write(_ rows: [SinkRow]) throws(ConnectError) {
        guard let config else { return }
        if link == nil { link = try PostgresLink.open(config.connection, timeZone: config.timeZone, logger: logger) }
        guard let link else { return }
        try link.execute("BEGIN")
        do throws(ConnectError) {
            var start = 0
            while start < rows.count {
                var end = start + 1
                while end < rows.count, rows[end].table == rows[start].table, rows[end].isDelete == rows[start].isDelete,
                      rows[end].columns.map(\.name) == rows[start].columns.map(\.name) {
                    end += 1
                }
                try writeRun(rows[start..<end], link: link, config: config)
                start = end
            }
            try link.execute("COMMIT")
        } catch {
            // Nothing of the put stays; a connection that cannot even roll back is opened again at the next write.
            if (try? link.execute("ROLLBACK")) == nil {
                link.close()
                self.link = nil
            }
            tableColumns = [:]
            throw error
        }
    }

    private mutating func writeRun(_ run: ArraySlice<SinkRow>, link: PostgresLink, config: JdbcSinkConfig) throws(ConnectError) {
        guard let first = run.first else { return }
        let exists = try ensureTable(first, link: link, config: config)
        if first.isDelete {
            guard exists else { return }
            let keys = Array(first.columns.prefix(first.keyCount))
            guard !keys.isEmpty else { return }
            for chunk in Self.chunks(run, size: JdbcSinkSQL.rowsPerStatement(columnCount: keys.count, batchSize: config.batchSize)) {
                try link.execute(JdbcSinkSQL.delete(table: first.table, keys: keys, rows: chunk.count), Self.bindings(chunk))
            }
            return
        }
        switch config.insertMode {
        case .insert, .upsert:
            let upsert = config.insertMode == .upsert
            let size = JdbcSinkSQL.rowsPerStatement(columnCount: first.columns.count, batchSize: config.batchSize)
            for chunk in Self.chunks(run, size: size) {
                let rows = upsert ? Self.lastPerKey(chunk) : chunk
                let shape = InsertShape(table: first.table, columns: first.columns.map(\.name), rows: rows.count, upsert: upsert)
                let sql: String
                if let cached = insertStatements[shape] {
                    sql = cached
                } else {
                    sql = JdbcSinkSQL.insert(table: first.table, columns: first.columns, rows: rows.count, upsert: upsert)
                    if insertStatements.count >= 64 { insertStatements.removeAll() }
                    insertStatements[shape] = sql
                }
                try link.execute(sql, Self.bindings(rows))
            }
        case .update:
            let sql = JdbcSinkSQL.update(table: first.table, columns: first.columns)
            for row in run { try link.execute(sql, Self.bindings([row])) }
        }
    }

    /// Looks the table up once; creates it or adds missing columns when configured to, else fails naming what is missing.
    /// Whether the table exists now (a delete into a missing table has nothing to delete, and creates nothing).
    @discardableResult
    private mutating func ensureTable(_ row: SinkRow, link: PostgresLink, config: JdbcSinkConfig) throws(ConnectError) -> Bool {
        var known = tableColumns[row.table]
        if known == nil {
            known = try Self.columns(of: row.table, link: link)
            if known == nil {
                if row.isDelete { return false }
                guard config.autoCreate else {
                    throw .failed("Table \(row.table) is missing and auto-creation is disabled (set auto.create=true)")
                }
                try link.execute(JdbcSinkSQL.createTable(table: row.table, columns: row.columns))
                known = Set(row.columns.map(\.name))
                logger.info("created table", metadata: ["table": "\(row.table)"])
            }
        }
        let missing = row.columns.filter { !(known ?? []).contains($0.name) }
        if !missing.isEmpty {
            guard config.autoEvolve else {
                throw .failed("Table \(row.table) is missing fields (\(missing.map(\.name).joined(separator: ", "))) and auto-evolution "
                    + "is disabled (set auto.evolve=true)")
            }
            try link.execute(JdbcSinkSQL.addColumns(table: row.table, columns: missing))
            logger.info("added columns", metadata: ["table": "\(row.table)", "columns": "\(missing.map(\.name))"])
            known?.formUnion(missing.map(\.name))
        }
        tableColumns[row.table] = known
        return true
    }

    /// The columns of a table, nil when it does not exist.
    static func columns(of table: String, link: PostgresLink) throws(ConnectError) -> Set<String>? {
        let relation = SQLIdentifier.quoteQualified(table)
        guard try PostgresCatalog.exists(relation, link: link) else { return nil }
        return Set(try PostgresCatalog.columns(of: relation, link: link).map(\.name))
    }

    static func chunks(_ run: ArraySlice<SinkRow>, size: Int) -> [ArraySlice<SinkRow>] {
        stride(from: run.startIndex, to: run.endIndex, by: size).map { run[$0..<min($0 + size, run.endIndex)] }
    }

    /// The last row of each key, in the order of those last rows (one upsert statement cannot touch a row twice).
    static func lastPerKey(_ rows: ArraySlice<SinkRow>) -> ArraySlice<SinkRow> {
        guard let keyCount = rows.first?.keyCount, keyCount > 0 else { return rows }
        var last: [[PostgresParameter?]: Int] = [:]
        for (index, row) in zip(rows.indices, rows) { last[Array(row.parameters.prefix(keyCount))] = index }
        if last.count == rows.count { return rows }
        return ArraySlice(zip(rows.indices, rows).filter { last[Array($0.1.parameters.prefix(keyCount))] == $0.0 }.map(\.1))
    }

    static func bindings<Rows: Collection>(_ rows: Rows) -> PostgresBindings where Rows.Element == SinkRow {
        var bindings = PostgresBindings(capacity: rows.reduce(0) { $0 + ($1.isDelete ? $1.keyCount : $1.parameters.count) })
        for row in rows {
            let parameters = row.isDelete ? row.parameters.prefix(row.keyCount) : row.parameters[...]
            for parameter in parameters {
                if let parameter { bindings.append(parameter) } else { bindings.appendNull() }
            }
        }
        return bindings
    }

    public mutating func flush() throws(ConnectError) {}

    public mutating func stop() {
        link?.close()
        link = nil
    }
}
