"""Change data capture from a real PostgreSQL (wal_level=logical) with Debezium's connector configuration
(`io.debezium.connector.postgresql.PostgresConnector`, pgoutput) in `vltava serve`: the initial snapshot, inserts,
updates (with `before` under REPLICA IDENTITY FULL), deletes and their tombstones in Debezium's envelope keyed by the
primary key, a restart in the middle of a stream that skips nothing, a table added to the publication, Debezium's
type mapping, and the events read by confluent-kafka through JsonConverter and through the AvroConverter and the
registry."""

import base64
import json
import time

import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from conftest import free_port
from postgres_support import PostgresServer, database, postgres  # noqa: F401
from test_connect import ConnectServe, connect, create_running, wait_until  # noqa: F401 (connect: a fixture)

CDC = "io.debezium.connector.postgresql.PostgresConnector"
JSON = "org.apache.kafka.connect.json.JsonConverter"


def cdc_config(postgres, db, slot, **extra):
    config = {"connector.class": CDC, "database.hostname": "127.0.0.1", "database.port": str(postgres.port),
              "database.user": "postgres", "database.password": postgres.password, "database.dbname": db,
              "topic.prefix": "shop", "plugin.name": "pgoutput", "slot.name": slot, "key.converter": JSON,
              "value.converter": JSON, "poll.interval.ms": "100"}
    config.update({k.replace("_", "."): v for k, v in extra.items()})
    return config



def sql(postgres, db, *statements):
    postgres.execute(db, *statements)


class Events:
    """Reads a topic from the start: (key, value) pairs with the JSON envelopes decoded (None for tombstones)."""

    def __init__(self, bootstrap, topic):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"cdc-{topic}-{time.time()}",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                  "topic.metadata.refresh.interval.ms": 500})
        self.consumer.subscribe([topic])
        self.items = []

    def until(self, count, timeout=40):
        return self.collect(lambda items: len(items) >= count, timeout, f"{count} events")

    def collect(self, done, timeout=40, what="the awaited events"):
        """Reads until `done(items)` holds; fails naming `what` after `timeout` seconds."""
        deadline = time.time() + timeout
        while not done(self.items) and time.time() < deadline:
            message = self.consumer.poll(0.2)
            if message is not None and message.error() is None:
                key = json.loads(message.key()) if message.key() else None
                value = json.loads(message.value()) if message.value() else None
                self.items.append((key, value))
        assert done(self.items), f"{what} not read in {timeout} s; read {len(self.items)}: {self.items}"
        return self.items

    def close(self):
        self.consumer.close()


def payload(item):
    return item[1]["payload"] if item[1] else None


def insert_after_restart(worker, postgres, db, events, table, column):
    """Starts the stopped worker again, inserts a row whose `column` is 'after' and reads until it arrives; the values
    of `column` of every insert read."""
    worker.broker.start()
    wait_until(lambda: worker.healthy(), 30, "Connect did not come back")
    sql(postgres, db, f"INSERT INTO {table} ({column}) VALUES ('after')")

    def created(items):
        return [payload(e)["after"][column] for e in items if payload(e) and payload(e)["op"] == "c"]
    return created(events.collect(lambda items: "after" in created(items), what="the change made after the restart"))


