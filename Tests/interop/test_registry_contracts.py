"""Data contracts in the registry of `vltava serve` (Confluent's registry 7.4+): metadata and rule sets stored with
a version, served by every read and part of a schema's identity; configs with default and override metadata and
rule sets and a compatibility group; `confluent:reserved` fields; the latest version with given metadata. Then
confluent-kafka's serializers, whose rules run in the client: a CEL condition refusing a bad record on the
producer, `use.latest.with.metadata` picking a major version, and a JSONata migration upgrading old records."""

import json
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from test_schema_registry import Registry, expect_error, free_port

WIDGET_V1 = {"type": "record", "name": "Widget", "fields": [
    {"name": "name", "type": "string"}, {"name": "size", "type": "int"}, {"name": "version", "type": "int"}]}
WIDGET_V2 = {"type": "record", "name": "Widget", "fields": [
    {"name": "name", "type": "string"}, {"name": "height", "type": "int"}, {"name": "version", "type": "int"}]}
MIGRATIONS = {"migrationRules": [
    {"name": "changeSizeToHeight", "kind": "TRANSFORM", "type": "JSONATA", "mode": "UPGRADE",
     "expr": "$merge([$sift($, function($v, $k) {$k != 'size'}), {'height': $.'size'}])"},
    {"name": "changeHeightToSize", "kind": "TRANSFORM", "type": "JSONATA", "mode": "DOWNGRADE",
     "expr": "$merge([$sift($, function($v, $k) {$k != 'height'}), {'size': $.'height'}])"}]}


@pytest.fixture(scope="module")
def registry(vltava_bin, tmp_path_factory):
    process = Registry(vltava_bin, tmp_path_factory.mktemp("contracts"), free_port()).start()
    yield process
    process.stop()


def subject_name():
    return f"contract-{uuid.uuid4().hex[:8]}-value"


def register(registry, subject, schema, **extra):
    body = {"schema": json.dumps(schema), **extra}
    answer = registry.post(f"/subjects/{subject}/versions", body)
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def test_metadata_and_rules_are_stored_served_and_part_of_the_identity(registry):
    subject = subject_name()
    metadata = {"tags": {"Widget.name": ["PII"]}, "properties": {"owner": "team-a", "major_version": "1"},
                "sensitive": ["secret"]}
    rules = {"domainRules": [{"name": "nameNotEmpty", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
                              "expr": "message.name != ''", "onFailure": "ERROR"}]}
    first = register(registry, subject, WIDGET_V1, metadata=metadata, ruleSet=rules)
    version = registry.get(f"/subjects/{subject}/versions/1").json()
    assert version["metadata"] == metadata and version["ruleSet"] == rules
    by_id = registry.get(f"/schemas/ids/{first}").json()
    assert by_id["metadata"] == metadata and by_id["ruleSet"] == rules
    # The same schema again without metadata or rules: it keeps the latest version's, so it is that version.
    assert register(registry, subject, WIDGET_V1) == first
    assert registry.get(f"/subjects/{subject}/versions").json() == [1]
    # Other metadata: another schema, under another id, as a new version.
    changed = dict(metadata, properties={"owner": "team-b", "major_version": "1"})
    second = register(registry, subject, WIDGET_V1, metadata=changed)
    assert second != first
    assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]
    assert registry.get(f"/subjects/{subject}/versions/2").json()["ruleSet"] == rules, "the rules were inherited"
    # Lookups: without metadata the latest equal schema; with metadata only the version that has it.
    assert registry.post(f"/subjects/{subject}", {"schema": json.dumps(WIDGET_V1)}).json()["version"] == 2
    assert registry.post(f"/subjects/{subject}", {"schema": json.dumps(WIDGET_V1), "metadata": metadata}).json()["version"] == 1
    expect_error(registry.post(f"/subjects/{subject}", {"schema": json.dumps(WIDGET_V1),
                                                        "metadata": {"properties": {"owner": "nobody"}}}), 40403)
    # The latest version with given metadata properties.
    found = registry.get(f"/subjects/{subject}/metadata", key="owner", value="team-a").json()
    assert found["version"] == 1 and found["metadata"] == metadata
    assert registry.get(f"/subjects/{subject}/metadata", key="major_version", value="1").json()["version"] == 2
    expect_error(registry.get(f"/subjects/{subject}/metadata", key="owner", value="team-z"), 40403)
    # Kept across a restart.
    registry.restart()
    assert registry.get(f"/subjects/{subject}/versions/1").json()["metadata"] == metadata
    assert registry.get(f"/schemas/ids/{second}").json()["metadata"]["properties"]["owner"] == "team-b"


def test_bad_metadata_and_rule_sets_are_refused(registry):
    subject = subject_name()
    body = {"schema": json.dumps(WIDGET_V1)}
    expect_error(registry.post(f"/subjects/{subject}/versions", dict(body, metadata={"properties": {"a": 1}})), 42201)
    expect_error(registry.post(f"/subjects/{subject}/versions", dict(body, ruleSet={"domainRules": [{"type": "CEL"}]})), 42212)
    duplicate = {"domainRules": [{"name": "r", "type": "CEL", "mode": "WRITE"}, {"name": "r", "type": "CEL", "mode": "READ"}]}
    expect_error(registry.post(f"/subjects/{subject}/versions", dict(body, ruleSet=duplicate)), 42212)
    wrong_mode = {"migrationRules": [{"name": "m", "type": "JSONATA", "mode": "WRITE"}]}
    expect_error(registry.post(f"/subjects/{subject}/versions", dict(body, ruleSet=wrong_mode)), 42212)
    expect_error(registry.put(f"/config/{subject}", {"defaultRuleSet": {"domainRules": [{"name": "x"}]}}), 42212)


