/// The gateway's request bodies built from the client's calls, and its refusals read back into `EtcdError`s.
enum GatewayRequests {
    static func range(key: [UInt8], rangeEnd: [UInt8], revision: Int64, limit: Int64, keysOnly: Bool) -> GatewayJSON.RangeRequest {
        GatewayJSON.RangeRequest(key: .nonEmpty(key), rangeEnd: .nonEmpty(rangeEnd), limit: .nonZero(limit),
                                 revision: .nonZero(revision), keysOnly: keysOnly ? true : nil)
    }

    static func put(key: [UInt8], value: [UInt8], lease: Int64, prevKV: Bool) -> GatewayJSON.PutRequest {
        GatewayJSON.PutRequest(key: .nonEmpty(key), value: .nonEmpty(value), lease: .nonZero(lease), prevKV: prevKV ? true : nil)
    }

    static func delete(key: [UInt8], rangeEnd: [UInt8], prevKV: Bool) -> GatewayJSON.DeleteRangeRequest {
        GatewayJSON.DeleteRangeRequest(key: .nonEmpty(key), rangeEnd: .nonEmpty(rangeEnd), prevKV: prevKV ? true : nil)
    }

    static func compare(_ compare: EtcdCompare) -> GatewayJSON.Compare {
        var wire = GatewayJSON.Compare(key: .init(compare.key), target: "", result: compare.result.rawValue)
        switch compare.target {
        case let .value(value):
            wire.target = "VALUE"
            wire.value = .init(value)
        case let .version(version):
            wire.target = "VERSION"
            wire.version = .init(version)
        case let .createRevision(revision):
            wire.target = "CREATE"
            wire.createRevision = .init(revision)
        case let .modRevision(revision):
            wire.target = "MOD"
            wire.modRevision = .init(revision)
        case let .lease(lease):
            wire.target = "LEASE"
            wire.lease = .init(lease)
        }
        return wire
    }

    static func operation(_ operation: EtcdOperation) -> GatewayJSON.RequestOp {
        switch operation {
        case let .range(key, rangeEnd, revision, limit, keysOnly):
            return GatewayJSON.RequestOp(requestRange: range(key: key, rangeEnd: rangeEnd, revision: revision, limit: limit,
                                                             keysOnly: keysOnly))
        case let .put(key, value, lease, prevKV):
            return GatewayJSON.RequestOp(requestPut: put(key: key, value: value, lease: lease, prevKV: prevKV))
        case let .delete(key, rangeEnd, prevKV):
            return GatewayJSON.RequestOp(requestDeleteRange: delete(key: key, rangeEnd: rangeEnd, prevKV: prevKV))
        }
    }

    static func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) -> GatewayJSON.TxnRequest {
        GatewayJSON.TxnRequest(compare: compare.isEmpty ? nil : compare.map(Self.compare),
                               success: success.isEmpty ? nil : success.map(operation),
                               failure: failure.isEmpty ? nil : failure.map(operation))
    }

    static func watch(key: [UInt8], rangeEnd: [UInt8], startRevision: Int64, prevKV: Bool) -> GatewayJSON.WatchRequest {
        GatewayJSON.WatchRequest(createRequest: .init(key: .nonEmpty(key), rangeEnd: .nonEmpty(rangeEnd),
                                                      startRevision: .nonZero(startRevision), prevKV: prevKV ? true : nil))
    }

    /// etcd's refusal of a call (`{"error": …, "message": …, "code": N}` with a 4xx/5xx status) as an `EtcdError`;
    /// the errors a caller acts on (compacted or future revision, unknown lease) get their own cases. `revision` and
    /// `lease` are what the call asked for.
    static func refusal(endpoint: String, path: String, status: Int, body: [UInt8], revision: Int64, lease: Int64) -> EtcdError {
        guard let answer = try? GatewayJSON.decode(GatewayJSON.ErrorAnswer.self, from: body),
              let message = answer.message ?? answer.error else {
            let text = String(String(decoding: body, as: UTF8.self).drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            return .server(endpoint: endpoint, path: path, code: 2, message: "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)"))
        }
        // etcd's error texts (rpctypes) are part of its API: clientv3 matches them the same way.
        if message.hasSuffix("required revision has been compacted") { return .revisionCompacted(requested: revision) }
        if message.hasSuffix("required revision is a future revision") { return .futureRevision(requested: revision) }
        if message.hasSuffix("requested lease not found") { return .leaseNotFound(lease) }
        return .server(endpoint: endpoint, path: path, code: answer.code ?? 2, message: message)
    }
}
