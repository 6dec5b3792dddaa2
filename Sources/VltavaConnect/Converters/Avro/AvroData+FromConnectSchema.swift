import SchemaRegistry

/// Connect schema → Avro schema, as Confluent's `AvroData.fromConnectSchema`.
extension AvroData {
    /// State of one conversion: the count of unnamed records (`ConnectDefault`, `ConnectDefault2`, …) and the
    /// Avro types already made for required schemas, reused so that a type used twice is defined once.
    struct FromConnectContext {
        var nameIndex = 0
        var converted: [ConnectSchema: AvroType] = [:]
        var seenNamedTypes: Set<String> = []

        mutating func nameOrDefault(_ name: String?, _ data: AvroData) -> (namespace: String?, name: String) {
            if let name { return data.splitName(name) }
            nameIndex += 1
            return (AvroData.namespace, AvroData.defaultSchemaName + (nameIndex > 1 ? String(nameIndex) : ""))
        }
    }

    /// The Avro schema of a Connect schema.
    func fromConnectSchema(_ schema: ConnectSchema) throws(ConnectError) -> AvroType {
        var context = FromConnectContext()
        return try fromConnectSchema(schema, &context, ignoreOptional: false)
    }

    func fromConnectSchema(_ schema: ConnectSchema, _ context: inout FromConnectContext,
                           ignoreOptional: Bool) throws(ConnectError) -> AvroType {
        if !Self.isUnionSchema(schema), !schema.isOptional, let cached = context.converted[schema] { return cached }
        var connectType: String?
        var base: AvroType
        switch schema.type {
        case .int8:
            connectType = "int8"
            base = AvroType(.int)
        case .int16:
            connectType = "int16"
            base = AvroType(.int)
        case .int32: base = AvroType(.int)
        case .int64: base = AvroType(.long)
        case .float32: base = AvroType(.float)
        case .float64: base = AvroType(.double)
        case .boolean: base = AvroType(.boolean)
        case .string:
            if enhancedSchemaSupport, let enumName = schema.parameter(Self.enumParameter) {
                let prefix = Self.enumParameter + "."
                let symbols = (schema.parameters ?? []).filter { $0.0.hasPrefix(prefix) }.map { String($0.0.dropFirst(prefix.count)) }
                let name = context.nameOrDefault(schema.name, self).name
                base = AvroType(.enumeration(AvroEnum(
                    fullName: enumName, doc: schema.parameter(Self.enumDocPrefix + name), symbols: symbols,
                    defaultSymbol: schema.parameter(Self.enumDefaultPrefix + name))))
            } else {
                base = AvroType(.string)
            }
        case .bytes:
            if Self.isFixedSchema(schema) {
                let names = context.nameOrDefault(schema.name, self)
                guard let sizeText = schema.parameter(Self.fixedSizeParameter), let size = Int(sizeText), size >= 0 else {
                    throw .data("Invalid \(Self.fixedSizeParameter) parameter of the schema \(schema.name ?? "")")
                }
                base = AvroType(.fixed(AvroFixed(fullName: names.namespace.map { "\($0).\(names.name)" } ?? names.name, size: size)))
            } else {
                base = AvroType(.bytes)
            }
            if schema.name == ConnectLogical.decimalName {
                base.addProperty(Self.decimalScaleProperty, .integer(try Self.decimalScale(schema)))
                base.addProperty(Self.decimalPrecisionProperty, .integer(try Self.decimalPrecision(schema)))
            }
        case .array:
            guard let items = schema.valueSchema else { throw .data("The array schema has no item schema") }
            base = AvroType(.array(items: try fromConnectSchema(items, &context, ignoreOptional: false)))
        case .map:
            guard let keys = schema.keySchema, let values = schema.valueSchema else {
                throw .data("The map schema has no key or value schema")
            }
            if keys.type == .string, !keys.isOptional || allowOptionalMapKeys {
                base = AvroType(.map(values: try fromConnectSchema(values, &context, ignoreOptional: false)))
            } else {
                var entryName = Self.namespace + "." + Self.mapEntryTypeName
                var entryProperties: [AvroProperty] = []
                if let name = schema.name {
                    let names = context.nameOrDefault(name, self)
                    entryName = names.namespace.map { "\($0).\(names.name)" } ?? names.name
                    entryProperties.append(AvroProperty(name: Self.connectInternalTypeProperty, value: .string(Self.mapEntryTypeName)))
                }
                let fields = [try avroRecordField(Self.keyField, keys, doc: nil, &context),
                              try avroRecordField(Self.valueField, values, doc: nil, &context)]
                base = AvroType(.array(items: AvroType(.record(AvroRecord(fullName: entryName, fields: fields)),
                                                       properties: entryProperties)))
            }
        case .structure:
            if Self.isUnionSchema(schema) {
                var branches: [AvroType] = schema.isOptional ? [.null] : []
                for field in schema.fields {
                    branches.append(try fromConnectSchema(Self.nonOptional(field.schema), &context, ignoreOptional: true))
                }
                base = AvroType(.union(branches))
            } else if schema.isOptional {
                base = AvroType(.union([.null, try fromConnectSchema(Self.nonOptional(schema), &context, ignoreOptional: false)]))
            } else {
                let names = context.nameOrDefault(schema.name, self)
                var fields: [AvroField] = []
                for field in schema.fields {
                    fields.append(try avroRecordField(scrubName(field.name), field.schema,
                                                      doc: schema.parameter(Self.fieldDocPrefix + field.name), &context))
                }
                let fullName = names.namespace.map { "\($0).\(names.name)" } ?? names.name
                base = AvroType(.record(AvroRecord(fullName: fullName, doc: schema.parameter(Self.recordDocParameter), fields: fields)))
            }
        }

        var result = base
        if case .union = base.kind {} else {
            try addMetadata(schema, connectType: connectType, to: &base)
            result = ignoreOptional ? base : Self.maybeMakeOptional(schema, base)
        }
        if !schema.isOptional { context.converted[schema] = result }
        return result
    }

