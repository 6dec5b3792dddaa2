#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Hummingbird
import Synchronization

/// Confluent's REST routes on a Hummingbird router. Handlers answer JSON with the registry's content type, and
/// every failure as `{"error_code": N, "message": "..."}`.
struct SchemaRegistryRoutes: Sendable {
    let registry: SchemaRegistry
    /// The largest request body read (a registration carries the schema text, escaped).
    static let maximumBodyBytes = 16 << 20
    static let contentType = "application/vnd.schemaregistry.v1+json"

    /// The paths served, for telling a wrong method (405) from an unknown path (404).
    let routes: RouteTable

    init(registry: SchemaRegistry, routes: RouteTable = RouteTable()) {
        self.registry = registry
        self.routes = routes
    }

    /// Serves `path` for `method` and records it in `routes`.
    func route<Output: ResponseGenerator>(
        _ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: String,
        use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Output
    ) {
        routes.add(path)
        router.on(RouterPath(path), method: method, use: handler)
    }

    func add(to router: Router<BasicRequestContext>) {
        route(router, .get, "/") { _, _ in Self.json(.object([])) }
        route(router, .get, "/schemas/types") { _, _ in
            Self.json(.array([.string("JSON"), .string("PROTOBUF"), .string("AVRO")]))
        }
        route(router, .get, "/subjects") { request, _ in await handle { try await self.listSubjects(request) } }
        route(router, .post, "/subjects/:subject") { request, context in
            await handle { try await self.lookup(request, subject: try Self.subject(context)) }
        }
        route(router, .delete, "/subjects/:subject") { request, context in
            await handle {
                let versions = try await registry.deleteSubject(try Self.subject(context), permanent: Self.flag(request, "permanent"))
                return .array(versions.map { .integer($0) })
            }
        }
        route(router, .get, "/subjects/:subject/versions") { request, context in
            await handle { try await self.listVersions(request, subject: try Self.subject(context)) }
        }
        route(router, .post, "/subjects/:subject/versions") { request, context in
            await handle { try await self.register(request, subject: try Self.subject(context)) }
        }
        route(router, .get, "/subjects/:subject/versions/:version") { request, context in
            await handle {
                let state = await registry.currentState()
                var record = try registry.version(
                    try Self.subject(context), try Self.parameter(context, "version"),
                    includeDeleted: Self.flag(request, "deleted"), state: state)
                if request.uri.queryParameters["format"] == "serialized",
                    let serialized = try registry.parsed(record, state: state).serializedText {
                    record.schema = serialized
                }
                return SchemaRegistry.versionJSON(record)
            }
        }
        route(router, .get, "/subjects/:subject/versions/:version/schema") { request, context in
            await handleSchemaText {
                let state = await registry.currentState()
                return try registry.version(
                    try Self.subject(context), try Self.parameter(context, "version"),
                    includeDeleted: Self.flag(request, "deleted"), state: state
                ).schema
            }
        }
        route(router, .get, "/subjects/:subject/versions/:version/referencedby") { _, context in
            await handle {
                let state = await registry.currentState()
                let subject = try Self.subject(context)
                let record = try registry.version(subject, try Self.parameter(context, "version"), includeDeleted: false, state: state)
                return .array(state.referencedBy(subject: subject, version: record.version).map { .integer($0) })
            }
        }
        route(router, .get, "/subjects/:subject/metadata") { request, context in
            await handle {
                let state = await registry.currentState()
                let record = try registry.latestVersion(
                    try Self.subject(context), withMetadata: Self.metadataQuery(request), includeDeleted: Self.flag(request, "deleted"),
                    state: state)
                return SchemaRegistry.versionJSON(record)
            }
        }
        route(router, .delete, "/subjects/:subject/versions/:version") { request, context in
            await handle {
                let version = try await registry.deleteVersion(
                    try Self.subject(context), try Self.parameter(context, "version"), permanent: Self.flag(request, "permanent"))
                return .integer(version)
            }
        }
        route(router, .get, "/schemas") { request, _ in await handle { try await self.listSchemas(request) } }
        route(router, .get, "/schemas/ids/:id") { request, context in
            await handle { try await self.schemaById(request, id: try Self.id(context)) }
        }
        route(router, .get, "/schemas/ids/:id/schema") { request, context in
            await handleSchemaText {
                let state = await registry.currentState()
                guard let stored = state.schema(try Self.id(context), in: Self.idContext(request)) else { throw RegistryError.schemaNotFound() }
                return stored.schema
            }
        }
        route(router, .get, "/contexts") { _, _ in
            await handle { .array(await registry.currentState().contexts.map { .string($0) }) }
        }
        route(router, .get, "/schemas/ids/:id/subjects") { request, context in
            await handle {
                let users = try await self.usersOfId(request, id: try Self.id(context))
                return .array(Array(Set(users.map(\.subject))).sorted().map { .string($0) })
            }
        }
        route(router, .get, "/schemas/ids/:id/versions") { request, context in
            await handle {
                let users = try await self.usersOfId(request, id: try Self.id(context))
                return .array(users.map { .object([("subject", .string($0.subject)), ("version", .integer($0.version))]) })
            }
        }
        addConfigRoutes(to: router)
        addCompatibilityRoutes(to: router)
    }

