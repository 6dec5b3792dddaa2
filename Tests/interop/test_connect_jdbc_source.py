"""Confluent's JDBC source (`io.confluent.connect.jdbc.JdbcSourceConnector`) in `vltava serve`, reading a real
PostgreSQL: incrementing, timestamp (with late-arriving rows held back by timestamp.delay.interval.ms),
timestamp+incrementing (updates seen again), bulk, a custom query, several tables over tasks, a restart that resumes
exactly from the stored offsets, and the mapping of PostgreSQL's types read back by confluent-kafka with JsonConverter
(schemas on) and with the AvroConverter through the registry."""

import base64
import json
import time

import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from conftest import BrokerProcess, free_port
from postgres_support import database, postgres  # noqa: F401 (module_connect: a fixture)
from test_connect import ConnectServe, create_running as create, module_connect, task_state, wait_until  # noqa: F401 (module_connect: a fixture)

SOURCE = "io.confluent.connect.jdbc.JdbcSourceConnector"
JSON = "org.apache.kafka.connect.json.JsonConverter"


@pytest.fixture(scope="module")
def worker(module_connect):
    return module_connect


def source_config(postgres, db, **extra):
    config = {"connector.class": SOURCE, "connection.url": postgres.jdbc_url(db), "connection.user": "postgres",
              "connection.password": postgres.password, "value.converter": JSON, "poll.interval.ms": "200",
              "batch.max.rows": "50"}
    config.update({k.replace("_", "."): v for k, v in extra.items()})
    return config





def sql(postgres, db, *statements):
    postgres.execute(db, *statements)


class Reader:
    """Reads a topic from the start with confluent-kafka, JSON envelopes decoded."""

    def __init__(self, bootstrap, topic):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{topic}-{time.time()}",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.consumer.subscribe([topic])
        self.messages = []

    def until(self, count, timeout=30):
        deadline = time.time() + timeout
        while len(self.messages) < count and time.time() < deadline:
            message = self.consumer.poll(0.2)
            if message is not None and message.error() is None:
                self.messages.append(message)
        assert len(self.messages) >= count, f"read {len(self.messages)} of {count}"
        return [json.loads(m.value()) for m in self.messages]

    def quiet(self, seconds=1.5):
        deadline = time.time() + seconds
        while time.time() < deadline:
            message = self.consumer.poll(0.2)
            if message is not None and message.error() is None:
                self.messages.append(message)
        return [json.loads(m.value()) for m in self.messages]

    def close(self):
        self.consumer.close()


def test_incrementing_mode_resumes_exactly_after_a_restart(vltava_bin, tmp_path, postgres, database):
    sql(postgres, database, "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL, qty int)",
        "INSERT INTO orders (item, qty) SELECT 'item-' || g, g FROM generate_series(1, 120) g")
    worker = ConnectServe(vltava_bin, tmp_path / "data").start()
    try:
        create(worker, "orders", source_config(postgres, database, mode="incrementing", topic_prefix="pg-",
                                               table_whitelist="orders", offset_flush_interval_ms="100"))
        reader = Reader(worker.broker.bootstrap, "pg-orders")
        values = reader.until(120)
        assert [v["payload"]["id"] for v in values] == list(range(1, 121))
        assert values[0]["schema"] == {"type": "struct", "optional": False, "name": "orders", "fields": [
            {"type": "int32", "optional": False, "field": "id"}, {"type": "string", "optional": False, "field": "item"},
            {"type": "int32", "optional": True, "field": "qty"}]}
        time.sleep(1.5)  # the worker flushes source offsets every offset.flush.interval.ms
        worker.stop()
        sql(postgres, database, "INSERT INTO orders (item, qty) SELECT 'late-' || g, g FROM generate_series(1, 30) g")
        worker.broker.start()
        wait_until(lambda: worker.healthy(), 30, "Connect did not come back")
        values = reader.until(150)
        assert [v["payload"]["id"] for v in values] == list(range(1, 151)), "a restart must neither skip nor repeat"
        assert reader.quiet() == values
        reader.close()
    finally:
        worker.broker.kill9()


