/// Rules of a `.proto` file beyond its grammar: `reserved` numbers and names, enum rules, map keys and labels
/// (checked without imports), then imports resolved through references or the bundled well-known types, and every
/// field type resolved by protobuf's scoping rules.
enum ProtobufValidation {
    static let scalarTypes: Set<String> = [
        "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
        "sfixed32", "sfixed64", "bool", "string", "bytes",
    ]
    private static let mapKeyTypes: Set<String> = scalarTypes.subtracting(["double", "float", "bytes"])
    static let maximumFieldNumber = 536_870_911

    /// Numbers and names a `reserved` (or `extensions`) statement takes, from its text as the parser keeps it.
    struct Reservation {
        var ranges: [ClosedRange<Int>] = []
        var names: Set<String> = []
        var isExtensions = false

        init(_ text: String, maximum: Int) throws(RegistryError) {
            var body = Substring(text)
            if body.hasPrefix("extensions ") {
                isExtensions = true
                body = body.dropFirst("extensions ".count)
                if let options = body.firstIndex(of: "[") { body = body[..<options] }
            }
            for item in body.split(separator: ",") {
                let words = item.split(separator: " ")
                guard let first = words.first else { continue }
                if first.hasPrefix("\"") {
                    guard words.count == 1, first.count >= 2, first.hasSuffix("\"") else {
                        throw .invalidSchema("invalid reserved name \(item)")
                    }
                    names.insert(String(first.dropFirst().dropLast()))
                } else if let low = Self.number(first) {
                    var high = low
                    if words.count == 3, words[1] == "to" {
                        guard let upper = words[2] == "max" ? maximum : Self.number(words[2]) else {
                            throw .invalidSchema("invalid reserved range \(item)")
                        }
                        high = upper
                    } else if words.count != 1 {
                        throw .invalidSchema("invalid reserved range \(item)")
                    }
                    guard low <= high else { throw .invalidSchema("reserved range \(item) ends before it starts") }
                    ranges.append(low...high)
                } else if words.count == 1, first.first.map({ $0 == "_" || $0.isLetter }) == true {
                    names.insert(String(first))  // editions write reserved names as identifiers
                } else {
                    throw .invalidSchema("invalid reserved statement \(text)")
                }
            }
        }

        private static func number(_ text: Substring) -> Int? {
            if text.hasPrefix("0x") || text.hasPrefix("0X") { return Int(text.dropFirst(2), radix: 16) }
            return Int(text)
        }

        func contains(_ number: Int) -> Bool { ranges.contains { $0.contains(number) } }
    }

    // MARK: Rules without imports

    static func check(_ schema: ProtobufSchema) throws(RegistryError) {
        let prefix = schema.package.map { $0 + "." } ?? ""
        try checkUniqueNames(messages: schema.messages, enums: schema.enums, fields: [], scope: schema.package ?? "(file)")
        try checkEnumScope(schema.enums, scope: schema.package ?? "(file)")
        for enumType in schema.enums { try check(enumType, syntax: schema.syntax, scope: prefix) }
        for message in schema.messages { try check(message, syntax: schema.syntax, scope: prefix) }
    }

    private static func checkUniqueNames(
        messages: [ProtobufSchema.Message], enums: [ProtobufSchema.EnumType], fields: [ProtobufSchema.Field], scope: String
    ) throws(RegistryError) {
        var seen: Set<String> = Set(fields.map(\.name))
        for name in messages.map(\.name) + enums.map(\.name) {
            guard seen.insert(name).inserted else { throw .invalidSchema("\(name) is already defined in \(scope)") }
        }
    }

    /// Enum values are siblings of their enum (C++ scoping): two enums of one scope cannot share a value name.
    private static func checkEnumScope(_ enums: [ProtobufSchema.EnumType], scope: String) throws(RegistryError) {
        guard enums.count > 1 else { return }
        var owner: [String: String] = [:]
        for enumType in enums {
            for name in Set(enumType.values.map(\.name)) {
                if let other = owner[name] {
                    throw .invalidSchema("enum value \(name) of \(enumType.name) is already defined by \(other) in \(scope)")
                }
                owner[name] = enumType.name
            }
        }
    }

