import Hummingbird

/// Confluent's config and mode routes: compatibility levels and the data-contract members of configs
/// (`compatibilityGroup`, default and override metadata and rule sets), and the registry's modes.
extension SchemaRegistryRoutes {
    // MARK: Config and mode

    func addConfigRoutes(to router: Router<BasicRequestContext>) {
        route(router, .get, "/config") { _, _ in
            await handle { Self.globalConfigJSON(await registry.currentState()) }
        }
        route(router, .put, "/config") { request, _ in
            await handle {
                let update = try await Self.configUpdate(request)
                try await registry.updateConfig(update, subject: nil)
                return .object(update.members(levelName: "compatibility"))
            }
        }
        route(router, .delete, "/config") { _, _ in
            await handle {
                let previous = Self.globalConfigJSON(await registry.currentState())
                try await registry.setConfig(nil, subject: nil)
                return previous
            }
        }
        route(router, .get, "/config/:subject") { request, context in
            await handle {
                let subject = try Self.subject(context)
                let state = await registry.currentState()
                if let config = state.subjectConfig[subject] {
                    return .object(config.members(levelName: "compatibilityLevel"))
                }
                guard Self.flag(request, "defaultToGlobal") else { throw RegistryError.subjectLevelCompatibilityNotConfigured(subject) }
                return Self.globalConfigJSON(state)
            }
        }
        route(router, .put, "/config/:subject") { request, context in
            await handle {
                let update = try await Self.configUpdate(request)
                try await registry.updateConfig(update, subject: try Self.subject(context))
                return .object(update.members(levelName: "compatibility"))
            }
        }
        route(router, .delete, "/config/:subject") { _, context in
            await handle {
                let subject = try Self.subject(context)
                guard let previous = await registry.currentState().subjectConfig[subject] else {
                    throw RegistryError.subjectNotFound(subject)
                }
                try await registry.setConfig(nil, subject: subject)
                return .object(previous.members(levelName: "compatibilityLevel"))
            }
        }
        route(router, .get, "/mode") { _, _ in
            await handle { .object([("mode", .string(await registry.currentState().mode(for: nil).rawValue))]) }
        }
        route(router, .put, "/mode") { request, _ in
            await handle {
                let mode = try await Self.mode(request)
                try await registry.setMode(mode, subject: nil, force: Self.flag(request, "force"))
                return .object([("mode", .string(mode.rawValue))])
            }
        }
        route(router, .delete, "/mode") { _, _ in
            await handle {
                let previous = await registry.currentState().mode(for: nil)
                try await registry.setMode(nil, subject: nil, force: true)
                return .object([("mode", .string(previous.rawValue))])
            }
        }
        route(router, .get, "/mode/:subject") { request, context in
            await handle {
                let subject = try Self.subject(context)
                let state = await registry.currentState()
                if let mode = state.subjectMode[subject] { return .object([("mode", .string(mode.rawValue))]) }
                guard Self.flag(request, "defaultToGlobal") else { throw RegistryError.subjectLevelModeNotConfigured(subject) }
                return .object([("mode", .string(state.mode(for: nil).rawValue))])
            }
        }
        route(router, .put, "/mode/:subject") { request, context in
            await handle {
                let mode = try await Self.mode(request)
                try await registry.setMode(mode, subject: try Self.subject(context), force: Self.flag(request, "force"))
                return .object([("mode", .string(mode.rawValue))])
            }
        }
        route(router, .delete, "/mode/:subject") { _, context in
            await handle {
                let subject = try Self.subject(context)
                guard let previous = await registry.currentState().subjectMode[subject] else { throw RegistryError.subjectNotFound(subject) }
                try await registry.setMode(nil, subject: subject, force: true)
                return .object([("mode", .string(previous.rawValue))])
            }
        }
    }

    /// A PUT /config body: the members it gives (at least one; a level Confluent knows, metadata and rule sets of
    /// the right shape).
    private static func configUpdate(_ request: Request) async throws -> RegistryConfig {
        let body = try await body(request)
        let update = try RegistryConfig(json: body)
        guard !update.isEmpty else {
            throw RegistryError.invalidCompatibilityLevel(body["compatibility"]?.stringValue ?? body["compatibilityLevel"]?.stringValue ?? "")
        }
        return update
    }

    private static func mode(_ request: Request) async throws -> RegistryMode {
        let text = try await body(request)["mode"]?.stringValue ?? ""
        guard let mode = RegistryMode(rawValue: text.uppercased()) else { throw RegistryError.invalidMode(text) }
        return mode
    }

    /// The global config as GET /config answers it: the level always (BACKWARD when none was set).
    static func globalConfigJSON(_ state: RegistryState) -> JSONValue {
        var config = state.globalConfig
        config.compatibilityLevel = state.compatibility(for: nil)
        return .object(config.members(levelName: "compatibilityLevel"))
    }
}
