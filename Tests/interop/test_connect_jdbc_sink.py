"""Confluent's JDBC sink (`io.confluent.connect.jdbc.JdbcSinkConnector`) in `vltava serve`, writing into a real
PostgreSQL: insert, upsert idempotent under redelivery, update, deletes by tombstone, auto.create and auto.evolve,
pk.mode kafka / record_key / record_value, types (Decimal, Date, Time, Timestamp, bytes, arrays, strings into uuid
and jsonb columns), a bad row sent to the dead-letter queue, and a missing table failing the task in plain words."""

import base64
import json
import time

import pytest
from confluent_kafka import Consumer, Producer
from postgres_support import database, postgres  # noqa: F401
from test_connect import create_running as create, module_connect, task_state, wait_until  # noqa: F401 (module_connect: a fixture)

SINK = "io.confluent.connect.jdbc.JdbcSinkConnector"
JSON = "org.apache.kafka.connect.json.JsonConverter"


@pytest.fixture(scope="module")
def worker(module_connect):
    return module_connect


def envelope(schema, payload):
    return json.dumps({"schema": schema, "payload": payload}).encode()


def struct(name, fields):
    return {"type": "struct", "name": name, "optional": False,
            "fields": [dict({"field": n}, **t) for n, t in fields]}


INT32 = {"type": "int32", "optional": False}
INT64 = {"type": "int64", "optional": False}
STRING = {"type": "string", "optional": True}
OPT_INT32 = {"type": "int32", "optional": True}

PERSON = struct("person", [("id", INT32), ("name", STRING), ("age", OPT_INT32)])
KEY = struct("key", [("id", INT32)])


def produce(bootstrap, topic, records):
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def sink_config(postgres, db, topics, **extra):
    config = {"connector.class": SINK, "connection.url": postgres.jdbc_url(db), "connection.user": "postgres",
              "connection.password": postgres.password, "topics": topics, "key.converter": JSON,
              "value.converter": JSON, "retry.backoff.ms": "200", "max.retries": "2"}
    config.update({k.replace("_", "."): v for k, v in extra.items()})
    return config


def rows(postgres, db, sql):
    connection = postgres.connect(db)
    try:
        return connection.run(sql)
    except Exception:
        return None
    finally:
        connection.close()


def wait_rows(postgres, db, sql, expected, timeout=30):
    last = [None]

    def check():
        last[0] = rows(postgres, db, sql)
        return last[0] == expected
    wait_until(check, timeout, lambda: f"{sql} gave {last[0]}, expected {expected}")




