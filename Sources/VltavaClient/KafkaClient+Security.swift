import KafkaProtocol
import NIOCore
import VltavaSecurity

/// One user's SCRAM credentials as DescribeUserScramCredentials lists them (never the password or its keys).
public struct ScramUserDescription: Sendable, Equatable {
    public struct Credential: Sendable, Equatable {
        public var mechanism: ScramMechanism
        public var iterations: Int32
    }

    public var user: String
    public var credentials: [Credential]
}

/// The security admin APIs: ACLs, SCRAM users, client quotas.
extension KafkaClient {
    // MARK: ACLs

    /// Creates ACLs; throws the first refusal.
    public func createAcls(_ bindings: [AclBinding]) async throws(KafkaClientError) {
        let request = CreateAclsRequest(creations: bindings.map {
            .init(resourceType: $0.resourceType.rawValue, resourceName: $0.resourceName, resourcePatternType: $0.patternType.rawValue,
                  principal: $0.principal, host: $0.host, operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
        })
        let response = try await send(request)
        for (binding, result) in zip(bindings, response.results) {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "ACL \(binding)")
        }
    }

    /// The ACLs `filter` matches.
    public func describeAcls(_ filter: AclBindingFilter) async throws(KafkaClientError) -> [AclBinding] {
        let request = DescribeAclsRequest(
            resourceTypeFilter: filter.resourceType.rawValue, resourceNameFilter: filter.resourceName,
            patternTypeFilter: filter.patternType.rawValue, principalFilter: filter.principal, hostFilter: filter.host,
            operation: filter.operation.rawValue, permissionType: filter.permission.rawValue)
        let response = try await send(request)
        try KafkaClientError.check(response.errorCode, message: response.errorMessage, resource: "ACLs")
        var bindings: [AclBinding] = []
        for resource in response.resources {
            for acl in resource.acls {
                guard let type = AclResourceType(rawValue: resource.resourceType),
                      let pattern = AclPatternType(rawValue: resource.patternType),
                      let operation = AclOperation(rawValue: acl.operation),
                      let permission = AclPermission(rawValue: acl.permissionType) else {
                    throw .malformedResponse("DescribeAcls: an ACL with an unknown type, pattern, operation or permission")
                }
                bindings.append(AclBinding(resourceType: type, resourceName: resource.resourceName, patternType: pattern,
                                           principal: acl.principal, host: acl.host, operation: operation, permission: permission))
            }
        }
        return bindings
    }