def test_snapshot_then_inserts_updates_deletes_and_tombstones(vltava_bin, tmp_path, postgres, database):
    sql(postgres, database,
        "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text)",
        "ALTER TABLE customers REPLICA IDENTITY FULL",
        "INSERT INTO customers (name, email) VALUES ('ann', 'a@x'), ('bob', 'b@x'), ('cy', NULL)")
    worker = ConnectServe(vltava_bin, tmp_path / "data", env={"CONNECT_OFFSET_FLUSH_INTERVAL_MS": "200"}).start()
    try:
        create_running(worker, "cdc", cdc_config(postgres, database, "cdc_basic"))
        events = Events(worker.broker.bootstrap, "shop.public.customers")
        snapshot = events.until(3)
        assert [payload(e)["op"] for e in snapshot] == ["r", "r", "r"]
        assert [payload(e)["after"]["name"] for e in snapshot] == ["ann", "bob", "cy"]
        assert [e[0]["payload"] for e in snapshot] == [{"id": 1}, {"id": 2}, {"id": 3}]
        assert payload(snapshot[0])["source"]["snapshot"] == "first" and payload(snapshot[2])["source"]["snapshot"] == "last"
        assert snapshot[0][1]["schema"]["name"] == "shop.public.customers.Envelope"
        assert snapshot[0][0]["schema"]["name"] == "shop.public.customers.Key"

        sql(postgres, database, "INSERT INTO customers (name, email) VALUES ('dee', 'd@x')",
            "UPDATE customers SET email = 'ann@x' WHERE id = 1", "DELETE FROM customers WHERE id = 2")
        changes = events.until(7)[3:]
        insert, update, delete, tombstone = changes
        assert payload(insert)["op"] == "c" and payload(insert)["before"] is None
        assert payload(insert)["after"] == {"id": 4, "name": "dee", "email": "d@x"}
        source = payload(insert)["source"]
        assert source["connector"] == "postgresql" and source["name"] == "shop" and source["db"] == database
        assert source["schema"] == "public" and source["table"] == "customers" and source["snapshot"] == "false"
        assert source["lsn"] > 0 and source["txId"] > 0 and abs(source["ts_ms"] / 1000 - time.time()) < 60
        assert payload(update)["op"] == "u"
        assert payload(update)["before"] == {"id": 1, "name": "ann", "email": "a@x"}
        assert payload(update)["after"] == {"id": 1, "name": "ann", "email": "ann@x"}
        assert payload(delete)["op"] == "d" and payload(delete)["before"]["name"] == "bob" and payload(delete)["after"] is None
        assert tombstone == ({"schema": snapshot[0][0]["schema"], "payload": {"id": 2}}, None)

        # A restart in the middle of a stream: changes made while the worker is down arrive after it, none skipped.
        sql(postgres, database, "INSERT INTO customers (name) SELECT 'batch-' || g FROM generate_series(1, 200) g")
        time.sleep(1.0)
        worker.stop()
        sql(postgres, database, "INSERT INTO customers (name) SELECT 'down-' || g FROM generate_series(1, 50) g")
        names = insert_after_restart(worker, postgres, database, events, "customers", "name")
        expected = ["dee"] + [f"batch-{g}" for g in range(1, 201)] + [f"down-{g}" for g in range(1, 51)] + ["after"]
        assert sorted(set(names)) == sorted(expected), "every committed change is captured"
        assert names[-1] == "after"
        assert len(names) - len(set(names)) <= 200, "only changes in flight at the stop may come twice"
        events.close()
        slot = postgres.run("SELECT confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'cdc_basic'")
        assert slot == [[True]]
    finally:
        worker.broker.kill9()


def test_a_table_added_to_the_publication_is_captured(connect, postgres, database):
    worker = connect
    sql(postgres, database, "CREATE TABLE alpha (id int PRIMARY KEY, v text)", "CREATE TABLE beta (id int PRIMARY KEY, v text)",
        "CREATE PUBLICATION only_alpha FOR TABLE alpha")
    create_running(worker, "pub", cdc_config(postgres, database, "cdc_pub", publication_name="only_alpha",
                                             publication_autocreate_mode="disabled", snapshot_mode="no_data",
                                             topic_prefix="pub"))
    time.sleep(1)
    sql(postgres, database, "INSERT INTO alpha VALUES (1, 'a')", "INSERT INTO beta VALUES (1, 'not yet')",
        "ALTER PUBLICATION only_alpha ADD TABLE beta", "INSERT INTO beta VALUES (2, 'b')")
    alpha = Events(worker.broker.bootstrap, "pub.public.alpha")
    assert payload(alpha.until(1)[0])["after"] == {"id": 1, "v": "a"}
    beta = Events(worker.broker.bootstrap, "pub.public.beta")
    items = beta.collect(lambda items: any(payload(i) and payload(i)["after"]["id"] == 2 for i in items), what="beta's row 2")
    assert [payload(i)["after"]["id"] for i in items] == [2]
    alpha.close()
    beta.close()


def test_a_delete_under_the_default_identity_with_required_columns(connect, postgres, database):
    worker = connect
    sql(postgres, database, "CREATE TABLE strict (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL, note text)")
    create_running(worker, "strict", cdc_config(postgres, database, "cdc_strict", topic_prefix="st", snapshot_mode="no_data"))
    time.sleep(1)
    sql(postgres, database, "INSERT INTO strict VALUES (1, 'x', 5, 'n')", "DELETE FROM strict WHERE id = 1")
    events = Events(worker.broker.bootstrap, "st.public.strict")
    insert, delete, tombstone = events.until(3)
    events.close()
    assert payload(delete)["op"] == "d" and payload(delete)["before"] == {"id": 1, "name": "", "n": 0, "note": None}
    assert tombstone[1] is None and tombstone[0]["payload"] == {"id": 1}


