import SchemaRegistry

/// The schema registry's pages: subjects, a subject's versions, a diff of two versions, compatibility and mode, and
/// registering a version, all through the registry's REST API.
extension Console {
    static let compatibilityLevels = ["BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"]
    static let modes = ["READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"]
    static let schemaTypes = ["AVRO", "PROTOBUF", "JSON"]

    func requireRegistry() throws(ConsoleError) -> RegistryBackend {
        guard let registry else { throw .unavailable("No schema registry is configured for the console.") }
        return registry
    }

    func subjects(_ request: PageRequest) async throws -> RenderedPage {
        let registry = try requireRegistry()
        let names = try await registry.subjects()
        var latest: [String: (id: Int64, version: Int64, type: String)] = [:]
        for schema in try await registry.schemas() {
            guard let subject = schema.member("subject")?.stringValue else { continue }
            latest[subject] = (schema.member("id")?.integerValue ?? -1, schema.member("version")?.integerValue ?? -1,
                               schema.member("schemaType")?.stringValue ?? "AVRO")
        }
        var rows: [[String: Any]] = []
        for name in names {
            let versions = latest[name] == nil ? try await registry.versions(name) : []
            let found = latest[name]
            rows.append([
                "name": name, "link": name.urlEncoded, "type": found?.type ?? "-",
                "versions": found.map { String($0.version) } ?? String(versions.count),
                "latest": found.map { String($0.version) } ?? versions.last.map(String.init) ?? "-",
                "id": found.map { String($0.id) } ?? "-",
            ])
        }
        let compatibility = try await registry.compatibility(nil) ?? "BACKWARD"
        let context: [String: Any] = [
            "subjects": rows, "compatibility": compatibility, "mode": try await registry.mode(nil) ?? "READWRITE",
            "subjectCount": names.count, "schemaCount": Set(latest.values.map(\.id)).count,
            "levels": Self.compatibilityLevels.map { ["name": $0, "selected": $0 == compatibility] },
        ]
        return RenderedPage(title: "Schemas", section: "schemas", template: "subjects", context: context)
    }

    func subject(_ request: PageRequest, name: String) async throws -> RenderedPage {
        let registry = try requireRegistry()
        let versions = try await registry.versions(name)
        guard let last = versions.last else { throw ConsoleError.notFound("Subject \(name) has no versions.") }
        let chosen = try request.query.integer("version", label: "The version", in: 1...Int.max) ?? last
        let schema = try await registry.version(name, String(chosen))
        let ownCompatibility = try await registry.compatibility(name)
        var compatibility = ownCompatibility ?? "BACKWARD"
        if ownCompatibility == nil { compatibility = try await registry.compatibility(nil) ?? "BACKWARD" }
        let mode = try await registry.mode(name) ?? "READWRITE"
        let type = schema.member("schemaType")?.stringValue ?? "AVRO"
        let previous = versions.last { $0 < chosen } ?? chosen
        let references = (schema.member("references")?.arrayValue ?? []).map { reference in
            "\(reference.member("name")?.stringValue ?? "?") → \(reference.member("subject")?.stringValue ?? "?") v\(reference.member("version")?.integerValue ?? 0)"
        }
        let context: [String: Any] = [
            "name": name, "link": name.urlEncoded, "version": chosen, "id": schema.member("id")?.integerValue ?? -1, "type": type,
            "schema": LineDiff.readable(schema.member("schema")?.stringValue ?? ""),
            "versions": versions.map { version in
                ["version": version, "id": version == chosen ? String(schema.member("id")?.integerValue ?? -1) : "…",
                 "selected": version == chosen, "isPrevious": version == previous]
            },
            "hasDiff": versions.count > 1, "compatibility": compatibility, "compatibilityInherited": ownCompatibility == nil,
            "mode": mode, "references": references.joined(separator: ", "),
            "levels": Self.compatibilityLevels.map { ["name": $0, "selected": $0 == compatibility] },
            "modes": Self.modes.map { ["name": $0, "selected": $0 == mode] },
            "types": Self.schemaTypes.map { ["name": $0, "selected": $0 == type] },
        ]
        return RenderedPage(title: "Subject \(name)", section: "schemas", template: "subject", context: context)
    }

    func schemaDiff(_ request: PageRequest, subject: String) async throws -> RenderedPage {
        let registry = try requireRegistry()
        guard let from = try request.query.integer("from", label: "from", in: 1...Int.max),
              let to = try request.query.integer("to", label: "to", in: 1...Int.max) else {
            throw ConsoleError.badRequest("Name the two versions to compare: ?from=1&to=2.")
        }
        let old = LineDiff.readable(try await registry.version(subject, String(from)).member("schema")?.stringValue ?? "")
        let new = LineDiff.readable(try await registry.version(subject, String(to)).member("schema")?.stringValue ?? "")
        let lines = LineDiff.diff(old, new)
        let context: [String: Any] = [
            "name": subject, "link": subject.urlEncoded, "from": from, "to": to,
            "lines": lines.map { ["kind": $0.kind.rawValue, "text": $0.kind.marker + $0.text] },
            "added": lines.filter { $0.kind == .added }.count, "removed": lines.filter { $0.kind == .removed }.count,
        ]
        return RenderedPage(title: "\(subject): \(from) → \(to)", section: "schemas", template: "diff", context: context)
    }

    func setGlobalCompatibility(_ request: PageRequest) async throws -> ActionOutcome {
        let level = try Self.choice(request.form["level"], from: Self.compatibilityLevels, what: "compatibility level")
        try await requireRegistry().setCompatibility(nil, level)
        return ActionOutcome(location: "/schemas", notice: "The global compatibility is \(level).")
    }

    func setCompatibility(_ request: PageRequest, subject: String) async throws -> ActionOutcome {
        let level = try Self.choice(request.form["level"], from: Self.compatibilityLevels, what: "compatibility level")
        try await requireRegistry().setCompatibility(subject, level)
        return ActionOutcome(location: "/schemas/\(subject.urlEncoded)", notice: "\(subject)'s compatibility is \(level).")
    }

    func setMode(_ request: PageRequest, subject: String) async throws -> ActionOutcome {
        let mode = try Self.choice(request.form["mode"], from: Self.modes, what: "mode")
        try await requireRegistry().setMode(subject, mode)
        return ActionOutcome(location: "/schemas/\(subject.urlEncoded)", notice: "\(subject)'s mode is \(mode).")
    }

    /// `POST /schemas/{subject}/versions`, or `POST /schemas` with the subject named in the form.
    func registerSchema(_ request: PageRequest, subject: String?) async throws -> ActionOutcome {
        let name = subject ?? request.form.text("subject") ?? ""
        guard !name.isEmpty else { throw ConsoleError.badRequest("Name the subject.") }
        let type = try Self.choice(request.form["schema_type"], from: Self.schemaTypes, what: "schema type")
        guard let schema = request.form.text("schema") else { throw ConsoleError.badRequest("Give the schema.") }
        let id = try await requireRegistry().register(name, schemaType: type, schema: schema)
        return ActionOutcome(location: "/schemas/\(name.urlEncoded)", notice: "Registered under \(name) with id \(id).")
    }

    static func choice(_ value: String?, from choices: [String], what: String) throws(ConsoleError) -> String {
        guard let value, choices.contains(value) else {
            throw .badRequest("Choose a \(what): \(choices.joined(separator: ", ")).")
        }
        return value
    }
}
