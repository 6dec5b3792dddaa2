/// The statements of the JDBC sink in PostgreSQL's dialect (Confluent's `PostgreSqlDatabaseDialect`), every
/// identifier quoted. Rows go in multi-row statements of numbered parameters.
enum JdbcSinkSQL {
    /// PostgreSQL's limit on the parameters of one statement.
    static let maximumParameters = 65_535

    /// How many rows of `columnCount` columns one statement carries.
    static func rowsPerStatement(columnCount: Int, batchSize: Int) -> Int {
        max(1, min(batchSize, maximumParameters / max(1, columnCount)))
    }

    /// `INSERT INTO t (c…) VALUES ($1,…),(…)`, with Confluent's upsert (`ON CONFLICT (key) DO UPDATE SET c=EXCLUDED.c`,
    /// or `DO NOTHING` when every column is a key).
    static func insert(table: String, columns: [SinkColumn], rows: Int, upsert: Bool) -> String {
        var sql = "INSERT INTO \(SQLIdentifier.quoteQualified(table)) ("
        sql += columns.map { SQLIdentifier.quote($0.name) }.joined(separator: ",")
        sql += ") VALUES "
        appendPlaceholderRows(&sql, rows: rows, width: columns.count)
        if upsert {
            let keys = columns.filter(\.isKey).map { SQLIdentifier.quote($0.name) }
            let others = columns.filter { !$0.isKey }.map { SQLIdentifier.quote($0.name) }
            sql += " ON CONFLICT (\(keys.joined(separator: ","))) DO "
            sql += others.isEmpty ? "NOTHING" : "UPDATE SET " + others.map { "\($0)=EXCLUDED.\($0)" }.joined(separator: ",")
        }
        return sql
    }

    /// `UPDATE t SET c=$1,… WHERE k=$n AND …` for one row whose parameters are in column order (keys first).
    static func update(table: String, columns: [SinkColumn]) -> String {
        let keyCount = columns.prefix { $0.isKey }.count
        let sets = columns.enumerated().dropFirst(keyCount).map { "\(SQLIdentifier.quote($0.element.name))=$\($0.offset + 1)" }
        let conditions = columns.prefix(keyCount).enumerated().map { "\(SQLIdentifier.quote($0.element.name))=$\($0.offset + 1)" }
        return "UPDATE \(SQLIdentifier.quoteQualified(table)) SET \(sets.joined(separator: ",")) WHERE \(conditions.joined(separator: " AND "))"
    }

    /// `DELETE FROM t WHERE (k…) IN (($1,…),(…))` for rows of key parameters.
    static func delete(table: String, keys: [SinkColumn], rows: Int) -> String {
        var sql = "DELETE FROM \(SQLIdentifier.quoteQualified(table)) WHERE ("
        sql += keys.map { SQLIdentifier.quote($0.name) }.joined(separator: ",")
        sql += ") IN ("
        appendPlaceholderRows(&sql, rows: rows, width: keys.count)
        return sql + ")"
    }

    private static func appendPlaceholderRows(_ sql: inout String, rows: Int, width: Int) {
        var number = 1
        for row in 0..<rows {
            sql += row == 0 ? "(" : ",("
            for column in 0..<width {
                if column > 0 { sql += "," }
                sql += "$\(number)"
                number += 1
            }
            sql += ")"
        }
    }

    /// Confluent's `CREATE TABLE`: each column with its type, NOT NULL unless optional, its default, and the key.
    static func createTable(table: String, columns: [SinkColumn]) throws(ConnectError) -> String {
        var parts = try columns.map { column throws(ConnectError) in try definition(column) }
        let keys = columns.filter(\.isKey).map { SQLIdentifier.quote($0.name) }
        if !keys.isEmpty { parts.append("PRIMARY KEY(\(keys.joined(separator: ",")))") }
        return "CREATE TABLE \(SQLIdentifier.quoteQualified(table)) (\n\(parts.joined(separator: ",\n")))"
    }

    /// Confluent's auto-evolution: one `ALTER TABLE … ADD …` per missing column, which must be optional or have a default.
    static func addColumns(table: String, columns: [SinkColumn]) throws(ConnectError) -> String {
        let additions = try columns.map { column throws(ConnectError) in
            guard column.schema.isOptional || column.schema.defaultValue != nil else {
                throw ConnectError.failed("Cannot ALTER TABLE \(table) to add missing field \(column.name) of type "
                    + "\(column.schema.type.rawValue.uppercased()), as the field is not optional and does not have a default value")
            }
            return "ADD \(try definition(column))"
        }
        return "ALTER TABLE \(SQLIdentifier.quoteQualified(table)) \(additions.joined(separator: ", "))"
    }

    private static func definition(_ column: SinkColumn) throws(ConnectError) -> String {
        var text = "\(SQLIdentifier.quote(column.name)) \(try type(column.schema, column: column.name))"
        if let value = column.schema.defaultValue, let literal = literal(value, schema: column.schema) { text += " DEFAULT \(literal)" }
        text += column.schema.isOptional && !column.isKey ? " NULL" : " NOT NULL"
        return text
    }

    /// The PostgreSQL type of a Connect schema, as Confluent's dialect names it.
    static func type(_ schema: ConnectSchema, column: String) throws(ConnectError) -> String {
        switch schema.name {
        case ConnectLogical.decimalName?: return "DECIMAL"
        case ConnectLogical.dateName?: return "DATE"
        case ConnectLogical.timeName?: return "TIME"
        case ConnectLogical.timestampName?: return "TIMESTAMP"
        default: break
        }
        switch schema.type {
        case .int8, .int16: return "SMALLINT"
        case .int32: return "INT"
        case .int64: return "BIGINT"
        case .float32: return "REAL"
        case .float64: return "DOUBLE PRECISION"
        case .boolean: return "BOOLEAN"
        case .string: return "TEXT"
        case .bytes: return "BYTEA"
        case .array:
            guard let items = schema.valueSchema, items.type.isPrimitive, items.type != .bytes else { break }
            return try type(items, column: column) + "[]"
        case .map, .structure: break
        }
        throw .failed("No PostgreSQL type for column \(column) of Connect type \(schema.type.rawValue.uppercased()) "
            + "(structs and maps need flattening first; arrays only of numbers, booleans and strings)")
    }

    /// A default value as an SQL literal (numbers, booleans and strings; other defaults are left to NULL).
    private static func literal(_ value: ConnectValue, schema: ConnectSchema) -> String? {
        guard schema.name == nil else { return nil }
        switch value {
        case let .boolean(flag): return flag ? "TRUE" : "FALSE"
        case let .int8(number): return String(number)
        case let .int16(number): return String(number)
        case let .int32(number): return String(number)
        case let .int64(number): return String(number)
        case let .float32(number) where number.isFinite: return "\(number)"
        case let .float64(number) where number.isFinite: return "\(number)"
        case let .string(text): return "'" + text.replacing("'", with: "''") + "'"
        default: return nil
        }
    }
}
