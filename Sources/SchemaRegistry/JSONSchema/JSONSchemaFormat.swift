/// JSON Schema (draft-07 and later drafts' common keywords): checks that a document is a schema, gives its
/// normalized form, and compares content models for compatibility.
struct JSONSchemaDocument: Sendable {
    var root: JSONValue
    /// The referenced schemas by reference name: a `$ref` whose part before `#` is such a name points into one.
    var references: [String: JSONSchemaDocument] = [:]

    private static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "string", "integer"]
    private static let schemaKeywords: Set<String> = [
        "additionalProperties", "items", "not", "contains", "propertyNames", "if", "then", "else", "additionalItems",
        "unevaluatedProperties", "unevaluatedItems",
    ]
    private static let schemaArrayKeywords: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    private static let schemaMapKeywords: Set<String> = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas"]
    private static let numberKeywords: Set<String> = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]
    private static let countKeywords: Set<String> = [
        "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains",
    ]

    /// Parses and checks a schema: every keyword the registry knows has a value of its kind, every `$ref` to this
    /// document or to a referenced one resolves (`#/definitions/…`, `#/$defs/…`, JSON pointers, `$anchor`s), and
    /// no `$ref` leads only to `$ref`s in a cycle. `$ref`s to other documents that no reference names are left
    /// unresolved (read as `true`).
    static func parse(_ text: String, references: [String: JSONSchemaDocument] = [:]) throws(RegistryError) -> JSONSchemaDocument {
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            throw .invalidSchema("Invalid JSON schema: \(error)")
        }
        var nodes = 0
        var refs: [String] = []
        try validate(json, path: "#", nodes: &nodes, refs: &refs)
        let document = JSONSchemaDocument(root: json, references: references)
        try JSONSchemaResolver(document).checkReferences(refs)
        return document
    }

    /// `name` escaped as a JSON pointer segment.
    static func pointerSegment(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private static func validate(_ schema: JSONValue, path: String, nodes: inout Int, refs: inout [String]) throws(RegistryError) {
        nodes += 1
        guard nodes <= 100_000 else { throw .invalidSchema("JSON schema has more than 100000 subschemas") }
        if schema.boolValue != nil { return }
        guard let members = schema.objectValue else { throw .invalidSchema("\(path) is not a schema (object or boolean)") }
        for (keyword, value) in members {
            let at = "\(path)/\(pointerSegment(keyword))"
            switch keyword {
            case "type":
                let names = value.stringValue.map { [$0] } ?? value.arrayValue?.map { $0.stringValue ?? "" }
                guard let names, !names.isEmpty, names.allSatisfy(typeNames.contains) else {
                    throw .invalidSchema("\(at) must name JSON types")
                }
            case "required":
                guard let names = value.arrayValue, names.allSatisfy({ $0.stringValue != nil }) else {
                    if value.boolValue != nil { continue }
                    throw .invalidSchema("\(at) must be an array of strings")
                }
            case "enum":
                guard value.arrayValue != nil else { throw .invalidSchema("\(at) must be an array") }
            case "$ref":
                guard let ref = value.stringValue else { throw .invalidSchema("\(at) must be a string") }
                refs.append(ref)
            case "$id", "$schema", "title", "description", "pattern", "format", "$comment", "$anchor":
                guard value.stringValue != nil else { throw .invalidSchema("\(at) must be a string") }
            case "dependencies", "dependentRequired":
                guard let dependencies = value.objectValue else { throw .invalidSchema("\(at) must be an object") }
                for (name, dependency) in dependencies {
                    if let names = dependency.arrayValue {
                        guard names.allSatisfy({ $0.stringValue != nil }) else {
                            throw .invalidSchema("\(at)/\(pointerSegment(name)) must be an array of strings")
                        }
                    } else if keyword == "dependencies" {
                        try validate(dependency, path: "\(at)/\(pointerSegment(name))", nodes: &nodes, refs: &refs)
                    } else {
                        throw .invalidSchema("\(at)/\(pointerSegment(name)) must be an array of strings")
                    }
                }
            case _ where schemaKeywords.contains(keyword):
                if keyword == "items" || keyword == "additionalItems", let items = value.arrayValue {
                    for (index, item) in items.enumerated() { try validate(item, path: "\(at)/\(index)", nodes: &nodes, refs: &refs) }
                } else {
                    try validate(value, path: at, nodes: &nodes, refs: &refs)
                }
            case _ where schemaArrayKeywords.contains(keyword):
                guard let items = value.arrayValue, !items.isEmpty else { throw .invalidSchema("\(at) must be a non-empty array") }
                for (index, item) in items.enumerated() { try validate(item, path: "\(at)/\(index)", nodes: &nodes, refs: &refs) }
            case _ where schemaMapKeywords.contains(keyword):
                guard let properties = value.objectValue else { throw .invalidSchema("\(at) must be an object") }
                for (name, property) in properties {
                    try validate(property, path: "\(at)/\(pointerSegment(name))", nodes: &nodes, refs: &refs)
                }
            case _ where numberKeywords.contains(keyword):
                guard value.doubleValue != nil || (keyword.hasPrefix("exclusive") && value.boolValue != nil) else {
                    throw .invalidSchema("\(at) must be a number")
                }
                if keyword == "multipleOf", let divisor = value.doubleValue, divisor <= 0 {
                    throw .invalidSchema("\(at) must be greater than 0")
                }
            case _ where countKeywords.contains(keyword):
                guard let count = value.integerValue, count >= 0 else { throw .invalidSchema("\(at) must be a non-negative integer") }
            default:
                continue
            }
        }
    }

    var normalizedForm: String { root.serialized }

    /// Problems reading data valid under `writer` with `reader` (empty: every such document is accepted).
    /// `$ref`s are followed on both sides; a pair of subschemas already being compared is taken as compatible
    /// (recursive schemas), and the work is bounded: past it, the schemas are reported as too complex.
    static func problems(reader: JSONSchemaDocument, writer: JSONSchemaDocument) -> [String] {
        var comparison = JSONSchemaComparison(reader: JSONSchemaResolver(reader), writer: JSONSchemaResolver(writer))
        var problems: [String] = []
        comparison.compare(comparison.reader.rootNode, comparison.writer.rootNode, path: "#", problems: &problems)
        if comparison.exhausted {
            problems.append("{errorType:'SCHEMA_TOO_COMPLEX', description:'the comparison needed more than \(JSONSchemaComparison.maximumSteps) steps or nested deeper than \(JSONSchemaComparison.maximumDepth)'}")
        }
        return problems
    }
}

