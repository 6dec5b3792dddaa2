"""The registry's HTTP server under hostile clients: idle and trickling connections are closed
(SCHEMA_REGISTRY_IDLE_TIMEOUT_MS), connections beyond SCHEMA_REGISTRY_MAX_CONNECTIONS are refused, oversized
bodies get 413 with Confluent's JSON, and well-behaved requests keep being served throughout."""

import socket
import time

import pytest
import requests

from conftest import BrokerProcess, free_port


def closed(sock, timeout=10.0) -> bool:
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.fixture
def limited_registry(vltava_bin, tmp_path):
    port = free_port()
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=["--schema-registry-listeners", f"http://127.0.0.1:{port}"],
                           env={"SCHEMA_REGISTRY_IDLE_TIMEOUT_MS": "1000", "SCHEMA_REGISTRY_MAX_CONNECTIONS": "20"}).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/subjects", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    yield port, url
    broker.kill9()


def test_idle_and_trickling_connections_are_closed(limited_registry):
    port, url = limited_registry
    idle = socket.create_connection(("127.0.0.1", port))
    trickle = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    for byte in b"GET /subjects HTTP/1.1\r\nHost: x\r\n":
        try:
            trickle.send(bytes([byte]))
        except OSError:
            break
        time.sleep(0.1)
        if time.monotonic() - started > 4:
            break
    assert closed(idle, timeout=5)
    assert closed(trickle, timeout=5), "a request head that trickles in must not hold the connection"
    assert requests.get(url + "/subjects", timeout=5).status_code == 200


def test_connections_beyond_the_limit_are_refused_and_freed_slots_reused(limited_registry):
    port, url = limited_registry
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", port))
    assert closed(extra, timeout=3)
    for s in held:
        s.close()
    time.sleep(0.3)
    assert requests.get(url + "/subjects", timeout=5).status_code == 200


def test_oversized_body_is_413(limited_registry):
    _, url = limited_registry
    body = b'{"schema": "' + b"x" * (17 << 20) + b'"}'
    try:
        response = requests.post(url + "/subjects/big/versions", data=body, timeout=30,
                                 headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    except requests.ConnectionError:
        pytest.skip("the server closed the connection before the client finished sending (allowed)")
    assert response.status_code == 413
    assert response.json()["error_code"] == 413
    assert requests.get(url + "/subjects", timeout=5).status_code == 200
