/// Cuts a byte stream of concatenated JSON objects (etcd's gateway writes one per stream message, each followed by a
/// newline, in chunks that need not align with them) into whole objects, whatever the boundaries of the reads.
struct JSONObjectSplitter {
    struct Failure: Error, Equatable {
        var detail: String
    }

    /// An object larger than this fails the stream (a watch batch of 10 000 large values stays well below).
    let maximumObjectBytes: Int
    private var pending: [UInt8] = []
    private var depth = 0
    private var inString = false
    private var escaped = false

    init(maximumObjectBytes: Int = 64 << 20) {
        self.maximumObjectBytes = maximumObjectBytes
    }

    /// Adds bytes read and returns the objects they complete, in order.
    mutating func append(_ bytes: some Sequence<UInt8>) throws(Failure) -> [[UInt8]] {
        var objects: [[UInt8]] = []
        for byte in bytes {
            if depth == 0 {
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                    continue
                case UInt8(ascii: "{"):
                    depth = 1
                    pending = [byte]
                    continue
                default:
                    throw Failure(detail: "expected a JSON object, found byte 0x\(String(byte, radix: 16))")
                }
            }
            pending.append(byte)
            guard pending.count <= maximumObjectBytes else {
                throw Failure(detail: "a JSON object is larger than \(maximumObjectBytes) bytes")
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    objects.append(pending)
                    pending = []
                }
            default:
                break
            }
        }
        return objects
    }

    /// Whether part of an object is still waiting for its end.
    var hasPartialObject: Bool { depth > 0 }
}
