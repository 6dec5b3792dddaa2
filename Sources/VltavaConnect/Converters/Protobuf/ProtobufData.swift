/// Confluent's `ProtobufData`: Connect schemas to `.proto` text and back, and the values between them (the values in
/// `ProtobufData+Values.swift`, reading schemas in `ProtobufData+ToConnectSchema.swift`).
struct ProtobufData: Sendable {
    static let namespace = "io.confluent.connect.protobuf"
    static let defaultSchemaName = "ConnectDefault"
    /// On a Connect string: the protobuf enum it came from; `…Enum.<symbol>` parameters give each symbol's number.
    static let enumParameter = namespace + ".Enum"
    /// The name prefix of the Connect struct a oneof becomes.
    static let unionPrefix = namespace + ".Union."
    /// On a field's schema: the protobuf field number.
    static let tagParameter = namespace + ".Tag"
    static let connectTypeParameter = "connect.type"
    static let precisionParameter = "connect.decimal.precision"

    static let wrapperForNullablesConfig = "wrapper.for.nullables"
    static let optionalForNullablesConfig = "optional.for.nullables"
    static let enhancedSchemaSupportConfig = "enhanced.protobuf.schema.support"

    static let decimalType = "confluent.type.Decimal"
    static let dateType = "google.type.Date"
    static let timeType = "google.type.TimeOfDay"
    static let timestampType = "google.protobuf.Timestamp"

    /// Optional primitives as `google.protobuf.*Value` wrappers (null: the field absent).
    var useWrapperForNullables = false
    /// Optional primitives as proto3 `optional` fields.
    var useOptionalForNullables = false
    /// Messages read as structs named by their full name (package included) rather than their simple name.
    var enhancedSchemaSupport = false

    init() {}

    init(configs: [String: String]) throws(ConnectError) {
        useWrapperForNullables = try ConverterConfig.boolean(configs, Self.wrapperForNullablesConfig, default: false)
        useOptionalForNullables = try ConverterConfig.boolean(configs, Self.optionalForNullablesConfig, default: false)
        enhancedSchemaSupport = try ConverterConfig.boolean(configs, Self.enhancedSchemaSupportConfig, default: false)
    }

    /// The wrapper message of an optional primitive, when `wrapper.for.nullables` asks for one.
    static func wrapperType(_ kind: ConnectSchema.Kind) -> String? {
        switch kind {
        case .int8, .int16, .int32: return "google.protobuf.Int32Value"
        case .int64: return "google.protobuf.Int64Value"
        case .float32: return "google.protobuf.FloatValue"
        case .float64: return "google.protobuf.DoubleValue"
        case .boolean: return "google.protobuf.BoolValue"
        case .string: return "google.protobuf.StringValue"
        case .bytes: return "google.protobuf.BytesValue"
        default: return nil
        }
    }

    /// The `.proto` text of a Connect struct schema, as Confluent's `fromConnectSchema` makes it: a proto3 file whose
    /// package is the schema name's namespace and whose one top-level message is named by the rest of it
    /// (`ConnectDefault1` for an unnamed schema); nested structs become nested messages.
    func fromConnectSchema(_ schema: ConnectSchema) throws(ConnectError) -> String {
        guard schema.type == .structure else {
            throw .data("Unsupported root schema of type \(schema.type.javaName): the Protobuf converter writes structs only")
        }
        let (package, name) = Self.splitName(schema.name ?? Self.defaultSchemaName + "1")
        var writer = ProtoTextWriter(data: self)
        let body = try writer.message(name: name, schema: schema, indent: "")
        var lines = ["syntax = \"proto3\";"]
        if let package { lines.append("package \(package);") }
        lines.append("")
        if !writer.imports.isEmpty {
            for file in writer.imports.sorted() { lines.append("import \"\(file)\";") }
            lines.append("")
        }
        lines.append(contentsOf: body)
        return lines.joined(separator: "\n") + "\n"
    }

    /// `a.b.C` → (`a.b`, `C`).
    static func splitName(_ fullName: String) -> (package: String?, name: String) {
        guard let dot = fullName.lastIndex(of: ".") else { return (nil, fullName) }
        return (String(fullName[..<dot]), String(fullName[fullName.index(after: dot)...]))
    }
}

