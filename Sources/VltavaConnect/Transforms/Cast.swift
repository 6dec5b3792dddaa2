/// Kafka's `Cast$Key`/`$Value`: casts fields (`spec=a:int32,b:string`) or the whole key/value (`spec=int64`) to
/// another primitive type; bytes cast only to string (base64).
public struct Cast: Transformation {
    static let inputTypes: [ConnectSchema.Kind] = [.int8, .int16, .int32, .int64, .float32, .float64, .boolean, .string, .bytes]
    static let outputTypes: [ConnectSchema.Kind] = [.int8, .int16, .int32, .int64, .float32, .float64, .boolean, .string]
    public let side: RecordSide
    private var casts: [String: ConnectSchema.Kind] = [:]
    private var wholeValueCastType: ConnectSchema.Kind?
    private var replaceNullWithDefault = true
    private let cache = SchemaUpdateCache()

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        let spec = try config.list("spec")
        guard !spec.isEmpty else { throw .config(name: "spec", message: "Must specify at least one field to cast.") }
        (casts, wholeValueCastType) = try Self.parseFieldTypes(spec)
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
    }

    static func parseFieldTypes(_ mappings: [String]) throws(ConnectError) -> ([String: ConnectSchema.Kind], ConnectSchema.Kind?) {
        var casts: [String: ConnectSchema.Kind] = [:]
        var whole: ConnectSchema.Kind?
        for mapping in mappings {
            let parts = mapping.javaSplit(":")
            guard parts.count <= 2 else { throw .config(name: "renames", message: "Invalid rename mapping: \(mapping)") }
            let typeName = parts[parts.count - 1].trimmingWhitespace()
            guard let type = ConnectSchema.Kind(rawValue: typeName.lowercased()) else {
                throw .config(name: "spec", message: "Invalid type found in casting spec: \(typeName)")
            }
            guard outputTypes.contains(type) else {
                throw .config(name: "spec", message: "Cast transformation does not support casting to \(type.javaName); supported types are \(javaList(outputTypes))")
            }
            if parts.count == 1 { whole = type } else { casts[parts[0].trimmingWhitespace()] = type }
        }
        if whole != nil, mappings.count > 1 {
            throw .config(name: "spec", message: "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec")
        }
        return (casts, whole)
    }

    static func javaList(_ types: [ConnectSchema.Kind]) -> String { "[" + types.map(\.javaName).joined(separator: ", ") + "]" }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        if value.isNull { return record }
        guard let schema = record.schema(of: side) else {
            if let wholeValueCastType {
                return record.replacing(side, schema: nil, value: try Self.cast(value, schema: nil, to: wholeValueCastType))
            }
            var map = try Requirements.requireMap(value, purpose: "cast types")
            let original = map
            for (field, type) in casts.sorted(by: { $0.key < $1.key }) {
                map.put(field, try Self.cast(original[stringKey: field] ?? .null, schema: nil, to: type))
            }
            return record.replacing(side, schema: nil, value: .map(map))
        }
        let updated = try cache.schema(for: schema) { () throws(ConnectError) in try updatedSchema(schema) }
        if let wholeValueCastType {
            return record.replacing(side, schema: updated, value: try Self.cast(value, schema: schema, to: wholeValueCastType))
        }
        let original = try Requirements.requireStruct(value, purpose: "cast types")
        var values: [ConnectValue] = []
        for field in original.schema.fields {
            let fieldValue = original.value(of: field, replaceNullWithDefault: replaceNullWithDefault)
            values.append(try casts[field.name].map { type throws(ConnectError) in try Self.cast(fieldValue, schema: field.schema, to: type) } ?? fieldValue)
        }
        return record.replacing(side, schema: updated, value: .structure(ConnectStruct(schema: updated, values: values)))
    }

    private func updatedSchema(_ schema: ConnectSchema) throws(ConnectError) -> ConnectSchema {
        let defaultValue = try schema.defaultValue.map { value throws(ConnectError) in
            try Self.cast(value, schema: schema, to: wholeValueCastType ?? .structure)
        }
        if let wholeValueCastType {
            return ConnectSchema(type: wholeValueCastType, isOptional: schema.isOptional, defaultValue: defaultValue,
                                 name: schema.name, doc: schema.doc, parameters: schema.parameters)
        }
        var fields: [(String, ConnectSchema)] = []
        for field in schema.fields {
            guard let type = casts[field.name] else {
                fields.append((field.name, field.schema))
                continue
            }
            let fieldDefault = try field.schema.defaultValue.map { value throws(ConnectError) in
                try Self.cast(value, schema: field.schema, to: type)
            }
            fields.append((field.name, ConnectSchema(type: type, isOptional: field.schema.isOptional, defaultValue: fieldDefault)))
        }
        return schema.structWithBasics(fields: fields, isOptional: schema.isOptional, defaultValue: defaultValue)
    }

    /// One value cast as Kafka's `castValueToType` does (Java's narrowing conversions, `Boolean.parseBoolean`,
    /// `Integer.parseInt`…). Logical Date/Time/Timestamp values cast to string print as Kafka's `Values` prints them.
    static func cast(_ value: ConnectValue, schema: ConnectSchema?, to type: ConnectSchema.Kind) throws(ConnectError) -> ConnectValue {
        if value.isNull { return .null }
        if type == .structure, case .structure = value { return value }
        guard let inferred = schema?.type ?? value.inferredType else {
            throw .data("Cast transformation was passed a value of type \(value.javaTypeName) which is not supported by Connect's data API")
        }
        guard inputTypes.contains(inferred) else {
            throw .data("Cast transformation does not support casting from \(inferred.javaName); supported types are \(javaList(inputTypes))")
        }
        let outOfRange = ConnectError.data("Value (\(value.javaString)) was out of range for requested data type")
        let unexpected = ConnectError.data("Unexpected type in Cast transformation: class \(value.javaTypeName)")
        switch type {
        case .int8, .int16, .int32, .int64:
            let long: Int64
            switch value {
            case let .string(text):
                guard let parsed = Int64(javaInteger: text) else { throw outOfRange }
                let fits: Bool
                switch type {
                case .int8: fits = Int8(exactly: parsed) != nil
                case .int16: fits = Int16(exactly: parsed) != nil
                case .int32: fits = Int32(exactly: parsed) != nil
                default: fits = true
                }
                guard fits else { throw outOfRange }
                long = parsed
            case let .boolean(flag): long = flag ? 1 : 0
            default:
                guard let number = value.javaLongValue(narrowingToInt: type != .int64) else { throw unexpected }
                long = number
            }
            switch type {
            case .int8: return .int8(Int8(truncatingIfNeeded: long))
            case .int16: return .int16(Int16(truncatingIfNeeded: long))
            case .int32: return .int32(Int32(truncatingIfNeeded: long))
            default: return .int64(long)
            }
        case .float32, .float64:
            let double: Double
            switch value {
            case let .string(text):
                guard let parsed = Double(text.trimmingWhitespace()) else { throw outOfRange }
                double = parsed
            case let .boolean(flag): double = flag ? 1 : 0
            case let .float32(float): return type == .float32 ? .float32(float) : .float64(Double(float))
            default:
                guard let number = value.doubleValue else { throw unexpected }
                double = number
            }
            return type == .float32 ? .float32(Float(double)) : .float64(double)
        case .boolean:
            switch value {
            case let .string(text): return .boolean(text.lowercased() == "true")
            case let .boolean(flag): return .boolean(flag)
            default:
                guard let number = value.javaLongValue(narrowingToInt: false) else { throw unexpected }
                return .boolean(number != 0)
            }
        case .string:
            if let name = schema?.name, let millis = ConnectValue.logicalMillis(value, schemaName: name) {
                return .string(JavaDateFormat.connectValuesFormat(millis: millis))
            }
            if case let .bytes(bytes) = value { return .string(Base64.encode(bytes)) }
            return .string(value.javaString)
        default:
            throw .data("\(type.javaName) is not supported in the Cast transformation.")
        }
    }
}

