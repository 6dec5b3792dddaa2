import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// Why the ACL APIs refuse this request: SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED
    /// without `operation` (ALTER to change ACLs, DESCRIBE to list them) on the cluster.
    func aclAdministrationRefusal(_ context: RequestContext, _ operation: AclOperation) -> (ErrorCode, String?)? {
        if !authorization.enabled { return (.securityDisabled, "No Authorizer is configured.") }
        if !authorizedOnCluster(context, operation) { return (.clusterAuthorizationFailed, nil) }
        return nil
    }

    /// CreateAcls: needs CLUSTER ALTER; each ACL is checked as Kafka checks it (INVALID_REQUEST with the reason)
    /// and the valid ones are stored in one durable change, then apply to the next request.
    func handleCreateAcls(_ request: CreateAclsRequest, context: RequestContext) -> CreateAclsResponse {
        var response = CreateAclsResponse()
        func result(_ code: ErrorCode, _ message: String?) -> CreateAclsResponse.AclCreationResult {
            .init(errorCode: code.rawValue, errorMessage: message)
        }
        if let (code, message) = aclAdministrationRefusal(context, .alter) {
            response.results = request.creations.map { _ in result(code, message) }
            return response
        }
        var valid: [AclBinding] = []
        var results: [CreateAclsResponse.AclCreationResult] = []
        for creation in request.creations {
            guard let resourceType = AclResourceType(rawValue: creation.resourceType),
                  let patternType = AclPatternType(rawValue: creation.resourcePatternType),
                  let operation = AclOperation(rawValue: creation.operation),
                  let permission = AclPermission(rawValue: creation.permissionType) else {
                results.append(result(.invalidRequest, "Unknown resource type, pattern type, operation or permission type"))
                continue
            }
            let binding = AclBinding(resourceType: resourceType, resourceName: creation.resourceName, patternType: patternType,
                                     principal: creation.principal, host: creation.host, operation: operation, permission: permission)
            if let problem = binding.problem {
                results.append(result(.invalidRequest, problem))
                continue
            }
            valid.append(binding)
            results.append(result(.none, nil))
        }
        do {
            try metadata.alterAcls(adding: valid, removing: [])
            authorization.reload(metadata.acls())
        } catch {
            logger.error("cannot store ACLs", metadata: ["error": "\(error)"])
            results = results.map { $0.errorCode == 0 ? result(.unknownServerError, "cannot store the ACLs: \(error)") : $0 }
        }
        response.results = results
        return response
    }
}
