import KafkaProtocol
import Testing
import VltavaStorage

@testable import VltavaBroker

@Suite struct DescribeConfigsTests {
    private func describe(_ fixture: BrokerFixture, type: Int8 = 2, name: String, keys: [String]? = nil, synonyms: Bool = false,
                          documentation: Bool = false, version: Int16 = 4) throws -> DescribeConfigsResponse.DescribeConfigsResult {
        var request = DescribeConfigsRequest()
        request.resources = [.init(resourceType: type, resourceName: name, configurationKeys: keys)]
        request.includeSynonyms = synonyms && version >= 1
        request.includeDocumentation = documentation && version >= 3
        let response = fixture.broker.handleDescribeConfigs(request, context: fixture.context(.describeConfigs, version: version))
        return try #require(try wire(response, version: version).results.first)
    }

    @Test func topicConfigsWithTheirSources() throws {
        let fixture = try BrokerFixture { $0.topicDefaults = ["segment.bytes": "1048576"] }
        try fixture.createTopic("orders", configs: ["retention.ms": "1000"])
        for version in DescribeConfigsResponse.validVersions {
            let result = try describe(fixture, name: "orders", synonyms: true, documentation: true, version: version)
            #expect(result.errorCode == 0)
            #expect(result.errorMessage == nil)
            #expect(result.configs.count == TopicConfigs.definitions.count)
            let configs = Dictionary(uniqueKeysWithValues: result.configs.map { ($0.name, $0) })
            let retention = try #require(configs["retention.ms"])
            let segment = try #require(configs["segment.bytes"])
            let cleanup = try #require(configs["cleanup.policy"])
            #expect(retention.value == "1000")
            #expect(segment.value == "1048576")
            #expect(cleanup.value == "delete")
            #expect(!retention.readOnly && !retention.isSensitive)
            if version == 0 {
                #expect(!retention.isDefault && !segment.isDefault && cleanup.isDefault)
            } else {
                #expect(retention.configSource == ConfigSource.topicConfig.rawValue)
                #expect(segment.configSource == ConfigSource.staticBrokerConfig.rawValue)
                #expect(cleanup.configSource == ConfigSource.defaultConfig.rawValue)
                #expect(retention.synonyms.first?.name == "retention.ms")
                #expect(retention.synonyms.contains { $0.name == "log.retention.hours" && $0.value == "168" && $0.source == 5 })
                #expect(segment.synonyms.map(\.name) == ["log.segment.bytes", "log.segment.bytes"])
                #expect(segment.synonyms.map(\.source) == [4, 5])
            }
            if version >= 3 {
                #expect(retention.configType == ConfigValueType.long.rawValue)
                #expect(cleanup.configType == ConfigValueType.list.rawValue)
                #expect(retention.documentation?.isEmpty == false)
            }
        }
    }

