/// A column a sink record fills: its name and Connect schema, and whether it is part of the primary key.
struct SinkColumn: Sendable, Hashable {
    var name: String
    var schema: ConnectSchema
    var isKey: Bool
}

/// A record as the JDBC sink writes it: its table, its columns (key columns first, as Confluent's `FieldsMetadata`
/// orders them) and their parameters; a tombstone carries only the key.
struct SinkRow: Sendable {
    var table: String
    var columns: [SinkColumn]
    var parameters: [PostgresParameter?]
    var isDelete: Bool

    var keyCount: Int { columns.prefix { $0.isKey }.count }
}

/// Turns sink records into rows per Confluent's `pk.mode`, `pk.fields` and `fields.whitelist`.
struct JdbcSinkRowReader: Sendable {
    let config: JdbcSinkConfig

    static let kafkaKeyNames = ["__connect_topic", "__connect_partition", "__connect_offset"]

    /// The row of a record; nil for a tombstone when deletes are off (skipped, as Confluent's sink skips them).
    /// `table` is the record's table when the caller knows it (one name per topic, looked up once).
    func row(_ record: ConnectRecord, table knownTable: String? = nil) throws(ConnectError) -> SinkRow? {
        let table = knownTable ?? config.tableName(topic: record.topic)
        let isTombstone = record.value.isNull
        if isTombstone && !config.deleteEnabled { return nil }
        var columns: [SinkColumn] = []
        var parameters: [PostgresParameter?] = []
        switch config.primaryKeyMode {
        case .none: break
        case .kafka:
            let names = config.primaryKeyFields.isEmpty ? Self.kafkaKeyNames : config.primaryKeyFields
            columns = [SinkColumn(name: names[0], schema: .string, isKey: true), SinkColumn(name: names[1], schema: .int32, isKey: true),
                       SinkColumn(name: names[2], schema: .int64, isKey: true)]
            parameters = [.untyped(record.topic), .int32(record.kafkaPartition ?? 0), .int64(record.kafkaOffset ?? 0)]
        case .recordKey:
            guard let keySchema = record.keySchema, !record.key.isNull else {
                throw .data("Table \(table) is written with pk.mode record_key, but the record at \(Self.position(record)) has no key "
                    + "or no key schema (a converter with schemas, such as JsonConverter with schemas.enable=true or AvroConverter, gives one)")
            }
            if keySchema.type == .structure {
                try append(fields: keySchema, value: record.key, selecting: config.primaryKeyFields, isKey: true, record: record,
                           columns: &columns, parameters: &parameters)
            } else {
                guard config.primaryKeyFields.count == 1 else {
                    throw .config(name: "pk.fields", message: "Need exactly one PK column defined since the key schema for records is a "
                        + "primitive type, defined columns are: [\(config.primaryKeyFields.joined(separator: ", "))]")
                }
                columns.append(SinkColumn(name: config.primaryKeyFields[0], schema: keySchema, isKey: true))
                parameters.append(try PostgresValueBinding.parameter(record.key, schema: keySchema, field: config.primaryKeyFields[0]))
            }
        case .recordValue:
            break
        }
        if isTombstone { return SinkRow(table: table, columns: columns, parameters: parameters, isDelete: true) }
        guard let valueSchema = record.valueSchema, valueSchema.type == .structure, case .structure = record.value else {
            throw .data("Table \(table) needs records whose value is a struct with a schema, but the record at \(Self.position(record)) "
                + "has \(record.valueSchema.map { "a value of type \($0.type.rawValue.uppercased())" } ?? "no value schema") "
                + "(a converter with schemas, such as JsonConverter with schemas.enable=true or AvroConverter, gives one)")
        }
        if config.primaryKeyMode == .recordValue {
            try append(fields: valueSchema, value: record.value, selecting: config.primaryKeyFields, isKey: true, record: record,
                       columns: &columns, parameters: &parameters)
        }
        let keyNames = Set(columns.map(\.name))
        for field in valueSchema.fields where !keyNames.contains(field.name)
            && (config.fieldsWhitelist.isEmpty || config.fieldsWhitelist.contains(field.name)) {
            columns.append(SinkColumn(name: field.name, schema: field.schema, isKey: false))
            parameters.append(try PostgresValueBinding.parameter(record.value[field: field.name] ?? .null, schema: field.schema, field: field.name))
        }
        return SinkRow(table: table, columns: columns, parameters: parameters, isDelete: false)
    }

