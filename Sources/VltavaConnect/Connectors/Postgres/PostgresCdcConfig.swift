/// The configuration of Debezium's PostgreSQL connector (`io.debezium.connector.postgresql.PostgresConnector`) that
/// Vltava reads, with Debezium's names and defaults.
struct PostgresCdcConfig: Sendable {
    enum SnapshotMode: String, Sendable, CaseIterable {
        /// A snapshot when no offset says one completed, then streaming.
        case initial
        /// No snapshot: streaming from the slot (Debezium 2's `no_data`, formerly `never`).
        case noData = "no_data"
        case never
        /// A snapshot, then stop.
        case initialOnly = "initial_only"
    }

    enum PublicationMode: String, Sendable, CaseIterable {
        case allTables = "all_tables"
        case disabled, filtered
    }

    var connection: PostgresSettings
    var topicPrefix: String
    var slotName: String
    var publicationName: String
    var publicationMode: PublicationMode
    var snapshotMode: SnapshotMode
    var tableInclude: [JavaRegex]
    var tableExclude: [JavaRegex]
    var schemaInclude: [JavaRegex]
    var schemaExclude: [JavaRegex]
    var maxBatchSize: Int
    var pollIntervalMs: Int
    /// How often a heartbeat record goes to `heartbeatTopic` (0: never).
    var heartbeatIntervalMs: Int
    var heartbeatTopic: String
    var tombstonesOnDelete: Bool
    var timeMode: DebeziumColumn.TimePrecisionMode
    var decimalMode: DebeziumColumn.DecimalMode

    static let definition: [ConfigKeyDefinition] = [
        ConfigKeyDefinition(name: "database.hostname", type: .string, defaultValue: nil, importance: .high, documentation: "Resolvable hostname or IP address of the database server."),
        ConfigKeyDefinition(name: "database.port", type: .int, defaultValue: "5432", importance: .high, documentation: "Port of the database server."),
        ConfigKeyDefinition(name: "database.user", type: .string, defaultValue: nil, importance: .high, documentation: "Name of the database user to be used when connecting to the database."),
        ConfigKeyDefinition(name: "database.password", type: .password, defaultValue: "", importance: .high, documentation: "Password of the database user to be used when connecting to the database."),
        ConfigKeyDefinition(name: "database.dbname", type: .string, defaultValue: nil, importance: .high, documentation: "The name of the database from which the connector should capture changes."),
        ConfigKeyDefinition(name: "database.sslmode", type: .string, defaultValue: "prefer", importance: .medium, documentation: "Whether to use an encrypted connection to the server: disable, prefer, require, verify-ca, verify-full."),
        ConfigKeyDefinition(name: "topic.prefix", type: .string, defaultValue: nil, importance: .high, documentation: "Topic prefix that identifies and provides a namespace for the particular database server/cluster is capturing changes."),
        ConfigKeyDefinition(name: "plugin.name", type: .string, defaultValue: "pgoutput", importance: .medium, documentation: "The name of the Postgres logical decoding plugin installed on the server (pgoutput)."),
        ConfigKeyDefinition(name: "slot.name", type: .string, defaultValue: "debezium", importance: .medium, documentation: "The name of the Postgres logical decoding slot created for streaming changes from a plugin."),
        ConfigKeyDefinition(name: "publication.name", type: .string, defaultValue: "dbz_publication", importance: .low, documentation: "The name of the Postgres 10+ publication used for streaming changes from a plugin."),
        ConfigKeyDefinition(name: "publication.autocreate.mode", type: .string, defaultValue: "all_tables", importance: .low, documentation: "Applies only when streaming changes using pgoutput: all_tables, disabled or filtered."),
        ConfigKeyDefinition(name: "snapshot.mode", type: .string, defaultValue: "initial", importance: .low, documentation: "The criteria for running a snapshot upon startup of the connector: initial, initial_only, no_data, never."),
        ConfigKeyDefinition(name: "table.include.list", type: .list, defaultValue: "", importance: .high, documentation: "The tables for which changes are to be captured (regular expressions matching schema.table)."),
        ConfigKeyDefinition(name: "table.exclude.list", type: .list, defaultValue: "", importance: .medium, documentation: "The tables for which changes are not to be captured."),
        ConfigKeyDefinition(name: "schema.include.list", type: .list, defaultValue: "", importance: .medium, documentation: "The schemas for which events should be captured."),
        ConfigKeyDefinition(name: "schema.exclude.list", type: .list, defaultValue: "", importance: .medium, documentation: "The schemas for which events must not be captured."),
        ConfigKeyDefinition(name: "max.batch.size", type: .int, defaultValue: "2048", importance: .medium, documentation: "Maximum size of each batch of source records."),
        ConfigKeyDefinition(name: "poll.interval.ms", type: .long, defaultValue: "500", importance: .medium, documentation: "Time to wait for new change events to appear after receiving no events, given in milliseconds."),
        ConfigKeyDefinition(name: "tombstones.on.delete", type: .boolean, defaultValue: "true", importance: .medium, documentation: "Whether delete operations should be represented by a delete event and a subsequent tombstone event."),
        ConfigKeyDefinition(name: "heartbeat.interval.ms", type: .int, defaultValue: "0", importance: .medium, documentation: "Length of an interval in milli-seconds in in which the connector periodically sends heartbeat messages to a heartbeat topic. Use 0 to disable heartbeat messages. Disabled by default."),
        ConfigKeyDefinition(name: "topic.heartbeat.prefix", type: .string, defaultValue: "__debezium-heartbeat", importance: .low, documentation: "The prefix that is used to name heartbeat topics."),
        ConfigKeyDefinition(name: "time.precision.mode", type: .string, defaultValue: "adaptive", importance: .medium, documentation: "Time, date, and timestamps can be represented with different kinds of precisions: adaptive, adaptive_time_microseconds, connect."),
        ConfigKeyDefinition(name: "decimal.handling.mode", type: .string, defaultValue: "precise", importance: .medium, documentation: "Specify how DECIMAL and NUMERIC columns should be represented in change events: precise, double, string."),
    ]

