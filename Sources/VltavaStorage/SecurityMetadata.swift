import VltavaSecurity

/// One entity's client quota values as the metadata stores keep them (values by quota key name).
public struct StoredClientQuota: Codable, Sendable, Equatable {
    public var entity: ClientQuotaEntity
    public var values: [String: Double]

    public init(entity: ClientQuotaEntity, values: [String: Double]) {
        self.entity = entity
        self.values = values
    }
}

/// The security metadata every store keeps (SCRAM credentials, ACLs, client quotas) in its stored form, and the
/// changes the admin APIs make to it: the same rules for the local file and for etcd.
public enum SecurityMetadata {
    /// Stored credentials (by user, then mechanism name) with the mechanisms decoded; unknown names left out.
    public static func scramCredentials(_ stored: [String: [String: ScramCredential]]) -> [String: [ScramMechanism: ScramCredential]] {
        stored.mapValues { byName in
            Dictionary(byName.compactMap { name, credential in ScramMechanism(rawValue: name).map { ($0, credential) } },
                       uniquingKeysWith: { first, _ in first })
        }
    }

    /// Removes `deletions` then adds `upserts`; a user left without credentials is forgotten.
    public static func alterScramCredentials(_ credentials: inout [String: [String: ScramCredential]],
                                             upserting upserts: [ScramCredentialChange], deleting deletions: [ScramCredentialChange]) {
        for deletion in deletions {
            credentials[deletion.user]?[deletion.mechanism.rawValue] = nil
            if credentials[deletion.user]?.isEmpty == true { credentials[deletion.user] = nil }
        }
        for upsert in upserts {
            guard let credential = upsert.credential else { continue }
            credentials[upsert.user, default: [:]][upsert.mechanism.rawValue] = credential
        }
    }

    /// Removes `removing`, then appends those of `adding` not present yet.
    public static func alterAcls(_ acls: inout [AclBinding], adding: [AclBinding], removing: [AclBinding]) {
        let removed = Set(removing)
        acls.removeAll { removed.contains($0) }
        var present = Set(acls)
        for acl in adding where present.insert(acl).inserted { acls.append(acl) }
    }

    /// Stored quotas by entity, with the keys decoded; unknown keys and empty entities left out.
    public static func clientQuotas(_ stored: [StoredClientQuota]) -> [ClientQuotaEntity: [ClientQuotaKey: Double]] {
        var quotas: [ClientQuotaEntity: [ClientQuotaKey: Double]] = [:]
        for quota in stored {
            let values = Dictionary(quota.values.compactMap { key, value in ClientQuotaKey(rawValue: key).map { ($0, value) } },
                                    uniquingKeysWith: { first, _ in first })
            if !values.isEmpty { quotas[quota.entity] = values }
        }
        return quotas
    }

    /// The stored quotas with `changes` applied, in their first-seen order; entities left without values go.
    public static func alterClientQuotas(_ stored: [StoredClientQuota], _ changes: [ClientQuotaChange]) -> [StoredClientQuota] {
        var quotas: [ClientQuotaEntity: [String: Double]] = [:]
        var order: [ClientQuotaEntity] = []
        for quota in stored {
            quotas[quota.entity] = quota.values
            order.append(quota.entity)
        }
        for change in changes {
            var values = quotas[change.entity] ?? [:]
            if quotas[change.entity] == nil { order.append(change.entity) }
            for key in change.remove { values[key.rawValue] = nil }
            for (key, value) in change.set { values[key.rawValue] = value }
            quotas[change.entity] = values
        }
        return order.compactMap { entity in
            guard let values = quotas[entity], !values.isEmpty else { return nil }
            return StoredClientQuota(entity: entity, values: values)
        }
    }
}
