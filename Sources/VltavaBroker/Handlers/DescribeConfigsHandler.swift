import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// DescribeConfigs: topic configs (override, broker default or Kafka default), this broker's configuration
    /// under Kafka's property names, and its logger level. A null or empty key list means every config; keys
    /// the resource does not have are left out, as Kafka does.
    func handleDescribeConfigs(_ request: DescribeConfigsRequest, context: RequestContext) -> DescribeConfigsResponse {
        var response = DescribeConfigsResponse()
        // Each resource once: one named 100 000 times must not make an answer of gigabytes.
        var seen: Set<String> = []
        for resource in request.resources where seen.insert("\(resource.resourceType):\(resource.resourceName)").inserted {
            var result = DescribeConfigsResponse.DescribeConfigsResult(resourceType: resource.resourceType, resourceName: resource.resourceName)
            result.errorMessage = nil
            if let refusal = configAuthorizationProblem(context, resource.resourceType, resource.resourceName, .describeConfigs) {
                result.errorCode = refusal.code.rawValue
                result.errorMessage = refusal.message
                response.results.append(result)
                continue
            }
            switch describe(resource) {
            case let .success(descriptions):
                let keys = resource.configurationKeys ?? []
                result.configs = descriptions
                    .filter { keys.isEmpty || keys.contains($0.name) }
                    .map { entry($0, request: request, version: context.version) }
            case let .failure(error):
                result.errorCode = error.code.rawValue
                result.errorMessage = error.message
            }
            response.results.append(result)
        }
        return response
    }

    /// TOPIC_AUTHORIZATION_FAILED or CLUSTER_AUTHORIZATION_FAILED when the principal may not do `operation` on the
    /// config resource (a topic, or the cluster for broker and logger resources).
    func configAuthorizationProblem(_ context: RequestContext, _ resourceType: Int8, _ name: String, _ operation: AclOperation) -> ApiError? {
        switch ConfigResourceType(rawValue: resourceType) {
        case .topic:
            return authorized(context, operation, .topic, name) ? nil : ApiError(.topicAuthorizationFailed, "Authorization failed.")
        case .broker, .brokerLogger:
            return authorizedOnCluster(context, operation) ? nil : ApiError(.clusterAuthorizationFailed, "Authorization failed.")
        case nil:
            return nil
        }
    }

    private func describe(_ resource: DescribeConfigsRequest.DescribeConfigsResource) -> Result<[ConfigDescription], ApiError> {
        switch ConfigResourceType(rawValue: resource.resourceType) {
        case .topic:
            if let problem = Self.topicNameProblem(resource.resourceName) {
                return .failure(ApiError(.invalidTopicException, problem))
            }
            guard let topic = metadata.topic(named: resource.resourceName) else {
                return .failure(ApiError(.unknownTopicOrPartition, "The topic '\(resource.resourceName)' does not exist."))
            }
            return .success(topicConfigDescriptions(topic))
        case .broker:
            // An empty name asks for the cluster-wide dynamic defaults, which a single static node has none of.
            if resource.resourceName.isEmpty { return .success([]) }
            if let problem = brokerIdProblem(resource.resourceName, allowEmpty: true) {
                return .failure(ApiError(.invalidRequest, problem))
            }
            return .success(brokerConfigDescriptions())
        case .brokerLogger:
            if let problem = brokerIdProblem(resource.resourceName, allowEmpty: false) {
                return .failure(ApiError(.invalidRequest, problem))
            }
            return .success(brokerLoggerDescriptions())
        case nil:
            return .failure(ApiError(.invalidRequest, "Unsupported resource type: \(resource.resourceType)"))
        }
    }

    /// Kafka's checks of a broker resource name: an integer that is this node's id.
    func brokerIdProblem(_ name: String, allowEmpty: Bool) -> String? {
        if name.isEmpty { return allowEmpty ? nil : "Broker id must not be empty" }
        guard let id = Int32(name) else { return "Broker id must be an integer, but it is: \(name)" }
        if id != nodeId {
            return "Unexpected broker id, expected \(nodeId)\(allowEmpty ? " or empty string" : ""), but received \(name)"
        }
        return nil
    }

    private func entry(_ description: ConfigDescription, request: DescribeConfigsRequest, version: Int16)
        -> DescribeConfigsResponse.DescribeConfigsResourceResult {
        var entry = DescribeConfigsResponse.DescribeConfigsResourceResult(name: description.name, value: description.value)
        entry.readOnly = description.readOnly
        entry.isSensitive = false
        if version == 0 {
            entry.isDefault = description.source == .defaultConfig
        } else {
            entry.configSource = description.source.rawValue
        }
        if request.includeSynonyms {
            entry.synonyms = description.synonyms.map {
                DescribeConfigsResponse.DescribeConfigsSynonym(name: $0.name, value: $0.value, source: $0.source.rawValue)
            }
        }
        entry.configType = description.type.rawValue
        entry.documentation = request.includeDocumentation ? description.documentation : nil
        return entry
    }
}

/// An error code with the message Kafka would send with it.
struct ApiError: Error {
    var code: ErrorCode
    var message: String

    init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}
