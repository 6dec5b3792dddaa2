import SchemaRegistry
import VltavaHTTP

extension JsonSchemaData {
    /// The Connect schema of a JSON Schema document, as Confluent's `toConnectSchema` reads it. `version` (the
    /// registry's version of the schema) becomes the Connect version of the top-level schema when it has no
    /// `connect.version`. Refused, with the reason: schemas that accept any value (`true`, `{}`), `null` alone,
    /// recursive `$ref`s, `$ref`s to other documents, `not`, conditionals.
    func toConnectSchema(_ document: JSONValue, version: Int32?) throws(ConnectError) -> ConnectSchema {
        var reader = JSONSchemaReader(data: self, root: document)
        return try reader.connectSchema(document, at: "#", version: version, forceOptional: false)
    }
}

/// A Connect schema being built (Kafka's `SchemaBuilder`).
private struct SchemaDraft {
    var type: ConnectSchema.Kind
    var isOptional = false
    var name: String?
    var version: Int32?
    var doc: String?
    var parameters: [(String, String)]?
    var fields: [ConnectField] = []
    var keySchema: ConnectSchema?
    var valueSchema: ConnectSchema?

    func build(defaultValue: ConnectValue? = nil) -> ConnectSchema {
        ConnectSchema(type: type, isOptional: isOptional, defaultValue: defaultValue, name: name, version: version, doc: doc,
                      parameters: parameters, fields: fields, keySchema: keySchema, valueSchema: valueSchema)
    }
}

/// Walks a JSON Schema document, following local `$ref`s (`#`, `#/definitions/…`, `#/$defs/…`, any JSON pointer).
private struct JSONSchemaReader {
    let data: JsonSchemaData
    let root: JSONValue
    /// The `$ref`s being followed, to refuse a schema that contains itself.
    var following: [String] = []
    var depth = 0

    init(data: JsonSchemaData, root: JSONValue) {
        self.data = data
        self.root = root
    }

    mutating func connectSchema(_ node: JSONValue, at path: String, version: Int32?, forceOptional: Bool) throws(ConnectError) -> ConnectSchema {
        guard depth < 128 else { throw .data("The JSON schema is nested more than 128 levels deep at \(path)") }
        depth += 1
        defer { depth -= 1 }
        if let flag = node.boolValue {
            throw .data("The JSON schema \(flag) at \(path) accepts \(flag ? "any value" : "no value") and has no Connect type")
        }
        guard node.isObject else { throw .data("\(path) is not a JSON schema (an object)") }
        if let ref = node["$ref"] {
            guard let text = ref.stringValue else { throw .data("$ref at \(path) is not a string") }
            let target = try resolve(text, from: path)
            following.append(text)
            defer { following.removeLast() }
            return try connectSchema(target, at: text, version: version, forceOptional: forceOptional)
        }
        if let choices = (node["oneOf"] ?? node["anyOf"]) {
            return try combined(node, choices, at: path, version: version, forceOptional: forceOptional)
        }
        if let parts = node["allOf"] {
            return try allOf(node, parts, at: path, version: version, forceOptional: forceOptional)
        }
        if let types = node["type"]?.arrayValue {
            // `"type": ["string", "null"]` is a union of one schema per type, the other keywords kept on each.
            let members = node.objectValue ?? []
            let choices = types.map { type in JSONValue.object(members.map { $0.0 == "type" ? ("type", type) : $0 }) }
            return try combined(.object([]), .array(choices), at: path, version: version, forceOptional: forceOptional)
        }

        var draft: SchemaDraft
        if let symbols = node["enum"]?.arrayValue ?? node["const"].map({ [$0] }) {
            draft = Self.enumDraft(symbols)
        } else {
            draft = try typedDraft(node, at: path)
        }
        return try finish(&draft, node, at: path, version: version, forceOptional: forceOptional)
    }