    /// The `connect.*` properties, then the logical type, then the schema's `avro*` parameters.
    private func addMetadata(_ schema: ConnectSchema, connectType: String?, to base: inout AvroType) throws(ConnectError) {
        if connectMetaData {
            if let doc = schema.doc { base.addProperty(Self.connectDocProperty, .string(doc)) }
            if let version = schema.version { base.addProperty(Self.connectVersionProperty, .integer(version)) }
            if let parameters = schema.parameters {
                let kept = parameters.filter { $0.0 != Self.fieldDefaultFlagParameter }
                if !kept.isEmpty {
                    base.addProperty(Self.connectParametersProperty, .object(kept.map { ($0.0, .string($0.1)) }))
                }
            }
            if let defaultValue = schema.defaultValue, schema.parameter(Self.fieldDefaultFlagParameter) == nil {
                base.addProperty(Self.connectDefaultProperty, try defaultValueFromConnect(schema, defaultValue))
            }
            if let name = schema.name { base.addProperty(Self.connectNameProperty, .string(name)) }
            if let connectType { base.addProperty(Self.connectTypeProperty, .string(connectType)) }
        }
        switch schema.name {
        case ConnectLogical.decimalName?:
            let precision = try Self.decimalPrecision(schema)
            let scale = try Self.decimalScale(schema)
            // Avro's library refuses a decimal whose scale is negative or above its precision: Confluent then
            // writes only the old `logicalType` property.
            if scale >= 0 && scale <= precision {
                base.addProperty(Self.logicalTypeProperty, .string("decimal"))
                base.addProperty(Self.decimalPrecisionProperty, .integer(precision))
                base.addProperty(Self.decimalScaleProperty, .integer(scale))
            } else {
                base.addProperty(Self.logicalTypeProperty, .string("decimal"))
            }
        case ConnectLogical.timeName?: base.addProperty(Self.logicalTypeProperty, .string("time-millis"))
        case ConnectLogical.timestampName?: base.addProperty(Self.logicalTypeProperty, .string("timestamp-millis"))
        case ConnectLogical.dateName?: base.addProperty(Self.logicalTypeProperty, .string("date"))
        default: break
        }
        for (name, value) in schema.parameters ?? [] where name.hasPrefix("avro") {
            base.addProperty(name, .string(value))
        }
    }

