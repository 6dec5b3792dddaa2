/// Kafka's `TimestampConverter$Key`/`$Value`: converts a timestamp field (`field`) or the whole key/value between
/// `string` (a `format` pattern, UTC), `unix` (an int64 in `unix.precision`), `Date`, `Time` and `Timestamp`.
/// Without a schema an int64 is read as unix time and a string through `format`; Date, Time and Timestamp are
/// written as their physical values (int32 days, int32 milliseconds of the day, int64 milliseconds).
public struct TimestampConverter: Transformation {
    static let purpose = "converting timestamp formats"
    static let types = ["string", "unix", "Date", "Time", "Timestamp"]
    static let millisPerDay: Int64 = 86_400_000
    public let side: RecordSide
    private var field = ""
    private var targetType = "Timestamp"
    private var format: JavaDateFormat?
    private var unixPrecision = "milliseconds"
    private var replaceNullWithDefault = true
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        field = config.string("field", default: "") ?? ""
        targetType = try config.oneOf("target.type", Self.types)
        let pattern = config.string("format", default: "") ?? ""
        unixPrecision = try config.oneOf("unix.precision", ["nanoseconds", "microseconds", "milliseconds", "seconds"],
                                         default: "milliseconds")
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
        if targetType == "string", pattern.isEmpty {
            throw .config(name: "format", message: "TimestampConverter requires format option to be specified when using string timestamps")
        }
        do {
            format = pattern.isEmpty ? nil : try JavaDateFormat(pattern)
        } catch {
            throw .config(name: "format", message: "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: \(pattern)")
        }
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        guard let schema = record.schema(of: side) else {
            if value.isNull || field.isEmpty { return record.replacing(side, schema: nil, value: try convert(value, from: nil)) }
            var map = try Requirements.requireMap(value, purpose: Self.purpose)
            map.put(field, try convert(map[stringKey: field] ?? .null, from: nil))
            return record.replacing(side, schema: nil, value: .map(map))
        }
        if field.isEmpty {
            return record.replacing(side, schema: targetSchema(isOptional: schema.isOptional),
                                    value: try convert(value, from: try Self.type(of: schema)))
        }
        let original: ConnectStruct? = value.isNull ? nil : try Requirements.requireStruct(value, purpose: Self.purpose)
        let updated = try cache.schema(for: schema) { () throws(ConnectError) in
            let fields = schema.fields.map { ($0.name, $0.name == field ? targetSchema(isOptional: $0.schema.isOptional) : $0.schema) }
            let shape = schema.structWithBasics(fields: fields, isOptional: schema.isOptional)
            guard case let .structure(defaultValue)? = schema.defaultValue else { return shape }
            return shape.with(defaultValue: .structure(try convertStruct(defaultValue, to: shape)))
        }
        guard let original else { return record.replacing(side, schema: updated, value: .null) }
        return record.replacing(side, schema: updated, value: .structure(try convertStruct(original, to: updated)))
    }

    private func convertStruct(_ value: ConnectStruct, to schema: ConnectSchema) throws(ConnectError) -> ConnectStruct {
        var values: [ConnectValue] = []
        for field in value.schema.fields {
            let fieldValue = value.value(of: field, replaceNullWithDefault: replaceNullWithDefault)
            values.append(field.name == self.field ? try convert(fieldValue, from: try Self.type(of: field.schema)) : fieldValue)
        }
        return ConnectStruct(schema: schema, values: values)
    }

    private func targetSchema(isOptional: Bool) -> ConnectSchema {
        switch targetType {
        case "string": return isOptional ? .optionalString : .string
        case "unix": return isOptional ? .optionalInt64 : .int64
        case "Date": return ConnectLogical.date(isOptional: isOptional)
        case "Time": return ConnectLogical.time(isOptional: isOptional)
        default: return ConnectLogical.timestamp(isOptional: isOptional)
        }
    }

    static func type(of schema: ConnectSchema) throws(ConnectError) -> String {
        switch schema.name {
        case ConnectLogical.timestampName: return "Timestamp"
        case ConnectLogical.dateName: return "Date"
        case ConnectLogical.timeName: return "Time"
        default:
            if schema.type == .string { return "string" }
            if schema.type == .int64 { return "unix" }
            throw .failed("Schema \(schema) does not correspond to a known timestamp type format")
        }
    }

    private func convert(_ value: ConnectValue, from sourceType: String?) throws(ConnectError) -> ConnectValue {
        if value.isNull { return .null }
        let source: String
        if let sourceType {
            source = sourceType
        } else {
            switch value {
            case .int64: source = "unix"
            case .string: source = "string"
            default: throw .data("TimestampConverter does not support class \(value.javaTypeName) objects as timestamps")
            }
        }
        return toType(try toRaw(value, source: source))
    }

    /// Milliseconds since the epoch.
    private func toRaw(_ value: ConnectValue, source: String) throws(ConnectError) -> Int64 {
        switch (source, value) {
        case ("string", .string(let text)):
            guard let format, let millis = format.parse(text) else {
                throw .data("Could not parse timestamp: value (\(text)) does not match pattern (\(format?.pattern ?? ""))")
            }
            return millis
        case ("string", _): throw .data("Expected string timestamp to be a String, but found class \(value.javaTypeName)")
        case ("unix", .int64(let unix)):
            switch unixPrecision {
            case "seconds": return unix.multipliedReportingOverflow(by: 1000).overflow ? (unix < 0 ? .min : .max) : unix * 1000
            case "microseconds": return unix / 1000
            case "nanoseconds": return unix / 1_000_000
            default: return unix
            }
        case ("unix", _): throw .data("Expected Unix timestamp to be a Long, but found class \(value.javaTypeName)")
        case ("Date", .int32(let days)): return Int64(days) * Self.millisPerDay
        case ("Time", .int32(let millis)): return Int64(millis)
        case ("Timestamp", .int64(let millis)): return millis
        default: throw .data("Expected \(source) to be a java.util.Date, but found class \(value.javaTypeName)")
        }
    }

    private func toType(_ millis: Int64) -> ConnectValue {
        switch targetType {
        case "string": return .string(format?.format(millis: millis) ?? String(millis))
        case "unix":
            switch unixPrecision {
            case "seconds": return .int64(millis / 1000)
            case "microseconds": return .int64(Self.saturatingMultiply(millis, 1000))
            case "nanoseconds": return .int64(Self.saturatingMultiply(millis, 1_000_000))
            default: return .int64(millis)
            }
        case "Date": return .int32(Int32(truncatingIfNeeded: CivilTime.floorDivide(millis, Self.millisPerDay).0))
        case "Time": return .int32(Int32(CivilTime.floorDivide(millis, Self.millisPerDay).1))
        default: return .int64(millis)
        }
    }

    private static func saturatingMultiply(_ a: Int64, _ b: Int64) -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? (a < 0 ? .min : .max) : product
    }
}
