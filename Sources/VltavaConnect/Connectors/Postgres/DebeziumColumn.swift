/// A column as Debezium's PostgreSQL connector maps it: its Connect schema (Debezium's semantic types under
/// `time.precision.mode` adaptive, adaptive_time_microseconds or connect, and `decimal.handling.mode` precise, double
/// or string) and the value of its text form (pgoutput sends text; the snapshot selects text too).
struct DebeziumColumn: Sendable {
    enum TimePrecisionMode: String, Sendable, CaseIterable {
        case adaptive
        case adaptiveTimeMicroseconds = "adaptive_time_microseconds"
        case connect
    }

    enum DecimalMode: String, Sendable, CaseIterable { case precise, double, string }

    indirect enum Kind: Sendable, Hashable {
        case boolean, int16, int32, int64, float32, float64, string, bytes
        case decimal(scale: Int), variableDecimal, decimalDouble
        /// Days since the epoch.
        case date
        case timeMillis, timeMicros
        case timestampMillis, timestampMicros
        /// ISO-8601 text with its offset (`2023-11-14T22:13:20.123456Z`).
        case zonedTimestamp
        case array(Kind)
    }

    static let variableDecimalSchema = ConnectSchema(type: .structure, isOptional: true, name: "io.debezium.data.VariableScaleDecimal",
                                                     version: 1, doc: "Variable scaled decimal",
                                                     fields: [ConnectField(name: "scale", index: 0, schema: .int32),
                                                              ConnectField(name: "value", index: 1, schema: .bytes)])

    var name: String
    var kind: Kind
    var schema: ConnectSchema

    init(name: String, typeOID: UInt32, typeModifier: Int32, elementOID: UInt32, isOptional: Bool,
         timeMode: TimePrecisionMode, decimalMode: DecimalMode) {
        self.name = name
        if elementOID != 0 {
            let element = Self.kind(typeOID: elementOID, typeModifier: typeModifier, timeMode: timeMode, decimalMode: decimalMode)
            kind = .array(element.0)
            schema = .array(of: element.1(true), isOptional: isOptional)
        } else {
            let (kind, schema) = Self.kind(typeOID: typeOID, typeModifier: typeModifier, timeMode: timeMode, decimalMode: decimalMode)
            self.kind = kind
            self.schema = schema(isOptional)
        }
    }

    private static func kind(typeOID: UInt32, typeModifier: Int32, timeMode: TimePrecisionMode, decimalMode: DecimalMode)
        -> (Kind, (Bool) -> ConnectSchema) {
        func plain(_ kind: Kind, _ type: ConnectSchema.Kind, name: String? = nil, version: Int32? = nil) -> (Kind, (Bool) -> ConnectSchema) {
            (kind, { ConnectSchema(type: type, isOptional: $0, name: name, version: version) })
        }
        let precision = typeModifier < 0 ? 6 : Int(typeModifier)
        switch typeOID {
        case PostgresOID.bool: return plain(.boolean, .boolean)
        case PostgresOID.int2: return plain(.int16, .int16)
        case PostgresOID.int4, PostgresOID.oid: return plain(.int32, .int32)
        case PostgresOID.int8: return plain(.int64, .int64)
        case PostgresOID.float4: return plain(.float32, .float32)
        case PostgresOID.float8: return plain(.float64, .float64)
        case PostgresOID.bytea: return plain(.bytes, .bytes)
        case PostgresOID.uuid: return plain(.string, .string, name: "io.debezium.data.Uuid", version: 1)
        case PostgresOID.json, PostgresOID.jsonb: return plain(.string, .string, name: "io.debezium.data.Json", version: 1)
        case PostgresOID.numeric:
            switch decimalMode {
            case .double: return plain(.decimalDouble, .float64)
            case .string: return plain(.string, .string)
            case .precise:
                guard let (precision, scale) = PostgresColumn.numericPrecisionScale(typeModifier: typeModifier) else {
                    return (.variableDecimal, { Self.variableDecimalSchema.with(isOptional: $0) })
                }
                return (.decimal(scale: max(0, scale)), {
                    ConnectSchema(type: .bytes, isOptional: $0, name: ConnectLogical.decimalName, version: 1,
                                  parameters: [("scale", String(max(0, scale))), ("connect.decimal.precision", String(precision))])
                })
            }
        case PostgresOID.date:
            return timeMode == .connect ? (.date, { ConnectLogical.date(isOptional: $0) })
                : plain(.date, .int32, name: "io.debezium.time.Date", version: 1)
        case PostgresOID.time:
            if timeMode == .connect { return (.timeMillis, { ConnectLogical.time(isOptional: $0) }) }
            if timeMode == .adaptive && precision <= 3 { return plain(.timeMillis, .int32, name: "io.debezium.time.Time", version: 1) }
            return plain(.timeMicros, .int64, name: "io.debezium.time.MicroTime", version: 1)
        case PostgresOID.timestamp:
            if timeMode == .connect { return (.timestampMillis, { ConnectLogical.timestamp(isOptional: $0) }) }
            if precision <= 3 { return plain(.timestampMillis, .int64, name: "io.debezium.time.Timestamp", version: 1) }
            return plain(.timestampMicros, .int64, name: "io.debezium.time.MicroTimestamp", version: 1)
        case PostgresOID.timestamptz: return plain(.zonedTimestamp, .string, name: "io.debezium.time.ZonedTimestamp", version: 1)
        default: return plain(.string, .string)
        }
    }

