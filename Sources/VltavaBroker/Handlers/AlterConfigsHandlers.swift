#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KafkaProtocol
import VltavaSecurity
import VltavaStorage

/// IncrementalAlterConfigs' operations.
enum ConfigOperation: Int8 {
    case set = 0
    case delete = 1
    case append = 2
    case subtract = 3

    var kafkaName: String {
        switch self {
        case .set: return "SET"
        case .delete: return "DELETE"
        case .append: return "APPEND"
        case .subtract: return "SUBTRACT"
        }
    }
}

extension Broker {
    /// AlterConfigs (the legacy form): each topic's overrides are replaced by exactly the configs sent. The
    /// broker's own configs are static, so broker resources only accept an empty change.
    func handleAlterConfigs(_ request: AlterConfigsRequest, context: RequestContext) -> AlterConfigsResponse {
        var response = AlterConfigsResponse()
        let outcomes = alterEach(request.resources, key: { ($0.resourceType, $0.resourceName) }) {
            configAuthorizationProblem(context, $0.resourceType, $0.resourceName, .alterConfigs)
                ?? alterConfigs($0, validateOnly: request.validateOnly)
        }
        for (resource, outcome) in zip(request.resources, outcomes) {
            response.responses.append(.init(errorCode: outcome?.code.rawValue ?? 0, errorMessage: outcome?.message,
                                            resourceType: resource.resourceType, resourceName: resource.resourceName))
        }
        return response
    }

    private func alterConfigs(_ resource: AlterConfigsRequest.AlterConfigsResource, validateOnly: Bool) -> ApiError? {
        switch ConfigResourceType(rawValue: resource.resourceType) {
        case .topic:
            guard let topic = metadata.topic(named: resource.resourceName) else {
                return ApiError(.unknownTopicOrPartition, "The topic '\(resource.resourceName)' does not exist.")
            }
            var configs: [String: String] = [:]
            for config in resource.configs {
                configs[config.name] = config.value
            }
            return replaceTopicConfigs(topic, with: configs, validateOnly: validateOnly)
        case .broker:
            return staticBrokerProblem(resource.resourceName, changing: resource.configs.map(\.name))
        case .brokerLogger, nil:
            return ApiError(.invalidRequest, "Unsupported resource type \(resource.resourceType) for AlterConfigs.")
        }
    }

    /// IncrementalAlterConfigs: SET and DELETE of single topic configs, APPEND and SUBTRACT of list items
    /// (starting from the effective value when the topic has no override).
    func handleIncrementalAlterConfigs(_ request: IncrementalAlterConfigsRequest, context: RequestContext)
        -> IncrementalAlterConfigsResponse {
        var response = IncrementalAlterConfigsResponse()
        let outcomes = alterEach(request.resources, key: { ($0.resourceType, $0.resourceName) }) { resource in
            if let refusal = configAuthorizationProblem(context, resource.resourceType, resource.resourceName, .alterConfigs) {
                return refusal
            }
            if Set(resource.configs.map(\.name)).count != resource.configs.count {
                return ApiError(.invalidRequest, "Error due to duplicate config keys")
            }
            return incrementalAlterConfigs(resource, validateOnly: request.validateOnly)
        }
        for (resource, outcome) in zip(request.resources, outcomes) {
            response.responses.append(.init(errorCode: outcome?.code.rawValue ?? 0, errorMessage: outcome?.message,
                                            resourceType: resource.resourceType, resourceName: resource.resourceName))
        }
        return response
    }