    // MARK: Subjects and versions

    private func listSubjects(_ request: Request) async throws -> JSONValue {
        let state = await registry.currentState()
        let prefix = request.uri.queryParameters["subjectPrefix"].map(String.init) ?? ""
        return .array(state.subjectNames(includeDeleted: Self.flag(request, "deleted"), deletedOnly: Self.flag(request, "deletedOnly"))
            .filter { $0.hasPrefix(prefix) }
            .map { .string($0) })
    }

    private func listVersions(_ request: Request, subject: String) async throws -> JSONValue {
        let state = await registry.currentState()
        let deletedOnly = Self.flag(request, "deletedOnly")
        let includeDeleted = Self.flag(request, "deleted")
        let versions = state.versions(of: subject, includeDeleted: includeDeleted, deletedOnly: deletedOnly)
        if versions.isEmpty, !(deletedOnly && state.subjectExists(subject)) { throw RegistryError.subjectNotFound(subject) }
        return .array(versions.map { .integer($0.version) })
    }

    /// The fields of a registration or lookup body.
    struct SchemaRequest {
        var type: SchemaType
        var schema: String
        var references: [SchemaReference]
        var contract: DataContract
        var id: Int?
        var version: Int?
    }

    private func schemaRequest(_ request: Request) async throws -> SchemaRequest {
        let body = try await Self.body(request)
        guard let text = body["schema"]?.stringValue else {
            throw RegistryError.invalidSchema("Empty schema")
        }
        let typeName = body["schemaType"]?.stringValue ?? "AVRO"
        guard let type = SchemaType(rawValue: typeName.uppercased()) else {
            throw RegistryError.invalidSchema("Invalid schema type \(typeName)")
        }
        var references: [SchemaReference] = []
        for value in body["references"]?.arrayValue ?? [] {
            guard let reference = SchemaReference(json: value) else { throw RegistryError.invalidSchema("Invalid reference \(value.serialized)") }
            references.append(reference)
        }
        let contract = DataContract(metadata: try DataContracts.metadata(body["metadata"]), ruleSet: try DataContracts.ruleSet(body["ruleSet"]))
        return SchemaRequest(
            type: type, schema: text, references: references, contract: contract, id: body["id"]?.integerValue.map { Int($0) },
            version: body["version"]?.integerValue.map { Int($0) })
    }

    private func register(_ request: Request, subject: String) async throws -> JSONValue {
        let body = try await schemaRequest(request)
        let normalize = try await Self.normalizes(request, subject: subject, registry: registry)
        let registered = try await registry.register(
            subject: subject, type: body.type, schema: body.schema, references: body.references,
            normalize: normalize, contract: body.contract, id: body.id, version: body.version)
        return .object([("id", .integer(registered.id))])
    }

    private func lookup(_ request: Request, subject: String) async throws -> JSONValue {
        let body = try await schemaRequest(request)
        let state = await registry.currentState()
        guard state.subjectExists(subject) else { throw RegistryError.subjectNotFound(subject) }
        let normalized = try await Self.normalizes(request, subject: subject, registry: registry)
        let identity = try registry.identity(ofText: body.schema, type: body.type, references: body.references, state: state,
                                             normalized: normalized, context: RegistryContexts.context(ofSubject: subject))
        // A lookup without metadata (rule set) finds the schema whatever its version's; with it, only that.
        let candidates = state.versions(of: subject, includeDeleted: Self.flag(request, "deleted")).filter { record in
            (body.contract.metadata.map { DataContracts.canonical($0) == record.metadata.map(DataContracts.canonical) } ?? true)
                && (body.contract.ruleSet.map { DataContracts.canonical($0) == record.ruleSet.map(DataContracts.canonical) } ?? true)
        }
        guard let record = try candidates.last(where: { try registry.identity(of: $0, state: state, normalized: normalized) == identity })
        else {
            throw RegistryError.schemaNotFound()
        }
        return SchemaRegistry.versionJSON(record)
    }

