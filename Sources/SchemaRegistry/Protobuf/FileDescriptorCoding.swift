#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The binary `FileDescriptorProto` form of a schema, which confluent-kafka's ProtobufSerializer registers
/// (base64) and its deserializer asks for with `format=serialized`. Only the parts the registry models are read
/// and written: package, imports, syntax, messages (fields, nested types, enums, oneofs, map entries), enums.
enum FileDescriptorCoding {
    private static let scalarTypes: [Int: String] = [
        1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32", 8: "bool",
        9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64",
    ]
    private static let scalarNumbers: [String: Int] = Dictionary(uniqueKeysWithValues: scalarTypes.map { ($1, $0) })

    // MARK: Decoding

    /// Reads base64 text as a `FileDescriptorProto`; nil when it is not base64.
    static func decode(base64 text: String) throws(RegistryError) -> ProtobufSchema? {
        let compact = text.filter { !$0.isWhitespace }
        guard !compact.isEmpty, let data = Data(base64Encoded: compact) else { return nil }
        return try decode(Array(data))
    }

    static func decode(_ bytes: [UInt8]) throws(RegistryError) -> ProtobufSchema {
        var schema = ProtobufSchema(syntax: "proto2", package: nil, imports: [], options: [], messages: [], enums: [], services: [])
        var messageBytes: [[UInt8]] = []
        for (number, value) in try fields(bytes) {
            switch (number, value) {
            case let (2, .bytes(data)): schema.package = String(decoding: data, as: UTF8.self)
            case let (3, .bytes(data)): schema.imports.append(String(decoding: data, as: UTF8.self))
            case let (4, .bytes(data)): messageBytes.append(data)
            case let (5, .bytes(data)): schema.enums.append(try decodeEnum(data))
            case let (12, .bytes(data)): schema.syntax = String(decoding: data, as: UTF8.self)
            default: continue
            }
        }
        if schema.syntax.isEmpty { schema.syntax = "proto2" }
        let prefix = schema.package.map { ".\($0)." } ?? "."
        for data in messageBytes {
            schema.messages.append(try decodeMessage(data, syntax: schema.syntax, scope: prefix, depth: 0))
        }
        return schema
    }

    private enum WireValue {
        case varint(UInt64)
        case bytes([UInt8])
        case fixed
    }

