import KafkaProtocol
import NIOCore
import Testing

@Suite struct VarintTests {
    @Test(arguments: [
        (Int32(0), [UInt8(0x00)]),
        (Int32(-1), [0x01]),
        (Int32(1), [0x02]),
        (Int32(-64), [0x7F]),
        (Int32(64), [0x80, 0x01]),
        (Int32(150), [0xAC, 0x02]),
        (Int32.max, [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]),
        (Int32.min, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
    ])
    func zigzagVarintGoldenBytes(value: Int32, bytes: [UInt8]) throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaVarint(value)
        #expect(Array(buffer.readableBytesView) == bytes)
        #expect(ByteBuffer.kafkaVarintSize(value) == bytes.count)
        #expect(try buffer.readKafkaVarint() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [Int64(0), -1, 1, 1 << 40, -(1 << 40), .max, .min])
    func varlongRoundTrips(value: Int64) throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaVarlong(value)
        #expect(buffer.readableBytes == ByteBuffer.kafkaVarlongSize(value))
        #expect(try buffer.readKafkaVarlong() == value)
    }

    @Test func unsignedVarintGoldenBytes() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaUnsignedVarint(300)
        #expect(Array(buffer.readableBytesView) == [0xAC, 0x02])
        buffer.writeKafkaUnsignedVarint(UInt32.max)
        #expect(try buffer.readKafkaUnsignedVarint() == 300)
        #expect(try buffer.readKafkaUnsignedVarint() == UInt32.max)
    }

    @Test func overlongVarintsAreRejected() {
        var six = ByteBuffer(bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: KafkaProtocolError.varintTooLong) { try six.readKafkaVarint() }
        var wide = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        #expect(throws: KafkaProtocolError.varintTooLong) { try wide.readKafkaUnsignedVarint() }
        var eleven = ByteBuffer(bytes: Array(repeating: 0x80, count: 10) + [0x01])
        #expect(throws: KafkaProtocolError.varintTooLong) { try eleven.readKafkaVarlong() }
        var unterminated = ByteBuffer(bytes: [0x80, 0x80])
        #expect(throws: KafkaProtocolError.truncated(needed: 3, available: 2)) { try unterminated.readKafkaVarint() }
    }
}

@Suite struct LengthPrefixedTests {
    @Test func classicAndCompactStringsGoldenBytes() throws {
        var buffer = ByteBuffer()
        try buffer.writeKafkaString("kafka", compact: false)
        try buffer.writeKafkaString("kafka", compact: true)
        try buffer.writeKafkaNullableString(nil, compact: false)
        try buffer.writeKafkaNullableString(nil, compact: true)
        #expect(Array(buffer.readableBytesView) == [
            0x00, 0x05, 0x6B, 0x61, 0x66, 0x6B, 0x61,
            0x06, 0x6B, 0x61, 0x66, 0x6B, 0x61,
            0xFF, 0xFF,
            0x00,
        ])
        #expect(try buffer.readKafkaString(compact: false) == "kafka")
        #expect(try buffer.readKafkaString(compact: true) == "kafka")
        #expect(try buffer.readKafkaNullableString(compact: false) == nil)
        #expect(try buffer.readKafkaNullableString(compact: true) == nil)
    }

    @Test func nullWhereNotAllowedIsAnError() {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF])
        #expect(throws: KafkaProtocolError.unexpectedNull(field: "ClientId")) {
            try buffer.readKafkaString(compact: false, field: "ClientId")
        }
    }

    @Test func lengthsBeyondThePayloadFailBeforeAllocating() {
        var string = ByteBuffer(bytes: [0x7F, 0xFF, 0x61])
        #expect(throws: KafkaProtocolError.lengthExceedsRemaining(length: 32767, remaining: 1)) {
            try string.readKafkaString(compact: false)
        }
        var bytes = ByteBuffer(bytes: [0x7F, 0xFF, 0xFF, 0xFF, 0x00])
        #expect(throws: KafkaProtocolError.lengthExceedsRemaining(length: Int64(Int32.max), remaining: 1)) {
            try bytes.readKafkaBytes(compact: false)
        }
        var negative = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFE])
        #expect(throws: KafkaProtocolError.negativeLength(-2)) { try negative.readKafkaNullableBytes(compact: false) }
    }

    @Test func arrayLengthBombFailsFast() {
        // A Metadata v1 body of 20 bytes claiming two billion topics.
        var body = ByteBuffer(bytes: [0x77, 0x35, 0x94, 0x00] + Array(repeating: 0x00, count: 16))
        #expect(throws: KafkaProtocolError.lengthExceedsRemaining(length: 2_000_000_000, remaining: 16)) {
            try MetadataRequest(from: &body, version: 1)
        }
        var compact = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00])
        #expect(throws: KafkaProtocolError.self) { try MetadataRequest(from: &compact, version: 9) }
    }

    @Test func trailingBytesAreReported() throws {
        var payload = try HeartbeatRequest(groupId: "g", generationId: 1, memberId: "m").encoded(version: 0)
        payload.writeInteger(UInt8(0))
        #expect(throws: KafkaProtocolError.trailingBytes(1)) { try HeartbeatRequest.decode(from: payload, version: 0) }
    }

    @Test func unsupportedVersionIsAnError() {
        #expect(throws: KafkaProtocolError.self) { try HeartbeatRequest.decode(from: ByteBuffer(), version: 99) }
        var empty = ByteBuffer()
        #expect(throws: KafkaProtocolError.unsupportedVersion(apiKey: 12, version: 99)) {
            try KafkaRequestBody.decode(apiKey: .heartbeat, version: 99, from: &empty)
        }
    }

    @Test func nonIgnorableFieldMissingFromVersionIsAnError() throws {
        let request = CreateTopicsRequest(validateOnly: true)
        #expect(throws: KafkaProtocolError.fieldNotSupportedInVersion(field: "CreateTopicsRequest.validateOnly", version: 0)) {
            try request.encoded(version: 0)
        }
        _ = try request.encoded(version: 1)
    }

    @Test func uuidPrintsAsKafkaBase64() {
        let id = KafkaUUID(mostSignificantBits: 0, leastSignificantBits: 1)
        #expect(id.description == "AAAAAAAAAAAAAAAAAAAAAQ")
        #expect(KafkaUUID.random() != KafkaUUID.random())
    }
}

