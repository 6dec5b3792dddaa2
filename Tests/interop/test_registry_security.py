"""The schema registry over HTTPS with HTTP Basic authentication (issue 11), configured as Confluent's image is:
`SCHEMA_REGISTRY_LISTENERS=https://...`, `SCHEMA_REGISTRY_SSL_*`, `SCHEMA_REGISTRY_AUTHENTICATION_METHOD=BASIC`,
`_REALM`, `_ROLES`, `_SKIP_PATHS`, and a JAAS file in `SCHEMA_REGISTRY_OPTS` naming Jetty's PropertyFileLoginModule
and its user file (plain, OBF:, MD5: and CRYPT: passwords)."""

import ctypes
import hashlib
import os
import signal
import subprocess
import time

import pytest
import requests
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from conftest import BrokerProcess, free_port, unique_topic
from test_tls import openssl, pki  # noqa: F401 (the CA and certificates fixture)

SCHEMA = '{"type":"record","name":"Order","fields":[{"name":"id","type":"int"},{"name":"item","type":"string"}]}'


def crypt(password, salt="ab"):
    library = ctypes.CDLL("libcrypt.so.1")
    library.crypt.restype = ctypes.c_char_p
    return library.crypt(password.encode(), salt.encode()).decode()


def write_users(path):
    path.write_text(
        "# Jetty's realm.properties format: name: password[,role ...]\n"
        "barney: changeme,user,developer\n"
        "fred: OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x,user,admin\n"  # letmein, as in Confluent's documentation
        f"wilma: MD5:{hashlib.md5(b'pebbles').hexdigest()},admin\n"
        f"betty: CRYPT:{crypt('bambam')},developer\n"
        "dino: roar,user\n")


@pytest.fixture(scope="module")
def auth_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("registry-auth")
    write_users(d / "passwords")
    (d / "jaas.conf").write_text(
        "SchemaRegistry {\n"
        f'  org.eclipse.jetty.security.jaas.spi.PropertyFileLoginModule required file="{d / "passwords"}" debug="false";\n'
        "};\n")
    return d


def registry_environment(broker, port, pki, auth_files, **extra):  # noqa: F811
    return {
        **os.environ,
        "SCHEMA_REGISTRY_LISTENERS": f"https://127.0.0.1:{port}",
        "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": f"PLAINTEXT://{broker.bootstrap}",
        "SCHEMA_REGISTRY_SSL_KEYSTORE_LOCATION": str(pki / "server-keystore.pem"),
        "SCHEMA_REGISTRY_SSL_KEYSTORE_TYPE": "PEM",
        "SCHEMA_REGISTRY_AUTHENTICATION_METHOD": "BASIC",
        "SCHEMA_REGISTRY_AUTHENTICATION_REALM": "SchemaRegistry",
        "SCHEMA_REGISTRY_AUTHENTICATION_ROLES": "admin,developer",
        "SCHEMA_REGISTRY_AUTHENTICATION_SKIP_PATHS": "/v1/metadata/*",
        "SCHEMA_REGISTRY_OPTS": f"-Xmx512M -Djava.security.auth.login.config={auth_files / 'jaas.conf'}",
        **extra,
    }


class Registry:
    def __init__(self, binary, environment, log_path):
        self.log_path = log_path
        self.process = subprocess.Popen([str(binary), "schema-registry"], env=environment,
                                        stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)

    def wait(self, url, **kwargs):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                requests.get(f"{url}/", timeout=2, **kwargs)
                return self
            except requests.exceptions.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(self.log_path.read_text())

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def broker(vltava_bin, tmp_path_factory):
    process = BrokerProcess(vltava_bin, tmp_path_factory.mktemp("registry-security") / "data", free_port()).start()
    yield process
    process.kill9()


@pytest.fixture(scope="module")
def secured_registry(vltava_bin, broker, pki, auth_files, tmp_path_factory):  # noqa: F811
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    registry = Registry(vltava_bin, registry_environment(broker, port, pki, auth_files),
                        tmp_path_factory.mktemp("registry-log") / "registry.log")
    registry.wait(url, verify=str(pki / "ca.pem"))
    yield url
    registry.stop()


