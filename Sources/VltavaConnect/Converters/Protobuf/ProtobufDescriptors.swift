import SchemaRegistry

/// Protobuf's scalar types, by the keyword a `.proto` file writes.
enum ProtobufScalar: String, Sendable, Hashable {
    case double, float, int32, int64, uint32, uint64, sint32, sint64, fixed32, fixed64, sfixed32, sfixed64, bool, string, bytes

    var wireType: ProtobufWireType {
        switch self {
        case .double, .fixed64, .sfixed64: return .fixed64
        case .float, .fixed32, .sfixed32: return .fixed32
        case .string, .bytes: return .lengthDelimited
        default: return .varint
        }
    }

    /// The types a `map<K, V>` key may have.
    var isMapKey: Bool { ![.double, .float, .bytes].contains(self) }
}

/// What a field holds: a scalar, a message, or an enum (by full name, without the leading dot).
enum ProtobufFieldKind: Sendable, Hashable {
    case scalar(ProtobufScalar)
    case message(String)
    case enumeration(String)
}

/// A field with its type resolved.
struct ProtobufFieldDescriptor: Sendable, Hashable {
    var name: String
    var number: Int
    var kind: ProtobufFieldKind
    var isRepeated: Bool
    /// Declared `optional` (explicit presence in proto3).
    var isOptional: Bool
    var oneof: String?
    /// Confluent's `(confluent.field_meta).params` (`connect.type`, `precision`, `scale`).
    var metaParameters: [String: String]
}

/// A message with its fields resolved; map fields point to synthetic `…Entry` messages, as protoc makes them.
struct ProtobufMessageDescriptor: Sendable, Hashable {
    var fullName: String
    var name: String
    var fields: [ProtobufFieldDescriptor]
    /// The oneofs in declaration order.
    var oneofs: [String]
    var isMapEntry: Bool

    func field(named name: String) -> ProtobufFieldDescriptor? { fields.first { $0.name == name } }
}

/// An enum's values in declaration order.
struct ProtobufEnumDescriptor: Sendable, Hashable {
    var fullName: String
    var name: String
    var values: [ProtobufFileDescription.EnumValue]
}

/// Every message and enum a schema can use: its own and the well-known types Confluent's converter uses
/// (`google.protobuf.Timestamp` and wrappers, `google.type.Date`/`TimeOfDay`, `confluent.type.Decimal`). Types of
/// other imports (schema references) are not known.
struct ProtobufDescriptorPool: Sendable {
    let file: ProtobufFileDescription
    private(set) var messages: [String: ProtobufMessageDescriptor] = [:]
    private(set) var enums: [String: ProtobufEnumDescriptor] = [:]

    init(_ file: ProtobufFileDescription) throws(ConnectError) {
        self.file = file
        var names: [String: Bool] = [:]
        for known in Self.wellKnownFiles { Self.collectNames(known, into: &names) }
        Self.collectNames(file, into: &names)
        for known in Self.wellKnownFiles { try add(known, names: names) }
        try add(file, names: names)
    }

    /// The message Confluent's message indexes point to.
    func message(at indexes: [Int]) throws(ConnectError) -> ProtobufMessageDescriptor {
        var candidates = file.messages
        var fullName = file.package ?? ""
        for index in indexes {
            guard candidates.indices.contains(index) else {
                throw .data("The message indexes \(indexes) point to no message of the schema")
            }
            fullName = fullName.isEmpty ? candidates[index].name : fullName + "." + candidates[index].name
            candidates = candidates[index].messages
        }
        guard !indexes.isEmpty, let message = messages[fullName] else {
            throw .data("The message indexes \(indexes) point to no message of the schema")
        }
        return message
    }

    // MARK: Building

    private static let wellKnownTexts = [
        "syntax = \"proto3\"; package google.protobuf; message Timestamp { int64 seconds = 1; int32 nanos = 2; }",
        "syntax = \"proto3\"; package google.type; message Date { int32 year = 1; int32 month = 2; int32 day = 3; }",
        "syntax = \"proto3\"; package google.type; message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }",
        "syntax = \"proto3\"; package confluent.type; message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }",
        """
        syntax = "proto3"; package google.protobuf;
        message DoubleValue { double value = 1; } message FloatValue { float value = 1; }
        message Int64Value { int64 value = 1; } message UInt64Value { uint64 value = 1; }
        message Int32Value { int32 value = 1; } message UInt32Value { uint32 value = 1; }
        message BoolValue { bool value = 1; } message StringValue { string value = 1; } message BytesValue { bytes value = 1; }
        """,
    ]

    private static let wellKnownFiles: [ProtobufFileDescription] = wellKnownTexts.compactMap { try? ProtobufFileDescription.parse($0) }

    private static func collectNames(_ file: ProtobufFileDescription, into names: inout [String: Bool]) {
        func visit(_ message: ProtobufFileDescription.Message, scope: String) {
            let full = scope.isEmpty ? message.name : scope + "." + message.name
            names[full] = true
            for nested in message.messages { visit(nested, scope: full) }
            for nested in message.enums { names[full + "." + nested.name] = false }
        }
        let package = file.package ?? ""
        for message in file.messages { visit(message, scope: package) }
        for enumType in file.enums { names[package.isEmpty ? enumType.name : package + "." + enumType.name] = false }
    }

    private mutating func add(_ file: ProtobufFileDescription, names: [String: Bool]) throws(ConnectError) {
        let package = file.package ?? ""
        for message in file.messages { try add(message, scope: package, names: names) }
        for enumType in file.enums { addEnum(enumType, scope: package) }
    }

    private mutating func addEnum(_ enumType: ProtobufFileDescription.EnumType, scope: String) {
        let full = scope.isEmpty ? enumType.name : scope + "." + enumType.name
        enums[full] = ProtobufEnumDescriptor(fullName: full, name: enumType.name, values: enumType.values)
    }