    private static func check(_ message: ProtobufSchema.Message, syntax: String, scope: String) throws(RegistryError) {
        let full = scope + message.name
        var reservations: [Reservation] = []
        for text in message.reserved { reservations.append(try Reservation(text, maximum: maximumFieldNumber)) }
        for field in message.fields {
            for reservation in reservations {
                if reservation.contains(field.number) {
                    let what = reservation.isExtensions ? "an extension range" : "a reserved number"
                    throw .invalidSchema("field \(field.name) of \(full) uses \(what): \(field.number)")
                }
                if reservation.names.contains(field.name) {
                    throw .invalidSchema("field name \(field.name) is reserved in \(full)")
                }
            }
            if field.type.hasPrefix("map<") {
                let (key, value) = mapTypes(field.type)
                guard mapKeyTypes.contains(key) else { throw .invalidSchema("map field \(full).\(field.name) has an invalid key type \(key)") }
                guard !value.hasPrefix("map") else { throw .invalidSchema("map field \(full).\(field.name) has a map value") }
                guard field.label.isEmpty, field.oneof == nil else {
                    throw .invalidSchema("map field \(full).\(field.name) cannot be labelled or in a oneof")
                }
            }
            if field.oneof != nil, !field.label.isEmpty {
                throw .invalidSchema("field \(full).\(field.name) in a oneof cannot be \(field.label)")
            }
            if syntax == "proto3", field.label == "required" {
                throw .invalidSchema("required fields are not allowed in proto3 (\(full).\(field.name))")
            }
        }
        try checkUniqueNames(messages: message.messages, enums: message.enums, fields: message.fields, scope: full)
        try checkEnumScope(message.enums, scope: full)
        for enumType in message.enums { try check(enumType, syntax: syntax, scope: full + ".") }
        for nested in message.messages { try check(nested, syntax: syntax, scope: full + ".") }
    }

    private static func check(_ enumType: ProtobufSchema.EnumType, syntax: String, scope: String) throws(RegistryError) {
        let full = scope + enumType.name
        guard let first = enumType.values.first else { throw .invalidSchema("enum \(full) has no values") }
        if syntax == "proto3", first.number != 0 {
            throw .invalidSchema("the first value of enum \(full) must be zero in proto3")
        }
        let allowAlias = enumType.options.contains { $0.replacingOccurrences(of: " ", with: "") == "allow_alias=true" }
        var reservations: [Reservation] = []
        for text in enumType.reserved { reservations.append(try Reservation(text, maximum: Int(Int32.max))) }
        var names: Set<String> = []
        var numbers: Set<Int> = []
        for value in enumType.values {
            guard (Int(Int32.min)...Int(Int32.max)).contains(value.number) else {
                throw .invalidSchema("value \(value.name) of enum \(full) is out of range")
            }
            guard names.insert(value.name).inserted else { throw .invalidSchema("value \(value.name) is declared twice in enum \(full)") }
            guard numbers.insert(value.number).inserted || allowAlias else {
                throw .invalidSchema("number \(value.number) is used twice in enum \(full) (set option allow_alias = true)")
            }
            for reservation in reservations {
                if reservation.contains(value.number) {
                    throw .invalidSchema("value \(value.name) of enum \(full) uses a reserved number: \(value.number)")
                }
                if reservation.names.contains(value.name) { throw .invalidSchema("value name \(value.name) is reserved in enum \(full)") }
            }
        }
    }

    static func mapTypes(_ type: String) -> (key: String, value: String) {
        guard let open = type.firstIndex(of: "<"), let comma = type.firstIndex(of: ","), let close = type.lastIndex(of: ">"),
            open < comma, comma < close
        else { return ("", "") }
        return (type[type.index(after: open)..<comma].trimmedWhitespace, type[type.index(after: comma)..<close].trimmedWhitespace)
    }

