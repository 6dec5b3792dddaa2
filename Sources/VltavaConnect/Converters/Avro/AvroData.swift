import SchemaRegistry

/// Confluent's `io.confluent.connect.avro.AvroData`: the mapping between Connect's schemas and values and Avro's,
/// as Confluent's AvroConverter does it, so that Vltava and a Java worker register the same schemas and read each
/// other's records. Connect structs become records named by the schema's name (`ConnectDefault`, `ConnectDefault2`,
/// … in `io.confluent.connect.avro` when unnamed); optional schemas become unions with null; int8 and int16 are Avro
/// ints marked `connect.type`; maps whose keys are not (required) strings become arrays of `MapEntry` records; the
/// Connect name, version, doc, parameters and default travel in `connect.*` properties.
struct AvroData: Sendable {
    static let namespace = "io.confluent.connect.avro"
    static let defaultSchemaName = "ConnectDefault"
    static let defaultSchemaFullName = namespace + "." + defaultSchemaName
    static let mapEntryTypeName = "MapEntry"
    static let keyField = "key"
    static let valueField = "value"

    static let connectNameProperty = "connect.name"
    static let connectDocProperty = "connect.doc"
    static let connectVersionProperty = "connect.version"
    static let connectDefaultProperty = "connect.default"
    static let connectParametersProperty = "connect.parameters"
    static let connectTypeProperty = "connect.type"
    static let connectInternalTypeProperty = "connect.internal.type"
    /// Parameters that carry what Avro has and Connect has not (record, field and enum docs, enum defaults).
    static let recordDocParameter = namespace + ".record.doc"
    static let enumDocPrefix = namespace + ".enum.doc."
    static let fieldDocPrefix = namespace + ".field.doc."
    static let fieldDefaultFlagParameter = namespace + ".field.default"
    static let enumDefaultPrefix = namespace + ".enum.default."
    /// A Connect string schema with this parameter stands for the Avro enum it names (its symbols in
    /// `io.confluent.connect.avro.Enum.<symbol>` parameters).
    static let enumParameter = namespace + ".Enum"
    /// The name of the Connect struct that stands for an Avro union of several types.
    static let unionSchemaName = namespace + ".Union"

    static let logicalTypeProperty = "logicalType"
    static let decimalScaleProperty = "scale"
    static let decimalPrecisionProperty = "precision"
    /// A Connect Decimal parameter that gives the Avro decimal's precision (default 64).
    static let decimalPrecisionParameter = "connect.decimal.precision"
    static let defaultDecimalPrecision = 64
    /// A Connect bytes parameter that says the bytes came from, and go to, an Avro fixed of that size.
    static let fixedSizeParameter = "connect.fixed.size"

    /// `connect.meta.data` (default true): write and read the `connect.*` properties.
    var connectMetaData = true
    /// `enhanced.avro.schema.support` (default false): keep Avro enums as such, name union members by full name.
    var enhancedSchemaSupport = false
    /// `scrub.invalid.names` (default false): make Connect names valid Avro names.
    var scrubInvalidNames = false
    /// `allow.optional.map.keys` (default false): optional string keys still make an Avro map.
    var allowOptionalMapKeys = false
    /// `flatten.singleton.unions` (default true): a union of one type is that type.
    var flattenSingletonUnions = true

    init() {}

    init(configs: [String: String]) throws(ConnectError) {
        connectMetaData = try ConverterConfig.boolean(configs, "connect.meta.data", default: true)
        enhancedSchemaSupport = try ConverterConfig.boolean(configs, "enhanced.avro.schema.support", default: false)
        scrubInvalidNames = try ConverterConfig.boolean(configs, "scrub.invalid.names", default: false)
        allowOptionalMapKeys = try ConverterConfig.boolean(configs, "allow.optional.map.keys", default: false)
        flattenSingletonUnions = try ConverterConfig.boolean(configs, "flatten.singleton.unions", default: true)
    }

    // MARK: Names

