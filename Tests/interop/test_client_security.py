"""Vltava's own Kafka client over SASL and TLS (issue 11): the CLI with a client properties file
(`--command-config`, as Kafka's tools take it), the schema registry's store (`SCHEMA_REGISTRY_KAFKASTORE_*`) and a
Connect worker (`security.protocol`, `sasl.*`, `ssl.*` in its properties), against a broker with SASL_SSL, SSL
and SASL_PLAINTEXT listeners."""

import os
import signal
import subprocess
import time

import pytest
import requests
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from conftest import BrokerProcess, free_port, unique_topic
from security_support import consume_values
from test_tls import openssl, pki  # noqa: F401 (the CA and certificates fixture)

PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


class SecuredBroker(BrokerProcess):
    """PLAINTEXT (the test's own administration), SSL, SASL_SSL and SASL_PLAINTEXT listeners."""

    def __init__(self, binary, data_dir, pki, extra=()):  # noqa: F811
        self.ssl_port, self.sasl_ssl_port, self.sasl_port = free_port(), free_port(), free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{self.ssl_port},"
                          f"SASL_SSL://127.0.0.1:{self.sasl_ssl_port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "--override", "ssl.keystore.type=PEM",
            "--override", f"ssl.keystore.location={pki / 'server-keystore.pem'}",
            "--override", f"ssl.truststore.location={pki / 'ca.pem'}",
            "--override", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "--override", f"listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_MODULE} required user_alice=\"alice-secret\";",
            "--override", f"listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_MODULE} required user_alice=\"alice-secret\";",
            "--override", "group.initial.rebalance.delay.ms=0",
            "--log-level", "debug",
            *extra,
        ])


@pytest.fixture(scope="module")
def secured(vltava_bin, tmp_path_factory, pki):  # noqa: F811
    process = SecuredBroker(vltava_bin, tmp_path_factory.mktemp("client-security") / "data", pki).start()
    admin = AdminClient({"bootstrap.servers": process.bootstrap})
    upserts = [UserScramCredentialUpsertion("bob", ScramCredentialInfo(mechanism, 4096), b"bob-secret")
               for mechanism in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(20)
    yield process
    process.kill9()


def properties(path, **values):
    path.write_text("# client properties\n" + "".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def cli(vltava_bin, *args, stdin=None):
    return subprocess.run([str(vltava_bin), *map(str, args)], input=stdin, capture_output=True, timeout=60)


def committed_values(broker, topic, count):
    return consume_values({"bootstrap.servers": broker.bootstrap}, topic, count)


@pytest.mark.parametrize("listener,settings", [
    ("sasl_ssl_port", {"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
                       "sasl.jaas.config": f'{SCRAM_MODULE} required username="bob" password="bob-secret";'}),
    ("sasl_ssl_port", {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
                       "sasl.jaas.config": f'{PLAIN_MODULE} required username="alice" password="alice-secret";'}),
    ("sasl_port", {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                   "sasl.username": "bob", "sasl.password": "bob-secret"}),
    ("ssl_port", {"security.protocol": "SSL"}),
])
def test_the_cli_takes_a_client_properties_file(vltava_bin, secured, pki, tmp_path, listener, settings):  # noqa: F811
    config = properties(tmp_path / "client.properties", **settings, **{
        "ssl.truststore.type": "PEM", "ssl.truststore.location": pki / "ca.pem"})
    bootstrap = f"127.0.0.1:{getattr(secured, listener)}"
    topic = unique_topic("cli-sec")
    created = cli(vltava_bin, "topics", "create", "-b", bootstrap, "--command-config", config, "--topic", topic)
    assert created.returncode == 0, created.stderr
    produced = cli(vltava_bin, "produce", "-b", bootstrap, "--producer.config", config, "--topic", topic,
                   stdin=b"one\ntwo\nthree\n")
    assert produced.returncode == 0, produced.stderr
    consumed = cli(vltava_bin, "consume", "-b", bootstrap, "--consumer.config", config, "--topic", topic, "-e")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.split() == [b"one", b"two", b"three"]
    assert committed_values(secured, topic, 3) == [b"one", b"two", b"three"]
    ready = cli(vltava_bin, "ready", "-b", bootstrap, "--command-config", config, 1, 10)
    assert ready.returncode == 0, ready.stderr


@pytest.mark.parametrize("settings,message", [
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
      "sasl.jaas.config": f'{SCRAM_MODULE} required username="bob" password="wrong";'}, "authentication failed"),
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "nobody", "sasl.password": "x"},
     "authentication failed"),
    ({"security.protocol": "SASL_SSL", "sasl.jaas.config": f'{PLAIN_MODULE} required username="alice" password="alice-secret";'},
     "GSSAPI"),
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER"}, "unsecuredLoginStringClaim_sub"),
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
      "sasl.jaas.config": 'com.example.EvilLoginModule required username="a" password="b";'}, "EvilLoginModule"),
    ({"security.protocol": "TLS"}, "security.protocol must be"),
    ({"security.protocol": "SSL", "ssl.truststore.type": "JKS"}, "Java KeyStore (JKS)"),
    ({"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": "ldap"}, "ssl.endpoint.identification.algorithm"),
])
def test_the_cli_says_why_it_cannot_connect(vltava_bin, secured, pki, tmp_path, settings, message):  # noqa: F811
    config = properties(tmp_path / "client.properties", **{"ssl.truststore.location": pki / "ca.pem", **settings})
    result = cli(vltava_bin, "topics", "list", "-b", f"127.0.0.1:{secured.sasl_ssl_port}", "--command-config", config,
                 "--request-timeout-ms", 10000)
    assert result.returncode != 0
    error = result.stderr.decode()
    assert message in error, error
    assert "NIOSSL" not in error and "BoringSSL" not in error
    assert secured.process.poll() is None


