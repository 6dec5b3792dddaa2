/// An Avro schema as the specification defines it. Named types (records, enums, fixed) live in
/// `AvroSchema.namedTypes` and are referred to by full name, so recursive records need no cycles of values.
struct AvroSchema: Sendable {
    indirect enum Node: Hashable, Sendable {
        case null, boolean, int, long, float, double, bytes, string
        case array(Node)
        case map(Node)
        case union([Node])
        /// A record, enum or fixed, by full name.
        case named(String)
        /// A primitive with a logical type (`{"type":"int","logicalType":"date"}`); compared as its primitive.
        case logical(Node, String)

        var primitiveName: String? {
            switch self {
            case .null: return "null"
            case .boolean: return "boolean"
            case .int: return "int"
            case .long: return "long"
            case .float: return "float"
            case .double: return "double"
            case .bytes: return "bytes"
            case .string: return "string"
            default: return nil
            }
        }

        /// The node with any logical type taken off.
        var base: Node {
            if case let .logical(node, _) = self { return node }
            return self
        }
    }

    struct Field: Hashable, Sendable {
        var name: String
        var aliases: [String]
        var type: Node
        var defaultValue: JSONValue?
        var order: String?
        var doc: String?
    }

    struct NamedType: Hashable, Sendable {
        enum Kind: Hashable, Sendable {
            case record([Field])
            case enumeration(symbols: [String], defaultSymbol: String?)
            case fixed(size: Int)
        }

        var fullName: String
        /// Aliases made full with the type's namespace.
        var aliases: [String]
        var kind: Kind
        var logicalType: String?
        var extra: [(String, JSONValue)] = []

        var shortName: String { fullName.split(separator: ".").last.map(String.init) ?? fullName }

        static func == (lhs: NamedType, rhs: NamedType) -> Bool {
            lhs.fullName == rhs.fullName && lhs.aliases == rhs.aliases && lhs.kind == rhs.kind && lhs.logicalType == rhs.logicalType
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(fullName)
            hasher.combine(kind)
        }
    }

    var root: Node
    var namedTypes: [String: NamedType]

    /// Parses schema text (JSON), resolving named types also against `referencedTypes` (named types of
    /// referenced schemas).
    static func parse(_ text: String, referencedTypes: [String: NamedType] = [:]) throws(RegistryError) -> AvroSchema {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            throw .invalidSchema("Invalid AVRO schema: \(error)")
        }
        var parser = AvroSchemaParser(namedTypes: referencedTypes)
        let root = try parser.parse(json, namespace: nil, depth: 0)
        return AvroSchema(root: root, namedTypes: parser.namedTypes)
    }
}

/// Builds an `AvroSchema` from its JSON, checking names, defaults and duplicates as Avro's Java parser does.
struct AvroSchemaParser {
    var namedTypes: [String: AvroSchema.NamedType]
    /// Bounds the total work on a hostile schema (each JSON node is visited once).
    private var nodesVisited = 0
    static let maximumNodes = 100_000

    init(namedTypes: [String: AvroSchema.NamedType]) {
        self.namedTypes = namedTypes
    }

    private static let primitives: [String: AvroSchema.Node] = [
        "null": .null, "boolean": .boolean, "int": .int, "long": .long, "float": .float, "double": .double,
        "bytes": .bytes, "string": .string,
    ]

    static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func fullName(_ name: String, namespace: String?) throws(RegistryError) -> String {
        let full = name.contains(".") || (namespace ?? "").isEmpty ? name : "\(namespace!).\(name)"
        for part in full.split(separator: ".", omittingEmptySubsequences: false) where !isValidName(part) {
            throw .invalidSchema("Illegal name: \(full)")
        }
        return full
    }

    private static func namespace(of fullName: String) -> String? {
        guard let dot = fullName.lastIndex(of: ".") else { return nil }
        return String(fullName[..<dot])
    }

    mutating func parse(_ json: JSONValue, namespace: String?, depth: Int) throws(RegistryError) -> AvroSchema.Node {
        nodesVisited += 1
        guard nodesVisited <= Self.maximumNodes else { throw .invalidSchema("schema has more than \(Self.maximumNodes) nodes") }
        guard depth < 64 else { throw .invalidSchema("schema nested deeper than 64") }
        switch json {
        case let .string(name):
            if let primitive = Self.primitives[name] { return primitive }
            if namedTypes[name] != nil { return .named(name) }
            if let namespace, !name.contains("."), namedTypes["\(namespace).\(name)"] != nil { return .named("\(namespace).\(name)") }
            throw .invalidSchema("\"\(name)\" is not a defined name. The type of the field should be a defined type or a primitive")
        case let .array(branches):
            var nodes: [AvroSchema.Node] = []
            var seen: Set<String> = []
            for branch in branches {
                let node = try parse(branch, namespace: namespace, depth: depth + 1)
                if case .union = node { throw .invalidSchema("Nested union: \(json.serialized.prefix(200))") }
                let key = unionKey(node)
                guard seen.insert(key).inserted else { throw .invalidSchema("Duplicate in union: \(key)") }
                nodes.append(node)
            }
            return .union(nodes)
        case .object:
            return try parseObject(json, namespace: namespace, depth: depth)
        default:
            throw .invalidSchema("Not a valid Avro schema: \(json.serialized.prefix(200))")
        }
    }

