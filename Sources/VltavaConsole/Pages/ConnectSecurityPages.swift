import SchemaRegistry
import VltavaClient
import VltavaSecurity

/// Connectors (through Connect's REST API) and security (ACLs and SCRAM users, through Kafka's admin API).
extension Console {
    func requireConnect() throws(ConsoleError) -> ConnectBackend {
        guard let connect else { throw .unavailable("No Kafka Connect worker is configured for the console.") }
        return connect
    }

    func connectors(_ request: PageRequest) async throws -> RenderedPage {
        let connectors = try await requireConnect().connectors()
        let rows: [[String: Any]] = connectors.sorted { $0.0 < $1.0 }.map { name, expanded in
            let status = expanded.member("status")
            return [
                "name": name, "link": name.urlEncoded,
                "type": expanded.member("info")?.member("type")?.stringValue ?? status?.member("type")?.stringValue ?? "-",
                "state": status?.member("connector")?.member("state")?.stringValue ?? "-",
                "tasks": status?.member("tasks")?.arrayValue?.count ?? 0,
                "worker": status?.member("connector")?.member("worker_id")?.stringValue ?? "-",
            ]
        }
        return RenderedPage(title: "Connectors", section: "connectors", template: "connectors", context: ["connectors": rows])
    }

    func connector(_ request: PageRequest, name: String) async throws -> RenderedPage {
        let connect = try requireConnect()
        let status = try await connect.status(name)
        let info = try await connect.info(name)
        let topics = (try? await connect.topics(name)) ?? []
        let tasks: [[String: Any]] = (status.member("tasks")?.arrayValue ?? []).map { task in
            ["id": task.member("id")?.integerValue ?? -1, "state": task.member("state")?.stringValue ?? "-",
             "worker": task.member("worker_id")?.stringValue ?? "-", "trace": task.member("trace")?.stringValue ?? ""]
        }
        let config: [[String: Any]] = (info.member("config")?.objectValue ?? []).sorted { $0.0 < $1.0 }.map { key, value in
            ["name": key, "value": Self.isSecret(key) ? "(hidden)" : value.stringValue ?? value.serialized]
        }
        let context: [String: Any] = [
            "name": name, "link": name.urlEncoded, "type": status.member("type")?.stringValue ?? info.member("type")?.stringValue ?? "-",
            "state": status.member("connector")?.member("state")?.stringValue ?? "-",
            "worker": status.member("connector")?.member("worker_id")?.stringValue ?? "-",
            "trace": status.member("connector")?.member("trace")?.stringValue ?? "",
            "tasks": tasks, "config": config, "topics": topics.map { ["name": $0, "link": $0.urlEncoded] },
        ]
        return RenderedPage(title: "Connector \(name)", section: "connectors", template: "connector", context: context)
    }

    /// Config values whose names say they are secret are not shown (Connect's REST API shows them as given).
    static func isSecret(_ key: String) -> Bool {
        let lower = key.lowercased()
        return ["password", "secret", "jaas.config", "token", "credentials"].contains { lower.contains($0) }
    }

