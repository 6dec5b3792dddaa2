/// One table (or the custom query) as the JDBC source reads it: the columns, the statement for the mode from the last
/// offset, and the offsets as Confluent's connector stores them (`{"incrementing": n}`, `{"timestamp": ms,
/// "timestamp_nanos": n}`, both for timestamp+incrementing).
struct JdbcSourceQuery: Sendable {
    var topic: String
    /// The struct schema's name: the table's name (Confluent's), or the topic for a query.
    var schemaName: String
    /// The FROM item: the qualified table, or the query as a subselect.
    var source: String
    var readers: [PostgresColumnReader]
    var valueSchema: ConnectSchema
    var sourcePartition: ConnectValue
    var incrementingColumn: PostgresColumn?
    var timestampColumns: [PostgresColumn]
    var mode: JdbcSourceConfig.Mode
    var suffix: String
    /// The last offsets read: the incrementing value, and microseconds since the epoch of the timestamp.
    var lastIncrementing: Int64 = -1
    var lastTimestampMicros: Int64 = 0
    var nextRun = ContinuousClock.now

    init(topic: String, schemaName: String, source: String, columns: [PostgresColumn], sourcePartition: ConnectValue,
         config: JdbcSourceConfig) throws(ConnectError) {
        self.topic = topic
        self.schemaName = schemaName
        self.source = source
        self.sourcePartition = sourcePartition
        mode = config.mode
        suffix = config.querySuffix
        readers = columns.map { PostgresColumnReader(column: $0, numericMapping: config.numericMapping) }
        valueSchema = .structure(name: schemaName, fields: readers.map { ($0.column.name, $0.schema) })
        if config.mode.usesIncrementing {
            let column: PostgresColumn?
            if config.incrementingColumn.isEmpty {
                column = columns.first { $0.isAutoIncrement }
            } else {
                column = columns.first { $0.name == config.incrementingColumn }
            }
            guard let column else {
                throw .config(name: "incrementing.column.name", message: config.incrementingColumn.isEmpty
                    ? "\(schemaName) has no auto-increment column; name one in incrementing.column.name"
                    : "\(schemaName) has no column \(config.incrementingColumn)")
            }
            guard [PostgresOID.int2, PostgresOID.int4, PostgresOID.int8, PostgresOID.numeric].contains(column.typeOID) else {
                throw .config(name: "incrementing.column.name", message: "the incrementing column \(column.name) of \(schemaName) is not an integer column")
            }
            if config.validateNonNull && column.isNullable && config.query.isEmpty {
                throw .config(name: "incrementing.column.name", message: "Cannot make incremental queries using incrementing column "
                    + "\(column.name) on \(schemaName) because this column is nullable.")
            }
            incrementingColumn = column
        }
        timestampColumns = []
        if config.mode.usesTimestamp {
            for name in config.timestampColumns {
                guard let column = columns.first(where: { $0.name == name }) else {
                    throw .config(name: "timestamp.column.name", message: "\(schemaName) has no column \(name)")
                }
                guard [PostgresOID.timestamp, PostgresOID.timestamptz, PostgresOID.date].contains(column.typeOID) else {
                    throw .config(name: "timestamp.column.name", message: "the timestamp column \(name) of \(schemaName) is not a timestamp or date column")
                }
                if config.validateNonNull && column.isNullable && config.timestampColumns.count == 1 && config.query.isEmpty {
                    throw .config(name: "timestamp.column.name", message: "Cannot make incremental queries using timestamp column "
                        + "\(name) on \(schemaName) because this column is nullable.")
                }
                timestampColumns.append(column)
            }
        }
    }

    static let incrementingKey = "incrementing", timestampKey = "timestamp", nanosKey = "timestamp_nanos"

    /// Takes the committed offset, if any; else the initial timestamp (`timestamp.initial`, with -1 the database's now).
    mutating func resume(from offset: ConnectValue?, initialTimestampMillis: Int64?, databaseNowMicros: () throws(ConnectError) -> Int64)
        throws(ConnectError) {
        if let offset {
            if let value = offset[entry: Self.incrementingKey]?.integerValue { lastIncrementing = value }
            if let millis = offset[entry: Self.timestampKey]?.integerValue {
                let nanos = offset[entry: Self.nanosKey]?.integerValue ?? (millis % 1000) * 1_000_000
                lastTimestampMicros = CivilTime.floorDivide(millis, 1000).0 * 1_000_000 + CivilTime.floorDivide(nanos, 1000).0
            }
            return
        }
        if let initial = initialTimestampMillis {
            lastTimestampMicros = initial == -1 ? try databaseNowMicros() : initial * 1000
        }
    }

