#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// etcd's JSON gateway format (grpc-gateway's protobuf JSON): bytes in base64, int64 as decimal strings, enums by
/// name, and fields holding their zero value left out — so every field decodes as absent-means-zero.
enum GatewayJSON {
    /// An int64 written as a string; read from a string or a number.
    struct Int64Text: Codable, Hashable {
        var value: Int64

        init(_ value: Int64) { self.value = value }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                guard let value = Int64(text) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an int64")
                }
                self.value = value
            } else {
                value = try container.decode(Int64.self)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(String(value))
        }

        /// The value for a request field: nil (left out) for zero, as the gateway itself writes.
        static func nonZero(_ value: Int64) -> Int64Text? { value == 0 ? nil : Int64Text(value) }
    }

    /// Bytes written as standard base64.
    struct Base64Bytes: Codable, Hashable {
        var bytes: [UInt8]

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not base64")
            }
            bytes = Array(data)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(Data(bytes).base64EncodedString())
        }

        static func nonEmpty(_ bytes: [UInt8]) -> Base64Bytes? { bytes.isEmpty ? nil : Base64Bytes(bytes) }
    }

    // MARK: Requests

    struct RangeRequest: Codable, Hashable {
        var key: Base64Bytes?
        var rangeEnd: Base64Bytes?
        var limit: Int64Text?
        var revision: Int64Text?
        var keysOnly: Bool?

        enum CodingKeys: String, CodingKey {
            case key, limit, revision
            case rangeEnd = "range_end"
            case keysOnly = "keys_only"
        }
    }

    struct PutRequest: Codable, Hashable {
        var key: Base64Bytes?
        var value: Base64Bytes?
        var lease: Int64Text?
        var prevKV: Bool?

        enum CodingKeys: String, CodingKey {
            case key, value, lease
            case prevKV = "prev_kv"
        }
    }

    struct DeleteRangeRequest: Codable, Hashable {
        var key: Base64Bytes?
        var rangeEnd: Base64Bytes?
        var prevKV: Bool?

        enum CodingKeys: String, CodingKey {
            case key
            case rangeEnd = "range_end"
            case prevKV = "prev_kv"
        }
    }

    /// A comparison: the operand goes in the field the target names, written even when zero (it selects the
    /// comparison's operand in etcd's protobuf `oneof`).
    struct Compare: Codable, Hashable {
        var key: Base64Bytes
        var target: String
        var result: String
        var value: Base64Bytes?
        var version: Int64Text?
        var createRevision: Int64Text?
        var modRevision: Int64Text?
        var lease: Int64Text?

        enum CodingKeys: String, CodingKey {
            case key, target, result, value, version, lease
            case createRevision = "create_revision"
            case modRevision = "mod_revision"
        }
    }

    struct RequestOp: Codable, Hashable {
        var requestRange: RangeRequest?
        var requestPut: PutRequest?
        var requestDeleteRange: DeleteRangeRequest?

        enum CodingKeys: String, CodingKey {
            case requestRange = "request_range"
            case requestPut = "request_put"
            case requestDeleteRange = "request_delete_range"
        }
    }

    struct TxnRequest: Codable, Hashable {
        var compare: [Compare]?
        var success: [RequestOp]?
        var failure: [RequestOp]?
    }

    struct CompactionRequest: Codable, Hashable {
        var revision: Int64Text
    }

    struct LeaseGrantRequest: Codable, Hashable {
        var ttl: Int64Text

        enum CodingKeys: String, CodingKey { case ttl = "TTL" }
    }

    /// Revoke, keepalive and timetolive all name the lease the same way.
    struct LeaseRequest: Codable, Hashable {
        var id: Int64Text

        enum CodingKeys: String, CodingKey { case id = "ID" }
    }

    struct WatchCreateRequest: Codable, Hashable {
        var key: Base64Bytes?
        var rangeEnd: Base64Bytes?
        var startRevision: Int64Text?
        var prevKV: Bool?

        enum CodingKeys: String, CodingKey {
            case key
            case rangeEnd = "range_end"
            case startRevision = "start_revision"
            case prevKV = "prev_kv"
        }
    }

    struct WatchRequest: Codable, Hashable {
        var createRequest: WatchCreateRequest

        enum CodingKeys: String, CodingKey { case createRequest = "create_request" }
    }

    // MARK: Answers

    struct Header: Codable, Hashable {
        var revision: Int64Text?
    }

    /// An answer with nothing to read but its header (compaction, revoke).
    struct Acknowledgement: Codable, Hashable {
        var header: Header?
    }

    struct KeyValue: Codable, Hashable {
        var key: Base64Bytes?
        var value: Base64Bytes?
        var createRevision: Int64Text?
        var modRevision: Int64Text?
        var version: Int64Text?
        var lease: Int64Text?

        enum CodingKeys: String, CodingKey {
            case key, value, version, lease
            case createRevision = "create_revision"
            case modRevision = "mod_revision"
        }

        var model: EtcdKeyValue {
            EtcdKeyValue(key: key?.bytes ?? [], value: value?.bytes ?? [], createRevision: createRevision?.value ?? 0,
                         modRevision: modRevision?.value ?? 0, version: version?.value ?? 0, lease: lease?.value ?? 0)
        }
    }

    struct RangeResponse: Codable, Hashable {
        var header: Header?
        var kvs: [KeyValue]?
        var count: Int64Text?
        var more: Bool?

        var model: EtcdRangeResult {
            EtcdRangeResult(revision: header?.revision?.value ?? 0, kvs: (kvs ?? []).map(\.model),
                            count: count?.value ?? 0, more: more ?? false)
        }
    }

    struct PutResponse: Codable, Hashable {
        var header: Header?
        var prevKV: KeyValue?

        enum CodingKeys: String, CodingKey {
            case header
            case prevKV = "prev_kv"
        }

        var model: EtcdPutResult { EtcdPutResult(revision: header?.revision?.value ?? 0, prevKV: prevKV?.model) }
    }

    struct DeleteRangeResponse: Codable, Hashable {
        var header: Header?
        var deleted: Int64Text?
        var prevKVs: [KeyValue]?

        enum CodingKeys: String, CodingKey {
            case header, deleted
            case prevKVs = "prev_kvs"
        }

        var model: EtcdDeleteResult {
            EtcdDeleteResult(revision: header?.revision?.value ?? 0, deleted: deleted?.value ?? 0,
                             prevKVs: (prevKVs ?? []).map(\.model))
        }
    }

    struct ResponseOp: Codable, Hashable {
        var responseRange: RangeResponse?
        var responsePut: PutResponse?
        var responseDeleteRange: DeleteRangeResponse?

        enum CodingKeys: String, CodingKey {
            case responseRange = "response_range"
            case responsePut = "response_put"
            case responseDeleteRange = "response_delete_range"
        }
    }

    struct TxnResponse: Codable, Hashable {
        var header: Header?
        var succeeded: Bool?
        var responses: [ResponseOp]?
    }

    struct LeaseResponse: Codable, Hashable {
        var header: Header?
        var id: Int64Text?
        var ttl: Int64Text?
        var grantedTTL: Int64Text?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case header, grantedTTL, error
            case id = "ID"
            case ttl = "TTL"
        }
    }

    /// What a streaming endpoint writes per message: the message, or an error.
    struct StreamMessage<Result: Codable & Hashable>: Codable, Hashable {
        var result: Result?
        var error: StreamError?
    }

    /// A stream's error: grpc-gateway writes an object; read its message and code if it has them.
    struct StreamError: Codable, Hashable {
        var message: String?
        var grpcCode: Int?
        var code: Int?

        enum CodingKeys: String, CodingKey {
            case message, code
            case grpcCode = "grpc_code"
        }
    }

    struct Event: Codable, Hashable {
        var type: String?
        var kv: KeyValue?
        var prevKV: KeyValue?

        enum CodingKeys: String, CodingKey {
            case type, kv
            case prevKV = "prev_kv"
        }
    }

    struct WatchResponse: Codable, Hashable {
        var header: Header?
        var created: Bool?
        var canceled: Bool?
        var compactRevision: Int64Text?
        var cancelReason: String?
        var events: [Event]?

        enum CodingKeys: String, CodingKey {
            case header, created, canceled, events
            case compactRevision = "compact_revision"
            case cancelReason = "cancel_reason"
        }
    }

    /// A refused unary call: `{"error": ..., "message": ..., "code": N}`.
    struct ErrorAnswer: Codable, Hashable {
        var error: String?
        var message: String?
        var code: Int?
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // The request types hold only strings, booleans and optionals of them: encoding cannot fail.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(DecodeFailure) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let DecodingError.dataCorrupted(context) {
            throw DecodeFailure(detail: Self.describe(context))
        } catch let DecodingError.typeMismatch(_, context) {
            throw DecodeFailure(detail: Self.describe(context))
        } catch let DecodingError.valueNotFound(_, context) {
            throw DecodeFailure(detail: Self.describe(context))
        } catch let DecodingError.keyNotFound(key, context) {
            throw DecodeFailure(detail: "\(key.stringValue) is missing" + Self.at(context))
        } catch {
            throw DecodeFailure(detail: "\(error)")
        }
    }

    struct DecodeFailure: Error {
        var detail: String
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        context.debugDescription + at(context)
    }

    private static func at(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? "" : " at " + context.codingPath.map(\.stringValue).joined(separator: ".")
    }
}
