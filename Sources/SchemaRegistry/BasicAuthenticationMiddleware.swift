import Hummingbird
import Logging
import VltavaSecurity

/// HTTP Basic authentication in front of a REST API (the registry's, Connect's): 401 with a `WWW-Authenticate`
/// challenge and Confluent's JSON body when credentials are missing or wrong, 403 for a user without a permitted
/// role.
public struct BasicAuthenticationMiddleware<Context: RequestContext>: RouterMiddleware {
    let authentication: BasicAuthentication
    let logger: Logger

    public init(authentication: BasicAuthentication, logger: Logger) {
        self.authentication = authentication
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch authentication.decide(authorization: request.headers[.authorization], path: request.uri.path) {
        case .allowed:
            return try await next(request, context)
        case .unauthorized:
            var response = SchemaRegistryRoutes.error(RegistryError(code: 401, message: "Unauthorized"))
            response.headers[.wwwAuthenticate] = authentication.challenge
            return response
        case let .forbidden(user):
            logger.info("refusing a request of a user without a permitted role", metadata: ["user": "\(user)", "path": "\(request.uri.path)"])
            return SchemaRegistryRoutes.error(RegistryError(code: 403, message: "Forbidden: \(user) has none of the roles this service permits"))
        }
    }
}
