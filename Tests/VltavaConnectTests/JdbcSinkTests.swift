import NIOCore
import Testing
@testable import VltavaConnect

/// The JDBC sink's pure parts: pgjdbc URLs, Confluent's `pk.mode` rows, the PostgreSQL statements and DDL, and
/// the decimal and array texts of parameters.
struct JdbcSinkTests {
    @Test func readsPgjdbcURLs() throws {
        let full = try PostgresSettings(jdbcURL: "jdbc:postgresql://db.example:6543/shop?user=u&password=p%40ss&sslmode=require",
                                        user: nil, password: nil)
        #expect(full == PostgresSettings(host: "db.example", port: 6543, database: "shop", user: "u", password: "p@ss", sslMode: "require"))
        let overridden = try PostgresSettings(jdbcURL: "jdbc:postgresql://[::1]/shop?user=u", user: "admin", password: "pw")
        #expect(overridden.host == "::1" && overridden.port == 5432 && overridden.user == "admin" && overridden.password == "pw")
        let local = try PostgresSettings(jdbcURL: "jdbc:postgresql:shop", user: "u", password: nil)
        #expect(local.host == "localhost" && local.database == "shop" && local.sslMode == "prefer")
        #expect(throws: ConnectError.self) { try PostgresSettings(jdbcURL: "jdbc:mysql://h/db", user: "u", password: nil) }
        #expect(throws: ConnectError.self) { try PostgresSettings(jdbcURL: "jdbc:postgresql://h:99999/db", user: "u", password: nil) }
        #expect(throws: ConnectError.self) { try PostgresSettings(jdbcURL: "jdbc:postgresql://h/db", user: nil, password: nil) }
        #expect(throws: ConnectError.self) { try PostgresSettings(jdbcURL: "jdbc:postgresql://h/db?sslmode=maybe", user: "u", password: nil) }
    }

    static let person = ConnectSchema.structure(name: "person", fields: [("id", .int32), ("name", .optionalString), ("age", .optionalInt32)])
    static let key = ConnectSchema.structure(name: "key", fields: [("id", .int32)])

    static func config(_ extra: [String: String]) throws -> JdbcSinkConfig {
        try JdbcSinkConfig(["connection.url": "jdbc:postgresql://h/db", "connection.user": "u"].merging(extra) { $1 })
    }

    static func record(id: Int32, name: String?) -> ConnectRecord {
        let value = ConnectStruct(schema: person, values: [.int32(id), name.map(ConnectValue.string) ?? .null, .null])
        return ConnectRecord(topic: "people", kafkaPartition: 2, keySchema: key,
                             key: .structure(ConnectStruct(schema: key, values: [.int32(id)])),
                             valueSchema: person, value: .structure(value), kafkaOffset: 41)
    }

    @Test func rowsFollowThePrimaryKeyMode() throws {
        let byKey = try JdbcSinkRowReader(config: Self.config(["pk.mode": "record_key", "insert.mode": "upsert"]))
        let row = try #require(try byKey.row(Self.record(id: 7, name: "x")))
        #expect(row.columns.map(\.name) == ["id", "name", "age"] && row.keyCount == 1)
        #expect(row.parameters == [.int32(7), .untyped("x"), nil])

        let byKafka = try JdbcSinkRowReader(config: Self.config(["pk.mode": "kafka", "fields.whitelist": "name"]))
        let kafkaRow = try #require(try byKafka.row(Self.record(id: 7, name: "x")))
        #expect(kafkaRow.columns.map(\.name) == ["__connect_topic", "__connect_partition", "__connect_offset", "name"])
        #expect(kafkaRow.parameters == [.untyped("people"), .int32(2), .int64(41), .untyped("x")])

        var tombstone = Self.record(id: 7, name: nil)
        tombstone.value = .null
        tombstone.valueSchema = nil
        #expect(try byKey.row(tombstone) == nil)
        let deleting = try JdbcSinkRowReader(config: Self.config(["pk.mode": "record_key", "delete.enabled": "true"]))
        let delete = try #require(try deleting.row(tombstone))
        #expect(delete.isDelete && delete.columns.map(\.name) == ["id"])

        var schemaless = Self.record(id: 1, name: "y")
        schemaless.valueSchema = nil
        #expect(throws: ConnectError.self) { try byKafka.row(schemaless) }
        let wrongField = try JdbcSinkRowReader(config: Self.config(["pk.mode": "record_value", "pk.fields": "nope"]))
        #expect(throws: ConnectError.self) { try wrongField.row(Self.record(id: 1, name: "y")) }
    }