def test_timestamp_mode_holds_back_rows_within_the_delay_and_sees_updates(worker, postgres, database):
    sql(postgres, database,
        "CREATE TABLE events (id int PRIMARY KEY, note text, changed timestamp NOT NULL)",
        "INSERT INTO events SELECT g, 'n' || g, now() AT TIME ZONE 'UTC' - interval '1 hour' + g * interval '1 second' "
        "FROM generate_series(1, 10) g")
    create(worker, "events", source_config(postgres, database, mode="timestamp+incrementing", timestamp_column_name="changed",
                                           incrementing_column_name="id", topic_prefix="ts-", table_whitelist="events",
                                           timestamp_delay_interval_ms="3000"))
    reader = Reader(worker.broker.bootstrap, "ts-events")
    assert [v["payload"]["id"] for v in reader.until(10)] == list(range(1, 11))
    # An update moves a row's timestamp forward: it is read again. A row committed with a timestamp inside the delay
    # window comes only once the window has passed.
    sql(postgres, database, "UPDATE events SET note = 'changed', changed = now() AT TIME ZONE 'UTC' - interval '10 minutes' WHERE id = 3",
        "INSERT INTO events VALUES (11, 'recent', now() AT TIME ZONE 'UTC')")
    values = reader.until(11)
    assert values[10]["payload"]["id"] == 3 and values[10]["payload"]["note"] == "changed"
    assert all(v["payload"]["id"] != 11 for v in reader.quiet(1.0))
    values = reader.until(12, timeout=10)
    assert values[11]["payload"]["id"] == 11
    stamp = values[11]["payload"]["changed"]
    assert values[11]["schema"]["fields"][2] == {"type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp",
                                                  "version": 1, "field": "changed"}
    assert abs(stamp / 1000 - time.time()) < 60
    reader.close()


def test_bulk_and_query_modes_and_tables_over_tasks(worker, postgres, database):
    sql(postgres, database, "CREATE TABLE a (x int)", "CREATE TABLE b (x int)", "CREATE TABLE c (x int)",
        "INSERT INTO a VALUES (1), (2)", "INSERT INTO b VALUES (3)", "INSERT INTO c VALUES (4)")
    create(worker, "bulk", source_config(postgres, database, mode="bulk", topic_prefix="bulk-", tasks_max="2",
                                         poll_interval_ms="60000"), tasks=2)
    tasks = worker.get("/connectors/bulk/tasks").json()
    assert sorted(len(t["config"]["tables"].split(",")) for t in tasks) == [1, 2]
    for topic, expected in [("bulk-a", [1, 2]), ("bulk-b", [3]), ("bulk-c", [4])]:
        reader = Reader(worker.broker.bootstrap, topic)
        assert sorted(v["payload"]["x"] for v in reader.until(len(expected))) == expected
        reader.close()
    create(worker, "query", source_config(postgres, database, mode="incrementing", incrementing_column_name="x",
                                          query="SELECT a.x, b.x AS y FROM a CROSS JOIN b", topic_prefix="joined"))
    reader = Reader(worker.broker.bootstrap, "joined")
    assert [(v["payload"]["x"], v["payload"]["y"]) for v in reader.until(2)] == [(1, 3), (2, 3)]
    reader.close()


TYPES_TABLE = """CREATE TABLE typed (
    id bigserial PRIMARY KEY, b boolean, s smallint, i int, f real, d double precision, amount numeric(10,2),
    whole numeric(8,0), free numeric, t text, v varchar(10), c char(3), u uuid, j json, jb jsonb, day date,
    clock time, at timestamptz, local timestamp, raw bytea, ints int[], texts text[], nums numeric(5,1)[],
    spot inet, mood_interval interval)"""

TYPES_ROW = """INSERT INTO typed (b, s, i, f, d, amount, whole, free, t, v, c, u, j, jb, day, clock, at, local, raw, ints, texts,
    nums, spot, mood_interval) VALUES (true, 7, -9, 1.5, 2.25, -12.34, 12345678, 1.125, 'text', 'var', 'ab',
    '3f1c0a52-6f0e-4d7e-9d37-3b2a1a0e9c11', '{"a": 1}', '{"b": [2]}', '2022-01-08', '01:02:03.004',
    '2023-11-14 22:13:20.123456+00', '2023-11-14 22:13:20.5', '\\x00ff', '{1,NULL,3}', '{"x","y z"}', '{1.5,NULL}',
    '10.0.0.1', '1 day')"""


