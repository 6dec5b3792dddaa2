#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import SchemaRegistry

/// JSON Schema `$ref` resolution (local, anchors, referenced schemas), recursion and hostile cycles, combined
/// criteria, pattern properties, dependencies, tuples and later drafts' keywords.
@Suite("JSON Schema references and combined criteria")
struct JSONSchemaReferenceTests {
    private func parse(_ text: String, references: [(String, String)] = []) throws -> JSONSchemaDocument {
        let referenced = try references.map { try ParsedSchema.parse(.json, $0.1) }
        guard case let .json(document) = try ParsedSchema.parse(.json, text, referenced: referenced, referenceNames: references.map(\.0))
        else { throw RegistryError.invalidSchema("not JSON") }
        return document
    }

    private func problems(_ reader: String, _ writer: String, references: [(String, String)] = [],
                          writerReferences: [(String, String)]? = nil) throws -> [String] {
        JSONSchemaDocument.problems(
            reader: try parse(reader, references: references), writer: try parse(writer, references: writerReferences ?? references))
    }

    private func compatible(_ reader: String, _ writer: String) throws -> Bool { try problems(reader, writer).isEmpty }

    @Test func localReferencesAreFollowed() throws {
        let writer = ##"{"definitions":{"id":{"type":"integer"}},"type":"object","properties":{"id":{"$ref":"#/definitions/id"}}}"##
        let widened = ##"{"$defs":{"id":{"type":"number"}},"type":"object","properties":{"id":{"$ref":"#/$defs/id"}}}"##
        let changed = ##"{"$defs":{"id":{"type":"string"}},"type":"object","properties":{"id":{"$ref":"#/$defs/id"}}}"##
        #expect(try compatible(widened, writer))
        #expect(try !compatible(changed, writer))
        #expect(try !compatible(writer, widened))
        // Inline and referenced forms of one schema are the same content model.
        #expect(try compatible(##"{"type":"object","properties":{"id":{"type":"integer"}}}"##, writer))
    }

    @Test func anchorsPointersAndSiblingKeywords() throws {
        let anchored = ##"{"$defs":{"a":{"$anchor":"name","type":"string"}},"properties":{"n":{"$ref":"#name"}}}"##
        let escaped = ##"{"$defs":{"a/b":{"type":"string"}},"properties":{"n":{"$ref":"#/$defs/a~1b"}}}"##
        #expect(try compatible(anchored, escaped))
        #expect(try compatible(escaped, anchored))
        // draft 2019+: keywords beside $ref apply too.
        let bounded = ##"{"$defs":{"a":{"type":"string"}},"properties":{"n":{"$ref":"#/$defs/a","maxLength":3}}}"##
        #expect(try !compatible(bounded, escaped))
        #expect(try compatible(escaped, bounded))
    }

    @Test(arguments: [
        ##"{"$ref":"#/definitions/missing"}"##,
        ##"{"$ref":"#missingAnchor"}"##,
        ##"{"properties":{"a":{"$ref":"#/properties/b"}}}"##,
        ##"{"$ref":"#"}"##,
        ##"{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"}"##,
        ##"{"dependentRequired":{"a":"b"}}"##,
        ##"{"dependencies":{"a":[1]}}"##,
        ##"{"multipleOf":0}"##,
        ##"{"minContains":-1}"##,
    ])
    func invalidReferencesAndKeywords(_ text: String) {
        #expect(throws: RegistryError.self) { try JSONSchemaDocument.parse(text) }
    }

    @Test func referencesToOtherSchemasByName() throws {
        let address = ##"{"type":"object","properties":{"street":{"type":"string"}},"definitions":{"zip":{"type":"string"}}}"##
        let addressV2 = ##"{"type":"object","properties":{"street":{"type":"integer"}},"definitions":{"zip":{"type":"string"}}}"##
        let person = ##"{"type":"object","properties":{"home":{"$ref":"address.json"},"zip":{"$ref":"address.json#/definitions/zip"}}}"##
        let document = try parse(person, references: [("address.json", address)])
        #expect(document.references["address.json"] != nil)
        #expect(try problems(person, person, references: [("address.json", address)]).isEmpty)
        // A new version of the referenced schema changes the content model seen through the reference.
        let changed = try problems(person, person, references: [("address.json", addressV2)], writerReferences: [("address.json", address)])
        #expect(changed.contains { $0.contains("/properties/home/properties/street") })
        // A pointer into a referenced schema must exist.
        #expect(throws: RegistryError.self) {
            try parse(##"{"$ref":"address.json#/definitions/nothing"}"##, references: [("address.json", address)])
        }
        // A referenced schema's own references are resolved in it.
        let wrapper = ##"{"properties":{"person":{"$ref":"person.json"}}}"##
        let personDocument = try JSONSchemaDocument.parse(person, references: ["address.json": try JSONSchemaDocument.parse(address)])
        let wrapperDocument = try JSONSchemaDocument.parse(wrapper, references: ["person.json": personDocument])
        #expect(JSONSchemaDocument.problems(reader: wrapperDocument, writer: wrapperDocument).isEmpty)
    }

