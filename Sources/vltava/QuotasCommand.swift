import ArgumentParser
import VltavaClient
import VltavaSecurity

/// `vltava quotas`: client quotas set, removed and described through AlterClientQuotas and
/// DescribeClientQuotas (what `kafka-configs.sh --entity-type users|clients|ips` does).
struct Quotas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set, remove and describe client quotas.", subcommands: [Alter.self, Describe.self])

    /// The entity: --user/--user-default, --client-id/--client-default (together or alone), or --ip/--ip-default.
    struct EntityOptions: ParsableArguments {
        @Option(help: "A user (principal name without User:).") var user: String?
        @Flag(name: .customLong("user-default"), help: "The default user.") var userDefault = false
        @Option(name: .customLong("client-id"), help: "A client id.") var clientId: String?
        @Flag(name: .customLong("client-default"), help: "The default client id.") var clientDefault = false
        @Option(help: "An IP address (connection_creation_rate).") var ip: String?
        @Flag(name: .customLong("ip-default"), help: "The default IP.") var ipDefault = false

        var components: [(type: String, name: String?, given: Bool)] {
            [(ClientQuotaEntity.user, user, user != nil || userDefault), (ClientQuotaEntity.clientId, clientId, clientId != nil || clientDefault),
             (ClientQuotaEntity.ip, ip, ip != nil || ipDefault)].filter(\.given)
        }

        func check() throws {
            if user != nil && userDefault { throw ValidationError("give --user or --user-default, not both") }
            if clientId != nil && clientDefault { throw ValidationError("give --client-id or --client-default, not both") }
            if ip != nil && ipDefault { throw ValidationError("give --ip or --ip-default, not both") }
        }
    }

    struct Alter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set (--add-config) and remove (--delete-config) quota values.")
        @OptionGroup var bootstrap: BootstrapOptions
        @OptionGroup var entityOptions: EntityOptions
        @Option(name: .customLong("add-config"), help: "key=value,... (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate, connection_creation_rate).") var addConfig: String?
        @Option(name: .customLong("delete-config"), help: "key,... to remove.") var deleteConfig: String?

        func run() async throws {
            try entityOptions.check()
            guard let entity = ClientQuotaEntity(entityOptions.components.map { .init(type: $0.type, name: $0.name) }),
                  !entity.components.isEmpty else {
                throw ValidationError("name the entity: --user/--user-default, --client-id/--client-default, or --ip/--ip-default")
            }
            var set: [ClientQuotaKey: Double] = [:]
            for pair in (addConfig ?? "").split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let key = ClientQuotaKey(rawValue: String(parts[0]).trimmedWhitespace),
                      let value = Double(String(parts[1]).trimmedWhitespace) else {
                    throw ValidationError("--add-config: '\(pair)' is not a quota key=number")
                }
                set[key] = value
            }
            let remove = try (deleteConfig ?? "").split(separator: ",").map { name -> ClientQuotaKey in
                guard let key = ClientQuotaKey(rawValue: String(name).trimmedWhitespace) else {
                    throw ValidationError("--delete-config: unknown quota key '\(name)'")
                }
                return key
            }
            guard !set.isEmpty || !remove.isEmpty else { throw ValidationError("give --add-config or --delete-config") }
            try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.alterClientQuota(entity, set: set, remove: remove)
            }
            print("Completed updating quotas for \(Quotas.describe(entity)).")
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe the quotas of the entity named, or all.")
        @OptionGroup var bootstrap: BootstrapOptions
        @OptionGroup var entityOptions: EntityOptions

        func run() async throws {
            try entityOptions.check()
            let components = entityOptions.components.map { component -> (type: String, match: ClientQuotaMatch) in
                (component.type, component.name.map { .named($0) } ?? .defaultEntity)
            }
            let quotas = try await bootstrap.withClient { (client) throws(KafkaClientError) in
                try await client.describeClientQuotas(components, strict: !components.isEmpty)
            }
            for (entity, values) in quotas.sorted(by: { $0.0.description < $1.0.description }) {
                print("Quota configs for \(Quotas.describe(entity)) are "
                    + values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
            }
        }
    }

    /// kafka-configs.sh's wording: `user-principal 'alice', client-id 'app'`, `the default client-id`.
    static func describe(_ entity: ClientQuotaEntity) -> String {
        entity.components.sorted { order($0.type) < order($1.type) }.map { component in
            let label = component.type == ClientQuotaEntity.user ? "user-principal" : component.type
            return component.name.map { "\(label) '\($0)'" } ?? "the default \(label)"
        }.joined(separator: ", ")
    }

    private static func order(_ type: String) -> Int { [ClientQuotaEntity.user, ClientQuotaEntity.clientId, ClientQuotaEntity.ip].firstIndex(of: type) ?? 3 }
}
