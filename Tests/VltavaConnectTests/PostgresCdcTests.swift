import NIOCore
import Testing
@testable import VltavaConnect

/// The CDC connector's pure parts: pgoutput's messages, PostgreSQL's text forms, Debezium's type mapping, and the
/// JDBC source's statements.
struct PostgresCdcTests {
    static func message(_ build: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        build(&buffer)
        return buffer
    }

    @Test func decodesPgOutputMessages() throws {
        let relation = Self.message { buffer in
            buffer.writeInteger(UInt8(ascii: "R"))
            buffer.writeInteger(UInt32(16385))
            buffer.writeString("public\0customers\0")
            buffer.writeInteger(UInt8(ascii: "f"))
            buffer.writeInteger(Int16(2))
            buffer.writeInteger(UInt8(1))
            buffer.writeString("id\0")
            buffer.writeInteger(UInt32(23))
            buffer.writeInteger(Int32(-1))
            buffer.writeInteger(UInt8(0))
            buffer.writeString("name\0")
            buffer.writeInteger(UInt32(25))
            buffer.writeInteger(Int32(-1))
        }
        let expected = PgOutputMessage.Relation(id: 16385, namespace: "public", name: "customers", replicaIdentity: UInt8(ascii: "f"), columns: [
            .init(name: "id", typeOID: 23, typeModifier: -1, isKey: true), .init(name: "name", typeOID: 25, typeModifier: -1, isKey: false)])
        #expect(try PgOutputMessage.decode(relation) == .relation(expected))

        let update = Self.message { buffer in
            buffer.writeInteger(UInt8(ascii: "U"))
            buffer.writeInteger(UInt32(16385))
            for (marker, values) in [(UInt8(ascii: "O"), ["1", nil]), (UInt8(ascii: "N"), ["1", "ann"])] {
                buffer.writeInteger(marker)
                buffer.writeInteger(Int16(2))
                for value in values {
                    if let value {
                        buffer.writeInteger(UInt8(ascii: "t"))
                        buffer.writeInteger(Int32(value.utf8.count))
                        buffer.writeString(value)
                    } else {
                        buffer.writeInteger(UInt8(ascii: "n"))
                    }
                }
            }
        }
        #expect(try PgOutputMessage.decode(update) == .update(relation: 16385, old: [.text("1"), .null], new: [.text("1"), .text("ann")]))

        let begin = Self.message { buffer in
            buffer.writeInteger(UInt8(ascii: "B"))
            buffer.writeInteger(UInt64(0x16_B374_D848))
            buffer.writeInteger(Int64(42))
            buffer.writeInteger(UInt32(777))
        }
        #expect(try PgOutputMessage.decode(begin) == .begin(finalLSN: 0x16_B374_D848, commitMicros: 42, xid: 777))
        // Truncated input is an error, never a crash.
        var truncated = update
        truncated.moveWriterIndex(to: truncated.writerIndex - 3)
        #expect(throws: ConnectError.self) { try PgOutputMessage.decode(truncated) }
        #expect(throws: ConnectError.self) { try PgOutputMessage.decode(ByteBuffer()) }
    }

    @Test func readsLSNs() {
        #expect(LSN.parse("16/B374D848") == 0x16_B374_D848)
        #expect(LSN.text(0x16_B374_D848) == "16/B374D848")
        #expect(LSN.parse("nope") == nil && LSN.parse("1/2/3") == nil)
    }

    @Test func readsPostgresText() {
        #expect(PostgresText.date("2022-01-08") == 19000)
        #expect(PostgresText.timeOfDayMicros("01:02:03.004") == 3_723_004_000)
        #expect(PostgresText.timestampMicros("2023-11-14 22:13:20.123456+00") == 1_700_000_000_123_456)
        #expect(PostgresText.timestampMicros("2023-11-14 23:13:20.5+01") == 1_700_000_000_500_000)
        #expect(PostgresText.timestampMicros("2023-11-14 22:13:20") == 1_700_000_000_000_000)
        #expect(PostgresText.isoInstant(micros: 1_700_000_000_120_000) == "2023-11-14T22:13:20.12Z")
        #expect(PostgresText.isoInstant(micros: 1_700_000_000_000_000) == "2023-11-14T22:13:20Z")
        #expect(PostgresText.arrayItems(#"{1,NULL,"a \"b\"","NULL"}"#) == ["1", nil, #"a "b""#, "NULL"])
        #expect(PostgresText.arrayItems("{}") == [])
        #expect(PostgresText.arrayItems("1,2") == nil)
        #expect(JdbcSourceQuery.timestampLiteral(micros: 1_700_000_000_000_005) == "2023-11-14 22:13:20.000005+00")
    }

    @Test func mapsTypesAsDebezium() throws {
        func column(_ oid: UInt32, _ modifier: Int32 = -1, mode: DebeziumColumn.TimePrecisionMode = .adaptive) -> DebeziumColumn {
            DebeziumColumn(name: "c", typeOID: oid, typeModifier: modifier, elementOID: 0, isOptional: true, timeMode: mode, decimalMode: .precise)
        }
        #expect(column(PostgresOID.timestamp).schema.name == "io.debezium.time.MicroTimestamp")
        #expect(column(PostgresOID.timestamp, 3).schema.name == "io.debezium.time.Timestamp")
        #expect(column(PostgresOID.timestamp, mode: .connect).schema.name == ConnectLogical.timestampName)
        #expect(column(PostgresOID.timestamptz).schema.name == "io.debezium.time.ZonedTimestamp")
        #expect(try column(PostgresOID.timestamptz).value("2023-11-14 22:13:20.5+00") == .string("2023-11-14T22:13:20.5Z"))
        let numeric = column(PostgresOID.numeric, Int32((10 << 16 | 2) + 4))
        #expect(numeric.schema.parameter("scale") == "2" && numeric.schema.parameter("connect.decimal.precision") == "10")
        #expect(try numeric.value("-12.34") == .bytes([0xFB, 0x2E]))
        #expect(try column(PostgresOID.bytea).value("\\x00ff") == .bytes([0x00, 0xFF]))
        #expect(throws: ConnectError.self) { try column(PostgresOID.int4).value("twelve") }
        #expect(throws: ConnectError.self) { try column(PostgresOID.bytea).value("\\x0") }
    }

    @Test func configurationsAreCheckedAsDebeziumChecksThem() throws {
        let base = ["database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "p"]
        let config = try PostgresCdcConfig(base.merging(["table.include.list": "public\\.orders.*"]) { $1 })
        #expect(config.captures(schema: "public", table: "orders_2024") && config.captures(schema: "PUBLIC", table: "ORDERS"))
        #expect(!config.captures(schema: "public", table: "customers") && !config.captures(schema: "pg_catalog", table: "orders"))
        #expect(throws: ConnectError.self) { try PostgresCdcConfig(base.merging(["plugin.name": "decoderbufs"]) { $1 }) }
        #expect(throws: ConnectError.self) { try PostgresCdcConfig(base.merging(["slot.name": "Bad-Slot"]) { $1 }) }
        #expect(throws: ConnectError.self) { try PostgresCdcConfig(base.merging(["snapshot.mode": "sometimes"]) { $1 }) }
        #expect(throws: ConnectError.self) { try PostgresCdcConfig(base.filter { $0.key != "topic.prefix" }) }
    }
}