/// Writes the messages of a `.proto` file for Connect schemas, remembering the imports they need.
private struct ProtoTextWriter {
    let data: ProtobufData
    var imports: Set<String> = []
    /// Messages already written, by Connect schema name (a named struct used twice is defined once, as in Confluent).
    private var definedMessages: Set<String> = []
    /// Enums already written, by name.
    private var definedEnums: Set<String> = []
    private var nextDefaultIndex = 2
    private var depth = 0

    init(data: ProtobufData) {
        self.data = data
    }

    mutating func message(name: String, schema: ConnectSchema, indent: String) throws(ConnectError) -> [String] {
        guard depth < 64 else { throw .data("The Connect schema is nested more than 64 structs deep") }
        depth += 1
        defer { depth -= 1 }
        let inner = indent + "  "
        var fieldLines: [String] = []
        var oneofLines: [String] = []
        var nested: [String] = []
        var nextTag = 1
        for field in schema.fields {
            let fieldSchema = field.schema
            if fieldSchema.type == .structure, let unionName = fieldSchema.name, unionName.hasPrefix(ProtobufData.unionPrefix) {
                let oneofName = ProtobufData.splitName(String(unionName.dropFirst(ProtobufData.unionPrefix.count))).name
                oneofLines.append("\(inner)oneof \(oneofName) {")
                for member in fieldSchema.fields {
                    let tag = try Self.tag(member.schema, next: &nextTag)
                    oneofLines.append(inner + "  " + (try fieldLine(member.name, member.schema, tag: tag, nested: &nested, indent: inner, inOneof: true)))
                }
                oneofLines.append("\(inner)}")
                continue
            }
            let tag = try Self.tag(fieldSchema, next: &nextTag)
            fieldLines.append(inner + (try fieldLine(field.name, fieldSchema, tag: tag, nested: &nested, indent: inner)))
        }
        return ["\(indent)message \(name) {"] + fieldLines + oneofLines + nested + ["\(indent)}"]
    }

    private static func tag(_ schema: ConnectSchema, next: inout Int) throws(ConnectError) -> Int {
        guard let text = schema.parameter(ProtobufData.tagParameter) else {
            defer { next += 1 }
            return next
        }
        guard let tag = Int(text), tag > 0, tag <= 536_870_911 else {
            throw .data("Invalid \(ProtobufData.tagParameter) parameter \(text): not a protobuf field number")
        }
        return tag
    }

    /// One field (without indentation); nested messages and enums it needs are added to `nested`.
    private mutating func fieldLine(_ name: String, _ schema: ConnectSchema, tag: Int, nested: inout [String],
                                    indent: String, inOneof: Bool = false) throws(ConnectError) -> String {
        var parameters: [(String, String)] = []
        switch schema.type {
        case .array:
            guard let items = schema.valueSchema else { throw .data("Array schema did not specify the items type") }
            guard items.type != .array, items.type != .map else {
                throw .data("Field \(name): arrays of arrays or of maps have no protobuf type (Confluent: Array cannot be nested)")
            }
            let type = try typeName(items, fieldName: name, parameters: &parameters, nested: &nested, indent: indent)
            return "repeated \(type) \(name) = \(tag)\(options(parameters));"
        case .map:
            guard let keys = schema.keySchema, let values = schema.valueSchema else {
                throw .data("Map schema did not specify the key and value types")
            }
            guard keys.type != .array, keys.type != .map, values.type != .array, values.type != .map else {
                throw .data("Field \(name): maps of arrays or of maps have no protobuf type")
            }
            var keyParameters: [(String, String)] = []
            var valueParameters: [(String, String)] = []
            let keyType = try typeName(keys, fieldName: "key", parameters: &keyParameters, nested: &nested, indent: indent)
            let valueType = try typeName(values, fieldName: "value", parameters: &valueParameters, nested: &nested, indent: indent)
            if keyParameters.isEmpty, valueParameters.isEmpty, ProtobufScalar(rawValue: keyType)?.isMapKey == true {
                return "map<\(keyType), \(valueType)> \(name) = \(tag);"
            }
            // Keys protobuf maps cannot have, or entries that need options: a repeated entry message, read back as a map.
            let entry = ProtobufDescriptorPool.mapEntryName(schema.name.map { ProtobufData.splitName($0).name } ?? name)
            nested.append("\(indent)message \(entry) {")
            nested.append("\(indent)  \(keyType) key = 1\(options(keyParameters));")
            nested.append("\(indent)  \(valueType) value = 2\(options(valueParameters));")
            nested.append("\(indent)}")
            return "repeated \(entry) \(name) = \(tag);"
        default:
            let type = try typeName(schema, fieldName: name, parameters: &parameters, nested: &nested, indent: indent)
            // A oneof member has presence already and takes no label.
            let isOptionalLabel = data.useOptionalForNullables && schema.isOptional && !inOneof
                && (ProtobufScalar(rawValue: type) != nil || schema.parameter(ProtobufData.enumParameter) != nil)
            return (isOptionalLabel ? "optional " : "") + "\(type) \(name) = \(tag)\(options(parameters));"
        }
    }

