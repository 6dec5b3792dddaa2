/// Kafka's `InsertHeader`: adds a header whose value is `value.literal`, typed as Kafka's `Values.parseString`
/// types it (booleans, integers in the smallest type that holds them, decimals as float32 or float64, `null`, else
/// the string; Kafka's array, map and date literals stay strings here).
public struct InsertHeader: Transformation {
    private var header = ""
    private var literal = ConnectHeader(key: "", schema: nil, value: .null)

    public init() {}

    public mutating func configure(_ configs: [String: String]) throws(ConnectError) {
        let config = TransformConfig(configs)
        header = try config.requiredString("header")
        let (schema, value) = Self.parseString(try config.requiredString("value.literal"))
        literal = ConnectHeader(key: header, schema: schema, value: value)
    }

    public func apply(_ record: ConnectRecord) throws(ConnectError) -> ConnectRecord? {
        var result = record
        result.headers.append(literal)
        return result
    }

    static func parseString(_ text: String) -> (ConnectSchema?, ConnectValue) {
        if text.isEmpty { return (.string, .string("")) }
        switch text.lowercased() {
        case "null": return (nil, .null)
        case "true": return (.boolean, .boolean(true))
        case "false": return (.boolean, .boolean(false))
        default: break
        }
        if let int = Int64(text) {
            if let small = Int8(exactly: int) { return (.int8, .int8(small)) }
            if let small = Int16(exactly: int) { return (.int16, .int16(small)) }
            if let small = Int32(exactly: int) { return (.int32, .int32(small)) }
            return (.int64, .int64(int))
        }
        let isNumber = text.allSatisfy { $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) } && text.contains(".")
        if isNumber, let double = Double(text) {
            if Float(text).map(\.isFinite) == true, let float = Float(text) { return (.float32, .float32(float)) }
            if double.isFinite { return (.float64, .float64(double)) }
        }
        return (.string, .string(text))
    }
}
