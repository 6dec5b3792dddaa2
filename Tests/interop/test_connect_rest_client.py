"""Kafka Connect's REST API through a client from PyPI (kafka-connect-py), as a Connect user's tooling drives it,
against the worker built into `vltava serve`."""

import time

import pytest
from kafka_connect import KafkaConnect
from requests.exceptions import HTTPError

from conftest import BrokerProcess, free_port

FILE_SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"


@pytest.fixture(scope="module")
def connect(vltava_bin, tmp_path_factory):
    directory = tmp_path_factory.mktemp("connect-rest-client")
    url = f"http://127.0.0.1:{free_port()}"
    broker = BrokerProcess(vltava_bin, directory / "data", free_port(), extra_args=["--connect-listeners", url])
    broker.start()
    client = KafkaConnect(url=url)
    deadline = time.monotonic() + 30
    while True:
        try:
            client.get_cluster_info()
            break
        except Exception:
            assert time.monotonic() < deadline, broker.log()
            time.sleep(0.1)
    yield client, directory
    broker.stop()


def wait_for(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def state_of(client, name):
    return client.get_connector_status(name)["connector"]["state"]


def test_connector_lifecycle_through_kafka_connect_py(connect):
    client, directory = connect
    info = client.get_cluster_info()
    assert {"version", "commit", "kafka_cluster_id"} <= set(info)

    source = directory / "in.txt"
    source.write_text("one\ntwo\n")
    config = {"connector.class": FILE_SOURCE, "file": str(source), "topic": "rest-client", "tasks.max": "1"}
    created = client.create_connector({"name": "rest-source", "config": config})
    assert created["name"] == "rest-source" and created["type"] == "source"
    assert created["config"]["file"] == str(source)

    assert "rest-source" in client.list_connectors()
    expanded = client.list_connectors(expand="status")
    assert expanded["rest-source"]["status"]["type"] == "source"
    assert client.get_connector("rest-source")["config"]["topic"] == "rest-client"
    assert client.get_connector_config("rest-source")["tasks.max"] == "1"

    assert wait_for(lambda: state_of(client, "rest-source") == "RUNNING")
    assert wait_for(lambda: len(client.list_connector_tasks("rest-source")) == 1)
    task = client.get_connector_task_status("rest-source", 0)
    assert task["id"] == 0 and task["state"] in {"RUNNING", "UNASSIGNED"}

    updated = client.update_connector("rest-source", {**config, "topic": "rest-client-2"})
    assert updated["config"]["topic"] == "rest-client-2"

    client.pause_connector("rest-source")
    assert wait_for(lambda: state_of(client, "rest-source") == "PAUSED")
    client.resume_connector("rest-source")
    assert wait_for(lambda: state_of(client, "rest-source") == "RUNNING")
    client.restart_connector("rest-source", include_tasks=True)
    assert wait_for(lambda: state_of(client, "rest-source") == "RUNNING")
    client.stop_connector("rest-source")
    assert wait_for(lambda: state_of(client, "rest-source") == "STOPPED")

    client.delete_connector("rest-source")
    assert wait_for(lambda: "rest-source" not in client.list_connectors())


def test_errors_reach_the_client_as_http_errors(connect):
    client, _ = connect
    with pytest.raises(HTTPError) as missing:
        client.get_connector("no-such-connector")
    assert missing.value.response.status_code == 404
    assert "no-such-connector" in missing.value.response.json()["message"]

    with pytest.raises(HTTPError) as invalid:
        client.create_connector({"name": "broken", "config": {"connector.class": "NoSuchConnector"}})
    assert invalid.value.response.status_code == 400
    assert invalid.value.response.json()["error_code"] == 400
