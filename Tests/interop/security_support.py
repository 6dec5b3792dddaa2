"""What the security tests (test_security, test_tls, test_acls) share: a librdkafka client's first error, and
requests sent byte by byte on a socket (through the request fuzzer's spec-driven encoder)."""

import socket
import sys
import time

from confluent_kafka import Consumer, Producer

from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import fuzz_requests as wire  # noqa: E402


def client_error(config, timeout=15.0):
    """The first error librdkafka reports for a client with these settings, or None once it gets metadata."""
    errors = []
    producer = Producer({**config, "error_cb": errors.append, "socket.timeout.ms": 5000})
    deadline = time.monotonic() + timeout
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
        if errors:
            break
        try:
            producer.list_topics(timeout=0.5)
            return None
        except Exception:  # noqa: BLE001 (kept waiting for the error callback)
            pass
    assert errors, "the client neither got an answer nor reported an error"
    return errors[0]


def call(sock, api, version, values, correlation_id=5):
    """Sends one request on `sock` and decodes its answer."""
    sock.sendall(wire.encode_request(api, version, values, correlation_id=correlation_id))
    payload = wire.read_frame(sock)
    assert payload is not None, f"{api}: connection closed"
    sp = wire.specs()
    correlation, body = wire.decode_response(sp, sp.request(api).api_key, version, payload)
    assert correlation == correlation_id
    return body


def plain_login(sock, user, password, authzid="", version=2):
    """SaslHandshake v1 for PLAIN, then SaslAuthenticate; returns the SaslAuthenticate answer."""
    handshake = call(sock, "SaslHandshake", 1, {"Mechanism": "PLAIN"})
    assert handshake["ErrorCode"] == 0
    return call(sock, "SaslAuthenticate", version, {"AuthBytes": f"{authzid}\0{user}\0{password}".encode()})


def is_closed(sock, timeout=10.0) -> bool:
    """Whether the broker closes `sock` within `timeout` (what it sends before is read and dropped)."""
    sock.settimeout(timeout)
    try:
        while True:
            if sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def consume_values(config, topic, count, timeout=30.0, commit=False):
    """Up to `count` record values of `topic` read from the start by a new group with these settings (bytes)."""
    consumer = Consumer({**config, "group.id": f"g-{topic}", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values = []
    deadline = time.monotonic() + timeout
    while len(values) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            values.append(message.value())
    if commit:
        consumer.commit(asynchronous=False)
    consumer.close()
    return values
