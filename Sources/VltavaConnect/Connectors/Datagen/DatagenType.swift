/// A type of the schema Datagen generates values of: an Avro type, avro-random-generator's hints for it
/// (`arg.properties`), and the Connect schema its values have (as Confluent's AvroData converts the Avro type).
final class DatagenType: Sendable {
    enum Kind: Sendable {
        case null, boolean, int, long, float, double, bytes, string
        case enumeration(symbols: [String])
        case fixed(size: Int)
        case array(DatagenType)
        /// A map; `keys` is a string type carrying the `keys` hint, when there is one.
        case map(values: DatagenType, keys: DatagenType?)
        case record([DatagenField])
        case union([DatagenType])
    }

    /// Avro logical types that change what is generated or the Connect schema.
    enum Logical: Sendable, Equatable {
        case decimal(precision: Int, scale: Int)
        case date, timeMillis, timestampMillis
    }

    let kind: Kind
    let logical: Logical?
    let hints: DatagenHints
    let connectSchema: ConnectSchema
    /// The Avro schema's JSON: avro-random-generator keeps one iterator per distinct schema (Avro compares
    /// schemas by structure and properties), so equal schemas with an `iteration` hint share their sequence.
    let identity: String

    init(kind: Kind, logical: Logical?, hints: DatagenHints, connectSchema: ConnectSchema, identity: String) {
        self.kind = kind
        self.logical = logical
        self.hints = hints
        self.connectSchema = connectSchema
        self.identity = identity
    }

    /// The fields of a record type.
    var fields: [DatagenField] {
        if case let .record(fields) = kind { return fields }
        return []
    }
}

/// A field of a record type.
struct DatagenField: Sendable {
    var name: String
    var type: DatagenType
}

/// avro-random-generator's hints (`arg.properties`) for one type, checked and converted when the schema is read.
struct DatagenHints: Sendable {
    /// `options`: values to choose from, already in Connect's form.
    var options: [ConnectValue]?
    var iteration: Iteration?
    var range: NumericRange?
    /// `length`: for strings, bytes, arrays and maps; `minimum..<maximum` (avro-random-generator's default 8..<16).
    var length = LengthBounds(minimum: 8, maximum: 16)
    var regex: RegexStringGenerator?
    var prefix = ""
    var suffix = ""
    /// `odds`: the chance of `true`.
    var odds: Double?

    /// `iteration`: values that step from `start` by `step`, wrapping at `restart` back to `start`.
    enum Iteration: Sendable {
        case integral(start: Int64, restart: Int64, step: Int64, initial: Int64)
        case decimal(start: Double, restart: Double, step: Double, initial: Double)
        case boolean(start: Bool)
    }

    /// `range`: `minimum` inclusive, `maximum` exclusive.
    enum NumericRange: Sendable {
        case integral(minimum: Int64, maximum: Int64)
        case decimal(minimum: Double, maximum: Double)
    }

    struct LengthBounds: Sendable, Equatable {
        var minimum: Int
        /// Exclusive.
        var maximum: Int
    }
}

/// Connect schemas of Avro types, as Confluent's AvroData (with `connect.meta.data` on, its default) makes them.
enum DatagenConnectSchemas {
    static let enumParameter = "io.confluent.connect.avro.Enum"
    static let unionName = "io.confluent.connect.avro.Union"
    static let recordDocParameter = "io.confluent.connect.avro.record.doc"
    static let fieldDocParameterPrefix = "io.confluent.connect.avro.field.doc."
    static let enumDocParameterPrefix = "io.confluent.connect.avro.enum.doc."
    static let fixedSizeParameter = "connect.fixed.size"
    static let decimalPrecisionParameter = "connect.decimal.precision"

    static func primitive(_ kind: DatagenType.Kind, logical: DatagenType.Logical?) -> ConnectSchema? {
        switch (kind, logical) {
        case (.int, .date?): return ConnectLogical.date()
        case (.int, .timeMillis?): return ConnectLogical.time()
        case (.long, .timestampMillis?): return ConnectLogical.timestamp()
        case let (.bytes, .decimal(precision, scale)?):
            return ConnectSchema(type: .bytes, name: ConnectLogical.decimalName, version: 1,
                                 parameters: [(ConnectLogical.scaleParameter, String(scale)), (decimalPrecisionParameter, String(precision))])
        case (.boolean, _): return .boolean
        case (.int, _): return .int32
        case (.long, _): return .int64
        case (.float, _): return .float32
        case (.double, _): return .float64
        case (.bytes, _): return .bytes
        case (.string, _): return .string
        default: return nil
        }
    }

    static func enumeration(fullName: String, shortName: String, symbols: [String], doc: String?) -> ConnectSchema {
        var parameters: [(String, String)] = []
        if let doc { parameters.append((enumDocParameterPrefix + shortName, doc)) }
        parameters.append((enumParameter, fullName))
        parameters += symbols.map { ("\(enumParameter).\($0)", $0) }
        return ConnectSchema(type: .string, name: fullName, parameters: parameters)
    }

    static func fixed(fullName: String, size: Int) -> ConnectSchema {
        ConnectSchema(type: .bytes, name: fullName, parameters: [(fixedSizeParameter, String(size))])
    }

    static func record(fullName: String, doc: String?, fields: [(name: String, doc: String?, schema: ConnectSchema)]) -> ConnectSchema {
        var parameters: [(String, String)] = []
        if let doc { parameters.append((recordDocParameter, doc)) }
        for field in fields { if let doc = field.doc { parameters.append((fieldDocParameterPrefix + field.name, doc)) } }
        return ConnectSchema(type: .structure, name: fullName, parameters: parameters.isEmpty ? nil : parameters,
                             fields: fields.enumerated().map { ConnectField(name: $0.element.name, index: $0.offset, schema: $0.element.schema) })
    }

    /// A union with null and one other branch is that branch made optional; any other union is a struct with one
    /// optional field per branch, named by the branch's type (or its name, for records, enums and fixed).
    static func union(_ branches: [(fieldName: String, schema: ConnectSchema?)]) throws(ConnectError) -> ConnectSchema {
        let members = branches.compactMap { branch in branch.schema.map { (branch.fieldName, $0) } }
        let hasNull = members.count < branches.count
        if hasNull && branches.count == 2, let only = members.first {
            return only.1.with(isOptional: true)
        }
        var names: Set<String> = []
        for member in members where !names.insert(member.0).inserted {
            throw .config(name: "schema", message: "two branches of a union map to the same Connect field name \(member.0)")
        }
        return ConnectSchema(type: .structure, isOptional: hasNull, name: unionName,
                             fields: members.enumerated().map {
                                 ConnectField(name: $0.element.0, index: $0.offset, schema: $0.element.1.with(isOptional: true))
                             })
    }
}
