import NIOCore

/// The entry points of the decoder fuzzers (`Tests/Fuzz`, `scripts/fuzz-decoders`) and of their regression
/// tests: each takes arbitrary bytes, throws every decoding error away, and traps only on a broken invariant.
package enum KafkaProtocolFuzzing {
    /// The APIs a broker serves, which are the ones with generated request decoders.
    package static let requestApiKeys: [ApiKey] = ApiKey.allCases.filter(\.isBrokerApi)

    /// A byte stream as a connection delivers it. The first byte sets the size of the reads (1 to 256 bytes);
    /// the rest goes through `KafkaFrameDecoder` whole and through `KafkaFrameAccumulator` read by read (copying
    /// frames for even read sizes, growing frames above 16 bytes for sizes divisible by 3), which must give the same
    /// frames; each
    /// frame is split into its header and body and the body decoded, as the broker does.
    package static func frameDecoder(_ input: UnsafeRawBufferPointer) {
        guard let first = input.first else { return }
        let readSize = Int(first) + 1
        let stream = UnsafeRawBufferPointer(rebasing: input.dropFirst())
        let maximumFrameSize = 1 << 16

        var whole = ByteBuffer(bytes: stream)
        var decoder = KafkaFrameDecoder(maximumFrameSize: maximumFrameSize)
        var frames: [ByteBuffer] = []
        var failed = false
        do {
            while let frame = try decoder.decode(buffer: &whole) { frames.append(frame) }
            if let frame = try decoder.decodeLast(buffer: &whole, seenEOF: true) { frames.append(frame) }
        } catch {
            failed = true
        }

        var readFrames: [ByteBuffer] = []
        var readFailed = false
        var accumulator = KafkaFrameAccumulator(
            maximumFrameSize: maximumFrameSize, copiesFrames: readSize.isMultiple(of: 2), eagerAllocationLimit: readSize % 3 == 0 ? 16 : 1 << 16)
        var start = 0
        reading: while start < stream.count {
            let end = min(start + readSize, stream.count)
            let read = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: stream[start..<end]))
            start = end
            do {
                try accumulator.process(read) { readFrames.append($0) }
            } catch {
                readFailed = true
                break reading
            }
        }
        precondition(readFrames == frames && readFailed == failed, "frames differ when the stream arrives in reads of \(readSize) bytes")
        for frame in frames {
            precondition(frame.readableBytes <= maximumFrameSize, "frame larger than the maximum")
            guard let request = try? KafkaRequestFrame(payload: frame), let apiKey = request.apiKey else { continue }
            var body = request.body
            _ = try? KafkaRequestBody.decode(apiKey: apiKey, version: request.header.requestApiVersion, from: &body)
        }
    }

    /// One request body. The first byte picks the API among `requestApiKeys`, the second its version among the
    /// valid ones, and the rest is the body. A body that decodes must encode again, and that encoding must decode
    /// and encode to the same bytes.
    package static func requestDecoder(_ input: UnsafeRawBufferPointer) {
        guard input.count >= 2 else { return }
        let apiKey = requestApiKeys[Int(input[0]) % requestApiKeys.count]
        let versions = apiKey.validVersions
        let version = versions.lowerBound + Int16(Int(input[1]) % versions.count)
        var body = ByteBuffer(bytes: UnsafeRawBufferPointer(rebasing: input.dropFirst(2)))
        guard let request = try? KafkaRequestBody.decode(apiKey: apiKey, version: version, from: &body) else { return }
        precondition(request.apiKey == apiKey, "\(apiKey.name) decoded as \(request.apiKey.name)")
        var encoded = ByteBuffer()
        // A decoded value the encoder refuses is not a decoding fault; the broker never writes requests back.
        guard (try? request.write(to: &encoded, version: version)) != nil else { return }
        var again = encoded
        let decodedAgain: KafkaRequestBody
        do {
            decodedAgain = try KafkaRequestBody.decode(apiKey: apiKey, version: version, from: &again)
        } catch {
            preconditionFailure("\(apiKey.name) v\(version): its own encoding does not decode: \(error)")
        }
        precondition(again.readableBytes == 0, "\(apiKey.name) v\(version): \(again.readableBytes) bytes left after its own encoding")
        var reencoded = ByteBuffer()
        do {
            try decodedAgain.write(to: &reencoded, version: version)
        } catch {
            preconditionFailure("\(apiKey.name) v\(version): a decoded encoding does not encode: \(error)")
        }
        precondition(reencoded == encoded, "\(apiKey.name) v\(version): encoding is not stable")
    }
}
