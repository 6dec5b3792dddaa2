import PostgresNIO
import VltavaHTTP

/// What the connectors ask PostgreSQL's catalog: the tables there are, whether one exists, its columns.
enum PostgresCatalog {
    /// The relations of `kinds` (`pg_class.relkind`: r, p, v, m, f) in schemas matching the LIKE pattern, outside
    /// PostgreSQL's own schemas, by schema and name; only those the user may SELECT from when `selectableOnly`, and
    /// without partitions (their parent stands for them) unless `includePartitions`.
    static func tables(link: PostgresLink, kinds: [String], schemaPattern: String = "%", selectableOnly: Bool,
                       includePartitions: Bool = true) throws(ConnectError) -> [PostgresTable] {
        var bindings = PostgresBindings()
        bindings.append(PostgresParameter.untyped(schemaPattern))
        bindings.append(PostgresParameter.untyped(PostgresParameter.arrayLiteral(kinds)))
        let sql = """
            SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind::text = ANY($2::text[]) AND n.nspname LIKE $1
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
              AND n.nspname NOT LIKE 'pg_temp%'\(selectableOnly ? " AND has_table_privilege(c.oid, 'SELECT')" : "")\(
                includePartitions ? "" : " AND NOT c.relispartition")
            ORDER BY 1, 2
            """
        return try link.query(PostgresQuery(unsafeSQL: sql, binds: bindings)).rows.compactMap { row -> PostgresTable? in
            guard row.count == 2, let schema = PostgresBinary.text(row[0]), let name = PostgresBinary.text(row[1]) else { return nil }
            return PostgresTable(schema: schema, name: name)
        }
    }

    /// Whether the relation named by `relation` (quoted, possibly qualified) exists.
    static func exists(_ relation: String, link: PostgresLink) throws(ConnectError) -> Bool {
        let result = try link.query(PostgresQuery(unsafeSQL: "SELECT to_regclass($1::text)::oid::int8", binds: binding(relation)))
        guard let cell = result.rows.first?.first else { return false }
        return cell != nil
    }

    /// The columns of the relation named by `relation` (quoted, possibly qualified), in order.
    static func columns(of relation: String, link: PostgresLink) throws(ConnectError) -> [PostgresColumn] {
        try PostgresColumn.columns(from: link.query(PostgresQuery(unsafeSQL: PostgresColumn.catalogQuery, binds: binding(relation))))
    }

    /// The primary key's column names of the relation, in the key's order.
    static func primaryKey(of relation: String, link: PostgresLink) throws(ConnectError) -> [String] {
        let sql = """
            SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
            WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)
            """
        return try link.query(PostgresQuery(unsafeSQL: sql, binds: binding(relation))).rows.compactMap { PostgresBinary.text($0.first ?? nil) }
    }

    private static func binding(_ text: String) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(PostgresParameter.untyped(text))
        return bindings
    }
}

/// A table: its schema and name; the JDBC source carries it in task configurations as `schema.table` with `%`, `.` and `,`
/// percent-encoded in each part.
struct PostgresTable: Sendable, Hashable {
    var schema: String
    var name: String

    var qualified: String { SQLIdentifier.quote(schema) + "." + SQLIdentifier.quote(name) }

    var encoded: String { Self.encode(schema) + "." + Self.encode(name) }

    init(schema: String, name: String) {
        self.schema = schema
        self.name = name
    }

    init?(encoded: Substring) {
        let parts = encoded.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        schema = HTTPEndpoint.percentDecoded(parts[0])
        name = HTTPEndpoint.percentDecoded(parts[1])
    }

    static func encode(_ text: String) -> String {
        text.replacing("%", with: "%25").replacing(".", with: "%2E").replacing(",", with: "%2C")
    }

    static func list(_ tables: [PostgresTable]) -> String { tables.map(\.encoded).joined(separator: ",") }

    static func parse(_ text: String) -> [PostgresTable] {
        text.split(separator: ",").compactMap { PostgresTable(encoded: $0) }
    }
}