    /// The expression compared with the timestamp offset (several columns: their COALESCE, as Confluent's).
    var timestampExpression: String {
        let names = timestampColumns.map { SQLIdentifier.quote($0.name) }
        return names.count == 1 ? names[0] : "COALESCE(\(names.joined(separator: ",")))"
    }

    /// The statement of one round from the current offsets. Offsets are written as literals (a cursor's query takes no
    /// parameters); they are numbers and timestamps this code formats. Two hidden columns follow the row's own: the
    /// timestamp as timestamptz and the incrementing value as bigint, which become the offsets.
    func statement(delayMillis: Int) -> String {
        var select = readers.map(\.selectExpression)
        select.append((mode.usesTimestamp ? "(\(timestampExpression))::timestamptz" : "NULL::timestamptz") + " AS \"__vltava_timestamp\"")
        select.append((incrementingColumn.map { "\(SQLIdentifier.quote($0.name))::int8" } ?? "NULL::int8") + " AS \"__vltava_incrementing\"")
        var sql = "SELECT \(select.joined(separator: ", ")) FROM \(source)"
        let increment = incrementingColumn.map { SQLIdentifier.quote($0.name) } ?? ""
        let timestampType = timestampColumns.first?.typeOID == PostgresOID.timestamptz ? "timestamptz"
            : timestampColumns.first?.typeOID == PostgresOID.date ? "date" : "timestamp"
        let last = "CAST('\(Self.timestampLiteral(micros: lastTimestampMicros))'::timestamptz AS \(timestampType))"
        let upper = "CAST(now() - interval '\(delayMillis) milliseconds' AS \(timestampType))"
        switch mode {
        case .bulk: break
        case .incrementing:
            sql += " WHERE \(increment) > \(lastIncrementing) ORDER BY \(increment) ASC"
        case .timestamp:
            sql += " WHERE \(timestampExpression) > \(last) AND \(timestampExpression) < \(upper) ORDER BY \(timestampExpression) ASC"
        case .timestampIncrementing:
            sql += " WHERE \(timestampExpression) < \(upper) AND ((\(timestampExpression) = \(last) AND \(increment) > \(lastIncrementing))"
                + " OR \(timestampExpression) > \(last)) ORDER BY \(timestampExpression), \(increment) ASC"
        }
        if !suffix.isEmpty { sql += " " + suffix }
        return sql
    }

    /// The records of fetched rows, each with the offset after it; the offsets move past the rows.
    mutating func records(_ result: PostgresResult) throws(ConnectError) -> [ConnectRecord] {
        var records: [ConnectRecord] = []
        records.reserveCapacity(result.rows.count)
        let count = readers.count
        for row in result.rows {
            guard row.count == count + 2 else { throw .failed("PostgreSQL answered rows of \(row.count) columns, expected \(count + 2)") }
            var values: [ConnectValue] = []
            values.reserveCapacity(count)
            for index in 0..<count { values.append(try readers[index].value(row[index])) }
            if mode.usesTimestamp, var cell = row[count], let micros = cell.readInteger(as: Int64.self) {
                lastTimestampMicros = micros == .max || micros == .min ? micros : micros + PostgresParameter.postgresEpochMicros
            }
            if mode.usesIncrementing, let value = PostgresBinary.int64(row[count + 1]) { lastIncrementing = value }
            records.append(ConnectRecord(topic: topic, valueSchema: valueSchema, value: .structure(ConnectStruct(schema: valueSchema, values: values)),
                                         sourcePartition: sourcePartition, sourceOffset: offset))
        }
        return records
    }

    /// The offset of the current position (nil in bulk mode: a restart reads everything again, as Confluent's does).
    var offset: ConnectValue? {
        var entries: [ConnectMapEntry] = []
        if mode.usesTimestamp {
            let millis = CivilTime.floorDivide(lastTimestampMicros, 1000).0
            let nanos = CivilTime.floorDivide(lastTimestampMicros, 1_000_000).1 * 1000
            entries.append(ConnectMapEntry(key: .string(Self.timestampKey), value: .int64(millis)))
            entries.append(ConnectMapEntry(key: .string(Self.nanosKey), value: .int64(nanos)))
        }
        if mode.usesIncrementing {
            entries.append(ConnectMapEntry(key: .string(Self.incrementingKey), value: .int64(lastIncrementing)))
        }
        return entries.isEmpty ? nil : .map(entries)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` of microseconds since the epoch (years before 1 are clamped to 0001).
    static func timestampLiteral(micros: Int64) -> String {
        let (text, fraction) = PostgresText.dateTime(micros: max(micros, -62_135_596_800_000_000), separator: " ")
        return text + "." + PostgresText.pad(fraction, 6) + "+00"
    }
}
