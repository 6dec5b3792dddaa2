import SchemaRegistry

/// Checks a JSON value against a JSON Schema (drafts 4 to 2020-12), as Confluent's JSON Schema serializer does
/// before writing, with messages naming the field (`field 'amount': expected a number, got "abc"`). Read:
/// `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`, `patternProperties`,
/// `minProperties`/`maxProperties`, `items` (one schema, or a list as drafts before 2020-12 have it, with
/// `additionalItems`), `prefixItems`, `minItems`/`maxItems`, `uniqueItems`, `minimum`/`maximum` and their exclusive
/// forms (numbers, or draft 4's booleans), `multipleOf`, `minLength`/`maxLength`, `pattern`, `allOf`/`anyOf`/`oneOf`,
/// `not`, `if`/`then`/`else`, and `$ref` inside the schema. Not read: `format`, `dependencies` and their successors,
/// `contains`, `propertyNames`, and references to other documents (a value is not refused for them); a `pattern`
/// Swift's regular expressions cannot read is not checked either.
struct JSONSchemaValidator {
    let root: JSONValue

    /// The deepest `$ref` and subschema nesting followed (a schema that refers to itself ends here).
    static let maximumDepth = 128

    func validate(_ value: JSONValue) throws(ConnectError) {
        try check(root, value, at: "", depth: 0)
    }

    private func check(_ schema: JSONValue, _ value: JSONValue, at path: String, depth: Int) throws(ConnectError) {
        guard depth < Self.maximumDepth else { throw .data("The JSON schema nests deeper than \(Self.maximumDepth) (a $ref loop?)") }
        switch schema {
        case .bool(false): throw .data("\(TypedJSONReader.place(path)): the schema allows no value here")
        case .object: break
        default: return
        }
        if let ref = schema["$ref"]?.stringValue {
            guard ref.hasPrefix("#"), let target = JSONSchemaPointer.resolve(String(ref.dropFirst()), in: root) else {
                throw .data("The JSON schema's $ref \(ref) cannot be followed (only references inside the schema are)")
            }
            try check(target, value, at: path, depth: depth + 1)
        }
        try checkType(schema, value, at: path)
        try checkValues(schema, value, at: path)
        switch value {
        case let .number(text): try checkNumber(schema, text, value, at: path)
        case let .string(text): try checkString(schema, text, value, at: path)
        case let .array(items): try checkArray(schema, items, at: path, depth: depth)
        case let .object(members): try checkObject(schema, members, at: path, depth: depth)
        default: break
        }
        try checkCombinations(schema, value, at: path, depth: depth)
    }

    private func fail(_ path: String, _ expected: String, _ value: JSONValue) -> ConnectError {
        .data("\(TypedJSONReader.place(path)): expected \(expected), got \(TypedJSONReader.shown(value))")
    }

    private func checkType(_ schema: JSONValue, _ value: JSONValue, at path: String) throws(ConnectError) {
        let types: [String]
        switch schema["type"] {
        case let .string(name)?: types = [name]
        case let .array(names)?: types = names.compactMap(\.stringValue)
        default: return
        }
        guard !types.contains(where: { Self.isOfType(value, $0) }) else { return }
        let words = types.map { name -> String in
            switch name {
            case "integer": return "an integer"
            case "number": return "a number"
            case "boolean": return "true or false"
            case "object": return "an object"
            case "array": return "an array"
            case "null": return "null"
            default: return "a \(name)"
            }
        }
        throw fail(path, words.joined(separator: " or "), value)
    }

