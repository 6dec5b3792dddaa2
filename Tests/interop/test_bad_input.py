"""Malformed input over a raw socket: each gets the right error or a closed connection, never a crash, a hang
or a large allocation, and the broker keeps serving other clients."""

import socket
import struct
import subprocess

from conftest import REPO_ROOT, unique_topic
from test_produce_consume import create_topic

CAPTURES = REPO_ROOT / "Tests" / "KafkaProtocolTests" / "Fixtures" / "captures"


def connect(broker):
    s = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
    return s


def read_frame(s):
    header = b""
    while len(header) < 4:
        chunk = s.recv(4 - len(header))
        if not chunk:
            return None
        header += chunk
    (size,) = struct.unpack(">i", header)
    body = b""
    while len(body) < size:
        chunk = s.recv(size - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def is_closed(s) -> bool:
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def rss_kib(broker) -> int:
    for line in open(f"/proc/{broker.process.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def still_serves(broker):
    listing = subprocess.run(["kcat", "-b", broker.bootstrap, "-L"], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0 and "1 brokers" in listing.stdout, listing.stderr
    assert broker.process.poll() is None, broker.log()


def test_negative_frame_size_closes_the_connection(broker):
    with connect(broker) as s:
        s.sendall(struct.pack(">i", -5) + b"\x00" * 8)
        assert is_closed(s)
    still_serves(broker)


def test_huge_frame_size_closes_without_allocating(broker):
    before = rss_kib(broker)
    with connect(broker) as s:
        s.sendall(struct.pack(">i", 2_000_000_000) + b"\x00" * 64)
        assert is_closed(s)
    assert rss_kib(broker) - before < 20_000
    still_serves(broker)


def test_array_length_bomb_is_refused(broker):
    before = rss_kib(broker)
    # Metadata v1: header (api key 3, version 1, correlation id 7, client id "x"), then a topic array that
    # claims two billion entries in a 20-byte frame.
    request = struct.pack(">hhih", 3, 1, 7, 1) + b"x" + struct.pack(">i", 2_000_000_000) + b"\x00" * 9
    with connect(broker) as s:
        s.sendall(struct.pack(">i", len(request)) + request)
        assert is_closed(s)
    assert rss_kib(broker) - before < 20_000
    still_serves(broker)


def test_unknown_api_key_closes_the_connection(broker):
    request = struct.pack(">hhih", 999, 0, 11, -1)
    with connect(broker) as s:
        s.sendall(struct.pack(">i", len(request)) + request)
        assert is_closed(s)
    still_serves(broker)


def test_unsupported_api_versions_version_gets_v0_answer(broker):
    request = struct.pack(">hhih", 18, 99, 12, -1) + b"\x00"
    with connect(broker) as s:
        s.sendall(struct.pack(">i", len(request)) + request)
        response = read_frame(s)
    correlation_id, error_code = struct.unpack(">ih", response[:6])
    assert correlation_id == 12
    assert error_code == 35  # UNSUPPORTED_VERSION
    (count,) = struct.unpack(">i", response[6:10])
    assert count > 5


def produce_v9_with_topic(topic: str, corrupt: bool) -> bytes:
    """The captured kafka-python Produce v9 request, retargeted at `topic`, optionally with one record byte flipped."""
    payload = (CAPTURES / "kafka-python" / "Produce-v9-uncompressed.bin").read_bytes()
    (client_id_length,) = struct.unpack(">h", payload[8:10])
    body_start = 10 + client_id_length + 1
    # Body: transactional id (compact nullable string), acks, timeout, topic array count, topic name.
    position = body_start
    transactional_length = payload[position] - 1
    position += 1 + max(0, transactional_length) + 2 + 4
    assert payload[position] == 2, "expected one topic"
    name_length = payload[position + 1] - 1
    rest = payload[position + 2 + name_length:]
    name = topic.encode()
    request = payload[:position] + bytes([2, len(name) + 1]) + name + rest
    if corrupt:
        request = request[:-10] + bytes([request[-10] ^ 0xFF]) + request[-9:]
    return request


def produce_error_code(response: bytes, topic: str) -> int:
    # Header v1: correlation id and an empty tag section; then responses[0].partitions[0].
    position = 4 + 1
    assert response[position] == 2
    name_length = response[position + 1] - 1
    assert response[position + 2:position + 2 + name_length] == topic.encode()
    position += 2 + name_length
    assert response[position] == 2
    index, error_code = struct.unpack(">ih", response[position + 1:position + 7])
    return error_code


def test_bad_crc_is_rejected_and_nothing_appended(broker):
    topic = unique_topic("crc")
    create_topic(broker.bootstrap, topic, partitions=1)
    with connect(broker) as s:
        request = produce_v9_with_topic(topic, corrupt=True)
        s.sendall(struct.pack(">i", len(request)) + request)
        assert produce_error_code(read_frame(s), topic) == 2  # CORRUPT_MESSAGE
        request = produce_v9_with_topic(topic, corrupt=False)
        s.sendall(struct.pack(">i", len(request)) + request)
        assert produce_error_code(read_frame(s), topic) == 0
    listing = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%o\n"],
                             capture_output=True, text=True, timeout=30)
    assert listing.stdout.split()[0] == "0", "the corrupt batch must not have taken offset 0"
    still_serves(broker)
