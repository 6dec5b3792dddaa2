/// The configuration of Confluent's JDBC source (`io.confluent.connect.jdbc.JdbcSourceConnector`), with its names and
/// defaults.
struct JdbcSourceConfig: Sendable, Hashable {
    enum Mode: String, Sendable, CaseIterable {
        case bulk, incrementing, timestamp
        case timestampIncrementing = "timestamp+incrementing"

        var usesIncrementing: Bool { self == .incrementing || self == .timestampIncrementing }
        var usesTimestamp: Bool { self == .timestamp || self == .timestampIncrementing }
    }

    var connection: PostgresSettings
    var mode: Mode
    var incrementingColumn: String
    var timestampColumns: [String]
    /// `timestamp.initial`: milliseconds since the epoch, -1 for the database's current time, nil for the epoch.
    var timestampInitial: Int64?
    var validateNonNull: Bool
    var query: String
    var querySuffix: String
    var pollIntervalMs: Int
    var batchMaxRows: Int
    var topicPrefix: String
    var timestampDelayMs: Int
    var timeZone: String
    var numericMapping: NumericMapping
    var whitelist: [String]
    var blacklist: [String]
    var schemaPattern: String?
    var tableTypes: [String]

    static let definition: [ConfigKeyDefinition] = [
        ConfigKeyDefinition(name: "connection.url", type: .string, defaultValue: nil, importance: .high,
                            documentation: "JDBC connection URL, e.g. jdbc:postgresql://localhost:5432/db"),
        ConfigKeyDefinition(name: "connection.user", type: .string, defaultValue: "", importance: .high, documentation: "JDBC connection user."),
        ConfigKeyDefinition(name: "connection.password", type: .password, defaultValue: "", importance: .high, documentation: "JDBC connection password."),
        ConfigKeyDefinition(name: "mode", type: .string, defaultValue: nil, importance: .high,
                            documentation: "The mode for updating a table each time it is polled: bulk, incrementing, timestamp, timestamp+incrementing."),
        ConfigKeyDefinition(name: "incrementing.column.name", type: .string, defaultValue: "", importance: .medium,
                            documentation: "The name of the strictly incrementing column to use to detect new rows."),
        ConfigKeyDefinition(name: "timestamp.column.name", type: .list, defaultValue: "", importance: .medium,
                            documentation: "Comma separated list of one or more timestamp columns to detect new or modified rows using the COALESCE SQL function."),
        ConfigKeyDefinition(name: "timestamp.initial", type: .long, defaultValue: "", importance: .low,
                            documentation: "The epoch timestamp used for initial queries that use timestamp criteria. Use -1 to use the current time."),
        ConfigKeyDefinition(name: "validate.non.null", type: .boolean, defaultValue: "true", importance: .low,
                            documentation: "By default, the JDBC connector will validate that all incrementing and timestamp tables have NOT NULL set for the columns being used as their ID/timestamp."),
        ConfigKeyDefinition(name: "query", type: .string, defaultValue: "", importance: .medium,
                            documentation: "If specified, the query to perform to select new or updated rows."),
        ConfigKeyDefinition(name: "query.suffix", type: .string, defaultValue: "", importance: .low, documentation: "Suffix to append at the end of the generated query."),
        ConfigKeyDefinition(name: "table.whitelist", type: .list, defaultValue: "", importance: .medium, documentation: "List of tables to include in copying."),
        ConfigKeyDefinition(name: "table.include.list", type: .list, defaultValue: "", importance: .medium, documentation: "List of tables to include in copying."),
        ConfigKeyDefinition(name: "table.blacklist", type: .list, defaultValue: "", importance: .medium, documentation: "List of tables to exclude from copying."),
        ConfigKeyDefinition(name: "table.exclude.list", type: .list, defaultValue: "", importance: .medium, documentation: "List of tables to exclude from copying."),
        ConfigKeyDefinition(name: "schema.pattern", type: .string, defaultValue: "", importance: .medium,
                            documentation: "Schema pattern to fetch table metadata from the database (a LIKE pattern)."),
        ConfigKeyDefinition(name: "table.types", type: .list, defaultValue: "TABLE", importance: .low,
                            documentation: "By default, the JDBC connector will only detect tables with type TABLE from the source Database."),
        ConfigKeyDefinition(name: "poll.interval.ms", type: .int, defaultValue: "5000", importance: .high,
                            documentation: "Frequency in ms to poll for new data in each table."),
        ConfigKeyDefinition(name: "batch.max.rows", type: .int, defaultValue: "100", importance: .low,
                            documentation: "Maximum number of rows to include in a single batch when polling for new data."),
        ConfigKeyDefinition(name: "topic.prefix", type: .string, defaultValue: nil, importance: .high,
                            documentation: "Prefix to prepend to table names to generate the name of the Kafka topic to publish data to, or in the case of a custom query, the full name of the topic to publish to."),
        ConfigKeyDefinition(name: "timestamp.delay.interval.ms", type: .long, defaultValue: "0", importance: .high,
                            documentation: "How long to wait after a row with certain timestamp appears before we include it in the result."),
        ConfigKeyDefinition(name: "db.timezone", type: .string, defaultValue: "UTC", importance: .medium,
                            documentation: "Name of the JDBC timezone used in the connector when querying with time-based criteria."),
        ConfigKeyDefinition(name: "numeric.mapping", type: .string, defaultValue: "none", importance: .low,
                            documentation: "Map NUMERIC values by precision and optionally scale to integral or decimal types: none, precision_only, best_fit, best_fit_eager_double."),
    ]

