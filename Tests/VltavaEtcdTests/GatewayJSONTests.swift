import Testing
@testable import VltavaEtcd

/// The gateway's JSON: request bodies byte for byte, answers as etcd 3.4.23 wrote them (captured with curl).
@Suite struct GatewayJSONTests {
    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func rangeBodiesLeaveZeroFieldsOut() {
        let minimal = GatewayRequests.range(key: Self.bytes("foo"), rangeEnd: [], revision: 0, limit: 0, keysOnly: false)
        #expect(Self.text(GatewayJSON.encode(minimal)) == #"{"key":"Zm9v"}"#)
        let full = GatewayRequests.range(key: Self.bytes("foo"), rangeEnd: [0], revision: 42, limit: 7, keysOnly: true)
        #expect(Self.text(GatewayJSON.encode(full)) == #"{"key":"Zm9v","keys_only":true,"limit":"7","range_end":"AA==","revision":"42"}"#)
    }

    @Test func putAndDeleteBodies() {
        let put = GatewayRequests.put(key: [0xff, 0x00, 0x2f], value: Self.bytes("bar"), lease: 7_587_870_000_000_000_001, prevKV: true)
        #expect(Self.text(GatewayJSON.encode(put)) == #"{"key":"/wAv","lease":"7587870000000000001","prev_kv":true,"value":"YmFy"}"#)
        let delete = GatewayRequests.delete(key: Self.bytes("a"), rangeEnd: Self.bytes("b"), prevKV: false)
        #expect(Self.text(GatewayJSON.encode(delete)) == #"{"key":"YQ==","range_end":"Yg=="}"#)
    }

    @Test func txnBodyWritesEveryOperandEvenZero() {
        let key = Self.bytes("k")
        let request = GatewayRequests.txn(
            compare: [EtcdCompare(key: key, .createRevision(0), .equal), EtcdCompare(key: key, .modRevision(5), .less),
                      EtcdCompare(key: key, .version(0), .greater), EtcdCompare(key: key, .value([]), .notEqual),
                      EtcdCompare(key: key, .lease(9), .equal)],
            success: [.put(key: key, value: Self.bytes("v"))],
            failure: [.range(key: key), .delete(key: key, prevKV: true)])
        let expected = #"{"compare":[{"create_revision":"0","key":"aw==","result":"EQUAL","target":"CREATE"},"#
            + #"{"key":"aw==","mod_revision":"5","result":"LESS","target":"MOD"},"#
            + #"{"key":"aw==","result":"GREATER","target":"VERSION","version":"0"},"#
            + #"{"key":"aw==","result":"NOT_EQUAL","target":"VALUE","value":""},"#
            + #"{"key":"aw==","lease":"9","result":"EQUAL","target":"LEASE"}],"#
            + #""failure":[{"request_range":{"key":"aw=="}},{"request_delete_range":{"key":"aw==","prev_kv":true}}],"#
            + #""success":[{"request_put":{"key":"aw==","value":"dg=="}}]}"#
        #expect(Self.text(GatewayJSON.encode(request)) == expected)
    }

    @Test func leaseAndWatchBodies() {
        #expect(Self.text(GatewayJSON.encode(GatewayJSON.LeaseGrantRequest(ttl: .init(2)))) == #"{"TTL":"2"}"#)
        #expect(Self.text(GatewayJSON.encode(GatewayJSON.LeaseRequest(id: .init(-3)))) == #"{"ID":"-3"}"#)
        let watch = GatewayRequests.watch(key: Self.bytes("a"), rangeEnd: Self.bytes("b"), startRevision: 12, prevKV: true)
        #expect(Self.text(GatewayJSON.encode(watch))
            == #"{"create_request":{"key":"YQ==","prev_kv":true,"range_end":"Yg==","start_revision":"12"}}"#)
    }

