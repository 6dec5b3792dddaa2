/// The Avro specification's schema resolution: whether data written with one schema can be read with another.
/// Each problem is reported with Confluent's error type and the path where it was found.
struct AvroCompatibility {
    let reader: AvroSchema
    let writer: AvroSchema
    /// Pairs of named types being compared further up; a recursive type is assumed compatible with itself there.
    private var inProgress: Set<String> = []
    private(set) var problems: [String] = []
    private var steps = 0
    private static let maximumSteps = 200_000

    init(reader: AvroSchema, writer: AvroSchema) {
        self.reader = reader
        self.writer = writer
    }

    /// The problems found reading `writer`'s data with `reader` (empty: compatible).
    static func problems(reader: AvroSchema, writer: AvroSchema) -> [String] {
        var check = AvroCompatibility(reader: reader, writer: writer)
        check.compare(reader.root, writer.root, path: "")
        return check.problems
    }

    private mutating func report(_ type: String, _ path: String, _ description: String) {
        problems.append("{errorType:'\(type)', description:'\(description)', path:'\(path.isEmpty ? "/" : path)'}")
    }

    private mutating func compare(_ readerNode: AvroSchema.Node, _ writerNode: AvroSchema.Node, path: @autoclosure () -> String) {
        steps += 1
        guard steps <= Self.maximumSteps else {
            if steps == Self.maximumSteps + 1 { report("TOO_COMPLEX", path(), "The schemas are too complex to compare") }
            return
        }
        let readerBase = readerNode.base
        let writerBase = writerNode.base
        // The same type without named types in it reads itself (most fields of two versions of a record).
        if readerBase == writerBase, !readerBase.holdsNamedTypes { return }
        if case let .union(writerBranches) = writerBase {
            for (index, branch) in writerBranches.enumerated() {
                guard case .union = readerBase else {
                    compare(readerBase, branch, path: "\(path())/\(index)")
                    continue
                }
                if case let .union(readerBranches) = readerBase, readerBranches.contains(branch.base), !branch.holdsNamedTypes {
                    continue
                }
                if !canRead(readerBase, branch) {
                    report(
                        "MISSING_UNION_BRANCH", "\(path())/\(index)",
                        "The new schema is missing a type inside a union field at path '\(path())/\(index)' in the old schema")
                }
            }
            return
        }
        if case let .union(readerBranches) = readerBase {
            if readerBranches.contains(where: { canRead($0, writerBase) }) { return }
            report("MISSING_UNION_BRANCH", path(), "The new schema is missing a type inside a union field at path '\(path())'")
            return
        }
        switch (readerBase, writerBase) {
        case (.null, .null), (.boolean, .boolean), (.int, .int), (.long, .long), (.float, .float), (.double, .double),
            (.bytes, .bytes), (.string, .string):
            return
        case (.long, .int), (.float, .int), (.float, .long), (.double, .int), (.double, .long), (.double, .float),
            (.string, .bytes), (.bytes, .string):
            return
        case let (.array(readerItems), .array(writerItems)):
            compare(readerItems, writerItems, path: "\(path())/items")
        case let (.map(readerValues), .map(writerValues)):
            compare(readerValues, writerValues, path: "\(path())/values")
        case let (.named(readerName), .named(writerName)):
            compareNamed(readerName, writerName, path: path())
        default:
            report(
                "TYPE_MISMATCH", path(),
                "The type (path '\(path())') of a field in the new schema does not match with the old schema")
        }
    }

    /// Whether a reader branch can read a writer type, without reporting (used to choose union branches).
    private mutating func canRead(_ readerNode: AvroSchema.Node, _ writerNode: AvroSchema.Node) -> Bool {
        let saved = problems
        problems = []
        compare(readerNode, writerNode, path: "")
        let compatible = problems.isEmpty
        problems = saved
        return compatible
    }

