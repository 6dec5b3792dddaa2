import Logging
import PostgresNIO

/// Confluent's `io.confluent.connect.jdbc.JdbcSourceConnector`, reading PostgreSQL: the tables of the whitelist (or
/// every table of `table.types` in `schema.pattern` but the blacklist), spread over up to `tasks.max` tasks, or one
/// custom `query`; each read in `mode` bulk, incrementing, timestamp or timestamp+incrementing into the topic
/// `topic.prefix` + table name.
public struct JdbcSourceConnector: Connector {
    public static let className = "io.confluent.connect.jdbc.JdbcSourceConnector"
    public static let aliases = ConnectorPlugins.aliases(of: className)
    public static let type = ConnectorType.source
    public static let version = "10.8.0"
    public static var configDefinition: [ConfigKeyDefinition] { JdbcSourceConfig.definition }

    static let tablesKey = "tables"
    private var config: [String: String] = [:]
    private var tables: [PostgresTable] = []

    public init() {}

    public mutating func start(_ config: [String: String]) throws(ConnectError) {
        let parsed = try JdbcSourceConfig(config)
        self.config = config
        guard parsed.query.isEmpty else { return }
        let link = try PostgresLink.open(parsed.connection, timeZone: parsed.timeZone, logger: Logger(label: "vltava.connect.jdbc-source"))
        defer { link.close() }
        tables = try Self.tables(parsed, link: link)
        if tables.isEmpty {
            throw .config(name: "table.whitelist", message: "No tables of \(parsed.connection.target) match the configuration")
        }
    }

    /// The tables to read: Confluent's whitelist entries match a table's name or `schema.table`.
    static func tables(_ config: JdbcSourceConfig, link: PostgresLink) throws(ConnectError) -> [PostgresTable] {
        var kinds: [String] = []
        if config.tableTypes.contains("TABLE") { kinds += ["r", "p"] }
        if config.tableTypes.contains("VIEW") { kinds.append("v") }
        if config.tableTypes.contains("MATERIALIZED VIEW") { kinds.append("m") }
        if config.tableTypes.contains("FOREIGN TABLE") { kinds.append("f") }
        let all = try PostgresCatalog.tables(link: link, kinds: kinds, schemaPattern: config.schemaPattern ?? "%", selectableOnly: true)
        func matches(_ table: PostgresTable, _ entries: [String]) -> Bool {
            entries.contains { $0 == table.name || $0 == "\(table.schema).\(table.name)" }
        }
        if !config.whitelist.isEmpty { return all.filter { matches($0, config.whitelist) } }
        return all.filter { !matches($0, config.blacklist) }
    }

    public func taskConfigs(maxTasks: Int) -> [[String: String]] {
        guard !tables.isEmpty else { return [config] }
        let count = max(1, min(maxTasks, tables.count))
        // Confluent's ConnectorUtils.groupPartitions: contiguous groups, the first ones one larger.
        var configs: [[String: String]] = []
        var start = 0
        for index in 0..<count {
            let size = tables.count / count + (index < tables.count % count ? 1 : 0)
            var task = config
            task[Self.tablesKey] = PostgresTable.list(Array(tables[start..<start + size]))
            configs.append(task)
            start += size
        }
        return configs
    }

    public mutating func stop() {}
}

/// The task of `JdbcSourceConnector`: its tables (or the query) polled in turn, each every `poll.interval.ms`, through
/// a cursor in a read-only transaction from which each `poll` fetches `batch.max.rows` rows.
public struct JdbcSourceTask: SourceTask {
    private var config: JdbcSourceConfig?
    private var link: PostgresLink?
    private var queries: [JdbcSourceQuery] = []
    /// The query whose cursor is open, if any.
    private var open: Int?
    private let logger = Logger(label: "vltava.connect.jdbc-source")
    static let cursor = "vltava_jdbc_source"

    public init() {}

    public mutating func start(_ config: [String: String], offsets: any SourceOffsetReader) throws(ConnectError) {
        let parsed = try JdbcSourceConfig(config)
        self.config = parsed
        let link = try PostgresLink.open(parsed.connection, timeZone: parsed.timeZone, logger: logger)
        do throws(ConnectError) {
            try prepare(parsed, config: config, link: link, offsets: offsets)
            self.link = link
        } catch {
            link.close()
            throw error
        }
    }