    private mutating func options(_ parameters: [(String, String)]) -> String {
        guard !parameters.isEmpty else { return "" }
        imports.insert("confluent/meta.proto")
        let params = parameters.map { "{ key: \"\($0.0)\", value: \"\($0.1)\" }" }.joined(separator: ", ")
        return " [(confluent.field_meta) = { params: [\(params)] }]"
    }

    /// The protobuf type of a non-repeated Connect schema.
    private mutating func typeName(_ schema: ConnectSchema, fieldName: String, parameters: inout [(String, String)],
                                   nested: inout [String], indent: String) throws(ConnectError) -> String {
        switch schema.name {
        case ConnectLogical.decimalName?:
            imports.insert("confluent/type/decimal.proto")
            if let precision = schema.parameter(ProtobufData.precisionParameter) { parameters.append(("precision", precision)) }
            if let scale = schema.parameter(ConnectLogical.scaleParameter) { parameters.append(("scale", scale)) }
            return ProtobufData.decimalType
        case ConnectLogical.dateName?:
            imports.insert("google/type/date.proto")
            return ProtobufData.dateType
        case ConnectLogical.timeName?:
            imports.insert("google/type/timeofday.proto")
            return ProtobufData.timeType
        case ConnectLogical.timestampName?:
            imports.insert("google/protobuf/timestamp.proto")
            return ProtobufData.timestampType
        default:
            break
        }
        if schema.type == .int8 || schema.type == .int16 {
            parameters.append((ProtobufData.connectTypeParameter, schema.type.rawValue))
        }
        if schema.type == .string, let enumName = schema.parameter(ProtobufData.enumParameter) {
            return try enumType(enumName, schema, nested: &nested, indent: indent)
        }
        if data.useWrapperForNullables, schema.isOptional, let wrapper = ProtobufData.wrapperType(schema.type) {
            imports.insert("google/protobuf/wrappers.proto")
            return wrapper
        }
        switch schema.type {
        case .int8, .int16, .int32: return "int32"
        case .int64: return "int64"
        case .float32: return "float"
        case .float64: return "double"
        case .boolean: return "bool"
        case .string: return "string"
        case .bytes: return "bytes"
        case .structure:
            var messageName: String
            if let name = schema.name {
                messageName = ProtobufData.splitName(name).name
            } else {
                messageName = ProtobufData.defaultSchemaName + String(nextDefaultIndex)
                nextDefaultIndex += 1
            }
            // A message cannot share its name with a field of the enclosing message.
            if messageName == fieldName { messageName += "Message" }
            if definedMessages.insert(schema.name ?? messageName).inserted {
                nested.append(contentsOf: try message(name: messageName, schema: schema, indent: indent))
            }
            return messageName
        case .array, .map:
            throw .data("Field \(fieldName): an array or map cannot be nested here")
        }
    }

    private mutating func enumType(_ name: String, _ schema: ConnectSchema, nested: inout [String], indent: String) throws(ConnectError) -> String {
        let enumName = ProtobufData.splitName(name).name
        guard definedEnums.insert(enumName).inserted else { return enumName }
        var values: [(String, Int)] = []
        for (key, value) in schema.parameters ?? [] where key.hasPrefix(ProtobufData.enumParameter + ".") {
            guard let number = Int(value) else { throw .data("Invalid enum number \(value) for \(key)") }
            values.append((String(key.dropFirst(ProtobufData.enumParameter.count + 1)), number))
        }
        guard !values.isEmpty else { throw .data("The enum \(name) has no \(ProtobufData.enumParameter).<symbol> parameters") }
        nested.append("\(indent)enum \(enumName) {")
        for (symbol, number) in values { nested.append("\(indent)  \(symbol) = \(number);") }
        nested.append("\(indent)}")
        return enumName
    }
}