/// A subschema and where it sits: the document (0 is the schema itself, others are referenced schemas) and a
/// location that names it uniquely (for recursion).
struct JSONSchemaNode {
    var value: JSONValue
    var document: Int
    var location: String
}

/// The documents of a schema and its references (flattened), and `$ref` resolution in them.
struct JSONSchemaResolver {
    private(set) var documents: [JSONValue] = []
    private var names: [[String: Int]] = []
    private var anchors: [[String: String]] = []
    /// Cost of the pointer walks so far, bounded.
    private static let maximumDocuments = 256

    init(_ document: JSONSchemaDocument) {
        var indexes: [String: Int] = [:]
        _ = add(document, key: "", indexes: &indexes)
    }

    private mutating func add(_ document: JSONSchemaDocument, key: String, indexes: inout [String: Int]) -> Int {
        if let known = indexes[key] { return known }
        let index = documents.count
        indexes[key] = index
        documents.append(document.root)
        names.append([:])
        var found: [String: String] = [:]
        Self.collectAnchors(document.root, pointer: "", into: &found, budget: 100_000)
        anchors.append(found)
        for (name, referenced) in document.references.sorted(by: { $0.key < $1.key }) where documents.count < Self.maximumDocuments {
            names[index][name] = add(referenced, key: key + "/" + name, indexes: &indexes)
        }
        return index
    }

    private static func collectAnchors(_ value: JSONValue, pointer: String, into anchors: inout [String: String], budget: Int) {
        var budget = budget
        func visit(_ value: JSONValue, _ pointer: String) {
            budget -= 1
            guard budget > 0 else { return }
            if let members = value.objectValue {
                if let anchor = value["$anchor"]?.stringValue { anchors[anchor] = anchors[anchor] ?? pointer }
                if let id = value["$id"]?.stringValue, id.hasPrefix("#"), id.count > 1 { anchors[String(id.dropFirst())] = pointer }
                for (name, member) in members where member.objectValue != nil || member.arrayValue != nil {
                    visit(member, pointer + "/" + JSONSchemaDocument.pointerSegment(name))
                }
            } else if let items = value.arrayValue {
                for (index, item) in items.enumerated() { visit(item, "\(pointer)/\(index)") }
            }
        }
        visit(value, pointer)
    }

