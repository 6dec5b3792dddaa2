import KafkaProtocol
import NIOCore
import Testing

@Suite struct FrameDecoderTests {
    @Test func framesSurviveEverySplitPoint() throws {
        var input = ByteBuffer()
        input.writeBytes([0, 0, 0, 3, 1, 2, 3])
        input.writeBytes([0, 0, 0, 0])
        input.writeBytes([0, 0, 0, 1, 9])
        let expected = [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(), ByteBuffer(bytes: [9])]
        for first in 0...input.readableBytes {
            for second in first...input.readableBytes {
                var processor = NIOSingleStepByteToMessageProcessor(KafkaFrameDecoder())
                var frames: [ByteBuffer] = []
                for (start, end) in [(0, first), (first, second), (second, input.readableBytes)] {
                    let chunk = input.getSlice(at: start, length: end - start)!
                    try processor.process(buffer: chunk) { frames.append($0) }
                }
                #expect(frames == expected, "split at \(first) and \(second)")
            }
        }
    }

    @Test func negativeSizeIsAnError() {
        var decoder = KafkaFrameDecoder()
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFE, 0])
        #expect(throws: KafkaProtocolError.negativeFrameSize(-2)) { try decoder.decode(buffer: &buffer) }
    }

    @Test func oversizedFrameIsRejectedBeforeItArrives() {
        var decoder = KafkaFrameDecoder(maximumFrameSize: 1024)
        var buffer = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: KafkaProtocolError.frameTooLarge(size: Int(Int32.max), maximum: 1024)) {
            try decoder.decode(buffer: &buffer)
        }
        #expect(KafkaFrameDecoder().maximumFrameSize == 104_857_600)
    }

    @Test func incompleteFrameWaitsForMoreBytes() throws {
        var decoder = KafkaFrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 5, 1, 2])
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 6)
    }
}

@Suite struct FrameAccumulatorTests {
    static let stream: ByteBuffer = {
        var input = ByteBuffer()
        input.writeBytes([0, 0, 0, 3, 1, 2, 3])
        input.writeBytes([0, 0, 0, 0])
        input.writeBytes([0, 0, 0, 1, 9])
        return input
    }()

    @Test(arguments: [false, true]) func framesSurviveEverySplitPoint(copiesFrames: Bool) throws {
        let input = Self.stream
        let expected = [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(), ByteBuffer(bytes: [9])]
        for first in 0...input.readableBytes {
            for second in first...input.readableBytes {
                var accumulator = KafkaFrameAccumulator(copiesFrames: copiesFrames)
                var frames: [ByteBuffer] = []
                for (start, end) in [(0, first), (first, second), (second, input.readableBytes)] {
                    try accumulator.process(input.getSlice(at: start, length: end - start)!) { frames.append($0) }
                }
                #expect(frames == expected, "split at \(first) and \(second)")
                #expect(accumulator.unprocessedBytes == 0)
            }
        }
    }

    @Test func aFrameWholeInOneReadIsASliceOfIt() throws {
        var accumulator = KafkaFrameAccumulator()
        var frames: [ByteBuffer] = []
        try accumulator.process(Self.stream) { frames.append($0) }
        #expect(frames.count == 3)
        #expect(frames[0].storageCapacity == Self.stream.storageCapacity)
    }

    @Test func copiedFramesKeepNothingOfTheRead() throws {
        var read = Self.stream
        read.writeBytes([0, 0, 0, 2, 7])
        var accumulator = KafkaFrameAccumulator(copiesFrames: true)
        var frames: [ByteBuffer] = []
        try accumulator.process(read) { frames.append($0) }
        // Each frame has a buffer of its own size (rounded up to a power of two), and so has the frame still arriving.
        #expect(frames.map(\.storageCapacity) == [4, 0, 1])
        #expect(accumulator.unprocessedBytes == 5)
        try accumulator.process(ByteBuffer(bytes: [8])) { frames.append($0) }
        #expect(frames.last == ByteBuffer(bytes: [7, 8]))
    }