    /// Deletes the ACLs each filter matches; returns them.
    public func deleteAcls(_ filters: [AclBindingFilter]) async throws(KafkaClientError) -> [AclBinding] {
        let request = DeleteAclsRequest(filters: filters.map {
            .init(resourceTypeFilter: $0.resourceType.rawValue, resourceNameFilter: $0.resourceName,
                  patternTypeFilter: $0.patternType.rawValue, principalFilter: $0.principal, hostFilter: $0.host,
                  operation: $0.operation.rawValue, permissionType: $0.permission.rawValue)
        })
        let response = try await send(request)
        var deleted: [AclBinding] = []
        for result in response.filterResults {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "ACLs")
            for acl in result.matchingAcls {
                try KafkaClientError.check(acl.errorCode, message: acl.errorMessage, resource: "ACL")
                guard let type = AclResourceType(rawValue: acl.resourceType), let pattern = AclPatternType(rawValue: acl.patternType),
                      let operation = AclOperation(rawValue: acl.operation), let permission = AclPermission(rawValue: acl.permissionType)
                else { continue }
                deleted.append(AclBinding(resourceType: type, resourceName: acl.resourceName, patternType: pattern,
                                          principal: acl.principal, host: acl.host, operation: operation, permission: permission))
            }
        }
        return deleted
    }

    // MARK: SCRAM users

    /// Sets a user's SCRAM credential: the password is salted here (a random salt, `iterations` rounds of PBKDF2),
    /// only the salted password travels, as with Kafka's `Admin`.
    public func upsertScramCredential(
        user: String, mechanism: ScramMechanism, password: String, iterations: Int32 = 4096
    ) async throws(KafkaClientError) {
        let salt = SecureRandom.bytes(32)
        let salted: [UInt8]
        do {
            salted = try mechanism.saltedPassword(password, salt: salt, iterations: Int(iterations))
        } catch {
            throw .invalidArgument("cannot derive a \(mechanism.rawValue) credential: \(error)")
        }
        var request = AlterUserScramCredentialsRequest()
        request.upsertions = [.init(name: user, mechanism: mechanism.kafkaType, iterations: iterations,
                                    salt: ByteBuffer(bytes: salt), saltedPassword: ByteBuffer(bytes: salted))]
        try await alterScram(request)
    }

    /// Removes a user's SCRAM credential for `mechanism`.
    public func deleteScramCredential(user: String, mechanism: ScramMechanism) async throws(KafkaClientError) {
        var request = AlterUserScramCredentialsRequest()
        request.deletions = [.init(name: user, mechanism: mechanism.kafkaType)]
        try await alterScram(request)
    }

    private func alterScram(_ request: AlterUserScramCredentialsRequest) async throws(KafkaClientError) {
        let response = try await send(request)
        for result in response.results {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "user \(result.user)")
        }
    }

    /// The SCRAM users (all of them, or those named).
    public func describeScramUsers(_ users: [String]? = nil) async throws(KafkaClientError) -> [ScramUserDescription] {
        let request = DescribeUserScramCredentialsRequest(users: users.map { $0.map { .init(name: $0) } })
        let response = try await send(request)
        try KafkaClientError.check(response.errorCode, message: response.errorMessage, resource: "SCRAM users")
        var described: [ScramUserDescription] = []
        for result in response.results {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "user \(result.user)")
            described.append(ScramUserDescription(user: result.user, credentials: result.credentialInfos.compactMap { info in
                ScramMechanism(kafkaType: info.mechanism).map { .init(mechanism: $0, iterations: info.iterations) }
            }))
        }
        return described
    }

    // MARK: Client quotas

    /// Sets and removes quota values of one entity; throws its refusal.
    public func alterClientQuota(
        _ entity: ClientQuotaEntity, set: [ClientQuotaKey: Double], remove: [ClientQuotaKey], validateOnly: Bool = false
    ) async throws(KafkaClientError) {
        var entry = AlterClientQuotasRequest.EntryData()
        entry.entity = entity.components.map { .init(entityType: $0.type, entityName: $0.name) }
        entry.ops = set.sorted { $0.key.rawValue < $1.key.rawValue }.map { .init(key: $0.key.rawValue, value: $0.value, remove: false) }
            + remove.map { .init(key: $0.rawValue, value: 0, remove: true) }
        let response = try await send(AlterClientQuotasRequest(entries: [entry], validateOnly: validateOnly))
        for result in response.entries {
            try KafkaClientError.check(result.errorCode, message: result.errorMessage, resource: "quota of \(entity)")
        }
    }

    /// The quotas of entities having each given component (a nil name: the default entity; `anyName`: any).
    public func describeClientQuotas(
        _ components: [(type: String, match: ClientQuotaMatch)], strict: Bool = false
    ) async throws(KafkaClientError) -> [(ClientQuotaEntity, [String: Double])] {
        let request = DescribeClientQuotasRequest(components: components.map { component in
            switch component.match {
            case let .named(name): return .init(entityType: component.type, matchType: 0, match: name)
            case .defaultEntity: return .init(entityType: component.type, matchType: 1, match: nil)
            case .anyName: return .init(entityType: component.type, matchType: 2, match: nil)
            }
        }, strict: strict)
        let response = try await send(request)
        try KafkaClientError.check(response.errorCode, message: response.errorMessage, resource: "client quotas")
        return (response.entries ?? []).compactMap { entry in
            guard let entity = ClientQuotaEntity(entry.entity.map { .init(type: $0.entityType, name: $0.entityName) }) else { return nil }
            return (entity, Dictionary(entry.values.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first }))
        }
    }
}

/// How a DescribeClientQuotas component matches an entity type's name.
public enum ClientQuotaMatch: Sendable, Equatable {
    case named(String)
    case defaultEntity
    case anyName
}
