import HTTPTypes
import Hummingbird
import KafkaProtocol
import NIOCore
import VltavaClient
import VltavaHTTP

/// The fields of an `application/x-www-form-urlencoded` body or a query string: `+` is a space, `%XX` a byte; a
/// name given twice keeps every value (`values(_:)`), `[name]` gives the first.
struct FormFields: Sendable {
    private(set) var pairs: [(name: String, value: String)] = []

    init(_ text: Substring) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecoded(pieces[0], plusIsSpace: true)
            let value = pieces.count > 1 ? Self.percentDecoded(pieces[1], plusIsSpace: true) : ""
            pairs.append((name, value))
        }
    }

    init() {}

    subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// The trimmed value of `name`, nil when missing or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name]?.trimmedWhitespace, !value.isEmpty else { return nil }
        return value
    }

    /// The field as an integer within `range`; a clear error when it is not one.
    func integer<T: FixedWidthInteger>(_ name: String, label: String, in range: ClosedRange<T>) throws(ConsoleError) -> T? {
        guard let text = text(name) else { return nil }
        guard let value = T(text), range.contains(value) else {
            throw .badRequest("\(label) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// Decodes `%XX` escapes and, in forms, `+` as a space (VltavaHTTP's decoding).
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String {
        HTTPEndpoint.percentDecoded(text, plusIsSpace: plusIsSpace)
    }

    /// Escapes everything but unreserved characters (RFC 3986), for a path segment, a query value or a cookie.
    static func percentEncoded(_ text: String) -> String {
        HTTPEndpoint.encodePathSegment(text)
    }
}

/// What went wrong with a console request, as the page shows it and with the HTTP status it answers.
enum ConsoleError: Error, CustomStringConvertible {
    case badRequest(String)
    case notFound(String)
    case forbidden(String)
    /// The registry or Connect is not reachable or not configured.
    case unavailable(String)
    case kafka(KafkaClientError)

    var description: String {
        switch self {
        case let .badRequest(message), let .notFound(message), let .forbidden(message), let .unavailable(message):
            return message
        case let .kafka(error):
            return error.description
        }
    }

    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: return .badRequest
        case .notFound: return .notFound
        case .forbidden: return .forbidden
        case .unavailable: return .serviceUnavailable
        case let .kafka(error):
            if case let .broker(code, _, _) = error, [.unknownTopicOrPartition, .groupIdNotFound].contains(code) { return .notFound }
            if case .broker = error { return .badRequest }
            return .serviceUnavailable
        }
    }

    /// Any error as a console error: Kafka client errors keep their code, others are described.
    static func from(_ error: any Error) -> ConsoleError {
        if let error = error as? ConsoleError { return error }
        if let error = error as? KafkaClientError { return .kafka(error) }
        return .unavailable("\(error)")
    }
}

/// A one-time message carried to the next page in a cookie (the outcome of a form POST, shown after its redirect).
struct Flash: Sendable, Equatable {
    enum Kind: String, Sendable { case notice = "n", error = "e" }
    var kind: Kind
    var text: String

    static let cookieName = "vltava_flash"
    /// Cookies are limited to about 4 kB; a longer message is cut.
    static let maximumBytes = 1500

    var cookieValue: String {
        var text = self.text
        while text.utf8.count > Self.maximumBytes { text.removeLast() }
        return kind.rawValue + FormFields.percentEncoded(text)
    }

    init(kind: Kind, text: String) {
        self.kind = kind
        self.text = text
    }

    init?(cookieValue: String) {
        guard let first = cookieValue.first, let kind = Kind(rawValue: String(first)) else { return nil }
        self.kind = kind
        text = FormFields.percentDecoded(cookieValue.dropFirst(), plusIsSpace: false)
    }
}

/// One request to a page or form, with what every page needs: the query, the CSRF token for its forms, the theme,
/// the flash message, and whether the user may change things.
struct PageRequest: Sendable {
    let request: Request
    let query: FormFields
    var form = FormFields()
    let csrfCookie: String
    let csrfCookieIsNew: Bool
    let csrfToken: String
    let theme: String
    let flash: Flash?
    let canWrite: Bool

    init(_ request: Request, csrf: CSRFTokens, users: ConsoleUsers) {
        self.request = request
        query = FormFields(request.uri.query.map { Substring($0) } ?? "")
        let cookies = request.cookies
        if let existing = cookies[CSRFTokens.cookieName]?.value, CSRFTokens.isWellFormedCookie(existing) {
            csrfCookie = existing
            csrfCookieIsNew = false
        } else {
            csrfCookie = CSRFTokens.newCookie()
            csrfCookieIsNew = true
        }
        csrfToken = csrf.token(forCookie: csrfCookie)
        let theme = cookies["vltava_theme"]?.value ?? "auto"
        self.theme = ["light", "dark"].contains(theme) ? theme : "auto"
        flash = cookies[Flash.cookieName].flatMap { Flash(cookieValue: $0.value) }
        canWrite = users.role(authorization: request.headers[.authorization]) == .admin
    }
}

/// A page to render: its title, the navigation section it belongs to, its template and the template's values.
struct RenderedPage {
    var title: String
    var section: String
    var template: String
    var context: [String: Any]
    var status: HTTPResponse.Status = .ok
}