    @Test func aLargeFrameGrowsWithWhatArrives() throws {
        let size = 1 << 20
        var accumulator = KafkaFrameAccumulator(eagerAllocationLimit: 1 << 16)
        var prefix = ByteBuffer()
        prefix.writeInteger(Int32(size))
        prefix.writeBytes([1, 2, 3, 4])
        var frames: [ByteBuffer] = []
        try accumulator.process(prefix) { frames.append($0) }
        #expect(accumulator.unprocessedBytes == 8)
        let chunk = ByteBuffer(repeating: 5, count: 64 * 1024)
        var sent = 4
        while sent + chunk.readableBytes <= size {
            try accumulator.process(chunk) { frames.append($0) }
            sent += chunk.readableBytes
        }
        try accumulator.process(ByteBuffer(repeating: 6, count: size - sent)) { frames.append($0) }
        #expect(frames.count == 1)
        #expect(frames.first?.readableBytes == size)
        #expect(frames.first.map { Array($0.readableBytesView.prefix(5)) } == [1, 2, 3, 4, 5])
        #expect(frames.first?.readableBytesView.last == 6)
    }

    @Test func sizesThatCannotBeAreErrors() {
        var accumulator = KafkaFrameAccumulator(maximumFrameSize: 1024)
        #expect(throws: KafkaProtocolError.frameTooLarge(size: 1025, maximum: 1024)) {
            try accumulator.process(ByteBuffer(bytes: [0, 0, 4, 1])) { _ in }
        }
        accumulator = KafkaFrameAccumulator()
        #expect(throws: KafkaProtocolError.negativeFrameSize(-2)) {
            try accumulator.process(ByteBuffer(bytes: [0xFF, 0xFF])) { _ in }
            try accumulator.process(ByteBuffer(bytes: [0xFF, 0xFE, 0])) { _ in }
        }
    }
}

@Suite struct RequestHeaderTests {
    @Test func headerVersionsFollowFlexibility() {
        #expect(ApiKey.produce.requestHeaderVersion(apiVersion: 8) == 1)
        #expect(ApiKey.produce.requestHeaderVersion(apiVersion: 9) == 2)
        #expect(ApiKey.controlledShutdown.requestHeaderVersion(apiVersion: 0) == 0)
        #expect(ApiKey.produce.responseHeaderVersion(apiVersion: 9) == 1)
        #expect(ApiKey.apiVersions.responseHeaderVersion(apiVersion: 3) == 0)
        #expect(ApiKey.apiVersions.requestHeaderVersion(apiVersion: 3) == 2)
    }

    @Test func apiVersionsV3RequestGoldenBytes() throws {
        // ApiVersions v3 as librdkafka sends it: header v2 (client id with INT16 length, empty tags),
        // then compact strings for the software name and version and empty tags.
        let bytes: [UInt8] = [
            0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
            0x00, 0x07, 0x72, 0x64, 0x6B, 0x61, 0x66, 0x6B, 0x61,
            0x00,
            0x0B, 0x6C, 0x69, 0x62, 0x72, 0x64, 0x6B, 0x61, 0x66, 0x6B, 0x61,
            0x05, 0x32, 0x2E, 0x31, 0x36,
            0x00,
        ]
        let frame = try KafkaRequestFrame(payload: ByteBuffer(bytes: bytes))
        #expect(frame.apiKey == .apiVersions)
        #expect(frame.header.correlationId == 1)
        #expect(frame.header.clientId == "rdkafka")
        var body = frame.body
        guard case let .apiVersions(request) = try KafkaRequestBody.decode(apiKey: .apiVersions, version: 3, from: &body) else {
            Issue.record("not an ApiVersions request")
            return
        }
        #expect(request.clientSoftwareName == "librdkafka")
        #expect(request.clientSoftwareVersion == "2.16")

        var written = ByteBuffer()
        try written.writeKafkaRequest(request, version: 3, correlationId: 1, clientId: "rdkafka")
        #expect(written.readInteger(as: Int32.self) == Int32(bytes.count))
        #expect(Array(written.readableBytesView) == bytes)
    }

    @Test func unknownApiKeyStillYieldsTheCorrelationId() throws {
        let frame = try KafkaRequestFrame(payload: ByteBuffer(bytes: [0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A, 0xFF, 0xFF]))
        #expect(frame.apiKey == nil)
        #expect(frame.header.correlationId == 42)
        #expect(frame.header.clientId == nil)
    }

    @Test func responseFrameCarriesSizeAndHeader() throws {
        var buffer = ByteBuffer()
        try buffer.writeKafkaResponse(HeartbeatResponse(errorCode: ErrorCode.rebalanceInProgress.rawValue), version: 4, correlationId: 5)
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 12, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0x1B, 0])
    }
}