    private func namesMatch(_ readerType: AvroSchema.NamedType, _ writerType: AvroSchema.NamedType) -> Bool {
        // Avro's Java checker compares unqualified names and the reader's aliases.
        readerType.shortName == writerType.shortName || readerType.fullName == writerType.fullName
            || readerType.aliases.contains(writerType.fullName)
            || readerType.aliases.contains { $0.split(separator: ".").last.map(String.init) == writerType.shortName }
    }

    private mutating func compareNamed(_ readerName: String, _ writerName: String, path: @autoclosure () -> String) {
        guard let readerType = reader.namedTypes[readerName], let writerType = writer.namedTypes[writerName] else {
            report("TYPE_MISMATCH", path(), "Unknown named type at path '\(path())'")
            return
        }
        let pair = "\(readerName)\u{0}\(writerName)"
        guard inProgress.insert(pair).inserted else { return }
        defer { inProgress.remove(pair) }
        switch (readerType.kind, writerType.kind) {
        case let (.record(readerFields), .record(writerFields)):
            guard namesMatch(readerType, writerType) else {
                report("NAME_MISMATCH", "\(path())/name", "The name of the schema has changed (path '\(path())/name')")
                return
            }
            // Writer fields by name, looked up once per reader field (a scan each was quadratic in the fields).
            var writerIndex: [String: Int] = [:]
            for (index, field) in writerFields.enumerated() where writerIndex[field.name] == nil { writerIndex[field.name] = index }
            for (index, field) in readerFields.enumerated() {
                // Built only for a problem: most fields have none.
                var fieldPath: String { "\(path())/fields/\(index)" }
                // By name, else the first writer field (in the writer's order) that one of the reader's aliases names.
                let found = writerIndex[field.name] ?? field.aliases.compactMap { writerIndex[$0] }.min()
                if let found {
                    let writerField = writerFields[found]
                    compare(field.type, writerField.type, path: "\(fieldPath)/type")
                } else if field.defaultValue == nil {
                    report(
                        "READER_FIELD_MISSING_DEFAULT_VALUE", fieldPath,
                        "The field '\(field.name)' at path '\(fieldPath)' in the new schema has no default value and is missing in the old schema")
                }
            }
        case let (.enumeration(readerSymbols, readerDefault), .enumeration(writerSymbols, _)):
            guard namesMatch(readerType, writerType) else {
                report("NAME_MISMATCH", "\(path())/name", "The name of the schema has changed (path '\(path())/name')")
                return
            }
            let missing = writerSymbols.filter { !readerSymbols.contains($0) }
            if !missing.isEmpty, readerDefault == nil {
                report(
                    "MISSING_ENUM_SYMBOLS", "\(path())/symbols",
                    "The new schema is missing enum symbols '\(missing)' at path '\(path())/symbols' in the old schema")
            }
        case let (.fixed(readerSize), .fixed(writerSize)):
            guard namesMatch(readerType, writerType) else {
                report("NAME_MISMATCH", "\(path())/name", "The name of the schema has changed (path '\(path())/name')")
                return
            }
            if readerSize != writerSize {
                report(
                    "FIXED_SIZE_MISMATCH", "\(path())/size",
                    "The size of FIXED type field at path '\(path())/size' in the new schema does not match with the old schema")
            }
        default:
            report("TYPE_MISMATCH", path(), "The type (path '\(path())') of a field in the new schema does not match with the old schema")
        }
    }
}

extension AvroSchema.Node {
    /// Whether a record, enum or fixed is anywhere in it (those are compared by their definitions, not their names).
    var holdsNamedTypes: Bool {
        switch self {
        case .named: return true
        case let .array(items): return items.holdsNamedTypes
        case let .map(values): return values.holdsNamedTypes
        case let .union(branches): return branches.contains { $0.holdsNamedTypes }
        case let .logical(node, _): return node.holdsNamedTypes
        default: return false
        }
    }
}