    /// Unions may hold one branch of each unnamed type and any number of distinctly named ones.
    private func unionKey(_ node: AvroSchema.Node) -> String {
        switch node.base {
        case let .named(name): return name
        case .array: return "array"
        case .map: return "map"
        case let base: return base.primitiveName ?? "union"
        }
    }

    private mutating func parseObject(_ json: JSONValue, namespace: String?, depth: Int) throws(RegistryError) -> AvroSchema.Node {
        guard let typeValue = json["type"] else { throw .invalidSchema("No type: \(json.serialized.prefix(200))") }
        guard case let .string(type) = typeValue else {
            // {"type": {...}} or {"type": [...]}: a schema wrapped in an object.
            return try parse(typeValue, namespace: namespace, depth: depth + 1)
        }
        let logicalType = json["logicalType"]?.stringValue
        switch type {
        case "record", "error", "enum", "fixed":
            return try parseNamed(json, type: type, namespace: namespace, depth: depth, logicalType: logicalType)
        case "array":
            guard let items = json["items"] else { throw .invalidSchema("Array has no items type") }
            return .array(try parse(items, namespace: namespace, depth: depth + 1))
        case "map":
            guard let values = json["values"] else { throw .invalidSchema("Map has no values type") }
            return .map(try parse(values, namespace: namespace, depth: depth + 1))
        default:
            let node = try parse(.string(type), namespace: namespace, depth: depth + 1)
            if let logicalType, node.primitiveName != nil, Self.isValidLogicalType(logicalType, on: node, json: json) {
                return .logical(node, logicalType)
            }
            return node
        }
    }

    /// Avro ignores a logical type that does not fit its type (the schema stays valid, the annotation is dropped).
    private static func isValidLogicalType(_ logicalType: String, on node: AvroSchema.Node, json: JSONValue) -> Bool {
        switch (logicalType, node) {
        case ("decimal", .bytes):
            guard let precision = json["precision"]?.integerValue, precision > 0 else { return false }
            let scale = json["scale"]?.integerValue ?? 0
            return scale >= 0 && scale <= precision
        case ("date", .int), ("time-millis", .int), ("time-micros", .long), ("timestamp-millis", .long),
            ("timestamp-micros", .long), ("local-timestamp-millis", .long), ("local-timestamp-micros", .long),
            ("timestamp-nanos", .long), ("local-timestamp-nanos", .long), ("uuid", .string):
            return true
        default:
            return false
        }
    }

