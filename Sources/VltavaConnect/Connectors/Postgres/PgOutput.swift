import NIOCore

/// The messages of PostgreSQL's `pgoutput` logical decoding plugin (protocol version 1, values in text form), as
/// `pg_logical_slot_peek_binary_changes` hands them out: one message per row of its answer.
enum PgOutputMessage: Sendable, Hashable {
    struct Relation: Sendable, Hashable {
        struct Column: Sendable, Hashable {
            var name: String
            var typeOID: UInt32
            var typeModifier: Int32
            var isKey: Bool
        }

        var id: UInt32
        var namespace: String
        var name: String
        /// `d` default (the primary key), `n` nothing, `f` full, `i` an index.
        var replicaIdentity: UInt8
        var columns: [Column]
    }

    /// A column's value in a tuple: NULL, an unchanged TOASTed value (not sent), or its text form.
    enum Value: Sendable, Hashable {
        case null
        case unchangedToast
        case text(String)
    }

    case begin(finalLSN: UInt64, commitMicros: Int64, xid: UInt32)
    case commit(commitLSN: UInt64, endLSN: UInt64, commitMicros: Int64)
    case relation(Relation)
    case insert(relation: UInt32, new: [Value])
    /// `old` is the key (replica identity default or index) or the whole old row (full), when sent.
    case update(relation: UInt32, old: [Value]?, new: [Value])
    case delete(relation: UInt32, old: [Value])
    case truncate(relations: [UInt32])
    /// Type, origin and logical-decoding messages, which change no row.
    case other

    static func decode(_ bytes: ByteBuffer) throws(ConnectError) -> PgOutputMessage {
        var buffer = bytes
        let failure = ConnectError.failed("pgoutput sent a message that cannot be read")
        guard let kind = buffer.readInteger(as: UInt8.self) else { throw failure }
        switch kind {
        case UInt8(ascii: "B"):
            guard let lsn = buffer.readInteger(as: UInt64.self), let micros = buffer.readInteger(as: Int64.self),
                  let xid = buffer.readInteger(as: UInt32.self) else { throw failure }
            return .begin(finalLSN: lsn, commitMicros: micros, xid: xid)
        case UInt8(ascii: "C"):
            guard buffer.readInteger(as: UInt8.self) != nil, let commit = buffer.readInteger(as: UInt64.self),
                  let end = buffer.readInteger(as: UInt64.self), let micros = buffer.readInteger(as: Int64.self) else { throw failure }
            return .commit(commitLSN: commit, endLSN: end, commitMicros: micros)
        case UInt8(ascii: "R"):
            guard let id = buffer.readInteger(as: UInt32.self), let namespace = readCString(&buffer), let name = readCString(&buffer),
                  let identity = buffer.readInteger(as: UInt8.self), let count = buffer.readInteger(as: Int16.self), count >= 0 else { throw failure }
            var columns: [Relation.Column] = []
            for _ in 0..<count {
                guard let flags = buffer.readInteger(as: UInt8.self), let column = readCString(&buffer),
                      let type = buffer.readInteger(as: UInt32.self), let modifier = buffer.readInteger(as: Int32.self) else { throw failure }
                columns.append(Relation.Column(name: column, typeOID: type, typeModifier: modifier, isKey: flags & 1 != 0))
            }
            return .relation(Relation(id: id, namespace: namespace, name: name, replicaIdentity: identity, columns: columns))
        case UInt8(ascii: "I"):
            guard let relation = buffer.readInteger(as: UInt32.self), buffer.readInteger(as: UInt8.self) == UInt8(ascii: "N") else { throw failure }
            return .insert(relation: relation, new: try tuple(&buffer))
        case UInt8(ascii: "U"):
            guard let relation = buffer.readInteger(as: UInt32.self), var marker = buffer.readInteger(as: UInt8.self) else { throw failure }
            var old: [Value]?
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                old = try tuple(&buffer)
                guard let next = buffer.readInteger(as: UInt8.self) else { throw failure }
                marker = next
            }
            guard marker == UInt8(ascii: "N") else { throw failure }
            return .update(relation: relation, old: old, new: try tuple(&buffer))
        case UInt8(ascii: "D"):
            guard let relation = buffer.readInteger(as: UInt32.self), let marker = buffer.readInteger(as: UInt8.self),
                  marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else { throw failure }
            return .delete(relation: relation, old: try tuple(&buffer))
        case UInt8(ascii: "T"):
            guard let count = buffer.readInteger(as: Int32.self), count >= 0, buffer.readInteger(as: UInt8.self) != nil else { throw failure }
            var relations: [UInt32] = []
            for _ in 0..<count {
                guard let relation = buffer.readInteger(as: UInt32.self) else { throw failure }
                relations.append(relation)
            }
            return .truncate(relations: relations)
        default:
            return .other
        }
    }

    private static func readCString(_ buffer: inout ByteBuffer) -> String? {
        guard let end = buffer.readableBytesView.firstIndex(of: 0) else { return nil }
        let length = end - buffer.readableBytesView.startIndex
        let text = buffer.readString(length: length)
        buffer.moveReaderIndex(forwardBy: 1)
        return text
    }

    private static func tuple(_ buffer: inout ByteBuffer) throws(ConnectError) -> [Value] {
        guard let count = buffer.readInteger(as: Int16.self), count >= 0 else { throw .failed("pgoutput sent a tuple that cannot be read") }
        var values: [Value] = []
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            switch buffer.readInteger(as: UInt8.self) {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchangedToast)
            case UInt8(ascii: "t"):
                guard let length = buffer.readInteger(as: Int32.self), length >= 0, let text = buffer.readString(length: Int(length)) else {
                    throw .failed("pgoutput sent a truncated value")
                }
                values.append(.text(text))
            default:
                throw .failed("pgoutput sent a value of an unknown kind")
            }
        }
        return values
    }
}

/// Log sequence numbers as PostgreSQL writes them (`16/B374D848`) and as numbers.
enum LSN {
    static func text(_ lsn: UInt64) -> String {
        String(lsn >> 32, radix: 16, uppercase: true) + "/" + String(lsn & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt64(parts[0], radix: 16), let low = UInt64(parts[1], radix: 16),
              high <= 0xFFFF_FFFF, low <= 0xFFFF_FFFF else { return nil }
        return high << 32 | low
    }
}
