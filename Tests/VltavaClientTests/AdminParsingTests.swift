import KafkaProtocol
import Testing
@testable import VltavaClient

@Suite struct ConfigAssignmentTests {
    @Test func splitsAtTheFirstEquals() throws {
        let config = try ConfigAssignment(parsing: "cleanup.policy=compact,delete")
        #expect(config == ConfigAssignment(name: "cleanup.policy", value: "compact,delete"))
        #expect(try ConfigAssignment(parsing: "a=b=c").value == "b=c")
    }

    @Test func allowsAnEmptyValue() throws {
        #expect(try ConfigAssignment(parsing: "retention.ms=").value == "")
    }

    @Test(arguments: ["retention.ms", "=5", ""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: KafkaClientError.self) { try ConfigAssignment(parsing: text) }
    }
}

@Suite struct BrokerAddressTests {
    @Test func parsesHostAndPort() throws {
        #expect(try BrokerAddress(parsing: "localhost:9093") == BrokerAddress(host: "localhost", port: 9093))
        #expect(try BrokerAddress(parsing: "kafka") == BrokerAddress(host: "kafka", port: 9092))
        #expect(try BrokerAddress(parsing: "PLAINTEXT://broker:29092") == BrokerAddress(host: "broker", port: 29092))
        #expect(try BrokerAddress(parsing: "SASL_SSL://broker:9093") == BrokerAddress(host: "broker", port: 9093))
        #expect(try BrokerAddress(parsing: "[::1]:9093").isIPAddress)
        #expect(try BrokerAddress(parsing: "10.0.0.7:9093").isIPAddress)
        #expect(try !BrokerAddress(parsing: "kafka-1.example:9093").isIPAddress)
        #expect(try BrokerAddress(parsing: "[::1]:9092") == BrokerAddress(host: "::1", port: 9092))
    }

    @Test func parsesABootstrapList() throws {
        let list = try BrokerAddress.parseList("a:1, b:2,")
        #expect(list == [BrokerAddress(host: "a", port: 1), BrokerAddress(host: "b", port: 2)])
    }

    @Test(arguments: ["host:", "host:0", "host:70000", ":9092", "[::1", ""])
    func rejectsMalformed(_ text: String) {
        #expect(throws: KafkaClientError.self) { try BrokerAddress.parseList(text) }
    }
}

@Suite struct ErrorMappingTests {
    @Test func namesTheKafkaErrorCode() {
        #expect(throws: KafkaClientError.broker(code: .topicAlreadyExists, message: "exists", resource: "t")) {
            try KafkaClientError.check(36, message: "exists", resource: "t")
        }
        let error = KafkaClientError.broker(code: .topicAlreadyExists, message: "Topic 't' already exists.", resource: "t")
        #expect(error.description == "TOPIC_ALREADY_EXISTS (t): Topic 't' already exists.")
        #expect(error.errorCode == .topicAlreadyExists)
    }

    @Test func noneIsNotAnError() throws {
        try KafkaClientError.check(0)
    }

    @Test func nonBrokerErrorsHaveNoCode() {
        #expect(KafkaClientError.timedOut(operation: "Metadata", seconds: 1).errorCode == nil)
    }
}
