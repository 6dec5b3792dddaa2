import KafkaProtocol
import NIOConcurrencyHelpers
import VltavaSecurity

/// The broker's ACL checks (`authorizer.class.name`): off, every request is allowed; on, the ACLs of the metadata
/// store decide, reloaded after each CreateAcls and DeleteAcls.
final class Authorization: Sendable {
    let enabled: Bool
    private let superUsers: Set<String>
    private let allowEveryoneIfNoAclFound: Bool
    private let state: NIOLockedValueBox<State>

    /// The authorizer and the decisions it made since the ACLs last changed: a client asks the same question on
    /// every request (its topic, its group), and a decision from the cache is one lookup instead of one per
    /// prefix of the resource name.
    private struct State {
        var authorizer: AclAuthorizer
        var decisions: [Question: Bool] = [:]
    }

    private struct Question: Hashable {
        var principal: String
        var host: String
        var operation: AclOperation
        var type: AclResourceType
        var name: String
    }

    /// Clients choose resource names: the cache is bounded, not a way to grow memory.
    static let cachedDecisions = 10_000

    init(configuration: BrokerConfiguration, acls: [AclBinding]) {
        enabled = configuration.aclsEnabled
        superUsers = configuration.superUsers
        allowEveryoneIfNoAclFound = configuration.allowEveryoneIfNoAclFound
        state = NIOLockedValueBox(State(authorizer: AclAuthorizer(
            acls: acls, superUsers: configuration.superUsers, allowEveryoneIfNoAclFound: configuration.allowEveryoneIfNoAclFound)))
    }

    func reload(_ acls: [AclBinding]) {
        let rebuilt = AclAuthorizer(acls: acls, superUsers: superUsers, allowEveryoneIfNoAclFound: allowEveryoneIfNoAclFound)
        state.withLockedValue { $0 = State(authorizer: rebuilt) }
    }

    func authorize(_ connection: ConnectionContext, _ operation: AclOperation, _ type: AclResourceType, _ name: String) -> Bool {
        guard enabled else { return true }
        let question = Question(principal: connection.principal, host: connection.clientHost, operation: operation, type: type, name: name)
        return state.withLockedValue { state in
            if let known = state.decisions[question] { return known }
            let decision = state.authorizer.authorize(
                principal: question.principal, host: question.host, operation: operation, resourceType: type, resourceName: name)
            if state.decisions.count >= Self.cachedDecisions { state.decisions.removeAll(keepingCapacity: true) }
            state.decisions[question] = decision
            return decision
        }
    }

    func authorizeAny(_ connection: ConnectionContext, _ operation: AclOperation, _ type: AclResourceType) -> Bool {
        guard enabled else { return true }
        return state.withLockedValue { $0.authorizer }.authorizeAny(
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