    @Test func recursiveSchemasCompareWithoutHanging() throws {
        let list = ##"{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"next":{"$ref":"#/$defs/node"}}}},"$ref":"#/$defs/node"}"##
        let widened = list.replacingOccurrences(of: ##""type":"integer""##, with: ##""type":"number""##)
        #expect(try compatible(list, list))
        #expect(try compatible(widened, list))
        #expect(try !compatible(list, widened))
        let tree = ##"{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#"}},"name":{"type":"string"}}}"##
        #expect(try compatible(tree, tree))
    }

    @Test func hostileReferenceFanOutIsBounded() throws {
        // Each definition refers to the next twice: expanding would cost 2^60 steps.
        var definitions: [String] = []
        for index in 0..<60 {
            definitions.append(##""d\##(index)":{"type":"object","properties":{"a":{"$ref":"#/$defs/d\##(index + 1)"},"b":{"$ref":"#/$defs/d\##(index + 1)"}}}"##)
        }
        definitions.append(##""d60":{"type":"string"}"##)
        let schema = ##"{"$defs":{\##(definitions.joined(separator: ","))},"$ref":"#/$defs/d0"}"##
        let changed = schema.replacingOccurrences(of: ##""d60":{"type":"string"}"##, with: ##""d60":{"type":"integer"}"##)
        let start = ContinuousClock.now
        #expect(try compatible(schema, schema))
        #expect(try !compatible(changed, schema))
        // Unique properties everywhere: the work bound ends the comparison.
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    @Test func combinedCriteria() throws {
        let stringOrInt = ##"{"oneOf":[{"type":"string"},{"type":"integer"}]}"##
        let stringIntOrNull = ##"{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}"##
        #expect(try compatible(stringIntOrNull, stringOrInt), "oneOf extended")
        #expect(try !compatible(stringOrInt, stringIntOrNull), "oneOf narrowed")
        #expect(try compatible(stringIntOrNull.replacingOccurrences(of: "oneOf", with: "anyOf"), stringOrInt.replacingOccurrences(of: "oneOf", with: "anyOf")))
        #expect(try !compatible(stringOrInt.replacingOccurrences(of: "oneOf", with: "anyOf"), stringIntOrNull.replacingOccurrences(of: "oneOf", with: "anyOf")))
        #expect(try compatible(stringOrInt.replacingOccurrences(of: "oneOf", with: "anyOf"), stringOrInt), "oneOf to anyOf")
        #expect(try !compatible(stringOrInt, stringOrInt.replacingOccurrences(of: "oneOf", with: "anyOf")), "anyOf to oneOf")
        #expect(try !compatible(##"{"oneOf":[{"type":"string"},{"type":"boolean"}]}"##, stringOrInt), "subschema changed")
        #expect(try compatible(##"{"oneOf":[{"type":"number"},{"type":"string"}]}"##, stringOrInt), "matched in another order, widened")
        let allOfTwo = ##"{"allOf":[{"type":"object"},{"required":["a"]}]}"##
        let allOfOne = ##"{"allOf":[{"type":"object"}]}"##
        #expect(try !compatible(allOfTwo, allOfOne), "allOf extended")
        #expect(try compatible(allOfOne, allOfTwo), "allOf narrowed")
        #expect(try compatible(stringOrInt, ##"{"type":"string"}"##), "a schema made one alternative")
        #expect(try !compatible(##"{"type":"string"}"##, stringOrInt), "an alternative dropped")
        #expect(try compatible(##"{"type":["string","integer"]}"##, stringOrInt), "alternatives read by a union type")
        #expect(try compatible(##"{"anyOf":[{"$ref":"#/$defs/s"},{"type":"integer"}],"$defs":{"s":{"type":"string"}}}"##, stringOrInt.replacingOccurrences(of: "oneOf", with: "anyOf")))
    }

    @Test func patternProperties() throws {
        let writer = ##"{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}"##
        #expect(try compatible(writer, writer))
        #expect(try !compatible(##"{"type":"object","patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false}"##, writer))
        #expect(try !compatible(##"{"type":"object","additionalProperties":false}"##, writer), "pattern removed from a closed model")
        #expect(try compatible(##"{"type":"object"}"##, writer), "pattern removed from an open model")
        #expect(try !compatible(##"{"type":"object","patternProperties":{"^y-":{"type":"string"}}}"##, ##"{"type":"object"}"##),
                "pattern added to an open model")
        // A named property of the writer is read through the reader's matching pattern.
        let named = ##"{"type":"object","properties":{"x-id":{"type":"integer"}},"additionalProperties":false}"##
        #expect(try !compatible(writer, named))
        #expect(try compatible(##"{"type":"object","patternProperties":{"^x-":{"type":"number"}},"additionalProperties":false}"##, named))
        // A pattern prone to catastrophic backtracking matches nothing instead of running for ever.
        let risky = ##"{"type":"object","patternProperties":{"^(a+)+$":{"type":"string"}},"additionalProperties":false}"##
        let longName = ##"{"type":"object","properties":{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab":{"type":"string"}},"additionalProperties":false}"##
        #expect(try !compatible(risky, longName))
    }

    @Test func dependencies() throws {
        let base = ##"{"type":"object","properties":{"card":{"type":"string"},"billing":{"type":"string"},"cvv":{"type":"string"}}}"##
        func with(_ keyword: String, _ value: String) -> String { String(base.dropLast()) + ##","\##(keyword)":\##(value)}"## }
        let one = with("dependencies", ##"{"card":["billing"]}"##)
        let two = with("dependencies", ##"{"card":["billing","cvv"]}"##)
        #expect(try !compatible(one, base), "dependency added")
        #expect(try compatible(base, one), "dependency removed")
        #expect(try !compatible(two, one), "dependency extended")
        #expect(try compatible(one, two), "dependency narrowed")
        #expect(try compatible(with("dependentRequired", ##"{"card":["billing"]}"##), one), "draft 2019 spelling")
        let schemaDependency = with("dependentSchemas", ##"{"card":{"properties":{"cvv":{"maxLength":4}}}}"##)
        #expect(try !compatible(schemaDependency, base), "dependency schema added")
        #expect(try compatible(base, schemaDependency))
        #expect(try !compatible(with("dependentSchemas", ##"{"card":{"properties":{"cvv":{"maxLength":3}}}}"##), schemaDependency))
    }

    @Test func tuplesConstAndMultipleOf() throws {
        let pair = ##"{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}"##
        #expect(try compatible(##"{"type":"array","prefixItems":[{"type":"string"},{"type":"number"}],"items":false}"##, pair))
        #expect(try !compatible(##"{"type":"array","prefixItems":[{"type":"string"},{"type":"string"}],"items":false}"##, pair))
        #expect(try compatible(##"{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"},{"type":"string"}]}"##, pair),
                "item added where the writer wrote none")
        #expect(try !compatible(##"{"type":"array","prefixItems":[{"type":"string"}],"items":false}"##, pair), "item removed from a closed tuple")
        let draft7 = ##"{"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}"##
        #expect(try compatible(pair, draft7))
        #expect(try compatible(##"{"const":"a"}"##, ##"{"const":"a"}"##))
        #expect(try !compatible(##"{"const":"a"}"##, ##"{"const":"b"}"##))
        #expect(try compatible(##"{"enum":["a","b"]}"##, ##"{"const":"a"}"##))
        #expect(try compatible(##"{"type":"integer","multipleOf":2}"##, ##"{"type":"integer","multipleOf":4}"##))
        #expect(try !compatible(##"{"type":"integer","multipleOf":4}"##, ##"{"type":"integer","multipleOf":2}"##))
    }

    @Test func unevaluatedPropertiesFalseClosesTheModel() throws {
        let closed = ##"{"type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":false}"##
        let open = ##"{"type":"object","properties":{"a":{"type":"string"}}}"##
        #expect(try !compatible(closed, open))
        #expect(try compatible(open, closed))
    }
}
