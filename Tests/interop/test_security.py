"""SASL authentication (issue 11) with real clients: PLAIN users of a listener's JAAS configuration, SCRAM users
made through AlterUserScramCredentials, refused logins, the pre-authentication limits, re-authentication, and
start-up refusing security settings it cannot honour."""

import socket
import struct
import subprocess
import time

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from conftest import BrokerProcess, free_port, unique_topic
from security_support import call, client_error, consume_values, is_closed, plain_login, wire

SASL_AUTHENTICATION_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34

PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
              'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";')


class SecuredBroker(BrokerProcess):
    """A broker with a PLAINTEXT listener (where the test waits and administers) and a SASL_PLAINTEXT one."""

    def __init__(self, binary, data_dir, extra=()):
        self.sasl_port = free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "--override", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "--override", f"listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}",
            "--override", "group.initial.rebalance.delay.ms=0",
            *extra,
        ])

    @property
    def sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"


@pytest.fixture(scope="module")
def secured(vltava_bin, tmp_path_factory):
    process = SecuredBroker(vltava_bin, tmp_path_factory.mktemp("secured") / "data").start()
    yield process
    process.kill9()


def sasl_config(broker, mechanism, user, password, **extra):
    return {"bootstrap.servers": broker.sasl_bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password, **extra}


def create_scram_user(broker, user, password, mechanisms=(ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    upserts = [UserScramCredentialUpsertion(user, ScramCredentialInfo(mechanism, 4096), password.encode())
               for mechanism in mechanisms]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(20)


def roundtrip_confluent(broker, mechanism, user, password, count=100):
    topic = unique_topic("sasl")
    config = sasl_config(broker, mechanism, user, password)
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 2)])[topic].result(20)
    producer = Producer({**config, "acks": "all", "enable.idempotence": True})
    delivered = []
    for i in range(count):
        producer.produce(topic, key=f"k{i % 5}", value=f"v{i}", on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0
    assert delivered == [None] * count
    values = [value.decode() for value in consume_values(config, topic, count, commit=True)]
    assert sorted(values) == sorted(f"v{i}" for i in range(count))


# --- real clients ------------------------------------------------------------------------------------------------

def test_confluent_kafka_plain(secured):
    roundtrip_confluent(secured, "PLAIN", "alice", "alice-secret")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_confluent_kafka_scram(secured, mechanism):
    user = f"scram-{mechanism[-3:]}"
    create_scram_user(secured, user, "s3cret-Pässword")
    roundtrip_confluent(secured, mechanism, user, "s3cret-Pässword")


@pytest.mark.parametrize("mechanism,user,password", [
    ("PLAIN", "alice", "wrong"),
    ("PLAIN", "nobody", "alice-secret"),
    ("SCRAM-SHA-256", "alice", "alice-secret"),
    ("SCRAM-SHA-512", "nobody", "x"),
])
def test_confluent_kafka_refused(secured, mechanism, user, password):
    error = client_error(sasl_config(secured, mechanism, user, password))
    assert error is not None and error.code() == KafkaError._AUTHENTICATION, error
    assert secured.process.poll() is None


def test_kafka_python_and_aiokafka(secured):
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from kafka import KafkaConsumer, KafkaProducer

    create_scram_user(secured, "py", "py-secret", mechanisms=(ScramMechanism.SCRAM_SHA_256,))
    topic = unique_topic("py")
    producer = KafkaProducer(bootstrap_servers=secured.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password="alice-secret")
    for i in range(20):
        producer.send(topic, f"kp{i}".encode())
    producer.flush(30)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=secured.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                             sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="py", sasl_plain_password="py-secret",
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    assert sorted(m.value.decode() for m in consumer) == sorted(f"kp{i}" for i in range(20))
    consumer.close()

    async def aio():
        settings = dict(bootstrap_servers=secured.sasl_bootstrap, security_protocol="SASL_PLAINTEXT",
                        sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="py", sasl_plain_password="py-secret")
        aio_producer = AIOKafkaProducer(**settings)
        await aio_producer.start()
        for i in range(20):
            await aio_producer.send_and_wait(topic, f"aio{i}".encode())
        await aio_producer.stop()
        aio_consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **settings)
        await aio_consumer.start()
        seen = []
        try:
            while len(seen) < 40:
                batch = await asyncio.wait_for(aio_consumer.getmany(timeout_ms=500), 15)
                for messages in batch.values():
                    seen.extend(m.value.decode() for m in messages)
        finally:
            await aio_consumer.stop()
        return seen

    seen = asyncio.run(aio())
    assert sorted(seen) == sorted([f"kp{i}" for i in range(20)] + [f"aio{i}" for i in range(20)])