    private static func isOfType(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object):
            return true
        case let ("integer", .number(text)):
            return Double(text).map { $0.isFinite && $0 == $0.rounded() } ?? false
        default:
            return false
        }
    }

    private func checkValues(_ schema: JSONValue, _ value: JSONValue, at path: String) throws(ConnectError) {
        if let constant = schema["const"], constant != value { throw fail(path, constant.serialized, value) }
        if let choices = schema["enum"]?.arrayValue, !choices.contains(value) {
            throw fail(path, "one of " + choices.map(\.serialized).joined(separator: ", "), value)
        }
    }

    private func checkNumber(_ schema: JSONValue, _ text: String, _ value: JSONValue, at path: String) throws(ConnectError) {
        guard let number = Double(text) else { return }
        // Draft 4 makes `minimum` exclusive with `"exclusiveMinimum": true`; later drafts give the bound itself.
        if let minimum = schema["minimum"]?.doubleValue {
            if schema["exclusiveMinimum"]?.boolValue == true {
                if number <= minimum { throw fail(path, "a number greater than \(Self.text(minimum))", value) }
            } else if number < minimum {
                throw fail(path, "a number of at least \(Self.text(minimum))", value)
            }
        }
        if let maximum = schema["maximum"]?.doubleValue {
            if schema["exclusiveMaximum"]?.boolValue == true {
                if number >= maximum { throw fail(path, "a number less than \(Self.text(maximum))", value) }
            } else if number > maximum {
                throw fail(path, "a number of at most \(Self.text(maximum))", value)
            }
        }
        if let bound = schema["exclusiveMinimum"]?.doubleValue, number <= bound {
            throw fail(path, "a number greater than \(Self.text(bound))", value)
        }
        if let bound = schema["exclusiveMaximum"]?.doubleValue, number >= bound {
            throw fail(path, "a number less than \(Self.text(bound))", value)
        }
        if let divisor = schema["multipleOf"]?.doubleValue, divisor > 0 {
            let quotient = number / divisor
            if abs(quotient - quotient.rounded()) > 1e-9 * max(1, abs(quotient)) {
                throw fail(path, "a multiple of \(Self.text(divisor))", value)
            }
        }
    }

    private static func text(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    private func checkString(_ schema: JSONValue, _ text: String, _ value: JSONValue, at path: String) throws(ConnectError) {
        let length = text.unicodeScalars.count
        if let minimum = schema["minLength"]?.integerValue, length < minimum {
            throw fail(path, "a string of at least \(minimum) characters", value)
        }
        if let maximum = schema["maxLength"]?.integerValue, length > maximum {
            throw fail(path, "a string of at most \(maximum) characters", value)
        }
        if let pattern = schema["pattern"]?.stringValue, let matches = Self.matches(text, pattern), !matches {
            throw fail(path, "a string matching /\(pattern)/", value)
        }
    }

    /// Whether `pattern` finds a match in `text` (JSON Schema's patterns are not anchored); nil when Swift's regular
    /// expressions cannot read the pattern.
    private static func matches(_ text: String, _ pattern: String) -> Bool? {
        guard let regex = try? Regex(pattern) else { return nil }
        return text.contains(regex)
    }

    private func checkArray(_ schema: JSONValue, _ items: [JSONValue], at path: String, depth: Int) throws(ConnectError) {
        if let minimum = schema["minItems"]?.integerValue, items.count < minimum {
            throw .data("\(TypedJSONReader.place(path)): expected at least \(minimum) items, got \(items.count)")
        }
        if let maximum = schema["maxItems"]?.integerValue, items.count > maximum {
            throw .data("\(TypedJSONReader.place(path)): expected at most \(maximum) items, got \(items.count)")
        }
        if schema["uniqueItems"]?.boolValue == true {
            for (index, item) in items.enumerated() where items[..<index].contains(item) {
                throw .data("\(TypedJSONReader.place("\(path)[\(index)]")): the items must differ, and this one repeats an earlier one")
            }
        }
        // A list of schemas for the first items: `prefixItems` (2020-12) or `items` as a list (earlier drafts).
        let positional: [JSONValue]
        let rest: JSONValue?
        if let prefix = schema["prefixItems"]?.arrayValue {
            (positional, rest) = (prefix, schema["items"])
        } else if let list = schema["items"]?.arrayValue {
            (positional, rest) = (list, schema["additionalItems"])
        } else {
            (positional, rest) = ([], schema["items"])
        }
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            if index < positional.count {
                try check(positional[index], item, at: itemPath, depth: depth + 1)
            } else if let rest {
                try check(rest, item, at: itemPath, depth: depth + 1)
            }
        }
    }

    private func checkObject(_ schema: JSONValue, _ members: [(String, JSONValue)], at path: String, depth: Int) throws(ConnectError) {
        if let minimum = schema["minProperties"]?.integerValue, members.count < minimum {
            throw .data("\(TypedJSONReader.place(path)): expected at least \(minimum) properties, got \(members.count)")
        }
        if let maximum = schema["maxProperties"]?.integerValue, members.count > maximum {
            throw .data("\(TypedJSONReader.place(path)): expected at most \(maximum) properties, got \(members.count)")
        }
        for name in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where !members.contains(where: { $0.0 == name }) {
            throw .data("\(TypedJSONReader.place(TypedJSONReader.join(path, name))) is missing (it is required)")
        }
        let properties = schema["properties"]?.objectValue ?? []
        let patterns = schema["patternProperties"]?.objectValue ?? []
        for (name, member) in members {
            let memberPath = TypedJSONReader.join(path, name)
            var matched = false
            if let property = properties.last(where: { $0.0 == name })?.1 {
                matched = true
                try check(property, member, at: memberPath, depth: depth + 1)
            }
            for (pattern, patternSchema) in patterns where Self.matches(name, pattern) == true {
                matched = true
                try check(patternSchema, member, at: memberPath, depth: depth + 1)
            }
            guard !matched, let additional = schema["additionalProperties"] else { continue }
            if additional == .bool(false) {
                let names = properties.map(\.0).joined(separator: ", ")
                throw .data("\(TypedJSONReader.place(memberPath)) is not in the schema (its properties: \(names))")
            }
            try check(additional, member, at: memberPath, depth: depth + 1)
        }
    }

    private func checkCombinations(_ schema: JSONValue, _ value: JSONValue, at path: String, depth: Int) throws(ConnectError) {
        for part in schema["allOf"]?.arrayValue ?? [] { try check(part, value, at: path, depth: depth + 1) }
        if let choices = schema["anyOf"]?.arrayValue {
            let (fitting, failures) = fits(choices, value, at: path, depth: depth)
            if fitting == 0, !choices.isEmpty {
                throw .data("\(TypedJSONReader.place(path)) fits none of the schemas anyOf lists (\(failures.joined(separator: "; or ")))")
            }
        }
        if let choices = schema["oneOf"]?.arrayValue {
            let (fitting, failures) = fits(choices, value, at: path, depth: depth)
            if fitting == 0 {
                throw .data("\(TypedJSONReader.place(path)) fits none of the schemas oneOf lists (\(failures.joined(separator: "; or ")))")
            }
            if fitting > 1 { throw .data("\(TypedJSONReader.place(path)) fits \(fitting) of the schemas oneOf lists; it must fit exactly one") }
        }
        if let negated = schema["not"], (try? check(negated, value, at: path, depth: depth + 1)) != nil {
            throw .data("\(TypedJSONReader.place(path)) fits the schema `not` refuses: \(negated.serialized.prefix(100))")
        }
        if let condition = schema["if"] {
            let holds = (try? check(condition, value, at: path, depth: depth + 1)) != nil
            if let branch = holds ? schema["then"] : schema["else"] { try check(branch, value, at: path, depth: depth + 1) }
        }
    }

    /// How many of `choices` the value fits, and why it fits none of the others.
    private func fits(_ choices: [JSONValue], _ value: JSONValue, at path: String, depth: Int) -> (Int, [String]) {
        var fitting = 0
        var failures: [String] = []
        for choice in choices {
            do {
                try check(choice, value, at: path, depth: depth + 1)
                fitting += 1
            } catch {
                failures.append(error.description)
            }
        }
        return (fitting, failures)
    }
}