    init(_ config: [String: String]) throws(ConnectError) {
        connection = try PostgresSettings(jdbcURL: try ConnectConfig.string(config, "connection.url"),
                                          user: config["connection.user"], password: config["connection.password"])
        guard let modeText = config["mode"], !modeText.isEmpty else {
            throw .config(name: "mode", message: "Missing required configuration \"mode\" which has no default value.")
        }
        mode = try ConnectConfig.choice(["mode": modeText], "mode", default: .bulk)
        incrementingColumn = config["incrementing.column.name"]?.trimmedWhitespace ?? ""
        timestampColumns = ConnectConfig.list(config, "timestamp.column.name")
        if let initial = config["timestamp.initial"]?.trimmedWhitespace, !initial.isEmpty {
            guard let value = Int64(initial) else {
                throw .config(name: "timestamp.initial", message: "Invalid value \(initial) for configuration timestamp.initial: Not a number of type LONG")
            }
            timestampInitial = value
        }
        validateNonNull = try ConnectConfig.boolean(config, "validate.non.null", default: true)
        query = config["query"]?.trimmedWhitespace ?? ""
        querySuffix = config["query.suffix"] ?? ""
        pollIntervalMs = try ConnectConfig.int(config, "poll.interval.ms", default: 5000, minimum: 1)
        batchMaxRows = try ConnectConfig.int(config, "batch.max.rows", default: 100, minimum: 1)
        topicPrefix = try ConnectConfig.string(config, "topic.prefix")
        timestampDelayMs = try ConnectConfig.int(config, "timestamp.delay.interval.ms", default: 0, minimum: 0)
        timeZone = ConnectConfig.value(config, "db.timezone") ?? "UTC"
        numericMapping = try ConnectConfig.choice(config, "numeric.mapping", default: .none)
        whitelist = ConnectConfig.list(config, "table.whitelist") + ConnectConfig.list(config, "table.include.list")
        blacklist = ConnectConfig.list(config, "table.blacklist") + ConnectConfig.list(config, "table.exclude.list")
        schemaPattern = ConnectConfig.value(config, "schema.pattern")
        tableTypes = ConnectConfig.list(config, "table.types").map { $0.uppercased() }
        if tableTypes.isEmpty { tableTypes = ["TABLE"] }
        if mode.usesTimestamp && timestampColumns.isEmpty {
            throw .config(name: "timestamp.column.name", message: "mode \(mode.rawValue) needs timestamp.column.name")
        }
        if !whitelist.isEmpty && !blacklist.isEmpty {
            throw .config(name: "table.whitelist", message: "table.whitelist and table.blacklist cannot both be set")
        }
        if !query.isEmpty && (!whitelist.isEmpty || !blacklist.isEmpty) {
            throw .config(name: "query", message: "query cannot be combined with a table whitelist or blacklist")
        }
    }
}