    /// The value of a column's text form.
    func value(_ text: String?) throws(ConnectError) -> ConnectValue {
        guard let text else { return .null }
        return try Self.value(text, kind, column: name)
    }

    static func value(_ text: String, _ kind: Kind, column: String) throws(ConnectError) -> ConnectValue {
        let failure = ConnectError.data("the value \(text.prefix(100)) of column \(column) cannot be read")
        switch kind {
        case .boolean: return .boolean(text == "t" || text == "true")
        case .int16: guard let value = Int16(text) else { throw failure }; return .int16(value)
        case .int32: guard let value = Int32(text) else { throw failure }; return .int32(value)
        case .int64: guard let value = Int64(text) else { throw failure }; return .int64(value)
        case .float32: guard let value = Float(floatText(text)) else { throw failure }; return .float32(value)
        case .float64, .decimalDouble: guard let value = Double(floatText(text)) else { throw failure }; return .float64(value)
        case .string: return .string(text)
        case .bytes:
            guard text.hasPrefix("\\x"), let bytes = hexBytes(text.dropFirst(2)) else { throw failure }
            return .bytes(bytes)
        case let .decimal(scale):
            guard let digits = DecimalBytes.unscaledDigits(jsonNumber: text, scale: scale),
                  let bytes = DecimalBytes.twosComplement(decimal: Substring(digits)) else { throw failure }
            return .bytes(bytes)
        case .variableDecimal:
            let scale = text.split(separator: ".").dropFirst().first.map { $0.count } ?? 0
            guard let digits = DecimalBytes.unscaledDigits(jsonNumber: text, scale: scale),
                  let bytes = DecimalBytes.twosComplement(decimal: Substring(digits)) else { throw failure }
            return .structure(ConnectStruct(schema: variableDecimalSchema, values: [.int32(Int32(scale)), .bytes(bytes)]))
        case .date:
            guard let date = PostgresText.date(text) else { throw failure }
            return .int32(Int32(clamping: date))
        case .timeMillis:
            guard let micros = PostgresText.timeOfDayMicros(Substring(text)) else { throw failure }
            return .int32(Int32(clamping: micros / 1000))
        case .timeMicros:
            guard let micros = PostgresText.timeOfDayMicros(Substring(text)) else { throw failure }
            return .int64(micros)
        case .timestampMillis:
            guard let micros = PostgresText.timestampMicros(text) else { throw failure }
            return .int64(CivilTime.floorDivide(micros, 1000).0)
        case .timestampMicros:
            guard let micros = PostgresText.timestampMicros(text) else { throw failure }
            return .int64(micros)
        case .zonedTimestamp:
            guard let micros = PostgresText.timestampMicros(text) else { throw failure }
            return .string(PostgresText.isoInstant(micros: micros))
        case let .array(element):
            guard let items = PostgresText.arrayItems(text) else { throw failure }
            return .array(try items.map { item throws(ConnectError) in
                guard let item else { return .null }
                return try value(item, element, column: column)
            })
        }
    }

