import NIOCore

/// A column of a table or query as PostgreSQL's catalog describes it.
struct PostgresColumn: Sendable, Hashable {
    var name: String
    /// The type's OID (a domain's base type).
    var typeOID: UInt32
    /// `atttypmod`: numeric precision and scale, -1 when not declared.
    var typeModifier: Int32
    var isNullable: Bool
    /// The element type's OID of an array type, else 0.
    var elementOID: UInt32
    /// Whether values come from a sequence or an identity (an auto-increment column).
    var isAutoIncrement = false

    /// The declared precision and scale of a numeric column's `atttypmod`; nil when none was declared.
    static func numericPrecisionScale(typeModifier: Int32) -> (precision: Int, scale: Int)? {
        guard typeModifier >= 4 else { return nil }
        let packed = Int(typeModifier) - 4
        var scale = packed & 0x7FF
        if scale & 0x400 != 0 { scale -= 0x800 }
        return ((packed >> 16) & 0xFFFF, scale)
    }

    /// The catalog query that describes the columns of the relation named by `$1` (a quoted, qualified name).
    static let catalogQuery = """
        SELECT a.attname::text, (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)::int8,
               (CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END)::int8, NOT a.attnotnull,
               COALESCE(bt.typelem, 0)::int8,
               (a.attidentity <> '' OR COALESCE(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false))
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        JOIN pg_type bt ON bt.oid = (CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END)
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
        """

    /// The columns from the rows of `catalogQuery`.
    static func columns(from result: PostgresResult) throws(ConnectError) -> [PostgresColumn] {
        try result.rows.map { row throws(ConnectError) in
            guard row.count == 6, let name = PostgresBinary.text(row[0]), let type = PostgresBinary.int64(row[1]),
                  let modifier = PostgresBinary.int64(row[2]), let nullable = PostgresBinary.boolean(row[3]),
                  let element = PostgresBinary.int64(row[4]), let serial = PostgresBinary.boolean(row[5]) else {
                throw .failed("PostgreSQL's catalog answered a column description of an unexpected shape")
            }
            return PostgresColumn(name: name, typeOID: UInt32(truncatingIfNeeded: type), typeModifier: Int32(truncatingIfNeeded: modifier),
                                  isNullable: nullable, elementOID: UInt32(truncatingIfNeeded: element), isAutoIncrement: serial)
        }
    }
}

/// PostgreSQL type OIDs the connectors read natively.
enum PostgresOID {
    static let bool: UInt32 = 16, bytea: UInt32 = 17, char: UInt32 = 18, name: UInt32 = 19, int8: UInt32 = 20
    static let int2: UInt32 = 21, int4: UInt32 = 23, text: UInt32 = 25, oid: UInt32 = 26, json: UInt32 = 114
    static let xml: UInt32 = 142, float4: UInt32 = 700, float8: UInt32 = 701, bpchar: UInt32 = 1042
    static let varchar: UInt32 = 1043, date: UInt32 = 1082, time: UInt32 = 1083, timestamp: UInt32 = 1114
    static let timestamptz: UInt32 = 1184, numeric: UInt32 = 1700, uuid: UInt32 = 2950, jsonb: UInt32 = 3802

    static let textual: Set<UInt32> = [char, name, text, json, xml, bpchar, varchar]
}

/// Decoding of PostgreSQL's binary format.
enum PostgresBinary {
    static func text(_ cell: ByteBuffer?) -> String? {
        guard var cell else { return nil }
        return cell.readString(length: cell.readableBytes)
    }

    static func int64(_ cell: ByteBuffer?) -> Int64? {
        guard var cell else { return nil }
        switch cell.readableBytes {
        case 8: return cell.readInteger(as: Int64.self)
        case 4: return cell.readInteger(as: Int32.self).map(Int64.init)
        case 2: return cell.readInteger(as: Int16.self).map(Int64.init)
        default: return nil
        }
    }

    static func boolean(_ cell: ByteBuffer?) -> Bool? {
        guard var cell, cell.readableBytes == 1 else { return nil }
        return cell.readInteger(as: UInt8.self).map { $0 != 0 }
    }

    /// The elements of a binary array (flattened when it has several dimensions), nil entries for NULLs.
    static func arrayElements(_ cell: ByteBuffer) throws(ConnectError) -> [ByteBuffer?] {
        var cell = cell
        guard let dimensions = cell.readInteger(as: Int32.self), (0...6).contains(dimensions),
              cell.readInteger(as: Int32.self) != nil, cell.readInteger(as: UInt32.self) != nil else {
            throw .data("PostgreSQL sent an array value that cannot be read")
        }
        var count = dimensions == 0 ? 0 : 1
        for _ in 0..<dimensions {
            guard let size = cell.readInteger(as: Int32.self), size >= 0, cell.readInteger(as: Int32.self) != nil else {
                throw .data("PostgreSQL sent an array value that cannot be read")
            }
            count = count.multipliedReportingOverflow(by: Int(size)).partialValue
        }
        guard count <= cell.readableBytes / 4 else { throw .data("PostgreSQL sent an array value that cannot be read") }
        var elements: [ByteBuffer?] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            guard let length = cell.readInteger(as: Int32.self) else { throw .data("PostgreSQL sent a truncated array value") }
            if length < 0 {
                elements.append(nil)
                continue
            }
            guard let element = cell.readSlice(length: Int(length)) else { throw .data("PostgreSQL sent a truncated array value") }
            elements.append(element)
        }
        return elements
    }
}
