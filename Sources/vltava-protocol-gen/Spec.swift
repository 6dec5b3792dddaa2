import Foundation

/// A version range of a Kafka spec: "0+", "3-7", "5" or "none".
struct VersionRange: Equatable {
    var lowest: Int
    var highest: Int

    static let none = VersionRange(lowest: 1, highest: 0)
    static let unbounded = Int(Int16.max)

    var isEmpty: Bool { lowest > highest }

    init(lowest: Int, highest: Int) {
        self.lowest = lowest
        self.highest = highest
    }

    init(parsing text: String) throws {
        let text = text.trimmingCharacters(in: .whitespaces)
        if text == "none" {
            self = .none
        } else if text.hasSuffix("+"), let low = Int(text.dropLast()) {
            self.init(lowest: low, highest: VersionRange.unbounded)
        } else if let dash = text.firstIndex(of: "-"), let low = Int(text[..<dash]),
                  let high = Int(text[text.index(after: dash)...]) {
            self.init(lowest: low, highest: high)
        } else if let single = Int(text) {
            self.init(lowest: single, highest: single)
        } else {
            throw GeneratorError.invalidSpec("bad version range '\(text)'")
        }
    }

    func intersection(_ other: VersionRange) -> VersionRange {
        let result = VersionRange(lowest: max(lowest, other.lowest), highest: min(highest, other.highest))
        return result.isEmpty ? .none : result
    }

    func contains(_ other: VersionRange) -> Bool {
        other.isEmpty || (lowest <= other.lowest && highest >= other.highest)
    }

    /// This range without `other`, which must be open-ended ("N+") as tagged versions are.
    func subtracting(_ other: VersionRange) -> VersionRange {
        if other.isEmpty { return self }
        if other.lowest <= lowest { return .none }
        return intersection(VersionRange(lowest: lowest, highest: other.lowest - 1))
    }

    /// A Swift condition on `version` that holds for the versions of this range within `context`.
    func condition(within context: VersionRange) -> String {
        let effective = intersection(context)
        if effective.isEmpty { return "false" }
        var parts: [String] = []
        if effective.lowest > context.lowest { parts.append("version >= \(effective.lowest)") }
        if effective.highest < context.highest { parts.append("version <= \(effective.highest)") }
        return parts.isEmpty ? "true" : parts.joined(separator: " && ")
    }
}

enum GeneratorError: Error, CustomStringConvertible {
    case invalidSpec(String)
    var description: String {
        switch self {
        case let .invalidSpec(message): return message
        }
    }
}

/// The primitive field types of the spec format.
enum PrimitiveType: String {
    case bool, int8, int16, uint16, int32, uint32, int64, float64, string, bytes, records, uuid

    var swiftType: String {
        switch self {
        case .bool: return "Bool"
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .uint16: return "UInt16"
        case .int32: return "Int32"
        case .uint32: return "UInt32"
        case .int64: return "Int64"
        case .float64: return "Double"
        case .string: return "String"
        case .bytes, .records: return "ByteBuffer"
        case .uuid: return "KafkaUUID"
        }
    }

    /// The fewest bytes one value takes on the wire (used to bound array counts).
    var minimumWireSize: Int {
        switch self {
        case .bool, .int8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32: return 4
        case .int64, .float64: return 8
        case .uuid: return 16
        case .string, .bytes, .records: return 1
        }
    }

    /// The method-name stem of the ByteBuffer reader and writer for fixed-width types.
    var fixedStem: String? {
        switch self {
        case .bool: return "Bool"
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .uint16: return "UInt16"
        case .int32: return "Int32"
        case .uint32: return "UInt32"
        case .int64: return "Int64"
        case .float64: return "Float64"
        case .uuid: return "UUID"
        case .string, .bytes, .records: return nil
        }
    }
}

indirect enum FieldType {
    case primitive(PrimitiveType)
    case structure(String)
    case array(FieldType)

    init(parsing text: String) {
        if text.hasPrefix("[]") {
            self = .array(FieldType(parsing: String(text.dropFirst(2))))
        } else if let primitive = PrimitiveType(rawValue: text) {
            self = .primitive(primitive)
        } else {
            self = .structure(text)
        }
    }
}

