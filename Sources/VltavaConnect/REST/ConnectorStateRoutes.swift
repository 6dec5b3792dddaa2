import Hummingbird
import SchemaRegistry

/// Statuses, tasks, restarts, pause/resume/stop.
extension ConnectRoutes {
    func addStateRoutes(to router: Router<BasicRequestContext>) {
        router.get("/connectors/:name/status") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                return .ok(Self.status(name, try await herder.connector(name)))
            }
        }
        router.post("/connectors/:name/restart") { request, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                let includeTasks = Self.flag(request, "includeTasks")
                let onlyFailed = Self.flag(request, "onlyFailed")
                let snapshot = try await herder.restartConnector(name, includeTasks: includeTasks, onlyFailed: onlyFailed)
                // Kafka's older form (no flags) restarts the connector alone and answers without a body.
                if !includeTasks, !onlyFailed { return Answer(status: 204) }
                return Answer(status: 202, body: Self.status(name, snapshot))
            }
        }
        for (path, target) in [("pause", TargetState.paused), ("resume", .started), ("stop", .stopped)] {
            router.put("/connectors/:name/\(path)") { _, context in
                await Self.handle { () async throws(ConnectRestError) in
                    try await herder.setTargetState(try Self.parameter(context, "name"), target)
                    return Answer(status: 202)
                }
            }
        }
        router.get("/connectors/:name/tasks") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                let record = try await herder.connector(name)
                return .ok(.array(record.taskConfigs.enumerated().map { index, config in
                    .object([
                        ("id", .object([("connector", .string(name)), ("task", .integer(index))])),
                        ("config", Self.object(config)),
                    ])
                }))
            }
        }
        router.get("/connectors/:name/tasks/:task/status") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                let task = try Self.taskIndex(context)
                let record = try await herder.connector(name)
                guard record.taskConfigs.indices.contains(task) else {
                    throw ConnectRestError(404, "No status found for task \(name)-\(task)")
                }
                return .ok(Self.taskStatus(task, record))
            }
        }
        router.post("/connectors/:name/tasks/:task/restart") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                try await herder.restartTask(ConnectorTaskId(connector: name, task: try Self.taskIndex(context)))
                return Answer(status: 204)
            }
        }
    }
}