    // MARK: Schemas by id

    /// The context an id is looked up in: that of the request's `subject` parameter (Confluent's way of naming a
    /// context for ids), else the default one.
    static func idContext(_ request: Request) -> String {
        let subject = request.uri.queryParameters["subject"].map { String($0).removingPercentEncoding ?? String($0) }
        return RegistryContexts.context(ofRequestSubject: subject.flatMap { $0.isEmpty ? nil : $0 })
    }

    private func schemaById(_ request: Request, id: Int) async throws -> JSONValue {
        let state = await registry.currentState()
        let context = Self.idContext(request)
        guard let stored = state.schema(id, in: context) else { throw RegistryError.schemaNotFound() }
        // A subject named in full must use the id; a context alone (`:.ctx:`, from a context URL) only picks the ids.
        if let subject = request.uri.queryParameters["subject"].map({ String($0).removingPercentEncoding ?? String($0) }),
            !subject.isEmpty, !RegistryContexts.namesContextOnly(subject),
            !state.subjectVersions(usingId: id, in: context).contains(where: { $0.subject == subject }) {
            throw RegistryError.schemaNotFound()
        }
        var schemaText = stored.schema
        if let format = request.uri.queryParameters["format"], !format.isEmpty {
            let parsed = try registry.parsed(id: id, context: context, state: state)
            schemaText = format == "serialized" ? parsed.serializedText ?? stored.schema : parsed.canonicalText
        }
        var members: [(String, JSONValue)] = []
        if stored.schemaType != .avro { members.append(("schemaType", .string(stored.schemaType.rawValue))) }
        if !stored.references.isEmpty { members.append(("references", .array(stored.references.map(\.json)))) }
        if let metadata = stored.metadata { members.append(("metadata", metadata)) }
        if let ruleSet = stored.ruleSet { members.append(("ruleSet", ruleSet)) }
        members.append(("schema", .string(schemaText)))
        return .object(members)
    }

    private func usersOfId(_ request: Request, id: Int) async throws -> [RegistryState.SubjectVersion] {
        let state = await registry.currentState()
        let context = Self.idContext(request)
        guard state.schema(id, in: context) != nil else { throw RegistryError.schemaNotFound() }
        let includeDeleted = Self.flag(request, "deleted")
        return state.subjectVersions(usingId: id, in: context).filter { user in
            includeDeleted || state.subjects[user.subject]?[user.version]?.deleted == false
        }
    }

    private func listSchemas(_ request: Request) async throws -> JSONValue {
        let state = await registry.currentState()
        let prefix = request.uri.queryParameters["subjectPrefix"].map(String.init) ?? ""
        let latestOnly = Self.flag(request, "latestOnly")
        var result: [JSONValue] = []
        for subject in state.subjectNames(includeDeleted: Self.flag(request, "deleted")) where subject.hasPrefix(prefix) {
            let versions = state.versions(of: subject, includeDeleted: Self.flag(request, "deleted"))
            for record in latestOnly ? Array(versions.suffix(1)) : versions {
                result.append(SchemaRegistry.versionJSON(record))
            }
        }
        return .array(result)
    }

    // MARK: Compatibility

    private func addCompatibilityRoutes(to router: Router<BasicRequestContext>) {
        route(router, .post, "/compatibility/subjects/:subject/versions/:version") { request, context in
            await handle {
                try await self.checkCompatibility(request, subject: try Self.subject(context), version: try Self.parameter(context, "version"))
            }
        }
        route(router, .post, "/compatibility/subjects/:subject/versions") { request, context in
            await handle { try await self.checkCompatibility(request, subject: try Self.subject(context), version: nil) }
        }
    }

    private func checkCompatibility(_ request: Request, subject: String, version: String?) async throws -> JSONValue {
        let body = try await schemaRequest(request)
        let problems: [String]
        do {
            problems = try await registry.checkCompatibility(
                subject: subject, versionText: version, type: body.type, schema: body.schema, references: body.references,
                contract: body.contract)
        } catch let error as RegistryError where error.code == 40401 && version == nil {
            problems = []
        }
        var members: [(String, JSONValue)] = [("is_compatible", .bool(problems.isEmpty))]
        if Self.flag(request, "verbose") { members.append(("messages", .array(problems.map { .string($0) }))) }
        return .object(members)
    }