    private static func fields(_ bytes: [UInt8]) throws(RegistryError) -> [(Int, WireValue)] {
        var result: [(Int, WireValue)] = []
        var index = 0
        func varint() throws(RegistryError) -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw .invalidSchema("truncated FileDescriptorProto") }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while index < bytes.count {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: result.append((number, .varint(try varint())))
            case 1:
                guard index + 8 <= bytes.count else { throw .invalidSchema("truncated FileDescriptorProto") }
                index += 8
                result.append((number, .fixed))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count - index) else { throw .invalidSchema("truncated FileDescriptorProto") }
                result.append((number, .bytes(Array(bytes[index..<index + Int(length)]))))
                index += Int(length)
            case 5:
                guard index + 4 <= bytes.count else { throw .invalidSchema("truncated FileDescriptorProto") }
                index += 4
                result.append((number, .fixed))
            default:
                throw .invalidSchema("invalid wire type in FileDescriptorProto")
            }
        }
        return result
    }

    private static func string(_ value: WireValue) -> String? {
        if case let .bytes(data) = value { return String(decoding: data, as: UTF8.self) }
        return nil
    }

    private static func decodeEnum(_ bytes: [UInt8]) throws(RegistryError) -> ProtobufSchema.EnumType {
        var enumType = ProtobufSchema.EnumType(name: "", values: [], options: [])
        for (number, value) in try fields(bytes) {
            if number == 1, let name = string(value) { enumType.name = name }
            if number == 2, case let .bytes(data) = value {
                var name = ""
                var valueNumber = 0
                for (field, item) in try fields(data) {
                    if field == 1, let text = string(item) { name = text }
                    if field == 2, case let .varint(raw) = item { valueNumber = Int(Int32(truncatingIfNeeded: raw)) }
                }
                enumType.values.append((name, valueNumber))
            }
        }
        return enumType
    }

    private static func decodeMessage(_ bytes: [UInt8], syntax: String, scope: String, depth: Int) throws(RegistryError) -> ProtobufSchema.Message {
        guard depth < 64 else { throw .invalidSchema("messages nested deeper than 64") }
        var message = ProtobufSchema.Message(name: "")
        var fieldBytes: [[UInt8]] = []
        var nestedBytes: [[UInt8]] = []
        var oneofs: [String] = []
        for (number, value) in try fields(bytes) {
            switch (number, value) {
            case let (1, .bytes(data)): message.name = String(decoding: data, as: UTF8.self)
            case let (2, .bytes(data)): fieldBytes.append(data)
            case let (3, .bytes(data)): nestedBytes.append(data)
            case let (4, .bytes(data)): message.enums.append(try decodeEnum(data))
            case let (8, .bytes(data)): oneofs.append(try fields(data).compactMap { $0.0 == 1 ? string($0.1) : nil }.first ?? "")
            default: continue
            }
        }
        let inner = scope + message.name + "."
        // Map fields are repeated fields of a nested `XxxEntry` type marked map_entry.
        var mapEntries: [String: String] = [:]
        for data in nestedBytes {
            let nested = try decodeMessage(data, syntax: syntax, scope: inner, depth: depth + 1)
            if try isMapEntry(data), nested.fields.count == 2 {
                mapEntries[inner + nested.name] = "map<\(nested.fields[0].type), \(nested.fields[1].type)>"
            } else {
                message.messages.append(nested)
            }
        }
        for data in fieldBytes {
            var field = ProtobufSchema.Field(label: "", type: "", name: "", number: 0, options: "", oneof: nil)
            var label = 1
            var typeNumber = 0
            var typeName = ""
            var proto3Optional = false
            for (number, value) in try fields(data) {
                switch (number, value) {
                case (1, _): field.name = string(value) ?? ""
                // Varints are 64-bit: clamped, an out-of-range value stays invalid without trapping.
                case let (3, .varint(raw)): field.number = Int(clamping: raw)
                case let (4, .varint(raw)): label = Int(clamping: raw)
                case let (5, .varint(raw)): typeNumber = Int(clamping: raw)
                case (6, _): typeName = string(value) ?? ""
                case let (9, .varint(raw)): field.oneof = raw < UInt64(oneofs.count) ? oneofs[Int(raw)] : nil
                case let (17, .varint(raw)): proto3Optional = raw != 0
                default: continue
                }
            }
            if let map = mapEntries[typeName] {
                field.type = map
            } else {
                field.type = scalarTypes[typeNumber] ?? relativeName(typeName, scope: inner)
                switch label {
                case 2: field.label = "required"
                case 3: field.label = "repeated"
                default: field.label = (syntax == "proto3" && !proto3Optional) || field.oneof != nil ? "" : "optional"
                }
            }
            // A proto3 optional field sits in a synthetic oneof of its own.
            if proto3Optional {
                field.oneof = nil
                field.label = "optional"
            }
            message.fields.append(field)
        }
        return message
    }

    private static func isMapEntry(_ bytes: [UInt8]) throws(RegistryError) -> Bool {
        for (number, value) in try fields(bytes) where number == 7 {
            if case let .bytes(options) = value, try fields(options).contains(where: { $0.0 == 7 && { if case .varint(1) = $0 { return true } else { return false } }($0.1) }) {
                return true
            }
        }
        return false
    }

    /// `.pkg.Outer.Inner` written from within `.pkg.` as `Outer.Inner`; names outside the package stay full.
    private static func relativeName(_ name: String, scope: String) -> String {
        let packageScope = scope.split(separator: ".").isEmpty ? "." : scope
        var prefix = packageScope
        while !prefix.isEmpty {
            if name.hasPrefix(prefix) { return String(name.dropFirst(prefix.count)) }
            guard let cut = prefix.dropLast().lastIndex(of: ".") else { break }
            prefix = String(prefix[...cut])
        }
        return name.hasPrefix(".") ? String(name.dropFirst()) : name
    }

    // MARK: Encoding

    /// The schema as a base64 `FileDescriptorProto` named `name`.
    static func encodeBase64(_ schema: ProtobufSchema, name: String = "default") -> String {
        Data(encode(schema, name: name)).base64EncodedString()
    }

    static func encode(_ schema: ProtobufSchema, name: String) -> [UInt8] {
        var known: [String: Bool] = [:]  // full name → is a message
        let packagePrefix = schema.package.map { ".\($0)" } ?? ""
        func collect(_ message: ProtobufSchema.Message, scope: String) {
            let full = "\(scope).\(message.name)"
            known[full] = true
            for nested in message.messages { collect(nested, scope: full) }
            for nested in message.enums { known["\(full).\(nested.name)"] = false }
        }
        for message in schema.messages { collect(message, scope: packagePrefix) }
        for enumType in schema.enums { known["\(packagePrefix).\(enumType.name)"] = false }
        // Imported types (resolved dependencies), so an imported enum is written as an enum.
        for (name, isMessage) in ProtobufSymbols(schema).kinds where known[".\(name)"] == nil { known[".\(name)"] = isMessage }

        var output: [UInt8] = []
        appendString(1, name, to: &output)
        if let package = schema.package { appendString(2, package, to: &output) }
        for file in schema.imports { appendString(3, file, to: &output) }
        for message in schema.messages {
            appendBytes(4, encodeMessage(message, scope: packagePrefix, syntax: schema.syntax, known: known), to: &output)
        }
        for enumType in schema.enums { appendBytes(5, encodeEnum(enumType), to: &output) }
        appendString(12, schema.syntax, to: &output)
        return output
    }

    private static func resolve(_ type: String, scope: String, known: [String: Bool]) -> (name: String, isMessage: Bool) {
        if type.hasPrefix(".") { return (type, known[type] ?? true) }
        var candidateScope = scope
        while true {
            let candidate = "\(candidateScope).\(type)"
            if let isMessage = known[candidate] { return (candidate, isMessage) }
            guard let cut = candidateScope.lastIndex(of: ".") else { break }
            candidateScope = String(candidateScope[..<cut])
        }
        return (".\(type)", true)
    }

    private static func encodeMessage(
        _ message: ProtobufSchema.Message, scope: String, syntax: String, known: [String: Bool]
    ) -> [UInt8] {
        let full = "\(scope).\(message.name)"
        var output: [UInt8] = []
        appendString(1, message.name, to: &output)
        var oneofs: [String] = []
        for field in message.fields {
            if let oneof = field.oneof, !oneofs.contains(oneof) { oneofs.append(oneof) }
        }
        // A proto3 `optional` field is written with proto3_optional in a synthetic oneof `_name`, after the real ones.
        let isProto3Optional = { (field: ProtobufSchema.Field) in syntax == "proto3" && field.label == "optional" && field.oneof == nil }
        let syntheticOneofs = message.fields.filter(isProto3Optional).map { "_" + $0.name }
        var entries: [[UInt8]] = []
        for field in message.fields {
            var encoded: [UInt8] = []
            appendString(1, field.name, to: &encoded)
            appendVarint(3, UInt64(field.number), to: &encoded)
            if field.type.hasPrefix("map<"), let open = field.type.firstIndex(of: "<"), let comma = field.type.firstIndex(of: ","),
                let close = field.type.lastIndex(of: ">") {
                let key = field.type[field.type.index(after: open)..<comma].trimmedWhitespace
                let value = field.type[field.type.index(after: comma)..<close].trimmedWhitespace
                let entryName = field.name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Entry"
                let entry = ProtobufSchema.Message(name: entryName, fields: [
                    .init(label: "optional", type: key, name: "key", number: 1, options: "", oneof: nil),
                    .init(label: "optional", type: value, name: "value", number: 2, options: "", oneof: nil),
                ])
                var entryBytes = encodeMessage(entry, scope: full, syntax: "proto2", known: known)
                appendBytes(7, [0x38, 0x01], to: &entryBytes)  // MessageOptions.map_entry = true
                entries.append(entryBytes)
                appendVarint(4, 3, to: &encoded)
                appendVarint(5, 11, to: &encoded)
                appendString(6, "\(full).\(entryName)", to: &encoded)
            } else {
                let label: UInt64 = field.label == "repeated" ? 3 : field.label == "required" ? 2 : 1
                appendVarint(4, label, to: &encoded)
                if let scalar = scalarNumbers[field.type] {
                    appendVarint(5, UInt64(scalar), to: &encoded)
                } else {
                    let resolved = resolve(field.type, scope: full, known: known)
                    appendVarint(5, resolved.isMessage ? 11 : 14, to: &encoded)
                    appendString(6, resolved.name, to: &encoded)
                }
            }
            if let oneof = field.oneof, let index = oneofs.firstIndex(of: oneof) { appendVarint(9, UInt64(index), to: &encoded) }
            if isProto3Optional(field), let index = syntheticOneofs.firstIndex(of: "_" + field.name) {
                appendVarint(9, UInt64(oneofs.count + index), to: &encoded)
            }
            appendString(10, jsonName(field.name), to: &encoded)
            if isProto3Optional(field) { appendVarint(17, 1, to: &encoded) }
            appendBytes(2, encoded, to: &output)
        }
        for nested in message.messages { appendBytes(3, encodeMessage(nested, scope: full, syntax: syntax, known: known), to: &output) }
        for entry in entries { appendBytes(3, entry, to: &output) }
        for nested in message.enums { appendBytes(4, encodeEnum(nested), to: &output) }
        for oneof in oneofs + syntheticOneofs {
            var decl: [UInt8] = []
            appendString(1, oneof, to: &decl)
            appendBytes(8, decl, to: &output)
        }
        return output
    }

    private static func encodeEnum(_ enumType: ProtobufSchema.EnumType) -> [UInt8] {
        var output: [UInt8] = []
        appendString(1, enumType.name, to: &output)
        for value in enumType.values {
            var encoded: [UInt8] = []
            appendString(1, value.name, to: &encoded)
            appendVarint(2, UInt64(bitPattern: Int64(value.number)), to: &encoded)
            appendBytes(2, encoded, to: &output)
        }
        return output
    }

    /// protoc's JSON name: lowerCamelCase of the field name.
    private static func jsonName(_ name: String) -> String {
        var result = ""
        var upper = false
        for character in name {
            if character == "_" {
                upper = true
            } else {
                result += upper ? character.uppercased() : String(character)
                upper = false
            }
        }
        return result
    }

    private static func appendRawVarint(_ value: UInt64, to output: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            output.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        output.append(UInt8(value))
    }

    private static func appendVarint(_ number: Int, _ value: UInt64, to output: inout [UInt8]) {
        appendRawVarint(UInt64(number << 3), to: &output)
        appendRawVarint(value, to: &output)
    }

    private static func appendBytes(_ number: Int, _ bytes: [UInt8], to output: inout [UInt8]) {
        appendRawVarint(UInt64(number << 3 | 2), to: &output)
        appendRawVarint(UInt64(bytes.count), to: &output)
        output += bytes
    }

    private static func appendString(_ number: Int, _ text: String, to output: inout [UInt8]) {
        appendBytes(number, Array(text.utf8), to: &output)
    }
}