    /// Splits a dotted name into namespace and name, each part scrubbed when configured.
    func splitName(_ fullName: String) -> (namespace: String?, name: String) {
        let parts = fullName.split(separator: ".", omittingEmptySubsequences: false).map { scrubName(String($0)) }
        guard parts.count > 1, let last = parts.last else { return (nil, parts.first ?? fullName) }
        return (parts.dropLast().joined(separator: "."), last)
    }

    func scrubName(_ name: String) -> String {
        scrubInvalidNames ? Self.scrub(name) : name
    }

    func scrubFullName(_ name: String?) -> String? {
        guard let name, scrubInvalidNames else { return name }
        let (space, short) = splitName(name)
        return space.map { "\($0).\(short)" } ?? short
    }

    /// Confluent's scrubbing: a valid name as it is; otherwise URL-encoded, prefixed with `x` when it starts with a
    /// digit, every character that is not a letter, digit or `_` replaced by `_`.
    static func scrub(_ name: String) -> String {
        func isNameCharacter(_ byte: UInt8) -> Bool {
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F
        }
        guard let first = name.utf8.first else { return name }
        if name.utf8.allSatisfy(isNameCharacter), !(0x30...0x39).contains(first) { return name }
        var encoded: [UInt8] = []
        for byte in name.utf8 {
            if isNameCharacter(byte) || [UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "*")].contains(byte) {
                encoded.append(byte)
            } else if byte == UInt8(ascii: " ") {
                encoded.append(UInt8(ascii: "+"))
            } else {
                encoded += Array("%".utf8) + Array(String(byte, radix: 16, uppercase: true).utf8)
                if byte < 0x10 { encoded.insert(UInt8(ascii: "0"), at: encoded.count - 1) }
            }
        }
        if let first = encoded.first, (0x30...0x39).contains(first) { encoded.insert(UInt8(ascii: "x"), at: 0) }
        return String(decoding: encoded.map { isNameCharacter($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }

    // MARK: Connect schemas of Avro origin

    static func isUnionSchema(_ schema: ConnectSchema) -> Bool { schema.name == unionSchemaName }

    static func isEnumSchema(_ schema: ConnectSchema) -> Bool {
        schema.type == .string && schema.parameter(enumParameter) != nil
    }

    static func isFixedSchema(_ schema: ConnectSchema) -> Bool {
        schema.type == .bytes && schema.name != nil && schema.parameter(fixedSizeParameter) != nil
    }

    /// The schema made required, everything else kept (Confluent's `AvroData.nonOptional`).
    static func nonOptional(_ schema: ConnectSchema) -> ConnectSchema {
        schema.isOptional ? schema.with(isOptional: false) : schema
    }

    /// The name of the field of a Connect union struct that holds values of the Avro type `type`.
    func unionMemberFieldName(_ type: AvroType) -> String {
        guard let fullName = type.fullName else { return type.typeName }
        return enhancedSchemaSupport ? fullName : splitName(fullName).name
    }

    /// The same for a Connect schema (a field of a union struct).
    func unionMemberFieldName(_ schema: ConnectSchema) -> String {
        if schema.type == .structure || Self.isEnumSchema(schema) || Self.isFixedSchema(schema) {
            let name = schema.name ?? ""
            return enhancedSchemaSupport ? (scrubFullName(name) ?? name) : splitName(name).name
        }
        return Self.avroTypeName(of: schema.type)
    }

    /// The Avro type Connect's primitive types map to.
    static func avroTypeName(of kind: ConnectSchema.Kind) -> String {
        switch kind {
        case .int8, .int16, .int32: return "int"
        case .int64: return "long"
        case .float32: return "float"
        case .float64: return "double"
        case .boolean: return "boolean"
        case .string: return "string"
        case .bytes: return "bytes"
        case .array: return "array"
        case .map: return "map"
        case .structure: return "record"
        }
    }
}

extension AvroError {
    /// The error as the converter reports it.
    var connectError: ConnectError { .data(message) }
}
