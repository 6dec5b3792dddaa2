import Hummingbird
import SchemaRegistry

/// `/connectors`: listing, creating, reading, configuring and deleting connectors, and their topics.
extension ConnectRoutes {
    func addConnectorRoutes(to router: Router<BasicRequestContext>) {
        router.get("/connectors") { request, _ in
            await Self.handle { () async throws(ConnectRestError) in try await self.list(request) }
        }
        router.post("/connectors") { request, _ in
            await Self.handle { () async throws(ConnectRestError) in try await self.create(request) }
        }
        router.get("/connectors/:name") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                return .ok(Self.info(name, try await herder.connector(name)))
            }
        }
        router.delete("/connectors/:name") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                try await herder.deleteConnector(try Self.parameter(context, "name"))
                return Answer(status: 204)
            }
        }
        router.get("/connectors/:name/config") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                .ok(Self.object(try await herder.connector(try Self.parameter(context, "name")).config))
            }
        }
        router.put("/connectors/:name/config") { request, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                var config = try Self.strictConfig(try await Self.body(request), what: "The connector configuration")
                try Self.checkName(name, in: &config)
                let (created, record) = try await herder.putConnector(name: name, config: config, allowReplace: true)
                return Answer(status: created ? 201 : 200, body: Self.info(name, record))
            }
        }
        router.patch("/connectors/:name/config") { request, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                let patch = try Self.configMap(try await Self.body(request), what: "The connector configuration patch")
                var config = try await herder.connector(name).config
                for (key, value) in patch { config[key] = value }
                try Self.checkName(name, in: &config)
                let (_, record) = try await herder.putConnector(name: name, config: config, allowReplace: true)
                return .ok(Self.info(name, record))
            }
        }
        router.get("/connectors/:name/topics") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                let topics = try await herder.connector(name).topics.sorted()
                return .ok(.object([(name, .object([("topics", .array(topics.map { .string($0) }))]))]))
            }
        }
        router.put("/connectors/:name/topics/reset") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                try await herder.resetTopics(try Self.parameter(context, "name"))
                return Answer(status: 202)
            }
        }
    }

    /// `GET /connectors`, with `?expand=status` and/or `?expand=info`.
    private func list(_ request: Request) async throws(ConnectRestError) -> Answer {
        let names = await herder.connectorNames()
        let expansions = request.uri.queryParameters[values: "expand"].map(String.init)
        guard !expansions.isEmpty else { return .ok(.array(names.map { .string($0) })) }
        var result: [(String, JSONValue)] = []
        for name in names {
            guard let record = try? await herder.connector(name) else { continue }
            var members: [(String, JSONValue)] = []
            for expansion in expansions {
                switch expansion {
                case "status": members.append(("status", Self.status(name, record)))
                case "info": members.append(("info", Self.info(name, record)))
                default: continue
                }
            }
            result.append((name, .object(members)))
        }
        return .ok(.object(result))
    }

    /// `POST /connectors` with `{"name", "config", "initial_state"?}`.
    private func create(_ request: Request) async throws(ConnectRestError) -> Answer {
        let body = try await Self.body(request)
        guard body.isObject else { throw ConnectRestError(400, "The request body must be a JSON object with \"name\" and \"config\"") }
        guard let rawName = body["name"]?.stringValue else { throw ConnectRestError(400, "The request body has no connector \"name\"") }
        let name = rawName.trimmingWhitespace()
        guard let configValue = body["config"], configValue != .null else {
            throw ConnectRestError(400, "The request body has no connector \"config\"")
        }
        var config = try Self.strictConfig(configValue, what: "The connector configuration")
        if let included = config["name"], included != name {
            throw ConnectRestError(400, "Connector name configuration (\(included)) doesn't match connector name in the URL (\(name))")
        }
        config["name"] = name
        var initialState: TargetState?
        if let stateValue = body["initial_state"], stateValue != .null {
            guard let text = stateValue.stringValue, let state = TargetState(initialState: text) else {
                throw ConnectRestError(400, "initial_state must be one of RUNNING, PAUSED or STOPPED")
            }
            initialState = state
        }
        let (_, record) = try await herder.putConnector(name: name, config: config, initialState: initialState, allowReplace: false)
        return Answer(status: 201, body: Self.info(name, record))
    }

    /// The config's `name` must match the URL's; it is added when missing (Kafka's `checkAndPutConnectorConfigName`).
    static func checkName(_ name: String, in config: inout [String: String]) throws(ConnectRestError) {
        if let included = config["name"] {
            guard included == name else {
                throw ConnectRestError(400, "Connector name configuration (\(included)) doesn't match connector name in the URL (\(name))")
            }
        } else {
            config["name"] = name
        }
    }

    /// Kafka's `ConnectorInfo`: `{"name","config","tasks":[{"connector","task"}],"type"}`.
    static func info(_ name: String, _ record: ConnectorRecord) -> JSONValue {
        .object([
            ("name", .string(name)), ("config", object(record.config)),
            ("tasks", .array(record.taskConfigs.indices.map { .object([("connector", .string(name)), ("task", .integer($0))]) })),
            ("type", .string(connectorType(record))),
        ])
    }

    static func connectorType(_ record: ConnectorRecord) -> String {
        (try? ConnectorPlugins.named(record.config["connector.class"] ?? ""))?.type.rawValue ?? "unknown"
    }

    /// Kafka's `ConnectorStateInfo`.
    static func status(_ name: String, _ record: ConnectorRecord) -> JSONValue {
        var connector: [(String, JSONValue)] = [("state", .string(record.status.state.rawValue)), ("worker_id", .string(record.status.workerId))]
        if let trace = record.status.trace { connector.append(("trace", .string(trace))) }
        return .object([
            ("name", .string(name)), ("connector", .object(connector)),
            ("tasks", .array(record.taskConfigs.indices.map { taskStatus($0, record) })),
            ("type", .string(connectorType(record))),
        ])
    }

    /// Kafka's `TaskState`: `{"id","state","worker_id","trace"?}`.
    static func taskStatus(_ task: Int, _ record: ConnectorRecord) -> JSONValue {
        let status = record.taskStatuses[task] ?? ConnectStatus(state: .unassigned, workerId: record.status.workerId)
        var members: [(String, JSONValue)] = [("id", .integer(task)), ("state", .string(status.state.rawValue)),
                                              ("worker_id", .string(status.workerId))]
        if let trace = status.trace { members.append(("trace", .string(trace))) }
        return .object(members)
    }
}