    private func append(fields schema: ConnectSchema, value: ConnectValue, selecting names: [String], isKey: Bool, record: ConnectRecord,
                        columns: inout [SinkColumn], parameters: inout [PostgresParameter?]) throws(ConnectError) {
        let chosen: [ConnectField]
        if names.isEmpty {
            chosen = schema.fields
        } else {
            chosen = try names.map { name throws(ConnectError) in
                guard let field = schema.field(name) else {
                    throw .config(name: "pk.fields", message: "PK field \(name) is not in the record's \(config.primaryKeyMode == .recordKey ? "key" : "value") "
                        + "schema, whose fields are [\(schema.fields.map(\.name).joined(separator: ", "))]")
                }
                return field
            }
        }
        for field in chosen {
            columns.append(SinkColumn(name: field.name, schema: field.schema, isKey: isKey))
            parameters.append(try PostgresValueBinding.parameter(value[field: field.name] ?? .null, schema: field.schema, field: field.name))
        }
    }

    static func position(_ record: ConnectRecord) -> String {
        "\(record.topic)-\(record.kafkaPartition ?? 0)@\(record.kafkaOffset ?? 0)"
    }
}

/// Connect values as statement parameters, by their schema.
enum PostgresValueBinding {
    static func parameter(_ value: ConnectValue, schema: ConnectSchema, field: String) throws(ConnectError) -> PostgresParameter? {
        if value.isNull { return nil }
        switch (schema.name, value) {
        case (ConnectLogical.decimalName?, let .bytes(bytes)):
            return .numeric(decimalText(bytes, scale: Int(schema.parameter(ConnectLogical.scaleParameter) ?? "0") ?? 0))
        case (ConnectLogical.dateName?, let .int32(days)): return .date(days)
        case (ConnectLogical.timeName?, let .int32(millis)): return .time(Int64(millis) * 1000)
        case (ConnectLogical.timestampName?, let .int64(millis)):
            return .timestamp(millis.multipliedReportingOverflow(by: 1000).overflow ? (millis < 0 ? .min : .max) : millis * 1000)
        default: break
        }
        switch value {
        case .null: return nil
        case let .boolean(flag): return .boolean(flag)
        case let .int8(number): return .int16(Int16(number))
        case let .int16(number): return .int16(number)
        case let .int32(number): return .int32(number)
        case let .int64(number): return .int64(number)
        case let .float32(number): return .float32(number)
        case let .float64(number): return .float64(number)
        case let .string(text): return .untyped(text)
        case let .bytes(bytes): return .bytes(bytes)
        case let .array(items):
            return .untyped(PostgresParameter.arrayLiteral(try items.map { item throws(ConnectError) in try elementText(item, field: field) }))
        case .map, .structure:
            throw .data("Field \(field) is a \(schema.type.rawValue.uppercased()), which no column holds; flatten it first (the Flatten transform)")
        }
    }

    private static func elementText(_ value: ConnectValue, field: String) throws(ConnectError) -> String? {
        switch value {
        case .null: return nil
        case let .boolean(flag): return flag ? "true" : "false"
        case let .int8(number): return String(number)
        case let .int16(number): return String(number)
        case let .int32(number): return String(number)
        case let .int64(number): return String(number)
        case let .float32(number): return "\(number)"
        case let .float64(number): return "\(number)"
        case let .string(text): return text
        case .bytes, .array, .map, .structure:
            throw .data("Field \(field) is an array of arrays, bytes, maps or structs, which the sink cannot write")
        }
    }

    /// The decimal text of a Decimal's unscaled two's-complement bytes at `scale` (`[0x04, 0xD2]`, 2 → `12.34`).
    static func decimalText(_ bytes: [UInt8], scale: Int) -> String {
        var digits = DecimalBytes.decimalString(twosComplement: bytes) ?? "0"
        let negative = digits.hasPrefix("-")
        if negative { digits.removeFirst() }
        if scale < 0 { return (negative ? "-" : "") + digits + String(repeating: "0", count: -scale) }
        if scale == 0 { return (negative ? "-" : "") + digits }
        if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
        let point = digits.index(digits.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + digits[..<point] + "." + digits[point...]
    }
}