def test_without_credentials_the_answer_is_401_with_a_challenge(secured_registry, pki):  # noqa: F811
    answer = requests.get(f"{secured_registry}/subjects", verify=str(pki / "ca.pem"), timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="SchemaRegistry"'
    assert answer.json() == {"error_code": 401, "message": "Unauthorized"}
    for auth in [("fred", "wrong"), ("nobody", "letmein"), ("fred", "")]:
        wrong = requests.get(f"{secured_registry}/subjects", auth=auth, verify=str(pki / "ca.pem"), timeout=10)
        assert wrong.status_code == 401, auth
    garbled = requests.get(f"{secured_registry}/subjects", headers={"Authorization": "Basic %%%"}, verify=str(pki / "ca.pem"),
                           timeout=10)
    assert garbled.status_code == 401


def test_every_credential_kind_logs_in(secured_registry, pki):  # noqa: F811
    for user, password in [("barney", "changeme"), ("fred", "letmein"), ("wilma", "pebbles"), ("betty", "bambam")]:
        answer = requests.get(f"{secured_registry}/subjects", auth=(user, password), verify=str(pki / "ca.pem"), timeout=10)
        assert answer.status_code == 200, (user, answer.text)


def test_a_user_without_a_permitted_role_gets_403(secured_registry, pki):  # noqa: F811
    answer = requests.get(f"{secured_registry}/subjects", auth=("dino", "roar"), verify=str(pki / "ca.pem"), timeout=10)
    assert answer.status_code == 403
    assert answer.json()["error_code"] == 403


def test_skip_paths_need_no_login(secured_registry, pki):  # noqa: F811
    answer = requests.get(f"{secured_registry}/v1/metadata/id", verify=str(pki / "ca.pem"), timeout=10)
    assert answer.status_code != 401


def test_confluent_kafka_serializers_with_basic_auth_over_https(secured_registry, broker, pki):  # noqa: F811
    client = SchemaRegistryClient({"url": secured_registry, "basic.auth.user.info": "fred:letmein",
                                   "ssl.ca.location": str(pki / "ca.pem")})
    topic = unique_topic("basic-auth")
    serializer = AvroSerializer(client, SCHEMA)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(5):
        producer.produce(topic, value=serializer({"id": i, "item": f"item-{i}"}, SerializationContext(topic, MessageField.VALUE)))
    assert producer.flush(20) == 0
    assert f"{topic}-value" in client.get_subjects()
    deserializer = AvroDeserializer(client)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 5 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.append(deserializer(message.value(), SerializationContext(topic, MessageField.VALUE)))
    consumer.close()
    assert seen == [{"id": i, "item": f"item-{i}"} for i in range(5)]
    # Without the role the serializer cannot register.
    refused = SchemaRegistryClient({"url": secured_registry, "basic.auth.user.info": "dino:roar",
                                    "ssl.ca.location": str(pki / "ca.pem")})
    with pytest.raises(Exception) as raised:
        refused.register_schema(f"{topic}-other", __import__("confluent_kafka.schema_registry", fromlist=["Schema"]).Schema(
            SCHEMA, "AVRO"))
    assert getattr(raised.value, "http_status_code", None) == 403


def test_plain_http_and_untrusted_clients_are_refused(secured_registry, pki, tmp_path):  # noqa: F811
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(secured_registry.replace("https://", "http://") + "/subjects", timeout=5)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem", "-days", "1",
            "-subj", "/CN=Other CA", cwd=tmp_path)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{secured_registry}/subjects", verify=str(tmp_path / "other.pem"), timeout=5)


def test_a_changed_user_file_is_read_again(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    write_users(tmp_path / "passwords")
    (tmp_path / "jaas.conf").write_text(
        f'SchemaRegistry {{ org.eclipse.jetty.jaas.spi.PropertyFileLoginModule required file="{tmp_path / "passwords"}"; }};\n')
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    registry = Registry(vltava_bin, registry_environment(broker, port, pki, tmp_path), tmp_path / "registry.log")
    registry.wait(url, verify=str(pki / "ca.pem"))
    try:
        def status(user, password):
            return requests.get(f"{url}/subjects", auth=(user, password), verify=str(pki / "ca.pem"), timeout=10).status_code

        assert status("pebbles", "new-secret") == 401
        time.sleep(1.1)
        with open(tmp_path / "passwords", "a") as users:
            users.write("pebbles: new-secret,admin\n")
        deadline = time.monotonic() + 10
        while status("pebbles", "new-secret") != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert status("pebbles", "new-secret") == 200
    finally:
        registry.stop()


def test_client_certificates_required(vltava_bin, broker, pki, auth_files, tmp_path):  # noqa: F811
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    environment = registry_environment(broker, port, pki, auth_files, SCHEMA_REGISTRY_SSL_CLIENT_AUTHENTICATION="REQUIRED",
                                       SCHEMA_REGISTRY_SSL_TRUSTSTORE_LOCATION=str(pki / "ca.pem"),
                                       SCHEMA_REGISTRY_SSL_TRUSTSTORE_TYPE="PEM")
    registry = Registry(vltava_bin, environment, tmp_path / "registry.log")
    certificate = (str(pki / "client.pem"), str(pki / "client.key"))
    registry.wait(url, verify=str(pki / "ca.pem"), cert=certificate)
    try:
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(f"{url}/subjects", auth=("fred", "letmein"), verify=str(pki / "ca.pem"), timeout=5)
        answer = requests.get(f"{url}/subjects", auth=("fred", "letmein"), verify=str(pki / "ca.pem"), cert=certificate,
                              timeout=10)
        assert answer.status_code == 200
    finally:
        registry.stop()


@pytest.mark.parametrize("overrides,message", [
    ({"SCHEMA_REGISTRY_AUTHENTICATION_REALM": ""}, "authentication.realm"),
    ({"SCHEMA_REGISTRY_AUTHENTICATION_REALM": "Elsewhere"}, "has no section Elsewhere"),
    ({"SCHEMA_REGISTRY_AUTHENTICATION_METHOD": "BEARER"}, "BEARER is not supported"),
    ({"SCHEMA_REGISTRY_OPTS": "-Xmx512M"}, "java.security.auth.login.config"),
    ({"SCHEMA_REGISTRY_SSL_KEYSTORE_LOCATION": "/nonexistent/keystore.pem"}, "/nonexistent/keystore.pem"),
    ({"SCHEMA_REGISTRY_LISTENERS": "ftp://127.0.0.1:1"}, "http:// or https://"),
])
def test_settings_it_cannot_use_stop_start_up(vltava_bin, broker, pki, auth_files, overrides, message):  # noqa: F811
    environment = registry_environment(broker, free_port(), pki, auth_files, **overrides)
    result = subprocess.run([str(vltava_bin), "schema-registry"], env=environment, capture_output=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stderr.decode(), result.stderr.decode()


def test_other_login_modules_are_refused(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    (tmp_path / "jaas.conf").write_text(
        'SchemaRegistry { org.eclipse.jetty.jaas.spi.LdapLoginModule required hostname="ldap.example"; };\n')
    environment = registry_environment(broker, free_port(), pki, tmp_path)
    result = subprocess.run([str(vltava_bin), "schema-registry"], env=environment, capture_output=True, timeout=30)
    assert result.returncode != 0
    assert "LdapLoginModule is not supported" in result.stderr.decode(), result.stderr.decode()


def test_vltava_serve_runs_its_registry_with_https_and_basic_auth(vltava_bin, pki, auth_files, tmp_path):  # noqa: F811
    port = free_port()
    environment = registry_environment(type("B", (), {"bootstrap": "unused"}), port, pki, auth_files)
    del environment["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"]
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), env={
        key: value for key, value in environment.items() if key.startswith("SCHEMA_REGISTRY_")}).start()
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"{url}/subjects", verify=str(pki / "ca.pem"), timeout=2)
                break
            except requests.exceptions.ConnectionError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 401, process.log()
        ok = requests.post(f"{url}/subjects/served-value/versions", json={"schema": SCHEMA}, auth=("wilma", "pebbles"),
                           verify=str(pki / "ca.pem"), timeout=30)
        assert ok.status_code == 200, ok.text
    finally:
        process.stop()


