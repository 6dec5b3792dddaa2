import NIOCore

/// Confluent's `numeric.mapping`: how NUMERIC columns become Connect types.
enum NumericMapping: String, Sendable, CaseIterable {
    /// Decimal always.
    case none
    /// Integers of the fewest bits when the scale is 0 and the precision under 19, else Decimal.
    case precisionOnly = "precision_only"
    /// As precision_only, and FLOAT64 when the scale is positive and the precision under 19.
    case bestFit = "best_fit"
    /// As best_fit, and FLOAT64 whenever the scale is positive.
    case bestFitEagerDouble = "best_fit_eager_double"
}

/// How one column of a result becomes a field of a Connect struct: its schema, the expression that selects it
/// (types read natively as they are; numeric and the types without a Connect counterpart as text), and the decoder of
/// its cells.
struct PostgresColumnReader: Sendable {
    enum Decoding: Sendable, Hashable {
        case boolean, bytes, int16, int32, int64, float32, float64, text, jsonb, uuid, date, time, timestamp
        /// Numeric read as text, to a Decimal of this scale.
        case decimal(scale: Int)
        /// Numeric read as text, to an integer of this kind or a double.
        case numericInteger(ConnectSchema.Kind), numericDouble
    }

    var column: PostgresColumn
    var schema: ConnectSchema
    var decoding: Decoding
    var isArray: Bool
    /// The select-list expression (the quoted name, cast to text where the type is read as text).
    var selectExpression: String

    init(column: PostgresColumn, numericMapping: NumericMapping) {
        self.column = column
        let quoted = SQLIdentifier.quote(column.name)
        isArray = column.elementOID != 0
        let type = isArray ? column.elementOID : column.typeOID
        let (decoding, castsToText) = Self.decoding(type: type, modifier: column.typeModifier, mapping: numericMapping)
        self.decoding = decoding
        let elementSchema = Self.schema(decoding, isOptional: isArray || column.isNullable)
        schema = isArray ? .array(of: elementSchema, isOptional: column.isNullable) : elementSchema
        selectExpression = castsToText ? "\(quoted)::text\(isArray ? "[]" : "")" : quoted
    }

    private static func decoding(type: UInt32, modifier: Int32, mapping: NumericMapping) -> (Decoding, castsToText: Bool) {
        switch type {
        case PostgresOID.bool: return (.boolean, false)
        case PostgresOID.bytea: return (.bytes, false)
        case PostgresOID.int2: return (.int16, false)
        case PostgresOID.int4: return (.int32, false)
        case PostgresOID.int8, PostgresOID.oid: return (.int64, false)
        case PostgresOID.float4: return (.float32, false)
        case PostgresOID.float8: return (.float64, false)
        case PostgresOID.jsonb: return (.jsonb, false)
        case PostgresOID.uuid: return (.uuid, false)
        case PostgresOID.date: return (.date, false)
        case PostgresOID.time: return (.time, false)
        case PostgresOID.timestamp, PostgresOID.timestamptz: return (.timestamp, false)
        case PostgresOID.numeric:
            guard let (precision, scale) = PostgresColumn.numericPrecisionScale(typeModifier: modifier) else {
                // No declared scale: no one Decimal schema fits every value; doubles for best_fit, else text.
                return ([.bestFit, .bestFitEagerDouble].contains(mapping) ? .numericDouble : .text, true)
            }
            if mapping != .none, precision < 19, scale <= 0 {
                let kind: ConnectSchema.Kind = precision > 9 ? .int64 : precision > 4 ? .int32 : precision > 2 ? .int16 : .int8
                return (.numericInteger(kind), true)
            }
            if scale > 0, mapping == .bestFitEagerDouble || (mapping == .bestFit && precision < 19) {
                return (.numericDouble, true)
            }
            return (.decimal(scale: max(0, scale)), true)
        default:
            return (.text, !PostgresOID.textual.contains(type))
        }
    }

    private static func schema(_ decoding: Decoding, isOptional: Bool) -> ConnectSchema {
        switch decoding {
        case .boolean: return ConnectSchema(type: .boolean, isOptional: isOptional)
        case .bytes: return ConnectSchema(type: .bytes, isOptional: isOptional)
        case .int16: return ConnectSchema(type: .int16, isOptional: isOptional)
        case .int32: return ConnectSchema(type: .int32, isOptional: isOptional)
        case .int64: return ConnectSchema(type: .int64, isOptional: isOptional)
        case .float32: return ConnectSchema(type: .float32, isOptional: isOptional)
        case .float64, .numericDouble: return ConnectSchema(type: .float64, isOptional: isOptional)
        case .text, .jsonb, .uuid: return ConnectSchema(type: .string, isOptional: isOptional)
        case .date: return ConnectLogical.date(isOptional: isOptional)
        case .time: return ConnectLogical.time(isOptional: isOptional)
        case .timestamp: return ConnectLogical.timestamp(isOptional: isOptional)
        case let .decimal(scale): return ConnectLogical.decimal(scale: Int32(scale), isOptional: isOptional)
        case let .numericInteger(kind): return ConnectSchema(type: kind, isOptional: isOptional)
        }
    }

