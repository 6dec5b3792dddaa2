/// Why a JSON text was refused.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// A JSON parser with bounds: nesting depth and document size are limited, so hostile input costs bounded work
/// and memory (each byte is looked at a constant number of times).
public struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let defaultMaximumDepth = 64
    /// The largest document accepted, in bytes.
    public static let defaultMaximumBytes = 16 << 20

    public static func parse(
        _ text: String, maximumDepth: Int = defaultMaximumDepth, maximumBytes: Int = defaultMaximumBytes
    ) throws(JSONParseError) -> JSONValue {
        let bytes = Array(text.utf8)
        return try parse(bytes: bytes, maximumDepth: maximumDepth, maximumBytes: maximumBytes)
    }

    public static func parse(
        bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth, maximumBytes: Int = defaultMaximumBytes
    ) throws(JSONParseError) -> JSONValue {
        guard bytes.count <= maximumBytes else {
            throw JSONParseError(message: "document larger than \(maximumBytes) bytes", offset: 0)
        }
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected text after the document") }
        return value
    }

    /// Objects up to this many members look for a repeated name by scanning them.
    static let membersScannedForRepeats = 8

    /// The value that starts at `start` (after any whitespace) and where it ends; what follows is not looked at.
    /// `depth` is the nesting the value is found at, counted against `maximumDepth` as `parse` counts it.
    public static func parseValue(
        bytes: [UInt8], from start: Int, depth: Int = 0, maximumDepth: Int = defaultMaximumDepth,
        maximumBytes: Int = defaultMaximumBytes
    ) throws(JSONParseError) -> (value: JSONValue, end: Int) {
        guard bytes.count <= maximumBytes else {
            throw JSONParseError(message: "document larger than \(maximumBytes) bytes", offset: 0)
        }
        var parser = JSONParser(bytes: bytes, maximumDepth: maximumDepth)
        parser.position = min(max(start, 0), bytes.count)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: depth)
        return (value, parser.position)
    }

    /// The index of the first byte at or after `start` that is not JSON whitespace (`bytes.count` if none).
    public static func skippingWhitespace(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return index
            }
        }
        return index
    }

    private let bytes: [UInt8]
    private let maximumDepth: Int
    private var position = 0

    private init(bytes: [UInt8], maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    private func error(_ message: String) -> JSONParseError {
        JSONParseError(message: message, offset: position)
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of document") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth)") }
            position += 1
            var members: [(String, JSONValue)] = []
            // Where each name is in `members`, once there are more than a few: a repeated name is then found without
            // a scan (no quadratic work); small objects, the usual case, are scanned and allocate no table.
            var indexes: [String: Int] = [:]
            if closesAtOnce("}") { return .object(members) }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try parseString()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipWhitespace()
                let value = try parseValue(depth: depth + 1)
                if members.count < Self.membersScannedForRepeats {
                    if let existing = members.firstIndex(where: { $0.0 == name }) {
                        members[existing].1 = value
                    } else {
                        members.append((name, value))
                    }
                } else {
                    if indexes.isEmpty {
                        for (index, member) in members.enumerated() { indexes[member.0] = index }
                    }
                    if let existing = indexes[name] {
                        members[existing].1 = value
                    } else {
                        indexes[name] = members.count
                        members.append((name, value))
                    }
                }
                if try another(closedBy: "}", in: "object") { continue }
                return .object(members)
            }
        case UInt8(ascii: "["):
            guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth)") }
            position += 1
            var items: [JSONValue] = []
            if closesAtOnce("]") { return .array(items) }
            while true {
                skipWhitespace()
                items.append(try parseValue(depth: depth + 1))
                if try another(closedBy: "]", in: "array") { continue }
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        default:
            return try parseNumber()
        }
    }

    /// Whether `close` comes next (after whitespace): an empty container, consumed.
    private mutating func closesAtOnce(_ close: Unicode.Scalar) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: close) else { return false }
        position += 1
        return true
    }

    /// After a member or an item: true when a `,` says another follows, false when `close` ends the container.
    private mutating func another(closedBy close: Unicode.Scalar, in container: String) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw error("unterminated \(container)") }
        if bytes[position] == UInt8(ascii: ",") {
            position += 1
            return true
        }
        guard bytes[position] == UInt8(ascii: close) else { throw error("expected ',' or '\(close)'") }
        position += 1
        return false
    }

    private mutating func expectLiteral(_ literal: String) throws(JSONParseError) {
        let expected = Array(literal.utf8)
        guard position + expected.count <= bytes.count, bytes[position..<position + expected.count].elementsEqual(expected) else {
            throw error("invalid literal")
        }
        position += expected.count
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = position
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.position
            while parser.position < parser.bytes.count, (0x30...0x39).contains(parser.bytes[parser.position]) { parser.position += 1 }
            return parser.position - from
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("invalid value") }
        if integerDigits > 1, bytes[position - integerDigits] == UInt8(ascii: "0") { throw error("leading zero in a number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        position += 1
        let start = position
        // The usual string has no escape: one decode of its bytes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: bytes[start..<position - 1], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in a string") }
            position += 1
        }
        guard position < bytes.count else { throw error("unterminated string") }
        // Escapes: the text so far and each run between escapes copied, escapes written as UTF-8, one decode at the end.
        var utf8 = Array(bytes[start..<position])
        var runStart = position
        while true {
            guard position < bytes.count else { throw error("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                utf8.append(contentsOf: bytes[runStart..<position])
                position += 1
                return String(decoding: utf8, as: UTF8.self)
            }
            if byte < 0x20 { throw error("control character in a string") }
            if byte != UInt8(ascii: "\\") {
                position += 1
                continue
            }
            utf8.append(contentsOf: bytes[runStart..<position])
            position += 1
            guard position < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code), position + 1 < bytes.count,
                    bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") {
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                UTF8.encode(Unicode.Scalar(code) ?? "\u{FFFD}") { utf8.append($0) }
            default:
                throw error("invalid escape")
            }
            runStart = position
        }
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            value = value * 16 + digit
            position += 1
        }
        return value
    }
}
