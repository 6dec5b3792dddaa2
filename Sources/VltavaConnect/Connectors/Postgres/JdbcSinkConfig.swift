/// The configuration of Confluent's JDBC sink (`io.confluent.connect.jdbc.JdbcSinkConnector`), with its names and
/// defaults.
struct JdbcSinkConfig: Sendable, Hashable {
    enum InsertMode: String, Sendable, CaseIterable { case insert, upsert, update }
    enum PrimaryKeyMode: String, Sendable, CaseIterable {
        case none, kafka
        case recordKey = "record_key"
        case recordValue = "record_value"
    }

    var connection: PostgresSettings
    var insertMode: InsertMode
    var primaryKeyMode: PrimaryKeyMode
    var primaryKeyFields: [String]
    var fieldsWhitelist: Set<String>
    var tableNameFormat: String
    var batchSize: Int
    var deleteEnabled: Bool
    var autoCreate: Bool
    var autoEvolve: Bool
    var maxRetries: Int
    var retryBackoffMs: Int
    var timeZone: String

    static let definition: [ConfigKeyDefinition] = [
        ConfigKeyDefinition(name: "connection.url", type: .string, defaultValue: nil, importance: .high,
                            documentation: "JDBC connection URL, e.g. jdbc:postgresql://localhost:5432/db"),
        ConfigKeyDefinition(name: "connection.user", type: .string, defaultValue: "", importance: .high, documentation: "JDBC connection user."),
        ConfigKeyDefinition(name: "connection.password", type: .password, defaultValue: "", importance: .high, documentation: "JDBC connection password."),
        ConfigKeyDefinition(name: "insert.mode", type: .string, defaultValue: "insert", importance: .high,
                            documentation: "The insertion mode to use: insert, upsert or update."),
        ConfigKeyDefinition(name: "batch.size", type: .int, defaultValue: "3000", importance: .medium,
                            documentation: "Specifies how many records to attempt to batch together for insertion into the destination table."),
        ConfigKeyDefinition(name: "delete.enabled", type: .boolean, defaultValue: "false", importance: .medium,
                            documentation: "Whether to treat null record values as deletes. Requires pk.mode to be record_key."),
        ConfigKeyDefinition(name: "table.name.format", type: .string, defaultValue: "${topic}", importance: .medium,
                            documentation: "A format string for the destination table name, which may contain '${topic}'."),
        ConfigKeyDefinition(name: "pk.mode", type: .string, defaultValue: "none", importance: .high,
                            documentation: "The primary key mode: none, kafka, record_key or record_value."),
        ConfigKeyDefinition(name: "pk.fields", type: .list, defaultValue: "", importance: .medium,
                            documentation: "List of comma-separated primary key field names."),
        ConfigKeyDefinition(name: "fields.whitelist", type: .list, defaultValue: "", importance: .medium,
                            documentation: "List of comma-separated record value field names. If empty, all fields from the record value are utilized."),
        ConfigKeyDefinition(name: "db.timezone", type: .string, defaultValue: "UTC", importance: .medium,
                            documentation: "Name of the JDBC timezone used in the connector when inserting time-based values."),
        ConfigKeyDefinition(name: "auto.create", type: .boolean, defaultValue: "false", importance: .medium,
                            documentation: "Whether to automatically create the destination table based on record schema if it is found to be missing."),
        ConfigKeyDefinition(name: "auto.evolve", type: .boolean, defaultValue: "false", importance: .medium,
                            documentation: "Whether to automatically add columns in the table schema when found to be missing relative to the record schema."),
        ConfigKeyDefinition(name: "max.retries", type: .int, defaultValue: "10", importance: .medium,
                            documentation: "The maximum number of times to retry on errors before failing the task."),
        ConfigKeyDefinition(name: "retry.backoff.ms", type: .int, defaultValue: "3000", importance: .medium,
                            documentation: "The time in milliseconds to wait following an error before a retry attempt is made."),
        ConfigKeyDefinition(name: "dialect.name", type: .string, defaultValue: "", importance: .low,
                            documentation: "The name of the database dialect (PostgreSqlDatabaseDialect is the one supported)."),
    ]

    init(_ config: [String: String]) throws(ConnectError) {
        let user = config["connection.user"], password = config["connection.password"]
        connection = try PostgresSettings(jdbcURL: try ConnectConfig.string(config, "connection.url"), user: user, password: password)
        insertMode = try ConnectConfig.choice(config, "insert.mode", default: .insert)
        primaryKeyMode = try ConnectConfig.choice(config, "pk.mode", default: .none)
        primaryKeyFields = ConnectConfig.list(config, "pk.fields")
        fieldsWhitelist = Set(ConnectConfig.list(config, "fields.whitelist"))
        tableNameFormat = ConnectConfig.value(config, "table.name.format") ?? "${topic}"
        batchSize = try ConnectConfig.int(config, "batch.size", default: 3000, minimum: 1)
        deleteEnabled = try ConnectConfig.boolean(config, "delete.enabled", default: false)
        autoCreate = try ConnectConfig.boolean(config, "auto.create", default: false)
        autoEvolve = try ConnectConfig.boolean(config, "auto.evolve", default: false)
        maxRetries = try ConnectConfig.int(config, "max.retries", default: 10, minimum: 0)
        retryBackoffMs = try ConnectConfig.int(config, "retry.backoff.ms", default: 3000, minimum: 0)
        timeZone = ConnectConfig.value(config, "db.timezone") ?? "UTC"
        if deleteEnabled && primaryKeyMode != .recordKey {
            throw .config(name: "delete.enabled", message: "Deletes are only supported for pk.mode record_key")
        }
        if insertMode != .insert && primaryKeyMode == .none {
            throw .config(name: "pk.mode", message: "insert.mode \(insertMode.rawValue) needs the primary key's columns: set pk.mode to kafka, record_key or record_value")
        }
        if primaryKeyMode == .kafka && !primaryKeyFields.isEmpty && primaryKeyFields.count != 3 {
            throw .config(name: "pk.fields", message: "PK mode for kafka requires exactly 3 fields (topic, partition, offset), not \(primaryKeyFields.count)")
        }
        if let dialect = config["dialect.name"], !dialect.isEmpty, dialect != "PostgreSqlDatabaseDialect" {
            throw .config(name: "dialect.name", message: "Only PostgreSqlDatabaseDialect is supported, not \(dialect)")
        }
    }

    /// The table of a topic: `table.name.format` with `${topic}` replaced.
    func tableName(topic: String) -> String {
        tableNameFormat == "${topic}" ? topic : tableNameFormat.replacing("${topic}", with: topic)
    }
}
