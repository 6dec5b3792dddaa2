/// Kafka's ACL model: resource types, pattern types, operations and permissions with Kafka's numbers (the wire
/// values of CreateAcls, DescribeAcls and DeleteAcls).
public enum AclResourceType: Int8, Codable, Sendable, CaseIterable {
    case any = 1
    case topic = 2
    case group = 3
    case cluster = 4
    case transactionalId = 5
    case delegationToken = 6
    case user = 7
}

public enum AclPatternType: Int8, Codable, Sendable, CaseIterable {
    case any = 1
    case match = 2
    case literal = 3
    case prefixed = 4
}

public enum AclOperation: Int8, Codable, Sendable, CaseIterable {
    case any = 1
    case all = 2
    case read = 3
    case write = 4
    case create = 5
    case delete = 6
    case alter = 7
    case describe = 8
    case clusterAction = 9
    case describeConfigs = 10
    case alterConfigs = 11
    case idempotentWrite = 12
    case createTokens = 13
    case describeTokens = 14

    /// Whether an ALLOW for `self` allows `operation` (Kafka's implications: READ, WRITE, DELETE and ALTER imply
    /// DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL allows everything).
    func allows(_ operation: AclOperation) -> Bool {
        if self == .all || self == operation { return true }
        switch operation {
        case .describe: return [.read, .write, .delete, .alter].contains(self)
        case .describeConfigs: return self == .alterConfigs
        default: return false
        }
    }
}

public enum AclPermission: Int8, Codable, Sendable, CaseIterable {
    case any = 1
    case deny = 2
    case allow = 3
}

/// The name of the one CLUSTER resource.
public let clusterResourceName = "kafka-cluster"

/// One ACL: who (principal, host) may or may not (permission) do what (operation) on which resources (type, name,
/// pattern).
public struct AclBinding: Codable, Hashable, Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String
    public var patternType: AclPatternType
    public var principal: String
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType, resourceName: String, patternType: AclPatternType, principal: String,
                host: String, operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Why this binding cannot be stored (Kafka's checks when ACLs are created), or nil.
    public var problem: String? {
        if [.any].contains(resourceType) { return "ACLs need a specific resource type, not ANY" }
        if ![.literal, .prefixed].contains(patternType) { return "ACLs need the LITERAL or PREFIXED pattern type" }
        if [.any].contains(operation) { return "ACLs need a specific operation, not ANY" }
        if permission == .any { return "ACLs need ALLOW or DENY, not ANY" }
        if resourceName.isEmpty { return "Resource name must not be empty" }
        if resourceType == .cluster && (resourceName != clusterResourceName || patternType != .literal) {
            return "The only valid name for the CLUSTER resource is \(clusterResourceName)"
        }
        let parts = principal.split(separator: ":", maxSplits: 1)
        if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty {
            return "Could not parse principal from `\(principal)` (no colon is present separating the principal type from name)"
        }
        if host.isEmpty { return "Host must not be empty (use * for any host)" }
        return nil
    }

    /// Whether this binding's resource pattern covers the resource `name` of its type.
    func covers(_ name: String) -> Bool {
        switch patternType {
        case .literal: return resourceName == name || resourceName == "*"
        case .prefixed: return name.hasPrefix(resourceName)
        case .any, .match: return false
        }
    }
}

/// A DescribeAcls or DeleteAcls filter: nil and ANY match anything; MATCH matches the bindings that would apply to
/// the named resource (literal equal, literal `*`, prefixes of it).
public struct AclBindingFilter: Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String?
    public var patternType: AclPatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType, resourceName: String?, patternType: AclPatternType, principal: String?,
                host: String?, operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    public func matches(_ binding: AclBinding) -> Bool {
        if resourceType != .any && resourceType != binding.resourceType { return false }
        if let principal, principal != binding.principal { return false }
        if let host, host != binding.host { return false }
        if operation != .any && operation != binding.operation { return false }
        if permission != .any && permission != binding.permission { return false }
        switch patternType {
        case .any:
            return resourceName.map { $0 == binding.resourceName } ?? true
        case .match:
            guard let resourceName else { return true }
            return binding.covers(resourceName)
        case .literal, .prefixed:
            return binding.patternType == patternType && (resourceName.map { $0 == binding.resourceName } ?? true)
        }
    }
}