@Suite struct TaggedFieldTests {
    @Test func knownTaggedFieldIsWrittenOnlyWhenNotDefault() throws {
        var response = ApiVersionsResponse()
        let plain = try response.encoded(version: 3)
        response.finalizedFeaturesEpoch = 7
        let tagged = try response.encoded(version: 3)
        #expect(tagged.readableBytes > plain.readableBytes)
        #expect(try ApiVersionsResponse.decode(from: tagged, version: 3).finalizedFeaturesEpoch == 7)
    }

    @Test func unknownTaggedFieldsSurviveInTagOrder() throws {
        var header = RequestHeader(requestApiKey: 18, requestApiVersion: 3, correlationId: 9, clientId: "c")
        header.unknownTaggedFields = [
            TaggedField(tag: 5, data: ByteBuffer(bytes: [1])),
            TaggedField(tag: 2, data: ByteBuffer(bytes: [2, 3])),
        ]
        let bytes = try header.encoded(version: 2)
        #expect(Array(bytes.readableBytesView.suffix(8)) == [0x02, 0x02, 0x02, 0x02, 0x03, 0x05, 0x01, 0x01])
        let decoded = try RequestHeader.decode(from: bytes, version: 2)
        #expect(decoded.unknownTaggedFields.map(\.tag) == [2, 5])
    }

    @Test func taggedFieldCountBeyondPayloadFails() {
        var bytes = ByteBuffer(bytes: [0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0x7F])
        #expect(throws: KafkaProtocolError.lengthExceedsRemaining(length: 127, remaining: 0)) {
            try RequestHeader(from: &bytes, version: 2)
        }
    }
}

@Suite struct ErrorCodeTests {
    @Test func everyCodeOfKafkasTableIsKnown() {
        #expect(ErrorCode.allKnown.count >= 120)
        #expect(ErrorCode.unknownTopicOrPartition.rawValue == 3)
        #expect(ErrorCode.unknownTopicOrPartition.name == "UNKNOWN_TOPIC_OR_PARTITION")
        #expect(ErrorCode.unknownServerError.rawValue == -1)
        #expect(ErrorCode(rawValue: 30000).name == "UNKNOWN_ERROR_CODE_30000")
        #expect(Set(ErrorCode.allKnown.map(\.rawValue)).count == ErrorCode.allKnown.count)
    }
}