extension Int64 {
    /// Java's `Long.parseLong`: an optional sign and decimal digits, nothing else.
    init?(javaInteger text: String) {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }) else { return nil }
        self.init(text)
    }
}

extension ConnectValue {
    /// Java's `Number.longValue()` (or `intValue()`, which saturates floats at the int range) of a numeric value.
    func javaLongValue(narrowingToInt: Bool) -> Int64? {
        switch self {
        case let .int8(v): return Int64(v)
        case let .int16(v): return Int64(v)
        case let .int32(v): return Int64(v)
        case let .int64(v): return narrowingToInt ? Int64(Int32(truncatingIfNeeded: v)) : v
        case let .float32(v): return Self.saturating(Double(v), toInt: narrowingToInt)
        case let .float64(v): return Self.saturating(v, toInt: narrowingToInt)
        default: return nil
        }
    }

    private static func saturating(_ value: Double, toInt: Bool) -> Int64 {
        if value.isNaN { return 0 }
        if toInt { return Int64(Swift.max(Double(Int32.min), Swift.min(Double(Int32.max), value.rounded(.towardZero)))) }
        if value >= 9.223372036854775807e18 { return .max }
        if value <= -9.223372036854775808e18 { return .min }
        return Int64(value.rounded(.towardZero))
    }

