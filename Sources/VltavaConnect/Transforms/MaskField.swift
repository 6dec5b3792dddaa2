/// Kafka's `MaskField$Key`/`$Value`: replaces fields with the empty value of their type (0, false, "", empty
/// array or map) or with `replacement`, converted to the field's numeric or string type.
public struct MaskField: Transformation {
    static let purpose = "mask fields"
    public let side: RecordSide
    private var fields: Set<String> = []
    private var replacement: String?
    private var replaceNullWithDefault = true

    public init(_ side: RecordSide) { self.side = side }

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        fields = Set(try config.nonEmptyList("fields"))
        replacement = config.string("replacement")
        if replacement?.isEmpty == true { throw .config(name: "replacement", message: "String must be non-empty") }
        replaceNullWithDefault = try config.bool("replace.null.with.default", default: true)
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        let value = record.value(of: side)
        guard let schema = record.schema(of: side) else {
            var map = try Requirements.requireMap(value, purpose: Self.purpose)
            for field in fields.sorted() { map.put(field, try masked(map[stringKey: field] ?? .null, schema: nil)) }
            return record.replacing(side, schema: nil, value: .map(map))
        }
        let original = try Requirements.requireStruct(value, purpose: Self.purpose)
        var values: [ConnectValue] = []
        for field in original.schema.fields {
            let fieldValue = original.value(of: field, replaceNullWithDefault: replaceNullWithDefault)
            values.append(fields.contains(field.name) ? try masked(fieldValue, schema: field.schema) : fieldValue)
        }
        return record.replacing(side, schema: schema, value: .structure(ConnectStruct(schema: original.schema, values: values)))
    }

    private func masked(_ value: ConnectValue, schema: ConnectSchema?) throws(ConnectError) -> ConnectValue {
        if value.isNull { return .null }
        let isDecimal = schema?.name == ConnectLogical.decimalName
        guard let replacement else {
            switch value {
            case .bytes where isDecimal: return .bytes([0])
            case .array: return .array([])
            case .map: return .map([])
            case .bytes: break  // only a Decimal's bytes are masked
            default: if let zero = value.inferredType?.zeroValue { return zero }
            }
            throw .data("Cannot mask value of type: class \(value.javaTypeName)")
        }
        let unconvertible = ConnectError.data("Unable to convert \(replacement) (class java.lang.String) to number")
        switch value {
        case .int8: guard let v = Self.integer(replacement, Int8.self) else { throw unconvertible }; return .int8(v)
        case .int16: guard let v = Self.integer(replacement, Int16.self) else { throw unconvertible }; return .int16(v)
        case .int32: guard let v = Self.integer(replacement, Int32.self) else { throw unconvertible }; return .int32(v)
        case .int64: guard let v = Self.integer(replacement, Int64.self) else { throw unconvertible }; return .int64(v)
        case .float32: guard let v = Float(replacement) else { throw unconvertible }; return .float32(v)
        case .float64: guard let v = Double(replacement) else { throw unconvertible }; return .float64(v)
        case .string: return .string(replacement)
        default: throw .data("Cannot mask value of type class \(value.javaTypeName) with custom replacement.")
        }
    }

    /// An integer from a string as Kafka's `Values.convertTo…` reads one: a whole number, or a decimal truncated.
    private static func integer<T: FixedWidthInteger>(_ text: String, _: T.Type) -> T? {
        if let exact = T(text) { return exact }
        guard let double = Double(text), double.isFinite else { return nil }
        return T(exactly: double.rounded(.towardZero))
    }
}
