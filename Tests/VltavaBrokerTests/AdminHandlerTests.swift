import KafkaProtocol
import Testing
import VltavaStorage

@testable import VltavaBroker

@Suite struct CreatePartitionsTests {
    private func request(_ topic: String, count: Int32, assignments: [[Int32]]? = nil, validateOnly: Bool = false)
        -> CreatePartitionsRequest {
        var request = CreatePartitionsRequest()
        request.topics = [.init(name: topic, count: count, assignments: assignments?.map { .init(brokerIds: $0) })]
        request.validateOnly = validateOnly
        return request
    }

    private func result(_ fixture: BrokerFixture, _ request: CreatePartitionsRequest, version: Int16 = 3)
        throws -> CreatePartitionsResponse.CreatePartitionsTopicResult {
        let response = fixture.broker.handleCreatePartitions(request, context: fixture.context(.createPartitions, version: version))
        return try #require(try wire(response, version: version).results.first)
    }

    @Test func raisesThePartitionCountAtEveryVersion() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        for (version, count) in zip(Int16(0)...3, Int32(2)...5) {
            let result = try result(fixture, request("orders", count: count), version: version)
            #expect(result.errorCode == 0)
            #expect(result.errorMessage == nil)
            #expect(fixture.logs.metadata.topic(named: "orders")?.partitionCount == count)
            #expect(fixture.logs.log(topic: "orders", partition: count - 1) != nil)
        }
    }

    @Test func countMustExceedTheCurrentOne() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders", partitions: 3)
        let same = try result(fixture, request("orders", count: 3))
        #expect(same.errorCode == ErrorCode.invalidPartitions.rawValue)
        #expect(same.errorMessage == "Topic already has 3 partition(s).")
        let lower = try result(fixture, request("orders", count: 2))
        #expect(lower.errorCode == ErrorCode.invalidPartitions.rawValue)
        #expect(lower.errorMessage == "The topic orders currently has 3 partition(s); 2 would not be an increase.")
    }

    @Test func unknownTopic() throws {
        let fixture = try BrokerFixture()
        #expect(try result(fixture, request("missing", count: 2)).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
    }

    @Test func validateOnlyChangesNothing() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        #expect(try result(fixture, request("orders", count: 4, validateOnly: true)).errorCode == 0)
        #expect(fixture.logs.metadata.topic(named: "orders")?.partitionCount == 1)
        #expect(fixture.logs.log(topic: "orders", partition: 1) == nil)
    }

    @Test func assignmentsMustNameThisNodeOncePerNewPartition() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        let otherBroker = try result(fixture, request("orders", count: 2, assignments: [[2]]))
        #expect(otherBroker.errorCode == ErrorCode.invalidReplicaAssignment.rawValue)
        let tooFew = try result(fixture, request("orders", count: 3, assignments: [[1]]))
        #expect(tooFew.errorCode == ErrorCode.invalidReplicaAssignment.rawValue)
        let twoReplicas = try result(fixture, request("orders", count: 2, assignments: [[1, 1]]))
        #expect(twoReplicas.errorCode == ErrorCode.invalidReplicaAssignment.rawValue)
        #expect(try result(fixture, request("orders", count: 3, assignments: [[1], [1]])).errorCode == 0)
        #expect(fixture.logs.metadata.topic(named: "orders")?.partitionCount == 3)
    }

    @Test func duplicateTopicsAreInvalidRequests() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("orders")
        var request = request("orders", count: 2)
        request.topics += request.topics
        let response = fixture.broker.handleCreatePartitions(request, context: fixture.context(.createPartitions, version: 3))
        #expect(response.results.map(\.errorCode) == [ErrorCode.invalidRequest.rawValue, ErrorCode.invalidRequest.rawValue])
        #expect(fixture.logs.metadata.topic(named: "orders")?.partitionCount == 1)
    }
}

@Suite struct DeleteRecordsTests {
    private func delete(_ fixture: BrokerFixture, _ topic: String, partition: Int32 = 0, before offset: Int64, version: Int16 = 2)
        throws -> DeleteRecordsResponse.DeleteRecordsPartitionResult {
        var request = DeleteRecordsRequest()
        request.topics = [.init(name: topic, partitions: [.init(partitionIndex: partition, offset: offset)])]
        let response = fixture.broker.handleDeleteRecords(request, context: fixture.context(.deleteRecords, version: version))
        return try #require(try wire(response, version: version).topics.first?.partitions.first)
    }

