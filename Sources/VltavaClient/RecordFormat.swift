import KafkaRecords
import NIOCore

/// kcat's `-f` output format: text with `%` placeholders and backslash escapes, rendered per record.
///
/// Placeholders: `%t` topic, `%p` partition, `%o` offset, `%k` key, `%K` key length (-1 for null), `%s` value,
/// `%S` value length (-1 for null), `%T` timestamp in milliseconds, `%h` headers as `name=value,...`, `%%` a
/// percent sign. Escapes: `\n`, `\r`, `\t`, `\\`.
public struct RecordFormat: Hashable, Sendable {
    enum Piece: Hashable, Sendable {
        case literal([UInt8])
        case topic, partition, offset, key, keyLength, value, valueLength, timestamp, headers
    }

    let pieces: [Piece]

    /// kcat's default: the value and a newline.
    public static let valueOnly = RecordFormat(pieces: [.value, .literal([0x0A])])

    init(pieces: [Piece]) {
        self.pieces = pieces
    }

    /// Parses a format string; an unknown placeholder is an error, as in kcat.
    public init(parsing format: String) throws(KafkaClientError) {
        var pieces: [Piece] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = []
        }
        var iterator = format.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let code = iterator.next() else { throw .invalidArgument("format ends with a lone %") }
                let piece: Piece
                switch code {
                case UInt8(ascii: "%"): literal.append(code); continue
                case UInt8(ascii: "t"): piece = .topic
                case UInt8(ascii: "p"): piece = .partition
                case UInt8(ascii: "o"): piece = .offset
                case UInt8(ascii: "k"): piece = .key
                case UInt8(ascii: "K"): piece = .keyLength
                case UInt8(ascii: "s"): piece = .value
                case UInt8(ascii: "S"): piece = .valueLength
                case UInt8(ascii: "T"): piece = .timestamp
                case UInt8(ascii: "h"): piece = .headers
                default: throw .invalidArgument("unsupported format placeholder %\(Character(Unicode.Scalar(code)))")
                }
                flush()
                pieces.append(piece)
            case UInt8(ascii: "\\"):
                guard let escaped = iterator.next() else { literal.append(byte); continue }
                switch escaped {
                case UInt8(ascii: "n"): literal.append(0x0A)
                case UInt8(ascii: "r"): literal.append(0x0D)
                case UInt8(ascii: "t"): literal.append(0x09)
                case UInt8(ascii: "\\"): literal.append(byte)
                default: literal += [byte, escaped]
                }
            default:
                literal.append(byte)
            }
        }
        flush()
        self.init(pieces: pieces)
    }

    /// Appends the rendering of `record` to `output`.
    public func render(_ record: ConsumedRecord, into output: inout [UInt8]) {
        for piece in pieces {
            switch piece {
            case let .literal(bytes): output += bytes
            case .topic: output += Array(record.topic.utf8)
            case .partition: output += Array(String(record.partition).utf8)
            case .offset: output += Array(String(record.offset).utf8)
            case .key: Self.append(record.key, to: &output)
            case .keyLength: output += Array(String(record.key?.readableBytes ?? -1).utf8)
            case .value: Self.append(record.value, to: &output)
            case .valueLength: output += Array(String(record.value?.readableBytes ?? -1).utf8)
            case .timestamp: output += Array(String(record.timestamp).utf8)
            case .headers:
                for (index, header) in record.headers.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    output += Array(header.key.utf8)
                    output.append(UInt8(ascii: "="))
                    Self.append(header.value, to: &output)
                }
            }
        }
    }

    /// The rendering of `record` as a string (bytes that are not UTF-8 are repaired).
    public func render(_ record: ConsumedRecord) -> String {
        var output: [UInt8] = []
        render(record, into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    private static func append(_ bytes: ByteBuffer?, to output: inout [UInt8]) {
        guard let bytes else { return }
        output += bytes.readableBytesView
    }
}
