import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// DescribeUserScramCredentials: the mechanisms and iteration counts of each user's credentials (never the
    /// credentials), all users when none is named; a user named twice gets DUPLICATE_RESOURCE, a user without
    /// credentials RESOURCE_NOT_FOUND, as Kafka answers.
    func handleDescribeUserScramCredentials(_ request: DescribeUserScramCredentialsRequest, context: RequestContext)
        -> DescribeUserScramCredentialsResponse {
        var response = DescribeUserScramCredentialsResponse()
        response.errorMessage = nil
        guard authorizedOnCluster(context, .describe) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Authorization failed."
            return response
        }
        let stored = metadata.scramCredentials()
        let named = request.users?.map(\.name) ?? []
        let users = named.isEmpty ? stored.keys.sorted() : named
        var counts: [String: Int] = [:]
        for user in named { counts[user, default: 0] += 1 }
        var described: Set<String> = []
        for user in users where described.insert(user).inserted {
            var result = DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult(user: user, errorMessage: nil)
            if counts[user, default: 1] > 1 {
                result.errorCode = ErrorCode.duplicateResource.rawValue
                result.errorMessage = "Cannot describe SCRAM credentials for the same user twice in a single request: \(user)"
            } else if let credentials = stored[user], !credentials.isEmpty {
                result.credentialInfos = credentials.sorted { $0.key.kafkaType < $1.key.kafkaType }.map {
                    .init(mechanism: $0.key.kafkaType, iterations: Int32(clamping: $0.value.iterations))
                }
            } else {
                result.errorCode = ErrorCode.resourceNotFound.rawValue
                result.errorMessage = "Attempt to describe a user credential that does not exist: \(user)"
            }
            response.results.append(result)
        }
        return response
    }
}
