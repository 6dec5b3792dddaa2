#!/usr/bin/env python3
"""Hostile-client and admin-load benchmark of `vltava serve` (started by scripts/bench-hostile).

Every phase starts a fresh broker (its own temporary data folder, a free loopback port, RLIMIT_NOFILE raised to
the hard limit for it and for this driver), prints one line per figure, and stops everything it started. Every
socket has a timeout and every phase a deadline, so a broker that stalls shows up as a figure, not as a hang.

  1. idle: RSS at start, then with N (10 000) idle connections open, each of which sent one ApiVersions and read
     its answer first (a real Kafka connection); how many were answered and still open; the broker's CPU while
     they sit idle; RSS after they are closed again. Goal: RSS <= 150 MB with the connections open.
  2. unread: a topic of 8 partitions and ~16 MB; one socket with SO_RCVBUF 4 KiB sends 1 000 Fetch v16 requests
     (60 000 bytes per partition, so each answer, ~480 KB, is built in memory) all at once and never reads,
     holding the connection for up to 20 s. The requests the broker read off the socket are counted from the
     kernel's queues (bytes sent, minus bytes still in the client's send queue and in the broker's receive queue,
     from /proc/net/tcp). RSS before and peak; p50/p99/max of 200 Metadata requests from another connection
     meanwhile (and of 100 before, for comparison). 2b: the same with one request every 5 ms.
  3. trickle: request.read.timeout.ms=5000; 1 000 connections each send a Metadata frame one byte a second; how
     many were cut off, after how long (first byte to EOF), RSS, and the Metadata p50/p99 of a good client.
  4. admin load: p50/p99/max of a small Produce v9 (acks=1, one record batch with its CRC-32C) and of a small
     Fetch v16 (MaxWaitMs 0, at the offset just produced), sent one at a time on one connection, 2 000 each
     alone, then for as long as a second connection runs 200 CreateTopics (one topic of 1 partition each, paced
     over 1.5 x the time alone, 5 to 12 s) while a third produces 1 KB every 50 ms to a topic with
     segment.bytes=16384 and segment.ms=1000 (a new segment about every second). Goal: p99 <= 5 ms under load.
     Then the creations alone and the rolls alone (fresh brokers), to tell which load does it, and the loaded
     latencies split by whether a CreateTopics was in flight. A Python loopback echo gives the noise floor.

Good clients and background loads run in child processes of this script (`--worker ...`), so that Python's GIL
in the driver does not add to the latencies measured.

Usage: scripts/bench_hostile.py --binary .build/debug/vltava [--phases 1,2,2b,3,4] [--connections 10000] [--keep]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

SCRIPTS = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))
import fuzz_requests as wire  # noqa: E402  (the spec-driven Kafka request encoder/decoder)

HOST = "127.0.0.1"
MB = 1_000_000
CLIENT_ID = "bench-hostile"
_libc = ctypes.CDLL(None, use_errno=True)


def log(message: str):
    print(f"[bench-hostile {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def figure(phase: str, name: str, value: str):
    print(f"{phase:<8} {name:<58} {value}", flush=True)


def raise_nofile():
    """RLIMIT_NOFILE up to the hard limit (for this process and, through preexec_fn, for the broker)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _broker_preexec():
    raise_nofile()
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: dies with the driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def percentile(values, p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(value: float) -> str:
    return f"{value:.2f} ms"


def mb_kib(kib: Optional[int]) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


# --------------------------------------------------------------------------------------------------------------
# The broker
# --------------------------------------------------------------------------------------------------------------


class Broker:
    def __init__(self, binary: Path, workdir: Path, overrides: dict[str, str]):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.port = free_port()
        self.overrides = overrides
        self.log_path = workdir / "vltava.log"
        self.process: Optional[subprocess.Popen] = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self, timeout: float = 30.0):
        args = [str(self.binary), "serve", "--listeners", f"PLAINTEXT://{HOST}:{self.port}",
                "--data-dir", str(self.data_dir)]
        for name, value in self.overrides.items():
            args += ["--override", f"{name}={value}"]
        env = dict(os.environ)
        env["SCHEMA_REGISTRY_LISTENERS"] = "none"
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                        preexec_fn=_broker_preexec)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vltava exited with {self.process.returncode}: {self.log_tail()}")
            try:
                wire.api_versions(self.bootstrap, timeout=2)
                return self
            except (OSError, RuntimeError, wire.DecodeError):
                time.sleep(0.05)
        raise RuntimeError(f"vltava did not answer on {self.port} within {timeout}s: {self.log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"broker {self.process.pid} did not stop within 15 s of SIGTERM; SIGKILL")
                self.process.kill()
                self.process.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def rss_kib(self) -> Optional[int]:
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def threads(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.process.pid}/task"))
        except OSError:
            return 0

    def open_fds(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.process.pid}/fd"))
        except OSError:
            return 0

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_text()[-chars:]

    def log_count(self, needle: str) -> int:
        return self.log_text().count(needle)


class RssSampler(threading.Thread):
    """Samples the broker's VmRSS every `interval` seconds; keeps the peak and a timeline."""

    def __init__(self, broker: Broker, interval: float = 0.05):
        super().__init__(daemon=True)
        self.broker = broker
        self.interval = interval
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self.stopped = threading.Event()
        self.started_at = time.monotonic()

    def run(self):
        while not self.stopped.is_set():
            value = self.broker.rss_kib()
            if value is not None:
                self.peak = max(self.peak, value)
                self.samples.append((time.monotonic() - self.started_at, value))
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.join(timeout=2)
        return self.peak


# --------------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------------


def request(api, version, values, correlation_id=1) -> bytes:
    return wire.encode_request(api, version, values, correlation_id=correlation_id, client_id=CLIENT_ID)


def ask(sock: socket.socket, api: str, version: int, values: dict, correlation_id: int = 1) -> dict:
    sock.sendall(request(api, version, values, correlation_id))
    payload = wire.read_frame(sock)
    if payload is None:
        raise ConnectionError(f"{api}: connection closed")
    sp = wire.specs()
    correlation, body = wire.decode_response(sp, sp.request(api).api_key, version, payload)
    if correlation != correlation_id:
        raise RuntimeError(f"{api}: correlation id {correlation}, expected {correlation_id}")
    return body


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def create_topic(port: int, name: str, partitions: int, configs: Optional[dict] = None):
    with connect(port, 30) as sock:
        body = ask(sock, "CreateTopics", 7, {
            "Topics": [{"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1,
                        "Configs": [{"Name": k, "Value": v} for k, v in (configs or {}).items()]}],
            "timeoutMs": 30_000})
    code = body["Topics"][0]["ErrorCode"]
    if code not in (0, 36):  # 36: TOPIC_ALREADY_EXISTS
        raise RuntimeError(f"CreateTopics {name}: error {code} {body['Topics'][0].get('ErrorMessage')}")


def topic_id(port: int, name: str) -> bytes:
    with connect(port) as sock:
        body = ask(sock, "Metadata", 12, {"Topics": [{"Name": name}], "AllowAutoTopicCreation": False})
    return body["Topics"][0]["TopicId"]


def produce_request(topic: str, batch: bytes, correlation_id: int = 1) -> bytes:
    return request("Produce", 9, {"TransactionalId": None, "Acks": 1, "TimeoutMs": 30_000, "TopicData": [
        {"Name": topic, "PartitionData": [{"Index": 0, "Records": batch}]}]}, correlation_id)


def fetch_request(tid: bytes, partitions, offset: int, partition_max: int, max_bytes: int,
                  correlation_id: int = 1) -> bytes:
    return request("Fetch", 16, {
        "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": max_bytes, "IsolationLevel": 0, "SessionId": 0,
        "SessionEpoch": -1, "Topics": [{"TopicId": tid, "Partitions": [
            {"Partition": p, "CurrentLeaderEpoch": -1, "FetchOffset": offset, "LastFetchedEpoch": -1,
             "LogStartOffset": -1, "PartitionMaxBytes": partition_max} for p in partitions]}],
        "ForgottenTopicsData": [], "RackId": ""}, correlation_id)


# --------------------------------------------------------------------------------------------------------------
# Workers (child processes: good clients and background loads)
# --------------------------------------------------------------------------------------------------------------


def _wait_go():
    print("ready", flush=True)
    line = sys.stdin.readline()
    if line.strip() != "go":
        sys.exit(0)


def _stdin_says_stop(timeout: float) -> bool:
    readable = selectors.DefaultSelector()
    readable.register(sys.stdin, selectors.EVENT_READ)
    try:
        if readable.select(timeout):
            line = sys.stdin.readline()
            return line == "" or line.strip() == "stop"
        return False
    finally:
        readable.close()


def worker_probe(args: dict) -> dict:
    """A good client: `count` Metadata v12 requests (all topics) one at a time on one connection, `interval`
    seconds apart; a request not answered within `timeout` counts as an error (with its time) and the probe
    reconnects."""
    port, count, interval, timeout = args["port"], args["count"], args["interval"], args.get("timeout", 10.0)
    frame = request("Metadata", 12, {"Topics": None, "AllowAutoTopicCreation": False}, 9)
    sock = connect(port, timeout)
    _wait_go()
    gc.disable()
    latencies, errors, times = [], [], []
    started = time.time()
    deadline = time.monotonic() + args.get("max_seconds", 60)
    for _ in range(count):
        if time.monotonic() > deadline:
            errors.append("deadline")
            break
        times.append(time.time())
        t0 = time.perf_counter()
        try:
            sock.sendall(frame)
            payload = wire.read_frame(sock)
            if payload is None:
                raise ConnectionError("closed")
            latencies.append((time.perf_counter() - t0) * 1000)
        except (OSError, wire.DecodeError) as error:
            latencies.append((time.perf_counter() - t0) * 1000)
            errors.append(f"{type(error).__name__}: {error}")
            try:
                sock.close()
                sock = connect(port, timeout)
            except OSError as again:
                errors.append(f"reconnect: {again}")
                break
        time.sleep(interval)
    sock.close()
    return {"latencies": latencies, "times": times, "errors": errors, "start": started, "end": time.time()}


def worker_creator(args: dict) -> dict:
    """`count` CreateTopics requests (one topic of 1 partition each), one at a time, `interval` seconds apart."""
    port, count, interval, prefix = args["port"], args["count"], args["interval"], args["prefix"]
    sock = connect(port, 30)
    _wait_go()
    gc.disable()
    latencies, codes, spans = [], {}, []
    started = time.time()
    deadline = time.monotonic() + args.get("max_seconds", 60)
    for index in range(count):
        if time.monotonic() > deadline:
            codes["deadline"] = codes.get("deadline", 0) + 1
            break
        frame = request("CreateTopics", 7, {"Topics": [{"Name": f"{prefix}-{index}", "NumPartitions": 1,
                                                         "ReplicationFactor": 1}], "timeoutMs": 30_000}, index)
        next_at = time.perf_counter() + interval
        t0 = time.perf_counter()
        wall = time.time()
        try:
            sock.sendall(frame)
            payload = wire.read_frame(sock)
            latencies.append((time.perf_counter() - t0) * 1000)
            spans.append((wall, time.time()))
            if payload is None:
                codes["closed"] = codes.get("closed", 0) + 1
                break
            _, body = wire.decode_response(wire.specs(), 19, 7, payload)
            code = str(body["Topics"][0]["ErrorCode"])
            codes[code] = codes.get(code, 0) + 1
        except (OSError, wire.DecodeError) as error:
            codes[type(error).__name__] = codes.get(type(error).__name__, 0) + 1
            break
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    sock.close()
    return {"latencies": latencies, "codes": codes, "spans": spans, "start": started, "end": time.time()}


def worker_roller(args: dict) -> dict:
    """Produces one record of `size` bytes every `interval` seconds to `topic` (a topic with tiny segments) until
    told to stop on stdin."""
    port, topic, interval, size = args["port"], args["topic"], args["interval"], args["size"]
    batch = wire.record_batch([(None, b"r" * size)])
    frame = produce_request(topic, batch, 5)
    sock = connect(port, 30)
    _wait_go()
    gc.disable()
    latencies, errors = [], []
    started = time.time()
    deadline = time.monotonic() + args.get("max_seconds", 90)
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            sock.sendall(frame)
            payload = wire.read_frame(sock)
            latencies.append((time.perf_counter() - t0) * 1000)
            if payload is None:
                errors.append("closed")
                break
            _, body = wire.decode_response(wire.specs(), 0, 9, payload)
            code = body["Responses"][0]["PartitionResponses"][0]["ErrorCode"]
            if code:
                errors.append(f"error {code}")
        except (OSError, wire.DecodeError) as error:
            errors.append(f"{type(error).__name__}: {error}")
            break
        if _stdin_says_stop(interval):
            break
    sock.close()
    return {"latencies": latencies, "errors": errors[:20], "error_count": len(errors), "start": started,
            "end": time.time()}


def worker_echo(args: dict) -> dict:
    """The noise floor of client, kernel and scheduler without a broker: answers every frame on one accepted
    connection with a 100-byte frame, until the connection closes."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, args["port"]))
    server.listen(1)
    server.settimeout(30)
    _wait_go()
    conn, _ = server.accept()
    conn.settimeout(60)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answer = struct.pack(">i", 100) + b"\0" * 100
    gc.disable()
    count = 0
    try:
        while wire.read_frame(conn) is not None:
            conn.sendall(answer)
            count += 1
    except OSError:
        pass
    conn.close()
    server.close()
    return {"count": count}


def echo_floor(pairs: int) -> list:
    """Round trips of a Produce-sized frame to worker_echo, one at a time (ms)."""
    port = free_port()
    echo = Worker("echo", {"port": port})
    try:
        echo.wait_ready()
        echo.go()
        frame = produce_request("latency", wire.record_batch([(b"key", b"x" * 100)]), 11)
        sock = None
        for _ in range(100):
            try:
                sock = connect(port, 10)
                break
            except OSError:
                time.sleep(0.05)
        latencies = []
        gc.disable()
        try:
            for _ in range(pairs * 2):
                t0 = time.perf_counter()
                sock.sendall(frame)
                wire.read_frame(sock)
                latencies.append((time.perf_counter() - t0) * 1000)
        finally:
            gc.enable()
            sock.close()
        echo.result(timeout=20)
        return latencies
    finally:
        echo.kill()


WORKERS = {"probe": worker_probe, "creator": worker_creator, "roller": worker_roller, "echo": worker_echo}


class Worker:
    """A `--worker` child process: started, waits until it says ready, then `go`, later `stop` and its JSON."""

    def __init__(self, kind: str, args: dict):
        self.kind = kind
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", kind, json.dumps(args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_broker_preexec)

    def wait_ready(self, timeout: float = 30.0):
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        try:
            if not selector.select(timeout):
                raise RuntimeError(f"worker {self.kind} not ready within {timeout}s")
        finally:
            selector.close()
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"worker {self.kind}: {line!r} {self.process.stderr.read()[-2000:]}")

    def go(self):
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stop(self):
        try:
            self.process.stdin.write("stop\n")
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def result(self, timeout: float = 60.0) -> dict:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate(timeout=10)
            raise RuntimeError(f"worker {self.kind} did not finish within {timeout}s")
        if self.process.returncode != 0:
            raise RuntimeError(f"worker {self.kind} failed ({self.process.returncode}): {err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def run_probe(port: int, count: int, interval: float, during=None, max_seconds: float = 40) -> dict:
    """Runs a Metadata probe worker (while `during()` runs, if given) and returns its result."""
    probe = Worker("probe", {"port": port, "count": count, "interval": interval, "max_seconds": max_seconds})
    try:
        probe.wait_ready()
        probe.go()
        if during:
            during(probe)
        return probe.result(timeout=max_seconds + 20)
    finally:
        probe.kill()


# --------------------------------------------------------------------------------------------------------------
# Kernel socket queues
# --------------------------------------------------------------------------------------------------------------


def tcp_queues() -> dict[tuple[int, int], tuple[int, int]]:
    """{(local port, remote port): (tx_queue, rx_queue)} of the loopback IPv4 sockets in /proc/net/tcp."""
    result = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote, queues = parts[1], parts[2], parts[4]
            tx, rx = queues.split(":")
            result[(int(local.split(":")[1], 16), int(remote.split(":")[1], 16))] = (int(tx, 16), int(rx, 16))
    return result


# --------------------------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------------------------


class Results:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, name: str, value: str, goal: str = "", met: Optional[bool] = None):
        self.rows.append((name, value, goal, "" if met is None else ("yes" if met else "NO")))

    def table(self) -> str:
        widths = [max(len(row[i]) for row in self.rows + [("figure", "value", "goal", "met?")]) for i in range(4)]
        lines = []
        for row in [("figure", "value", "goal", "met?")] + self.rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if len(lines) == 1:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def open_kafka_connections(port: int, count: int, frame: bytes, concurrency: int = 200,
                           seconds: float = 45.0) -> tuple[list, dict, int]:
    """Opens `count` connections, each sending `frame` (ApiVersions) and reading its whole answer, at most
    `concurrency` at a time, in one epoll loop (cheap on the client side). Returns the sockets that were
    answered, the failures by kind, and how many were still unfinished at the deadline."""
    selector = selectors.DefaultSelector()
    answered: list[socket.socket] = []
    errors: dict[str, int] = {}
    inflight: dict[int, list] = {}  # fd: [socket, phase, buffer, started]
    launched = 0
    deadline = time.monotonic() + seconds
    next_scan = 0.0

    def fail(fd: int, kind: str):
        errors[kind] = errors.get(kind, 0) + 1
        entry = inflight.pop(fd)
        selector.unregister(entry[0])
        entry[0].close()

    while (launched < count or inflight) and time.monotonic() < deadline:
        while launched < count and len(inflight) < concurrency:
            s = socket.socket()
            s.setblocking(False)
            launched += 1
            code = s.connect_ex((HOST, port))
            if code not in (0, 115):  # EINPROGRESS
                errors[f"connect errno {code}"] = errors.get(f"connect errno {code}", 0) + 1
                s.close()
                continue
            inflight[s.fileno()] = [s, "connect", b"", time.monotonic()]
            selector.register(s, selectors.EVENT_WRITE)
        now = time.monotonic()
        if now >= next_scan:
            next_scan = now + 0.5
            for fd, entry in list(inflight.items()):
                if now - entry[3] > 15:
                    fail(fd, f"{entry[1]} timeout (15 s)")
        for key, _ in selector.select(0.2):
            fd = key.fd
            entry = inflight.get(fd)
            if entry is None:
                continue
            s = entry[0]
            if entry[1] == "connect":
                code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    fail(fd, f"connect errno {code}")
                    continue
                try:
                    s.send(frame)
                except OSError as error:
                    fail(fd, f"send {type(error).__name__}")
                    continue
                entry[1] = "answer"
                selector.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as error:
                fail(fd, f"recv {type(error).__name__}")
                continue
            if not data:
                fail(fd, "closed before answering")
                continue
            entry[2] += data
            if len(entry[2]) >= 4 and len(entry[2]) >= 4 + struct.unpack(">i", entry[2][:4])[0]:
                selector.unregister(s)
                del inflight[fd]
                answered.append(s)
    unfinished = len(inflight) + (count - launched)
    for entry in inflight.values():
        entry[0].close()
    selector.close()
    return answered, errors, unfinished


def count_open(sockets: list) -> int:
    """How many of the sockets the broker has not closed (no EOF or reset waiting)."""
    return sum(1 for s in sockets if _still_open(s))


def phase_idle(binary: Path, workdir: Path, results: Results, connections: int):
    name = "1-idle"
    broker = Broker(binary, workdir, {"connections.max.idle.ms": "3600000"}).start()
    held: list[socket.socket] = []
    try:
        time.sleep(1.0)
        rss_start = broker.rss_kib()
        figure(name, "RSS at start", mb_kib(rss_start))
        frame = request("ApiVersions", 3, {"ClientSoftwareName": "bench", "ClientSoftwareVersion": "1"}, 1)
        cpu0, t0 = broker.cpu_seconds(), time.monotonic()
        held, errors, unfinished = open_kafka_connections(broker.port, connections, frame)
        took = time.monotonic() - t0
        cpu_open = (broker.cpu_seconds() - cpu0) / took
        answered = len(held)
        figure(name, f"connections answered (of {connections})",
               f"{answered} in {took:.1f} s ({answered / took:.0f}/s, broker CPU {cpu_open * 100:.0f} % of a core); "
               f"errors {errors or 'none'}" + (f"; {unfinished} unfinished at the deadline" if unfinished else ""))
        time.sleep(2.0)
        still_open = count_open(held)
        rss_with = broker.rss_kib()
        fds = broker.open_fds()
        cpu0, t0 = broker.cpu_seconds(), time.monotonic()
        time.sleep(5.0)
        cpu_idle = (broker.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        still_open_later = count_open(held)
        figure(name, "connections still open after 2 s / after 7 s", f"{still_open} / {still_open_later}")
        figure(name, "broker open file descriptors / threads", f"{fds} / {broker.threads()}")
        figure(name, f"RSS with {answered} idle connections", mb_kib(rss_with))
        per_conn = (rss_with - rss_start) / max(1, answered)
        figure(name, "RSS per idle connection", f"{per_conn:.1f} KiB")
        figure(name, "broker CPU while they sit idle (5 s)", f"{cpu_idle * 100:.1f} % of one core")
        for s in held:
            s.close()
        held = []
        time.sleep(3.0)
        rss_after = broker.rss_kib()
        figure(name, "RSS 3 s after closing them", mb_kib(rss_after))
        results.add("1 RSS at start", mb_kib(rss_start))
        results.add(f"1 connections accepted+answered (of {connections})", str(answered),
                    f"{connections}", answered == connections)
        results.add(f"1 RSS with {answered} idle connections", mb_kib(rss_with), "<= 150 MB",
                    rss_with is not None and rss_with * 1024 <= 150 * MB and answered == connections)
        results.add("1 broker CPU with the idle connections", f"{cpu_idle * 100:.1f} % of a core")
        results.add("1 RSS after closing them", mb_kib(rss_after))
        if not broker.alive():
            results.add("1 broker alive", "NO", "alive", False)
    finally:
        for s in held:
            s.close()
        broker.stop()


def phase_unread(binary: Path, workdir: Path, results: Results, pace: float = 0.0):
    """The client that never reads; `pace` > 0 sends one request every `pace` seconds instead of all at once."""
    name = "2b-paced" if pace else "2-unread"
    tag = "2b paced" if pace else "2"
    from confluent_kafka import Producer

    broker = Broker(binary, workdir, {}).start()
    hostile = None
    try:
        topic, partitions = "unread", 8
        create_topic(broker.port, topic, partitions)
        started = time.monotonic()
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20, "batch.size": 60_000,
                             "queue.buffering.max.kbytes": 65536})
        value = b"v" * 1000
        for index in range(16_000):
            while True:
                try:
                    producer.produce(topic, value, partition=index % partitions)
                    break
                except BufferError:
                    producer.poll(0.1)
        left = producer.flush(60)
        if left:
            raise RuntimeError(f"{left} records not delivered within 60 s")
        del producer
        gc.collect()
        figure(name, "prepared 16 000 records of 1000 B on 8 partitions", f"{time.monotonic() - started:.1f} s")
        tid = topic_id(broker.port, topic)
        fetch = fetch_request(tid, range(partitions), 0, 60_000, 50 << 20, 3)
        with connect(broker.port, 30) as sock:  # one answer, read: its size
            sock.sendall(fetch)
            answer = wire.read_frame(sock)
        answer_size = len(answer) + 4
        figure(name, "size of one Fetch answer (read normally)", f"{answer_size / 1000:.0f} KB")

        baseline = run_probe(broker.port, 100, 0.02)
        figure(name, "Metadata p50/p99 before (100 requests)",
               f"{ms(percentile(baseline['latencies'], 50))} / {ms(percentile(baseline['latencies'], 99))}")

        rss_before = broker.rss_kib()
        sampler = RssSampler(broker)
        sampler.start()
        state = {}

        def hostile_client(probe: Worker):
            nonlocal hostile
            hostile = socket.socket()
            hostile.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
            hostile.settimeout(10)
            hostile.connect((HOST, broker.port))
            hostile.settimeout(0.5)
            client_port = hostile.getsockname()[1]
            sent_requests, sent_bytes, stalls = 0, 0, 0
            t0 = time.monotonic()
            deadline = t0 + 20
            stalled_at = None
            while sent_requests < 1000 and time.monotonic() < deadline:
                view = memoryview(fetch)
                while view and time.monotonic() < deadline:
                    try:
                        n = hostile.send(view)
                        sent_bytes += n
                        view = view[n:]
                    except socket.timeout:
                        stalls += 1
                        stalled_at = stalled_at or time.monotonic() - t0
                if not view:
                    sent_requests += 1
                    if pace:
                        time.sleep(pace)
            send_took = time.monotonic() - t0
            # Hold the connection, unread, while the probe runs (at most 20 s in all).
            while probe.process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            queues = tcp_queues()
            client_tx, client_rx = queues.get((client_port, broker.port), (0, 0))
            broker_tx, broker_rx = queues.get((broker.port, client_port), (0, 0))
            state.update(sent_requests=sent_requests, sent_bytes=sent_bytes, stalls=stalls, stalled_at=stalled_at,
                         send_took=send_took, held=time.monotonic() - t0, client_tx=client_tx,
                         client_rx=client_rx, broker_tx=broker_tx, broker_rx=broker_rx,
                         rss_at_end=broker.rss_kib(), still_open=_still_open(hostile))

        probe = run_probe(broker.port, 200, 0.03, during=hostile_client)
        peak = sampler.stop()
        peak_at = next((t for t, v in sampler.samples if v == peak), float("nan"))
        read_bytes = state["sent_bytes"] - state["client_tx"] - state["broker_rx"]
        read_requests = read_bytes / len(fetch)
        in_kernel = state["client_rx"] + state["broker_tx"]
        figure(name, "Fetch requests sent by the client (send stalled?)",
               f"{state['sent_requests']} in {state['send_took']:.2f} s ({state['sent_bytes']} B); "
               + (f"send blocked from {state['stalled_at']:.2f} s" if state["stalled_at"] is not None
                  else "never blocked"))
        figure(name, "requests the broker read off the socket",
               f"{read_requests:.0f} ({read_bytes} B; {state['broker_rx']} B unread in its receive queue, "
               f"{state['client_tx']} B in the client's send queue)")
        figure(name, "answer bytes in kernel buffers (broker tx + client rx)",
               f"{in_kernel} B (~{in_kernel / answer_size:.1f} answers)")
        figure(name, "RSS before / peak (when) / at the end of the hold",
               f"{mb_kib(rss_before)} / {mb_kib(peak)} ({peak_at:.1f} s after the first send) / "
               f"{mb_kib(state['rss_at_end'])}")
        figure(name, "connection still open after the hold", f"{state['still_open']} ({state['held']:.1f} s)")
        lat = probe["latencies"]
        figure(name, f"Metadata p50/p99/max meanwhile ({len(lat)} requests)",
               f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))} / {ms(max(lat) if lat else float('nan'))}; "
               f"errors {probe['errors'] or 'none'}")
        hostile.close()
        hostile = None
        time.sleep(2)
        rss_after = broker.rss_kib()
        figure(name, "RSS 2 s after the client went away", mb_kib(rss_after))
        grown = peak - rss_before
        results.add(f"{tag} unread Fetch: requests read by the broker",
                    f"{read_requests:.0f} of {state['sent_requests']}",
                    "<= ~50 (32 pending + 4 MiB queued)", read_requests <= 50)
        results.add(f"{tag} unread Fetch: RSS before / peak", f"{mb_kib(rss_before)} / {mb_kib(peak)}",
                    "growth < 100 MB", grown * 1024 < 100 * MB)
        results.add(f"{tag} Metadata p50/p99/max meanwhile",
                    f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))} / {ms(max(lat))}",
                    "p99 < 100 ms, no error", percentile(lat, 99) < 100 and not probe["errors"])
        results.add(f"{tag} Metadata p50/p99/max before (alone)",
                    f"{ms(percentile(baseline['latencies'], 50))} / {ms(percentile(baseline['latencies'], 99))} / "
                    f"{ms(max(baseline['latencies']))}")
        results.add(f"{tag} RSS after the client went away", mb_kib(rss_after))
        if not broker.alive():
            results.add(f"{tag} broker alive", "NO", "alive", False)
    finally:
        if hostile is not None:
            hostile.close()
        broker.stop()


def _still_open(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def phase_trickle(binary: Path, workdir: Path, results: Results, count: int = 1000, timeout_ms: int = 5000):
    name = "3-trickle"
    broker = Broker(binary, workdir, {"request.read.timeout.ms": str(timeout_ms)}).start()
    sockets: list[socket.socket] = []
    try:
        time.sleep(0.5)
        rss_start = broker.rss_kib()
        frame = request("Metadata", 12, {"Topics": None, "AllowAutoTopicCreation": False}, 4)
        baseline = run_probe(broker.port, 100, 0.02)["latencies"]
        figure(name, "Metadata p50/p99/max before (100 requests)",
               f"{ms(percentile(baseline, 50))} / {ms(percentile(baseline, 99))} / {ms(max(baseline))}")
        for _ in range(count):
            s = connect(broker.port, 10)
            s.setblocking(False)
            sockets.append(s)
        figure(name, f"{count} connections open, frame of {len(frame)} B sent 1 B/s", f"RSS {mb_kib(broker.rss_kib())}")
        sampler = RssSampler(broker, 0.1)
        sampler.start()
        state = {}

        def trickle(probe: Worker):
            selector = selectors.DefaultSelector()
            first_byte = {}
            closed_after = {}
            position = {s.fileno(): 0 for s in sockets}
            by_fd = {s.fileno(): s for s in sockets}
            for s in sockets:
                selector.register(s, selectors.EVENT_READ)
            t0 = time.monotonic()
            closed_wall = []
            tick_wall = []
            deadline = t0 + 25
            next_tick = t0
            sent_whole = 0
            while len(closed_after) < len(sockets) and time.monotonic() < deadline:
                now = time.monotonic()
                if now >= next_tick:
                    for fd, s in by_fd.items():
                        if fd in closed_after or position[fd] >= len(frame):
                            continue
                        try:
                            s.send(frame[position[fd]:position[fd] + 1])
                            first_byte.setdefault(fd, time.monotonic())
                            position[fd] += 1
                            if position[fd] == len(frame):
                                sent_whole += 1
                        except BlockingIOError:
                            pass
                        except OSError:
                            closed_after.setdefault(fd, time.monotonic() - first_byte.get(fd, t0))
                    next_tick += 1.0
                    tick_wall.append(time.time())
                for key, _ in selector.select(max(0.0, min(next_tick, deadline) - time.monotonic())):
                    fd = key.fd
                    if fd in closed_after:
                        continue
                    try:
                        data = by_fd[fd].recv(4096)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data == b"":
                        closed_after[fd] = time.monotonic() - first_byte.get(fd, t0)
                        closed_wall.append(time.time())
                        selector.unregister(by_fd[fd])
            selector.close()
            state.update(closed_after=list(closed_after.values()), sent_whole=sent_whole,
                         reap_window=(min(closed_wall), max(closed_wall)) if closed_wall else None,
                         ticks=tick_wall,
                         bytes_sent=sorted(position[fd] for fd in closed_after) if closed_after else [],
                         took=time.monotonic() - t0, rss_end=broker.rss_kib())
            # The probe goes on after the reaping, against an otherwise quiet broker: stop waiting for it.

        probe = run_probe(broker.port, 200, 0.04, during=trickle)
        peak = sampler.stop()
        reaped = state["closed_after"]
        figure(name, f"connections cut off (of {count})",
               f"{len(reaped)} within {state['took']:.1f} s; frames that arrived whole: {state['sent_whole']}")
        if reaped:
            figure(name, "first byte to EOF: min / p50 / max",
                   f"{min(reaped):.2f} / {percentile(reaped, 50):.2f} / {max(reaped):.2f} s "
                   f"(request.read.timeout.ms={timeout_ms})")
            figure(name, "bytes each had sent when cut off: min / max",
                   f"{state['bytes_sent'][0]} / {state['bytes_sent'][-1]} of {len(frame)}")
        figure(name, "RSS at start / peak / after",
               f"{mb_kib(rss_start)} / {mb_kib(peak)} / {mb_kib(state['rss_end'])}")
        lat = probe["latencies"]
        figure(name, f"Metadata p50/p99/max meanwhile ({len(lat)} requests)",
               f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))} / {ms(max(lat) if lat else float('nan'))}; "
               f"errors {probe['errors'] or 'none'}")
        if state["reap_window"]:
            first, last = state["reap_window"]
            inside = [l for l, t in zip(lat, probe["times"]) if first - 0.5 <= t <= last + 0.5]
            outside = [l for l, t in zip(lat, probe["times"]) if not first - 0.5 <= t <= last + 0.5]
            figure(name, f"Metadata max while the broker closed them ({last - first:.2f} s) / otherwise",
                   f"{ms(max(inside) if inside else float('nan'))} ({len(inside)} requests) / "
                   f"{ms(max(outside) if outside else float('nan'))} ({len(outside)})")
        if state["ticks"]:
            # Requests that started or ran within 200 ms after a round of 1 000 one-byte sends, and the others.
            def near_tick(start, latency):
                return any(t - latency / 1000 <= start <= t + 0.2 for t in state["ticks"])
            near = [l for l, t in zip(lat, probe["times"]) if near_tick(t, l)]
            far = [l for l, t in zip(lat, probe["times"]) if not near_tick(t, l)]
            figure(name, "Metadata max within 200 ms of a round of 1 000 sends / otherwise",
                   f"{ms(max(near) if near else float('nan'))} ({len(near)}) / "
                   f"{ms(max(far) if far else float('nan'))} ({len(far)})")
        closes = broker.log_count("did not arrive whole")
        figure(name, "broker log: 'did not arrive whole' closes", str(closes))
        limit = timeout_ms / 1000
        in_time = bool(reaped) and len(reaped) == count and max(reaped) <= limit + 2.5
        results.add(f"3 trickling connections cut off (of {count})", str(len(reaped)), str(count),
                    len(reaped) == count)
        if reaped:
            results.add("3 first byte to EOF min / p50 / max",
                        f"{min(reaped):.2f} / {percentile(reaped, 50):.2f} / {max(reaped):.2f} s",
                        f"~{limit:.0f} s (+ tick)", in_time)
        results.add("3 RSS start / peak", f"{mb_kib(rss_start)} / {mb_kib(peak)}")
        results.add("3 Metadata p50/p99/max meanwhile",
                    f"{ms(percentile(lat, 50))} / {ms(percentile(lat, 99))} / {ms(max(lat))}",
                    "p99 < 100 ms, no error", percentile(lat, 99) < 100 and not probe["errors"])
        results.add("3 Metadata p50/p99/max before (alone)",
                    f"{ms(percentile(baseline, 50))} / {ms(percentile(baseline, 99))} / {ms(max(baseline))}")
        if not broker.alive():
            results.add("3 broker alive", "NO", "alive", False)
    finally:
        for s in sockets:
            s.close()
        broker.stop()


def measure_latency(port: int, topic: str, tid: bytes, pairs: int, period: float = 0.0, keep_going=None,
                    seconds: float = 45.0) -> dict:
    """A Produce v9 (acks=1, one batch of one 100-byte record), then a Fetch v16 (MaxWaitMs 0) at the offset it
    was given, one at a time on one connection, a pair started every `period` seconds (at once when the previous
    pair took longer): `pairs` times, or, with `keep_going`, for as long as it says so (at least 200 and at most
    5 x `pairs` times). Latencies in ms, from sending to the whole answer read, with the wall time each started."""
    sp = wire.specs()
    batch = wire.record_batch([(b"key", b"x" * 100)])
    produce = produce_request(topic, batch, 11)
    out = {"produce": [], "fetch": [], "produce_at": [], "fetch_at": [], "errors": []}
    sock = connect(port, 10)
    gc.collect()
    gc.disable()
    started = time.monotonic()
    next_start = time.perf_counter()
    index = 0
    try:
        while time.monotonic() - started < seconds:
            if keep_going is None:
                if index >= pairs:
                    break
            elif index >= 5 * pairs or (index >= 200 and not keep_going()):
                break
            index += 1
            pause = next_start - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            next_start = max(next_start + period, time.perf_counter()) if period else 0
            out["produce_at"].append(time.time())
            t0 = time.perf_counter()
            sock.sendall(produce)
            payload = wire.read_frame(sock)
            out["produce"].append((time.perf_counter() - t0) * 1000)
            if payload is None:
                raise ConnectionError("closed after Produce")
            _, body = wire.decode_response(sp, 0, 9, payload)
            partition = body["Responses"][0]["PartitionResponses"][0]
            if partition["ErrorCode"]:
                out["errors"].append(f"produce error {partition['ErrorCode']}")
                continue
            fetch = fetch_request(tid, [0], partition["BaseOffset"], 65536, 1 << 20, 12)
            out["fetch_at"].append(time.time())
            t0 = time.perf_counter()
            sock.sendall(fetch)
            payload = wire.read_frame(sock)
            out["fetch"].append((time.perf_counter() - t0) * 1000)
            if payload is None:
                raise ConnectionError("closed after Fetch")
            if index % 50 == 1:  # check an answer now and then (decoding is not timed)
                _, body = wire.decode_response(sp, 1, 16, payload)
                p = body["Responses"][0]["Partitions"][0]
                if p["ErrorCode"] or not p["Records"]:
                    out["errors"].append(f"fetch error {p['ErrorCode']} records {len(p['Records'] or b'')} B")
    finally:
        gc.enable()
        sock.close()
    out["took"] = time.monotonic() - started
    return out


def _three(values) -> str:
    worst = max(values) if values else float("nan")
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))} / {ms(worst)}"


def _overlapping(latencies, starts, spans) -> tuple[list, list]:
    """Splits latencies into those of requests whose time overlapped one of `spans` (start, end) and the rest."""
    spans = sorted(spans)
    inside, outside = [], []
    j = 0
    for latency, start in sorted(zip(latencies, starts), key=lambda pair: pair[1]):
        end = start + latency / 1000
        while j < len(spans) and spans[j][1] < start:
            j += 1
        hit = any(a <= end and b >= start for a, b in spans[j:j + 3])
        (inside if hit else outside).append(latency)
    return inside, outside


def admin_load_run(broker: Broker, tid: bytes, pairs: int, creates: int, window: float, with_creates: bool,
                   with_rolls: bool, label: str, name: str, prefix: str) -> dict:
    """Produce/Fetch latency (one at a time, back to back) while a second connection runs `creates` CreateTopics
    paced over `window` s and/or a third produces 1 KB every 50 ms to the topic `rolling` (segment.bytes=16384,
    segment.ms=1000); the measurement lasts as long as the creations (else `window` s), at most 5 x `pairs`."""
    workers: list[Worker] = []
    try:
        creator = roller = None
        if with_creates:
            creator = Worker("creator", {"port": broker.port, "count": creates, "interval": window / creates,
                                         "prefix": prefix, "max_seconds": 60})
            workers.append(creator)
        if with_rolls:
            roller = Worker("roller", {"port": broker.port, "topic": "rolling", "interval": 0.05, "size": 1000,
                                       "max_seconds": 120})
            workers.append(roller)
        for w in workers:
            w.wait_ready()
        for w in workers:
            w.go()
        if roller and not creator:
            time.sleep(0.2)
        start_wall = time.time()
        if creator:
            keep_going = lambda: creator.process.poll() is None  # noqa: E731
        else:
            until = time.monotonic() + window
            keep_going = lambda: time.monotonic() < until  # noqa: E731
        run = measure_latency(broker.port, "latency", tid, pairs, keep_going=keep_going)
        end_wall = time.time()
        if roller:
            roller.stop()
        created = creator.result(timeout=90) if creator else None
        rolled = roller.result(timeout=30) if roller else None
        produce, fetch = run["produce"], run["fetch"]
        figure(name, f"{label}: {len(produce)} Produce + {len(fetch)} Fetch took",
               f"{run['took']:.1f} s; errors {run['errors'] or 'none'}")
        figure(name, f"{label}: Produce p50 / p99 / max", _three(produce))
        figure(name, f"{label}: Fetch p50 / p99 / max", _three(fetch))
        if created:
            c = created["latencies"]
            overlap = max(0.0, min(end_wall, created["end"]) - max(start_wall, created["start"]))
            figure(name, f"{label}: CreateTopics p50 / p99 / max ({len(c)} sent)",
                   f"{_three(c)}; error codes {created['codes']}; during {overlap:.1f} s of the {run['took']:.1f} s")
            spans = created["spans"]
            busy = sum(b - a for a, b in spans)
            inside, outside = _overlapping(produce + fetch, run["produce_at"] + run["fetch_at"], spans)
            figure(name, f"{label}: Produce+Fetch p99 overlapping a CreateTopics / not",
                   f"{ms(percentile(inside, 99))} ({len(inside)}) / {ms(percentile(outside, 99))} ({len(outside)}); "
                   f"a CreateTopics was in flight {busy / max(run['took'], 1e-9) * 100:.0f} % of the time")
            run["inside"], run["outside"] = inside, outside
        if rolled:
            r = rolled["latencies"]
            segments = len(list((broker.data_dir / "rolling-0").glob("*.log")))
            figure(name, f"{label}: rolling-topic Produce p50 / p99 / max ({len(r)} sent)",
                   f"{_three(r)}; errors {rolled['error_count']}; {segments} segments in all "
                   f"after {rolled['end'] - rolled['start']:.1f} s")
        run.update(created=created, rolled=rolled)
        return run
    finally:
        for w in workers:
            w.kill()


def _latency_broker(binary: Path, workdir: Path) -> tuple[Broker, bytes]:
    broker = Broker(binary, workdir, {}).start()
    create_topic(broker.port, "latency", 1)
    create_topic(broker.port, "rolling", 1, {"segment.bytes": "16384", "segment.ms": "1000"})
    tid = topic_id(broker.port, "latency")
    measure_latency(broker.port, "latency", tid, 200)  # warm-up
    return broker, tid


def phase_admin_load(binary: Path, workdir: Path, results: Results, pairs: int = 2000, creates: int = 200):
    name = "4-admin"
    floor = echo_floor(pairs)
    figure(name, f"noise floor: Python loopback echo p50 / p99 / max ({len(floor)})",
           f"{_three(floor)}; load average {os.getloadavg()[0]:.1f}")
    results.add("4 noise floor: loopback echo p50/p99/max", _three(floor))
    broker, tid = _latency_broker(binary, workdir / "a")
    try:
        alone = measure_latency(broker.port, "latency", tid, pairs)
        # The loaded runs last `window` s: long enough for ~2 000 pairs at a loaded pace, the 200 CreateTopics
        # spread over it.
        window = min(12.0, max(5.0, 1.5 * alone["took"]))
        figure(name, f"alone: {pairs} Produce + {pairs} Fetch took",
               f"{alone['took']:.1f} s; errors {alone['errors'] or 'none'}; loaded runs last {window:.1f} s")
        figure(name, "alone: Produce p50 / p99 / max", _three(alone["produce"]))
        figure(name, "alone: Fetch p50 / p99 / max", _three(alone["fetch"]))
        loaded = admin_load_run(broker, tid, pairs, creates, window, True, True, "loaded", name, "admin-load")
        figure(name, "RSS at the end", mb_kib(broker.rss_kib()))
        alive = broker.alive()
    finally:
        broker.stop()
    for label in ("produce", "fetch"):
        title = label.capitalize()
        results.add(f"4 {title} p50/p99/max alone", _three(alone[label]), "p99 <= 5 ms",
                    percentile(alone[label], 99) <= 5)
        results.add(f"4 {title} p50/p99/max under admin load", _three(loaded[label]), "p99 <= 5 ms",
                    percentile(loaded[label], 99) <= 5 and not loaded["errors"])
    results.add("4 CreateTopics p50/p99/max (background)", _three(loaded["created"]["latencies"]))
    results.add("4 Produce+Fetch p99 overlapping a CreateTopics / not",
                f"{ms(percentile(loaded['inside'], 99))} / {ms(percentile(loaded['outside'], 99))}")
    if not alive:
        results.add("4 broker alive", "NO", "alive", False)

    # Which of the two loads does it: each alone, on a fresh broker.
    for label, with_creates, with_rolls in (("creates only", True, False), ("rolls only", False, True)):
        broker, tid = _latency_broker(binary, workdir / label.replace(" ", "-"))
        try:
            run = admin_load_run(broker, tid, pairs, creates, window, with_creates, with_rolls, label, name,
                                 "admin-only")
        finally:
            broker.stop()
        results.add(f"4 Produce / Fetch p99 with {label}",
                    f"{ms(percentile(run['produce'], 99))} / {ms(percentile(run['fetch'], 99))}")


PHASES = {"1": phase_idle, "2": phase_unread, "2b": lambda b, w, r: phase_unread(b, w, r, pace=0.005),
          "3": phase_trickle, "4": phase_admin_load}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.environ.get("VLTAVA_BIN", str(REPO_ROOT / ".build/debug/vltava")))
    parser.add_argument("--phases", default="1,2,2b,3,4")
    parser.add_argument("--connections", type=int, default=10_000, help="idle connections of phase 1")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (broker logs)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "JSON"), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)

    if options.worker:
        kind, args = options.worker
        raise_nofile()
        result = WORKERS[kind](json.loads(args))
        print(json.dumps(result), flush=True)
        return 0

    binary = Path(options.binary).absolute()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        print(f"no vltava binary at {binary}", file=sys.stderr)
        return 2
    soft, hard = raise_nofile()
    log(f"binary {binary}; RLIMIT_NOFILE {soft}/{hard}; {os.cpu_count()} CPUs")
    if options.connections + 100 > soft:
        log(f"warning: RLIMIT_NOFILE {soft} is below {options.connections} connections + 100")
    results = Results()
    root = Path(tempfile.mkdtemp(prefix="vltava-bench-hostile."))
    failed = False
    started = time.monotonic()
    try:
        for number, phase in enumerate(options.phases.split(",")):
            phase = phase.strip()
            if phase not in PHASES:
                raise SystemExit(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
            workdir = root / f"{number}-phase{phase}"
            workdir.mkdir()
            t0 = time.monotonic()
            log(f"phase {phase}; load average {os.getloadavg()[0]:.1f}")
            try:
                if phase == "1":
                    phase_idle(Path(binary), workdir, results, options.connections)
                else:
                    PHASES[phase](Path(binary), workdir, results)
            except Exception as error:  # noqa: BLE001  (a failed phase is a figure; the others still run)
                failed = True
                log(f"phase {phase} failed: {type(error).__name__}: {error}")
                results.add(f"{phase} phase", f"FAILED: {type(error).__name__}: {str(error)[:120]}", "runs", False)
                for path in sorted(workdir.glob("**/vltava.log")):
                    log(f"tail of {path}:\n{path.read_text(errors='replace')[-2000:]}")
            log(f"phase {phase} took {time.monotonic() - t0:.1f} s")
    finally:
        print()
        print(f"summary ({binary}, {time.monotonic() - started:.0f} s)")
        print(results.table(), flush=True)
        if options.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
