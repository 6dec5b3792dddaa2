/// A `.proto` file as a reader of protobuf-encoded records needs it: the package, the imports, and the messages and
/// enums in declaration order (the order Confluent's message indexes count in). Types are as written in the text;
/// resolving them is the reader's concern. Made by the registry's own parser, with its checks.
public struct ProtobufFileDescription: Sendable, Hashable {
    /// One field of a message.
    public struct Field: Sendable, Hashable {
        /// `optional`, `required`, `repeated`, or empty.
        public var label: String
        /// The type as written: a scalar (`int32`), a message or enum name (`Inner`, `.pkg.Inner`), or `map<K, V>`.
        public var type: String
        public var name: String
        public var number: Int
        /// The text between the field's `[` and `]`, empty when it has none.
        public var options: String
        /// The oneof the field belongs to, if any.
        public var oneof: String?
    }

    /// An enum, its values in declaration order.
    public struct EnumType: Sendable, Hashable {
        public var name: String
        public var values: [EnumValue]
    }

    /// One value of an enum.
    public struct EnumValue: Sendable, Hashable {
        public var name: String
        public var number: Int
    }

    /// A message with its nested types.
    public struct Message: Sendable, Hashable {
        public var name: String
        /// The fields in declaration order.
        public var fields: [Field]
        public var messages: [Message]
        public var enums: [EnumType]
        /// `option` statements as written (`map_entry = true`).
        public var options: [String]
    }

    /// `proto2`, `proto3`, or an edition.
    public var syntax: String
    public var package: String?
    public var imports: [String]
    public var messages: [Message]
    public var enums: [EnumType]

    /// Parses `.proto` text with the registry's parser and its checks that need no imports.
    public static func parse(_ text: String) throws(RegistryError) -> ProtobufFileDescription {
        let schema = try ProtobufSchema.parse(text)
        return ProtobufFileDescription(syntax: schema.syntax, package: schema.package, imports: schema.imports,
                                       messages: schema.messages.map(Self.message), enums: schema.enums.map(Self.enumType))
    }

    private static func message(_ message: ProtobufSchema.Message) -> Message {
        Message(name: message.name,
                fields: message.fields.map {
                    Field(label: $0.label, type: $0.type, name: $0.name, number: $0.number, options: $0.options, oneof: $0.oneof)
                },
                messages: message.messages.map(Self.message), enums: message.enums.map(Self.enumType), options: message.options)
    }

    private static func enumType(_ enumType: ProtobufSchema.EnumType) -> EnumType {
        EnumType(name: enumType.name, values: enumType.values.map { EnumValue(name: $0.name, number: $0.number) })
    }
}
