import VltavaClient

/// A Connect value as Java's `toString()` prints the object Kafka holds for it, which is what `StringConverter`
/// writes: numbers as Java prints them, lists as `[a, b]`, maps as `{k=v, k2=v2}`, structs as `Struct{a=1,b=2}`
/// (null fields left out), Decimal as `BigDecimal.toString`, and Date, Time and Timestamp as `java.util.Date`
/// prints itself in a JVM whose time zone is UTC (`Thu Jan 01 00:00:00 UTC 1970`).
///
/// Bytes have no such text in Kafka (Java prints an object identity, `[B@1b6d3586`); here they are written as
/// Java's `Arrays.toString` writes them (`[1, -2]`) inside other values.
enum JavaObjectText {
    static func text(_ value: ConnectValue, schema: ConnectSchema?) -> String {
        if let schema, let name = schema.name, let logical = logicalText(name: name, schema: schema, value: value) {
            return logical
        }
        switch value {
        case .null: return "null"
        case let .boolean(flag): return flag ? "true" : "false"
        case let .int8(number): return String(number)
        case let .int16(number): return String(number)
        case let .int32(number): return String(number)
        case let .int64(number): return String(number)
        case let .float32(number): return JavaNumberText.float(number)
        case let .float64(number): return JavaNumberText.double(number)
        case let .string(text): return text
        case let .bytes(bytes): return "[" + bytes.map { String(Int8(bitPattern: $0)) }.joined(separator: ", ") + "]"
        case let .array(items):
            return "[" + items.map { text($0, schema: schema?.valueSchema) }.joined(separator: ", ") + "]"
        case let .map(entries):
            return "{" + entries.map { text($0.key, schema: schema?.keySchema) + "=" + text($0.value, schema: schema?.valueSchema) }
                .joined(separator: ", ") + "}"
        case let .structure(structure):
            var parts: [String] = []
            for field in structure.schema.fields where field.index < structure.values.count {
                let fieldValue = structure.values[field.index]
                if !fieldValue.isNull { parts.append(field.name + "=" + text(fieldValue, schema: field.schema)) }
            }
            return "Struct{" + parts.joined(separator: ",") + "}"
        }
    }

    private static func logicalText(name: String, schema: ConnectSchema, value: ConnectValue) -> String? {
        switch (name, value) {
        case let (ConnectLogical.decimalName, .bytes(bytes)):
            guard let scale = schema.parameter(ConnectLogical.scaleParameter).flatMap({ Int($0) }),
                  let digits = DecimalBytes.decimalString(twosComplement: bytes) else { return nil }
            return JavaNumberText.bigDecimal(unscaled: digits, scale: scale)
        case let (ConnectLogical.dateName, .int32(days)): return utcDate(milliseconds: Int64(days) * 86_400_000)
        case let (ConnectLogical.timeName, .int32(milliseconds)): return utcDate(milliseconds: Int64(milliseconds))
        case let (ConnectLogical.timestampName, .int64(milliseconds)): return utcDate(milliseconds: milliseconds)
        default: return nil
        }
    }

    /// `java.util.Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
    static func utcDate(milliseconds: Int64) -> String {
        let (days, millisecondOfDay) = milliseconds.floorDivided(by: 86_400_000)
        let seconds = millisecondOfDay / 1000
        let (year, month, day) = CivilDate.fromDays(days)
        let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let weekday = weekdays[Int(days.floorDivided(by: 7).remainder)]
        func two(_ number: Int64) -> String { number < 10 ? "0\(number)" : "\(number)" }
        return "\(weekday) \(months[Int(month - 1)]) \(two(day)) \(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60)) UTC \(year)"
    }
}

extension Int64 {
    /// Quotient rounded toward negative infinity, and the non-negative remainder.
    func floorDivided(by divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = self / divisor, remainder = self % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}