    private mutating func add(_ message: ProtobufFileDescription.Message, scope: String, names: [String: Bool]) throws(ConnectError) {
        let full = scope.isEmpty ? message.name : scope + "." + message.name
        var fields: [ProtobufFieldDescriptor] = []
        var oneofs: [String] = []
        for field in message.fields {
            if let oneof = field.oneof, !oneofs.contains(oneof) { oneofs.append(oneof) }
            let meta = Self.metaParameters(field.options)
            if field.type.hasPrefix("map<") {
                let entryName = Self.mapEntryName(field.name)
                let parts = field.type.dropFirst(4).dropLast().split(separator: ",", maxSplits: 1)
                guard parts.count == 2, field.type.hasSuffix(">") else { throw .data("Invalid map type \(field.type) of field \(field.name)") }
                let keyType = String(String(parts[0]).trimmingSpaces), valueType = String(String(parts[1]).trimmingSpaces)
                let entryFields = [
                    ProtobufFieldDescriptor(name: "key", number: 1, kind: try Self.resolve(keyType, scope: full, names: names, field: field.name),
                                            isRepeated: false, isOptional: false, metaParameters: [:]),
                    ProtobufFieldDescriptor(name: "value", number: 2, kind: try Self.resolve(valueType, scope: full, names: names, field: field.name),
                                            isRepeated: false, isOptional: false, metaParameters: [:]),
                ]
                messages[full + "." + entryName] = ProtobufMessageDescriptor(fullName: full + "." + entryName, name: entryName,
                                                                             fields: entryFields, oneofs: [], isMapEntry: true)
                fields.append(ProtobufFieldDescriptor(name: field.name, number: field.number, kind: .message(full + "." + entryName),
                                                      isRepeated: true, isOptional: false, oneof: field.oneof, metaParameters: meta))
                continue
            }
            fields.append(ProtobufFieldDescriptor(name: field.name, number: field.number,
                                                  kind: try Self.resolve(field.type, scope: full, names: names, field: field.name),
                                                  isRepeated: field.label == "repeated", isOptional: field.label == "optional",
                                                  oneof: field.oneof, metaParameters: meta))
        }
        let isMapEntry = message.options.contains { $0.replacing(" ", with: "") == "map_entry=true" }
        messages[full] = ProtobufMessageDescriptor(fullName: full, name: message.name, fields: fields, oneofs: oneofs, isMapEntry: isMapEntry)
        for nested in message.messages { try add(nested, scope: full, names: names) }
        for nested in message.enums { addEnum(nested, scope: full) }
    }

    /// The type `type` names in `scope`: a scalar, or the innermost declaration (a leading dot: a full name).
    private static func resolve(_ type: String, scope: String, names: [String: Bool], field: String) throws(ConnectError) -> ProtobufFieldKind {
        if let scalar = ProtobufScalar(rawValue: type) { return .scalar(scalar) }
        func kind(_ full: String) -> ProtobufFieldKind? {
            names[full].map { $0 ? .message(full) : .enumeration(full) }
        }
        if type.hasPrefix(".") {
            if let found = kind(String(type.dropFirst())) { return found }
        } else {
            var current = Substring(scope)
            while true {
                if let found = kind(current.isEmpty ? type : "\(current).\(type)") { return found }
                if current.isEmpty { break }
                current = current.lastIndex(of: ".").map { current[..<$0] } ?? ""
            }
        }
        throw .data("The type \(type) of field \(field) is not defined in the schema (imports other than the well-known "
                    + "types, that is schema references, are not supported by the Protobuf converter)")
    }

    /// protoc's name for a map field's entry message: the field name in camel case, then `Entry`.
    static func mapEntryName(_ fieldName: String) -> String {
        var result = ""
        var upperNext = true
        for character in fieldName {
            if character == "_" {
                upperNext = true
            } else {
                result += upperNext ? character.uppercased() : String(character)
                upperNext = false
            }
        }
        return result + "Entry"
    }

    /// The `key`/`value` pairs of `(confluent.field_meta) = { params: [{ key: "…", value: "…" }] }` in a field's options.
    static func metaParameters(_ options: String) -> [String: String] {
        guard options.contains("confluent.field_meta") else { return [:] }
        var tokens: [(isString: Bool, text: String)] = []
        var index = options.startIndex
        while index < options.endIndex {
            let character = options[index]
            if character == "\"" || character == "'" {
                var text = ""
                var cursor = options.index(after: index)
                while cursor < options.endIndex, options[cursor] != character {
                    if options[cursor] == "\\" { cursor = options.index(after: cursor); if cursor == options.endIndex { break } }
                    text.append(options[cursor])
                    cursor = options.index(after: cursor)
                }
                tokens.append((true, text))
                index = cursor < options.endIndex ? options.index(after: cursor) : cursor
            } else if character.isLetter || character == "_" {
                var cursor = index
                while cursor < options.endIndex, options[cursor].isLetter || options[cursor].isNumber || options[cursor] == "_" {
                    cursor = options.index(after: cursor)
                }
                tokens.append((false, String(options[index..<cursor])))
                index = cursor
            } else {
                index = options.index(after: index)
            }
        }
        var result: [String: String] = [:]
        var pendingKey: String?
        var position = 0
        while position + 1 < tokens.count {
            let token = tokens[position]
            if !token.isString, token.text == "key" || token.text == "value", tokens[position + 1].isString {
                if token.text == "key" {
                    pendingKey = tokens[position + 1].text
                } else if let key = pendingKey {
                    result[key] = tokens[position + 1].text
                    pendingKey = nil
                }
                position += 2
            } else {
                position += 1
            }
        }
        return result
    }
}