def test_types_map_to_connect_schemas_read_with_json_and_avro(worker, postgres, database, vltava_bin, tmp_path):
    sql(postgres, database, TYPES_TABLE, TYPES_ROW)
    create(worker, "typed", source_config(postgres, database, mode="incrementing", topic_prefix="types-",
                                          table_whitelist="typed", numeric_mapping="best_fit"))
    reader = Reader(worker.broker.bootstrap, "types-typed")
    [value] = reader.until(1)
    reader.close()
    fields = {f["field"]: f for f in value["schema"]["fields"]}
    payload = value["payload"]
    expect = {
        "id": ("int64", None, 1), "b": ("boolean", None, True), "s": ("int16", None, 7), "i": ("int32", None, -9),
        "f": ("float", None, 1.5), "d": ("double", None, 2.25), "amount": ("double", None, -12.34),
        "whole": ("int32", None, 12345678), "free": ("double", None, 1.125), "t": ("string", None, "text"),
        "v": ("string", None, "var"), "c": ("string", None, "ab "), "u": ("string", None, "3f1c0a52-6f0e-4d7e-9d37-3b2a1a0e9c11"),
        "j": ("string", None, '{"a": 1}'), "jb": ("string", None, '{"b": [2]}'),
        "day": ("int32", "org.apache.kafka.connect.data.Date", 19000),
        "clock": ("int32", "org.apache.kafka.connect.data.Time", 3_723_004),
        "at": ("int64", "org.apache.kafka.connect.data.Timestamp", 1_700_000_000_123),
        "local": ("int64", "org.apache.kafka.connect.data.Timestamp", 1_700_000_000_500),
        "raw": ("bytes", None, base64.b64encode(b"\x00\xff").decode()), "spot": ("string", None, "10.0.0.1/32"),
        "mood_interval": ("string", None, "1 day"),
    }
    for name, (kind, logical, expected) in expect.items():
        assert fields[name]["type"] == kind, (name, fields[name])
        assert fields[name].get("name") == logical, (name, fields[name])
        assert payload[name] == expected, (name, payload[name])
    assert fields["ints"]["type"] == "array" and fields["ints"]["items"]["type"] == "int32"
    assert payload["ints"] == [1, None, 3] and payload["texts"] == ["x", "y z"] and payload["nums"] == [1.5, None]

    # numeric.mapping none: Decimal with the column's scale.
    create(worker, "typed-decimal", source_config(postgres, database, mode="bulk", topic_prefix="dec-",
                                                  table_whitelist="typed", poll_interval_ms="60000"))
    reader = Reader(worker.broker.bootstrap, "dec-typed")
    [value] = reader.until(1)
    reader.close()
    amount = next(f for f in value["schema"]["fields"] if f["field"] == "amount")
    assert amount["name"] == "org.apache.kafka.connect.data.Decimal" and amount["parameters"]["scale"] == "2"
    assert int.from_bytes(base64.b64decode(value["payload"]["amount"]), "big", signed=True) == -1234


def test_avro_through_the_registry(vltava_bin, tmp_path, postgres, database):
    registry_port = free_port()
    worker = ConnectServe(vltava_bin, tmp_path / "data", env=None)
    worker.broker.extra_args += ["--schema-registry-listeners", f"http://127.0.0.1:{registry_port}"]
    worker.start()
    try:
        sql(postgres, database, "CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL, price numeric(8,2) NOT NULL)",
            "INSERT INTO products (name, price) VALUES ('pen', 1.50), ('book', 12.00)")
        registry = f"http://127.0.0.1:{registry_port}"
        create(worker, "products", source_config(postgres, database, mode="incrementing", topic_prefix="avro-",
                                                 table_whitelist="products",
                                                 value_converter="io.confluent.connect.avro.AvroConverter",
                                                 **{"value.converter.schema.registry.url": registry}))
        consumer = Consumer({"bootstrap.servers": worker.broker.bootstrap, "group.id": "avro-reader", "auto.offset.reset": "earliest"})
        consumer.subscribe(["avro-products"])
        deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry}))
        values = []
        deadline = time.time() + 30
        while len(values) < 2 and time.time() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                values.append(deserializer(message.value(), SerializationContext("avro-products", MessageField.VALUE)))
        consumer.close()
        assert [(v["id"], v["name"], str(v["price"])) for v in values] == [(1, "pen", "1.50"), (2, "book", "12.00")]
    finally:
        worker.broker.kill9()


def test_bad_configurations_are_refused(worker, postgres, database):
    sql(postgres, database, "CREATE TABLE loose (id int, at timestamp)")
    validate = worker.put(f"/connector-plugins/{SOURCE}/config/validate",
                          {"connector.class": SOURCE, "connection.url": postgres.jdbc_url(database), "mode": "sometimes",
                           "connection.user": "postgres",
                           "topic.prefix": "x"})
    errors = {c["value"]["name"]: c["value"]["errors"] for c in validate.json()["configs"]}
    assert any("sometimes" in e for e in errors["mode"]), errors
    response = worker.post("/connectors", {"name": "loose", "config": source_config(
        postgres, database, mode="incrementing", incrementing_column_name="id", topic_prefix="l-", table_whitelist="loose")})
    assert response.status_code == 201
    wait_until(lambda: task_state(worker, "loose") == "FAILED", 30, lambda: worker.status("loose"))
    trace = worker.status("loose")["tasks"][0]["trace"]
    assert "because this column is nullable" in trace, trace