    @Test func rangeAnswersDecodeOmittedFieldsAsZero() throws {
        let found = try GatewayJSON.decode(GatewayJSON.RangeResponse.self, from: Self.bytes(
            #"{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"3","raft_term":"2"},"#
                + #""kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmF6"}],"count":"1"}"#)).model
        #expect(found == EtcdRangeResult(revision: 3, kvs: [EtcdKeyValue(key: Self.bytes("foo"), value: Self.bytes("baz"),
                                                                      createRevision: 2, modRevision: 3, version: 2, lease: 0)],
                                         count: 1, more: false))
        let empty = try GatewayJSON.decode(GatewayJSON.RangeResponse.self, from: Self.bytes(
            #"{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"3","raft_term":"2"}}"#)).model
        #expect(empty == EtcdRangeResult(revision: 3, kvs: [], count: 0, more: false))
        let keysOnly = try GatewayJSON.decode(GatewayJSON.RangeResponse.self, from: Self.bytes(
            #"{"header":{"revision":"3"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2"}],"count":"1"}"#))
        #expect(keysOnly.model.kvs.first?.value == [])
    }

    @Test func txnAndLeaseAnswers() throws {
        let txn = try GatewayJSON.decode(GatewayJSON.TxnResponse.self, from: Self.bytes(
            #"{"header":{"revision":"4"},"responses":[{"response_range":{"header":{"revision":"4"},"kvs":[{"key":"bmV3","#
                + #""create_revision":"4","mod_revision":"4","version":"1","value":"MQ=="}],"count":"1"}},"#
                + #"{"response_delete_range":{"header":{"revision":"4"}}}]}"#))
        #expect(txn.succeeded == nil, "a failed transaction's succeeded=false is left out")
        #expect(txn.responses?.first?.responseRange?.model.kvs.first?.valueText == "1")
        #expect(txn.responses?.last?.responseDeleteRange?.model.deleted == 0)
        let keepAlive = try GatewayJSON.decode(GatewayJSON.StreamMessage<GatewayJSON.LeaseResponse>.self, from: Self.bytes(
            #"{"result":{"header":{"revision":"3"},"ID":"2324035881877335055","TTL":"30"}}"#))
        #expect(keepAlive.result?.id?.value == 2_324_035_881_877_335_055)
        #expect(keepAlive.result?.ttl?.value == 30)
        let expired = try GatewayJSON.decode(GatewayJSON.StreamMessage<GatewayJSON.LeaseResponse>.self, from: Self.bytes(
            #"{"result":{"header":{"revision":"3"},"ID":"2324035881877335055"}}"#))
        #expect(expired.result?.ttl == nil, "etcd answers a keepalive of an unknown lease without a TTL")
    }

    @Test func watchMessages() throws {
        let deleted = try GatewayJSON.decode(GatewayJSON.StreamMessage<GatewayJSON.WatchResponse>.self, from: Self.bytes(
            #"{"result":{"header":{"revision":"7"},"events":[{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"7"},"#
                + #""prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"6","version":"3","value":"cXV4"}},"#
                + #"{"kv":{"key":"YmFy","create_revision":"8","mod_revision":"8","version":"1"}}]}}"#))
        let batch = try #require(deleted.result.flatMap(GatewayWatch.batch))
        #expect(batch.revision == 7)
        #expect(batch.events.map(\.kind) == [.delete, .put], "PUT is the zero value and is left out")
        #expect(batch.events.first?.prevKV?.valueText == "qux")
        #expect(batch.events.last?.kv.value == [], "an empty value is left out")
        let compacted = try GatewayJSON.decode(GatewayJSON.StreamMessage<GatewayJSON.WatchResponse>.self, from: Self.bytes(
            #"{"result":{"header":{"cluster_id":"1","member_id":"2","raft_term":"2"},"canceled":true,"compact_revision":"6"}}"#))
        #expect(compacted.result?.canceled == true)
        #expect(compacted.result?.compactRevision?.value == 6)
        #expect(compacted.result.flatMap(GatewayWatch.batch) == nil)
    }

    @Test func malformedAnswersAreRefusedWithTheirPlace() {
        #expect(throws: GatewayJSON.DecodeFailure.self) {
            try GatewayJSON.decode(GatewayJSON.RangeResponse.self, from: Self.bytes(#"{"header":{"revision":"x"}}"#))
        }
        #expect(throws: GatewayJSON.DecodeFailure.self) {
            try GatewayJSON.decode(GatewayJSON.RangeResponse.self, from: Self.bytes(#"{"kvs":[{"key":"***"}]}"#))
        }
        do throws(GatewayJSON.DecodeFailure) {
            _ = try GatewayJSON.decode(GatewayJSON.RangeResponse.self, from: Self.bytes(#"{"count":"many"}"#))
            Issue.record("a count that is no number was accepted")
        } catch {
            #expect(error.detail.contains("count"), "\(error.detail)")
        }
        #expect((try? GatewayJSON.decode(GatewayJSON.Header.self, from: Self.bytes(#"{"revision":12}"#)))?.revision?.value == 12)
    }

    @Test func refusalsBecomeTheirErrors() {
        func refusal(_ body: String, status: Int = 400) -> EtcdError {
            GatewayRequests.refusal(endpoint: "127.0.0.1:2379", path: "/v3/kv/range", status: status, body: Self.bytes(body),
                                    revision: 3, lease: 77)
        }
        let compacted = #"{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}"#
        #expect(refusal(compacted) == .revisionCompacted(requested: 3))
        let future = #"{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}"#
        #expect(refusal(future) == .futureRevision(requested: 3))
        let lease = #"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#
        #expect(refusal(lease) == .leaseNotFound(77))
        let key = #"{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}"#
        let invalid = refusal(key)
        #expect(invalid == .server(endpoint: "127.0.0.1:2379", path: "/v3/kv/range", code: 3, message: "etcdserver: key is not provided"))
        #expect(invalid.description
            == "etcd at 127.0.0.1:2379 refused /v3/kv/range with gRPC code 3 (INVALID_ARGUMENT): etcdserver: key is not provided")
        #expect(refusal("Not Found\n", status: 404).description.hasSuffix("HTTP 404: Not Found"))
    }

    @Test func errorMessagesInPlainWords() {
        #expect(EtcdError.unreachable(["127.0.0.1:2379: connection refused"]).description
            == "cannot reach etcd at 127.0.0.1:2379: connection refused")
        #expect(EtcdError.unreachable(["a:1: connection refused", "b:2: no route to host"]).description
            == "cannot reach etcd at a:1: connection refused; nor at b:2: no route to host")
        #expect(EtcdError.watchCompacted(requested: 2, compactRevision: 6).description.contains("compacted its history up to revision 6"))
    }

    @Test func prefixRangeEnds() {
        #expect(EtcdKeys.prefixEnd(Self.bytes("/vltava/c1/")) == Self.bytes("/vltava/c10"))
        #expect(EtcdKeys.prefixEnd([0x61, 0xff]) == [0x62])
        #expect(EtcdKeys.prefixEnd([0x61, 0xfe, 0xff, 0xff]) == [0x61, 0xff])
        #expect(EtcdKeys.prefixEnd([0xff, 0xff]) == [0], "all 0xff: every key from the prefix on")
        #expect(EtcdKeys.prefixEnd([]) == [0])
        #expect(EtcdKeys.prefixStart([]) == [0])
        #expect(EtcdKeys.contains([0x61, 0xff, 0x00], start: [0x61, 0xff], end: EtcdKeys.prefixEnd([0x61, 0xff])))
        #expect(!EtcdKeys.contains([0x62], start: [0x61, 0xff], end: EtcdKeys.prefixEnd([0x61, 0xff])))
        #expect(EtcdKeys.contains([0xff, 0xff, 0x01], start: [0xff, 0xff], end: [0]))
        #expect(!EtcdKeys.contains([0x61, 0x00], start: [0x61], end: []))
    }

    @Test func endpointsAreChecked() {
        #expect(throws: EtcdError.invalidRequest("no etcd endpoint given")) { try EtcdGatewayClient(endpoints: []) }
        #expect(throws: EtcdError.self) { try EtcdGatewayClient(endpoints: ["https://127.0.0.1:2379"]) }
        #expect(throws: EtcdError.self) { try EtcdGatewayClient(endpoints: ["127.0.0.1:99999"]) }
        #expect((try? EtcdGatewayClient(endpoints: ["10.0.0.1:2379"]))?.endpoints.first?.port == 2379)
    }
}
