import KafkaProtocol
import Testing
@testable import VltavaClient

@Suite struct VersionNegotiationTests {
    let table = ApiVersionTable(ranges: [.metadata: 0...9, .fetch: 4...20, .produce: 3...7])

    @Test func picksTheLowerOfBothMaximums() {
        #expect(table.negotiatedVersion(of: .metadata, ours: 0...12) == 9)
        #expect(table.negotiatedVersion(of: .fetch, ours: 0...17) == 17)
    }

    @Test func failsWhenRangesDoNotOverlap() {
        #expect(table.negotiatedVersion(of: .produce, ours: 8...11) == nil)
        #expect(table.negotiatedVersion(of: .fetch, ours: 0...3) == nil)
    }

    @Test func failsForAnApiTheBrokerDoesNotList() {
        #expect(table.negotiatedVersion(of: .createPartitions, ours: 0...3) == nil)
    }

    @Test func readsAnApiVersionsResponse() {
        let response = ApiVersionsResponse(apiKeys: [
            .init(apiKey: 3, minVersion: 0, maxVersion: 12),
            .init(apiKey: 9999, minVersion: 0, maxVersion: 1),
            .init(apiKey: 1, minVersion: 5, maxVersion: 2),
        ])
        #expect(ApiVersionTable(response).ranges == [.metadata: 0...12])
    }
}

@Suite struct InFlightRequestsTests {
    @Test func matchesResponsesInOrder() {
        var inFlight = InFlightRequests<String>()
        let first = inFlight.allocateCorrelationId()
        let second = inFlight.allocateCorrelationId()
        #expect(first != second)
        inFlight.append(correlationId: first, waiter: "a")
        inFlight.append(correlationId: second, waiter: "b")
        guard case .matched("a") = inFlight.receive(correlationId: first) else { Issue.record("first"); return }
        guard case .matched("b") = inFlight.receive(correlationId: second) else { Issue.record("second"); return }
        #expect(inFlight.count == 0)
    }

    @Test func reportsAResponseOutOfStep() {
        var inFlight = InFlightRequests<String>()
        inFlight.append(correlationId: 1, waiter: "a")
        inFlight.append(correlationId: 2, waiter: "b")
        guard case .outOfOrder(expected: 1) = inFlight.receive(correlationId: 2) else { Issue.record("order"); return }
        #expect(inFlight.removeAll() == ["a", "b"])
    }

    @Test func reportsAnUnsolicitedResponse() {
        var inFlight = InFlightRequests<String>()
        guard case .unsolicited = inFlight.receive(correlationId: 7) else { Issue.record("unsolicited"); return }
    }

    @Test func correlationIdsWrapToZero() {
        var inFlight = InFlightRequests<String>(firstCorrelationId: .max)
        #expect(inFlight.allocateCorrelationId() == .max)
        #expect(inFlight.allocateCorrelationId() == 0)
    }
}
