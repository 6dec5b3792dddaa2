/// A schema of any format, parsed and checked.
enum ParsedSchema: Sendable {
    case avro(AvroSchema)
    case protobuf(ProtobufSchema)
    case json(JSONSchemaDocument)

    /// Parses schema text of a format. `referenced` holds the referenced schemas already parsed (AVRO named
    /// types are taken from them); `referenceNames` their reference names, in the same order: a PROTOBUF import
    /// path or a JSON Schema `$ref` names a referenced schema by it. Without names, referenced PROTOBUF imports
    /// are not checked and JSON Schema's external `$ref`s stay unresolved.
    static func parse(
        _ type: SchemaType, _ text: String, referenced: [ParsedSchema] = [], referenceNames: [String]? = nil
    ) throws(RegistryError) -> ParsedSchema {
        guard text.utf8.count <= 8 << 20 else { throw .invalidSchema("schema larger than 8 MiB") }
        switch type {
        case .avro:
            var named: [String: AvroSchema.NamedType] = [:]
            for case let .avro(schema) in referenced {
                named.merge(schema.namedTypes) { first, _ in first }
            }
            return .avro(try AvroSchema.parse(text, referencedTypes: named))
        case .protobuf:
            let parsed: ProtobufSchema
            do {
                parsed = try ProtobufSchema.parse(text)
            } catch {
                // confluent-kafka's serializers send a base64 FileDescriptorProto instead of .proto text.
                guard let decoded = try? FileDescriptorCoding.decode(base64: text), !decoded.messages.isEmpty || !decoded.enums.isEmpty
                else { throw error }
                // Checked as the .proto text it stands for, which it is stored and compared as: a descriptor's
                // syntax, names and numbers are free-form bytes, and only the text parser checks all of them.
                parsed = try ProtobufSchema.parse(decoded.normalizedForm)
            }
            var files: [String: ProtobufSchema] = [:]
            for (name, schema) in zip(referenceNames ?? [], referenced) {
                if case let .protobuf(file) = schema { files[name] = file }
            }
            let lenient = referenceNames == nil && !referenced.isEmpty
            return .protobuf(try ProtobufValidation.resolvingImports(parsed, files: files, lenient: lenient))
        case .json:
            var documents: [String: JSONSchemaDocument] = [:]
            for (name, schema) in zip(referenceNames ?? [], referenced) {
                if case let .json(document) = schema { documents[name] = document }
            }
            return .json(try JSONSchemaDocument.parse(text, references: documents))
        }
    }

    var schemaType: SchemaType {
        switch self {
        case .avro: return .avro
        case .protobuf: return .protobuf
        case .json: return .json
        }
    }

    /// The text two schemas are compared by: equal forms are the same schema.
    var normalizedForm: String {
        switch self {
        case let .avro(schema): return schema.normalizedForm
        case let .protobuf(schema): return schema.normalizedForm
        case let .json(schema): return schema.normalizedForm
        }
    }

    /// The text a schema's identity is made of: the normalized form, except that without `normalize=true` a
    /// PROTOBUF schema keeps its fields in the order written (Confluent's registry gives another order a new version).
    func identityForm(normalized: Bool) -> String {
        if !normalized, case let .protobuf(schema) = self { return schema.declaredOrderForm }
        return normalizedForm
    }

    /// The text given back for `?normalize=true` registrations and `format` requests: Avro's canonical form,
    /// the proto layout, compact JSON.
    var canonicalText: String {
        switch self {
        case let .avro(schema): return schema.parsingCanonicalForm
        default: return normalizedForm
        }
    }

    /// The text answered for `format=serialized`: a base64 FileDescriptorProto for PROTOBUF, else nil.
    var serializedText: String? {
        if case let .protobuf(schema) = self { return FileDescriptorCoding.encodeBase64(schema) }
        return nil
    }

    /// Problems reading data written with `writer` using this schema; formats that differ are incompatible.
    func problems(readingDataWrittenBy writer: ParsedSchema) -> [String] {
        switch (self, writer) {
        case let (.avro(reader), .avro(writer)): return AvroCompatibility.problems(reader: reader, writer: writer)
        case let (.protobuf(reader), .protobuf(writer)): return ProtobufCompatibility.problems(reader: reader, writer: writer)
        case let (.json(reader), .json(writer)): return JSONSchemaDocument.problems(reader: reader, writer: writer)
        default: return ["{errorType:'TYPE_MISMATCH', description:'The schema type changed from \(writer.schemaType.rawValue) to \(schemaType.rawValue)'}"]
        }
    }
}

/// Applies a compatibility level: which earlier versions are checked and in which direction.
enum CompatibilityChecker {
    /// Problems of registering `new` after `previous` (oldest first) under `level`; each message names the
    /// version it conflicts with.
    static func problems(
        level: CompatibilityLevel, new: ParsedSchema, previous: [(version: Int, schema: ParsedSchema)]
    ) -> [String] {
        guard level != .none else { return [] }
        let targets = level.isTransitive ? Array(previous.reversed()) : Array(previous.suffix(1))
        var problems: [String] = []
        for old in targets {
            var found: [String] = []
            if level.checksBackward { found += new.problems(readingDataWrittenBy: old.schema) }
            if level.checksForward { found += old.schema.problems(readingDataWrittenBy: new) }
            if !found.isEmpty {
                problems += found
                problems.append("{oldSchemaVersion: \(old.version)}")
                problems.append("{compatibility: '\(level.rawValue)'}")
            }
        }
        return problems
    }
}
