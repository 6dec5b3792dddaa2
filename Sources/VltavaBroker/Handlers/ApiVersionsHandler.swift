import KafkaProtocol

extension Broker {
    /// ApiVersions: the APIs and versions this broker serves, exactly.
    func handleApiVersions(_ request: ApiVersionsRequest, context: RequestContext) -> ApiVersionsResponse {
        apiVersionsResponse()
    }

    func apiVersionsResponse() -> ApiVersionsResponse {
        var response = ApiVersionsResponse()
        response.apiKeys = supportedVersions
            .sorted { $0.key.rawValue < $1.key.rawValue }
            .map { ApiVersionsResponse.ApiVersion(apiKey: $0.key.rawValue, minVersion: $0.value.lowerBound, maxVersion: $0.value.upperBound) }
        return response
    }
}