def test_config_defaults_overrides_and_compatibility_groups(registry):
    subject = subject_name()
    config = {"compatibility": "BACKWARD", "compatibilityGroup": "major_version",
              "defaultMetadata": {"properties": {"owner": "platform", "major_version": "1"}},
              "overrideMetadata": {"properties": {"domain": "shop"}},
              "defaultRuleSet": {"domainRules": [{"name": "d", "kind": "CONDITION", "type": "CEL", "mode": "WRITE", "expr": "true"}]}}
    assert registry.put(f"/config/{subject}", config).status_code == 200
    got = registry.get(f"/config/{subject}").json()
    assert got["compatibilityLevel"] == "BACKWARD" and got["compatibilityGroup"] == "major_version"
    assert got["defaultMetadata"] == config["defaultMetadata"] and got["overrideMetadata"] == config["overrideMetadata"]
    # A later PUT of the level alone keeps the rest.
    registry.put(f"/config/{subject}", {"compatibility": "BACKWARD"})
    assert registry.get(f"/config/{subject}").json()["compatibilityGroup"] == "major_version"

    register(registry, subject, WIDGET_V1, metadata={"properties": {"major_version": "1"}})
    stored = registry.get(f"/subjects/{subject}/versions/1").json()
    # Defaults under the version's own metadata, overrides over it; the default rule set taken.
    assert stored["metadata"]["properties"] == {"owner": "platform", "major_version": "1", "domain": "shop"}
    assert stored["ruleSet"]["domainRules"][0]["name"] == "d"
    # WIDGET_V2 renames a field without a default: incompatible within major version 1 ...
    answer = registry.post(f"/subjects/{subject}/versions", {"schema": json.dumps(WIDGET_V2),
                                                             "metadata": {"properties": {"major_version": "1"}}})
    assert answer.status_code == 409, answer.text
    # ... but a new major version starts a group of its own.
    register(registry, subject, WIDGET_V2, metadata={"properties": {"major_version": "2"}})
    assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]
    checked = registry.post(f"/compatibility/subjects/{subject}/versions/latest",
                            {"schema": json.dumps(WIDGET_V1), "metadata": {"properties": {"major_version": "2"}}},
                            verbose="true").json()
    assert checked["is_compatible"] is False


def test_reserved_fields(registry):
    subject = subject_name()
    registry.put(f"/config/{subject}", {"compatibility": "BACKWARD"})
    reserved = {"properties": {"confluent:reserved": "cost,status"}}
    register(registry, subject, WIDGET_V1, metadata=reserved)
    with_cost = dict(WIDGET_V1, fields=WIDGET_V1["fields"] + [{"name": "cost", "type": "int", "default": 0}])
    answer = registry.post(f"/subjects/{subject}/versions", {"schema": json.dumps(with_cost), "metadata": reserved})
    assert answer.status_code == 409 and "FIELD_CONFLICTS_WITH_RESERVED_FIELD" in answer.text, answer.text
    answer = registry.post(f"/subjects/{subject}/versions", {"schema": json.dumps(WIDGET_V1),
                                                             "metadata": {"properties": {"confluent:reserved": "cost"}}})
    assert answer.status_code == 409 and "RESERVED_FIELD_REMOVED" in answer.text, answer.text
    more = {"properties": {"confluent:reserved": "cost,status,price"}}
    register(registry, subject, WIDGET_V1, metadata=more)
    assert registry.get(f"/subjects/{subject}/versions").json() == [1, 2]


def test_client_rules_and_versions_picked_by_metadata(registry, tmp_path):
    """confluent-kafka's serializers with the rules Vltava stores: a CEL condition on the producer, a JSONata
    upgrade on the consumer, versions chosen with use.latest.with.metadata."""
    from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
    from confluent_kafka.schema_registry.rules.jsonata.jsonata_executor import JsonataExecutor
    from confluent_kafka.serialization import SerializationError

    CelExecutor.register()
    JsonataExecutor.register()
    topic = f"widgets-{uuid.uuid4().hex[:8]}"
    subject = f"{topic}-value"
    registry.put(f"/config/{subject}", {"compatibility": "BACKWARD", "compatibilityGroup": "major_version"})
    condition = {"domainRules": [{"name": "sizePositive", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
                                  "expr": "message.size > 0", "onFailure": "ERROR"}]}
    register(registry, subject, WIDGET_V1, metadata={"properties": {"major_version": "1"}}, ruleSet=condition)
    register(registry, subject, WIDGET_V2, metadata={"properties": {"major_version": "2"}}, ruleSet=MIGRATIONS)

    client = SchemaRegistryClient({"url": registry.url})
    serializer = AvroSerializer(client, None, conf={"auto.register.schemas": False,
                                                    "use.latest.with.metadata": {"major_version": "1"}})
    context = SerializationContext(topic, MessageField.VALUE)
    with pytest.raises(SerializationError):
        serializer({"name": "bad", "size": 0, "version": 1}, context)
    good = serializer({"name": "w", "size": 7, "version": 1}, context)
    broker = registry.broker
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic, value=good)
    assert producer.flush(20) == 0

    deserializer = AvroDeserializer(client, conf={"use.latest.with.metadata": {"major_version": "2"}})
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    try:
        consumer.subscribe([topic])
        message = None
        for _ in range(200):
            message = consumer.poll(0.1)
            if message is not None and not message.error():
                break
        assert message is not None and not message.error()
        upgraded = deserializer(message.value(), context)
        assert upgraded == {"name": "w", "height": 7, "version": 1}, upgraded
    finally:
        consumer.close()