/// One field of a message or struct, as the spec declares it.
struct FieldSpec {
    var name: String
    var type: FieldType
    var versions: VersionRange
    var nullableVersions: VersionRange
    var taggedVersions: VersionRange
    var tag: Int?
    var flexibleVersionsOverride: VersionRange?
    var defaultValue: Any?
    var ignorable: Bool
    var about: String?
    /// Inline struct definition for struct and struct-array fields.
    var fields: [FieldSpec]?

    init(json: [String: Any]) throws {
        guard let name = json["name"] as? String, let type = json["type"] as? String else {
            throw GeneratorError.invalidSpec("field without name or type: \(json)")
        }
        self.name = name
        self.type = FieldType(parsing: type)
        guard let versions = json["versions"] as? String ?? json["taggedVersions"] as? String else {
            throw GeneratorError.invalidSpec("field \(name) has no versions")
        }
        self.versions = try VersionRange(parsing: versions)
        self.nullableVersions = try (json["nullableVersions"] as? String).map(VersionRange.init(parsing:)) ?? .none
        self.taggedVersions = try (json["taggedVersions"] as? String).map(VersionRange.init(parsing:)) ?? .none
        self.tag = (json["tag"] as? NSNumber)?.intValue
        self.flexibleVersionsOverride = try (json["flexibleVersions"] as? String).map(VersionRange.init(parsing:))
        self.defaultValue = json["default"]
        if let ignorable = json["ignorable"] as? Bool {
            self.ignorable = ignorable
        } else {
            self.ignorable = false
        }
        self.about = json["about"] as? String
        if let fields = json["fields"] as? [[String: Any]] {
            self.fields = try fields.map(FieldSpec.init(json:))
        }
        if tag != nil && taggedVersions.isEmpty {
            throw GeneratorError.invalidSpec("field \(name) has a tag but no taggedVersions")
        }
    }

    /// Versions in which the field is a regular (positional) field.
    var regularVersions: VersionRange { versions.subtracting(taggedVersions) }
    /// Versions in which the field is written in the tagged section.
    var tagVersions: VersionRange { tag == nil ? .none : versions.intersection(taggedVersions) }
    var isNullable: Bool { !nullableVersions.intersection(versions).isEmpty }
}

/// A struct: the message itself, an inline struct or a common struct.
struct StructSpec {
    var name: String
    var fields: [FieldSpec]
    var about: String?
}

/// One JSON spec file.
struct MessageSpec {
    var name: String
    var kind: String
    var apiKey: Int?
    var listeners: [String]
    var validVersions: VersionRange
    var flexibleVersions: VersionRange
    var fields: [FieldSpec]
    var commonStructs: [StructSpec]

    init(json: [String: Any]) throws {
        guard let name = json["name"] as? String, let kind = json["type"] as? String else {
            throw GeneratorError.invalidSpec("spec without name or type")
        }
        self.name = name
        self.kind = kind
        self.apiKey = (json["apiKey"] as? NSNumber)?.intValue
        self.listeners = json["listeners"] as? [String] ?? []
        self.validVersions = try VersionRange(parsing: json["validVersions"] as? String ?? "none")
        self.flexibleVersions = try VersionRange(parsing: json["flexibleVersions"] as? String ?? "none")
        self.fields = try (json["fields"] as? [[String: Any]] ?? []).map(FieldSpec.init(json:))
        self.commonStructs = try (json["commonStructs"] as? [[String: Any]] ?? []).map { common in
            guard let name = common["name"] as? String else { throw GeneratorError.invalidSpec("common struct without name") }
            let fields = try (common["fields"] as? [[String: Any]] ?? []).map(FieldSpec.init(json:))
            return StructSpec(name: name, fields: fields, about: nil)
        }
    }

    /// Reads a spec file: JSON with `//` line comments (outside string literals).
    static func load(path: String) throws -> MessageSpec {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let stripped = stripComments(text)
        guard let json = try JSONSerialization.jsonObject(with: Data(stripped.utf8)) as? [String: Any] else {
            throw GeneratorError.invalidSpec("\(path) is not a JSON object")
        }
        return try MessageSpec(json: json)
    }

    static func stripComments(_ text: String) -> String {
        var output = [UInt8]()
        let bytes = Array(text.utf8)
        var index = 0
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                output.append(byte)
                if byte == UInt8(ascii: "\\"), index + 1 < bytes.count {
                    output.append(bytes[index + 1])
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
                index += 1
            } else if byte == UInt8(ascii: "\"") {
                inString = true
                output.append(byte)
                index += 1
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            } else {
                output.append(byte)
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
