import NIOCore
import Testing
@testable import VltavaConnect

@Suite("Kafka Connect worker group protocol")
struct WorkerGroupProtocolTests {
    private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    private func string(_ text: String) -> [UInt8] {
        [UInt8(text.utf8.count >> 8), UInt8(text.utf8.count & 0xFF)] + Array(text.utf8)
    }

    private let url = "http://w1:8083/"

    @Test func workerStateV0IsKafkasConfigState() throws {
        let state = ConnectProtocol.WorkerState(url: url, configOffset: 7)
        let expected: [UInt8] = [0, 0] + string(url) + [0, 0, 0, 0, 0, 0, 0, 7]
        #expect(bytes(try state.serialized(version: 0)) == expected)
        #expect(try ConnectProtocol.WorkerState(bytes: state.serialized(version: 0)) == state)
    }

    @Test func assignmentV1GroupsTasksByConnectorWithTheConnectorAsMinusOne() throws {
        let assignment = ConnectProtocol.Assignment(
            leader: "m1", leaderUrl: url, configOffset: 7,
            assigned: [.task("c", 0), .connector("c")], revoked: [], delayMs: 0)
        var expected: [UInt8] = [0, 1, 0, 0] + string("m1") + string(url) + [0, 0, 0, 0, 0, 0, 0, 7]
        expected += [0, 0, 0, 1] + string("c") + [0, 0, 0, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        expected += [0, 0, 0, 0]  // revoked: empty
        expected += [0, 0, 0, 0]  // delay
        #expect(bytes(try assignment.serialized(version: 1)) == expected)
        let read = try ConnectProtocol.Assignment(bytes: assignment.serialized(version: 1))
        #expect(read == assignment)
        #expect(read.assigned == [.connector("c"), .task("c", 0)])
    }

    @Test func incrementalWorkerStateCarriesWhatTheWorkerRuns() throws {
        let state = ConnectProtocol.WorkerState(url: url, configOffset: 42, running: [.connector("a"), .task("a", 1)])
        for version: Int16 in [1, 2] {
            let read = try ConnectProtocol.WorkerState(bytes: state.serialized(version: version))
            #expect(read == state)
        }
        // Version 0 has no allocation: what runs is not sent.
        #expect(try ConnectProtocol.WorkerState(bytes: state.serialized(version: 0)).running == nil)
    }

    @Test func aNewerVersionIsReadAsTheNewestKnownOne() throws {
        var buffer = try ConnectProtocol.Assignment(leader: "m", leaderUrl: url, configOffset: 1, assigned: [.connector("x")],
                                                    revoked: [.task("y", 3)], delayMs: 500).serialized(version: 2)
        buffer.setInteger(Int16(9), at: buffer.readerIndex)
        buffer.writeBytes([1, 2, 3])  // fields a later version might add
        let read = try ConnectProtocol.Assignment(bytes: buffer)
        #expect(read.revoked == [.task("y", 3)] && read.delayMs == 500)
    }

    @Test func truncatedOrHeaderlessBytesAreErrors() {
        #expect(throws: ConnectError.self) { try ConnectProtocol.Assignment(bytes: ByteBuffer(bytes: [0])) }
        #expect(throws: ConnectError.self) { try ConnectProtocol.WorkerState(bytes: ByteBuffer(bytes: [0, 0, 0, 9, 65])) }
        #expect(throws: ConnectError.self) { try ConnectProtocol.Assignment(bytes: ByteBuffer(bytes: [0xFF, 0xFF])) }
    }

    @Test func variantsOfferWhatKafkasWorkersOffer() throws {
        #expect(try ConnectProtocol.Variant(configValue: "sessioned").offered.map(\.rawValue) == ["sessioned", "compatible", "default"])
        #expect(try ConnectProtocol.Variant(configValue: "eager").rawValue == "default")
        #expect(throws: ConnectError.self) { try ConnectProtocol.Variant(configValue: "default") }
        #expect(throws: ConnectError.self) { try ConnectProtocol.Variant(configValue: "fancy") }
    }
}

@Suite("Worker group assignment")
struct ConnectAssignorTests {
    private func work(_ connectors: [String: Int]) -> Set<ConnectAssignmentItem> {
        Set(connectors.flatMap { name, tasks in [.connector(name)] + (0..<tasks).map { .task(name, Int32($0)) } })
    }

    /// Applies shares to what members run, as workers do.
    private func apply(_ shares: [String: ConnectAssignor.Share], to running: inout [String: Set<ConnectAssignmentItem>]) {
        for (member, share) in shares {
            running[member, default: []].subtract(share.revoked)
            running[member, default: []].formUnion(share.assigned)
        }
    }

    private func everythingRunsOnce(_ running: [String: Set<ConnectAssignmentItem>], _ configured: Set<ConnectAssignmentItem>) -> Bool {
        let all = running.values.flatMap { $0 }
        return all.count == Set(all).count && Set(all) == configured
    }