    /// The Connect value of a cell.
    func value(_ cell: ByteBuffer?) throws(ConnectError) -> ConnectValue {
        guard let cell else { return .null }
        guard isArray else { return try Self.decode(cell, decoding, column: column.name) }
        return .array(try PostgresBinary.arrayElements(cell).map { element throws(ConnectError) in
            guard let element else { return .null }
            return try Self.decode(element, decoding, column: column.name)
        })
    }

    static func decode(_ cell: ByteBuffer, _ decoding: Decoding, column: String) throws(ConnectError) -> ConnectValue {
        var cell = cell
        let failure = ConnectError.data("PostgreSQL sent a value of column \(column) that cannot be read as \(decoding)")
        switch decoding {
        case .boolean:
            guard let byte = cell.readInteger(as: UInt8.self) else { throw failure }
            return .boolean(byte != 0)
        case .bytes: return .bytes(cell.readBytes(length: cell.readableBytes) ?? [])
        case .int16:
            guard let value = cell.readInteger(as: Int16.self) else { throw failure }
            return .int16(value)
        case .int32:
            guard let value = cell.readInteger(as: Int32.self) else { throw failure }
            return .int32(value)
        case .int64:
            if cell.readableBytes == 4, let value = cell.readInteger(as: UInt32.self) { return .int64(Int64(value)) }
            guard let value = cell.readInteger(as: Int64.self) else { throw failure }
            return .int64(value)
        case .float32:
            guard let bits = cell.readInteger(as: UInt32.self) else { throw failure }
            return .float32(Float(bitPattern: bits))
        case .float64:
            guard let bits = cell.readInteger(as: UInt64.self) else { throw failure }
            return .float64(Double(bitPattern: bits))
        case .text: return .string(cell.readString(length: cell.readableBytes) ?? "")
        case .jsonb:
            guard cell.readInteger(as: UInt8.self) == 1 else { throw failure }
            return .string(cell.readString(length: cell.readableBytes) ?? "")
        case .uuid:
            guard let bytes = cell.readBytes(length: 16) else { throw failure }
            return .string(uuidText(bytes))
        case .date:
            guard let days = cell.readInteger(as: Int32.self) else { throw failure }
            return .int32(days == .max || days == .min ? days : Int32(clamping: Int64(days) + PostgresParameter.postgresEpochDays))
        case .time:
            guard let micros = cell.readInteger(as: Int64.self) else { throw failure }
            return .int32(Int32(clamping: micros / 1000))
        case .timestamp:
            guard let micros = cell.readInteger(as: Int64.self) else { throw failure }
            return .int64(millis(postgresMicros: micros))
        case let .decimal(scale):
            let text = cell.readString(length: cell.readableBytes) ?? ""
            guard let digits = DecimalBytes.unscaledDigits(jsonNumber: text, scale: scale),
                  let bytes = DecimalBytes.twosComplement(decimal: Substring(digits)) else {
                throw .data("the value \(text) of column \(column) does not fit a Decimal of scale \(scale)")
            }
            return .bytes(bytes)
        case let .numericInteger(kind):
            let text = cell.readString(length: cell.readableBytes) ?? ""
            guard let value = Int64(text) else { throw .data("the value \(text) of column \(column) is not an integer") }
            switch kind {
            case .int8: return .int8(Int8(clamping: value))
            case .int16: return .int16(Int16(clamping: value))
            case .int32: return .int32(Int32(clamping: value))
            default: return .int64(value)
            }
        case .numericDouble:
            let text = cell.readString(length: cell.readableBytes) ?? ""
            guard let value = Double(text) else { throw .data("the value \(text) of column \(column) is not a number") }
            return .float64(value)
        }
    }

    /// Milliseconds since the epoch of PostgreSQL's microseconds since 2000-01-01 (infinity kept as the extremes).
    static func millis(postgresMicros micros: Int64) -> Int64 {
        if micros == .max || micros == .min { return micros }
        return CivilTime.floorDivide(micros, 1000).0 + PostgresParameter.postgresEpochMicros / 1000
    }

    static func uuidText(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789abcdef")
        var text = ""
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append("-") }
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return text
    }
}

/// SQL identifiers quoted as PostgreSQL reads them (`"a ""b"""`).
enum SQLIdentifier {
    static func quote(_ name: String) -> String {
        "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// A possibly qualified name (`schema.table`) with each part quoted.
    static func quoteQualified(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).map { quote(String($0)) }.joined(separator: ".")
    }
}
