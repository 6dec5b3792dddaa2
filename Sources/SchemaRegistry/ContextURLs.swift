import Hummingbird

/// Confluent's context URLs: a client whose registry URL ends in `/contexts/.ctx` sends `/contexts/.ctx/subjects/s/...`,
/// `/contexts/.ctx/schemas/ids/1` and the like, meaning subject `:.ctx:s` and the ids of `.ctx`. The request is
/// rewritten to the qualified form before routing, so every route serves both.
enum ContextURLs {
    /// The path and query a context URL stands for; nil for any other path.
    static func rewrite(path: String, query: String?) -> String? {
        guard path.hasPrefix("/contexts/") else { return nil }
        let parts = path.dropFirst("/contexts/".count).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let context = parts[0].removingPercentEncoding ?? String(parts[0])
        guard context.hasPrefix("."), !context.contains(":") else { return nil }
        let prefix = context == RegistryContexts.defaultContext ? "" : ":\(context):"
        var segments = parts[1].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var extra: [String] = []
        var parameters = (query ?? "").split(separator: "&").map(String.init).filter { !$0.isEmpty }
        func qualify(_ index: Int) {
            guard index < segments.count, !prefix.isEmpty else { return }
            let subject = segments[index].removingPercentEncoding ?? segments[index]
            if !subject.hasPrefix(":.") { segments[index] = prefix + segments[index] }
        }
        switch (segments.first, segments.count) {
        case ("subjects", 1), ("schemas", 1):
            if !prefix.isEmpty { extra.append("subjectPrefix=\(prefix)") }
        case ("subjects", _), ("config", _), ("mode", _):
            qualify(1)
        case ("compatibility", _) where segments.count > 2 && segments[1] == "subjects":
            qualify(2)
        case ("schemas", _) where segments.count > 2 && segments[1] == "ids":
            // The ids of the context: a subject the client names (its deserializers do) is qualified, else the
            // context alone is given.
            if !prefix.isEmpty {
                var named = false
                parameters = parameters.map { parameter in
                    guard parameter.hasPrefix("subject=") else { return parameter }
                    named = true
                    let subject = String(parameter.dropFirst("subject=".count))
                    let decoded = subject.removingPercentEncoding ?? subject
                    return decoded.hasPrefix(":.") || decoded.isEmpty ? parameter : "subject=\(prefix)\(subject)"
                }
                if !named { extra.append("subject=\(prefix)") }
            }
        default:
            break
        }
        let queries = parameters + extra
        return "/" + segments.joined(separator: "/") + (queries.isEmpty ? "" : "?" + queries.joined(separator: "&"))
    }
}

/// Routes context URLs (`ContextURLs`) through the registry's router.
struct ContextURLRouter<Builder: HTTPResponderBuilder>: HTTPResponderBuilder {
    let router: Builder

    func buildResponder() -> ContextURLResponder<Builder.Responder> { ContextURLResponder(inner: router.buildResponder()) }
}

struct ContextURLResponder<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let inner: Inner

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let rewritten = ContextURLs.rewrite(path: request.uri.path, query: request.uri.query) else {
            return try await inner.respond(to: request, context: context)
        }
        var head = request.head
        head.path = rewritten
        return try await inner.respond(to: Request(head: head, body: request.body), context: context)
    }
}
