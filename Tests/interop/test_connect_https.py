"""Kafka Connect's REST API over HTTPS (issue 11), configured as Kafka's worker is: `listeners=https://...` with the
`listeners.https.ssl.*` settings (or the worker's `ssl.*` when none is prefixed), client certificates with
`listeners.https.ssl.client.auth`, requests a follower forwards to an https leader, and the registry converters
reaching an https schema registry with `schema.registry.ssl.truststore.location`."""

import os
import signal
import subprocess
import time
import uuid

import pytest
import requests

from conftest import GROUP_BROKER_ARGS, BrokerProcess, free_port
from test_connect import wait_until
from test_tls import openssl, pki  # noqa: F401 (the CA and certificates fixture)

STRING = "org.apache.kafka.connect.storage.StringConverter"


@pytest.fixture(scope="module")
def broker(vltava_bin, tmp_path_factory):
    process = BrokerProcess(vltava_bin, tmp_path_factory.mktemp("connect-https") / "data", free_port(),
                            extra_args=[*GROUP_BROKER_ARGS, "--connect-listeners", "none"]).start()
    yield process
    process.kill9()


class HttpsWorker:
    """A `vltava connect standalone|distributed` process whose REST API is https on a free port."""

    def __init__(self, vltava_bin, directory, name, properties, mode="standalone", environment=None):
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.log_path = directory / f"{name}.log"
        path = directory / f"{name}.properties"
        path.write_text("\n".join(f"{k}={v}" for k, v in {"listeners": self.url, **properties}.items()) + "\n")
        self.process = subprocess.Popen([str(vltava_bin), "connect", mode, str(path)], env=environment or dict(os.environ),
                                        stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, **kwargs):
        def healthy():
            assert self.process.poll() is None, self.log()
            try:
                return requests.get(self.url + "/health", timeout=2, **kwargs).status_code == 200
            except requests.exceptions.ConnectionError:
                return False
        wait_until(healthy, 30, self.log)
        return self

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def standalone_properties(broker, directory, **extra):
    return {"bootstrap.servers": broker.bootstrap, "key.converter": STRING, "value.converter": STRING,
            "offset.storage.file.filename": str(directory / f"offsets-{uuid.uuid4().hex[:6]}"), **extra}


