/// A `.proto` file (proto2 or proto3) as far as the registry needs it: messages with their fields, nested
/// types, oneofs and maps, enums, imports (references), the package and options. Services are parsed and kept
/// only as text.
struct ProtobufSchema: Sendable, Hashable {
    struct Field: Hashable, Sendable {
        /// `optional`, `required`, `repeated`, or empty.
        var label: String
        /// The type as written: a scalar, a message/enum name, or `map<K, V>`.
        var type: String
        var name: String
        var number: Int
        var options: String
        /// The oneof the field belongs to, if any.
        var oneof: String?
    }

    struct EnumType: Hashable, Sendable {
        var name: String
        var values: [(name: String, number: Int)]
        var options: [String]
        /// `reserved` statements as written (numbers, ranges, quoted names).
        var reserved: [String] = []

        static func == (lhs: EnumType, rhs: EnumType) -> Bool {
            lhs.name == rhs.name && lhs.options == rhs.options && lhs.reserved == rhs.reserved
                && lhs.values.elementsEqual(rhs.values) { $0 == $1 }
        }

        func hash(into hasher: inout Hasher) { hasher.combine(name) }
    }

    struct Message: Hashable, Sendable {
        var name: String
        var fields: [Field] = []
        var messages: [Message] = []
        var enums: [EnumType] = []
        var options: [String] = []
        var reserved: [String] = []
    }

    var syntax: String
    var package: String?
    var imports: [String]
    var options: [String]
    var messages: [Message]
    var enums: [EnumType]
    var services: [String]
    /// The imported files by import path, once resolved (`resolvingImports`): referenced schemas and the
    /// bundled well-known types. Not part of the normalized form.
    var dependencies: [String: ProtobufSchema] = [:]

    /// Parses `.proto` text and checks the rules that need no imports (field numbers and names, `reserved`,
    /// enums, map keys, labels).
    static func parse(_ text: String) throws(RegistryError) -> ProtobufSchema {
        guard text.utf8.count <= 4 << 20 else { throw .invalidSchema("protobuf schema larger than 4 MiB") }
        var parser = try ProtobufParser(text: text)
        let schema = try parser.parseFile()
        try ProtobufValidation.check(schema)
        return schema
    }

    /// The schema written back in one canonical layout: comments and white space do not count, imports and
    /// options are sorted, fields are ordered by number (a oneof at its first field); messages and enums keep
    /// their order (it gives Confluent's message indexes). Two schemas with the same normalized form are the same
    /// schema when registered with `normalize=true`, which stores this form.
    var normalizedForm: String { form(sortingFields: true) }

    /// The same layout with the fields in the order they were written: what a schema is without `normalize=true`,
    /// as in Confluent's registry, where fields in another order make another schema (and a new version).
    var declaredOrderForm: String { form(sortingFields: false) }

    private func form(sortingFields: Bool) -> String {
        // `edition = "2023";` keeps its keyword: only proto2 and proto3 are syntaxes.
        let keyword = ["proto2", "proto3"].contains(syntax) ? "syntax" : "edition"
        var lines: [String] = ["\(keyword) = \"\(syntax)\";"]
        if let package { lines.append("package \(package);") }
        for file in Array(Set(imports)).sortedByBytes() { lines.append("import \"\(file)\";") }
        for option in options.sortedByBytes() { lines.append("option \(option);") }
        for message in messages { Self.write(message, indent: "", sortingFields: sortingFields, into: &lines) }
        for enumType in enums { Self.write(enumType, indent: "", into: &lines) }
        lines.append(contentsOf: services)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func write(_ message: Message, indent: String, sortingFields: Bool, into lines: inout [String]) {
        lines.append("\(indent)message \(message.name) {")
        let inner = indent + "  "
        for option in message.options.sortedByBytes() { lines.append("\(inner)option \(option);") }
        for reserved in message.reserved { lines.append("\(inner)reserved \(reserved);") }
        var writtenOneofs: Set<String> = []
        let fields = sortingFields ? message.fields.sorted { $0.number < $1.number } : message.fields
        for field in fields {
            if let oneof = field.oneof {
                guard writtenOneofs.insert(oneof).inserted else { continue }
                lines.append("\(inner)oneof \(oneof) {")
                for member in fields where member.oneof == oneof {
                    lines.append("\(inner)  \(fieldLine(member))")
                }
                lines.append("\(inner)}")
            } else {
                lines.append("\(inner)\(fieldLine(field))")
            }
        }
        for nested in message.messages { write(nested, indent: inner, sortingFields: sortingFields, into: &lines) }
        for nested in message.enums { write(nested, indent: inner, into: &lines) }
        lines.append("\(indent)}")
    }

    private static func fieldLine(_ field: Field) -> String {
        let label = field.label.isEmpty ? "" : field.label + " "
        let options = field.options.isEmpty ? "" : " [\(ProtobufValidation.sortedOptionList(field.options))]"
        return "\(label)\(field.type) \(field.name) = \(field.number)\(options);"
    }

    private static func write(_ enumType: EnumType, indent: String, into lines: inout [String]) {
        lines.append("\(indent)enum \(enumType.name) {")
        for option in enumType.options.sortedByBytes() { lines.append("\(indent)  option \(option);") }
        for reserved in enumType.reserved { lines.append("\(indent)  reserved \(reserved);") }
        for value in enumType.values { lines.append("\(indent)  \(value.name) = \(value.number);") }
        lines.append("\(indent)}")
    }

    /// Every message by its full name (package and enclosing messages), for comparison across versions.
    var messagesByFullName: [String: Message] {
        var result: [String: Message] = [:]
        func visit(_ message: Message, prefix: String) {
            let name = prefix + message.name
            result[name] = message
            for nested in message.messages { visit(nested, prefix: name + ".") }
        }
        let prefix = package.map { $0 + "." } ?? ""
        for message in messages { visit(message, prefix: prefix) }
        return result
    }
}

/// Tokens and a recursive-descent parser for `.proto` text, with bounded nesting.
struct ProtobufParser {
    enum Token: Hashable {
        case identifier(String)
        case number(String)
        case string(String)
        case symbol(Character)
    }