def test_kcat_plain(secured):
    topic = unique_topic("kcat")
    settings = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
                "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"]
    subprocess.run(["kcat", "-b", secured.sasl_bootstrap, *settings, "-P", "-t", topic],
                   input=b"one\ntwo\nthree\n", check=True, timeout=30)
    out = subprocess.run(["kcat", "-b", secured.sasl_bootstrap, *settings, "-C", "-t", topic, "-o", "beginning",
                          "-c", "3", "-e", "-q"], capture_output=True, check=True, timeout=30)
    assert out.stdout.decode().split() == ["one", "two", "three"]
    refused = subprocess.run(["kcat", "-b", secured.sasl_bootstrap, "-X", "security.protocol=SASL_PLAINTEXT",
                              "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice", "-X", "sasl.password=no",
                              "-L", "-m", "5"], capture_output=True, timeout=30)
    assert refused.returncode != 0
    assert b"Authentication failed" in refused.stderr or b"authentication" in refused.stderr.lower()


def test_java_client_plain_scram_and_user_admin(secured, java):
    topic = unique_topic("java-sasl")
    java.ok("SecurityChecks", "roundtrip", secured.sasl_bootstrap, topic, "PLAIN", "alice", "alice-secret", broker=secured)
    upserted = java.ok("SecurityChecks", "scram-upsert", secured.bootstrap, "javauser", "java-secret", broker=secured)
    assert upserted.facts["SCRAM-SHA-256"] == "4096"
    assert upserted.facts["SCRAM-SHA-512"] == "8192"
    assert upserted.facts["too_few"] == "UnacceptableCredentialException"
    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        java.ok("SecurityChecks", "roundtrip", secured.sasl_bootstrap, topic + mechanism[-3:], mechanism, "javauser",
                "java-secret", broker=secured)
    refused = java.ok("SecurityChecks", "refused", secured.sasl_bootstrap, "SCRAM-SHA-256", "javauser", "wrong", broker=secured)
    assert "invalid credentials" in refused.facts["error"]
    java.ok("SecurityChecks", "scram-delete", secured.bootstrap, "javauser", broker=secured)
    java.ok("SecurityChecks", "refused", secured.sasl_bootstrap, "SCRAM-SHA-512", "javauser", "java-secret", broker=secured)


def test_scram_users_survive_a_restart(vltava_bin, tmp_path):
    process = SecuredBroker(vltava_bin, tmp_path / "data").start()
    try:
        create_scram_user(process, "durable", "durable-secret")
        process.kill9()
        process.start()
        roundtrip_confluent(process, "SCRAM-SHA-512", "durable", "durable-secret", count=10)
    finally:
        process.kill9()


# --- the protocol, byte by byte ---------------------------------------------------------------------------------

