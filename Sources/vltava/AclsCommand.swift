import ArgumentParser
import VltavaClient
import VltavaSecurity

/// `vltava acls`: add, remove and list ACLs with the flags of Kafka's `kafka-acls.sh`.
struct Acls: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, remove and list ACLs (the flags of kafka-acls.sh).",
        subcommands: [Add.self, Remove.self, List.self])

    /// The resources, principals, hosts and operations of kafka-acls.sh.
    struct AclOptions: ParsableArguments {
        @Option(name: .customLong("topic"), help: "A topic (`*` for all); repeatable.") var topics: [String] = []
        @Option(name: .customLong("group"), help: "A consumer group (`*` for all); repeatable.") var groups: [String] = []
        @Option(name: .customLong("transactional-id"), help: "A transactional id; repeatable.") var transactionalIds: [String] = []
        @Option(name: .customLong("delegation-token"), help: "A delegation token; repeatable.") var delegationTokens: [String] = []
        @Option(name: .customLong("user-principal"), help: "A user resource; repeatable.") var userPrincipals: [String] = []
        @Flag(name: .customLong("cluster"), help: "The cluster resource.") var cluster = false
        @Option(name: .customLong("resource-pattern-type"),
                help: "LITERAL or PREFIXED (add); also ANY or MATCH to list and remove (default LITERAL).")
        var patternType: String = "LITERAL"
        @Option(name: .customLong("allow-principal"), help: "User:name allowed; repeatable.") var allowPrincipals: [String] = []
        @Option(name: .customLong("deny-principal"), help: "User:name denied; repeatable.") var denyPrincipals: [String] = []
        @Option(name: .customLong("allow-host"), help: "Host allowed (default *); repeatable.") var allowHosts: [String] = []
        @Option(name: .customLong("deny-host"), help: "Host denied (default *); repeatable.") var denyHosts: [String] = []
        @Option(name: .customLong("operation"), help: "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens or All; repeatable.")
        var operations: [String] = []
        @Flag(name: .customLong("producer"), help: "The ACLs a producer needs: WRITE, DESCRIBE, CREATE on the topics (and WRITE, DESCRIBE on the transactional ids).") var producer = false
        @Flag(name: .customLong("idempotent"), help: "With --producer: also IDEMPOTENT_WRITE on the cluster.") var idempotent = false
        @Flag(name: .customLong("consumer"), help: "The ACLs a consumer needs: READ, DESCRIBE on the topics, READ on the groups.")
        var consumer = false

        func pattern(allowFilters: Bool) throws -> AclPatternType {
            switch patternType.uppercased() {
            case "LITERAL": return .literal
            case "PREFIXED": return .prefixed
            case "ANY" where allowFilters: return .any
            case "MATCH" where allowFilters: return .match
            default:
                throw ValidationError("--resource-pattern-type must be LITERAL or PREFIXED" + (allowFilters ? ", ANY or MATCH" : ""))
            }
        }

        /// The resources named, as (type, name).
        var resources: [(AclResourceType, String)] {
            topics.map { (.topic, $0) } + groups.map { (.group, $0) } + transactionalIds.map { (.transactionalId, $0) }
                + delegationTokens.map { (.delegationToken, $0) } + userPrincipals.map { (.user, $0) }
                + (cluster ? [(.cluster, clusterResourceName)] : [])
        }

        func parsedOperations() throws -> [AclOperation] {
            try operations.map { text in
                let key = text.filter { $0 != "_" }.lowercased()
                guard let operation = AclOperation.allCases.first(where: { "\($0)".lowercased() == key }), operation != .any else {
                    throw ValidationError("unknown operation '\(text)'")
                }
                return operation
            }
        }

        func checkPrincipals() throws {
            for principal in allowPrincipals + denyPrincipals where !principal.hasPrefix("User:") {
                throw ValidationError("principal '\(principal)' must be User:<name> (or User:*)")
            }
        }

        /// The bindings `add` creates: every resource × principal × host × operation (or the --producer and
        /// --consumer sets).
        func bindings() throws -> [AclBinding] {
            try checkPrincipals()
            let pattern = try pattern(allowFilters: false)
            var perResource: [(AclResourceType, String, [AclOperation])] = []
            if producer || consumer {
                for (type, name) in resources {
                    switch type {
                    case .topic:
                        var operations: [AclOperation] = []
                        if producer { operations += [.write, .describe, .create] }
                        if consumer { operations += [.read, .describe] }
                        perResource.append((type, name, operations))
                    case .group where consumer: perResource.append((type, name, [.read]))
                    case .transactionalId where producer: perResource.append((type, name, [.write, .describe]))
                    default: break
                    }
                }
                if producer && idempotent { perResource.append((.cluster, clusterResourceName, [.idempotentWrite])) }
            } else {
                let operations = try parsedOperations()
                guard !operations.isEmpty else { throw ValidationError("name at least one --operation (or use --producer/--consumer)") }
                perResource = resources.map { ($0.0, $0.1, operations) }
            }
            guard !perResource.isEmpty else { throw ValidationError("name a resource: --topic, --group, --cluster, --transactional-id, ...") }
            guard !allowPrincipals.isEmpty || !denyPrincipals.isEmpty else {
                throw ValidationError("name --allow-principal or --deny-principal")
            }
            var bindings: [AclBinding] = []
            var seen = Set<AclBinding>()
            for (type, name, operations) in perResource {
                for (principals, hosts, permission) in [(allowPrincipals, allowHosts, AclPermission.allow), (denyPrincipals, denyHosts, .deny)] {
                    for principal in principals {
                        for host in hosts.isEmpty ? ["*"] : hosts {
                            for operation in operations {
                                let binding = AclBinding(resourceType: type, resourceName: name, patternType: pattern,
                                                         principal: principal, host: host, operation: operation, permission: permission)
                                if seen.insert(binding).inserted { bindings.append(binding) }
                            }
                        }
                    }
                }
            }
            return bindings
        }

        /// The filters `remove` and `list` use: one per resource (all resources when none is named), narrowed to
        /// the principals, hosts and operations given.
        func filters(principal listPrincipal: String?) throws -> [AclBindingFilter] {
            try checkPrincipals()
            let pattern = try pattern(allowFilters: true)
            let operations = try parsedOperations()
            let resourceFilters: [(AclResourceType, String?)] = resources.isEmpty ? [(.any, nil)] : resources.map { ($0.0, $0.1) }
            var principalFilters: [(String?, String?, AclPermission)] = []
            for principal in allowPrincipals {
                for host in allowHosts.isEmpty ? [nil] : allowHosts.map(Optional.some) { principalFilters.append((principal, host, .allow)) }
            }
            for principal in denyPrincipals {
                for host in denyHosts.isEmpty ? [nil] : denyHosts.map(Optional.some) { principalFilters.append((principal, host, .deny)) }
            }
            if principalFilters.isEmpty { principalFilters = [(listPrincipal, nil, .any)] }
            var filters: [AclBindingFilter] = []
            for (type, name) in resourceFilters {
                for (principal, host, permission) in principalFilters {
                    for operation in operations.isEmpty ? [AclOperation.any] : operations {
                        filters.append(AclBindingFilter(resourceType: type, resourceName: name,
                                                        patternType: name == nil ? .any : pattern, principal: principal,
                                                        host: host, operation: operation, permission: permission))
                    }
                }
            }
            return filters
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add ACLs.")
        @OptionGroup var bootstrap: BootstrapOptions
        @OptionGroup var acl: AclOptions

        func run() async throws {
            let bindings = try acl.bindings()
            try await bootstrap.withClient { (client) throws(KafkaClientError) in try await client.createAcls(bindings) }
            print("Adding ACLs:")
            print(Acls.render(bindings), terminator: "")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the ACLs the flags match.")
        @OptionGroup var bootstrap: BootstrapOptions
        @OptionGroup var acl: AclOptions
        @Flag(name: .customLong("force"), help: "Accepted for kafka-acls.sh compatibility (nothing is asked).") var force = false

        func run() async throws {
            let filters = try acl.filters(principal: nil)
            let removed = try await bootstrap.withClient { (client) throws(KafkaClientError) in try await client.deleteAcls(filters) }
            print(removed.isEmpty ? "No ACL matched." : "Removed ACLs:")
            print(Acls.render(removed), terminator: "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List ACLs (of the resources named, else all).")
        @OptionGroup var bootstrap: BootstrapOptions
        @OptionGroup var acl: AclOptions
        @Option(name: .customLong("principal"), help: "Only this principal's ACLs.") var principal: String?

        func run() async throws {
            let filters = try acl.filters(principal: principal)
            let found = try await bootstrap.withClient { (client) throws(KafkaClientError) -> [AclBinding] in
                var all: [AclBinding] = []
                for filter in filters {
                    for binding in try await client.describeAcls(filter) where !all.contains(binding) { all.append(binding) }
                }
                return all
            }
            print(Acls.render(found), terminator: "")
        }
    }

    /// kafka-acls.sh's layout: per resource pattern, its ACLs.
    static func render(_ bindings: [AclBinding]) -> String {
        var text = ""
        var seen: [String] = []
        var byResource: [String: [AclBinding]] = [:]
        for binding in bindings {
            let resource = "ResourcePattern(resourceType=\(name(binding.resourceType)), name=\(binding.resourceName), "
                + "patternType=\(name(binding.patternType)))"
            if byResource[resource] == nil { seen.append(resource) }
            byResource[resource, default: []].append(binding)
        }
        for resource in seen {
            text += "Current ACLs for resource `\(resource)`: \n"
            for binding in byResource[resource] ?? [] {
                text += " \t(principal=\(binding.principal), host=\(binding.host), operation=\(name(binding.operation)), "
                    + "permissionType=\(name(binding.permission)))\n"
            }
            text += "\n"
        }
        return text
    }

    /// Kafka's upper-case names (`TRANSACTIONAL_ID`, `DESCRIBE_CONFIGS`).
    static func name<T>(_ value: T) -> String {
        var result = ""
        for character in "\(value)" {
            if character.isUppercase, !result.isEmpty { result += "_" }
            result += character.uppercased()
        }
        return result
    }
}
