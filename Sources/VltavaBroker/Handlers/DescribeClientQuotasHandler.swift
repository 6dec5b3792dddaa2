import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// DescribeClientQuotas: the quotas of the entities the filter matches (CLUSTER DESCRIBE_CONFIGS). Each
    /// component matches an entity type by name (0), its default entity (1) or any entity of the type (2); with
    /// `strict`, entities with other types too are left out.
    func handleDescribeClientQuotas(_ request: DescribeClientQuotasRequest, context: RequestContext) -> DescribeClientQuotasResponse {
        var response = DescribeClientQuotasResponse()
        func refuse(_ code: ErrorCode, _ message: String) -> DescribeClientQuotasResponse {
            response.errorCode = code.rawValue
            response.errorMessage = message
            response.entries = nil
            return response
        }
        guard authorizedOnCluster(context, .describeConfigs) else {
            return refuse(.clusterAuthorizationFailed, "Cluster authorization failed")
        }
        var seen = Set<String>()
        for component in request.components {
            guard seen.insert(component.entityType).inserted else {
                return refuse(.invalidRequest, "Duplicate entity type \(component.entityType) in the filter")
            }
            switch component.matchType {
            case 0 where component.match == nil:
                return refuse(.invalidRequest, "Exact match of entity type \(component.entityType) needs a name")
            case 0, 1, 2:
                break
            default:
                return refuse(.invalidRequest, "Unknown match type \(component.matchType)")
            }
        }
        let quotas = metadata.clientQuotas()
        let entities = quotas.keys.filter { entity in
            if request.strict, entity.types != seen { return false }
            return request.components.allSatisfy { component in
                guard let name = entity.name(of: component.entityType) else { return false }
                switch component.matchType {
                case 0: return name == component.match
                case 1: return name == nil
                default: return true
                }
            }
        }.sorted { $0.description < $1.description }
        response.entries = entities.map { entity in
            .init(entity: entity.components.map { .init(entityType: $0.type, entityName: $0.name) },
                  values: (quotas[entity] ?? [:]).sorted { $0.key.rawValue < $1.key.rawValue }
                      .map { .init(key: $0.key.rawValue, value: $0.value) })
        }
        return response
    }
}