    @Test func listedKeysOnlyAndNoExtrasUnlessAsked() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        let result = try describe(fixture, name: "orders", keys: ["retention.ms", "no.such.config", "cleanup.policy"])
        #expect(result.configs.map(\.name).sorted() == ["cleanup.policy", "retention.ms"])
        #expect(result.configs.allSatisfy { $0.synonyms.isEmpty && $0.documentation == nil })
        #expect(try describe(fixture, name: "orders", keys: []).configs.count == TopicConfigs.definitions.count)
    }

    @Test func unknownAndInvalidTopics() throws {
        let fixture = try BrokerFixture()
        let unknown = try describe(fixture, name: "missing")
        #expect(unknown.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        #expect(unknown.configs.isEmpty)
        #expect(try describe(fixture, name: "bad/name").errorCode == ErrorCode.invalidTopicException.rawValue)
        #expect(try describe(fixture, type: 3, name: "group").errorCode == ErrorCode.invalidRequest.rawValue)
    }

    @Test func brokerConfigsUnderKafkaNames() throws {
        let fixture = try BrokerFixture {
            $0.nodeId = 2
            $0.defaultPartitions = 3
            $0.topicDefaults = ["retention.ms": "3600000"]
        }
        for version in DescribeConfigsResponse.validVersions {
            let result = try describe(fixture, type: 4, name: "2", synonyms: true, documentation: true, version: version)
            #expect(result.errorCode == 0)
            let configs = Dictionary(uniqueKeysWithValues: result.configs.map { ($0.name, $0) })
            #expect(configs["num.partitions"]?.value == "3")
            #expect(configs["node.id"]?.value == "2")
            #expect(configs["log.dirs"]?.value == fixture.directory)
            #expect(configs["log.retention.ms"]?.value == "3600000")
            #expect(configs["auto.create.topics.enable"]?.value == "true")
            #expect(configs["listeners"]?.value == "PLAINTEXT://0.0.0.0:9092")
            #expect(result.configs.allSatisfy { $0.readOnly })
            if version >= 1 {
                #expect(configs["num.partitions"]?.configSource == ConfigSource.staticBrokerConfig.rawValue)
                #expect(configs["delete.topic.enable"]?.configSource == ConfigSource.defaultConfig.rawValue)
            } else {
                #expect(configs["delete.topic.enable"]?.isDefault == true)
            }
        }
        #expect(try describe(fixture, type: 4, name: "").configs.isEmpty)
        #expect(try describe(fixture, type: 4, name: "1").errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(try describe(fixture, type: 4, name: "one").errorCode == ErrorCode.invalidRequest.rawValue)
    }

    @Test func brokerLoggers() throws {
        let fixture = try BrokerFixture()
        let result = try describe(fixture, type: 8, name: "1")
        #expect(result.errorCode == 0)
        #expect(result.configs.map(\.name) == ["root"])
        #expect(result.configs.first?.configSource == ConfigSource.dynamicBrokerLoggerConfig.rawValue)
        #expect(try describe(fixture, type: 8, name: "").errorCode == ErrorCode.invalidRequest.rawValue)
    }

    @Test func topicConfigsTrackChanges() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        try fixture.logs.setConfigs(topic: "orders", configs: ["max.message.bytes": "2000"])
        let result = try describe(fixture, name: "orders", keys: ["max.message.bytes"])
        #expect(result.configs.first?.value == "2000")
        #expect(result.configs.first?.configSource == ConfigSource.topicConfig.rawValue)
    }
}

@Suite struct AlterConfigsTests {
    private func alter(_ fixture: BrokerFixture, type: Int8 = 2, name: String, _ configs: [String: String?],
                       validateOnly: Bool = false, version: Int16 = 2) throws -> AlterConfigsResponse.AlterConfigsResourceResponse {
        var request = AlterConfigsRequest()
        request.resources = [.init(resourceType: type, resourceName: name,
                                   configs: configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) })]
        request.validateOnly = validateOnly
        let response = fixture.broker.handleAlterConfigs(request, context: fixture.context(.alterConfigs, version: version))
        return try #require(try wire(response, version: version).responses.first)
    }

    @Test func replacesTheWholeOverrideSet() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", configs: ["retention.ms": "1000", "segment.bytes": "1048576"])
        for version in AlterConfigsResponse.validVersions {
            let result = try alter(fixture, name: "orders", ["cleanup.policy": "compact", "max.message.bytes": "\(2000 + version)"],
                                   version: version)
            #expect(result.errorCode == 0)
            #expect(result.errorMessage == nil)
            #expect(result.resourceName == "orders")
            #expect(fixture.logs.metadata.topic(named: "orders")?.configs
                == ["cleanup.policy": "compact", "max.message.bytes": "\(2000 + version)"])
        }
        #expect(fixture.logs.log(topic: "orders", partition: 0)?.currentConfig.isCompacted == true)
    }

    @Test func validateOnlyChangesNothing() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", configs: ["retention.ms": "1000"])
        #expect(try alter(fixture, name: "orders", ["retention.ms": "5"], validateOnly: true).errorCode == 0)
        #expect(fixture.logs.metadata.topic(named: "orders")?.configs == ["retention.ms": "1000"])
    }

    @Test func invalidConfigsAreRefusedWithAMessage() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", configs: ["retention.ms": "1000"])
        let unknown = try alter(fixture, name: "orders", ["retention.mss": "5"])
        #expect(unknown.errorCode == ErrorCode.invalidConfig.rawValue)
        #expect(unknown.errorMessage == "Unknown topic config name: retention.mss")
        let bad = try alter(fixture, name: "orders", ["retention.ms": "soon"])
        #expect(bad.errorCode == ErrorCode.invalidConfig.rawValue)
        #expect(bad.errorMessage?.contains("retention.ms") == true)
        #expect(fixture.logs.metadata.topic(named: "orders")?.configs == ["retention.ms": "1000"])
        #expect(try alter(fixture, name: "missing", [:]).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
    }

    @Test func brokerConfigsAreStatic() throws {
        let fixture = try BrokerFixture()
        let result = try alter(fixture, type: 4, name: "1", ["log.retention.ms": "1000"])
        #expect(result.errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(result.errorMessage?.contains("log.retention.ms") == true)
        #expect(try alter(fixture, type: 4, name: "1", [:]).errorCode == 0)
    }
}

