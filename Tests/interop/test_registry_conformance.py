"""Confluent Schema Registry's own compatibility examples (../shared/confluent-schema-registry, read at test time,
never copied into the repository): every case through the REST API of `vltava serve` — `original_schema`
registered (with its references and metadata) under a subject at BACKWARD, then `update_schema` checked against it
with `verbose=true`. Vltava's verdict must be Confluent's, and an incompatible answer must name the difference with
one of Confluent's own difference types (`changes`); a failure names the case's description and those types.

`KNOWN_DISAGREEMENTS` lists the cases whose verdict is still not Confluent's (issue 13): each is expected to
disagree, so that the list only ever shrinks — a case that starts agreeing fails until it is taken off."""

import json
import re
import uuid
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from test_schema_registry import Registry, free_port

EXAMPLES = REPO_ROOT.parent / "shared" / "confluent-schema-registry"
FILES = {
    "protobuf": ("PROTOBUF", "protobuf-provider/diff-schema-examples.json"),
    "json": ("JSON", "json-schema-provider/diff-schema-examples.json"),
    "json-combined": ("JSON", "json-schema-provider/diff-combined-schema-examples.json"),
    "json-2020-12": ("JSON", "json-schema-provider/diff-schema-examples-2020-12.json"),
    "json-combined-2020-12": ("JSON", "json-schema-provider/diff-combined-schema-examples-2020-12.json"),
}

# "file:index" of the cases Vltava does not yet agree on.
KNOWN_DISAGREEMENTS: set = set()


def load_cases():
    cases = []
    for key, (schema_type, path) in FILES.items():
        full = EXAMPLES / path
        if not full.is_file():
            continue
        # The 2020-12 files carry trailing commas, which JSON does not allow.
        text = re.sub(r",(\s*[}\]])", r"\1", full.read_text())
        for index, case in enumerate(json.loads(text)):
            cases.append(pytest.param(key, index, schema_type, case, id=f"{key}:{index}"))
    return cases


CASES = load_cases()


@pytest.fixture(scope="module")
def registry(vltava_bin, tmp_path_factory):
    if not CASES:
        pytest.fail(f"Confluent's examples are missing from {EXAMPLES}", pytrace=False)
    process = Registry(vltava_bin, tmp_path_factory.mktemp("conformance"), free_port()).start()
    yield process
    process.stop()


def schema_text(schema):
    return schema if isinstance(schema, str) else json.dumps(schema)


def register(registry, prefix, schema_type, schema, references, dependencies, metadata):
    """The body registering `schema`: each dependency registered first under the subject its reference names
    (prefixed to keep cases apart; at NONE, so that a case may give the same subject another version), the
    references pointing at the versions they got."""
    texts = {dependency["name"]: dependency["dependency"] for dependency in dependencies or []}
    sent = []
    for reference in references or []:
        dependency_subject = f"{prefix}-{reference['subject']}"
        registry.put(f"/config/{dependency_subject}", {"compatibility": "NONE"})
        body = {"schema": schema_text(texts[reference["name"]]), "schemaType": schema_type}
        answer = registry.post(f"/subjects/{dependency_subject}/versions", body)
        assert answer.status_code == 200, f"dependency {reference['name']}: {answer.status_code} {answer.text}"
        found = registry.post(f"/subjects/{dependency_subject}", body)
        assert found.status_code == 200, f"dependency {reference['name']}: {found.status_code} {found.text}"
        sent.append({"name": reference["name"], "subject": dependency_subject, "version": found.json()["version"]})
    body = {"schema": schema_text(schema), "schemaType": schema_type, "references": sent}
    if metadata:
        body["metadata"] = metadata
    return body


@pytest.mark.parametrize("key, index, schema_type, case", CASES)
def test_confluents_verdict(registry, key, index, schema_type, case):
    subject = f"c-{key}-{index}-{uuid.uuid4().hex[:6]}"
    assert registry.put(f"/config/{subject}", {"compatibility": "BACKWARD"}).status_code == 200
    original = register(registry, subject, schema_type, case["original_schema"], case.get("original_references"),
                        case.get("original_dependencies"), case.get("original_metadata"))
    answer = registry.post(f"/subjects/{subject}/versions", original)
    assert answer.status_code == 200, f"original schema of '{case['description']}' refused: {answer.text}"
    update = register(registry, subject, schema_type, case["update_schema"], case.get("update_references"),
                      case.get("update_dependencies"), case.get("update_metadata"))
    checked = registry.post(f"/compatibility/subjects/{subject}/versions/latest", update, verbose="true")
    if checked.status_code == 200:
        verdict = checked.json()["is_compatible"]
        messages = checked.json().get("messages", [])
    else:
        verdict, messages = None, [checked.text]
    agrees = verdict == case["compatible"]
    description = (f"{key}:{index} '{case['description']}': Confluent says "
                   f"{'compatible' if case['compatible'] else 'incompatible'} ({', '.join(case['changes']) or 'no changes'}), "
                   f"Vltava says {verdict} {messages}")
    if f"{key}:{index}" in KNOWN_DISAGREEMENTS:
        assert not agrees, f"now agrees, take it off KNOWN_DISAGREEMENTS: {description}"
        return
    assert agrees, description
    if not case["compatible"]:
        # The messages name the difference with one of Confluent's own difference types.
        ours = set(re.findall(r"errorType:'([A-Z_]+)'", " ".join(messages)))
        theirs = {change.split(" ")[0] for change in case["changes"]}
        assert ours & theirs, f"none of Confluent's names in the messages: {description}"
