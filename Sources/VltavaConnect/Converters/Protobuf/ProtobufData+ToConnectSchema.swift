extension ProtobufData {
    /// The Connect schema of a message, as Confluent's `toConnectSchema` reads it: a struct named by the message's
    /// simple name (full name with `enhanced.protobuf.schema.support`), oneofs first as optional
    /// `io.confluent.connect.protobuf.Union.<name>` structs (`<name>_<index>`), then the other fields, every one
    /// optional and carrying its field number as `io.confluent.connect.protobuf.Tag`. `version` becomes the struct's.
    func toConnectSchema(_ message: ProtobufMessageDescriptor, pool: ProtobufDescriptorPool, version: Int32?) throws(ConnectError) -> ConnectSchema {
        var reader = ConnectSchemaReader(data: self, pool: pool)
        return try reader.structSchema(message, isOptional: false, version: version)
    }
}

private struct ConnectSchemaReader {
    let data: ProtobufData
    let pool: ProtobufDescriptorPool
    /// The messages being read, to refuse a message that contains itself (a Connect schema cannot).
    var following: [String] = []

    init(data: ProtobufData, pool: ProtobufDescriptorPool) {
        self.data = data
        self.pool = pool
    }

    mutating func structSchema(_ message: ProtobufMessageDescriptor, isOptional: Bool, version: Int32?) throws(ConnectError) -> ConnectSchema {
        guard !following.contains(message.fullName) else {
            throw .data("The message \(message.fullName) contains itself; recursive messages have no Connect schema")
        }
        guard following.count < 64 else { throw .data("The messages are nested more than 64 deep") }
        following.append(message.fullName)
        defer { following.removeLast() }
        var fields: [ConnectField] = []
        for (index, oneof) in message.oneofs.enumerated() {
            var members: [ConnectField] = []
            for field in message.fields where field.oneof == oneof {
                members.append(ConnectField(name: field.name, index: members.count, schema: try fieldSchema(field)))
            }
            let union = ConnectSchema(type: .structure, isOptional: true, name: ProtobufData.unionPrefix + oneof, fields: members)
            fields.append(ConnectField(name: "\(oneof)_\(index)", index: fields.count, schema: union))
        }
        for field in message.fields where field.oneof == nil {
            fields.append(ConnectField(name: field.name, index: fields.count, schema: try fieldSchema(field)))
        }
        return ConnectSchema(type: .structure, isOptional: isOptional, name: data.enhancedSchemaSupport ? message.fullName : message.name,
                             version: version, fields: fields)
    }

    private mutating func fieldSchema(_ field: ProtobufFieldDescriptor) throws(ConnectError) -> ConnectSchema {
        let tag = [(ProtobufData.tagParameter, String(field.number))]
        if field.isRepeated, case let .message(name) = field.kind, let entry = pool.messages[name], entry.isMapEntry || Self.looksLikeMapEntry(entry) {
            guard let key = entry.field(named: "key"), let value = entry.field(named: "value") else {
                throw .data("The map entry \(entry.fullName) needs key and value fields")
            }
            return ConnectSchema(type: .map, isOptional: true, name: Self.mapFieldName(entry.name), parameters: tag,
                                 keySchema: try elementSchema(key), valueSchema: try elementSchema(value))
        }
        let element = try elementSchema(field)
        if field.isRepeated {
            return ConnectSchema(type: .array, isOptional: true, parameters: tag, valueSchema: element.with(isOptional: true))
        }
        let isOptional = !data.useWrapperForNullables || element.isOptional || field.isOptional
        return ConnectSchema(type: element.type, isOptional: isOptional, defaultValue: element.defaultValue, name: element.name,
                             version: element.version, doc: element.doc, parameters: (element.parameters ?? []) + tag,
                             fields: element.fields, keySchema: element.keySchema, valueSchema: element.valueSchema)
    }

    /// The schema of one value of a field (an element when repeated).
    private mutating func elementSchema(_ field: ProtobufFieldDescriptor) throws(ConnectError) -> ConnectSchema {
        switch field.kind {
        case let .scalar(scalar):
            return Self.scalarSchema(scalar, connectType: field.metaParameters[ProtobufData.connectTypeParameter], isOptional: false)
        case let .enumeration(name):
            guard let enumType = pool.enums[name] else { throw .data("The enum \(name) of field \(field.name) is not defined") }
            var parameters = [(ProtobufData.enumParameter, enumType.name)]
            for value in enumType.values { parameters.append((ProtobufData.enumParameter + "." + value.name, String(value.number))) }
            return ConnectSchema(type: .string, isOptional: true, name: enumType.name, parameters: parameters)
        case let .message(name):
            switch name {
            case ProtobufData.decimalType:
                let scale = field.metaParameters["scale"].flatMap { Int32($0) } ?? 0
                var parameters = [(ConnectLogical.scaleParameter, String(scale))]
                if let precision = field.metaParameters["precision"].flatMap({ Int32($0) }) {
                    parameters.append((ProtobufData.precisionParameter, String(precision)))
                }
                return ConnectSchema(type: .bytes, isOptional: true, name: ConnectLogical.decimalName, version: 1, parameters: parameters)
            case ProtobufData.dateType: return ConnectLogical.date(isOptional: true)
            case ProtobufData.timeType: return ConnectLogical.time(isOptional: true)
            case ProtobufData.timestampType: return ConnectLogical.timestamp(isOptional: true)
            default: break
            }
            if data.useWrapperForNullables, name.hasPrefix("google.protobuf."), name.hasSuffix("Value"),
               let message = pool.messages[name], let value = message.field(named: "value"), case let .scalar(scalar) = value.kind {
                return Self.scalarSchema(scalar, connectType: nil, isOptional: true)
            }
            guard let message = pool.messages[name] else { throw .data("The message \(name) of field \(field.name) is not defined") }
            return try structSchema(message, isOptional: true, version: nil)
        }
    }

    static func scalarSchema(_ scalar: ProtobufScalar, connectType: String?, isOptional: Bool) -> ConnectSchema {
        let kind: ConnectSchema.Kind
        switch scalar {
        case .int32, .sint32, .sfixed32:
            kind = connectType == "int8" ? .int8 : connectType == "int16" ? .int16 : .int32
        case .uint32, .fixed32, .int64, .uint64, .sint64, .fixed64, .sfixed64: kind = .int64
        case .float: kind = .float32
        case .double: kind = .float64
        case .bool: kind = .boolean
        case .string: kind = .string
        case .bytes: kind = .bytes
        }
        return ConnectSchema(type: kind, isOptional: isOptional)
    }

    /// Confluent reads a repeated message named `…Entry` with exactly `key` (1) and `value` (2) as a map.
    private static func looksLikeMapEntry(_ message: ProtobufMessageDescriptor) -> Bool {
        message.name.hasSuffix("Entry") && message.fields.count == 2
            && message.fields.contains { $0.name == "key" && $0.number == 1 } && message.fields.contains { $0.name == "value" && $0.number == 2 }
    }

    /// `F1Entry` → `f1` (Confluent's `toMapField`).
    private static func mapFieldName(_ entryName: String) -> String {
        guard entryName.hasSuffix("Entry"), entryName.count > 5 else { return entryName }
        let base = entryName.dropLast(5)
        return base.prefix(1).lowercased() + base.dropFirst()
    }
}