/// Where a form POST leads: the page to go to and what to tell there.
struct ActionOutcome {
    var location: String
    var notice: String
}

extension Console {
    /// Renders a page in the layout; an error becomes the layout with the error, its status, and no body.
    func page(_ request: Request, _ build: (PageRequest) async throws -> RenderedPage) async throws -> Response {
        let pageRequest = PageRequest(request, csrf: csrf, users: configuration.users)
        var rendered: RenderedPage
        do {
            rendered = try await build(pageRequest)
        } catch {
            let failure = ConsoleError.from(error)
            rendered = RenderedPage(title: "Error", section: "", template: "error", context: ["message": failure.description],
                                    status: failure.status)
        }
        return layout(rendered, request: pageRequest)
    }

    func layout(_ rendered: RenderedPage, request: PageRequest) -> Response {
        var context = rendered.context
        context["csrf"] = request.csrfToken
        context["canWrite"] = request.canWrite
        let body = templates.render(context, withTemplate: rendered.template) ?? ""
        var layout: [String: Any] = [
            "title": rendered.title, "body": body, "csrf": request.csrfToken, "theme": request.theme,
            "path": request.request.uri.path, "nav_" + rendered.section: true, "canWrite": request.canWrite,
        ]
        if let flash = request.flash {
            layout[flash.kind == .notice ? "notice" : "error"] = flash.text
        }
        let html = templates.render(layout, withTemplate: "layout") ?? ""
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!: ConsoleAssets.contentSecurityPolicy,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
        if request.csrfCookieIsNew {
            headers.append(HTTPField(name: .setCookie, value: "\(CSRFTokens.cookieName)=\(request.csrfCookie); Path=/; HttpOnly; SameSite=Strict"))
        }
        if request.flash != nil {
            headers.append(HTTPField(name: .setCookie, value: "\(Flash.cookieName)=; Path=/; Max-Age=0; SameSite=Strict"))
        }
        return Response(status: rendered.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// Runs a form POST: checks its CSRF token (403 without a valid one), runs it, and answers 303 to the page it
    /// names with a notice, or back to the page the form was on with the error.
    func action(_ request: Request, _ run: (PageRequest) async throws -> ActionOutcome) async throws -> Response {
        var pageRequest = PageRequest(request, csrf: csrf, users: configuration.users)
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumFormBytes)
        } catch {
            return plain(.contentTooLarge, "A form may send at most \(Self.maximumFormBytes >> 20) MiB.\n")
        }
        pageRequest.form = FormFields(Substring(String(buffer: body)))
        guard !pageRequest.csrfCookieIsNew, let token = pageRequest.form["_csrf"], csrf.isValid(token, forCookie: pageRequest.csrfCookie) else {
            return plain(.forbidden, "The form's CSRF token is missing or stale: reload the page and send it again.\n")
        }
        guard pageRequest.canWrite else {
            return plain(.forbidden, "Your console role is read-only.\n")
        }
        do {
            let outcome = try await run(pageRequest)
            return redirect(outcome.location, flash: Flash(kind: .notice, text: outcome.notice))
        } catch {
            let failure = ConsoleError.from(error)
            logger.info("console action failed", metadata: ["path": "\(request.uri.path)", "error": "\(failure.description)"])
            return redirect(Self.backLocation(request), flash: Flash(kind: .error, text: failure.description))
        }
    }

    /// The largest form body read (a produced record's key, value and headers).
    static let maximumFormBytes = 8 << 20

    /// The page the form was on (its Referer's path on this server), else the overview.
    static func backLocation(_ request: Request) -> String {
        guard let referer = request.headers[.referer] else { return "/" }
        var rest = Substring(referer)
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            guard let slash = rest.firstIndex(of: "/") else { return "/" }
            rest = rest[slash...]
        }
        guard rest.hasPrefix("/"), !rest.hasPrefix("//") else { return "/" }
        return String(rest)
    }

    func redirect(_ location: String, flash: Flash?) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        if let flash {
            headers.append(HTTPField(name: .setCookie, value: "\(Flash.cookieName)=\(flash.cookieValue); Path=/; HttpOnly; SameSite=Strict"))
        }
        return Response(status: .seeOther, headers: headers)
    }

    func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// `POST /theme`: light, dark or auto (the system's), kept in a cookie for a year.
    func setTheme(_ request: Request) async throws -> Response {
        let pageRequest = PageRequest(request, csrf: csrf, users: configuration.users)
        var request = request
        let body = (try? await request.collectBody(upTo: 4096)) ?? ByteBuffer()
        let form = FormFields(Substring(String(buffer: body)))
        guard !pageRequest.csrfCookieIsNew, let token = form["_csrf"], csrf.isValid(token, forCookie: pageRequest.csrfCookie) else {
            return plain(.forbidden, "The form's CSRF token is missing or stale: reload the page and send it again.\n")
        }
        let theme = form["theme"].flatMap { ["light", "dark"].contains($0) ? $0 : nil } ?? "auto"
        var response = redirect(Self.backLocation(request), flash: nil)
        response.headers.append(HTTPField(name: .setCookie, value: "vltava_theme=\(theme); Path=/; Max-Age=31536000; SameSite=Strict"))
        return response
    }
}

extension String {
    /// A path segment or query value, percent-encoded.
    var urlEncoded: String { FormFields.percentEncoded(self) }
}
