"""TLS listeners (issue 11): SSL and SASL_SSL with a test CA and certificates made by Debian's openssl at test time;
client certificates (ssl.client.auth, ssl.principal.mapping.rules); PEM, encrypted PEM and PKCS12 keystores;
settings that cannot be used stop start-up with the reason."""

import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from conftest import BrokerProcess, free_port, unique_topic
from security_support import client_error


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate CN=alice,OU=ServiceUsers."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Vltava Test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subject, ext in [("server", "/CN=localhost", ["-extfile", "server.ext"]),
                               ("client", "/O=Example/OU=ServiceUsers/CN=alice", [])]:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", *ext, cwd=d)
    # Kafka's PEM keystore: the key and the certificate chain in one file.
    (d / "server-keystore.pem").write_text((d / "server.key").read_text() + (d / "server.pem").read_text())
    openssl("pkcs8", "-topk8", "-in", "server.key", "-out", "server-encrypted.key", "-passout", "pass:key-pass", cwd=d)
    (d / "server-encrypted-keystore.pem").write_text((d / "server-encrypted.key").read_text() + (d / "server.pem").read_text())
    openssl("pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key", "-out", "server.p12", "-passout", "pass:p12-pass",
            cwd=d)
    # PKCS12 truststores holding the CA alone: OpenSSL 3's default (PBES2, AES-256, MAC SHA-256) and legacy 3DES.
    openssl("pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-out", "truststore.p12", "-passout", "pass:trust-pass", cwd=d)
    openssl("pkcs12", "-export", "-nokeys", "-in", "ca.pem", "-out", "truststore-3des.p12", "-certpbe", "PBE-SHA1-3DES",
            "-passout", "pass:trust-pass", cwd=d)
    return d


class TlsBroker(BrokerProcess):
    """PLAINTEXT (for the test's own administration), SSL and SASL_SSL listeners."""

    def __init__(self, binary, data_dir, pki, extra=()):
        self.ssl_port = free_port()
        self.sasl_ssl_port = free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SSL://127.0.0.1:{self.ssl_port},"
                          f"SASL_SSL://127.0.0.1:{self.sasl_ssl_port}",
            "--override", "ssl.keystore.type=PEM",
            "--override", f"ssl.keystore.location={pki / 'server-keystore.pem'}",
            "--override", f"ssl.truststore.location={pki / 'ca.pem'}",
            "--override", "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
            "--override", "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
                          'required user_alice="alice-secret";',
            "--override", "group.initial.rebalance.delay.ms=0",
            "--log-level", "debug",
            *extra,
        ])


@pytest.fixture(scope="module")
def tls_broker(vltava_bin, tmp_path_factory, pki):
    process = TlsBroker(vltava_bin, tmp_path_factory.mktemp("tls") / "data", pki).start()
    yield process
    process.kill9()