    @Test func refusesConfigurationsConfluentRefuses() {
        #expect(throws: ConnectError.self) { try Self.config(["delete.enabled": "true", "pk.mode": "record_value"]) }
        #expect(throws: ConnectError.self) { try Self.config(["insert.mode": "upsert"]) }
        #expect(throws: ConnectError.self) { try Self.config(["insert.mode": "merge"]) }
        #expect(throws: ConnectError.self) { try Self.config(["batch.size": "0"]) }
        #expect(throws: ConnectError.self) { try Self.config(["auto.create": "yes"]) }
    }

    @Test func buildsPostgresStatements() throws {
        let columns = [SinkColumn(name: "id", schema: .int32, isKey: true), SinkColumn(name: "na\"me", schema: .optionalString, isKey: false)]
        #expect(JdbcSinkSQL.insert(table: "public.t", columns: columns, rows: 2, upsert: false)
            == #"INSERT INTO "public"."t" ("id","na""me") VALUES ($1,$2),($3,$4)"#)
        #expect(JdbcSinkSQL.insert(table: "t", columns: columns, rows: 1, upsert: true)
            == #"INSERT INTO "t" ("id","na""me") VALUES ($1,$2) ON CONFLICT ("id") DO UPDATE SET "na""me"=EXCLUDED."na""me""#)
        #expect(JdbcSinkSQL.insert(table: "t", columns: Array(columns.prefix(1)), rows: 1, upsert: true)
            == #"INSERT INTO "t" ("id") VALUES ($1) ON CONFLICT ("id") DO NOTHING"#)
        #expect(JdbcSinkSQL.update(table: "t", columns: columns) == #"UPDATE "t" SET "na""me"=$2 WHERE "id"=$1"#)
        #expect(JdbcSinkSQL.delete(table: "t", keys: Array(columns.prefix(1)), rows: 3) == #"DELETE FROM "t" WHERE ("id") IN (($1),($2),($3))"#)
        #expect(JdbcSinkSQL.rowsPerStatement(columnCount: 5, batchSize: 3000) == 3000)
        #expect(JdbcSinkSQL.rowsPerStatement(columnCount: 100, batchSize: 3000) == 655)

        let table = try JdbcSinkSQL.createTable(table: "t", columns: [
            SinkColumn(name: "id", schema: .int64, isKey: true),
            SinkColumn(name: "amount", schema: ConnectLogical.decimal(scale: 2, isOptional: true), isKey: false),
            SinkColumn(name: "tags", schema: .array(of: .string, isOptional: true), isKey: false),
            SinkColumn(name: "n", schema: ConnectSchema(type: .int32, defaultValue: .int32(5)), isKey: false)])
        #expect(table == "CREATE TABLE \"t\" (\n\"id\" BIGINT NOT NULL,\n\"amount\" DECIMAL NULL,\n\"tags\" TEXT[] NULL,\n"
            + "\"n\" INT DEFAULT 5 NOT NULL,\nPRIMARY KEY(\"id\"))")
        #expect(throws: ConnectError.self) {
            try JdbcSinkSQL.addColumns(table: "t", columns: [SinkColumn(name: "x", schema: .string, isKey: false)])
        }
        #expect(throws: ConnectError.self) {
            try JdbcSinkSQL.createTable(table: "t", columns: [SinkColumn(name: "m", schema: .map(keys: .string, values: .string), isKey: false)])
        }
    }

    @Test func decimalsAndArraysAsParameterText() {
        #expect(PostgresValueBinding.decimalText([0x04, 0xD2], scale: 2) == "12.34")
        #expect(PostgresValueBinding.decimalText([0xFB, 0x2E], scale: 2) == "-12.34")
        #expect(PostgresValueBinding.decimalText([0x05], scale: 3) == "0.005")
        #expect(PostgresValueBinding.decimalText([0x05], scale: -2) == "500")
        #expect(PostgresParameter.arrayLiteral(["a", nil, "b \"c\" \\"]) == #"{"a",NULL,"b \"c\" \\"}"#)
    }

    @Test func upsertsKeepTheLastRowOfEachKey() {
        let columns = [SinkColumn(name: "id", schema: .int32, isKey: true), SinkColumn(name: "v", schema: .int32, isKey: false)]
        let rows = [(1, 10), (2, 20), (1, 11)].map { SinkRow(table: "t", columns: columns, parameters: [.int32($0.0), .int32($0.1)], isDelete: false) }
        let kept = JdbcSinkTask.lastPerKey(rows[...])
        #expect(kept.map(\.parameters) == [[.int32(2), .int32(20)], [.int32(1), .int32(11)]])
    }
}
