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

/// The locations of a compared pair of schemas, hashed and compared as bytes. As `String`s, a location of
/// non-ASCII property names was hashed through Unicode normalization, some fifty times the cost of its bytes, and
/// a 0.6 kB schema of `$ref`s to the root under such names took over a second to compare with itself.
struct LocationPair: Hashable {
    let bytes: [UInt8]

    init(reader: String, writer: String) {
        // The reader's length first: a separator could also occur in a location (property names are free text).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + reader.utf8.count + writer.utf8.count)
        withUnsafeBytes(of: UInt64(reader.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: reader.utf8)
        bytes.append(contentsOf: writer.utf8)
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// Content-model comparison of two schemas (Confluent's JSON Schema compatibility, reader = new schema under
/// BACKWARD), through `$ref`s, combined criteria (`allOf`/`anyOf`/`oneOf`), pattern properties, dependencies and
/// tuples.
struct JSONSchemaComparison {
    static let maximumSteps = 100_000
    /// Comparisons nested deeper than this count as exhausted. A `$ref` back to an enclosing schema through a
    /// combinator (`{"anyOf":[{"$ref":""}]}`) gives each level a new merged location, which `inProgress` cannot
    /// recognize, and would otherwise recurse until the stack overflows.
    static let maximumDepth = 128
    private var depth = 0
    let reader: JSONSchemaResolver
    let writer: JSONSchemaResolver
    private(set) var exhausted = false
    private var steps = 0
    private var inProgress: Set<LocationPair> = []
    private var compatiblePairs: Set<LocationPair> = []
    /// Pairs found incompatible, with (the first of) their problems, so shared subschemas are compared once.
    private var incompatiblePairs: [LocationPair: [String]] = [:]
    private static let maximumProblems = 1000
    private var patterns: [String: Regex<AnyRegexOutput>?] = [:]

    init(reader: JSONSchemaResolver, writer: JSONSchemaResolver) {
        self.reader = reader
        self.writer = writer
    }

    private static let typeNames: Set<String> = ["null", "boolean", "object", "array", "number", "string", "integer"]
    private static let combinators = ["allOf", "anyOf", "oneOf"]

    private static func types(of schema: JSONValue) -> Set<String>? {
        if let name = schema["type"]?.stringValue { return [name] }
        if let names = schema["type"]?.arrayValue { return Set(names.compactMap(\.stringValue)) }
        return nil
    }

    /// Whether the schema accepts properties it does not name.
    private static func isOpen(_ schema: JSONValue) -> Bool {
        if schema["additionalProperties"]?.boolValue == false { return false }
        if schema["additionalProperties"]?.isObject == true { return false }
        if schema["unevaluatedProperties"]?.boolValue == false { return false }
        return true
    }

    private static func isClosed(_ schema: JSONValue) -> Bool {
        schema["additionalProperties"]?.boolValue == false || schema["unevaluatedProperties"]?.boolValue == false
    }

    private static func isTrivial(_ schema: JSONValue) -> Bool { schema.boolValue == true || schema == .object([]) }

    private func child(_ node: JSONSchemaNode, _ value: JSONValue, _ suffix: String) -> JSONSchemaNode {
        JSONSchemaNode(value: value, document: node.document, location: node.location + "/" + suffix)
    }

    mutating func compare(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        steps += 1
        guard steps < Self.maximumSteps, depth < Self.maximumDepth else {
            exhausted = true
            return
        }
        guard problems.count < Self.maximumProblems else { return }
        let readerNode = reader.dereferenced(readerNode)
        let writerNode = writer.dereferenced(writerNode)
        let key = LocationPair(reader: readerNode.location, writer: writerNode.location)
        // Each lookup below hashes the whole key, and locations grow with nesting (a `$ref` to the root under
        // long property names reaches tens of kilobytes within the depth bound): long keys are charged as
        // steps, so that the step bound bounds the work, not only the number of comparisons.
        steps += key.bytes.count / 128
        guard steps < Self.maximumSteps else {
            exhausted = true
            return
        }
        if inProgress.contains(key) || compatiblePairs.contains(key) { return }
        if let known = incompatiblePairs[key] {
            problems += known.prefix(Self.maximumProblems - problems.count)
            return
        }
        inProgress.insert(key)
        let before = problems.count
        depth += 1
        compareResolved(readerNode, writerNode, path: path, problems: &problems)
        depth -= 1
        inProgress.remove(key)
        guard !exhausted else { return }
        if problems.count == before {
            compatiblePairs.insert(key)
        } else {
            incompatiblePairs[key] = Array(problems[before...].prefix(16))
        }
    }

    /// The combinator of a schema (the first of allOf, anyOf, oneOf it has) and the schema without it.
    private func split(_ node: JSONSchemaNode) -> (keyword: String, branches: [JSONSchemaNode], outer: JSONSchemaNode)? {
        guard let members = node.value.objectValue else { return nil }
        for keyword in Self.combinators {
            guard let items = node.value[keyword]?.arrayValue else { continue }
            let branches = items.enumerated().map { child(node, $0.element, "\(keyword)/\($0.offset)") }
            let outer = JSONSchemaNode(value: .object(members.filter { $0.0 != keyword }), document: node.document, location: node.location + "-" + keyword)
            return (keyword, branches, outer)
        }
        return nil
    }

    /// A branch with the keywords beside its combinator added (the branch's own win).
    private func merged(_ outer: JSONSchemaNode, _ branch: JSONSchemaNode, resolver: JSONSchemaResolver) -> JSONSchemaNode {
        let branch = resolver.dereferenced(branch)
        guard let outerMembers = outer.value.objectValue, !outerMembers.isEmpty else { return branch }
        guard let branchMembers = branch.value.objectValue else { return branch.value.boolValue == false ? branch : outer }
        let own = Set(branchMembers.map(\.0))
        return JSONSchemaNode(
            value: .object(outerMembers.filter { !own.contains($0.0) } + branchMembers), document: branch.document,
            location: outer.location + "&" + branch.location)
    }

    /// All branches of an allOf in one schema (shallow: later members win).
    private func mergedAll(_ outer: JSONSchemaNode, _ branches: [JSONSchemaNode], resolver: JSONSchemaResolver) -> JSONSchemaNode {
        var result = outer
        for branch in branches { result = merged(result, branch, resolver: resolver) }
        return result
    }

    private mutating func compareResolved(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let readerValue = readerNode.value
        let writerValue = writerNode.value
        if Self.isTrivial(readerValue) { return }
        if writerValue.boolValue == false { return }
        if readerValue.boolValue == false {
            problems.append("{errorType:'SCHEMA_REMOVED', path:'\(path)'}")
            return
        }
        if writerValue.boolValue == true {
            problems.append("{errorType:'TYPE_NARROWED', path:'\(path)'}")
            return
        }
        switch (split(readerNode), split(writerNode)) {
        case (nil, nil):
            compareKeywords(readerNode, writerNode, path: path, problems: &problems)
        case let (readerSplit?, writerSplit?):
            compareKeywords(readerSplit.outer, writerSplit.outer, path: path, problems: &problems)
            compareCombined(readerSplit, writerSplit, path: path, problems: &problems)
        case let (nil, writerSplit?):
            if writerSplit.keyword == "allOf" {
                compare(readerNode, mergedAll(writerSplit.outer, writerSplit.branches, resolver: writer), path: path, problems: &problems)
            } else {
                // Every alternative the writer allows must be readable.
                for (index, branch) in writerSplit.branches.enumerated() {
                    compare(readerNode, merged(writerSplit.outer, branch, resolver: writer), path: "\(path)/\(writerSplit.keyword)/\(index)",
                            problems: &problems)
                }
            }
        case let (readerSplit?, nil):
            if readerSplit.keyword == "allOf" {
                compare(mergedAll(readerSplit.outer, readerSplit.branches, resolver: reader), writerNode, path: path, problems: &problems)
            } else {
                // A schema turned into one alternative of a oneOf/anyOf: one alternative must read it all.
                var readable = false
                for branch in readerSplit.branches where !readable {
                    var trial: [String] = []
                    compare(merged(readerSplit.outer, branch, resolver: reader), writerNode, path: path, problems: &trial)
                    readable = trial.isEmpty
                }
                if !readable {
                    problems.append("{errorType:'TYPE_CHANGED', description:'no alternative of \(readerSplit.keyword) reads the schema', path:'\(path)'}")
                }
            }
        }
    }

    /// Confluent's CombinedSchemaDiff: the criterion may only widen to anyOf; more alternatives of a oneOf/anyOf
    /// (or fewer conditions of an allOf) are compatible, the reverse is not; every alternative of the smaller side
    /// must match a compatible one of the other (maximum bipartite matching).
    private mutating func compareCombined(
        _ readerSplit: (keyword: String, branches: [JSONSchemaNode], outer: JSONSchemaNode),
        _ writerSplit: (keyword: String, branches: [JSONSchemaNode], outer: JSONSchemaNode), path: String, problems: inout [String]
    ) {
        let at = "\(path)/\(readerSplit.keyword)"
        if readerSplit.keyword != writerSplit.keyword, readerSplit.keyword != "anyOf" {
            problems.append("{errorType:'COMBINED_TYPE_CHANGED', description:'\(writerSplit.keyword) changed to \(readerSplit.keyword)', path:'\(at)'}")
            return
        }
        let readerCount = readerSplit.branches.count
        let writerCount = writerSplit.branches.count
        if readerCount > writerCount, readerSplit.keyword == "allOf" {
            problems.append("{errorType:'PRODUCT_TYPE_EXTENDED', path:'\(at)'}")
        } else if readerCount < writerCount, readerSplit.keyword != "allOf" {
            problems.append("{errorType:'SUM_TYPE_NARROWED', path:'\(at)'}")
        }
        guard readerCount * writerCount <= 4096 else {
            problems.append("{errorType:'SCHEMA_TOO_COMPLEX', description:'too many alternatives', path:'\(at)'}")
            return
        }
        var edges: [[Int]] = Array(repeating: [], count: writerCount)
        for (i, writerBranch) in writerSplit.branches.enumerated() {
            for (j, readerBranch) in readerSplit.branches.enumerated() {
                var trial: [String] = []
                compare(readerBranch, writerBranch, path: "\(at)/\(j)", problems: &trial)
                if trial.isEmpty { edges[i].append(j) }
            }
        }
        var matchOfReader = Array(repeating: -1, count: readerCount)
        func augment(_ i: Int, _ visited: inout [Bool]) -> Bool {
            for j in edges[i] where !visited[j] {
                visited[j] = true
                if matchOfReader[j] < 0 || augment(matchOfReader[j], &visited) {
                    matchOfReader[j] = i
                    return true
                }
            }
            return false
        }
        var matched = 0
        for i in 0..<writerCount {
            var visited = Array(repeating: false, count: readerCount)
            if augment(i, &visited) { matched += 1 }
        }
        if matched < min(readerCount, writerCount) {
            problems.append("{errorType:'COMBINED_TYPE_SUBSCHEMAS_CHANGED', path:'\(at)'}")
        }
    }

    /// Whether a `patternProperties` key matches a property name. Patterns with a quantified group (where
    /// backtracking can explode) or that do not compile match nothing.
    private mutating func matches(_ pattern: String, _ name: String) -> Bool {
        if patterns[pattern] == nil {
            let risky = [")+", ")*", ")?", "){"].contains { pattern.contains($0) }
            patterns[pattern] = risky ? .some(nil) : .some(try? Regex(pattern))
        }
        guard let compiled = patterns[pattern] ?? nil, name.utf8.count <= 256 else { return false }
        return (try? compiled.firstMatch(in: name)) != nil
    }

    private mutating func patternSchema(for name: String, in node: JSONSchemaNode) -> JSONSchemaNode? {
        for (pattern, schema) in node.value["patternProperties"]?.objectValue ?? [] where matches(pattern, name) {
            return child(node, schema, "patternProperties/" + JSONSchemaDocument.pointerSegment(pattern))
        }
        return nil
    }

    private mutating func compareKeywords(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let reader = readerNode.value
        let writer = writerNode.value
        if let readerTypes = Self.types(of: reader) {
            let writerTypes = Self.types(of: writer) ?? Self.typeNames
            for type in writerTypes where !readerTypes.contains(type) && !(type == "integer" && readerTypes.contains("number")) {
                problems.append("{errorType:'TYPE_NARROWED', description:'type \(type) no longer accepted', path:'\(path)'}")
            }
        }
        if let readerEnum = reader["enum"]?.arrayValue {
            if let writerEnum = writer["enum"]?.arrayValue ?? writer["const"].map({ [$0] }) {
                if writerEnum.contains(where: { !readerEnum.contains($0) }) {
                    problems.append("{errorType:'ENUM_ARRAY_NARROWED', path:'\(path)/enum'}")
                }
            } else {
                problems.append("{errorType:'ENUM_ARRAY_NARROWED', path:'\(path)/enum'}")
            }
        }
        if let readerConst = reader["const"] {
            let writerValues = writer["const"].map { [$0] } ?? writer["enum"]?.arrayValue
            if writerValues.map({ $0.contains { $0 != readerConst } }) ?? true {
                problems.append("{errorType:'CONST_CHANGED', path:'\(path)/const'}")
            }
        }
        for (keyword, larger) in [
            ("minimum", true), ("exclusiveMinimum", true), ("minLength", true), ("minItems", true), ("minProperties", true),
            ("maximum", false), ("exclusiveMaximum", false), ("maxLength", false), ("maxItems", false), ("maxProperties", false),
        ] {
            Self.compareBound(keyword, reader, writer, path: path, larger: larger, problems: &problems)
        }
        if let divisor = reader["multipleOf"]?.doubleValue {
            let multiple = writer["multipleOf"]?.doubleValue
            let ratio = multiple.map { $0 / divisor } ?? 0.5
            if ratio.rounded() != ratio || ratio == 0 {
                problems.append("{errorType:'MULTIPLE_OF_CHANGED', path:'\(path)/multipleOf'}")
            }
        }
        compareProperties(readerNode, writerNode, path: path, problems: &problems)
        compareDependencies(readerNode, writerNode, path: path, problems: &problems)
        compareItems(readerNode, writerNode, path: path, problems: &problems)
        if let readerNames = reader["propertyNames"] {
            compare(child(readerNode, readerNames, "propertyNames"),
                    child(writerNode, writer["propertyNames"] ?? .bool(true), "propertyNames"), path: "\(path)/propertyNames", problems: &problems)
        }
    }

    private mutating func compareProperties(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let reader = readerNode.value
        let writer = writerNode.value
        let readerProperties = reader["properties"]?.objectValue ?? []
        let writerProperties = writer["properties"]?.objectValue ?? []
        let readerRequired = Set(reader["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let writerRequired = Set(writer["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        for (name, readerProperty) in readerProperties {
            let segment = JSONSchemaDocument.pointerSegment(name)
            let propertyPath = "\(path)/properties/\(segment)"
            let readerChild = child(readerNode, readerProperty, "properties/" + segment)
            if let writerProperty = writerProperties.last(where: { $0.0 == name })?.1 {
                compare(readerChild, child(writerNode, writerProperty, "properties/" + segment), path: propertyPath, problems: &problems)
            } else if let writerPattern = patternSchema(for: name, in: writerNode) {
                compare(readerChild, writerPattern, path: propertyPath, problems: &problems)
            } else if Self.isOpen(writer) {
                if !Self.isTrivial(self.reader.dereferenced(readerChild).value) {
                    problems.append("{errorType:'PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', path:'\(propertyPath)'}")
                }
            } else if let additional = writer["additionalProperties"], additional.isObject {
                compare(readerChild, child(writerNode, additional, "additionalProperties"), path: propertyPath, problems: &problems)
            }
            if readerRequired.contains(name), !writerRequired.contains(name), readerProperty["default"] == nil {
                problems.append("{errorType:'REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL', path:'\(propertyPath)'}")
            }
        }
        for (name, writerProperty) in writerProperties where !readerProperties.contains(where: { $0.0 == name }) {
            let segment = JSONSchemaDocument.pointerSegment(name)
            let propertyPath = "\(path)/properties/\(segment)"
            let writerChild = child(writerNode, writerProperty, "properties/" + segment)
            if let readerPattern = patternSchema(for: name, in: readerNode) {
                compare(readerPattern, writerChild, path: propertyPath, problems: &problems)
            } else if Self.isClosed(reader) {
                problems.append("{errorType:'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', path:'\(propertyPath)'}")
            } else if let additional = reader["additionalProperties"], additional.isObject {
                compare(child(readerNode, additional, "additionalProperties"), writerChild, path: propertyPath, problems: &problems)
            }
        }
        for name in readerRequired where !writerRequired.contains(name) && !readerProperties.contains(where: { $0.0 == name }) {
            problems.append("{errorType:'REQUIRED_ATTRIBUTE_ADDED', path:'\(path)/required/\(JSONSchemaDocument.pointerSegment(name))'}")
        }
        // Pattern properties matched by pattern text.
        let readerPatterns = reader["patternProperties"]?.objectValue ?? []
        let writerPatterns = writer["patternProperties"]?.objectValue ?? []
        for (pattern, readerSchema) in readerPatterns {
            let segment = "patternProperties/" + JSONSchemaDocument.pointerSegment(pattern)
            let readerChild = child(readerNode, readerSchema, segment)
            if let writerSchema = writerPatterns.last(where: { $0.0 == pattern })?.1 {
                compare(readerChild, child(writerNode, writerSchema, segment), path: "\(path)/\(segment)", problems: &problems)
            } else if Self.isOpen(writer) {
                if !Self.isTrivial(self.reader.dereferenced(readerChild).value) {
                    problems.append("{errorType:'PATTERN_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL', path:'\(path)/\(segment)'}")
                }
            } else if let additional = writer["additionalProperties"], additional.isObject {
                compare(readerChild, child(writerNode, additional, "additionalProperties"), path: "\(path)/\(segment)", problems: &problems)
            }
        }
        for (pattern, writerSchema) in writerPatterns where !readerPatterns.contains(where: { $0.0 == pattern }) {
            let segment = "patternProperties/" + JSONSchemaDocument.pointerSegment(pattern)
            if Self.isClosed(reader) {
                problems.append("{errorType:'PATTERN_PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL', path:'\(path)/\(segment)'}")
            } else if let additional = reader["additionalProperties"], additional.isObject {
                compare(child(readerNode, additional, "additionalProperties"), child(writerNode, writerSchema, segment),
                        path: "\(path)/\(segment)", problems: &problems)
            }
        }
        if Self.isClosed(reader), Self.isOpen(writer) {
            problems.append("{errorType:'ADDITIONAL_PROPERTIES_REMOVED', path:'\(path)/additionalProperties'}")
        } else if let readerAdditional = reader["additionalProperties"], readerAdditional.isObject,
            let writerAdditional = writer["additionalProperties"], writerAdditional.isObject {
            compare(child(readerNode, readerAdditional, "additionalProperties"), child(writerNode, writerAdditional, "additionalProperties"),
                    path: "\(path)/additionalProperties", problems: &problems)
        }
    }

    /// `dependencies` (draft-07, arrays or schemas), `dependentRequired` and `dependentSchemas` (2019-09).
    private static func dependencies(_ schema: JSONValue) -> (arrays: [String: Set<String>], schemas: [(String, JSONValue, String)]) {
        var arrays: [String: Set<String>] = [:]
        var schemas: [(String, JSONValue, String)] = []
        for keyword in ["dependencies", "dependentRequired", "dependentSchemas"] {
            for (name, value) in schema[keyword]?.objectValue ?? [] {
                if let names = value.arrayValue, keyword != "dependentSchemas" {
                    arrays[name, default: []].formUnion(names.compactMap(\.stringValue))
                } else {
                    schemas.append((name, value, "\(keyword)/\(JSONSchemaDocument.pointerSegment(name))"))
                }
            }
        }
        return (arrays, schemas)
    }

    private mutating func compareDependencies(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let readerDependencies = Self.dependencies(readerNode.value)
        let writerDependencies = Self.dependencies(writerNode.value)
        for (name, required) in readerDependencies.arrays.sorted(by: { $0.key < $1.key }) {
            guard let writerRequired = writerDependencies.arrays[name] else {
                problems.append("{errorType:'DEPENDENCY_ARRAY_ADDED', path:'\(path)/dependencies/\(name)'}")
                continue
            }
            if !required.isSubset(of: writerRequired) {
                problems.append("{errorType:'DEPENDENCY_ARRAY_EXTENDED', path:'\(path)/dependencies/\(name)'}")
            }
        }
        for (name, schema, segment) in readerDependencies.schemas {
            guard let (_, writerSchema, writerSegment) = writerDependencies.schemas.last(where: { $0.0 == name }) else {
                problems.append("{errorType:'DEPENDENCY_SCHEMA_ADDED', path:'\(path)/\(segment)'}")
                continue
            }
            compare(child(readerNode, schema, segment), child(writerNode, writerSchema, writerSegment), path: "\(path)/\(segment)", problems: &problems)
        }
    }

    /// Positional items (`prefixItems`, or `items` as an array) and the schema for the rest of the items.
    private static func tuple(_ schema: JSONValue) -> (items: [JSONValue], itemsKeyword: String, rest: JSONValue?, restKeyword: String) {
        if let prefix = schema["prefixItems"]?.arrayValue {
            return (prefix, "prefixItems", schema["items"], "items")
        }
        if let items = schema["items"]?.arrayValue {
            return (items, "items", schema["additionalItems"], "additionalItems")
        }
        return ([], "items", schema["items"], "items")
    }

    private mutating func compareItems(_ readerNode: JSONSchemaNode, _ writerNode: JSONSchemaNode, path: String, problems: inout [String]) {
        let readerTuple = Self.tuple(readerNode.value)
        let writerTuple = Self.tuple(writerNode.value)
        let readerItems = readerTuple.items
        let writerItems = writerTuple.items
        for index in 0..<max(readerItems.count, writerItems.count) {
            let itemPath = "\(path)/\(readerTuple.itemsKeyword)/\(index)"
            let readerChild: JSONSchemaNode
            if index < readerItems.count {
                readerChild = child(readerNode, readerItems[index], "\(readerTuple.itemsKeyword)/\(index)")
            } else if let rest = readerTuple.rest {
                readerChild = child(readerNode, rest, readerTuple.restKeyword)
            } else {
                continue  // the reader accepts any item there
            }
            if index < writerItems.count {
                compare(readerChild, child(writerNode, writerItems[index], "\(writerTuple.itemsKeyword)/\(index)"), path: itemPath, problems: &problems)
            } else if let rest = writerTuple.rest {
                compare(readerChild, child(writerNode, rest, writerTuple.restKeyword), path: itemPath, problems: &problems)
            } else if !Self.isTrivial(reader.dereferenced(readerChild).value) {
                problems.append("{errorType:'ITEM_ADDED_TO_OPEN_CONTENT_MODEL', path:'\(itemPath)'}")
            }
        }
        if let readerRest = readerTuple.rest {
            let writerRest = writerTuple.rest ?? .bool(true)
            compare(child(readerNode, readerRest, readerTuple.restKeyword), child(writerNode, writerRest, writerTuple.restKeyword),
                    path: "\(path)/\(readerTuple.restKeyword)", problems: &problems)
        }
    }

    private static func compareBound(
        _ keyword: String, _ reader: JSONValue, _ writer: JSONValue, path: String, larger: Bool, problems: inout [String]
    ) {
        guard let readerBound = reader[keyword]?.doubleValue else { return }
        let narrowed: Bool
        if let writerBound = writer[keyword]?.doubleValue {
            narrowed = larger ? readerBound > writerBound : readerBound < writerBound
        } else {
            narrowed = true
        }
        if narrowed {
            let kind = larger ? "\(keyword.uppercased())_INCREASED" : "\(keyword.uppercased())_DECREASED"
            problems.append("{errorType:'\(kind)', path:'\(path)/\(keyword)'}")
        }
    }
}