    private mutating func prepare(_ parsed: JdbcSourceConfig, config: [String: String], link: PostgresLink,
                                  offsets: any SourceOffsetReader) throws(ConnectError) {
        let now = { () throws(ConnectError) -> Int64 in
            let result = try link.query("SELECT now()")
            guard let cell = result.rows.first?.first, var bytes = cell, let micros = bytes.readInteger(as: Int64.self) else {
                throw ConnectError.failed("PostgreSQL did not tell its current time")
            }
            return micros + PostgresParameter.postgresEpochMicros
        }
        if !parsed.query.isEmpty {
            try link.execute("CREATE OR REPLACE TEMP VIEW \"vltava_jdbc_source_query\" AS \(parsed.query)")
            let columns = try PostgresCatalog.columns(of: "\"vltava_jdbc_source_query\"", link: link)
            let partition = ConnectValue.map([ConnectMapEntry(key: .string("query"), value: .string("query"))])
            var query = try JdbcSourceQuery(topic: parsed.topicPrefix, schemaName: parsed.topicPrefix,
                                            source: "(\(parsed.query)) AS \"vltava_query\"", columns: columns,
                                            sourcePartition: partition, config: parsed)
            try query.resume(from: offsets.offset(for: partition), initialTimestampMillis: parsed.timestampInitial, databaseNowMicros: now)
            queries = [query]
            return
        }
        for table in PostgresTable.parse(config[JdbcSourceConnector.tablesKey] ?? "") {
            let columns = try PostgresCatalog.columns(of: table.qualified, link: link)
            let partition = ConnectValue.map([
                ConnectMapEntry(key: .string("protocol"), value: .string("1")),
                ConnectMapEntry(key: .string("table"), value: .string("\(parsed.connection.database).\(table.schema).\(table.name)")),
            ])
            var query = try JdbcSourceQuery(topic: parsed.topicPrefix + table.name, schemaName: table.name, source: table.qualified,
                                            columns: columns, sourcePartition: partition, config: parsed)
            try query.resume(from: offsets.offset(for: partition), initialTimestampMillis: parsed.timestampInitial, databaseNowMicros: now)
            queries.append(query)
        }
    }

    /// The next rows of the query whose turn it is; none when no query is due yet.
    public mutating func poll() throws(ConnectError) -> [ConnectRecord] {
        guard let config else { throw .failed("the JDBC source task was not started") }
        if link == nil { link = try PostgresLink.open(config.connection, timeZone: config.timeZone, logger: logger) }
        guard let link, !queries.isEmpty else { return [] }
        do throws(ConnectError) {
            let index: Int
            if let open {
                index = open
            } else {
                let now = ContinuousClock.now
                guard let due = queries.indices.min(by: { queries[$0].nextRun < queries[$1].nextRun }), queries[due].nextRun <= now else {
                    return []
                }
                try link.execute("BEGIN READ ONLY")
                try link.execute("DECLARE \(Self.cursor) NO SCROLL CURSOR FOR \(queries[due].statement(delayMillis: config.timestampDelayMs))")
                open = due
                index = due
            }
            let result = try link.query(PostgresQuery(unsafeSQL: "FETCH FORWARD \(config.batchMaxRows) FROM \(Self.cursor)"))
            let records = try queries[index].records(result)
            if result.rows.count < config.batchMaxRows {
                try link.execute("CLOSE \(Self.cursor)")
                try link.execute("COMMIT")
                open = nil
                queries[index].nextRun = ContinuousClock.now + .milliseconds(config.pollIntervalMs)
            }
            return records
        } catch {
            // The round starts again from the offsets of the records already handed out, on a new connection if need be.
            open = nil
            if (try? link.execute("ROLLBACK")) == nil {
                link.close()
                self.link = nil
            }
            throw error
        }
    }

    public mutating func stop() {
        link?.close()
        link = nil
    }
}
