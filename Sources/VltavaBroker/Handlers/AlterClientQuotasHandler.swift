import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// AlterClientQuotas (CLUSTER ALTER_CONFIGS): sets and removes quota values per entity, each entry checked as
    /// Kafka's controller does (entity types and combinations, known keys for the entity, values > 0, whole
    /// numbers for byte and connection rates); the valid entries are stored in one durable change, and the
    /// quotas take effect for the next request.
    func handleAlterClientQuotas(_ request: AlterClientQuotasRequest, context: RequestContext) -> AlterClientQuotasResponse {
        var response = AlterClientQuotasResponse()
        let authorized = authorizedOnCluster(context, .alterConfigs)
        var changes: [(index: Int, change: ClientQuotaChange)] = []
        for entry in request.entries {
            var result = AlterClientQuotasResponse.EntryData(
                entity: entry.entity.map { .init(entityType: $0.entityType, entityName: $0.entityName) })
            result.errorMessage = nil
            func fail(_ code: ErrorCode, _ message: String?) {
                result.errorCode = code.rawValue
                result.errorMessage = message
            }
            if !authorized {
                fail(.clusterAuthorizationFailed, "Cluster authorization failed")
            } else if let problem = Self.quotaChange(entry).problem {
                fail(.invalidRequest, problem)
            } else if case let .change(change) = Self.quotaChange(entry) {
                changes.append((response.entries.count, change))
            }
            response.entries.append(result)
        }
        guard !request.validateOnly, !changes.isEmpty else { return response }
        do {
            try metadata.alterClientQuotas(changes.map(\.change))
            quotas.replace(metadata.clientQuotas())
        } catch {
            logger.error("cannot store client quotas", metadata: ["error": "\(error)"])
            for (index, _) in changes {
                response.entries[index].errorCode = ErrorCode.unknownServerError.rawValue
                response.entries[index].errorMessage = "The quotas could not be stored: \(error)"
            }
        }
        return response
    }

    enum QuotaChangeCheck {
        case change(ClientQuotaChange)
        case invalid(String)

        var problem: String? {
            if case let .invalid(problem) = self { return problem }
            return nil
        }
    }

    static func quotaChange(_ entry: AlterClientQuotasRequest.EntryData) -> QuotaChangeCheck {
        guard let entity = ClientQuotaEntity(entry.entity.map { .init(type: $0.entityType, name: $0.entityName) }) else {
            return .invalid("Duplicate entity type in the quota entity")
        }
        if let problem = entity.problem { return .invalid(problem) }
        var change = ClientQuotaChange(entity: entity)
        var keys = Set<String>()
        for op in entry.ops {
            guard keys.insert(op.key).inserted else { return .invalid("Duplicate quota key \(op.key)") }
            guard let key = ClientQuotaKey(rawValue: op.key), key.applies(to: entity.types) else {
                return .invalid("Invalid configuration key \(op.key) for the entity \(entity)")
            }
            if op.remove {
                change.remove.insert(key)
            } else {
                if let problem = key.problem(with: op.value) { return .invalid(problem) }
                change.set[key] = op.value
            }
        }
        return .change(change)
    }
}