    private func incrementalAlterConfigs(_ resource: IncrementalAlterConfigsRequest.AlterConfigsResource,
                                         validateOnly: Bool) -> ApiError? {
        for config in resource.configs {
            guard let operation = ConfigOperation(rawValue: config.configOperation) else {
                return ApiError(.invalidRequest, "Unknown operation type \(config.configOperation) for config \(config.name).")
            }
            if operation != .delete && config.value == nil {
                return ApiError(.invalidRequest, "Null value not supported for : \(config.name)")
            }
        }
        switch ConfigResourceType(rawValue: resource.resourceType) {
        case .topic:
            guard let topic = metadata.topic(named: resource.resourceName) else {
                return ApiError(.unknownTopicOrPartition, "The topic '\(resource.resourceName)' does not exist.")
            }
            let effective = logs.config(forTopic: topic)
            var configs = topic.configs
            for config in resource.configs {
                switch ConfigOperation(rawValue: config.configOperation)! {
                case .set:
                    configs[config.name] = config.value
                case .delete:
                    configs[config.name] = nil
                case .append, .subtract:
                    let operation = ConfigOperation(rawValue: config.configOperation)!
                    guard TopicConfigs.definition(config.name)?.type == .list else {
                        return ApiError(.invalidConfig,
                                        "Can't \(operation.kafkaName) to key \(config.name) because its type is not LIST.")
                    }
                    let current = configs[config.name] ?? effective.value(config.name)
                    var items = Self.listItems(current)
                    for item in Self.listItems(config.value ?? "") {
                        if operation == .append {
                            if !items.contains(item) { items.append(item) }
                        } else {
                            items.removeAll { $0 == item }
                        }
                    }
                    configs[config.name] = items.joined(separator: ",")
                }
            }
            return replaceTopicConfigs(topic, with: configs, validateOnly: validateOnly)
        case .broker:
            return staticBrokerProblem(resource.resourceName, changing: resource.configs.map(\.name))
        case .brokerLogger:
            if let problem = brokerIdProblem(resource.resourceName, allowEmpty: false) {
                return ApiError(.invalidRequest, problem)
            }
            if resource.configs.isEmpty { return nil }
            return ApiError(.invalidRequest,
                            "Vltava's log level is set when it starts (vltava serve --log-level) and cannot be changed at runtime.")
        case nil:
            return ApiError(.invalidRequest, "Unsupported resource type \(resource.resourceType) for IncrementalAlterConfigs.")
        }
    }

    private static func listItems(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmedWhitespace }.filter { !$0.isEmpty }
    }

    /// Validates a topic's complete new override set and, unless only validating, stores it.
    private func replaceTopicConfigs(_ topic: TopicMetadata, with configs: [String: String], validateOnly: Bool) -> ApiError? {
        do {
            try TopicConfigs.validate(configs)
            if !validateOnly { try logs.setConfigs(topic: topic.name, configs: configs) }
            return nil
        } catch let StorageError.invalidConfig(name, value, reason) {
            if TopicConfigs.definition(name) == nil {
                return ApiError(.invalidConfig, "Unknown topic config name: \(name)")
            }
            return ApiError(.invalidConfig, "Invalid value \(value) for configuration \(name): \(reason)")
        } catch {
            return ApiError(.kafkaStorageError, "\(error)")
        }
    }

    /// Vltava's broker configs come from its start-up configuration only: a change to any of them is refused.
    private func staticBrokerProblem(_ resourceName: String, changing names: [String]) -> ApiError? {
        if let problem = brokerIdProblem(resourceName, allowEmpty: true) { return ApiError(.invalidRequest, problem) }
        if names.isEmpty { return nil }
        return ApiError(.invalidRequest,
                        "Cannot update these configs dynamically: \(names.sorted().joined(separator: ", ")). "
                            + "Vltava's broker configs are static: set them in server.properties, the environment or flags.")
    }

    /// Runs `alter` on each resource named once; a resource named twice is refused whole, as Kafka does.
    private func alterEach<Resource>(_ resources: [Resource], key: (Resource) -> (type: Int8, name: String),
                                     _ alter: (Resource) -> ApiError?) -> [ApiError?] {
        var counts: [String: Int] = [:]
        let keys = resources.map { resource in
            let key = key(resource)
            return "\(key.type)/\(key.name)"
        }
        for key in keys { counts[key, default: 0] += 1 }
        return zip(resources, keys).map { resource, key in
            counts[key]! > 1 ? ApiError(.invalidRequest, "Duplicate resource.") : alter(resource)
        }
    }
}