    // MARK: Plumbing

    /// Whether a registration or lookup normalizes: `normalize=true` in the request, or the subject's (else the
    /// global) config's `normalize`, as in Confluent's registry.
    static func normalizes(_ request: Request, subject: String, registry: SchemaRegistry) async throws -> Bool {
        if let given = request.uri.queryParameters["normalize"] { return given.lowercased() == "true" }
        return await registry.currentState().config(for: subject).normalize == true
    }

    /// The `key=...&value=...` pairs of a metadata lookup, in order.
    private static func metadataQuery(_ request: Request) throws -> [(String, String)] {
        let keys = request.uri.queryParameters.getAll("key").map { String($0).removingPercentEncoding ?? String($0) }
        let values = request.uri.queryParameters.getAll("value").map { String($0).removingPercentEncoding ?? String($0) }
        guard keys.count == values.count else { throw RegistryError(code: 42201, message: "Invalid metadata: each key needs a value") }
        return Array(zip(keys, values))
    }

    static func flag(_ request: Request, _ name: String) -> Bool {
        request.uri.queryParameters[name[...]].map { $0.lowercased() == "true" } ?? false
    }

    static func parameter(_ context: BasicRequestContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name) else { throw RegistryError(code: 404, message: "HTTP 404 Not Found") }
        return value.removingPercentEncoding ?? value
    }

    static func subject(_ context: BasicRequestContext) throws -> String {
        try parameter(context, "subject")
    }

    private static func id(_ context: BasicRequestContext) throws -> Int {
        guard let id = Int(try parameter(context, "id")) else { throw RegistryError.schemaNotFound() }
        return id
    }

    /// The request body as JSON; an unreadable body is 422 as in Confluent's registry.
    static func body(_ request: Request) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBodyBytes)
        } catch {
            throw RegistryError(code: 413, message: "Request body larger than \(maximumBodyBytes) bytes")
        }
        do {
            return try JSONParser.parse(bytes: Array(buffer.readableBytesView), maximumDepth: 64, maximumBytes: maximumBodyBytes)
        } catch {
            throw RegistryError.unprocessable("Unrecognized request body: \(error)")
        }
    }

    static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized)))
    }

    static func error(_ error: RegistryError) -> Response {
        json(.object([("error_code", .integer(error.code)), ("message", .string(error.message))]), status: error.httpStatus)
    }
}

/// Runs a handler and turns its answer, or its error, into a response.
func handle(_ body: () async throws -> JSONValue) async -> Response {
    do {
        return SchemaRegistryRoutes.json(try await body())
    } catch let error as RegistryError {
        return SchemaRegistryRoutes.error(error)
    } catch {
        return SchemaRegistryRoutes.error(.store("\(error)"))
    }
}

/// As `handle`, for routes that answer a schema's own text (JSON for AVRO and JSON Schema, as Confluent's does).
private func handleSchemaText(_ body: () async throws -> String) async -> Response {
    do {
        let text = try await body()
        return Response(
            status: .ok, headers: [.contentType: SchemaRegistryRoutes.contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    } catch let error as RegistryError {
        return SchemaRegistryRoutes.error(error)
    } catch {
        return SchemaRegistryRoutes.error(.store("\(error)"))
    }
}

/// The path templates of the routes (`/subjects/:subject/versions`), filled while the routes are added.
final class RouteTable: Sendable {
    private let templates = Mutex<[[Substring]]>([])

    init() {}

    func add(_ path: String) {
        let segments = path.split(separator: "/")
        templates.withLock { if !$0.contains(segments) { $0.append(segments) } }
    }

    /// Whether some route serves `path` (with some method): its segments match a template's, `:name` matching any.
    func knows(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return templates.withLock { templates in
            templates.contains { template in
                template.count == segments.count
                    && zip(template, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }
        }
    }
}

/// Hummingbird's own errors (no route for the path or method) answered as Confluent's registry answers them:
/// `{"error_code":404,"message":"HTTP 404 Not Found"}`, or 405 `HTTP 405 Method Not Allowed` when the path is
/// served with other methods.
struct ConfluentHTTPErrors<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            var status = error.status
            if status == .notFound, routes.knows(request.uri.path) { status = .methodNotAllowed }
            let code = Int(status.code)
            return SchemaRegistryRoutes.error(RegistryError(code: code, message: "HTTP \(code) \(status.reasonPhrase)"))
        }
    }
}