    private static func floatText(_ text: String) -> String {
        switch text {
        case "Infinity": return "inf"
        case "-Infinity": return "-inf"
        default: return text
        }
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// PostgreSQL's text output (DateStyle ISO, the session's time zone UTC) read back.
enum PostgresText {
    /// Days since the epoch of `YYYY-MM-DD`.
    static func date(_ text: String) -> Int64? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]) else { return nil }
        return CivilTime.days(year: year, month: month, day: day)
    }

    /// Microseconds of `HH:MM:SS[.ffffff]` (a zone suffix ignored).
    static func timeOfDayMicros(_ text: Substring) -> Int64? {
        let clock = text.prefix { $0 != "+" && $0 != "-" }
        let parts = clock.split(separator: ":")
        guard parts.count == 3, let hours = Int64(parts[0]), let minutes = Int64(parts[1]) else { return nil }
        let secondParts = parts[2].split(separator: ".", maxSplits: 1)
        guard let seconds = Int64(secondParts[0]) else { return nil }
        var micros = ((hours * 60 + minutes) * 60 + seconds) * 1_000_000
        if secondParts.count == 2 {
            let digits = secondParts[1].prefix(6)
            guard let fraction = Int64(digits) else { return nil }
            micros += fraction * Int64([1, 100_000, 10_000, 1000, 100, 10, 1][digits.count])
        }
        return micros
    }

    /// Microseconds since the epoch of `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]` (no offset: UTC).
    static func timestampMicros(_ text: String) -> Int64? {
        if text == "infinity" { return .max }
        if text == "-infinity" { return .min }
        let halves = text.split(separator: " ", maxSplits: 1)
        guard halves.count == 2, let days = date(String(halves[0])) else { return nil }
        let rest = halves[1]
        var offsetSeconds: Int64 = 0
        if let sign = rest.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let zone = rest[rest.index(after: sign)...].split(separator: ":")
            guard let hours = Int64(zone.first ?? ""), zone.count <= 3 else { return nil }
            let minutes = zone.count > 1 ? Int64(zone[1]) ?? 0 : 0
            offsetSeconds = (hours * 3600 + minutes * 60) * (rest[sign] == "-" ? -1 : 1)
        }
        guard let micros = timeOfDayMicros(rest) else { return nil }
        return days * 86_400_000_000 + micros - offsetSeconds * 1_000_000
    }

    /// `2023-11-14T22:13:20.123456Z`: the fraction without trailing zeros, none when whole (Java's ISO format).
    static func isoInstant(micros: Int64) -> String {
        let (text, fraction) = dateTime(micros: micros, separator: "T")
        guard fraction > 0 else { return text + "Z" }
        var digits = pad(fraction, 6)
        while digits.hasSuffix("0") { digits.removeLast() }
        return text + "." + digits + "Z"
    }

    /// `YYYY-MM-DD<separator>HH:MM:SS` of microseconds since the epoch (UTC), and the microseconds of the second.
    static func dateTime(micros: Int64, separator: String) -> (text: String, fraction: Int64) {
        let time = CivilTime(millis: CivilTime.floorDivide(micros, 1000).0)
        let text = "\(pad(time.year, 4))-\(pad(time.month, 2))-\(pad(time.day, 2))\(separator)"
            + "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2))"
        return (text, CivilTime.floorDivide(micros, 1_000_000).1)
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The items of a one-dimensional array's text form (`{1,NULL,"a \"b\""}`); nested braces are kept as items' text.
    static func arrayItems(_ text: String) -> [String?]? {
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "[" , let equals = scalars.firstIndex(of: "=") { scalars = scalars[scalars.index(after: equals)...] }
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        scalars = scalars.dropFirst().dropLast()
        var items: [String?] = []
        if scalars.isEmpty { return items }
        var current = String.UnicodeScalarView()
        var quoted = false, wasQuoted = false, escaped = false, depth = 0
        for scalar in scalars {
            if escaped {
                current.append(scalar)
                escaped = false
            } else if quoted {
                if scalar == "\\" { escaped = true } else if scalar == "\"" { quoted = false } else { current.append(scalar) }
            } else if scalar == "\"" {
                quoted = true
                wasQuoted = true
            } else if scalar == "{" {
                depth += 1
                current.append(scalar)
            } else if scalar == "}" {
                depth -= 1
                current.append(scalar)
            } else if scalar == "," && depth == 0 {
                let item = String(current)
                items.append(!wasQuoted && item == "NULL" ? nil : item)
                current = String.UnicodeScalarView()
                wasQuoted = false
            } else {
                current.append(scalar)
            }
        }
        let item = String(current)
        items.append(!wasQuoted && item == "NULL" ? nil : item)
        return items
    }
}