def test_debezium_type_mapping(connect, postgres, database):
    worker = connect
    sql(postgres, database, """CREATE TABLE typed (id int PRIMARY KEY, amount numeric(10,2), free numeric, day date,
        at timestamptz, local timestamp, local3 timestamp(3), clock time, u uuid, doc jsonb, raw bytea, tags text[],
        flag boolean, ratio real)""")
    create_running(worker, "typed", cdc_config(postgres, database, "cdc_types", topic_prefix="ty"))
    sql(postgres, database, """INSERT INTO typed VALUES (1, -12.34, 1.125, '2022-01-08', '2023-11-14 22:13:20.123456+00',
        '2023-11-14 22:13:20.5', '2023-11-14 22:13:20.5', '01:02:03.004', '3f1c0a52-6f0e-4d7e-9d37-3b2a1a0e9c11',
        '{"k": 1}', '\\x00ff', '{"a","b c",NULL}', true, 0.5)""")
    events = Events(worker.broker.bootstrap, "ty.public.typed")
    key, value = events.until(1)[0]
    events.close()
    fields = {f["field"]: f for f in value["schema"]["fields"][1]["fields"]}
    after = value["payload"]["after"]
    assert fields["amount"]["name"] == "org.apache.kafka.connect.data.Decimal" and fields["amount"]["parameters"]["scale"] == "2"
    assert int.from_bytes(base64.b64decode(after["amount"]), "big", signed=True) == -1234
    assert fields["free"]["name"] == "io.debezium.data.VariableScaleDecimal" and after["free"]["scale"] == 3
    assert int.from_bytes(base64.b64decode(after["free"]["value"]), "big", signed=True) == 1125
    assert (fields["day"]["name"], after["day"]) == ("io.debezium.time.Date", 19000)
    assert (fields["at"]["name"], after["at"]) == ("io.debezium.time.ZonedTimestamp", "2023-11-14T22:13:20.123456Z")
    assert (fields["local"]["name"], after["local"]) == ("io.debezium.time.MicroTimestamp", 1_700_000_000_500_000)
    assert (fields["local3"]["name"], after["local3"]) == ("io.debezium.time.Timestamp", 1_700_000_000_500)
    assert (fields["clock"]["name"], after["clock"]) == ("io.debezium.time.MicroTime", 3_723_004_000)
    assert (fields["u"]["name"], after["u"]) == ("io.debezium.data.Uuid", "3f1c0a52-6f0e-4d7e-9d37-3b2a1a0e9c11")
    assert (fields["doc"]["name"], after["doc"]) == ("io.debezium.data.Json", '{"k": 1}')
    assert after["raw"] == base64.b64encode(b"\x00\xff").decode()
    assert after["tags"] == ["a", "b c", None] and after["flag"] is True and after["ratio"] == 0.5


def test_events_read_through_the_avro_converter_and_the_registry(vltava_bin, tmp_path, postgres, database):
    registry_port = free_port()
    worker = ConnectServe(vltava_bin, tmp_path / "data")
    worker.broker.extra_args += ["--schema-registry-listeners", f"http://127.0.0.1:{registry_port}"]
    worker.start()
    try:
        registry = f"http://127.0.0.1:{registry_port}"
        sql(postgres, database, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)", "INSERT INTO items VALUES (1, 'pen')")
        avro = "io.confluent.connect.avro.AvroConverter"
        create_running(worker, "avro-cdc", cdc_config(postgres, database, "cdc_avro", topic_prefix="av", key_converter=avro,
                                                      value_converter=avro, **{"key.converter.schema.registry.url": registry,
                                                                               "value.converter.schema.registry.url": registry}))
        sql(postgres, database, "UPDATE items SET name = 'pencil' WHERE id = 1")
        consumer = Consumer({"bootstrap.servers": worker.broker.bootstrap, "group.id": "avro-cdc", "auto.offset.reset": "earliest"})
        consumer.subscribe(["av.public.items"])
        client = SchemaRegistryClient({"url": registry})
        values, keys = AvroDeserializer(client), AvroDeserializer(client)
        events = []
        deadline = time.time() + 40
        while len(events) < 2 and time.time() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                events.append((keys(message.key(), SerializationContext("av.public.items", MessageField.KEY)),
                               values(message.value(), SerializationContext("av.public.items", MessageField.VALUE))))
        consumer.close()
        assert [(k["id"], v["op"], v["after"]["name"]) for k, v in events] == [(1, "r", "pen"), (1, "u", "pencil")]
        assert events[1][1]["source"]["connector"] == "postgresql"
    finally:
        worker.broker.kill9()


