"""Transactional offset commits over raw frames: no client can run a whole transaction against this broker until
it has a transaction coordinator, but TxnOffsetCommit alone shows the group coordinator's side. The offsets stay
pending: OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for their partition, a plain OffsetFetch
the last committed offset, and both survive a kill -9."""

import socket
import struct
import subprocess
import time

from conftest import unique_topic

TXN_OFFSET_COMMIT = 28
OFFSET_FETCH = 9
OFFSET_COMMIT = 8
UNSTABLE_OFFSET_COMMIT = 88
COORDINATOR_LOAD_IN_PROGRESS = 14


def string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


def uvarint(value: int) -> bytes:
    out = b""
    while value >= 0x80:
        out += bytes([(value & 0x7F) | 0x80])
        value >>= 7
    return out + bytes([value])


def compact_string(value: str) -> bytes:
    data = value.encode()
    return uvarint(len(data) + 1) + data


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def take(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def string(self) -> str:
        length = self.take(">h")
        value = self.data[self.at:self.at + length].decode()
        self.at += length
        return value

    def compact_string(self):
        length = self.uvarint() - 1
        if length < 0:
            return None
        value = self.data[self.at:self.at + length].decode()
        self.at += length
        return value

    def skip_tagged_fields(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.at += self.uvarint()


def call(broker, api_key: int, version: int, body: bytes, flexible: bool) -> Reader:
    header = struct.pack(">hhi", api_key, version, 7) + string("interop")
    if flexible:
        header += b"\x00"
    payload = header + body
    with socket.create_connection(("127.0.0.1", broker.port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(payload)) + payload)
        received = b""
        while len(received) < 4 or len(received) < 4 + struct.unpack(">i", received[:4])[0]:
            chunk = s.recv(65536)
            assert chunk, "connection closed before the answer"
            received += chunk
    reader = Reader(received[4:])
    assert reader.take(">i") == 7
    if flexible:
        reader.skip_tagged_fields()
    return reader


def txn_offset_commit_v2(broker, group: str, topic: str, offset: int, producer_id=4242, epoch=0) -> int:
    body = (string("tx") + string(group) + struct.pack(">qh", producer_id, epoch) + struct.pack(">i", 1) + string(topic)
            + struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, -1) + string(""))
    reader = call(broker, TXN_OFFSET_COMMIT, 2, body, flexible=False)
    reader.take(">i")
    assert reader.take(">i") == 1 and reader.string() == topic
    assert reader.take(">i") == 1 and reader.take(">i") == 0
    return reader.take(">h")


def offset_commit_v2(broker, group: str, topic: str, offset: int) -> int:
    body = (string(group) + struct.pack(">i", -1) + string("") + struct.pack(">q", -1) + struct.pack(">i", 1)
            + string(topic) + struct.pack(">i", 1) + struct.pack(">iq", 0, offset) + string(""))
    reader = call(broker, OFFSET_COMMIT, 2, body, flexible=False)
    assert reader.take(">i") == 1 and reader.string() == topic
    assert reader.take(">i") == 1 and reader.take(">i") == 0
    return reader.take(">h")


def offset_fetch_v7(broker, group: str, topic: str, require_stable: bool):
    """(top-level error, partition error, committed offset) of partition 0, retried while the coordinator loads."""
    body = (compact_string(group) + uvarint(2) + compact_string(topic) + uvarint(2) + struct.pack(">i", 0) + b"\x00"
            + struct.pack(">?", require_stable) + b"\x00")
    deadline = time.monotonic() + 20
    while True:
        reader = call(broker, OFFSET_FETCH, 7, body, flexible=True)
        reader.take(">i")
        partition_error, offset = None, None
        for _ in range(reader.uvarint() - 1):
            reader.compact_string()
            for _ in range(reader.uvarint() - 1):
                reader.take(">i")
                offset = reader.take(">q")
                reader.take(">i")
                reader.compact_string()
                partition_error = reader.take(">h")
                reader.skip_tagged_fields()
            reader.skip_tagged_fields()
        error = reader.take(">h")
        if error != COORDINATOR_LOAD_IN_PROGRESS or time.monotonic() > deadline:
            return error, partition_error, offset
        time.sleep(0.1)


def test_pending_transactional_offsets_are_unstable_and_survive_a_crash(group_broker, vltava_bin):
    topic = unique_topic("txn-offsets")
    created = subprocess.run([str(vltava_bin), "topics", "create", "--topic", topic, "--partitions", "1",
                              "--replication-factor", "1", "--bootstrap-server", group_broker.bootstrap],
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    group = unique_topic("txn-group")
    assert offset_commit_v2(group_broker, group, topic, 5) == 0
    assert txn_offset_commit_v2(group_broker, group, topic, 10) == 0
    assert offset_fetch_v7(group_broker, group, topic, require_stable=True) == (0, UNSTABLE_OFFSET_COMMIT, -1)
    assert offset_fetch_v7(group_broker, group, topic, require_stable=False) == (0, 0, 5)
    # A fenced producer epoch is refused (the partition of __consumer_offsets saw epoch 0 of producer 4242).
    assert txn_offset_commit_v2(group_broker, group, topic, 11, epoch=1) == 0
    assert txn_offset_commit_v2(group_broker, group, topic, 12, epoch=0) == 47

    group_broker.kill9()
    group_broker.start()
    assert offset_fetch_v7(group_broker, group, topic, require_stable=True) == (0, UNSTABLE_OFFSET_COMMIT, -1)
    assert offset_fetch_v7(group_broker, group, topic, require_stable=False) == (0, 0, 5)