    @Test func eagerDealsEverythingRoundRobin() {
        var assignor = ConnectAssignor(incremental: false)
        let configured = work(["a": 2, "b": 1])
        let shares = assignor.assign(members: ["m1": [], "m2": []], configured: configured, nowMs: 0)
        #expect(shares["m1"]?.assigned == [.connector("a"), .task("a", 0), .task("b", 0)])
        #expect(shares["m2"]?.assigned == [.connector("b"), .task("a", 1)])
    }

    @Test func aSecondWorkerGetsHalfAfterOneRevocationRound() {
        var assignor = ConnectAssignor(incremental: true)
        let configured = work(["a": 4])
        var running: [String: Set<ConnectAssignmentItem>] = [:]
        apply(assignor.assign(members: ["m1": []], configured: configured, nowMs: 0), to: &running)
        #expect(running["m1"] == configured)

        // m2 joins: m1 gives back two tasks; nothing runs twice meanwhile.
        let first = assignor.assign(members: ["m1": running["m1"] ?? [], "m2": []], configured: configured, nowMs: 1)
        #expect(first["m1"]?.revoked.count == 2 && first["m2"]?.assigned.isEmpty == true)
        apply(first, to: &running)
        // The follow-up rebalance hands them to m2.
        let second = assignor.assign(members: ["m1": running["m1"] ?? [], "m2": running["m2"] ?? []], configured: configured, nowMs: 2)
        #expect(second["m2"]?.assigned.count == 2 && second["m1"]?.revoked.isEmpty == true)
        apply(second, to: &running)
        #expect(everythingRunsOnce(running, configured))
        #expect(running["m1"]?.filter { !$0.isConnector }.count == 2 && running["m2"]?.count == 2)
    }

    @Test func aDepartedWorkersShareWaitsForTheDelayThenMoves() {
        var assignor = ConnectAssignor(incremental: true, maxDelayMs: 1000)
        let configured = work(["a": 1, "b": 1])
        var running: [String: Set<ConnectAssignmentItem>] = [:]
        apply(assignor.assign(members: ["m1": [], "m2": []], configured: configured, nowMs: 0), to: &running)
        let m2Share = running["m2"] ?? []
        #expect(!m2Share.isEmpty)

        // m2 dies: its work is held back, m1 is told to come back after the delay.
        running["m2"] = nil
        let held = assignor.assign(members: ["m1": running["m1"] ?? []], configured: configured, nowMs: 100)
        #expect(held["m1"]?.assigned.isEmpty == true && held["m1"]?.delayMs == 1000)
        // Still within the delay: still held.
        #expect(assignor.assign(members: ["m1": running["m1"] ?? []], configured: configured, nowMs: 500)["m1"]?.delayMs == 600)
        // The delay is over: m1 takes it.
        let moved = assignor.assign(members: ["m1": running["m1"] ?? []], configured: configured, nowMs: 1100)
        #expect(Set(moved["m1"]?.assigned ?? []) == m2Share && moved["m1"]?.delayMs == 0)
        apply(moved, to: &running)
        #expect(everythingRunsOnce(running, configured))
    }

    @Test func aWorkerComingBackWithinTheDelayGetsTheHeldWork() {
        var assignor = ConnectAssignor(incremental: true, maxDelayMs: 10_000)
        let configured = work(["a": 3])
        var running: [String: Set<ConnectAssignmentItem>] = [:]
        apply(assignor.assign(members: ["m1": [], "m2": []], configured: configured, nowMs: 0), to: &running)
        let m2Share = running.removeValue(forKey: "m2") ?? []
        _ = assignor.assign(members: ["m1": running["m1"] ?? []], configured: configured, nowMs: 10)
        // m2 restarts under a new member id.
        let back = assignor.assign(members: ["m1": running["m1"] ?? [], "m3": []], configured: configured, nowMs: 20)
        #expect(Set(back["m3"]?.assigned ?? []) == m2Share && back["m1"]?.assigned.isEmpty == true)
    }

    @Test func deletedAndDuplicatedWorkIsRevoked() {
        var assignor = ConnectAssignor(incremental: true)
        let configured = work(["a": 1])
        let shares = assignor.assign(
            members: ["m1": [.connector("a"), .task("gone", 0)], "m2": [.connector("a"), .task("a", 0)]],
            configured: configured, nowMs: 0)
        #expect(shares["m1"]?.revoked == [.task("gone", 0)])
        #expect(shares["m2"]?.revoked == [.connector("a")], "a connector run twice stays with the first member")
    }

    @Test func newWorkGoesToTheLeastLoaded() {
        var assignor = ConnectAssignor(incremental: true)
        var running: [String: Set<ConnectAssignmentItem>] = ["m1": work(["a": 2]), "m2": []]
        apply(assignor.assign(members: running, configured: work(["a": 2]), nowMs: 0), to: &running)  // m1 gives a task back
        let configured = work(["a": 2, "b": 2])
        let shares = assignor.assign(members: running, configured: configured, nowMs: 1)
        apply(shares, to: &running)
        #expect(everythingRunsOnce(running, configured))
        #expect(abs((running["m1"]?.count ?? 0) - (running["m2"]?.count ?? 0)) <= 2)
    }
}
