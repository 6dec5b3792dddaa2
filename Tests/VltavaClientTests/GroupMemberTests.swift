import KafkaProtocol
import Testing
@testable import VltavaClient

@Suite("Group membership rules")
struct GroupMemberTests {
    @Test func errorsLeadWhereKafkasCoordinatorClientGoes() {
        #expect(GroupMember.step(after: .memberIdRequired) == .retry, "KIP-394: join again with the id given")
        #expect(GroupMember.step(after: .rebalanceInProgress) == .retry)
        #expect(GroupMember.step(after: .coordinatorLoadInProgress) == .retry)
        #expect(GroupMember.step(after: .notCoordinator) == .findCoordinator)
        #expect(GroupMember.step(after: .coordinatorNotAvailable) == .findCoordinator)
        #expect(GroupMember.step(after: .unknownMemberId) == .resetMemberId)
        #expect(GroupMember.step(after: .fencedInstanceId) == .resetMemberId)
        #expect(GroupMember.step(after: .illegalGeneration) == .rejoin)
        #expect(GroupMember.step(after: .groupAuthorizationFailed) == .fail)
        #expect(GroupMember.step(after: .inconsistentGroupProtocol) == .fail)
    }
}