    var rootNode: JSONSchemaNode { JSONSchemaNode(value: documents[0], document: 0, location: "0#") }

    enum Resolution {
        case found(JSONSchemaNode)
        /// A document no reference names (read as `true`).
        case external
        case missing
    }

    /// Where `ref`, written in document `document`, points.
    func resolve(_ ref: String, from document: Int) -> Resolution {
        let hash = ref.firstIndex(of: "#")
        let base = String(hash.map { ref[..<$0] } ?? ref[...])
        let fragment = hash.map { String(ref[ref.index(after: $0)...]) } ?? ""
        var target = document
        if !base.isEmpty {
            guard let named = names[document][base] else { return .external }
            target = named
        }
        var pointer = fragment.removingPercentEncodingIfPossible
        if !pointer.isEmpty, !pointer.hasPrefix("/") {
            guard let anchored = anchors[target][pointer] else { return .missing }
            pointer = anchored
        }
        var value = documents[target]
        for segment in pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let name = segment.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let member = value[name] {
                value = member
            } else if let items = value.arrayValue, let index = Int(name), items.indices.contains(index) {
                value = items[index]
            } else {
                return .missing
            }
        }
        return .found(JSONSchemaNode(value: value, document: target, location: "\(target)#\(pointer)"))
    }

    /// Checks the `$ref`s of the root document: each resolves, and none leads through `$ref`s only back to itself.
    func checkReferences(_ refs: [String]) throws(RegistryError) {
        var checked: Set<String> = []
        for ref in refs where checked.insert(ref).inserted {
            var current = ref
            var document = 0
            var seen: Set<String> = []
            while true {
                switch resolve(current, from: document) {
                case .missing: throw .invalidSchema("$ref \(current) cannot be resolved")
                case .external: break
                case let .found(node):
                    guard seen.insert(node.location).inserted, seen.count <= 64 else {
                        throw .invalidSchema("$ref \(ref) refers to itself through $refs only")
                    }
                    if let next = node.value["$ref"]?.stringValue {
                        current = next
                        document = node.document
                        continue
                    }
                }
                break
            }
        }
    }

    /// Keywords beside a `$ref` that do not constrain data.
    private static let annotations: Set<String> = [
        "$ref", "$id", "$schema", "$comment", "$anchor", "title", "description", "definitions", "$defs", "default", "examples",
    ]

    /// The node with its `$ref`s followed; constraining keywords beside a `$ref` are added to its target.
    func dereferenced(_ node: JSONSchemaNode) -> JSONSchemaNode {
        var node = node
        for _ in 0..<64 {
            guard let ref = node.value["$ref"]?.stringValue, let members = node.value.objectValue else { return node }
            let siblings = members.filter { !Self.annotations.contains($0.0) }
            var target: JSONSchemaNode
            switch resolve(ref, from: node.document) {
            case let .found(found): target = found
            case .external, .missing: target = JSONSchemaNode(value: .bool(true), document: node.document, location: node.location + "@")
            }
            if siblings.isEmpty {
                node = target
                continue
            }
            switch target.value {
            case .bool(false): return target
            case let .object(targetMembers):
                let overridden = Set(siblings.map(\.0))
                target.value = .object(targetMembers.filter { !overridden.contains($0.0) } + siblings)
            default:
                target.value = .object(siblings)
            }
            target.location = node.location + "+" + target.location
            node = target
        }
        return node
    }
}

extension String {
    /// The text with `%XX` escapes decoded when they form UTF-8, else unchanged.
    fileprivate var removingPercentEncodingIfPossible: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var index = utf8.startIndex
        let view = utf8
        while index < view.endIndex {
            let byte = view[index]
            if byte == UInt8(ascii: "%"), let first = view.index(index, offsetBy: 1, limitedBy: view.endIndex), first < view.endIndex,
                let second = view.index(first, offsetBy: 1, limitedBy: view.endIndex), second < view.endIndex,
                let decoded = UInt8(String(decoding: [view[first], view[second]], as: UTF8.self), radix: 16) {
                bytes.append(decoded)
                index = view.index(after: second)
            } else {
                bytes.append(byte)
                index = view.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self) ?? self
    }
}