    /// The draft of a schema with a single `type` (or none, read from its keywords).
    private mutating func typedDraft(_ node: JSONValue, at path: String) throws(ConnectError) -> SchemaDraft {
        let connectType = node[JsonSchemaData.connectTypeProperty]?.stringValue
        let type = node["type"]?.stringValue ?? Self.impliedType(node)
        switch type {
        case "boolean":
            return SchemaDraft(type: .boolean)
        case "integer", "number":
            guard let connectType else { return SchemaDraft(type: type == "integer" ? .int64 : .float64) }
            guard let kind = ConnectSchema.Kind(rawValue: connectType),
                  [.int8, .int16, .int32, .int64, .float32, .float64, .bytes].contains(kind) else {
                throw .data("Unsupported type \(connectType) at \(path)")
            }
            return SchemaDraft(type: kind)
        case "string":
            return SchemaDraft(type: connectType == "bytes" ? .bytes : .string)
        case "array":
            guard let items = node["items"], items.arrayValue == nil else {
                throw .data("Array schema did not specify the items type at \(path)")
            }
            let itemsPath = path + "/items"
            if connectType == "map" {
                let entry = try dereferenced(items, at: itemsPath)
                if let properties = entry["properties"], entry.isObject {
                    guard let key = properties[JsonSchemaData.keyField], let value = properties[JsonSchemaData.valueField] else {
                        throw .data("The map entry schema at \(itemsPath) needs key and value properties")
                    }
                    var draft = SchemaDraft(type: .map)
                    draft.keySchema = try connectSchema(key, at: itemsPath + "/properties/key", version: nil, forceOptional: false)
                    draft.valueSchema = try connectSchema(value, at: itemsPath + "/properties/value", version: nil, forceOptional: false)
                    return draft
                }
            }
            var draft = SchemaDraft(type: .array)
            draft.valueSchema = try connectSchema(items, at: itemsPath, version: nil, forceOptional: false)
            return draft
        case "object":
            if connectType == "map" {
                guard let values = node["additionalProperties"] else {
                    throw .data("The map schema at \(path) does not give its values' schema (additionalProperties)")
                }
                var draft = SchemaDraft(type: .map)
                draft.keySchema = .string
                draft.valueSchema = try connectSchema(values, at: path + "/additionalProperties", version: nil, forceOptional: false)
                return draft
            }
            var draft = SchemaDraft(type: .structure)
            draft.fields = try structFields(properties: node["properties"]?.objectValue ?? [], required: Self.required(node), at: path)
            return draft
        case "null":
            throw .data("Unsupported schema type null at \(path): a schema of only null has no Connect type")
        default:
            throw .data("The JSON schema at \(path) has no type Vltava can map to Connect (\(type ?? "none"))")
        }
    }

    /// Struct fields from `properties`, in the order of their `connect.index` (properties without one keep their
    /// place).
    private mutating func structFields(properties: [(String, JSONValue)], required: Set<String>, at path: String) throws(ConnectError) -> [ConnectField] {
        var seen = Set<String>()
        let unique = properties.reversed().filter { seen.insert($0.0).inserted }.reversed()
        let ordered = unique.enumerated().map { offset, property -> (Int64, Int, String, JSONValue) in
            (property.1[JsonSchemaData.connectIndexProperty]?.integerValue ?? Int64(offset), offset, property.0, property.1)
        }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
        var fields: [ConnectField] = []
        for (_, _, name, property) in ordered {
            let optional = data.useOptionalForNonRequired && !required.contains(name)
            let schema = try connectSchema(property, at: path + "/properties/" + JSONSchemaPointer.escape(name),
                                           version: nil, forceOptional: optional)
            fields.append(ConnectField(name: name, index: fields.count, schema: schema))
        }
        return fields
    }

