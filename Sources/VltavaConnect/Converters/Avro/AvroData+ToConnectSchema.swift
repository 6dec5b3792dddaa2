import SchemaRegistry

/// Avro schema → Connect schema, as Confluent's `AvroData.toConnectSchema`.
extension AvroData {
    /// Collects what `SchemaBuilder` collects, parameters in insertion order (a parameter set twice keeps its place).
    private struct Builder {
        var type: ConnectSchema.Kind
        var isOptional = false
        var name: String?
        var version: Int32?
        var doc: String?
        var parameters: [(String, String)] = []
        var fields: [ConnectField] = []
        var keySchema: ConnectSchema?
        var valueSchema: ConnectSchema?

        init(_ type: ConnectSchema.Kind, name: String? = nil, version: Int32? = nil) {
            self.type = type
            self.name = name
            self.version = version
        }

        mutating func parameter(_ name: String, _ value: String) {
            if let index = parameters.firstIndex(where: { $0.0 == name }) {
                parameters[index].1 = value
            } else {
                parameters.append((name, value))
            }
        }

        func build(defaultValue: ConnectValue? = nil) -> ConnectSchema {
            ConnectSchema(type: type, isOptional: isOptional, defaultValue: defaultValue, name: name, version: version, doc: doc,
                          parameters: parameters.isEmpty ? nil : parameters, fields: fields, keySchema: keySchema,
                          valueSchema: valueSchema)
        }
    }

    /// The Connect schema of an Avro schema; `version` (the registry's version of the schema) is used when the
    /// schema has no `connect.version`.
    func toConnectSchema(_ type: AvroType, version: Int32? = nil) throws(ConnectError) -> ConnectSchema {
        try toConnectSchema(type, forceOptional: false, fieldDefault: nil, version: version)
    }

