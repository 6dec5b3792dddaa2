import KafkaProtocol
import VltavaSecurity
import VltavaStorage

extension Broker {
    /// AlterUserScramCredentials: credentials made from the salted passwords the client sent (the broker never
    /// sees a password) and deletions, checked per user as Kafka checks them; the changes of every user without
    /// an error are stored in one durable write, a user with an error is left as it was.
    func handleAlterUserScramCredentials(_ request: AlterUserScramCredentialsRequest, context: RequestContext)
        -> AlterUserScramCredentialsResponse {
        // Each user once, in request order (a set beside the list: a request may name thousands).
        var order: [String] = []
        var named: Set<String> = []
        for user in request.deletions.map(\.name) + request.upsertions.map(\.name) where named.insert(user).inserted {
            order.append(user)
        }
        guard authorizedOnCluster(context, .alter) else {
            var response = AlterUserScramCredentialsResponse()
            response.results = order.map {
                .init(user: $0, errorCode: ErrorCode.clusterAuthorizationFailed.rawValue, errorMessage: "Authorization failed.")
            }
            return response
        }
        var errors: [String: (ErrorCode, String)] = [:]
        func fail(_ user: String, _ code: ErrorCode, _ message: String) {
            if errors[user] == nil { errors[user] = (code, message) }
        }
        var seen: Set<String> = []
        for (user, mechanism) in request.deletions.map({ ($0.name, $0.mechanism) }) + request.upsertions.map({ ($0.name, $0.mechanism) })
            where !seen.insert("\(mechanism) \(user)").inserted {
            fail(user, .duplicateResource, "A user credential cannot be altered twice in the same request")
        }
        let stored = metadata.scramCredentials()
        var deletions: [ScramCredentialChange] = []
        for deletion in request.deletions {
            guard !deletion.name.isEmpty else { fail(deletion.name, .unacceptableCredential, "Username must not be empty"); continue }
            guard let mechanism = ScramMechanism(kafkaType: deletion.mechanism) else {
                fail(deletion.name, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
                continue
            }
            guard stored[deletion.name]?[mechanism] != nil else {
                fail(deletion.name, .resourceNotFound, "Attempt to delete a user credential that does not exist")
                continue
            }
            deletions.append(ScramCredentialChange(user: deletion.name, mechanism: mechanism))
        }
        var upserts: [ScramCredentialChange] = []
        for upsertion in request.upsertions {
            let user = upsertion.name
            guard !user.isEmpty else { fail(user, .unacceptableCredential, "Username must not be empty"); continue }
            guard let mechanism = ScramMechanism(kafkaType: upsertion.mechanism) else {
                fail(user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
                continue
            }
            let iterations = Int(upsertion.iterations)
            if iterations < ScramMechanism.minimumIterations {
                fail(user, .unacceptableCredential, "Too few iterations")
                continue
            }
            if iterations > ScramMechanism.maximumIterations {
                fail(user, .unacceptableCredential, "Too many iterations")
                continue
            }
            let salt = Array(upsertion.salt.readableBytesView)
            let saltedPassword = Array(upsertion.saltedPassword.readableBytesView)
            guard !salt.isEmpty, !saltedPassword.isEmpty else {
                fail(user, .unacceptableCredential, "Salt and salted password must not be empty")
                continue
            }
            let credential = ScramCredential(mechanism: mechanism, saltedPassword: saltedPassword, salt: salt, iterations: iterations)
            upserts.append(ScramCredentialChange(user: user, mechanism: mechanism, credential: credential))
        }
        var storeError: String?
        do {
            try metadata.alterScramCredentials(
                upserting: upserts.filter { errors[$0.user] == nil }, deleting: deletions.filter { errors[$0.user] == nil })
        } catch {
            logger.error("cannot store SCRAM credentials", metadata: ["error": "\(error)"])
            storeError = "\(error)"
        }
        var response = AlterUserScramCredentialsResponse()
        response.results = order.map { user in
            var result = AlterUserScramCredentialsResponse.AlterUserScramCredentialsResult(user: user, errorMessage: nil)
            if let (code, message) = errors[user] {
                result.errorCode = code.rawValue
                result.errorMessage = message
            } else if let storeError {
                result.errorCode = ErrorCode.unknownServerError.rawValue
                result.errorMessage = "cannot store the credentials: \(storeError)"
            }
            return result
        }
        return response
    }

    /// SaslHandshake or SaslAuthenticate on a listener without SASL: ILLEGAL_SASL_STATE, as Kafka answers.
    func saslOnPlainListener(_ apiKey: ApiKey) -> KafkaResponseBody {
        if apiKey == .saslHandshake {
            var response = SaslHandshakeResponse()
            response.errorCode = ErrorCode.illegalSaslState.rawValue
            return .saslHandshake(response)
        }
        var response = SaslAuthenticateResponse()
        response.errorCode = ErrorCode.illegalSaslState.rawValue
        response.errorMessage = "SaslAuthenticate on a listener without SASL"
        return .saslAuthenticate(response)
    }
}