    /// `oneOf`/`anyOf`: with `null` and one other schema, that schema made optional; otherwise a
    /// `io.confluent.connect.json.OneOf` struct with one optional field per member.
    private mutating func combined(_ node: JSONValue, _ choices: JSONValue, at path: String,
                                   version: Int32?, forceOptional: Bool) throws(ConnectError) -> ConnectSchema {
        guard let members = choices.arrayValue, !members.isEmpty else { throw .data("oneOf/anyOf at \(path) must list schemas") }
        if members.count == 1 && data.flattenSingletonUnions {
            return try connectSchema(members[0], at: path + "/oneOf/0", version: nil, forceOptional: false)
        }
        let isNull = members.map { $0["type"]?.stringValue == "null" && $0["$ref"] == nil }
        if members.count == 2, let other = isNull.firstIndex(of: false), isNull.contains(true) {
            return try connectSchema(members[other], at: path + "/oneOf/\(other)", version: version, forceOptional: true)
        }
        var draft = SchemaDraft(type: .structure)
        draft.name = JsonSchemaData.oneOfName
        for (offset, member) in members.enumerated() {
            if isNull[offset] {
                draft.isOptional = true
                continue
            }
            let schema = try connectSchema(member, at: path + "/oneOf/\(offset)", version: nil, forceOptional: true)
            draft.fields.append(ConnectField(name: JsonSchemaData.oneOfName + ".field.\(draft.fields.count)", index: draft.fields.count, schema: schema))
        }
        return try finish(&draft, node, at: path, version: version, forceOptional: forceOptional)
    }

    /// `allOf`, as far as Confluent reads it: the properties of every object part make one struct; otherwise a
    /// `oneOf` part wins, then an enum, then a number or string part (a `const` or `format` beside it ignored).
    private mutating func allOf(_ node: JSONValue, _ partsValue: JSONValue, at path: String,
                                version: Int32?, forceOptional: Bool) throws(ConnectError) -> ConnectSchema {
        guard let listed = partsValue.arrayValue else { throw .data("allOf at \(path) must list schemas") }
        var own = node.objectValue ?? []
        own.removeAll { $0.0 == "allOf" }
        var parts: [JSONValue] = []
        for (offset, part) in (listed + (own.isEmpty ? [] : [.object(own)])).enumerated() {
            parts.append(try dereferenced(part, at: path + "/allOf/\(offset)"))
        }
        var properties: [(String, JSONValue)] = []
        var required = Set<String>()
        for part in parts {
            try collectProperties(part, into: &properties, required: &required, at: path, depth: 0)
        }
        if !properties.isEmpty {
            var draft = SchemaDraft(type: .structure)
            draft.fields = try structFields(properties: properties, required: required, at: path)
            draft.isOptional = forceOptional
            return draft.build()
        }
        if let choice = parts.first(where: { $0["oneOf"] != nil || $0["anyOf"] != nil }) {
            return try connectSchema(choice, at: path, version: version, forceOptional: forceOptional)
        }
        let types = parts.map { $0["type"]?.stringValue }
        let number = parts.firstIndex { ["number", "integer"].contains($0["type"]?.stringValue) && $0["enum"] == nil && $0["const"] == nil }
        let string = parts.firstIndex { $0["type"]?.stringValue == "string" && $0["enum"] == nil && $0["const"] == nil }
        if let symbols = parts.first(where: { $0["enum"] != nil }), types.contains("string") {
            return try connectSchema(symbols, at: path, version: version, forceOptional: forceOptional)
        }
        if let number {
            return try connectSchema(parts[number], at: path, version: version, forceOptional: forceOptional)
        }
        if let string {
            return try connectSchema(parts[string], at: path, version: version, forceOptional: forceOptional)
        }
        throw .data("Unsupported criterion allOf at \(path): its parts make no struct, union, enum, number or string")
    }

    private func collectProperties(_ part: JSONValue, into properties: inout [(String, JSONValue)], required: inout Set<String>,
                                   at path: String, depth: Int) throws(ConnectError) {
        guard depth < 32 else { throw .data("allOf at \(path) nests too deeply") }
        if let nested = part["allOf"]?.arrayValue {
            for inner in nested {
                try collectProperties(try dereferenced(inner, at: path), into: &properties, required: &required, at: path, depth: depth + 1)
            }
        }
        for (name, schema) in part["properties"]?.objectValue ?? [] {
            properties.removeAll { $0.0 == name }
            properties.append((name, schema))
        }
        required.formUnion(Self.required(part))
    }

