import Foundation
import Testing
import VltavaSecurity
import VltavaStorage

@Suite("SCRAM credentials in the metadata store")
struct ScramCredentialStoreTests {
    static let credential = ScramCredential(salt: [1, 2, 3], storedKey: [4, 5], serverKey: [6, 7], iterations: 4096)

    @Test func keptAcrossReopenAndRemoved() throws {
        let directory = makeTemporaryDirectory()
        var store = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        try store.alterScramCredentials(upserting: [
            ScramCredentialChange(user: "alice", mechanism: .sha256, credential: Self.credential),
            ScramCredentialChange(user: "alice", mechanism: .sha512, credential: Self.credential),
            ScramCredentialChange(user: "bob", mechanism: .sha256, credential: Self.credential),
        ], deleting: [])
        store = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        #expect(store.scramCredential(user: "alice", mechanism: .sha512) == Self.credential)
        #expect(store.scramCredentials().keys.sorted() == ["alice", "bob"])
        try store.alterScramCredentials(upserting: [], deleting: [ScramCredentialChange(user: "bob", mechanism: .sha256)])
        store = try LocalMetadataStore(dataDirectory: directory, clusterId: "c", nodeId: 1)
        #expect(store.scramCredentials().keys.sorted() == ["alice"])
        #expect(store.scramCredential(user: "bob", mechanism: .sha256) == nil)
        let text = try String(contentsOfFile: directory + "/vltava-metadata.json", encoding: .utf8)
        #expect(!text.contains("password"))
    }

    @Test func filesWrittenBeforeCredentialsStillOpen() throws {
        let directory = makeTemporaryDirectory()
        let old = #"{"clusterId":"old","nodeId":1,"producerIdLimit":0,"topics":[],"version":1}"#
        try old.write(toFile: directory + "/vltava-metadata.json", atomically: true, encoding: .utf8)
        let store = try LocalMetadataStore(dataDirectory: directory, clusterId: "new", nodeId: 1)
        #expect(store.clusterId == "old")
        #expect(store.scramCredentials().isEmpty)
    }
}