    var doubleValue: Double? {
        switch self {
        case let .int8(v): return Double(v)
        case let .int16(v): return Double(v)
        case let .int32(v): return Double(v)
        case let .int64(v): return Double(v)
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return nil
        }
    }

    /// Java's `toString()` of a primitive value.
    var javaString: String {
        switch self {
        case .null: return "null"
        case let .boolean(v): return v ? "true" : "false"
        case let .int8(v): return String(v)
        case let .int16(v): return String(v)
        case let .int32(v): return String(v)
        case let .int64(v): return String(v)
        case let .float32(v): return JavaNumberFormat.string(Double(v), shortest: v.description)
        case let .float64(v): return JavaNumberFormat.string(v, shortest: v.description)
        case let .string(v): return v
        default: return "\(self)"
        }
    }

    /// Milliseconds since the epoch of a Date, Time or Timestamp value.
    static func logicalMillis(_ value: ConnectValue, schemaName: String) -> Int64? {
        switch (schemaName, value) {
        case (ConnectLogical.dateName, .int32(let days)): return Int64(days) * 86_400_000
        case (ConnectLogical.timeName, .int32(let millis)): return Int64(millis)
        case (ConnectLogical.timestampName, .int64(let millis)): return millis
        default: return nil
        }
    }
}

/// Java's `Double.toString`/`Float.toString`: plain notation between 10^-3 and 10^7, else `d.dddE±n`.
enum JavaNumberFormat {
    static func string(_ value: Double, shortest: String) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        let magnitude = Swift.abs(value)
        if magnitude == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        if magnitude >= 1e-3, magnitude < 1e7 { return shortest.contains(".") ? shortest : shortest + ".0" }
        let sign = value < 0 ? "-" : ""
        var mantissaDigits = shortest.filter { $0 != "-" }
        var exponent = 0
        if let e = mantissaDigits.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(mantissaDigits[mantissaDigits.index(after: e)...]) ?? 0
            mantissaDigits = String(mantissaDigits[..<e])
        }
        let parts = mantissaDigits.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0])
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var all = integerPart + fraction
        exponent += integerPart.count - 1
        while all.hasPrefix("0"), all.count > 1 { all.removeFirst(); exponent -= 1 }
        while all.hasSuffix("0"), all.count > 1 { all.removeLast() }
        let head = all.prefix(1)
        let tail = all.dropFirst()
        return "\(sign)\(head).\(tail.isEmpty ? "0" : String(tail))E\(exponent)"
    }
}