def test_rest_api_over_https(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    keystore = tmp_path / "keystore.pem"
    keystore.write_text((pki / "server-keystore.pem").read_text())
    worker = HttpsWorker(vltava_bin, tmp_path, "https", standalone_properties(
        broker, tmp_path, **{"listeners.https.ssl.keystore.location": keystore,
                             "listeners.https.ssl.keystore.type": "PEM"}))
    try:
        worker.wait_healthy(verify=str(pki / "ca.pem"))
        ca = str(pki / "ca.pem")
        assert requests.get(worker.url + "/connectors", verify=ca, timeout=10).json() == []
        source = tmp_path / "in.txt"
        source.write_text("one\ntwo\n")
        created = requests.post(worker.url + "/connectors", verify=ca, timeout=30, json={
            "name": "over-https", "config": {"connector.class": "FileStreamSource", "file": str(source),
                                             "topic": f"https-{uuid.uuid4().hex[:6]}"}})
        assert created.status_code == 201, created.text
        assert "https://127.0.0.1" in worker.log()
        # A renewed certificate written over the keystore is served to new connections without a restart.
        from test_tls import renew_keystore, wait_for_certificate
        renew_keystore(keystore, pki, tmp_path)
        wait_for_certificate(worker.port, pki, "renewed.localhost", worker.log)
        assert requests.get(worker.url + "/connectors", verify=ca, timeout=10).status_code == 200
        # `vltava connectors` over https, trusting the CA given with --cacert.
        listed = subprocess.run([str(vltava_bin), "connectors", "list", "--url", worker.url, "--cacert", ca],
                                capture_output=True, timeout=60)
        assert listed.returncode == 0 and "over-https" in listed.stdout.decode(), listed.stderr
        untrusted = subprocess.run([str(vltava_bin), "connectors", "list", "--url", worker.url], capture_output=True, timeout=60)
        assert untrusted.returncode != 0
        assert f"cannot connect to 127.0.0.1:{worker.port}: TLS handshake failed: certificate verify failed" \
            in untrusted.stderr.decode(), untrusted.stderr
        # Plain HTTP on the https port and a client that does not trust the certificate are refused.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{worker.port}/connectors", timeout=5)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(worker.url + "/connectors", timeout=5)
        assert worker.process.poll() is None
    finally:
        worker.stop()


def test_client_certificates_required(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    """Without a `listeners.https.` setting the worker's own `ssl.*` serve the REST API (Kafka's all-or-nothing rule)."""
    worker = HttpsWorker(vltava_bin, tmp_path, "mtls", standalone_properties(
        broker, tmp_path, **{"ssl.keystore.location": pki / "server-keystore.pem", "ssl.keystore.type": "PEM",
                             "ssl.truststore.location": pki / "ca.pem", "ssl.truststore.type": "PEM",
                             "ssl.client.auth": "required"}))
    try:
        ca = str(pki / "ca.pem")
        client = (str(pki / "client.pem"), str(pki / "client.key"))
        worker.wait_healthy(verify=ca, cert=client)
        assert requests.get(worker.url + "/connectors", verify=ca, cert=client, timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.RequestException):
            requests.get(worker.url + "/connectors", verify=ca, timeout=5)
    finally:
        worker.stop()


def test_a_follower_forwards_to_an_https_leader(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    """Two distributed workers over https, configured through cp-kafka-connect's CONNECT_* variables: changes sent to
    either reach the leader (a follower forwards them over https, trusting the same truststore)."""
    group = f"https-workers-{uuid.uuid4().hex[:6]}"
    environment = {**os.environ,
                   "CONNECT_LISTENERS_HTTPS_SSL_KEYSTORE_LOCATION": str(pki / "server-keystore.pem"),
                   "CONNECT_LISTENERS_HTTPS_SSL_KEYSTORE_TYPE": "PEM",
                   "CONNECT_LISTENERS_HTTPS_SSL_TRUSTSTORE_LOCATION": str(pki / "ca.pem"),
                   "CONNECT_LISTENERS_HTTPS_SSL_TRUSTSTORE_TYPE": "PEM"}
    properties = {"bootstrap.servers": broker.bootstrap, "group.id": group, "key.converter": STRING, "value.converter": STRING,
                  "config.storage.topic": f"{group}-configs", "offset.storage.topic": f"{group}-offsets",
                  "status.storage.topic": f"{group}-status", "config.storage.replication.factor": "1",
                  "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
                  "heartbeat.interval.ms": "500", "session.timeout.ms": "6000", "scheduled.rebalance.max.delay.ms": "3000"}
    workers = [HttpsWorker(vltava_bin, tmp_path, f"worker{i}", properties, mode="distributed", environment=environment)
               for i in range(2)]
    ca = str(pki / "ca.pem")
    try:
        for worker in workers:
            worker.wait_healthy(verify=ca)
        for index, worker in enumerate(workers):
            source = tmp_path / f"in{index}.txt"
            source.write_text("x\n")
            deadline = time.monotonic() + 60
            while True:
                answer = requests.post(worker.url + "/connectors", verify=ca, timeout=30, json={
                    "name": f"forwarded-{index}", "config": {"connector.class": "FileStreamSource", "file": str(source),
                                                             "topic": f"{group}-{index}"}})
                if answer.status_code != 409 or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert answer.status_code == 201, f"{answer.status_code} {answer.text}\n{worker.log()}"
        for worker in workers:
            wait_until(lambda: sorted(requests.get(worker.url + "/connectors", verify=ca, timeout=10).json())
                       == ["forwarded-0", "forwarded-1"], 30, worker.log)
        # The workers name each other by their https URLs.
        assert any("https://127.0.0.1" in worker.log() for worker in workers)
    finally:
        for worker in workers:
            worker.stop()


def test_converters_reach_an_https_registry(vltava_bin, broker, pki, tmp_path):  # noqa: F811
    registry_port = free_port()
    registry_url = f"https://127.0.0.1:{registry_port}"
    registry = subprocess.Popen([str(vltava_bin), "schema-registry"], stdout=open(tmp_path / "registry.log", "wb"),
                                stderr=subprocess.STDOUT, env={
                                    **os.environ, "SCHEMA_REGISTRY_LISTENERS": registry_url,
                                    "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS": broker.bootstrap,
                                    "SCHEMA_REGISTRY_KAFKASTORE_TOPIC": f"_schemas_{uuid.uuid4().hex[:6]}",
                                    "SCHEMA_REGISTRY_SSL_KEYSTORE_LOCATION": str(pki / "server-keystore.pem"),
                                    "SCHEMA_REGISTRY_SSL_KEYSTORE_TYPE": "PEM"})
    topic = f"avro-over-https-{uuid.uuid4().hex[:6]}"
    source = tmp_path / "lines.txt"
    source.write_text("alpha\nbeta\n")
    worker = HttpsWorker(vltava_bin, tmp_path, "registry-client", standalone_properties(
        broker, tmp_path, **{"listeners.https.ssl.keystore.location": pki / "server-keystore.pem",
                             "listeners.https.ssl.keystore.type": "PEM"}))
    ca = str(pki / "ca.pem")
    try:
        def registry_up():
            assert registry.poll() is None, (tmp_path / "registry.log").read_text()
            try:
                return requests.get(registry_url + "/subjects", verify=ca, timeout=2).status_code == 200
            except requests.exceptions.ConnectionError:
                return False
        wait_until(registry_up, 30, lambda: (tmp_path / "registry.log").read_text())
        worker.wait_healthy(verify=ca)
        converter = {"value.converter": "io.confluent.connect.avro.AvroConverter",
                     "value.converter.schema.registry.url": registry_url}
        untrusted = requests.post(worker.url + "/connectors", verify=ca, timeout=30, json={
            "name": "untrusted", "config": {"connector.class": "FileStreamSource", "file": str(source), "topic": topic + "-u",
                                            **converter}})
        assert untrusted.status_code == 201, untrusted.text
        trusted = requests.post(worker.url + "/connectors", verify=ca, timeout=30, json={
            "name": "trusted", "config": {"connector.class": "FileStreamSource", "file": str(source), "topic": topic,
                                          **converter,
                                          "value.converter.schema.registry.ssl.truststore.location": str(pki / "ca.pem"),
                                          "value.converter.schema.registry.ssl.truststore.type": "PEM"}})
        assert trusted.status_code == 201, trusted.text
        wait_until(lambda: f"{topic}-value" in requests.get(registry_url + "/subjects", verify=ca, timeout=5).json(), 30,
                   worker.log)

        # Without the truststore the task fails on the registry's certificate, and says so.
        def failed():
            status = requests.get(worker.url + "/connectors/untrusted/status", verify=ca, timeout=5).json()
            return any(task["state"] == "FAILED" for task in status.get("tasks", []))
        wait_until(failed, 30, worker.log)
        trace = requests.get(worker.url + "/connectors/untrusted/status", verify=ca, timeout=5).json()["tasks"][0]["trace"]
        assert "TLS handshake failed: certificate verify failed" in trace, trace
        assert f"{topic}-u-value" not in requests.get(registry_url + "/subjects", verify=ca, timeout=5).json()
    finally:
        worker.stop()
        registry.send_signal(signal.SIGTERM)
        registry.wait(timeout=20)


@pytest.mark.parametrize("properties, message", [
    ({}, "ssl.keystore.location"),
    ({"listeners": "ftp://127.0.0.1:1"}, "http:// or https://"),
    ({"listeners": "https://127.0.0.1:1,http://127.0.0.1:2"}, "one listener"),
    ({"rest.advertised.listener": "gopher"}, "rest.advertised.listener"),
])
def test_start_up_refuses_what_cannot_be_served(vltava_bin, broker, tmp_path, properties, message):
    path = tmp_path / "worker.properties"
    values = {"listeners": f"https://127.0.0.1:{free_port()}", **standalone_properties(broker, tmp_path), **properties}
    path.write_text("\n".join(f"{k}={v}" for k, v in values.items()) + "\n")
    result = subprocess.run([str(vltava_bin), "connect", "standalone", str(path)], capture_output=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stderr.decode(), result.stderr.decode()