def test_upsert_is_idempotent_under_redelivery_and_tombstones_delete(worker, postgres, database):
    topic = "people-upsert"
    create(worker, "people-upsert", sink_config(postgres, database, topic, insert_mode="upsert", pk_mode="record_key",
                                                pk_fields="id", delete_enabled="true", auto_create="true"))
    records = [(envelope(KEY, {"id": i}), envelope(PERSON, {"id": i, "name": f"p{i}", "age": i})) for i in range(1, 501)]
    produce(worker.broker.bootstrap, topic, records)
    wait_rows(postgres, database, 'SELECT count(*), sum(age) FROM "people-upsert"', [[500, sum(range(1, 501))]])
    # The same records again (a redelivery), then changes and a tombstone.
    produce(worker.broker.bootstrap, topic, records)
    produce(worker.broker.bootstrap, topic, [(envelope(KEY, {"id": 7}), envelope(PERSON, {"id": 7, "name": "seven", "age": None})),
                                             (envelope(KEY, {"id": 8}), None)])
    wait_rows(postgres, database, 'SELECT count(*) FROM "people-upsert"', [[499]])
    assert rows(postgres, database, 'SELECT name, age FROM "people-upsert" WHERE id = 7') == [["seven", None]]
    assert rows(postgres, database, 'SELECT count(*) FROM "people-upsert" WHERE id = 8') == [[0]]
    columns = rows(postgres, database, "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                                       "WHERE table_name = 'people-upsert' ORDER BY ordinal_position")
    assert columns == [["id", "integer", "NO"], ["name", "text", "YES"], ["age", "integer", "YES"]]
    primary = rows(postgres, database, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                                       "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '\"people-upsert\"'::regclass AND i.indisprimary")
    assert primary == [["id"]]


def test_auto_evolve_adds_nullable_columns_and_refuses_required_ones(worker, postgres, database):
    topic = "evolving"
    create(worker, "evolving", sink_config(postgres, database, topic, insert_mode="insert", pk_mode="record_value",
                                           pk_fields="id", auto_create="true", auto_evolve="true"))
    v1 = struct("v", [("id", INT32), ("name", STRING)])
    v2 = struct("v", [("id", INT32), ("name", STRING), ("email", STRING),
                      ("score", {"type": "int64", "optional": False, "default": 5})])
    produce(worker.broker.bootstrap, topic, [(None, envelope(v1, {"id": 1, "name": "a"})),
                                             (None, envelope(v2, {"id": 2, "name": "b", "email": "b@x", "score": 9}))])
    wait_rows(postgres, database, "SELECT id, name, email, score FROM evolving ORDER BY id",
              [[1, "a", None, 5], [2, "b", "b@x", 9]])
    v3 = struct("v", [("id", INT32), ("required", {"type": "string", "optional": False})])
    produce(worker.broker.bootstrap, topic, [(None, envelope(v3, {"id": 3, "required": "x"}))])
    wait_until(lambda: task_state(worker, "evolving") == "FAILED", 30, lambda: worker.status("evolving"))
    trace = worker.status("evolving")["tasks"][0]["trace"]
    assert "Cannot ALTER TABLE evolving to add missing field required" in trace, trace


def test_kafka_coordinates_as_the_key_and_logical_types(worker, postgres, database):
    connection = postgres.connect(database)
    connection.run("""CREATE TABLE typed (__connect_topic text, __connect_partition int, __connect_offset bigint,
                      amount numeric(10,2), day date, at timestamptz, clock time, raw bytea, tags text[], ref uuid,
                      doc jsonb, flag boolean, ratio double precision,
                      PRIMARY KEY (__connect_topic, __connect_partition, __connect_offset))""")
    connection.close()
    schema = struct("typed", [
        ("amount", {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                    "parameters": {"scale": "2"}}),
        ("day", {"type": "int32", "optional": True, "name": "org.apache.kafka.connect.data.Date", "version": 1}),
        ("at", {"type": "int64", "optional": True, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1}),
        ("clock", {"type": "int32", "optional": True, "name": "org.apache.kafka.connect.data.Time", "version": 1}),
        ("raw", {"type": "bytes", "optional": True}),
        ("tags", {"type": "array", "items": {"type": "string", "optional": True}, "optional": True}),
        ("ref", STRING), ("doc", STRING), ("flag", {"type": "boolean", "optional": True}),
        ("ratio", {"type": "double", "optional": True})])
    value = {"amount": base64.b64encode((-1234).to_bytes(2, "big", signed=True)).decode(), "day": 19000,
             "at": 1_700_000_000_123, "clock": 3_723_004, "raw": base64.b64encode(b"\x00\xff").decode(),
             "tags": ["a", "b \"q\"", None], "ref": "3f1c0a52-6f0e-4d7e-9d37-3b2a1a0e9c11", "doc": '{"k": [1, 2]}',
             "flag": True, "ratio": 0.25}
    topic = "typed"
    create(worker, "typed", sink_config(postgres, database, topic, pk_mode="kafka"))
    produce(worker.broker.bootstrap, topic, [(None, envelope(schema, value))])
    wait_rows(postgres, database, "SELECT count(*) FROM typed", [[1]])
    got = rows(postgres, database, "SELECT __connect_topic, __connect_partition, __connect_offset, amount::text, day::text, "
                                   "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), clock::text, encode(raw, 'hex'), "
                                   "tags, ref::text, doc->'k'->>1, flag, ratio FROM typed")
    assert got == [["typed", 0, 0, "-12.34", "2022-01-08", "2023-11-14 22:13:20.123", "01:02:03.004", "00ff",
                    ["a", 'b "q"', None], "3f1c0a52-6f0e-4d7e-9d37-3b2a1a0e9c11", "2", True, 0.25]]


def test_a_row_postgres_refuses_goes_to_the_dead_letter_queue(worker, postgres, database):
    connection = postgres.connect(database)
    connection.run("CREATE TABLE checked (id int PRIMARY KEY, name text, CHECK (length(name) < 5))")
    connection.close()
    topic, dlq = "checked", "checked-dlq"
    create(worker, "checked", sink_config(postgres, database, topic, pk_mode="record_value", pk_fields="id",
                                          insert_mode="upsert", errors_tolerance="all",
                                          errors_deadletterqueue_topic_name=dlq,
                                          errors_deadletterqueue_topic_replication_factor="1",
                                          errors_deadletterqueue_context_headers_enable="true"))
    schema = struct("c", [("id", INT32), ("name", STRING)])
    produce(worker.broker.bootstrap, topic, [(None, envelope(schema, {"id": 1, "name": "ok"})),
                                             (None, envelope(schema, {"id": 2, "name": "far too long"})),
                                             (None, envelope(schema, {"id": 3, "name": "fine"}))])
    wait_rows(postgres, database, "SELECT id FROM checked ORDER BY id", [[1], [3]])
    consumer = Consumer({"bootstrap.servers": worker.broker.bootstrap, "group.id": "dlq-reader", "auto.offset.reset": "earliest"})
    consumer.subscribe([dlq])
    message = None
    deadline = time.time() + 30
    while message is None and time.time() < deadline:
        message = consumer.poll(0.5)
    consumer.close()
    assert message is not None and message.error() is None
    headers = {k: v.decode() for k, v in message.headers()}
    assert headers["__connect.errors.stage"] == "TASK_PUT"
    assert "violates check constraint" in headers["__connect.errors.exception.message"]
    assert json.loads(message.value())["payload"]["id"] == 2
    assert task_state(worker, "checked") == "RUNNING"


def test_a_missing_table_fails_the_task_in_plain_words(worker, postgres, database):
    create(worker, "no-table", sink_config(postgres, database, "nowhere"))
    produce(worker.broker.bootstrap, "nowhere", [(None, envelope(PERSON, {"id": 1, "name": "x", "age": 1}))])
    wait_until(lambda: task_state(worker, "no-table") == "FAILED", 30, lambda: worker.status("no-table"))
    trace = worker.status("no-table")["tasks"][0]["trace"]
    assert "Table nowhere is missing and auto-creation is disabled" in trace, trace


def test_update_mode_and_a_bad_connection_url(worker, postgres, database):
    connection = postgres.connect(database)
    connection.run("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint)")
    connection.run("INSERT INTO accounts VALUES (1, 10), (2, 20)")
    connection.close()
    schema = struct("a", [("id", INT32), ("balance", INT64)])
    create(worker, "accounts", sink_config(postgres, database, "accounts", insert_mode="update", pk_mode="record_value",
                                           pk_fields="id"))
    produce(worker.broker.bootstrap, "accounts", [(None, envelope(schema, {"id": 2, "balance": 25})),
                                                  (None, envelope(schema, {"id": 3, "balance": 30}))])
    wait_rows(postgres, database, "SELECT id, balance FROM accounts ORDER BY id", [[1, 10], [2, 25]])
    response = worker.put(f"/connector-plugins/{SINK}/config/validate",
                          {"connector.class": SINK, "topics": "x", "connection.url": "postgresql://nope"})
    assert response.status_code == 200
    errors = {c["value"]["name"]: c["value"]["errors"] for c in response.json()["configs"]}
    assert any("not a PostgreSQL JDBC URL" in e for e in errors["connection.url"]), errors
    bad = sink_config(postgres, database, "bad-port")
    bad["connection.url"] = "jdbc:postgresql://127.0.0.1:1/x"
    response = worker.post("/connectors", {"name": "bad-port", "config": bad})
    assert response.status_code == 201, response.text
    wait_until(lambda: task_state(worker, "bad-port") == "FAILED", 30, lambda: worker.status("bad-port"))
    trace = worker.status("bad-port")["tasks"][0]["trace"]
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/x: connection refused" in trace, trace
