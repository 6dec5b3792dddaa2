import VltavaEtcd
import VltavaSecurity
import VltavaStorage

/// Producer id blocks and the security metadata: each a JSON document under one key, changed by compare-and-swap
/// on its mod revision.
extension EtcdMetadataStore {
    /// The producer ids a broker takes from etcd at a time.
    static let producerIdBlockSize: Int64 = 1000

    public func allocateProducerId() throws(StorageError) -> Int64 {
        producerIdLock.lock()
        defer { producerIdLock.unlock() }
        if producerIdBlock.next >= producerIdBlock.limit {
            let start: Int64 = try updateDocument(keys.producerIds, "taking a block of producer ids") { current throws(StorageError) in
                let next = try current.map { kv throws(StorageError) in try decode(ProducerIdRecord.self, kv).next } ?? 0
                return (ClusterJSON.encode(ProducerIdRecord(next: next + Self.producerIdBlockSize)), next)
            }
            producerIdBlock = (start, start + Self.producerIdBlockSize)
        }
        let id = producerIdBlock.next
        producerIdBlock.next += 1
        return id
    }

    public func scramCredentials() -> [String: [ScramMechanism: ScramCredential]] {
        SecurityMetadata.scramCredentials(storedScram(cached(keys.scramCredentials)))
    }

    public func scramCredential(user: String, mechanism: ScramMechanism) -> ScramCredential? {
        storedScram(cached(keys.scramCredentials))[user]?[mechanism.rawValue]
    }

    public func alterScramCredentials(upserting upserts: [ScramCredentialChange], deleting deletions: [ScramCredentialChange])
        throws(StorageError) {
        try updateDocument(keys.scramCredentials, "changing SCRAM credentials") { current throws(StorageError) in
            var credentials = storedScram(current)
            SecurityMetadata.alterScramCredentials(&credentials, upserting: upserts, deleting: deletions)
            return (ClusterJSON.encode(credentials), ())
        }
    }

    public func acls() -> [AclBinding] {
        storedAcls(cached(keys.acls))
    }

    public func alterAcls(adding: [AclBinding], removing: [AclBinding]) throws(StorageError) {
        try updateDocument(keys.acls, "changing ACLs") { current throws(StorageError) in
            var acls = storedAcls(current)
            SecurityMetadata.alterAcls(&acls, adding: adding, removing: removing)
            return (ClusterJSON.encode(acls), ())
        }
    }

    public func clientQuotas() -> [ClientQuotaEntity: [ClientQuotaKey: Double]] {
        SecurityMetadata.clientQuotas(storedQuotas(cached(keys.clientQuotas)))
    }

    public func alterClientQuotas(_ changes: [ClientQuotaChange]) throws(StorageError) {
        try updateDocument(keys.clientQuotas, "changing client quotas") { current throws(StorageError) in
            (ClusterJSON.encode(SecurityMetadata.alterClientQuotas(storedQuotas(current), changes)), ())
        }
    }

    // A document etcd holds that does not decode is logged and read as empty: refusing every authentication
    // or ACL check for it would take the whole cluster down.
    private func storedScram(_ kv: EtcdKeyValue?) -> [String: [String: ScramCredential]] {
        guard let kv else { return [:] }
        return (try? decode([String: [String: ScramCredential]].self, kv)) ?? [:]
    }

    private func storedAcls(_ kv: EtcdKeyValue?) -> [AclBinding] {
        guard let kv else { return [] }
        return (try? decode([AclBinding].self, kv)) ?? []
    }

    private func storedQuotas(_ kv: EtcdKeyValue?) -> [StoredClientQuota] {
        guard let kv else { return [] }
        return (try? decode([StoredClientQuota].self, kv)) ?? []
    }

    func decode<Value: Decodable>(_ type: Value.Type, _ kv: EtcdKeyValue) throws(StorageError) -> Value {
        do {
            return try ClusterJSON.decode(type, kv.value, key: kv.key)
        } catch {
            logger.error("a document in etcd does not decode", metadata: ["error": "\(error)"])
            throw .invalidMetadata("\(error)")
        }
    }

    /// Changes one document by compare-and-swap on the mod revision the cache holds (absent: on its absence); when
    /// another writer came first, reads it again and retries. `change` gives the new value and what to return.
    func updateDocument<Outcome>(_ key: [UInt8], _ operation: String,
                                 _ change: (EtcdKeyValue?) throws(StorageError) -> ([UInt8], Outcome)) throws(StorageError) -> Outcome {
        for _ in 0..<8 {
            let current = cached(key)
            let (value, outcome) = try change(current)
            let guardRevision = current.map { EtcdCompare(key: key, .modRevision($0.modRevision), .equal) }
                ?? EtcdCompare(key: key, .createRevision(0), .equal)
            let result = try run(operation) { [etcd] () async throws(EtcdError) in
                try await etcd.txn(compare: [guardRevision], success: [.put(key: key, value: value)], failure: [.range(key: key)])
            }
            if result.succeeded {
                applyOwn([.put(key: key, value: value)], at: result.revision)
                return outcome
            }
            refresh(from: result, key: key)
        }
        throw .metadataUnavailable("\(operation): other brokers kept changing it at the same time")
    }
}