    /// A field's option list (`a = 1 , b = "x"`) with its options sorted, for the canonical form.
    static func sortedOptionList(_ text: String) -> String {
        // By Unicode scalars, as the tokenizer reads the text, not by Characters: a combining mark after a `,` or a
        // space makes one Character of them, which would hide the separator and survive trimming (a fuzzer's find).
        var parts: [String.UnicodeScalarView] = []
        var current = String.UnicodeScalarView()
        var depth = 0
        var quote: Unicode.Scalar?
        var escaped = false
        for scalar in text.unicodeScalars {
            if let open = quote {
                // A backslash escapes the next character, a quote among them (strings are written with `\"`).
                if escaped {
                    escaped = false
                } else if scalar == "\\" {
                    escaped = true
                } else if scalar == open {
                    quote = nil
                }
            } else if scalar == "\"" || scalar == "'" {
                quote = scalar
            } else if "{[(<".unicodeScalars.contains(scalar) {
                // `<` and `>` nest as the parser counts them (`map<string, Inner>` in an option's text).
                depth += 1
            } else if "}])>".unicodeScalars.contains(scalar) {
                depth -= 1
            } else if scalar == ",", depth == 0 {
                parts.append(Self.trimmed(current))
                current = String.UnicodeScalarView()
                continue
            }
            current.append(scalar)
        }
        parts.append(Self.trimmed(current))
        // Ordered by their bytes: String's own order compares canonically equivalent texts as equal.
        return parts.map(String.init).sortedByBytes().joined(separator: " , ")
    }

    /// Scalars without the white space at either end.
    private static func trimmed(_ scalars: String.UnicodeScalarView) -> String.UnicodeScalarView {
        var result = Substring.UnicodeScalarView(scalars)
        while let first = result.first, first.properties.isWhitespace { result.removeFirst() }
        while let last = result.last, last.properties.isWhitespace { result.removeLast() }
        return String.UnicodeScalarView(result)
    }

    // MARK: Imports and type names

    /// The schema with its imports resolved: `files` maps an import path to the schema a reference of that
    /// name holds; well-known types need no reference. Every field type must name a scalar, or a message or enum
    /// of this file or of an imported one. With `lenient`, imports and types that cannot be found are let through
    /// (references given without their names).
    static func resolvingImports(
        _ schema: ProtobufSchema, files: [String: ProtobufSchema], lenient: Bool
    ) throws(RegistryError) -> ProtobufSchema {
        var resolved = schema
        resolved.dependencies = [:]
        for path in schema.imports {
            if let file = files[path] ?? WellKnownProtobufTypes.file(path) {
                resolved.dependencies[path] = file
            } else if !lenient {
                throw .invalidSchema("import \"\(path)\" is not resolved: no reference is named \(path)")
            }
        }
        if lenient { return resolved }
        let symbols = ProtobufSymbols(resolved)
        func visit(_ message: ProtobufSchema.Message, scope: String) throws(RegistryError) {
            let full = scope.isEmpty ? message.name : "\(scope).\(message.name)"
            for field in message.fields {
                var names = [field.type]
                if field.type.hasPrefix("map<") {
                    let (key, value) = mapTypes(field.type)
                    names = [key, value]
                }
                for name in names where !scalarTypes.contains(name) {
                    guard symbols.resolve(name, scope: full) != nil else {
                        throw .invalidSchema("field \(full).\(field.name) has an unknown type \(name)")
                    }
                }
            }
            for nested in message.messages { try visit(nested, scope: full) }
        }
        for message in schema.messages { try visit(message, scope: schema.package ?? "") }
        return resolved
    }
}

/// The messages and enums a file can name: its own and those of its imports (transitively), by full name
/// without the leading dot.
struct ProtobufSymbols {
    /// Full name → true for a message, false for an enum.
    private(set) var kinds: [String: Bool] = [:]
    /// Every message of the file and its imports by full name.
    private(set) var messages: [String: ProtobufSchema.Message] = [:]

    init(_ schema: ProtobufSchema) {
        var visitedFiles: Set<String> = []
        add(schema, visitedFiles: &visitedFiles)
    }

    private mutating func add(_ schema: ProtobufSchema, visitedFiles: inout Set<String>) {
        let package = schema.package ?? ""
        func visit(_ message: ProtobufSchema.Message, scope: String, into symbols: inout ProtobufSymbols) {
            let full = scope.isEmpty ? message.name : "\(scope).\(message.name)"
            symbols.kinds[full] = true
            symbols.messages[full] = message
            for nested in message.messages { visit(nested, scope: full, into: &symbols) }
            for nested in message.enums { symbols.kinds["\(full).\(nested.name)"] = false }
        }
        for message in schema.messages { visit(message, scope: package, into: &self) }
        for enumType in schema.enums { kinds[package.isEmpty ? enumType.name : "\(package).\(enumType.name)"] = false }
        for (path, file) in schema.dependencies.sorted(by: { $0.key < $1.key }) where visitedFiles.insert(path).inserted {
            add(file, visitedFiles: &visitedFiles)
        }
    }

