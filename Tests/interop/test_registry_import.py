"""`vltava schemas import`: a `_schemas` topic as Confluent's registry writes it (its record format byte for byte:
keys with keytype and magic, values with md5, schemaType, references, metadata, deleted versions, configs, NOOP
records and tombstones) copied into a fresh registry through IMPORT mode, every id and version kept."""

import json
import subprocess
import uuid

import pytest
import requests
from confluent_kafka import Producer

from test_schema_registry import Registry, free_port

COMMON = 'syntax = "proto3";\npackage shop;\nmessage Money {\n  int64 units = 1;\n  string currency = 2;\n}\n'
ORDER = 'syntax = "proto3";\npackage shop;\nimport "money.proto";\nmessage Order {\n  string id = 1;\n  shop.Money total = 2;\n}\n'
READING = json.dumps({"type": "record", "name": "Reading", "fields": [{"name": "v", "type": "double"}]})
READING_2 = json.dumps({"type": "record", "name": "Reading", "fields": [
    {"name": "v", "type": "double"}, {"name": "unit", "type": ["null", "string"], "default": None}]})


def key(keytype, subject=None, version=None):
    if keytype == "SCHEMA":
        return json.dumps({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}, separators=(",", ":"))
    if keytype == "NOOP":
        return json.dumps({"keytype": "NOOP", "magic": 0}, separators=(",", ":"))
    return json.dumps({"keytype": keytype, "subject": subject, "magic": 0}, separators=(",", ":"))


def schema_value(subject, version, schema_id, schema, schema_type=None, references=None, metadata=None, deleted=False):
    value = {"subject": subject, "version": version, "id": schema_id, "md5": "00112233445566778899aabbccddeeff"}
    if schema_type:
        value["schemaType"] = schema_type
    if references:
        value["references"] = references
    if metadata:
        value["metadata"] = metadata
    value["schema"] = schema
    value["deleted"] = deleted
    return json.dumps(value, separators=(",", ":"))


@pytest.fixture
def registry(vltava_bin, tmp_path):
    process = Registry(vltava_bin, tmp_path / "data", free_port()).start()
    yield process
    process.stop()