    @Test func movesTheLowWatermark() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        try fixture.produce("events", count: 10)
        let first = try delete(fixture, "events", before: 4, version: 0)
        #expect(first.errorCode == 0)
        #expect(first.lowWatermark == 4)
        #expect(fixture.logs.log(topic: "events", partition: 0)?.logStartOffset == 4)
        let lower = try delete(fixture, "events", before: 2, version: 1)
        #expect(lower.errorCode == 0)
        #expect(lower.lowWatermark == 4)
        let highWatermark = try delete(fixture, "events", before: -1)
        #expect(highWatermark.errorCode == 0)
        #expect(highWatermark.lowWatermark == 10)
    }

    @Test func offsetsBeyondTheHighWatermarkAreOutOfRange() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        try fixture.produce("events", count: 3)
        let result = try delete(fixture, "events", before: 4)
        #expect(result.errorCode == ErrorCode.offsetOutOfRange.rawValue)
        #expect(result.lowWatermark == -1)
        #expect(try delete(fixture, "events", before: -2).errorCode == ErrorCode.offsetOutOfRange.rawValue)
    }

    @Test func unknownPartitionsAndCompactedTopics() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        try fixture.createTopic("table", configs: ["cleanup.policy": "compact"])
        #expect(try delete(fixture, "events", partition: 3, before: 0).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        #expect(try delete(fixture, "missing", before: 0).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        #expect(try delete(fixture, "table", before: 0).errorCode == ErrorCode.policyViolation.rawValue)
    }
}

@Suite struct DescribeClusterTests {
    @Test func describesThisNode() throws {
        let fixture = try BrokerFixture { $0.nodeId = 3 }
        for version in DescribeClusterResponse.validVersions {
            var request = DescribeClusterRequest()
            request.includeClusterAuthorizedOperations = true
            let response = try wire(
                fixture.broker.handleDescribeCluster(request, context: fixture.context(.describeCluster, version: version)),
                version: version)
            #expect(response.errorCode == 0)
            #expect(response.clusterId == "vltava-test-cluster")
            #expect(response.controllerId == 3)
            #expect(response.brokers.map(\.brokerId) == [3])
            #expect(response.brokers.first?.host == "127.0.0.1")
            #expect(response.brokers.first?.port == 9092)
            #expect(response.endpointType == 1)
            #expect(response.clusterAuthorizedOperations & (1 << 8) != 0)
        }
    }

    @Test func usesTheAdvertisedListener() throws {
        let fixture = try BrokerFixture {
            $0.advertisedListeners = [ListenerEndpoint(name: "PLAINTEXT", host: "kafka.example", port: 29092)]
        }
        let response = fixture.broker.handleDescribeCluster(DescribeClusterRequest(), context: fixture.context(.describeCluster, version: 1))
        #expect(response.brokers.first?.host == "kafka.example")
        #expect(response.brokers.first?.port == 29092)
    }

    @Test func controllerEndpointsAreUnsupported() throws {
        let fixture = try BrokerFixture()
        let response = try wire(
            fixture.broker.handleDescribeCluster(DescribeClusterRequest(endpointType: 2), context: fixture.context(.describeCluster, version: 1)),
            version: 1)
        #expect(response.errorCode == ErrorCode.unsupportedEndpointType.rawValue)
    }
}