def test_a_renewed_certificate_is_served_without_a_restart(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    from test_tls import renew_keystore, served_certificate, wait_for_certificate

    keystore = tmp_path / "keystore.pem"
    keystore.write_text((pki / "server-keystore.pem").read_text())
    port = free_port()
    environment = {**os.environ, "SCHEMA_REGISTRY_LISTENERS": f"https://127.0.0.1:{port}",
                   "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": broker.bootstrap,
                   "SCHEMA_REGISTRY_SSL_KEYSTORE_LOCATION": str(keystore), "SCHEMA_REGISTRY_SSL_KEYSTORE_TYPE": "PEM"}
    registry = Registry(vltava_bin, environment, tmp_path / "registry.log").wait(f"https://127.0.0.1:{port}",
                                                                               verify=str(pki / "ca.pem"))
    try:
        assert served_certificate(port, pki)[0] == "localhost"
        renew_keystore(keystore, pki, tmp_path)
        wait_for_certificate(port, pki, "renewed.localhost", lambda: (tmp_path / "registry.log").read_text())
        assert requests.get(f"https://127.0.0.1:{port}/subjects", verify=str(pki / "ca.pem"), timeout=10).status_code == 200
        assert "TLS key and certificates read again" in (tmp_path / "registry.log").read_text()
    finally:
        registry.stop()


def test_the_cli_talks_to_an_https_registry_with_basic_auth(vltava_bin, secured_registry, pki, tmp_path):  # noqa: F811
    """`vltava schemas` over HTTPS: the registry's CA given with --cacert, the credentials in the URL."""
    host = secured_registry.removeprefix("https://")
    schema = tmp_path / "schema.avsc"
    schema.write_text('{"type":"record","name":"CliOverHttps","fields":[{"name":"id","type":"long"}]}')

    def schemas(*args, url=f"https://barney:changeme@{host}", cacert=str(pki / "ca.pem")):
        extra = ["--cacert", cacert] if cacert else []
        return subprocess.run([str(vltava_bin), "schemas", *args, "--registry-url", url, *extra],
                              capture_output=True, timeout=60)

    registered = schemas("register", "cli-https-value", "--file", str(schema))
    assert registered.returncode == 0, registered.stderr
    listed = schemas("list")
    assert listed.returncode == 0 and "cli-https-value" in listed.stdout.decode(), listed.stderr
    untrusted = schemas("list", cacert=None)
    assert untrusted.returncode != 0
    assert "TLS handshake failed: certificate verify failed" in untrusted.stderr.decode(), untrusted.stderr
    anonymous = schemas("list", url=secured_registry)
    assert anonymous.returncode != 0 and "Unauthorized" in anonymous.stderr.decode(), anonymous.stderr
