/// A JSON document as the registry reads it: object members keep their order (Avro field order, byte-exact keys
/// of `_schemas`), numbers keep their text (so defaults and large integers are written back as they came).
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// The number's text as written, already checked against JSON's number grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a repeated name keeps its last value (as most parsers do).
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b || (Double(a) != nil && Double(a) == Double(b))
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            return zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case let .bool(value): hasher.combine(value)
        case let .number(text): hasher.combine(Double(text) ?? 0)
        case let .string(text): hasher.combine(text)
        case let .array(items): hasher.combine(items)
        case let .object(members):
            hasher.combine(members.count)
            for (name, value) in members {
                hasher.combine(name)
                hasher.combine(value)
            }
        }
    }

    /// The member named `name` of an object (the last one, if repeated).
    public subscript(name: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.last { $0.0 == name }?.1
    }

    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(items) = self { return items }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case let .object(members) = self { return members }
        return nil
    }

    /// The number as an exact integer, when it is one (no fraction or exponent, within Int64).
    public var integerValue: Int64? {
        if case let .number(text) = self { return Int64(text) }
        return nil
    }

    public var doubleValue: Double? {
        if case let .number(text) = self { return Double(text) }
        return nil
    }

    public var isObject: Bool { objectValue != nil }

    /// Compact JSON text (no spaces), strings escaped as JSON requires.
    public var serialized: String {
        var output = ""
        write(to: &output)
        return output
    }

    /// Compact JSON text; `uppercaseHex` writes control characters as Jackson does (`\u001F`, not `\u001f`).
    public func write(to output: inout String, uppercaseHex: Bool = false) {
        var bytes: [UInt8] = []
        write(to: &bytes, uppercaseHex: uppercaseHex)
        output += String(decoding: bytes, as: UTF8.self)
    }

    /// Compact JSON text as UTF-8, appended to `output`.
    public func write(to output: inout [UInt8], uppercaseHex: Bool = false) {
        switch self {
        case .null: output.append(contentsOf: JSONValue.nullBytes)
        case let .bool(value): output.append(contentsOf: value ? JSONValue.trueBytes : JSONValue.falseBytes)
        case let .number(text): output.append(contentsOf: text.utf8)
        case let .string(text): JSONValue.writeString(text, to: &output, uppercaseHex: uppercaseHex)
        case let .array(items):
            output.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                item.write(to: &output, uppercaseHex: uppercaseHex)
            }
            output.append(UInt8(ascii: "]"))
        case let .object(members):
            output.append(UInt8(ascii: "{"))
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONValue.writeString(name, to: &output, uppercaseHex: uppercaseHex)
                output.append(UInt8(ascii: ":"))
                value.write(to: &output, uppercaseHex: uppercaseHex)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)

    public static func writeString(_ text: String, to output: inout String, uppercaseHex: Bool = false) {
        var bytes: [UInt8] = []
        writeString(text, to: &bytes, uppercaseHex: uppercaseHex)
        output += String(decoding: bytes, as: UTF8.self)
    }

    /// `text` as a JSON string in UTF-8: runs that need no escape are copied whole.
    public static func writeString(_ text: String, to output: inout [UInt8], uppercaseHex: Bool = false) {
        output.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                output.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
                case 0x0A: output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(UInt8(ascii: "r"))
                case 0x09: output.append(UInt8(ascii: "t"))
                case 0x08: output.append(UInt8(ascii: "b"))
                case 0x0C: output.append(UInt8(ascii: "f"))
                default:
                    let digits = uppercaseHex ? JSONValue.upperHexDigits : JSONValue.lowerHexDigits
                    output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                               digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerHexDigits = Array("0123456789abcdef".utf8)

    public static func string(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
    public static func integer<T: BinaryInteger>(_ value: T) -> JSONValue { .number(String(value)) }
}