    func createConnector(_ request: PageRequest) async throws -> ActionOutcome {
        guard let text = request.form.text("config") else { throw ConsoleError.badRequest("Give the connector's configuration as JSON.") }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(text)
        } catch {
            throw ConsoleError.badRequest("The configuration is not JSON: \(error.description).")
        }
        var body = parsed
        // A flat config with its name, as `PUT /connectors/{name}/config` takes it, is wrapped as POST wants it.
        if parsed.member("config") == nil, let name = parsed.member("name")?.stringValue {
            body = .object([("name", .string(name)), ("config", parsed)])
        }
        let name = try await requireConnect().create(body)
        return ActionOutcome(location: "/connectors/\(name.urlEncoded)", notice: "Created connector \(name).")
    }

    func connectorAction(_ request: PageRequest, name: String, verb: String) async throws -> ActionOutcome {
        if verb == "delete" { try Self.confirm(request, name: name, what: "delete the connector") }
        try await requireConnect().perform(name, verb: verb)
        let done = ["pause": "Paused", "resume": "Resumed", "restart": "Restarted", "delete": "Deleted"][verb] ?? verb
        return ActionOutcome(location: verb == "delete" ? "/connectors" : "/connectors/\(name.urlEncoded)", notice: "\(done) \(name).")
    }

    // MARK: Security

    func security(_ request: PageRequest) async throws -> RenderedPage {
        var aclNote = "No ACLs."
        var acls: [[String: Any]] = []
        do {
            let bindings = try await kafka.describeAcls(AclBindingFilter(
                resourceType: .any, resourceName: nil, patternType: .any, principal: nil, host: nil, operation: .any, permission: .any))
            acls = bindings.sorted { ($0.principal, $0.resourceName) < ($1.principal, $1.resourceName) }.map { binding in
                [
                    "principal": binding.principal, "host": binding.host, "operation": Self.kafkaName(binding.operation),
                    "permission": Self.kafkaName(binding.permission), "resourceType": Self.kafkaName(binding.resourceType),
                    "resourceName": binding.resourceName, "patternType": Self.kafkaName(binding.patternType),
                ]
            }
        } catch {
            aclNote = "ACLs cannot be listed: \(error)"
        }
        var userNote = "No SCRAM users."
        var users: [[String: Any]] = []
        do {
            users = try await kafka.describeScramUsers().sorted { $0.user < $1.user }.map { user in
                [
                    "name": user.user,
                    "mechanisms": user.credentials.map { "\($0.mechanism.rawValue) (\($0.iterations) iterations)" }.joined(separator: ", "),
                    "credentials": user.credentials.map { ["mechanism": $0.mechanism.rawValue] },
                ]
            }
        } catch {
            userNote = "SCRAM users cannot be listed: \(error)"
        }
        let context: [String: Any] = [
            "acls": acls, "users": users, "aclNote": aclNote, "userNote": userNote,
            "operations": AclOperation.allCases.filter { $0 != .any }.map { Self.kafkaName($0) },
            "resourceTypes": AclResourceType.allCases.filter { $0 != .any }.map { Self.kafkaName($0) },
        ]
        return RenderedPage(title: "Security", section: "security", template: "security", context: context)
    }

    func createAcl(_ request: PageRequest) async throws -> ActionOutcome {
        let binding = try Self.binding(request.form)
        if let problem = binding.problem { throw ConsoleError.badRequest(problem) }
        try await kafka.createAcls([binding])
        return ActionOutcome(location: "/security", notice: "Added the ACL for \(binding.principal).")
    }

    func deleteAcl(_ request: PageRequest) async throws -> ActionOutcome {
        let binding = try Self.binding(request.form)
        let deleted = try await kafka.deleteAcls([AclBindingFilter(
            resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType,
            principal: binding.principal, host: binding.host, operation: binding.operation, permission: binding.permission)])
        return ActionOutcome(location: "/security", notice: "Deleted \(deleted.count) ACL(s) of \(binding.principal).")
    }

    static func binding(_ form: FormFields) throws(ConsoleError) -> AclBinding {
        guard let principal = form.text("principal"), principal.contains(":") else {
            throw .badRequest("The principal is TYPE:name, such as User:alice.")
        }
        guard let resourceName = form.text("resource_name") else { throw .badRequest("Name the resource (a topic, a group, kafka-cluster...).") }
        return AclBinding(
            resourceType: try parse(form["resource_type"], as: AclResourceType.self, what: "resource type"),
            resourceName: resourceName,
            patternType: try parse(form["pattern_type"], as: AclPatternType.self, what: "pattern type"),
            principal: principal, host: form.text("host") ?? "*",
            operation: try parse(form["operation"], as: AclOperation.self, what: "operation"),
            permission: try parse(form["permission"], as: AclPermission.self, what: "permission"))
    }

    func upsertUser(_ request: PageRequest) async throws -> ActionOutcome {
        guard let user = request.form.text("user") else { throw ConsoleError.badRequest("Name the user.") }
        guard let password = request.form["password"], !password.isEmpty else { throw ConsoleError.badRequest("Give the password.") }
        guard let mechanism = ScramMechanism(rawValue: request.form["mechanism"] ?? "") else {
            throw ConsoleError.badRequest("Choose SCRAM-SHA-256 or SCRAM-SHA-512.")
        }
        let iterations = try request.form.integer("iterations", label: "Iterations", in: Int32(4096)...Int32(16384)) ?? 8192
        try await kafka.upsertScramCredential(user: user, mechanism: mechanism, password: password, iterations: iterations)
        return ActionOutcome(location: "/security", notice: "Set \(user)'s \(mechanism.rawValue) password.")
    }

    func deleteUser(_ request: PageRequest) async throws -> ActionOutcome {
        guard let user = request.form.text("user"), let mechanism = ScramMechanism(rawValue: request.form["mechanism"] ?? "") else {
            throw ConsoleError.badRequest("Name the user and the mechanism.")
        }
        try await kafka.deleteScramCredential(user: user, mechanism: mechanism)
        return ActionOutcome(location: "/security", notice: "Removed \(user)'s \(mechanism.rawValue) credential.")
    }

    /// Kafka's name of an enum case: `describeConfigs` → `DESCRIBE_CONFIGS`.
    static func kafkaName(_ value: some Any) -> String {
        var out = ""
        for character in "\(value)" {
            if character.isUppercase { out += "_" }
            out += character.uppercased()
        }
        return out
    }

    static func parse<T: CaseIterable>(_ text: String?, as type: T.Type, what: String) throws(ConsoleError) -> T {
        guard let text, let found = T.allCases.first(where: { kafkaName($0) == text.uppercased() }) else {
            throw .badRequest("Unknown \(what) '\(text ?? "")'.")
        }
        return found
    }
}