    private var tokens: [Token] = []
    private var position = 0
    private static let maximumDepth = 64

    init(text: String) throws(RegistryError) {
        tokens = try Self.tokenize(text)
    }

    static func tokenize(_ text: String) throws(RegistryError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func isIdentifierStart(_ scalar: Unicode.Scalar) -> Bool { scalar == "_" || (scalar.isASCII && scalar.properties.isAlphabetic) }
        func isIdentifierPart(_ scalar: Unicode.Scalar) -> Bool {
            isIdentifierStart(scalar) || ("0"..."9").contains(scalar) || scalar == "."
        }
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar.properties.isWhitespace {
                index += 1
            } else if scalar == "/", index + 1 < scalars.count, scalars[index + 1] == "/" {
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
            } else if scalar == "/", index + 1 < scalars.count, scalars[index + 1] == "*" {
                index += 2
                while index + 1 < scalars.count, !(scalars[index] == "*" && scalars[index + 1] == "/") { index += 1 }
                guard index + 1 < scalars.count else { throw .invalidSchema("unterminated comment") }
                index += 2
            } else if isIdentifierStart(scalar) || scalar == "." && index + 1 < scalars.count && isIdentifierStart(scalars[index + 1]) {
                let start = index
                index += 1
                while index < scalars.count, isIdentifierPart(scalars[index]) { index += 1 }
                tokens.append(.identifier(String(String.UnicodeScalarView(scalars[start..<index]))))
            } else if ("0"..."9").contains(scalar) || (scalar == "-" && index + 1 < scalars.count && ("0"..."9").contains(scalars[index + 1])) {
                let start = index
                index += 1
                while index < scalars.count, scalars[index].properties.isAlphabetic || ("0"..."9").contains(scalars[index])
                    || scalars[index] == "." || ((scalars[index] == "-" || scalars[index] == "+") && (scalars[index - 1] == "e" || scalars[index - 1] == "E")) {
                    index += 1
                }
                tokens.append(.number(String(String.UnicodeScalarView(scalars[start..<index]))))
            } else if scalar == "\"" || scalar == "'" {
                let quote = scalar
                var value = String.UnicodeScalarView()
                index += 1
                while index < scalars.count, scalars[index] != quote {
                    if scalars[index] == "\\", index + 1 < scalars.count {
                        value.append(scalars[index])
                        index += 1
                    }
                    if scalars[index] == "\n" { throw .invalidSchema("line break in a string") }
                    value.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { throw .invalidSchema("unterminated string") }
                index += 1
                tokens.append(.string(String(value)))
            } else {
                tokens.append(.symbol(Character(scalar)))
                index += 1
            }
        }
        return tokens
    }

    private var current: Token? { position < tokens.count ? tokens[position] : nil }

    private func unexpected(_ expected: String) -> RegistryError {
        guard let current else { return .invalidSchema("unexpected end of schema, expected \(expected)") }
        return .invalidSchema("expected \(expected) but found \(Self.text(current))")
    }

