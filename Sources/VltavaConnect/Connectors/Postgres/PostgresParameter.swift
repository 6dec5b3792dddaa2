import NIOCore
import PostgresNIO

/// A statement parameter from a Connect value. Numbers, booleans, bytes and temporal values go in PostgreSQL's
/// binary format with their own type, so the server converts them to the column's type by its assignment casts
/// (int4 into bigint, timestamptz into timestamp or date); strings and arrays go as text of no stated type, which the
/// server reads as the column's type (as pgjdbc's `stringtype=unspecified` does), so a string fills a uuid, json,
/// enum or timestamp column too.
enum PostgresParameter: PostgresDynamicTypeEncodable, Sendable, Hashable {
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    case boolean(Bool)
    case bytes([UInt8])
    /// Days since 1970-01-01.
    case date(Int32)
    /// Microseconds of the day.
    case time(Int64)
    /// Microseconds since 1970-01-01T00:00:00Z.
    case timestamp(Int64)
    /// A decimal number's text (`-12.50`).
    case numeric(String)
    /// Text whose type the server infers from where it goes.
    case untyped(String)

    static let postgresEpochDays: Int64 = 10_957
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    var psqlType: PostgresDataType {
        switch self {
        case .int16: return .int2
        case .int32: return .int4
        case .int64: return .int8
        case .float32: return .float4
        case .float64: return .float8
        case .boolean: return .bool
        case .bytes: return .bytea
        case .date: return .date
        case .time: return .time
        case .timestamp: return .timestamptz
        case .numeric: return .numeric
        case .untyped: return PostgresDataType(0)
        }
    }

    var psqlFormat: PostgresFormat {
        switch self {
        case .numeric, .untyped: return .text
        default: return .binary
        }
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        switch self {
        case let .int16(value): buffer.writeInteger(value)
        case let .int32(value): buffer.writeInteger(value)
        case let .int64(value): buffer.writeInteger(value)
        case let .float32(value): buffer.writeInteger(value.bitPattern)
        case let .float64(value): buffer.writeInteger(value.bitPattern)
        case let .boolean(value): buffer.writeInteger(UInt8(value ? 1 : 0))
        case let .bytes(value): buffer.writeBytes(value)
        case let .date(days):
            buffer.writeInteger(Int32(clamping: Int64(days) - Self.postgresEpochDays))
        case let .time(micros): buffer.writeInteger(micros)
        case let .timestamp(micros):
            let (shifted, overflow) = micros.subtractingReportingOverflow(Self.postgresEpochMicros)
            buffer.writeInteger(overflow ? Int64.min : shifted)
        case let .numeric(text), let .untyped(text): buffer.writeString(text)
        }
    }

    /// The text form of an array literal (`{1,NULL,"a \"b\""}`), elements quoted as PostgreSQL's array input reads them.
    static func arrayLiteral(_ elements: [String?]) -> String {
        var text = "{"
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            guard let element else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in element.unicodeScalars {
                if character == "\"" || character == "\\" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}