    private func toConnectSchema(_ type: AvroType, forceOptional: Bool, fieldDefault: JSONValue?,
                                 version: Int32? = nil) throws(ConnectError) -> ConnectSchema {
        let connectType = type.property(Self.connectTypeProperty)?.stringValue
        let logicalType = type.property(Self.logicalTypeProperty)?.stringValue?.lowercased()
        var builder: Builder
        switch type.kind {
        case .boolean: builder = Builder(.boolean)
        case .bytes, .fixed:
            if logicalType == "decimal" {
                let scale = type.property(Self.decimalScaleProperty)?.integerValue ?? 0
                builder = Builder(.bytes, name: ConnectLogical.decimalName, version: 1)
                builder.parameter(ConnectLogical.scaleParameter, String(scale))
                if let precisionJson = type.property(Self.decimalPrecisionProperty) {
                    guard let precision = precisionJson.integerValue else {
                        throw .data("precision property must be a JSON Integer. https://avro.apache.org/docs/1.9.1/spec.html#Decimal")
                    }
                    if precision != Self.defaultDecimalPrecision {
                        builder.parameter(Self.decimalPrecisionParameter, String(precision))
                    }
                }
            } else {
                builder = Builder(.bytes)
            }
            if case let .fixed(fixed) = type.kind { builder.parameter(Self.fixedSizeParameter, String(fixed.size)) }
        case .double: builder = Builder(.float64)
        case .float: builder = Builder(.float32)
        case .int:
            switch (connectType, logicalType) {
            case (_, "date"?): builder = Builder(.int32, name: ConnectLogical.dateName, version: 1)
            case (_, "time-millis"?): builder = Builder(.int32, name: ConnectLogical.timeName, version: 1)
            case (_, _?), (nil, nil): builder = Builder(.int32)
            case ("int8"?, nil): builder = Builder(.int8)
            case ("int16"?, nil): builder = Builder(.int16)
            case (_?, nil): throw .data("Connect type annotation for Avro int field is null")
            }
        case .long:
            builder = logicalType == "timestamp-millis" ? Builder(.int64, name: ConnectLogical.timestampName, version: 1) : Builder(.int64)
        case .string: builder = Builder(.string)
        case let .array(items):
            if case let .record(entry) = items.kind, isMapEntry(items) {
                guard entry.fields.count == 2, let key = entry.field(Self.keyField), let value = entry.field(Self.valueField) else {
                    throw .data("Found map encoded as array of key-value pairs, but array elements do not match the expected format.")
                }
                builder = Builder(.map)
                builder.keySchema = try toConnectSchema(key.type)
                builder.valueSchema = try toConnectSchema(value.type)
            } else {
                builder = Builder(.array)
                builder.valueSchema = try toConnectSchema(items, forceOptional: false, fieldDefault: nil)
            }
        case let .map(values):
            builder = Builder(.map)
            builder.keySchema = .string
            builder.valueSchema = try toConnectSchema(values, forceOptional: false, fieldDefault: nil)
        case let .record(record):
            builder = Builder(.structure)
            if connectMetaData, let doc = record.doc { builder.parameter(Self.recordDocParameter, doc) }
            for field in record.fields {
                if connectMetaData, let doc = field.doc { builder.parameter(Self.fieldDocPrefix + field.name, doc) }
                var fieldSchema = try toConnectSchema(field.type, forceOptional: false, fieldDefault: field.defaultValue)
                if connectMetaData, let fieldParameters = field.property(Self.connectParametersProperty)?.objectValue {
                    fieldSchema = Self.applyFieldLevelParameters(fieldSchema, fieldParameters)
                }
                builder.fields.append(ConnectField(name: field.name, index: builder.fields.count, schema: fieldSchema))
            }
        case let .enumeration(enumeration):
            builder = Builder(.string)
            let shortName = splitName(enumeration.fullName).name
            if connectMetaData {
                if let doc = enumeration.doc { builder.parameter(Self.enumDocPrefix + shortName, doc) }
                if let defaultSymbol = enumeration.defaultSymbol { builder.parameter(Self.enumDefaultPrefix + shortName, defaultSymbol) }
            }
            builder.parameter(Self.enumParameter, enumeration.fullName)
            for symbol in enumeration.symbols { builder.parameter(Self.enumParameter + "." + symbol, symbol) }
        case let .union(branches):
            if branches.count == 1, flattenSingletonUnions, let only = branches.first {
                return try toConnectSchema(only, forceOptional: false, fieldDefault: nil)
            }
            if branches.count == 2, branches.contains(where: \.isNull), let member = branches.first(where: { !$0.isNull }) {
                return try toConnectSchema(member, forceOptional: true, fieldDefault: nil)
            }
            builder = Builder(.structure, name: Self.unionSchemaName)
            var fieldNames: Set<String> = []
            for branch in branches {
                if branch.isNull {
                    builder.isOptional = true
                    continue
                }
                let fieldName = unionMemberFieldName(branch)
                guard fieldNames.insert(fieldName).inserted else {
                    throw .data("Multiple union schemas map to the Connect union field name")
                }
                builder.fields.append(ConnectField(name: fieldName, index: builder.fields.count,
                                                   schema: try toConnectSchema(branch, forceOptional: true, fieldDefault: nil)))
            }
        case .null:
            throw .data("Standalone null schemas are not supported by this converter")
        case let .recursiveReference(name):
            throw .data("The Avro schema refers to \(name) inside its own definition; recursive schemas are not supported")
        }

        if connectMetaData, let doc = type.property(Self.connectDocProperty)?.stringValue { builder.doc = doc }
        var resolvedVersion: Int32?
        if let versionJson = type.property(Self.connectVersionProperty) {
            guard let number = versionJson.integerValue else { throw .data("Invalid Connect version found: \(versionJson.serialized)") }
            resolvedVersion = Int32(truncatingIfNeeded: number)
        } else {
            resolvedVersion = version
        }
        if let resolvedVersion, resolvedVersion >= 0 {
            if let existing = builder.version, existing != resolvedVersion {
                throw .data("Mismatched versions: version already added to SchemaBuilder (\(existing)) differs from version in "
                            + "source schema (\(resolvedVersion))")
            }
            builder.version = resolvedVersion
        }
        if connectMetaData, let parameters = type.property(Self.connectParametersProperty) {
            guard let members = parameters.objectValue else {
                throw .data("Expected JSON object for schema parameters but found: \(parameters.serialized)")
            }
            for (name, value) in members {
                guard let text = value.stringValue else {
                    throw .data("Expected schema parameter values to be strings but found: \(value.serialized)")
                }
                builder.parameter(name, text)
            }
        }
        for property in type.properties where property.name.hasPrefix("avro") {
            builder.parameter(property.name, property.value.stringValue ?? property.value.serialized)
        }
        let connectDefault = type.property(Self.connectDefaultProperty)
        var defaultJson = fieldDefault
        if defaultJson == nil {
            defaultJson = connectDefault
        } else if connectMetaData, connectDefault == nil {
            builder.parameter(Self.fieldDefaultFlagParameter, "true")
        }

        var name: String?
        if let nameJson = type.property(Self.connectNameProperty) {
            guard let text = nameJson.stringValue else { throw .data("Invalid schema name: \(nameJson.serialized)") }
            name = text
        } else if case .record = type.kind {
            name = type.fullName
        } else if case .enumeration = type.kind {
            name = type.fullName
        } else if case .fixed = type.kind, builder.name != ConnectLogical.decimalName {
            name = type.fullName
        }
        if let name, !name.hasPrefix(Self.defaultSchemaFullName) {
            if let existing = builder.name, existing != name {
                throw .data("Mismatched names: name already added to SchemaBuilder (\(existing)) differs from name in source schema (\(name))")
            }
            builder.name = name
        }
        if forceOptional { builder.isOptional = true }

        let schema = builder.build()
        guard let defaultJson, defaultJson != .null, let defaultValue = defaultValueFromAvro(schema, type, defaultJson) else {
            return schema
        }
        return builder.build(defaultValue: defaultValue)
    }

    /// Whether an array's items are Confluent's key/value records of a map.
    private func isMapEntry(_ type: AvroType) -> Bool {
        guard case let .record(record) = type.kind else { return false }
        return record.fullName == Self.namespace + "." + Self.mapEntryTypeName
            || type.property(Self.connectInternalTypeProperty)?.stringValue == Self.mapEntryTypeName
    }

    /// A field's own `connect.parameters` (a named type used again is written by name only, so its parameters
    /// travel on the field): the schema with them added, unless they are already its parameters.
    private static func applyFieldLevelParameters(_ schema: ConnectSchema, _ fieldParameters: [(String, JSONValue)]) -> ConnectSchema {
        let fieldTexts = fieldParameters.map { ($0.0, $0.1.stringValue ?? $0.1.serialized) }
        if fieldTexts.allSatisfy({ schema.parameter($0.0) == $0.1 }) { return schema }
        var parameters = schema.parameters ?? []
        for (name, value) in fieldTexts {
            if let index = parameters.firstIndex(where: { $0.0 == name }) { parameters[index].1 = value } else { parameters.append((name, value)) }
        }
        return ConnectSchema(type: schema.type, isOptional: schema.isOptional, defaultValue: schema.defaultValue, name: schema.name,
                             version: schema.version, doc: schema.doc, parameters: parameters, fields: schema.fields,
                             keySchema: schema.keySchema, valueSchema: schema.valueSchema)
    }
}
