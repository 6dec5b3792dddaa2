import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// DeleteAcls: needs CLUSTER ALTER; every ACL matching a filter is removed (one durable change) and listed in
    /// that filter's result.
    func handleDeleteAcls(_ request: DeleteAclsRequest, context: RequestContext) -> DeleteAclsResponse {
        var response = DeleteAclsResponse()
        func failed(_ code: ErrorCode, _ message: String?) -> DeleteAclsResponse.DeleteAclsFilterResult {
            .init(errorCode: code.rawValue, errorMessage: message)
        }
        if let (code, message) = aclAdministrationRefusal(context, .alter) {
            response.filterResults = request.filters.map { _ in failed(code, message) }
            return response
        }
        let acls = metadata.acls()
        var removing: Set<AclBinding> = []
        for filterRequest in request.filters {
            switch Self.aclFilter(resourceType: filterRequest.resourceTypeFilter, resourceName: filterRequest.resourceNameFilter,
                                  patternType: filterRequest.patternTypeFilter, principal: filterRequest.principalFilter,
                                  host: filterRequest.hostFilter, operation: filterRequest.operation,
                                  permission: filterRequest.permissionType) {
            case let .failure(error):
                response.filterResults.append(failed(.invalidRequest, error.message))
            case let .success(filter):
                var result = DeleteAclsResponse.DeleteAclsFilterResult(errorMessage: nil)
                for acl in acls where filter.matches(acl) {
                    removing.insert(acl)
                    result.matchingAcls.append(.init(
                        errorMessage: nil, resourceType: acl.resourceType.rawValue, resourceName: acl.resourceName,
                        patternType: acl.patternType.rawValue, principal: acl.principal, host: acl.host,
                        operation: acl.operation.rawValue, permissionType: acl.permission.rawValue))
                }
                response.filterResults.append(result)
            }
        }
        do {
            try metadata.alterAcls(adding: [], removing: Array(removing))
            authorization.reload(metadata.acls())
        } catch {
            logger.error("cannot remove ACLs", metadata: ["error": "\(error)"])
            response.filterResults = response.filterResults.map { _ in failed(.unknownServerError, "cannot store the ACLs: \(error)") }
        }
        return response
    }
}