/// The authorization decision as Kafka's `StandardAuthorizer` makes it: super users may do everything; otherwise the
/// ACLs whose resource pattern covers the resource decide — a DENY for the principal (or `User:*`) and host (or
/// `*`) wins over any ALLOW, an ALLOW (with the implied operations) allows, and a resource no ACL covers at all
/// is allowed only with `allow.everyone.if.no.acl.found`. ACLs are indexed by resource type and literal name,
/// and prefixed ones by prefix, so a check costs a few lookups whatever the number of ACLs.
public struct AclAuthorizer: Sendable {
    public let superUsers: Set<String>
    public let allowEveryoneIfNoAclFound: Bool
    private var literal: [AclResourceType: [String: [AclBinding]]] = [:]
    private var prefixed: [AclResourceType: [String: [AclBinding]]] = [:]
    private var longestPrefix: [AclResourceType: Int] = [:]
    /// Every ACL of a resource type, for `authorizeAny`.
    private var byType: [AclResourceType: [AclBinding]] = [:]

    public init(acls: [AclBinding], superUsers: Set<String>, allowEveryoneIfNoAclFound: Bool) {
        self.superUsers = superUsers
        self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
        for acl in acls {
            switch acl.patternType {
            case .literal:
                literal[acl.resourceType, default: [:]][acl.resourceName, default: []].append(acl)
            case .prefixed:
                prefixed[acl.resourceType, default: [:]][acl.resourceName, default: []].append(acl)
                longestPrefix[acl.resourceType] = max(longestPrefix[acl.resourceType] ?? 0, acl.resourceName.count)
            case .any, .match:
                continue
            }
            byType[acl.resourceType, default: []].append(acl)
        }
    }

    /// What the ACLs covering a resource say so far.
    private struct Decision {
        var found = false
        var allowed = false
        var denied = false

        mutating func consider(_ acls: [AclBinding], principal: String, host: String, operation: AclOperation) {
            for acl in acls {
                found = true
                guard acl.applies(to: principal, host: host) else { continue }
                switch acl.permission {
                case .deny where acl.operation == .all || acl.operation == operation: denied = true
                case .allow where acl.operation.allows(operation): allowed = true
                default: continue
                }
            }
        }
    }

    /// Whether `principal` connecting from `host` may do `operation` on the resource.
    public func authorize(principal: String, host: String, operation: AclOperation, resourceType: AclResourceType,
                          resourceName: String) -> Bool {
        if superUsers.contains(principal) { return true }
        var decision = Decision()
        if let byName = literal[resourceType] {
            if let exact = byName[resourceName] { decision.consider(exact, principal: principal, host: host, operation: operation) }
            if resourceName != "*", let wildcard = byName["*"] {
                decision.consider(wildcard, principal: principal, host: host, operation: operation)
            }
        }
        if let byPrefix = prefixed[resourceType], let longest = longestPrefix[resourceType] {
            var prefix = ""
            for character in resourceName.prefix(longest) where !decision.denied {
                prefix.append(character)
                if let matching = byPrefix[prefix] { decision.consider(matching, principal: principal, host: host, operation: operation) }
            }
        }
        if decision.denied { return false }
        return decision.allowed || (!decision.found && allowEveryoneIfNoAclFound)
    }

    /// Whether `principal` may do `operation` on some resource of the type (Kafka's `authorizeByResourceType`,
    /// used for IDEMPOTENT_WRITE through WRITE on any topic): an ALLOW of the principal for it on any pattern that
    /// is not denied to it on every resource (a DENY on the literal `*`).
    public func authorizeAny(principal: String, host: String, operation: AclOperation, resourceType: AclResourceType) -> Bool {
        if superUsers.contains(principal) { return true }
        let all = byType[resourceType] ?? []
        let mine = all.filter { $0.applies(to: principal, host: host) }
        if mine.contains(where: { $0.permission == .deny && $0.patternType == .literal && $0.resourceName == "*"
            && ($0.operation == .all || $0.operation == operation) }) {
            return false
        }
        if mine.contains(where: { $0.permission == .allow && $0.operation.allows(operation) }) { return true }
        return all.isEmpty && allowEveryoneIfNoAclFound
    }
}

extension AclBinding {
    /// Whether the binding's principal and host are the request's (or the wildcards `User:*` and `*`).
    func applies(to principal: String, host: String) -> Bool {
        (self.principal == principal || self.principal == "User:*") && (self.host == host || self.host == "*")
    }
}