@Suite struct DescribeLogDirsTests {
    @Test func reportsPartitionSizesAndSpace() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events", partitions: 2)
        try fixture.produce("events", partition: 1, count: 5)
        for version in DescribeLogDirsResponse.validVersions {
            let response = try wire(
                fixture.broker.handleDescribeLogDirs(DescribeLogDirsRequest(topics: nil), context: fixture.context(.describeLogDirs, version: version)),
                version: version)
            #expect(response.errorCode == 0)
            let directory = try #require(response.results.first)
            #expect(response.results.count == 1)
            #expect(directory.logDir.hasPrefix("/"))
            #expect(directory.logDir.hasSuffix(fixture.directory.split(separator: "/").last.map(String.init) ?? ""))
            let partitions = try #require(directory.topics.first { $0.name == "events" }?.partitions)
            #expect(partitions.map(\.partitionIndex).sorted() == [0, 1])
            #expect(partitions.first { $0.partitionIndex == 1 }!.partitionSize > 0)
            #expect(partitions.allSatisfy { $0.offsetLag == 0 && !$0.isFutureKey })
            if version >= 4 {
                #expect(directory.totalBytes > 0)
                #expect(directory.usableBytes >= 0 && directory.usableBytes <= directory.totalBytes)
            } else {
                #expect(directory.totalBytes == -1)
            }
        }
    }

    @Test func leavesOutPartitionsTheNodeDoesNotHave() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        let request = DescribeLogDirsRequest(topics: [.init(topic: "events", partitions: [0, 7]), .init(topic: "missing", partitions: [0])])
        let response = fixture.broker.handleDescribeLogDirs(request, context: fixture.context(.describeLogDirs, version: 4))
        #expect(response.results.first?.topics.map(\.name) == ["events"])
        #expect(response.results.first?.topics.first?.partitions.map(\.partitionIndex) == [0])
    }
}

@Suite struct OffsetForLeaderEpochTests {
    private func lookUp(_ fixture: BrokerFixture, _ topic: String = "events", partition: Int32 = 0, epoch: Int32,
                        currentEpoch: Int32 = -1, version: Int16 = 4) throws -> OffsetForLeaderEpochResponse.EpochEndOffset {
        var request = OffsetForLeaderEpochRequest()
        request.replicaId = -1
        request.topics = [.init(topic: topic, partitions: [.init(partition: partition, currentLeaderEpoch: currentEpoch, leaderEpoch: epoch)])]
        let response = fixture.broker.handleOffsetForLeaderEpoch(request, context: fixture.context(.offsetForLeaderEpoch, version: version))
        return try #require(try wire(response, version: version).topics.first?.partitions.first)
    }

    @Test func epochZeroEndsAtTheLogEnd() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        try fixture.produce("events", count: 6)
        for version in OffsetForLeaderEpochResponse.validVersions {
            let result = try lookUp(fixture, epoch: 0, currentEpoch: 0, version: version)
            #expect(result.errorCode == 0)
            #expect(result.endOffset == 6)
            #expect(result.leaderEpoch == (version >= 1 ? 0 : -1))
        }
    }

    @Test func laterAndUndefinedEpochsHaveNoEndOffset() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        try fixture.produce("events", count: 2)
        for epoch: Int32 in [1, 5, -1] {
            let result = try lookUp(fixture, epoch: epoch)
            #expect(result.errorCode == 0)
            #expect(result.leaderEpoch == -1)
            #expect(result.endOffset == -1)
        }
    }

    @Test func currentLeaderEpochIsChecked() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        #expect(try lookUp(fixture, epoch: 0, currentEpoch: 1).errorCode == ErrorCode.unknownLeaderEpoch.rawValue)
        #expect(try lookUp(fixture, epoch: 0, currentEpoch: -3).errorCode == ErrorCode.fencedLeaderEpoch.rawValue)
        // Before version 2 the request has no current leader epoch.
        #expect(try lookUp(fixture, epoch: 0, currentEpoch: 1, version: 1).errorCode == 0)
    }

    @Test func unknownPartitions() throws {
        let fixture = try BrokerFixture()
        try fixture.createTopic("events")
        #expect(try lookUp(fixture, partition: 1, epoch: 0).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
        #expect(try lookUp(fixture, "missing", epoch: 0).errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
    }
}

@Suite struct AdminApiVersionsTests {
    @Test func advertisesTheAdminApisOverTheirWholeSpecRange() {
        let expected: [ApiKey] = [
            .createPartitions, .describeConfigs, .alterConfigs, .incrementalAlterConfigs, .deleteRecords, .describeCluster,
            .describeLogDirs, .offsetForLeaderEpoch,
        ]
        for apiKey in expected {
            #expect(Broker.allVersions[apiKey] == apiKey.validVersions, "\(apiKey.name)")
        }
    }
}