    private mutating func parseNamed(
        _ json: JSONValue, type: String, namespace: String?, depth: Int, logicalType: String?
    ) throws(RegistryError) -> AvroSchema.Node {
        guard let name = json["name"]?.stringValue else { throw .invalidSchema("No name in schema: \(json.serialized.prefix(200))") }
        let explicitNamespace = json["namespace"]?.stringValue
        let fullName = try Self.fullName(name, namespace: explicitNamespace ?? namespace)
        if Self.primitives[fullName] != nil { throw .invalidSchema("Schemas may not be named after primitives: \(fullName)") }
        guard namedTypes[fullName] == nil else { throw .invalidSchema("Can't redefine: \(fullName)") }
        let innerNamespace = Self.namespace(of: fullName)
        var aliases: [String] = []
        for alias in json["aliases"]?.arrayValue ?? [] {
            guard let alias = alias.stringValue else { throw .invalidSchema("aliases must be strings") }
            aliases.append(try Self.fullName(alias, namespace: innerNamespace))
        }
        switch type {
        case "enum":
            guard let symbolValues = json["symbols"]?.arrayValue else { throw .invalidSchema("Enum has no symbols: \(fullName)") }
            var symbols: [String] = []
            for symbol in symbolValues {
                guard let symbol = symbol.stringValue, Self.isValidName(Substring(symbol)) else {
                    throw .invalidSchema("Illegal enum symbol in \(fullName)")
                }
                guard !symbols.contains(symbol) else { throw .invalidSchema("Duplicate enum symbol: \(symbol)") }
                symbols.append(symbol)
            }
            let defaultSymbol = json["default"]?.stringValue
            if let defaultSymbol, !symbols.contains(defaultSymbol) {
                throw .invalidSchema("The Enum Default: \(defaultSymbol) is not in the enum symbol set: \(symbols)")
            }
            namedTypes[fullName] = .init(
                fullName: fullName, aliases: aliases, kind: .enumeration(symbols: symbols, defaultSymbol: defaultSymbol),
                logicalType: logicalType)
        case "fixed":
            guard let size = json["size"]?.integerValue, size >= 0, size <= Int32.max else {
                throw .invalidSchema("Invalid or no size: \(fullName)")
            }
            namedTypes[fullName] = .init(fullName: fullName, aliases: aliases, kind: .fixed(size: Int(size)), logicalType: logicalType)
        default:
            guard let fieldValues = json["fields"]?.arrayValue else { throw .invalidSchema("Record has no fields: \(fullName)") }
            // Registered before its fields so that they may refer to it (recursive types).
            namedTypes[fullName] = .init(fullName: fullName, aliases: aliases, kind: .record([]), logicalType: logicalType)
            var fields: [AvroSchema.Field] = []
            for fieldValue in fieldValues {
                guard let fieldName = fieldValue["name"]?.stringValue, Self.isValidName(Substring(fieldName)) else {
                    throw .invalidSchema("Illegal or missing field name in \(fullName)")
                }
                guard !fields.contains(where: { $0.name == fieldName }) else {
                    throw .invalidSchema("Duplicate field \(fieldName) in record \(fullName)")
                }
                guard let fieldType = fieldValue["type"] else { throw .invalidSchema("No field type: \(fieldName)") }
                let node = try parse(fieldType, namespace: innerNamespace, depth: depth + 1)
                let defaultValue = fieldValue["default"]
                if let defaultValue, !isValid(defaultValue, for: node, depth: 0) {
                    throw .invalidSchema("Invalid default for field \(fieldName): \(defaultValue.serialized.prefix(200)) not a \(fieldType.serialized.prefix(200))")
                }
                let fieldAliases = fieldValue["aliases"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let order = fieldValue["order"]?.stringValue
                if let order, !["ascending", "descending", "ignore"].contains(order) {
                    throw .invalidSchema("Illegal sort order: \(order)")
                }
                fields.append(.init(
                    name: fieldName, aliases: fieldAliases, type: node, defaultValue: defaultValue, order: order,
                    doc: fieldValue["doc"]?.stringValue))
            }
            namedTypes[fullName]?.kind = .record(fields)
        }
        return .named(fullName)
    }

    /// Whether a default value fits its type; a union's default fits its first branch.
    func isValid(_ value: JSONValue, for node: AvroSchema.Node, depth: Int) -> Bool {
        guard depth < 64 else { return false }
        switch node {
        case .null: return value == .null
        case .boolean: return value.boolValue != nil
        case .int: return value.integerValue.map { Int64(Int32.min)...Int64(Int32.max) ~= $0 } ?? false
        case .long: return value.integerValue != nil
        case .float, .double: return value.doubleValue != nil
        case .bytes, .string: return value.stringValue != nil
        case let .logical(base, _): return isValid(value, for: base, depth: depth)
        case let .array(items):
            guard let elements = value.arrayValue else { return false }
            return elements.allSatisfy { isValid($0, for: items, depth: depth + 1) }
        case let .map(values):
            guard let members = value.objectValue else { return false }
            return members.allSatisfy { isValid($0.1, for: values, depth: depth + 1) }
        case let .union(branches):
            guard let first = branches.first else { return false }
            return isValid(value, for: first, depth: depth + 1)
        case let .named(name):
            guard let named = namedTypes[name] else { return false }
            switch named.kind {
            case let .enumeration(symbols, _): return value.stringValue.map(symbols.contains) ?? false
            case .fixed: return value.stringValue != nil
            case let .record(fields):
                guard value.isObject else { return false }
                return fields.allSatisfy { field in
                    if let member = value[field.name] { return isValid(member, for: field.type, depth: depth + 1) }
                    return field.defaultValue != nil
                }
            }
        }
    }
}

/// Avro schema checking for other modules that read Avro schemas themselves (the Datagen connector walks the JSON
/// for its generation hints, which the registry's model drops).
public enum AvroSchemaValidator {
    /// Throws the Java parser's complaint when `text` is not a valid Avro schema.
    public static func validate(_ text: String) throws(RegistryError) {
        _ = try AvroSchema.parse(text)
    }
}
