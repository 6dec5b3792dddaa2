import Foundation
@testable import VltavaConnect

/// Runs Datagen tasks and checks their records against their schemas and hints.
enum DatagenHarness {
    static func config(_ settings: [String: String]) -> [String: String] {
        ["kafka.topic": "datagen", "max.interval": "0", "random.seed": "42", "task.id": "0"].merging(settings) { $1 }
    }

    /// A started task.
    static func task(_ settings: [String: String], offsets: FixedOffsets = FixedOffsets()) throws -> DatagenTask {
        var task = DatagenTask()
        try task.start(config(settings), offsets: offsets)
        return task
    }

    /// The first `count` records of a task.
    static func records(_ settings: [String: String], count: Int, offsets: FixedOffsets = FixedOffsets()) throws -> [ConnectRecord] {
        var task = try task(settings, offsets: offsets)
        var records: [ConnectRecord] = []
        while records.count < count {
            let batch = try task.poll()
            if batch.isEmpty { break }
            records += batch
        }
        return Array(records.prefix(count))
    }

    /// What is wrong with `value` as a value of `type`: its Connect schema, and its hints.
    static func problems(_ value: ConnectValue, _ type: DatagenType, path: String = "value") -> [String] {
        var found = schemaProblems(value, type.connectSchema, path: path)
        found += hintProblems(value, type, path: path)
        return found
    }

    static func schemaProblems(_ value: ConnectValue, _ schema: ConnectSchema, path: String) -> [String] {
        if value.isNull { return schema.isOptional ? [] : ["\(path): null for a required \(schema)"] }
        switch (schema.type, value) {
        case (.boolean, .boolean), (.int8, .int8), (.int16, .int16), (.int32, .int32), (.int64, .int64),
             (.float32, .float32), (.float64, .float64), (.string, .string), (.bytes, .bytes):
            return []
        case let (.array, .array(items)):
            guard let itemSchema = schema.valueSchema else { return ["\(path): array schema without items"] }
            return items.enumerated().flatMap { schemaProblems($0.element, itemSchema, path: "\(path)[\($0.offset)]") }
        case let (.map, .map(entries)):
            guard let keySchema = schema.keySchema, let valueSchema = schema.valueSchema else { return ["\(path): map schema incomplete"] }
            return entries.flatMap {
                schemaProblems($0.key, keySchema, path: "\(path).key") + schemaProblems($0.value, valueSchema, path: "\(path).value")
            }
        case let (.structure, .structure(value)):
            guard value.schema == schema else { return ["\(path): struct of another schema"] }
            return schema.fields.flatMap { schemaProblems(value.values[$0.index], $0.schema, path: "\(path).\($0.name)") }
        default:
            return ["\(path): \(value) is not a \(schema)"]
        }
    }

    private static func hintProblems(_ value: ConnectValue, _ type: DatagenType, path: String) -> [String] {
        let hints = type.hints
        if let options = hints.options {
            return options.contains(value) ? [] : ["\(path): \(value) is not one of the options"]
        }
        var found: [String] = []
        if let range = hints.range, hints.iteration == nil {
            switch (range, value) {
            case let (.integral(low, high), .int32(number)) where Int64(number) < low || Int64(number) >= high:
                found.append("\(path): \(number) outside [\(low), \(high))")
            case let (.integral(low, high), .int64(number)) where number < low || number >= high:
                found.append("\(path): \(number) outside [\(low), \(high))")
            case let (.decimal(low, high), .float64(number)) where number < low || number >= high:
                found.append("\(path): \(number) outside [\(low), \(high))")
            case let (.decimal(low, high), .float32(number)) where Double(number) < low - 1e-3 || Double(number) > high:
                found.append("\(path): \(number) outside [\(low), \(high))")
            default: break
            }
        }
        if let regex = hints.regex, case let .string(text) = value {
            let inner = String(text.dropFirst(hints.prefix.count).dropLast(hints.suffix.count))
            if !matches(inner, regex.pattern) { found.append("\(path): \(inner) does not match \(regex.pattern)") }
        }
        switch (type.kind, value) {
        case let (.record(fields), .structure(record)):
            for (index, field) in fields.enumerated() {
                found += hintProblems(record.values[index], field.type, path: "\(path).\(field.name)")
            }
        case let (.array(items), .array(values)):
            if hints.options == nil, !(hints.length.minimum..<hints.length.maximum).contains(values.count) {
                found.append("\(path): \(values.count) items, not in \(hints.length)")
            }
            for item in values { found += hintProblems(item, items, path: "\(path)[]") }
        case let (.map(valueType, _), .map(entries)):
            for entry in entries { found += hintProblems(entry.value, valueType, path: "\(path){}") }
        case let (.enumeration(symbols), .string(symbol)):
            if !symbols.contains(symbol) { found.append("\(path): \(symbol) is not a symbol") }
        default:
            break
        }
        return found
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        guard let expression = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return false }
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func field(_ record: ConnectRecord, _ name: String) -> ConnectValue? { record.value[field: name] }
}
