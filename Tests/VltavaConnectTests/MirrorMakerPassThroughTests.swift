import Testing
@testable import VltavaConnect

@Suite("MirrorMaker 2 pass-through: record batches produced as they are, offset syncs by runs")
struct MirrorMakerPassThroughTests {
    @Test(arguments: [Int64(0), 1, 3, 100])
    func aRunOfRecordsSyncsAsEachOfItsRecordsWould(maxOffsetLag: Int64) {
        var byRecord = OffsetSyncWriter(maxOffsetLag: maxOffsetLag)
        var byRun = OffsetSyncWriter(maxOffsetLag: maxOffsetLag)
        let partition = MirrorTopicPartition(topic: "t", partition: 0)
        // Upstream, downstream, count: one record, a long run, a gap upstream, the target gone back, runs that meet.
        let runs: [(upstream: Int64, downstream: Int64, count: Int)] = [
            (0, 0, 1), (1, 1, 250), (260, 251, 7), (267, 258, 1), (300, 100, 40), (340, 140, 500), (840, 640, 2),
        ]
        for (index, run) in runs.enumerated() {
            for step in 0..<Int64(run.count) {
                byRecord.record(partition, upstream: run.upstream + step, downstream: run.downstream + step)
            }
            byRun.record(partition, upstream: run.upstream, downstream: run.downstream, count: run.count)
            #expect(byRun.pending == byRecord.pending)
            #expect(byRun.delayed == byRecord.delayed)
            #expect(byRun.states == byRecord.states)
            if index % 2 == 1 {
                byRecord.promoteDelayed()
                byRun.promoteDelayed()
            }
        }
    }

    @Test func onlyByteArrayConvertersWithoutTransformsPassBytesThrough() throws {
        let worker = try WorkerConfig(properties: [:])
        let bytes = "org.apache.kafka.connect.converters.ByteArrayConverter"
        let config = ["key.converter": bytes, "value.converter": bytes, "header.converter": bytes]
        #expect(try RecordPipeline(connectorConfig: config, worker: worker).passesBytesThrough)
        var transformed = config
        transformed["transforms"] = "route"
        transformed["transforms.route.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
        transformed["transforms.route.regex"] = "(.*)"
        transformed["transforms.route.replacement"] = "copy-$1"
        #expect(try !RecordPipeline(connectorConfig: transformed, worker: worker).passesBytesThrough)
        var strings = config
        strings["value.converter"] = "org.apache.kafka.connect.storage.StringConverter"
        #expect(try !RecordPipeline(connectorConfig: strings, worker: worker).passesBytesThrough)
        var simpleHeaders = config
        simpleHeaders["header.converter"] = nil
        #expect(try !RecordPipeline(connectorConfig: simpleHeaders, worker: worker).passesBytesThrough)
        #expect(MirrorSourceTask().pollsRecordBatches)
        #expect(!FileStreamSourceTask().pollsRecordBatches)
    }
}