@Suite struct IncrementalAlterConfigsTests {
    private func alter(_ fixture: BrokerFixture, type: Int8 = 2, name: String = "orders",
                       _ operations: [(String, ConfigOperation, String?)], validateOnly: Bool = false, version: Int16 = 1)
        throws -> IncrementalAlterConfigsResponse.AlterConfigsResourceResponse {
        var request = IncrementalAlterConfigsRequest()
        request.resources = [.init(resourceType: type, resourceName: name, configs: operations.map {
            .init(name: $0.0, configOperation: $0.1.rawValue, value: $0.2)
        })]
        request.validateOnly = validateOnly
        let response = fixture.broker.handleIncrementalAlterConfigs(request, context: fixture.context(.incrementalAlterConfigs, version: version))
        return try #require(try wire(response, version: version).responses.first)
    }

    private func overrides(_ fixture: BrokerFixture) -> [String: String]? {
        fixture.logs.metadata.topic(named: "orders")?.configs
    }

    @Test func setAndDelete() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", configs: ["retention.ms": "1000", "segment.bytes": "1048576"])
        let result = try alter(fixture, [("retention.ms", .set, "2000"), ("segment.bytes", .delete, nil), ("flush.ms", .set, "10")],
                               version: 0)
        #expect(result.errorCode == 0)
        #expect(overrides(fixture) == ["retention.ms": "2000", "flush.ms": "10"])
        #expect(try alter(fixture, [("no.such.config", .delete, nil)]).errorCode == 0)
    }

    @Test func appendAndSubtractListItems() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        #expect(try alter(fixture, [("cleanup.policy", .append, "compact")]).errorCode == 0)
        #expect(overrides(fixture)?["cleanup.policy"] == "delete,compact")
        #expect(try alter(fixture, [("cleanup.policy", .append, "compact")]).errorCode == 0)
        #expect(overrides(fixture)?["cleanup.policy"] == "delete,compact")
        #expect(try alter(fixture, [("cleanup.policy", .subtract, "delete")]).errorCode == 0)
        #expect(overrides(fixture)?["cleanup.policy"] == "compact")
        let notAList = try alter(fixture, [("retention.ms", .append, "5")])
        #expect(notAList.errorCode == ErrorCode.invalidConfig.rawValue)
        #expect(notAList.errorMessage == "Can't APPEND to key retention.ms because its type is not LIST.")
    }

    @Test func validationAndValidateOnly() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", configs: ["retention.ms": "1000"])
        #expect(try alter(fixture, [("retention.ms", .set, "5")], validateOnly: true).errorCode == 0)
        #expect(overrides(fixture) == ["retention.ms": "1000"])
        #expect(try alter(fixture, [("retention.ms", .set, "-7")]).errorCode == ErrorCode.invalidConfig.rawValue)
        #expect(try alter(fixture, [("retention.ms", .set, nil)]).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(try alter(fixture, [("retention.ms", .set, "1"), ("retention.ms", .delete, nil)]).errorCode
            == ErrorCode.invalidRequest.rawValue)
        #expect(try alter(fixture, name: "missing", [("retention.ms", .set, "1")]).errorCode
            == ErrorCode.unknownTopicOrPartition.rawValue)
        #expect(try alter(fixture, type: 4, name: "1", [("log.retention.ms", .set, "1")]).errorCode
            == ErrorCode.invalidRequest.rawValue)
        #expect(overrides(fixture) == ["retention.ms": "1000"])
    }
}