def connect(broker):
    sock = socket.create_connection(("127.0.0.1", broker.sasl_port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def test_requests_before_authentication_close_the_connection(secured):
    sock = connect(secured)
    versions = call(sock, "ApiVersions", 3, {"ClientSoftwareName": "t", "ClientSoftwareVersion": "1"})
    assert versions["ErrorCode"] == 0
    assert {17, 36, 50, 51} <= {api["ApiKey"] for api in versions["ApiKeys"]}
    sock.sendall(wire.encode_request("Metadata", 12, {"Topics": None}, correlation_id=9))
    assert is_closed(sock)

    big = connect(secured)
    big.sendall(struct.pack(">i", 600 * 1024) + b"\0" * 1024)
    assert is_closed(big)
    assert secured.process.poll() is None


def test_refusals_answer_then_close(secured):
    sock = connect(secured)
    handshake = call(sock, "SaslHandshake", 1, {"Mechanism": "GSSAPI"})
    assert handshake["ErrorCode"] == UNSUPPORTED_SASL_MECHANISM
    assert handshake["Mechanisms"] == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
    assert is_closed(sock)

    sock = connect(secured)
    answer = plain_login(sock, "alice", "alice-secret", authzid="admin")
    assert answer["ErrorCode"] == SASL_AUTHENTICATION_FAILED
    assert "authorization id" in answer["ErrorMessage"]
    assert is_closed(sock)

    sock = connect(secured)
    answer = plain_login(sock, "alice", "nope")
    assert answer["ErrorCode"] == SASL_AUTHENTICATION_FAILED
    assert answer["ErrorMessage"] == "Authentication failed: Invalid username or password"
    assert is_closed(sock)

    sock = connect(secured)
    answer = call(sock, "SaslAuthenticate", 2, {"AuthBytes": b"\0alice\0alice-secret"})
    assert answer["ErrorCode"] == ILLEGAL_SASL_STATE
    assert is_closed(sock)

    # On the PLAINTEXT listener the SASL APIs are answered with ILLEGAL_SASL_STATE and the connection stays.
    plain = socket.create_connection(("127.0.0.1", secured.port), timeout=10)
    assert call(plain, "SaslHandshake", 1, {"Mechanism": "PLAIN"})["ErrorCode"] == ILLEGAL_SASL_STATE
    assert call(plain, "Metadata", 12, {"Topics": None})["ClusterId"]


def test_v0_handshake_with_raw_tokens(secured):
    sock = connect(secured)
    assert call(sock, "SaslHandshake", 0, {"Mechanism": "PLAIN"})["ErrorCode"] == 0
    sock.sendall(wire.frame(b"\0alice\0alice-secret"))
    assert wire.read_frame(sock) == b""
    assert call(sock, "Metadata", 12, {"Topics": None})["ClusterId"]

    sock = connect(secured)
    assert call(sock, "SaslHandshake", 0, {"Mechanism": "PLAIN"})["ErrorCode"] == 0
    sock.sendall(wire.frame(b"\0alice\0wrong"))
    assert is_closed(sock)


def test_reauthentication(vltava_bin, tmp_path):
    process = SecuredBroker(vltava_bin, tmp_path / "data", extra=["--override", "connections.max.reauth.ms=1500"]).start()
    try:
        # A session lives 1.5 s: authenticated again in time, the connection goes on.
        sock = connect(process)
        answer = plain_login(sock, "alice", "alice-secret")
        assert answer["ErrorCode"] == 0 and answer["SessionLifetimeMs"] == 1500
        time.sleep(1.0)
        assert plain_login(sock, "alice", "alice-secret")["ErrorCode"] == 0
        time.sleep(1.0)
        assert call(sock, "Metadata", 12, {"Topics": None})["ClusterId"]
        # Another user on the same connection is refused.
        answer = plain_login(sock, "admin", "admin-secret")
        assert answer["ErrorCode"] == SASL_AUTHENTICATION_FAILED
        assert is_closed(sock)

        # Not authenticated again: the next request after the session ended closes the connection.
        sock = connect(process)
        assert plain_login(sock, "alice", "alice-secret")["ErrorCode"] == 0
        time.sleep(1.7)
        sock.sendall(wire.encode_request("Metadata", 12, {"Topics": None}, correlation_id=3))
        assert is_closed(sock)

        # Clients that re-authenticate on their own keep producing across many sessions.
        topic = unique_topic("reauth")
        producer = Producer({**sasl_config(process, "PLAIN", "alice", "alice-secret"), "acks": "all"})
        delivered = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            producer.produce(topic, b"x", on_delivery=lambda err, msg: delivered.append(err))
            producer.poll(0.1)
        assert producer.flush(30) == 0
        assert delivered and all(err is None for err in delivered)
    finally:
        process.kill9()


# --- configuration --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,message", [
    (["listeners=SASL_PLAINTEXT://127.0.0.1:{port}"], "sasl.enabled.mechanisms"),
    (["listeners=SASL_PLAINTEXT://127.0.0.1:{port}", "sasl.enabled.mechanisms=GSSAPI"], "GSSAPI is not supported"),
    (["listeners=SSL://127.0.0.1:{port}"], "needs ssl.keystore.location"),
    (["listeners=CLIENT://127.0.0.1:{port}"], "listener CLIENT needs a security protocol"),
    (["listeners=SASL_PLAINTEXT://127.0.0.1:{port}", "sasl.enabled.mechanisms=PLAIN",
      "listener.name.sasl_plaintext.plain.sasl.jaas.config=com.sun.security.auth.module.JndiLoginModule required;"],
     "JndiLoginModule is not supported"),
])
def test_settings_it_cannot_honour_stop_start_up(vltava_bin, tmp_path, overrides, message):
    port = free_port()
    args = [str(vltava_bin), "serve", "--data-dir", str(tmp_path / "data")]
    for override in overrides:
        args += ["--override", override.format(port=port)]
    result = subprocess.run(args, capture_output=True, timeout=30,
                            env={"SCHEMA_REGISTRY_LISTENERS": "none", "CONNECT_LISTENERS": "none", "CONSOLE_LISTENERS": "none", "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert message in result.stderr.decode(), result.stderr.decode()


def test_jaas_file_from_kafka_opts(vltava_bin, tmp_path):
    jaas = tmp_path / "broker_jaas.conf"
    jaas.write_text('KafkaServer {\n  org.apache.kafka.common.security.plain.PlainLoginModule required\n'
                    '  user_carol="carol-secret";\n};\n')
    port, sasl_port = free_port(), free_port()
    process = BrokerProcess(vltava_bin, tmp_path / "data", port, env={
        "KAFKA_OPTS": f"-Xmx1g -Djava.security.auth.login.config={jaas}",
        "KAFKA_LISTENERS": f"PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "KAFKA_SASL_ENABLED_MECHANISMS": "PLAIN",
    }, extra_args=["--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}"]).start()
    try:
        process.sasl_port = sasl_port
        process.sasl_bootstrap = f"127.0.0.1:{sasl_port}"
        assert client_error({"bootstrap.servers": process.sasl_bootstrap, "security.protocol": "SASL_PLAINTEXT",
                                     "sasl.mechanism": "PLAIN", "sasl.username": "carol", "sasl.password": "carol-secret"}) is None
    finally:
        process.kill9()