    /// Applies what every schema may carry: `title` (the name, unless the type gave one), `connect.version` (else
    /// `version`), `description`, `connect.parameters`, `default`, and optionality.
    private func finish(_ draft: inout SchemaDraft, _ node: JSONValue, at path: String,
                        version: Int32?, forceOptional: Bool) throws(ConnectError) -> ConnectSchema {
        if draft.name == nil, let title = node["title"]?.stringValue { draft.name = title }
        if let connectVersion = node[JsonSchemaData.connectVersionProperty] {
            guard let number = connectVersion.integerValue.flatMap({ Int32(exactly: $0) }) else {
                throw .data("connect.version at \(path) is not an integer")
            }
            draft.version = number
        } else if let version {
            draft.version = version
        }
        if let description = node["description"]?.stringValue { draft.doc = description }
        if let parameters = node[JsonSchemaData.connectParametersProperty]?.objectValue {
            draft.parameters = (draft.parameters ?? []) + parameters.map { ($0.0, $0.1.javaText) }
        }
        if forceOptional { draft.isOptional = true }
        guard let defaultJSON = node["default"] else { return draft.build() }
        let defaultValue: ConnectValue
        do {
            defaultValue = try data.toConnectData(draft.build(), defaultJSON)
        } catch {
            throw .data("Invalid default value at \(path): \(error)")
        }
        return draft.build(defaultValue: defaultValue.isNull ? nil : defaultValue)
    }

    private static func enumDraft(_ symbols: [JSONValue]) -> SchemaDraft {
        var draft = SchemaDraft(type: .string)
        // JSON enums have no name: the parameter that marks one is empty, as in Confluent.
        var parameters = [(JsonSchemaData.enumParameter, "")]
        for symbol in symbols {
            let text = symbol == .null ? JsonSchemaData.nullEnumMarker : symbol.javaText
            parameters.append((JsonSchemaData.enumParameter + "." + text, text))
        }
        draft.parameters = parameters
        return draft
    }

    private static func impliedType(_ node: JSONValue) -> String? {
        if node["properties"] != nil || node["additionalProperties"] != nil { return "object" }
        if node["items"] != nil { return "array" }
        return nil
    }

    private static func required(_ node: JSONValue) -> Set<String> {
        Set(node["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// The node itself, or the one its `$ref`s lead to.
    private func dereferenced(_ node: JSONValue, at path: String) throws(ConnectError) -> JSONValue {
        var current = node
        var hops = 0
        while let ref = current["$ref"]?.stringValue {
            hops += 1
            guard hops <= 32 else { throw .data("The $ref at \(path) leads only to $refs") }
            current = try resolve(ref, from: path)
        }
        return current
    }

    private func resolve(_ ref: String, from path: String) throws(ConnectError) -> JSONValue {
        guard ref.hasPrefix("#") else {
            throw .data("The $ref \(ref) at \(path) points into another document; schema references are not supported")
        }
        guard !following.contains(ref) else {
            throw .data("The JSON schema is recursive ($ref \(ref) at \(path) contains itself); Connect schemas cannot be")
        }
        guard let target = JSONSchemaPointer.resolve(String(ref.dropFirst()), in: root) else {
            throw .data("The $ref \(ref) at \(path) points to nothing in the schema")
        }
        return target
    }
}

/// JSON pointers (RFC 6901) as `$ref` fragments use them.
enum JSONSchemaPointer {
    static func escape(_ name: String) -> String {
        name.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    /// The node `pointer` (`/definitions/A`, or empty for the root) names, percent-escapes decoded.
    static func resolve(_ pointer: String, in root: JSONValue) -> JSONValue? {
        guard !pointer.isEmpty else { return root }
        guard pointer.hasPrefix("/") else { return nil }
        var node = root
        for rawSegment in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let segment = HTTPEndpoint.percentDecoded(rawSegment).replacing("~1", with: "/").replacing("~0", with: "~")
            switch node {
            case let .object(members):
                guard let next = members.last(where: { $0.0 == segment })?.1 else { return nil }
                node = next
            case let .array(items):
                guard let index = Int(segment), items.indices.contains(index) else { return nil }
                node = items[index]
            default:
                return nil
            }
        }
        return node
    }
}
