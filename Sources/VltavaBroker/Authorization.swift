import KafkaProtocol
import NIOConcurrencyHelpers
import VltavaSecurity

/// The broker's ACL checks (`authorizer.class.name`): off, every request is allowed; on, the ACLs of the metadata
/// store decide, reloaded after each CreateAcls and DeleteAcls.
final class Authorization: Sendable {
    let enabled: Bool
    private let superUsers: Set<String>
    private let allowEveryoneIfNoAclFound: Bool
    private let authorizer: NIOLockedValueBox<AclAuthorizer>

    init(configuration: BrokerConfiguration, acls: [AclBinding]) {
        enabled = configuration.aclsEnabled
        superUsers = configuration.superUsers
        allowEveryoneIfNoAclFound = configuration.allowEveryoneIfNoAclFound
        authorizer = NIOLockedValueBox(AclAuthorizer(
            acls: acls, superUsers: configuration.superUsers, allowEveryoneIfNoAclFound: configuration.allowEveryoneIfNoAclFound))
    }

    func reload(_ acls: [AclBinding]) {
        let rebuilt = AclAuthorizer(acls: acls, superUsers: superUsers, allowEveryoneIfNoAclFound: allowEveryoneIfNoAclFound)
        authorizer.withLockedValue { $0 = rebuilt }
    }

    func authorize(_ connection: ConnectionContext, _ operation: AclOperation, _ type: AclResourceType, _ name: String) -> Bool {
        guard enabled else { return true }
        return authorizer.withLockedValue { $0 }.authorize(
            principal: connection.principal, host: connection.clientHost, operation: operation, resourceType: type, resourceName: name)
    }

    func authorizeAny(_ connection: ConnectionContext, _ operation: AclOperation, _ type: AclResourceType) -> Bool {
        guard enabled else { return true }
        return authorizer.withLockedValue { $0 }.authorizeAny(
            principal: connection.principal, host: connection.clientHost, operation: operation, resourceType: type)
    }
}

extension Broker {
    /// Whether the request's principal may do `operation` on the resource.
    func authorized(_ context: RequestContext, _ operation: AclOperation, _ type: AclResourceType, _ name: String) -> Bool {
        authorization.authorize(context.connection, operation, type, name)
    }

    func authorizedOnCluster(_ context: RequestContext, _ operation: AclOperation) -> Bool {
        authorization.authorize(context.connection, operation, .cluster, clusterResourceName)
    }

    /// IDEMPOTENT_WRITE on the cluster, or (KIP-679) WRITE on any topic.
    func authorizedIdempotentWrite(_ context: RequestContext) -> Bool {
        authorizedOnCluster(context, .idempotentWrite) || authorization.authorizeAny(context.connection, .write, .topic)
    }

    /// Kafka's authorized-operations bit set of a resource for the request's principal (requested with
    /// `include_*_authorized_operations`).
    func authorizedOperations(_ context: RequestContext, _ type: AclResourceType, _ name: String, among operations: [AclOperation]) -> Int32 {
        operations.filter { authorized(context, $0, type, name) }.reduce(0) { $0 | (1 << Int32($1.rawValue)) }
    }

    static let topicOperations: [AclOperation] = [.read, .write, .create, .delete, .alter, .describe, .describeConfigs, .alterConfigs]
    static let groupOperations: [AclOperation] = [.read, .delete, .describe]
    static let clusterOperations: [AclOperation] = [.create, .alter, .describe, .clusterAction, .describeConfigs, .alterConfigs, .idempotentWrite]
}