def roundtrip(config, count=50, size=3000):
    """Produces `count` records of `size` bytes and reads them back (records above 64 KiB in all, so that a fetch
    answer would go out with sendfile on a plain connection)."""
    topic = unique_topic("tls")
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
    producer = Producer({**config, "acks": "all", "linger.ms": 5})
    payload = b"x" * size
    for i in range(count):
        producer.produce(topic, key=str(i).encode(), value=payload)
    assert producer.flush(30) == 0
    consumer = Consumer({**config, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            assert message.value() == payload
            seen += 1
    consumer.close()
    assert seen == count


def ssl_config(broker, pki, **extra):
    return {"bootstrap.servers": f"127.0.0.1:{broker.ssl_port}", "security.protocol": "SSL",
            "ssl.ca.location": str(pki / "ca.pem"), **extra}


def test_ssl_listener_with_confluent_kafka_and_kcat(tls_broker, pki):
    roundtrip(ssl_config(tls_broker, pki))
    out = subprocess.run(["kcat", "-b", f"127.0.0.1:{tls_broker.ssl_port}", "-X", "security.protocol=SSL",
                          "-X", f"ssl.ca.location={pki / 'ca.pem'}", "-L", "-m", "10"], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert b"1 brokers" in out.stdout


def test_a_client_that_does_not_trust_the_server_is_refused(tls_broker, pki, tmp_path):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem", "-days", "1",
            "-subj", "/CN=Other CA", cwd=tmp_path)
    error = client_error(ssl_config(tls_broker, pki, **{"ssl.ca.location": str(tmp_path / "other.pem")}))
    assert error is not None
    assert tls_broker.process.poll() is None


def test_sasl_ssl_with_confluent_kafka_and_java(tls_broker, pki, java):
    admin = AdminClient({"bootstrap.servers": tls_broker.bootstrap})
    upsert = UserScramCredentialUpsertion("bob", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"bob-secret")
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(20)
    base = {"bootstrap.servers": f"127.0.0.1:{tls_broker.sasl_ssl_port}", "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(pki / "ca.pem")}
    roundtrip({**base, "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "alice-secret"})
    roundtrip({**base, "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "bob", "sasl.password": "bob-secret"})
    wrong = client_error({**base, "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "bob", "sasl.password": "nope"})
    assert wrong is not None and wrong.code() == KafkaError._AUTHENTICATION
    bootstrap = f"127.0.0.1:{tls_broker.sasl_ssl_port}"
    java.ok("SecurityChecks", "roundtrip", bootstrap, unique_topic("java-tls"), "SCRAM-SHA-512", "bob", "bob-secret",
            pki / "ca.pem", broker=tls_broker)
    java.ok("SecurityChecks", "roundtrip", bootstrap, unique_topic("java-tls"), "PLAIN", "alice", "alice-secret",
            pki / "ca.pem", broker=tls_broker)


def test_client_certificates_required_and_mapped(vltava_bin, tmp_path, pki):
    rules = r"RULE:^CN=([^,]+),OU=ServiceUsers,.*$/$1/L,DEFAULT"
    process = TlsBroker(vltava_bin, tmp_path / "data", pki, extra=[
        "--override", "listener.name.ssl.ssl.client.auth=required",
        "--override", f"ssl.principal.mapping.rules={rules}",
    ]).start()
    try:
        with_certificate = ssl_config(process, pki, **{"ssl.certificate.location": str(pki / "client.pem"),
                                                       "ssl.key.location": str(pki / "client.key")})
        roundtrip(with_certificate, count=5)
        deadline = time.monotonic() + 10
        while "principal=User:alice" not in process.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "principal=User:alice" in process.log()
        error = client_error(ssl_config(process, pki))
        assert error is not None, "a client without a certificate got in"
        # SASL_SSL keeps its own setting (none): no certificate needed there.
        assert client_error({"bootstrap.servers": f"127.0.0.1:{process.sasl_ssl_port}", "security.protocol": "SASL_SSL",
                            "ssl.ca.location": str(pki / "ca.pem"), "sasl.mechanism": "PLAIN", "sasl.username": "alice",
                            "sasl.password": "alice-secret"}) is None
    finally:
        process.kill9()


@pytest.mark.parametrize("maker", ["openssl", "keytool", "openssl-unencrypted"])
def test_pkcs12_truststores_check_client_certificates(vltava_bin, tmp_path, pki, maker):
    """A PKCS12 truststore holding only the CA, as `openssl pkcs12 -export -nokeys` and Java's keytool make them (and
    one without encryption or MAC, read without a password), decides which client certificates get in."""
    store = tmp_path / "truststore.p12"
    password = "trust-pass"
    if maker == "openssl":
        store = pki / "truststore.p12"
    elif maker == "keytool":
        subprocess.run(["keytool", "-importcert", "-noprompt", "-storetype", "PKCS12", "-keystore", str(store), "-storepass", password,
                        "-alias", "ca", "-file", str(pki / "ca.pem")], check=True, capture_output=True, timeout=60)
    else:
        openssl("pkcs12", "-export", "-nokeys", "-in", str(pki / "ca.pem"), "-out", str(store), "-certpbe", "NONE", "-nomac",
                "-passout", "pass:", cwd=tmp_path)
        password = None
    extra = ["--override", "listener.name.ssl.ssl.client.auth=required", "--override", "ssl.truststore.type=PKCS12",
             "--override", f"ssl.truststore.location={store}"]
    if password:
        extra += ["--override", f"ssl.truststore.password={password}"]
    process = TlsBroker(vltava_bin, tmp_path / "data", pki, extra=extra).start()
    try:
        roundtrip(ssl_config(process, pki, **{"ssl.certificate.location": str(pki / "client.pem"),
                                              "ssl.key.location": str(pki / "client.key")}), count=5)
        assert client_error(ssl_config(process, pki)) is not None, "a client without a certificate got in"
    finally:
        process.kill9()


def test_tls_versions(vltava_bin, tmp_path, pki):
    process = TlsBroker(vltava_bin, tmp_path / "data", pki, extra=["--override", "ssl.enabled.protocols=TLSv1.3"]).start()
    try:
        def handshake(flag):
            return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{process.ssl_port}", flag,
                                   "-CAfile", str(pki / "ca.pem")], input=b"", capture_output=True, timeout=30)
        assert b"TLSv1.3" in handshake("-tls1_3").stdout
        assert handshake("-tls1_2").returncode != 0
    finally:
        process.kill9()


@pytest.mark.parametrize("keystore", ["encrypted-pem", "pkcs12"])
def test_keystore_kinds(vltava_bin, tmp_path, pki, keystore):
    if keystore == "encrypted-pem":
        extra = ["--override", f"ssl.keystore.location={pki / 'server-encrypted-keystore.pem'}",
                 "--override", "ssl.key.password=key-pass"]
    else:
        extra = ["--override", "ssl.keystore.type=PKCS12", "--override", f"ssl.keystore.location={pki / 'server.p12'}",
                 "--override", "ssl.keystore.password=p12-pass"]
    process = TlsBroker(vltava_bin, tmp_path / "data", pki, extra=extra).start()
    try:
        roundtrip(ssl_config(process, pki), count=3)
    finally:
        process.kill9()


@pytest.mark.parametrize("overrides,message", [
    ([], "needs ssl.keystore.location"),
    (["ssl.keystore.location={pki}/server-encrypted-keystore.pem", "ssl.key.password=wrong"], "ssl.key.password does not open it"),
    (["ssl.keystore.type=JKS", "ssl.keystore.location={pki}/server.p12"], "Java KeyStore (JKS)"),
    (["ssl.keystore.type=PKCS12", "ssl.keystore.location={pki}/server.p12", "ssl.keystore.password=wrong"], "PKCS12"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.truststore.type=PKCS12", "ssl.truststore.location={pki}/truststore.p12",
      "ssl.truststore.password=wrong"], "ssl.truststore.password does not open it"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.truststore.location={pki}/truststore.p12"],
     "its certificates are encrypted: set ssl.truststore.password"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.truststore.type=PKCS12", "ssl.truststore.location={pki}/truststore-3des.p12",
      "ssl.truststore.password=trust-pass"], "pbeWithSHAAnd3-KeyTripleDES-CBC, which Vltava cannot read"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.truststore.type=PKCS12", "ssl.truststore.location={pki}/ca.pem"],
     "not a PKCS12 file"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.client.auth=sometimes"], "ssl.client.auth"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.cipher.suites=TLS_NULL_WITH_NULL_NULL"], "ssl.cipher.suites"),
    (["ssl.keystore.location={pki}/server-keystore.pem", "ssl.principal.mapping.rules=RULE:oops"], "ssl.principal.mapping.rules"),
])
def test_tls_settings_it_cannot_use_stop_start_up(vltava_bin, tmp_path, pki, overrides, message):
    args = [str(vltava_bin), "serve", "--data-dir", str(tmp_path / "data"),
            "--override", f"listeners=SSL://127.0.0.1:{free_port()}"]
    for override in overrides:
        args += ["--override", override.format(pki=pki)]
    result = subprocess.run(args, capture_output=True, timeout=30,
                            env={"SCHEMA_REGISTRY_LISTENERS": "none", "CONNECT_LISTENERS": "none", "CONSOLE_LISTENERS": "none", "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "listener SSL" in result.stderr.decode() and message in result.stderr.decode(), result.stderr.decode()


@pytest.mark.parametrize("override,message", [
    ("ssl.keystore.locaton=/x.pem", "unknown configuration option 'ssl.keystore.locaton'"),
    ("ssl.engine.factory.class=com.example.Engine", "Vltava loads no classes"),
])
def test_misspelt_or_class_loading_ssl_settings_stop_start_up(vltava_bin, tmp_path, override, message):
    result = subprocess.run([str(vltava_bin), "serve", "--data-dir", str(tmp_path / "data"), "--override",
                             f"listeners=PLAINTEXT://127.0.0.1:{free_port()}", "--override", override],
                            capture_output=True, timeout=30,
                            env={"SCHEMA_REGISTRY_LISTENERS": "none", "CONNECT_LISTENERS": "none", "CONSOLE_LISTENERS": "none", "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert message in result.stderr.decode(), result.stderr.decode()


def served_certificate(port, pki):
    """The subject CN and serial number of the certificate a TLS listener serves to a new connection."""
    import socket
    import ssl

    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            certificate = tls.getpeercert()
    subject = dict(item[0] for item in certificate["subject"])
    return subject["commonName"], certificate["serialNumber"]


def renew_keystore(keystore, pki, directory):
    """Writes over `keystore` a new key and certificate (CN renewed.localhost, another serial) from the same CA."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "renewed.key", "-out", "renewed.csr",
            "-subj", "/CN=renewed.localhost", cwd=directory)
    (directory / "renewed.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "renewed.csr", "-CA", str(pki / "ca.pem"), "-CAkey", str(pki / "ca.key"),
            "-CAcreateserial", "-out", "renewed.pem", "-days", "2", "-extfile", "renewed.ext", cwd=directory)
    keystore.write_text((directory / "renewed.key").read_text() + (directory / "renewed.pem").read_text())


def wait_for_certificate(port, pki, name, log, timeout=15):
    deadline = time.monotonic() + timeout
    while served_certificate(port, pki)[0] != name:
        assert time.monotonic() < deadline, log()
        time.sleep(0.3)


def test_renewed_certificates_are_served_without_a_restart(vltava_bin, tmp_path, pki):
    """The keystore rewritten in place (a renewed certificate) is served to new connections within seconds, while a
    connected producer goes on; a broken keystore is logged and the certificate in force kept."""
    keystore = tmp_path / "keystore.pem"
    keystore.write_text((pki / "server-keystore.pem").read_text())
    process = TlsBroker(vltava_bin, tmp_path / "data", pki, extra=["--override", f"ssl.keystore.location={keystore}"]).start()
    try:
        first = served_certificate(process.ssl_port, pki)
        assert first[0] == "localhost"
        from confluent_kafka import Producer
        producer = Producer({**ssl_config(process, pki), "acks": "all"})
        topic = f"renewal-{time.time_ns()}"
        producer.produce(topic, value=b"before")
        assert producer.flush(30) == 0

        renew_keystore(keystore, pki, tmp_path)
        wait_for_certificate(process.ssl_port, pki, "renewed.localhost", process.log)
        assert served_certificate(process.ssl_port, pki)[1] != first[1]
        assert "TLS key and certificates read again" in process.log()
        # The producer's connection predates the renewal and goes on; new clients get the new certificate.
        producer.produce(topic, value=b"after")
        assert producer.flush(30) == 0
        roundtrip(ssl_config(process, pki), count=5)

        keystore.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        deadline = time.monotonic() + 15
        while "TLS files changed but cannot be used" not in process.log():
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.3)
        assert served_certificate(process.ssl_port, pki)[0] == "renewed.localhost"
        assert process.process.poll() is None
    finally:
        process.kill9()


def test_requests_of_megabytes_arrive_whole_over_tls(tls_broker, pki):
    """Produce requests of several MiB (four partitions of ~900 KB batches each) come in many TLS records and reads:
    the broker gathers each frame whole (growing those above 2 MiB as they arrive) and keeps every byte in place."""
    topic = unique_topic("tls-large")
    config = ssl_config(tls_broker, pki)
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 4)])[topic].result(20)
    producer = Producer({**config, "acks": "all", "linger.ms": 200, "message.max.bytes": 4_000_000,
                         "batch.size": 1_000_000, "compression.type": "none"})
    records = {f"{i}".encode(): bytes([i % 251]) * 100_000 + f"end {i}".encode() for i in range(160)}
    for i, (key, value) in enumerate(records.items()):
        producer.produce(topic, key=key, value=value, partition=i % 4)
    assert producer.flush(60) == 0
    consumer = Consumer({**config, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen = {}
    deadline = time.monotonic() + 60
    while len(seen) < len(records) and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen[message.key()] = message.value()
    consumer.close()
    assert seen == records
    assert tls_broker.process.poll() is None