    init(_ config: [String: String]) throws(ConnectError) {
        let host = try ConnectConfig.string(config, "database.hostname")
        let port = try ConnectConfig.int(config, "database.port", default: 5432, minimum: 1)
        let user = try ConnectConfig.string(config, "database.user")
        let database = try ConnectConfig.string(config, "database.dbname")
        let sslMode = ConnectConfig.value(config, "database.sslmode") ?? "prefer"
        guard PostgresSettings.sslModes.contains(sslMode) else {
            throw .config(name: "database.sslmode", message: "Unknown sslmode \(sslMode); expected one of \(PostgresSettings.sslModes.joined(separator: ", "))")
        }
        connection = PostgresSettings(host: host, port: port, database: database, user: user,
                                      password: ConnectConfig.value(config, "database.password"), sslMode: sslMode,
                                      sslRootCertificate: config["database.sslrootcert"])
        guard let prefix = ConnectConfig.value(config, "topic.prefix") ?? ConnectConfig.value(config, "database.server.name") else {
            throw .config(name: "topic.prefix", message: "Missing required configuration \"topic.prefix\" which has no default value.")
        }
        topicPrefix = prefix
        let plugin = ConnectConfig.value(config, "plugin.name") ?? "pgoutput"
        guard plugin == "pgoutput" else {
            throw .config(name: "plugin.name", message: "Only the pgoutput plugin is supported (PostgreSQL's own), not \(plugin)")
        }
        slotName = ConnectConfig.value(config, "slot.name") ?? "debezium"
        guard slotName.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }), slotName.count <= 63 else {
            throw .config(name: "slot.name", message: "Slot names may hold only lower-case letters, digits and underscores (at most 63): \(slotName)")
        }
        publicationName = ConnectConfig.value(config, "publication.name") ?? "dbz_publication"
        publicationMode = try ConnectConfig.choice(config, "publication.autocreate.mode", default: .allTables)
        snapshotMode = try ConnectConfig.choice(config, "snapshot.mode", default: .initial)
        func patterns(_ name: String) throws(ConnectError) -> [JavaRegex] {
            try ConnectConfig.list(config, name).map { pattern throws(ConnectError) in
                do { return try JavaRegex("(?i)" + pattern) } catch {
                    throw .config(name: name, message: "\(pattern) is not a valid regular expression")
                }
            }
        }
        tableInclude = try patterns("table.include.list")
        tableExclude = try patterns("table.exclude.list")
        schemaInclude = try patterns("schema.include.list")
        schemaExclude = try patterns("schema.exclude.list")
        maxBatchSize = try ConnectConfig.int(config, "max.batch.size", default: 2048, minimum: 1)
        pollIntervalMs = try ConnectConfig.int(config, "poll.interval.ms", default: 500, minimum: 1)
        heartbeatIntervalMs = try ConnectConfig.int(config, "heartbeat.interval.ms", default: 0, minimum: 0)
        heartbeatTopic = (ConnectConfig.value(config, "topic.heartbeat.prefix") ?? "__debezium-heartbeat") + "." + prefix
        tombstonesOnDelete = try ConnectConfig.boolean(config, "tombstones.on.delete", default: true)
        timeMode = try ConnectConfig.choice(config, "time.precision.mode", default: .adaptive)
        decimalMode = try ConnectConfig.choice(config, "decimal.handling.mode", default: .precise)
    }

    /// Whether changes of `schema.table` are captured (Debezium's include/exclude lists, case-insensitive, whole matches).
    func captures(schema: String, table: String) -> Bool {
        if ["pg_catalog", "information_schema"].contains(schema) { return false }
        let qualified = "\(schema).\(table)"
        if !schemaInclude.isEmpty && !schemaInclude.contains(where: { $0.matchesWhole(schema) }) { return false }
        if schemaExclude.contains(where: { $0.matchesWhole(schema) }) { return false }
        if !tableInclude.isEmpty && !tableInclude.contains(where: { $0.matchesWhole(qualified) }) { return false }
        return !tableExclude.contains { $0.matchesWhole(qualified) }
    }
}
