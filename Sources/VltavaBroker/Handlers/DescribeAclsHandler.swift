import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// The filter of a DescribeAcls or DeleteAcls request, or why it is invalid.
    static func aclFilter(resourceType: Int8, resourceName: String?, patternType: Int8, principal: String?, host: String?,
                          operation: Int8, permission: Int8) -> Result<AclBindingFilter, KafkaAclFilterError> {
        guard let resourceType = AclResourceType(rawValue: resourceType), let patternType = AclPatternType(rawValue: patternType),
              let operation = AclOperation(rawValue: operation), let permission = AclPermission(rawValue: permission) else {
            return .failure(KafkaAclFilterError(message: "Unknown resource type, pattern type, operation or permission type in the filter"))
        }
        return .success(AclBindingFilter(resourceType: resourceType, resourceName: resourceName, patternType: patternType,
                                         principal: principal, host: host, operation: operation, permission: permission))
    }

    /// DescribeAcls: needs CLUSTER DESCRIBE; the ACLs matching the filter grouped by resource pattern.
    func handleDescribeAcls(_ request: DescribeAclsRequest, context: RequestContext) -> DescribeAclsResponse {
        var response = DescribeAclsResponse()
        response.errorMessage = nil
        if let (code, message) = aclAdministrationRefusal(context, .describe) {
            response.errorCode = code.rawValue
            response.errorMessage = message
            return response
        }
        let filter: AclBindingFilter
        switch Self.aclFilter(resourceType: request.resourceTypeFilter, resourceName: request.resourceNameFilter,
                              patternType: request.patternTypeFilter, principal: request.principalFilter, host: request.hostFilter,
                              operation: request.operation, permission: request.permissionType) {
        case let .success(value): filter = value
        case let .failure(error):
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = error.message
            return response
        }
        var byResource: [String: DescribeAclsResponse.DescribeAclsResource] = [:]
        var order: [String] = []
        for acl in metadata.acls() where filter.matches(acl) {
            let key = "\(acl.resourceType.rawValue) \(acl.patternType.rawValue) \(acl.resourceName)"
            if byResource[key] == nil {
                order.append(key)
                byResource[key] = .init(resourceType: acl.resourceType.rawValue, resourceName: acl.resourceName,
                                        patternType: acl.patternType.rawValue)
            }
            byResource[key]?.acls.append(.init(principal: acl.principal, host: acl.host, operation: acl.operation.rawValue,
                                               permissionType: acl.permission.rawValue))
        }
        response.resources = order.compactMap { byResource[$0] }
        return response
    }
}

/// A DescribeAcls or DeleteAcls filter with values Kafka does not define.
struct KafkaAclFilterError: Error {
    var message: String
}
