import Hummingbird
import SchemaRegistry

/// `/connectors/{name}/offsets` (KIP-875): read always; alter and reset only while the connector is STOPPED.
extension ConnectRoutes {
    func addOffsetRoutes(to router: Router<BasicRequestContext>) {
        router.get("/connectors/:name/offsets") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let offsets = try await herder.offsets(try Self.parameter(context, "name"))
                return .ok(.object([("offsets", .array(offsets.map { .object([("partition", $0.partition), ("offset", $0.offset)]) }))]))
            }
        }
        router.patch("/connectors/:name/offsets") { request, context in
            await Self.handle { () async throws(ConnectRestError) in
                let name = try Self.parameter(context, "name")
                let body = try await Self.body(request)
                guard let entries = body["offsets"]?.arrayValue else {
                    throw ConnectRestError(400, "Partitions / offsets need to be provided for an alter offsets request")
                }
                var offsets: [(partition: JSONValue, offset: JSONValue)] = []
                for entry in entries {
                    guard let partition = entry["partition"], partition.isObject else {
                        throw ConnectRestError(400, "Each entry of \"offsets\" needs a \"partition\" object")
                    }
                    let offset = entry["offset"] ?? .null
                    guard offset == .null || offset.isObject else {
                        throw ConnectRestError(400, "An \"offset\" must be an object or null")
                    }
                    offsets.append((partition, offset))
                }
                let message = try await herder.alterOffsets(name, offsets)
                return .ok(.object([("message", .string(message))]))
            }
        }
        router.delete("/connectors/:name/offsets") { _, context in
            await Self.handle { () async throws(ConnectRestError) in
                let message = try await herder.resetOffsets(try Self.parameter(context, "name"))
                return .ok(.object([("message", .string(message))]))
            }
        }
    }
}
