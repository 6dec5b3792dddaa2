extension AvroSchema {
    /// The specification's Parsing Canonical Form: full names, only the attributes that matter for reading
    /// (`type`, `name`, `fields`, `symbols`, `items`, `values`, `size`) in that order, no white space, named
    /// types spelled out at their first occurrence only.
    var parsingCanonicalForm: String {
        var written: Set<String> = []
        return form(root, written: &written, normalized: false).serialized
    }

    /// The form the registry compares schemas by: the canonical form plus what changes a schema's meaning for
    /// compatibility or for users (defaults, aliases, logical types, sort orders, enum defaults). Documentation
    /// and white space do not count.
    var normalizedForm: String {
        var written: Set<String> = []
        return form(root, written: &written, normalized: true).serialized
    }

    private func form(_ node: Node, written: inout Set<String>, normalized: Bool) -> JSONValue {
        switch node {
        case let .logical(base, logicalType):
            guard normalized, let name = base.primitiveName else { return form(base, written: &written, normalized: normalized) }
            return .object([("type", .string(name)), ("logicalType", .string(logicalType))])
        case let .array(items):
            return .object([("type", .string("array")), ("items", form(items, written: &written, normalized: normalized))])
        case let .map(values):
            return .object([("type", .string("map")), ("values", form(values, written: &written, normalized: normalized))])
        case let .union(branches):
            return .array(branches.map { form($0, written: &written, normalized: normalized) })
        case let .named(name):
            guard let named = namedTypes[name], written.insert(name).inserted else { return .string(name) }
            var members: [(String, JSONValue)] = [("name", .string(name))]
            switch named.kind {
            case let .record(fields):
                members.append(("type", .string("record")))
                let fieldForms = fields.map { field -> JSONValue in
                    var fieldMembers: [(String, JSONValue)] = [
                        ("name", .string(field.name)), ("type", form(field.type, written: &written, normalized: normalized)),
                    ]
                    if normalized {
                        if let defaultValue = field.defaultValue { fieldMembers.append(("default", defaultValue)) }
                        if !field.aliases.isEmpty { fieldMembers.append(("aliases", .array(field.aliases.map { .string($0) }))) }
                        if let order = field.order, order != "ascending" { fieldMembers.append(("order", .string(order))) }
                    }
                    return .object(fieldMembers)
                }
                members.append(("fields", .array(fieldForms)))
            case let .enumeration(symbols, defaultSymbol):
                members.append(("type", .string("enum")))
                members.append(("symbols", .array(symbols.map { .string($0) })))
                if normalized, let defaultSymbol { members.append(("default", .string(defaultSymbol))) }
            case let .fixed(size):
                members.append(("type", .string("fixed")))
                members.append(("size", .integer(size)))
            }
            if normalized {
                if !named.aliases.isEmpty { members.append(("aliases", .array(named.aliases.map { .string($0) }))) }
                if let logicalType = named.logicalType { members.append(("logicalType", .string(logicalType))) }
            }
            return .object(members)
        default:
            return .string(node.primitiveName ?? "null")
        }
    }
}