    /// The full name `type` stands for when written in the scope `scope` (package and enclosing messages):
    /// the innermost scope that declares it wins, a leading dot means a full name.
    func resolve(_ type: String, scope: String) -> String? {
        if type.hasPrefix(".") {
            let name = String(type.dropFirst())
            return kinds[name] != nil ? name : nil
        }
        var current = Substring(scope)
        while true {
            let candidate = current.isEmpty ? type : "\(current).\(type)"
            if kinds[candidate] != nil { return candidate }
            guard !current.isEmpty else { return nil }
            current = current.lastIndex(of: ".").map { current[..<$0] } ?? ""
        }
    }

    func isMessage(_ fullName: String) -> Bool? { kinds[fullName] }
}

/// The well-known types Confluent's registry knows without a reference (`google/protobuf/*.proto`, some of
/// `google/type/*.proto`), plus Confluent's own `confluent/meta.proto` and `confluent/type/decimal.proto`. `descriptor.proto` holds the
/// option messages only (enough for `extend` and custom options).
enum WellKnownProtobufTypes {
    private static let texts: [String: String] = [
        "google/protobuf/timestamp.proto": "message Timestamp { int64 seconds = 1; int32 nanos = 2; }",
        "google/protobuf/duration.proto": "message Duration { int64 seconds = 1; int32 nanos = 2; }",
        "google/protobuf/any.proto": "message Any { string type_url = 1; bytes value = 2; }",
        "google/protobuf/empty.proto": "message Empty {}",
        "google/protobuf/field_mask.proto": "message FieldMask { repeated string paths = 1; }",
        "google/protobuf/source_context.proto": "message SourceContext { string file_name = 1; }",
        "google/protobuf/struct.proto": """
            message Struct { map<string, Value> fields = 1; }
            message Value {
              oneof kind {
                NullValue null_value = 1; double number_value = 2; string string_value = 3; bool bool_value = 4;
                Struct struct_value = 5; ListValue list_value = 6;
              }
            }
            enum NullValue { NULL_VALUE = 0; }
            message ListValue { repeated Value values = 1; }
            """,
        "google/protobuf/wrappers.proto": """
            message DoubleValue { double value = 1; }
            message FloatValue { float value = 1; }
            message Int64Value { int64 value = 1; }
            message UInt64Value { uint64 value = 1; }
            message Int32Value { int32 value = 1; }
            message UInt32Value { uint32 value = 1; }
            message BoolValue { bool value = 1; }
            message StringValue { string value = 1; }
            message BytesValue { bytes value = 1; }
            """,
        "google/protobuf/descriptor.proto": """
            message FileOptions {} message MessageOptions {} message FieldOptions {} message OneofOptions {}
            message EnumOptions {} message EnumValueOptions {} message ServiceOptions {} message MethodOptions {}
            """,
    ]

    private static let files: [String: ProtobufSchema] = {
        var files: [String: ProtobufSchema] = [:]
        for (path, body) in texts {
            files[path] = try? ProtobufSchema.parse("syntax = \"proto3\";\npackage google.protobuf;\n" + body)
        }
        // google/type files Confluent's registry also knows (Confluent's Connect converter imports date and timeofday).
        let googleTypes: [String: String] = [
            "google/type/date.proto": "message Date { int32 year = 1; int32 month = 2; int32 day = 3; }",
            "google/type/timeofday.proto": "message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }",
            "google/type/latlng.proto": "message LatLng { double latitude = 1; double longitude = 2; }",
            "google/type/money.proto": "message Money { string currency_code = 1; int64 units = 2; int32 nanos = 3; }",
        ]
        for (path, body) in googleTypes {
            files[path] = try? ProtobufSchema.parse("syntax = \"proto3\";\npackage google.type;\n" + body)
        }
        files["confluent/type/decimal.proto"] = try? ProtobufSchema.parse("""
            syntax = "proto3";
            package confluent.type;
            message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }
            """)
        if var meta = try? ProtobufSchema.parse("""
            syntax = "proto3";
            package confluent;
            import "google/protobuf/descriptor.proto";
            message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }
            """) {
            meta.dependencies["google/protobuf/descriptor.proto"] = files["google/protobuf/descriptor.proto"]
            files["confluent/meta.proto"] = meta
        }
        return files
    }()

    static func file(_ path: String) -> ProtobufSchema? { files[path] }

    static var paths: [String] { files.keys.sorted() }
}
