import NIOCore

/// What the produce path asks a schema registry when a topic has `confluent.key.schema.validation` or
/// `confluent.value.schema.validation` on: whether a schema id is registered for a subject. Called on the
/// connection's event loop for every checked record, so it must answer from memory without blocking.
public protocol SchemaIdValidator: Sendable {
    /// Whether `id` names a schema of a version (live or soft-deleted) of `subject`.
    func isRegistered(id: Int32, subject: String) -> Bool
}

/// Confluent's wire format check: magic byte 0, then the 4-byte big-endian id of a schema registered for the
/// record's subject (TopicNameStrategy: `{topic}-key`, `{topic}-value`).
enum SchemaFraming {
    /// Why `bytes` (a record's key or value) is not framed with an id registered for `subject`, or nil when it is.
    static func problem(_ bytes: ByteBuffer?, subject: String, validator: (any SchemaIdValidator)?) -> String? {
        guard let bytes else { return nil }
        guard bytes.readableBytes >= 5, bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 0,
            let id = bytes.getInteger(at: bytes.readerIndex + 1, as: Int32.self)
        else {
            return "does not start with the magic byte 0 and a 4-byte schema id"
        }
        guard let validator else {
            return "names schema id \(id), but this broker has no schema registry configured to check it against"
        }
        guard validator.isRegistered(id: id, subject: subject) else {
            return "names schema id \(id), which is not registered for subject '\(subject)'"
        }
        return nil
    }
}