def test_the_slot_follows_kafka_and_a_kill_9_loses_nothing(vltava_bin, tmp_path, postgres, database):
    """Changes are streamed over a replication connection; the slot is confirmed as Kafka acknowledges (to the end of
    the WAL once caught up, past transactions of tables not captured); after kill -9 the stream resumes from the slot
    and every committed change arrives."""
    sql(postgres, database, "CREATE TABLE orders (id serial PRIMARY KEY, item text)", "CREATE TABLE other (id int)")
    worker = ConnectServe(vltava_bin, tmp_path / "data", env={"CONNECT_OFFSET_FLUSH_INTERVAL_MS": "200"}).start()
    try:
        create_running(worker, "orders", cdc_config(postgres, database, "cdc_follow", topic_prefix="fo",
                                                    snapshot_mode="no_data", table_include_list="public.orders"))
        slot_active = "SELECT active FROM pg_replication_slots WHERE slot_name = 'cdc_follow'"
        wait_until(lambda: postgres.run(slot_active) == [[True]], 20, "the slot is not being streamed")
        senders = postgres.run("SELECT count(*) FROM pg_stat_replication WHERE application_name = 'vltava-connect'")
        assert senders[0][0] >= 1, "a replication connection reads the slot"
        for batch in range(10):
            sql(postgres, database, f"INSERT INTO orders (item) SELECT 'a-' || g FROM generate_series({batch * 10 + 1}, {batch * 10 + 10}) g")
        events = Events(worker.broker.bootstrap, "fo.public.orders")
        events.until(100)
        sql(postgres, database, "INSERT INTO other VALUES (1)")
        end = postgres.run("SELECT pg_current_wal_lsn()::text")[0][0]
        followed = f"SELECT confirmed_flush_lsn >= '{end}'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdc_follow'"
        wait_until(lambda: postgres.run(followed) == [[True]], 30, "the slot did not follow to the end of the WAL")

        sql(postgres, database, "INSERT INTO orders (item) SELECT 'b-' || g FROM generate_series(1, 300) g")
        time.sleep(0.2)
        worker.broker.kill9()
        sql(postgres, database, "INSERT INTO orders (item) SELECT 'down-' || g FROM generate_series(1, 20) g")
        names = insert_after_restart(worker, postgres, database, events, "orders", "item")
        expected = [f"a-{g}" for g in range(1, 101)] + [f"b-{g}" for g in range(1, 301)] + [f"down-{g}" for g in range(1, 21)] + ["after"]
        assert sorted(set(names)) == sorted(expected), "every committed change is captured"
        events.close()
    finally:
        worker.broker.kill9()


def test_heartbeats_go_to_debeziums_heartbeat_topic(connect, postgres, database):
    sql(postgres, database, "CREATE TABLE quiet (id int PRIMARY KEY)")
    create_running(connect, "hb", cdc_config(postgres, database, "cdc_hb", topic_prefix="hb", snapshot_mode="no_data",
                                             heartbeat_interval_ms="300"))
    beats = Events(connect.broker.bootstrap, "__debezium-heartbeat.hb").until(2)
    key, value = beats[0]
    assert key == {"schema": {"type": "struct", "name": "io.debezium.connector.common.ServerNameKey", "optional": False,
                              "fields": [{"field": "serverName", "type": "string", "optional": False}]},
                   "payload": {"serverName": "hb"}}
    assert value["schema"]["name"] == "io.debezium.connector.common.Heartbeat"
    assert abs(value["payload"]["ts_ms"] / 1000 - time.time()) < 60


@pytest.fixture(scope="module")
def tls_postgres():
    server = PostgresServer(ssl=True).start()
    yield server
    server.stop()


def test_snapshot_and_stream_over_tls(connect, tls_postgres):
    """sslmode=require: the snapshot's connection and the replication stream both run over TLS."""
    postgres = tls_postgres
    postgres.create_database("tlsdb")
    sql(postgres, "tlsdb", "CREATE TABLE secrets (id int PRIMARY KEY, v text)", "INSERT INTO secrets VALUES (1, 'snap')")
    create_running(connect, "tls", cdc_config(postgres, "tlsdb", "cdc_tls", topic_prefix="tls", database_sslmode="require"))
    events = Events(connect.broker.bootstrap, "tls.public.secrets")
    assert payload(events.until(1)[0])["after"] == {"id": 1, "v": "snap"}
    sql(postgres, "tlsdb", "INSERT INTO secrets VALUES (2, 'streamed')")
    assert payload(events.until(2)[1])["after"] == {"id": 2, "v": "streamed"}
    events.close()
    encrypted = postgres.run("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_replication r USING (pid) "
                             "WHERE r.application_name = 'vltava-connect'")
    assert encrypted == [[True]], "the replication connection is encrypted"