    private static func text(_ token: Token) -> String {
        switch token {
        case let .identifier(name): return name
        case let .number(text): return text
        case let .string(text): return quoted(text)
        case let .symbol(symbol): return String(symbol)
        }
    }

    /// A string token written back in double quotes: its escapes kept as they were, and a bare `"` — which a
    /// single-quoted string may hold — escaped, so that the text reads back as the same string.
    private static func quoted(_ text: String) -> String {
        var result = "\""
        var escaped = false
        for scalar in text.unicodeScalars {
            if escaped {
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                result.unicodeScalars.append("\\")
            }
            result.unicodeScalars.append(scalar)
        }
        return result + "\""
    }

    private mutating func take(_ symbol: Character) throws(RegistryError) {
        guard current == .symbol(symbol) else { throw unexpected("'\(symbol)'") }
        position += 1
    }

    private mutating func takeIf(_ symbol: Character) -> Bool {
        guard current == .symbol(symbol) else { return false }
        position += 1
        return true
    }

    private mutating func identifier() throws(RegistryError) -> String {
        guard case let .identifier(name) = current else { throw unexpected("a name") }
        position += 1
        return name
    }

    private mutating func integer() throws(RegistryError) -> Int {
        guard case let .number(text) = current else { throw unexpected("a number") }
        position += 1
        let value: Int?
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            value = Int(text.dropFirst(2), radix: 16)
        } else {
            value = Int(text)
        }
        guard let value else { throw .invalidSchema("invalid number \(text)") }
        return value
    }

    private mutating func stringLiteral() throws(RegistryError) -> String {
        guard case let .string(text) = current else { throw unexpected("a string") }
        position += 1
        return text
    }

    /// The tokens up to `terminator` at nesting level zero, written back with single spaces (option values,
    /// reserved ranges).
    private mutating func rawText(until terminators: Set<Character>) throws(RegistryError) -> String {
        var parts: [String] = []
        // The brackets opened and not yet closed: each must be closed by its own kind, so that the text, written
        // out again, ends at the same terminator (a `<` closed by `]` once made the normalized form unreadable).
        var open: [Character] = []
        let closers: [Character: Character] = ["{": "}", "[": "]", "(": ")", "<": ">"]
        while let token = current {
            if case let .symbol(symbol) = token {
                if open.isEmpty, terminators.contains(symbol) { break }
                if let closer = closers[symbol] {
                    open.append(closer)
                    guard open.count <= Self.maximumDepth else { throw .invalidSchema("options nested too deeply") }
                } else if "}])>".contains(symbol) {
                    guard open.last == symbol else { throw .invalidSchema("unbalanced '\(symbol)' in options") }
                    open.removeLast()
                }
            }
            parts.append(Self.text(token))
            position += 1
        }
        guard current != nil else { throw unexpected("one of \(terminators.map { String($0) })") }
        return parts.joined(separator: " ")
    }

    mutating func parseFile() throws(RegistryError) -> ProtobufSchema {
        var schema = ProtobufSchema(syntax: "proto2", package: nil, imports: [], options: [], messages: [], enums: [], services: [])
        var first = true
        while let token = current {
            defer { first = false }
            guard case let .identifier(keyword) = token else {
                if takeIf(";") { continue }
                throw unexpected("a declaration")
            }
            position += 1
            switch keyword {
            case "syntax", "edition":
                guard first else { throw .invalidSchema("syntax must come first") }
                try take("=")
                schema.syntax = try stringLiteral()
                guard ["proto2", "proto3"].contains(schema.syntax) || keyword == "edition" else {
                    throw .invalidSchema("unknown syntax \(schema.syntax)")
                }
                try take(";")
            case "package":
                schema.package = try identifier()
                try take(";")
            case "import":
                if case .identifier("public") = current { position += 1 } else if case .identifier("weak") = current { position += 1 }
                schema.imports.append(try stringLiteral())
                try take(";")
            case "option":
                schema.options.append(try rawText(until: [";"]))
                try take(";")
            case "message":
                schema.messages.append(try parseMessage(depth: 0))
            case "enum":
                schema.enums.append(try parseEnum())
            case "service":
                let name = try identifier()
                let start = position
                try skipBlock()
                schema.services.append("service \(name) " + tokens[start..<position].map(Self.text).joined(separator: " "))
            case "extend":
                _ = try identifier()
                try skipBlock()
            default:
                throw .invalidSchema("unexpected '\(keyword)'")
            }
        }
        return schema
    }

