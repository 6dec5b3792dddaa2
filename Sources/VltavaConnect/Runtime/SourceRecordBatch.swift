import VltavaClient

/// Records a source task hands its worker as one encoded record batch for one partition of one topic, to be produced
/// as they are (see `SourceTask.pollRecordBatches`): nothing is copied or converted between the task and the produce.
public struct SourceRecordBatch: Sendable {
    public var topic: String
    /// The partition and the encoded batch (one v2 batch, offsets from 0, no producer id).
    public var batch: EncodedRecordBatch
    /// The source partition of every record of the batch and the source offset of its last record: what the
    /// worker makes committable once Kafka acknowledged the batch.
    public var sourcePartition: ConnectValue
    public var sourceOffset: ConnectValue
    /// Called once Kafka acknowledged the batch, with the offset its first record got (the others follow it).
    public var acknowledged: (@Sendable (_ baseOffset: Int64) -> Void)?

    public init(
        topic: String, batch: EncodedRecordBatch, sourcePartition: ConnectValue, sourceOffset: ConnectValue,
        acknowledged: (@Sendable (_ baseOffset: Int64) -> Void)? = nil
    ) {
        self.topic = topic
        self.batch = batch
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        self.acknowledged = acknowledged
    }
}
