import NIOCore

extension ApiKey {
    /// The request header version a request of this API at `apiVersion` carries: 2 for flexible versions,
    /// 1 otherwise, and 0 only for ControlledShutdown v0.
    public func requestHeaderVersion(apiVersion: Int16) -> Int16 {
        if let flexible = lowestFlexibleVersion, apiVersion >= flexible { return 2 }
        if self == .controlledShutdown && apiVersion == 0 { return 0 }
        return 1
    }

    /// The response header version: 1 for flexible versions, 0 otherwise — and always 0 for ApiVersions,
    /// so that a client can read the answer before it knows which versions the broker speaks.
    public func responseHeaderVersion(apiVersion: Int16) -> Int16 {
        if self == .apiVersions { return 0 }
        if let flexible = lowestFlexibleVersion, apiVersion >= flexible { return 1 }
        return 0
    }
}

/// A request frame split into its header and its still-encoded body.
public struct KafkaRequestFrame: Sendable {
    /// The decoded request header.
    public var header: RequestHeader
    /// The API, or nil when the key is not one this build knows.
    public var apiKey: ApiKey?
    /// The request body, not yet decoded.
    public var body: ByteBuffer

    /// Splits a frame payload (without its size prefix). The header version follows from the API key and
    /// version; an unknown key or an unknown (newer) version of a known API is still split, so that the
    /// broker can answer with an error that carries the correlation id.
    public init(payload: ByteBuffer) throws(KafkaProtocolError) {
        var buffer = payload
        guard let rawKey = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int16.self),
              let apiVersion = buffer.getInteger(at: buffer.readerIndex + 2, endianness: .big, as: Int16.self)
        else {
            throw .truncated(needed: 4, available: buffer.readableBytes)
        }
        let apiKey = ApiKey(rawValue: rawKey)
        let headerVersion = apiKey?.requestHeaderVersion(apiVersion: apiVersion) ?? 1
        self.header = try RequestHeader(from: &buffer, version: headerVersion)
        self.apiKey = apiKey
        self.body = buffer
    }

    /// The header version this request was read with.
    public var headerVersion: Int16 {
        apiKey?.requestHeaderVersion(apiVersion: header.requestApiVersion) ?? 1
    }
}

extension ByteBuffer {
    /// Writes a whole request frame: size prefix, header and body.
    public mutating func writeKafkaRequest<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16, correlationId: Int32, clientId: String?
    ) throws(KafkaProtocolError) {
        let start = startKafkaFrame()
        let header = RequestHeader(
            requestApiKey: Request.apiKey.rawValue, requestApiVersion: version,
            correlationId: correlationId, clientId: clientId)
        try header.write(to: &self, version: Request.apiKey.requestHeaderVersion(apiVersion: version))
        try request.write(to: &self, version: version)
        try finishKafkaFrame(sizeAt: start)
    }

    /// Writes a whole response frame: size prefix, header and body.
    public mutating func writeKafkaResponse<Response: KafkaResponseMessage>(
        _ response: Response, version: Int16, correlationId: Int32
    ) throws(KafkaProtocolError) {
        let start = startKafkaFrame()
        let header = ResponseHeader(correlationId: correlationId)
        try header.write(to: &self, version: Response.apiKey.responseHeaderVersion(apiVersion: version))
        try response.write(to: &self, version: version)
        try finishKafkaFrame(sizeAt: start)
    }
}
