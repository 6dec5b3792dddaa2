/// The one error type of the registry: Confluent's error code and message, answered as
/// `{"error_code": N, "message": "..."}` with the HTTP status the code implies.
public struct RegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Confluent's error code: 40401, 42201, 409, 50001...
    public var code: Int
    public var message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP status: the code's first three digits when it has five, else the code itself.
    public var httpStatus: Int { code >= 10_000 ? code / 100 : code }

    public var description: String { "\(code): \(message)" }

    static func subjectNotFound(_ subject: String) -> Self { .init(code: 40401, message: "Subject '\(subject)' not found.") }
    static func versionNotFound(_ version: String) -> Self { .init(code: 40402, message: "Version \(version) not found.") }
    static func schemaNotFound(_ detail: String = "Schema not found") -> Self { .init(code: 40403, message: detail) }
    static func subjectSoftDeleted(_ subject: String) -> Self {
        .init(code: 40404, message: "Subject '\(subject)' was soft deleted.Set permanent=true to delete permanently")
    }
    static func subjectNotSoftDeleted(_ subject: String) -> Self {
        .init(code: 40405, message: "Subject '\(subject)' was not deleted first before being permanently deleted")
    }
    static func schemaVersionSoftDeleted(_ subject: String, _ version: Int) -> Self {
        .init(code: 40406, message: "Subject '\(subject)' Version \(version) was soft deleted.Set permanent=true to delete permanently")
    }
    static func schemaVersionNotSoftDeleted(_ subject: String, _ version: Int) -> Self {
        .init(code: 40407, message: "Subject '\(subject)' Version \(version) was not deleted first before being permanently deleted")
    }
    static func subjectLevelCompatibilityNotConfigured(_ subject: String) -> Self {
        .init(code: 40408, message: "Subject '\(subject)' does not have subject-level compatibility configured")
    }
    static func subjectLevelModeNotConfigured(_ subject: String) -> Self {
        .init(code: 40409, message: "Subject '\(subject)' does not have subject-level mode configured")
    }
    static func invalidSchema(_ detail: String) -> Self { .init(code: 42201, message: "Invalid schema: \(detail)") }
    static func invalidVersion(_ version: String) -> Self {
        .init(code: 42202, message: "The specified version '\(version)' is not a valid version id. "
            + "Allowed values are between [1, 2^31-1] and the string \"latest\"")
    }
    static func invalidCompatibilityLevel(_ level: String) -> Self {
        .init(code: 42203, message: "Invalid compatibility level. Valid values are none, backward, forward, full, "
            + "backward_transitive, forward_transitive, and full_transitive (got '\(level)')")
    }
    static func invalidMode(_ mode: String) -> Self {
        .init(code: 42204, message: "Invalid mode. Valid values are READWRITE, READONLY, IMPORT (got '\(mode)')")
    }
    /// Confluent's 42212 (`RestInvalidRuleSetException`).
    static func invalidRuleSet(_ detail: String) -> Self { .init(code: 42212, message: "Invalid rule set: \(detail)") }
    static func operationNotPermitted(_ detail: String) -> Self { .init(code: 42205, message: detail) }
    static func referenceExists(_ detail: String) -> Self { .init(code: 42206, message: detail) }
    static func incompatible(_ detail: String) -> Self { .init(code: 409, message: detail) }
    static func unprocessable(_ detail: String) -> Self { .init(code: 422, message: detail) }
    static func store(_ detail: String) -> Self { .init(code: 50001, message: "Error in the backend data store - \(detail)") }
    static func timeout(_ detail: String) -> Self {
        .init(code: 50002, message: "Operation timed out - \(detail)")
    }
}
