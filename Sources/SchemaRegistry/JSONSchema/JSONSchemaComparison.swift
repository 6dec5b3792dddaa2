/// JSON Schema compatibility: whether every document a writer's schema accepts is accepted by a reader's, with
/// Confluent's difference types (and Confluent's verdicts where its rules are not the sets' own).

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

    /// The schema of the properties a schema does not name, and its keyword: `additionalProperties`, else
    /// `unevaluatedProperties` (which, beside `properties` alone, reads the same properties).
    static func additional(_ schema: JSONValue) -> (value: JSONValue, keyword: String)? {
        if let value = schema["additionalProperties"] { return (value, "additionalProperties") }
        if let value = schema["unevaluatedProperties"] { return (value, "unevaluatedProperties") }
        return nil
    }

    /// Whether the schema accepts any property it does not name (an open content model).
    static func isOpen(_ schema: JSONValue) -> Bool {
        guard let additional = additional(schema)?.value else { return true }
        return additional.boolValue == true
    }

    /// Whether the schema accepts no property it does not name (a closed content model).
    static func isClosed(_ schema: JSONValue) -> Bool {
        additional(schema)?.value.boolValue == false
    }

    static func isTrivial(_ schema: JSONValue) -> Bool { schema.boolValue == true || schema == .object([]) }

    func child(_ node: JSONSchemaNode, _ value: JSONValue, _ suffix: String) -> JSONSchemaNode {
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
            // A schema where any value went before (Confluent's SCHEMA_ADDED).
            problems.append("{errorType:'SCHEMA_ADDED', path:'\(path)'}")
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
                // As Confluent's registry: a schema may become an allOf of itself alone, not of more conditions.
                if Self.distinct(readerSplit.branches).count > 1 {
                    problems.append("{errorType:'TYPE_CHANGED', description:'the schema became an allOf of several schemas', path:'\(path)'}")
                    return
                }
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

    /// Confluent's CombinedSchemaDiff, whose verdicts these are: the criterion may change to anyOf; to oneOf from an
    /// allOf or from a single alternative; to allOf only from one alternative to one. Duplicate alternatives count
    /// once. More alternatives of a oneOf/anyOf and fewer conditions of an allOf are compatible, the reverse is not;
    /// every alternative of the smaller side must match a compatible one of the other (maximum bipartite matching).
    private mutating func compareCombined(
        _ readerSplit: (keyword: String, branches: [JSONSchemaNode], outer: JSONSchemaNode),
        _ writerSplit: (keyword: String, branches: [JSONSchemaNode], outer: JSONSchemaNode), path: String, problems: inout [String]
    ) {
        let at = "\(path)/\(readerSplit.keyword)"
        let readerBranches = Self.distinct(readerSplit.branches)
        let writerBranches = Self.distinct(writerSplit.branches)
        let readerCount = readerBranches.count
        let writerCount = writerBranches.count
        if readerSplit.keyword != writerSplit.keyword {
            let allowed: Bool
            switch readerSplit.keyword {
            case "anyOf": allowed = true
            case "oneOf": allowed = writerCount == 1 || writerSplit.keyword == "allOf"
            default: allowed = writerCount == 1 && readerCount == 1
            }
            guard allowed else {
                problems.append("{errorType:'COMBINED_TYPE_CHANGED', description:'\(writerSplit.keyword) changed to \(readerSplit.keyword)', path:'\(at)'}")
                return
            }
        }
        if readerCount > writerCount, readerSplit.keyword == "allOf" {
            problems.append("{errorType:'PRODUCT_TYPE_EXTENDED', path:'\(at)'}")
        } else if readerCount < writerCount, writerSplit.keyword != "allOf" {
            problems.append("{errorType:'SUM_TYPE_NARROWED', path:'\(at)'}")
        }
        guard readerCount * writerCount <= 4096 else {
            problems.append("{errorType:'SCHEMA_TOO_COMPLEX', description:'too many alternatives', path:'\(at)'}")
            return
        }
        var edges: [[Int]] = Array(repeating: [], count: writerCount)
        for (i, writerBranch) in writerBranches.enumerated() {
            for (j, readerBranch) in readerBranches.enumerated() {
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

    /// The alternatives of a combinator with repeated ones left out (Confluent's registry takes them as a set).
    private static func distinct(_ branches: [JSONSchemaNode]) -> [JSONSchemaNode] {
        var seen: Set<JSONValue> = []
        return branches.filter { seen.insert($0.value).inserted }
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

    mutating func patternSchema(for name: String, in node: JSONSchemaNode) -> JSONSchemaNode? {
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
            let accepted = { (type: String) in readerTypes.contains(type) || (type == "integer" && readerTypes.contains("number")) }
            // Confluent's names: TYPE_NARROWED when some of the writer's types are still read, else TYPE_CHANGED.
            let narrowed = writerTypes.contains(where: accepted) || (writerTypes.contains("number") && readerTypes.contains("integer"))
            let kind = narrowed ? "TYPE_NARROWED" : "TYPE_CHANGED"
            for type in writerTypes.sorted() where !accepted(type) {
                problems.append("{errorType:'\(kind)', description:'type \(type) no longer accepted', path:'\(path)'}")
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
                // Confluent takes a const as an enum of one value.
                problems.append("{errorType:'ENUM_ARRAY_CHANGED', path:'\(path)/const'}")
            }
        }
        for (keyword, larger) in [
            ("minimum", true), ("exclusiveMinimum", true), ("minLength", true), ("minItems", true), ("minProperties", true),
            ("minContains", true),
            ("maximum", false), ("exclusiveMaximum", false), ("maxLength", false), ("maxItems", false), ("maxProperties", false),
            ("maxContains", false),
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
        if let pattern = reader["pattern"]?.stringValue, writer["pattern"]?.stringValue != pattern {
            problems.append("{errorType:'\(writer["pattern"] == nil ? "PATTERN_ADDED" : "PATTERN_CHANGED")', path:'\(path)/pattern'}")
        }
        if let readerNot = reader["not"] {
            compareNot(child(readerNode, readerNot, "not"), writer["not"].map { child(writerNode, $0, "not") }, path: path, problems: &problems)
        }
        compareProperties(readerNode, writerNode, path: path, problems: &problems)
        compareDependencies(readerNode, writerNode, path: path, problems: &problems)
        compareItems(readerNode, writerNode, path: path, problems: &problems)
        if let readerNames = reader["propertyNames"] {
            compare(child(readerNode, readerNames, "propertyNames"),
                    child(writerNode, writer["propertyNames"] ?? .bool(true), "propertyNames"), path: "\(path)/propertyNames", problems: &problems)
        }
    }

    /// `not`: what the reader refuses must be refused by the writer already, so the writer's `not` schema must read
    /// the reader's — the comparison the other way round (Confluent's NOT_TYPE_EXTENDED when it fails).
    private mutating func compareNot(_ readerNot: JSONSchemaNode, _ writerNot: JSONSchemaNode?, path: String, problems: inout [String]) {
        guard let writerNot else {
            problems.append("{errorType:'NOT_TYPE_ADDED', path:'\(path)/not'}")
            return
        }
        var inverse = JSONSchemaComparison(reader: writer, writer: reader)
        inverse.steps = steps
        inverse.depth = depth
        var found: [String] = []
        inverse.compare(writerNot, readerNot, path: "\(path)/not", problems: &found)
        steps = inverse.steps
        exhausted = exhausted || inverse.exhausted
        if !found.isEmpty {
            problems.append("{errorType:'NOT_TYPE_EXTENDED', path:'\(path)/not'}")
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
            // Confluent's names: minLength → MIN_LENGTH_INCREASED, exclusiveMaximum → EXCLUSIVE_MAXIMUM_DECREASED.
            let name = keyword.unicodeScalars.map { $0.properties.isUppercase ? "_\($0)" : "\($0)" }.joined().uppercased()
            let kind = larger ? "\(name)_INCREASED" : "\(name)_DECREASED"
            problems.append("{errorType:'\(kind)', path:'\(path)/\(keyword)'}")
        }
    }
}