    private mutating func skipBlock() throws(RegistryError) {
        try take("{")
        var depth = 1
        while depth > 0 {
            guard let token = current else { throw unexpected("'}'") }
            position += 1
            if token == .symbol("{") { depth += 1 }
            if token == .symbol("}") { depth -= 1 }
        }
    }

    private mutating func parseMessage(depth: Int) throws(RegistryError) -> ProtobufSchema.Message {
        guard depth < Self.maximumDepth else { throw .invalidSchema("messages nested deeper than \(Self.maximumDepth)") }
        var message = ProtobufSchema.Message(name: try identifier())
        try take("{")
        try parseMessageBody(into: &message, oneof: nil, depth: depth)
        var numbers: Set<Int> = []
        var names: Set<String> = []
        for field in message.fields {
            guard numbers.insert(field.number).inserted else {
                throw .invalidSchema("field number \(field.number) is used twice in message \(message.name)")
            }
            guard names.insert(field.name).inserted else {
                throw .invalidSchema("field \(field.name) is declared twice in message \(message.name)")
            }
        }
        return message
    }

    private mutating func parseMessageBody(
        into message: inout ProtobufSchema.Message, oneof: String?, depth: Int
    ) throws(RegistryError) {
        while true {
            if takeIf("}") { return }
            if takeIf(";") { continue }
            guard case let .identifier(word) = current else { throw unexpected("a field or '}'") }
            switch word {
            case "message" where oneof == nil:
                position += 1
                message.messages.append(try parseMessage(depth: depth + 1))
            case "enum" where oneof == nil:
                position += 1
                message.enums.append(try parseEnum())
            case "option":
                position += 1
                message.options.append(try rawText(until: [";"]))
                try take(";")
            case "reserved", "extensions":
                position += 1
                let ranges = try rawText(until: [";"])
                // protoc wants at least one range or name; an empty statement would be written back as another.
                guard !ranges.isEmpty else { throw .invalidSchema("expected ranges or names after '\(word)'") }
                message.reserved.append((word == "extensions" ? "extensions " : "") + ranges)
                try take(";")
            case "oneof" where oneof == nil:
                position += 1
                let name = try identifier()
                try take("{")
                try parseMessageBody(into: &message, oneof: name, depth: depth + 1)
            case "extend":
                position += 1
                _ = try identifier()
                try skipBlock()
            default:
                message.fields.append(try parseField(oneof: oneof, depth: depth))
            }
        }
    }

    private mutating func parseField(oneof: String?, depth: Int) throws(RegistryError) -> ProtobufSchema.Field {
        var label = ""
        if case let .identifier(word) = current, ["optional", "required", "repeated"].contains(word) {
            label = word
            position += 1
        }
        var type = try identifier()
        if type == "map", takeIf("<") {
            let key = try identifier()
            try take(",")
            let value = try identifier()
            try take(">")
            type = "map<\(key), \(value)>"
        } else if type == "group" {
            throw .invalidSchema("groups are not supported")
        }
        let name = try identifier()
        try take("=")
        let number = try integer()
        guard (1...536_870_911).contains(number), !(19000...19999).contains(number) else {
            throw .invalidSchema("field \(name) has an invalid number \(number)")
        }
        var options = ""
        if takeIf("[") {
            options = try rawText(until: ["]"])
            try take("]")
        }
        try take(";")
        return .init(label: label, type: type, name: name, number: number, options: options, oneof: oneof)
    }

    private mutating func parseEnum() throws(RegistryError) -> ProtobufSchema.EnumType {
        var enumType = ProtobufSchema.EnumType(name: try identifier(), values: [], options: [])
        try take("{")
        while true {
            if takeIf("}") { break }
            if takeIf(";") { continue }
            let name = try identifier()
            if name == "option" {
                enumType.options.append(try rawText(until: [";"]))
            } else if name == "reserved" {
                let ranges = try rawText(until: [";"])
                guard !ranges.isEmpty else { throw .invalidSchema("expected ranges or names after 'reserved'") }
                enumType.reserved.append(ranges)
            } else {
                try take("=")
                let number = try integer()
                if takeIf("[") {
                    _ = try rawText(until: ["]"])
                    try take("]")
                }
                enumType.values.append((name, number))
            }
            try take(";")
        }
        return enumType
    }
}

extension Array where Element == String {
    /// Sorted by UTF-8 bytes: String's own order takes canonically equivalent texts as equal, which would leave
    /// their order in a normalized form to the input's.
    func sortedByBytes() -> [String] { sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
}