def test_a_confluent_schemas_topic_is_imported_with_its_ids(registry, vltava_bin):
    topic = f"_confluent_schemas_{uuid.uuid4().hex[:6]}"
    records = [
        (key("NOOP"), None),
        (key("CONFIG"), json.dumps({"compatibilityLevel": "FULL"})),
        # Ids as another registry gave them: not from 1, with gaps, one shared by two subjects.
        (key("SCHEMA", "money.proto", 1), schema_value("money.proto", 1, 101, COMMON, "PROTOBUF")),
        (key("SCHEMA", "orders-value", 1), schema_value(
            "orders-value", 1, 105, ORDER, "PROTOBUF", references=[{"name": "money.proto", "subject": "money.proto", "version": 1}])),
        (key("SCHEMA", "readings-value", 1), schema_value("readings-value", 1, 230, READING,
                                                          metadata={"properties": {"owner": "lab"}})),
        (key("SCHEMA", "readings-value", 2), schema_value("readings-value", 2, 231, READING_2,
                                                          metadata={"properties": {"owner": "lab"}})),
        (key("SCHEMA", "copy-value", 1), schema_value("copy-value", 1, 230, READING, metadata={"properties": {"owner": "lab"}})),
        (key("SCHEMA", "gone-value", 1), schema_value("gone-value", 1, 300, json.dumps("string"), deleted=True)),
        (key("CONFIG", "readings-value"), json.dumps({"compatibilityLevel": "BACKWARD_TRANSITIVE", "compatibilityGroup": "major"})),
        (key("SCHEMA", "temp-value", 1), schema_value("temp-value", 1, 400, json.dumps("int"))),
        (key("SCHEMA", "temp-value", 1), None),  # a permanent delete: a tombstone
    ]
    producer = Producer({"bootstrap.servers": registry.broker.bootstrap})
    for record_key, value in records:
        producer.produce(topic, key=record_key.encode(), value=value.encode() if value is not None else None, partition=0)
    assert producer.flush(20) == 0

    result = subprocess.run([str(vltava_bin), "schemas", "import", "--bootstrap-server", registry.broker.bootstrap,
                             "--topic", topic, "--registry-url", registry.url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "imported 5 versions of 4 subjects" in result.stdout and "1 soft-deleted" in result.stdout, result.stdout

    assert registry.get("/subjects").json() == ["copy-value", "money.proto", "orders-value", "readings-value"]
    for subject, version, schema_id in [("money.proto", 1, 101), ("orders-value", 1, 105), ("readings-value", 1, 230),
                                        ("readings-value", 2, 231), ("copy-value", 1, 230)]:
        answer = registry.get(f"/subjects/{subject}/versions/{version}").json()
        assert answer["id"] == schema_id, (subject, version, answer)
    assert registry.get("/schemas/ids/105").json()["references"] == [{"name": "money.proto", "subject": "money.proto", "version": 1}]
    assert registry.get("/schemas/ids/230").json()["metadata"] == {"properties": {"owner": "lab"}}
    assert sorted(registry.get("/schemas/ids/230/subjects").json()) == ["copy-value", "readings-value"]
    assert registry.get("/config").json()["compatibilityLevel"] == "FULL"
    config = registry.get("/config/readings-value").json()
    assert config["compatibilityLevel"] == "BACKWARD_TRANSITIVE" and config["compatibilityGroup"] == "major"
    assert registry.get("/mode").json() == {"mode": "READWRITE"}
    # New registrations go on after the highest imported id.
    fresh = registry.post("/subjects/new-value/versions", {"schema": json.dumps("long")}).json()["id"]
    assert fresh > 231

    # A second import into a registry that now holds schemas is refused plainly unless forced.
    again = subprocess.run([str(vltava_bin), "schemas", "import", "--bootstrap-server", registry.broker.bootstrap,
                            "--topic", topic, "--registry-url", registry.url], capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "Cannot import since found existing subjects" in again.stderr, again.stderr
    assert registry.get("/mode").json() == {"mode": "READWRITE"}


def test_contexts_count_ids_apart_and_an_import_can_go_into_one(registry, vltava_bin):
    """Schema contexts (`:.ctx:subject`): each context has ids of its own; `vltava schemas import --context`
    copies another registry's topic beside the schemas already there, ids kept."""
    first = registry.post("/subjects/orders-value/versions", {"schema": json.dumps("int")}).json()["id"]
    staged = registry.post("/subjects/:.staging:orders-value/versions", {"schema": json.dumps("string")}).json()["id"]
    assert first == staged == 1, "the first id of each context"
    assert registry.get("/contexts").json() == [".", ".staging"]
    assert registry.get("/schemas/ids/1").json()["schema"] == '"int"'
    assert registry.get("/schemas/ids/1", subject=":.staging:orders-value").json()["schema"] == '"string"'
    assert registry.get("/schemas/ids/1/subjects", subject=":.staging:x").json() == [":.staging:orders-value"]
    assert registry.get("/subjects/%3A.staging%3Aorders-value/versions/1").json()["id"] == 1
    assert ":.staging:orders-value" in registry.get("/subjects").json()
    assert registry.get("/subjects", subjectPrefix=":.staging:").json() == [":.staging:orders-value"]

    topic = f"_other_schemas_{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": registry.broker.bootstrap})
    for record_key, value in [
        (key("SCHEMA", "money.proto", 1), schema_value("money.proto", 1, 1, COMMON, "PROTOBUF")),
        (key("SCHEMA", "orders-value", 1), schema_value(
            "orders-value", 1, 2, ORDER, "PROTOBUF", references=[{"name": "money.proto", "subject": "money.proto", "version": 1}])),
        (key("CONFIG", "orders-value"), json.dumps({"compatibilityLevel": "FULL"})),
    ]:
        producer.produce(topic, key=record_key.encode(), value=value.encode(), partition=0)
    assert producer.flush(20) == 0
    result = subprocess.run([str(vltava_bin), "schemas", "import", "--bootstrap-server", registry.broker.bootstrap,
                             "--topic", topic, "--registry-url", registry.url, "--context", ".other", "--force"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # Ids 1 and 2 of the imported registry, beside id 1 of the default context and of .staging.
    order = registry.get("/subjects/:.other:orders-value/versions/1").json()
    assert order["id"] == 2 and order["references"] == [{"name": "money.proto", "subject": ":.other:money.proto", "version": 1}]
    assert registry.get("/schemas/ids/1", subject=":.other:money.proto").json()["schemaType"] == "PROTOBUF"
    assert registry.get("/schemas/ids/1").json()["schema"] == '"int"'
    assert registry.get("/config/:.other:orders-value").json()["compatibilityLevel"] == "FULL"
    assert registry.get("/contexts").json() == [".", ".other", ".staging"]
    bad = subprocess.run([str(vltava_bin), "schemas", "import", "--bootstrap-server", registry.broker.bootstrap,
                          "--topic", topic, "--registry-url", registry.url, "--context", "other"], capture_output=True, text=True)
    assert bad.returncode != 0 and "--context" in bad.stderr


def test_a_client_pointed_at_a_context_url_works_in_that_context(registry):
    """confluent-kafka's serializer with the registry URL `.../contexts/.team`: it registers and reads in `.team`."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    schema = json.dumps({"type": "record", "name": "Team", "fields": [{"name": "n", "type": "string"}]})
    registry.post("/subjects/t-value/versions", {"schema": json.dumps("int")})  # id 1 of the default context
    client = SchemaRegistryClient({"url": registry.url + "/contexts/.team"})
    context = SerializationContext("t", MessageField.VALUE)
    data = AvroSerializer(client, schema)({"n": "x"}, context)
    assert int.from_bytes(data[1:5], "big") == 1, "id 1 of .team"
    assert registry.get("/subjects/:.team:t-value/versions/1").json()["schema"] == schema
    assert AvroDeserializer(SchemaRegistryClient({"url": registry.url + "/contexts/.team"}))(data, context) == {"n": "x"}
    assert registry.get("/contexts/.team/subjects").json() == [":.team:t-value"]
    assert registry.get("/schemas/ids/1").json()["schema"] == '"int"', "the default context keeps its own id 1"


def test_references_name_subjects_of_the_referrers_context(registry):
    """A reference `money.proto` from a schema in `.shop` is `:.shop:money.proto`, as in Confluent's registry —
    what a serializer pointed at a context URL sends when it registers a schema with imports."""
    shop = registry.url + "/contexts/.shop"
    post = lambda path, body: requests.post(shop + path, data=json.dumps(body), timeout=10,
                                            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    dependency = post("/subjects/money.proto/versions", {"schemaType": "PROTOBUF", "schema": COMMON})
    assert dependency.status_code == 200, dependency.text
    order = post("/subjects/orders-value/versions", {"schemaType": "PROTOBUF", "schema": ORDER, "references": [
        {"name": "money.proto", "subject": "money.proto", "version": 1}]})
    assert order.status_code == 200, order.text
    assert registry.get("/subjects/:.shop:money.proto/versions/1/referencedby").json() == [order.json()["id"]]
    assert registry.get("/subjects").json().count(":.shop:orders-value") == 1
    # The same reference from the default context names the default context's subject, which does not exist.
    missing = registry.post("/subjects/orders-value/versions", {"schemaType": "PROTOBUF", "schema": ORDER, "references": [
        {"name": "money.proto", "subject": "money.proto", "version": 1}]})
    assert missing.status_code == 422, missing.text