def test_tls_failures_are_said_in_plain_words(vltava_bin, secured, pki, tmp_path):  # noqa: F811
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem", "-days", "1",
            "-subj", "/CN=Other CA", cwd=tmp_path)
    untrusted = properties(tmp_path / "untrusted.properties", **{"security.protocol": "SSL",
                                                                 "ssl.truststore.location": tmp_path / "other.pem"})
    result = cli(vltava_bin, "topics", "list", "-b", f"127.0.0.1:{secured.ssl_port}", "--command-config", untrusted)
    assert result.returncode != 0
    error = result.stderr.decode()
    assert f"cannot connect to 127.0.0.1:{secured.ssl_port}: TLS handshake failed: certificate verify failed" in error, error
    # By name: the certificate names localhost, so the check of the name passes.
    trusted = properties(tmp_path / "trusted.properties", **{"security.protocol": "SSL",
                                                             "ssl.truststore.location": pki / "ca.pem"})
    by_name = cli(vltava_bin, "topics", "list", "-b", f"localhost:{secured.ssl_port}", "--command-config", trusted)
    assert by_name.returncode == 0, by_name.stderr
    # Without a TLS client against a TLS listener, the CLI does not hang: it reports the closed connection.
    plain = cli(vltava_bin, "topics", "list", "-b", f"127.0.0.1:{secured.ssl_port}", "--request-timeout-ms", 5000)
    assert plain.returncode != 0