    /// An optional schema as a union with null: null first, unless the schema has a default (an Avro default must
    /// match the union's first type).
    static func maybeMakeOptional(_ schema: ConnectSchema, _ base: AvroType) -> AvroType {
        guard schema.isOptional else { return base }
        return AvroType(.union(schema.defaultValue != nil ? [base, .null] : [.null, base]))
    }

    private func avroRecordField(_ name: String, _ schema: ConnectSchema, doc: String?,
                                 _ context: inout FromConnectContext) throws(ConnectError) -> AvroField {
        var defaultValue: JSONValue?
        if let value = schema.defaultValue {
            defaultValue = try defaultValueFromConnect(schema, value)
        } else if schema.isOptional {
            defaultValue = .null
        }
        let alreadySeen = scrubFullName(schema.name).map { !context.seenNamedTypes.insert($0).inserted } ?? false
        let type = try fromConnectSchema(schema, &context, ignoreOptional: false)
        // Avro refuses a default that does not fit the field's type; Confluent then drops it.
        if let value = defaultValue, !Self.isValidDefault(value, for: type) { defaultValue = nil }
        var field = AvroField(name: name, type: type, doc: doc, defaultValue: defaultValue)
        // A named type written a second time is only referred to by name, so its parameters go on the field.
        if connectMetaData, alreadySeen, let parameters = schema.parameters, !parameters.isEmpty, type.isNamedOrHasNamedBranch {
            let kept = parameters.filter { $0.0 != Self.fieldDefaultFlagParameter }
            if !kept.isEmpty {
                field.properties.append(AvroProperty(name: Self.connectParametersProperty,
                                                     value: .object(kept.map { ($0.0, .string($0.1)) })))
            }
        }
        return field
    }

    static func decimalScale(_ schema: ConnectSchema) throws(ConnectError) -> Int32 {
        guard let text = schema.parameter(ConnectLogical.scaleParameter) else { return 0 }
        guard let scale = Int32(text) else { throw .data("Invalid scale parameter \(text) of a Decimal schema") }
        return scale
    }

    static func decimalPrecision(_ schema: ConnectSchema) throws(ConnectError) -> Int32 {
        guard let text = schema.parameter(decimalPrecisionParameter) else { return Int32(defaultDecimalPrecision) }
        guard let precision = Int32(text) else { throw .data("Invalid \(decimalPrecisionParameter) parameter \(text) of a Decimal schema") }
        return precision
    }

    /// Whether a default fits its type as Avro's library checks it (a union's default fits its first type).
    static func isValidDefault(_ value: JSONValue, for type: AvroType) -> Bool {
        switch type.kind {
        case .null: return value == .null
        case .boolean: return value.boolValue != nil
        case .int: return value.integerValue.map { Int64(Int32.min)...Int64(Int32.max) ~= $0 } ?? false
        case .long: return value.integerValue != nil
        case .float, .double: return value.doubleValue != nil
        case .bytes, .string, .fixed: return value.stringValue != nil
        case let .enumeration(enumeration): return value.stringValue.map(enumeration.symbols.contains) ?? false
        case let .array(items): return value.arrayValue?.allSatisfy { isValidDefault($0, for: items) } ?? false
        case let .map(values): return value.objectValue?.allSatisfy { isValidDefault($0.1, for: values) } ?? false
        case let .union(branches): return branches.first.map { isValidDefault(value, for: $0) } ?? false
        case let .record(record):
            guard value.isObject else { return false }
            return record.fields.allSatisfy { field in
                guard let member = value[field.name] else { return field.defaultValue != nil }
                return isValidDefault(member, for: field.type)
            }
        case .recursiveReference: return value.isObject
        }
    }
}

extension AvroType {
    /// A record, enum or fixed, or a union with one of those among its types.
    var isNamedOrHasNamedBranch: Bool {
        if fullName != nil { return true }
        if case let .union(branches) = kind { return branches.contains { $0.fullName != nil } }
        return false
    }
}