def test_the_schema_registry_stores_through_sasl_ssl(vltava_bin, secured, pki, tmp_path):  # noqa: F811
    port = free_port()
    environment = {
        **os.environ,
        "SCHEMA_REGISTRY_LISTENERS": f"http://127.0.0.1:{port}",
        "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": f"SASL_SSL://127.0.0.1:{secured.sasl_ssl_port}",
        "SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL": "SASL_SSL",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_MECHANISM": "SCRAM-SHA-256",
        "SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG": f'{SCRAM_MODULE} required username="bob" password="bob-secret";',
        "SCHEMA_REGISTRY_KAFKASTORE_SSL_TRUSTSTORE_LOCATION": str(pki / "ca.pem"),
        "SCHEMA_REGISTRY_KAFKASTORE_SSL_TRUSTSTORE_TYPE": "PEM",
        "SCHEMA_REGISTRY_KAFKASTORE_TOPIC": "_schemas_secured",
    }
    log = open(tmp_path / "registry.log", "wb")
    process = subprocess.Popen([str(vltava_bin), "schema-registry"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/subjects", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        schema = '{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}'
        answer = requests.post(f"{url}/subjects/secured-value/versions", json={"schema": schema}, timeout=30)
        assert answer.status_code == 200, (answer.text, (tmp_path / "registry.log").read_text())
        stored = committed_values(secured, "_schemas_secured", 1)
        assert stored and b'"subject":"secured-value"' in stored[-1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)

    wrong = {**environment, "SCHEMA_REGISTRY_KAFKASTORE_SASL_MECHANISM": "GSSAPI"}
    refused = subprocess.run([str(vltava_bin), "schema-registry"], env=wrong, capture_output=True, timeout=30)
    assert refused.returncode != 0 and b"GSSAPI" in refused.stderr, refused.stderr


def test_a_connect_worker_runs_over_sasl_plaintext(vltava_bin, secured, tmp_path):
    rest_port = free_port()
    source_file = tmp_path / "in.txt"
    lines = [f"secured {i}" for i in range(50)]
    source_file.write_text("\n".join(lines) + "\n")
    topic = unique_topic("connect-sec")
    worker = properties(tmp_path / "worker.properties", **{
        "bootstrap.servers": f"SASL_PLAINTEXT://127.0.0.1:{secured.sasl_port}",
        "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": f'{SCRAM_MODULE} required username="bob" password="bob-secret";',
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.storage.StringConverter",
        "offset.storage.file.filename": tmp_path / "offsets", "offset.flush.interval.ms": 1000,
        "listeners": f"http://127.0.0.1:{rest_port}"})
    connector = properties(tmp_path / "source.properties", **{
        "name": "secured-source", "connector.class": "FileStreamSource", "tasks.max": 1, "file": source_file, "topic": topic})
    log = open(tmp_path / "connect.log", "wb")
    process = subprocess.Popen([str(vltava_bin), "connect", "standalone", str(worker), str(connector)],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        assert [v.decode() for v in committed_values(secured, topic, len(lines))] == lines, \
            (tmp_path / "connect.log").read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_long_lived_client_renews_its_sasl_session(vltava_bin, pki, tmp_path):  # noqa: F811
    """The registry's store client on a listener whose sessions last 2 s: it opens and authenticates a new connection
    before the session ends, so no request is ever made on an expired session (which the broker would close)."""
    broker = SecuredBroker(vltava_bin, tmp_path / "data", pki, extra=["--override", "connections.max.reauth.ms=2000"]).start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        upsert = UserScramCredentialUpsertion("bob", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"bob-secret")
        for future in admin.alter_user_scram_credentials([upsert]).values():
            future.result(20)
        port = free_port()
        environment = {
            **os.environ,
            "SCHEMA_REGISTRY_LISTENERS": f"http://127.0.0.1:{port}",
            "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": f"SASL_PLAINTEXT://127.0.0.1:{broker.sasl_port}",
            "SCHEMA_REGISTRY_KAFKASTORE_SASL_MECHANISM": "SCRAM-SHA-256",
            "SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG": f'{SCRAM_MODULE} required username="bob" password="bob-secret";',
        }
        process = subprocess.Popen([str(vltava_bin), "schema-registry"], env=environment,
                                   stdout=open(tmp_path / "registry.log", "wb"), stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{url}/subjects", timeout=2)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, (tmp_path / "registry.log").read_text()
                    time.sleep(0.2)
            for index in range(4):
                schema = f'{{"type":"record","name":"R{index}","fields":[{{"name":"a","type":"string"}}]}}'
                answer = requests.post(f"{url}/subjects/renewed-{index}-value/versions", json={"schema": schema}, timeout=30)
                assert answer.status_code == 200, (answer.text, (tmp_path / "registry.log").read_text())
                time.sleep(1.5)
            subjects = requests.get(f"{url}/subjects", timeout=10).json()
            assert sorted(s for s in subjects if s.startswith("renewed-")) == [f"renewed-{i}-value" for i in range(4)]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
        # Sessions ran out under the registry several times; none was used past its end.
        assert "SASL session expired" not in broker.log(), broker.log()
        assert broker.log().count("SASL client authenticated") >= 3
    finally:
        broker.kill9()
