#!/usr/bin/env python3
"""Broker benchmark driver (issue #3, "Benchmark"): runs the same load against Vltava and Tansu, one after the
other, and prints a table with each figure, the ratio Vltava/Tansu and the target of the issue.

Started by scripts/bench inside a private network namespace (`unshare -n`), so every connection stays on the
namespace's loopback. It needs: the vltava binary, the tansu binary, kcat, and a folder holding a
`librdkafka.so.1` (the one bundled with confluent-kafka 2.16: Debian's kcat links librdkafka 2.0.2, which Tansu
0.6 does not answer — its ApiVersions reply makes librdkafka 2.0 fail with "Read underflow").

Figures, per broker:
  * produce throughput, 100 B and 1 KiB records, acks=1 and acks=all (kcat -P from a pre-generated file, or
    confluent-kafka's Producer in a tight loop with --client python), with the client's and the broker's CPU;
  * consume throughput from the page cache (kcat -C -e -o beginning, to /dev/null) with the broker's CPU;
  * p50/p99 produce latency at a fixed 50 MB/s of 1 KiB records, linger.ms=0, acks=all and acks=1, from
    produce() to the delivery callback (and librdkafka's own message latency);
  * start-up time from spawn to the first accepted TCP connection and to the first ApiVersions answer;
  * idle RSS, RSS after producing 10 M records of 100 B, RSS at the end;
  * broker CPU seconds (utime+stime of /proc/PID/stat) per phase and per million records.

Every phase uses a fresh topic with one partition. Every child process gets SIGKILL when this driver dies
(PR_SET_PDEATHSIG) and every wait has a timeout.
"""

import argparse
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
HOST = "127.0.0.1"
MB = 1_000_000

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL when the driver (its parent) dies, whatever the reason.
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def broker_only_options(binary):
    """`vltava serve` options that leave the broker alone: Connect off, for builds that have it (older ones, which a
    comparison may run, do not know the option)."""
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    return ["--connect-listeners", "none"] if "--connect-listeners" in help_text else []


def proc_cpu_seconds(pid):
    """utime + stime of every thread of the process, in seconds (resolution 1/CLK_TCK)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_mb(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / MB


def run_timed(cmd, timeout, stdin=None, stdout=subprocess.DEVNULL, env=None):
    """Runs cmd, returns (wall seconds, child CPU seconds, returncode, stderr text). Killed after timeout."""
    err_path = f"/tmp/.bench-stderr-{os.getpid()}-{threading.get_ident()}"
    with open(err_path, "w+b") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=err, env=env, preexec_fn=_die_with_parent)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    os.unlink(err_path)
    timed_out = wall >= timeout
    return wall, ru.ru_utime + ru.ru_stime, (-9 if timed_out else p.returncode), text


# --------------------------------------------------------------------------------------------------------
# Brokers


class Broker:
    name = "?"

    def __init__(self, workdir):
        self.workdir = workdir
        self.proc = None
        self.port = None
        self.log_path = os.path.join(workdir, f"{self.name}.log")

    @property
    def bootstrap(self):
        return f"{HOST}:{self.port}"

    def command(self, port, run_id):
        raise NotImplementedError

    def spawn(self, run_id="main"):
        self.port = free_port()
        cmd = self.command(self.port, run_id)
        logf = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        logf.close()
        return t0

    def wait_listening(self, t0, timeout=30.0):
        """Seconds from t0 (before spawn) to the first accepted TCP connection, then to the first ApiVersions
        answer on that connection."""
        deadline = t0 + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.connect((HOST, self.port))
                t_conn = time.perf_counter() - t0
                break
            except OSError:
                s.close()
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{self.name} did not listen within {timeout}s; see {self.log_path}")
                time.sleep(0.0002)
        try:
            s.settimeout(max(1.0, deadline - time.perf_counter()))
            # ApiVersions v0: size, api_key 18, version 0, correlation id 1, client id "bench".
            body = struct.pack(">hhih", 18, 0, 1, 5) + b"bench"
            s.sendall(struct.pack(">i", len(body)) + body)
            head = b""
            while len(head) < 4:
                chunk = s.recv(4 - len(head))
                if not chunk:
                    raise RuntimeError(f"{self.name} closed the connection before answering ApiVersions")
                head += chunk
            size = struct.unpack(">i", head)[0]
            got = 0
            while got < size:
                chunk = s.recv(size - got)
                if not chunk:
                    raise RuntimeError(f"{self.name} closed the connection mid-answer")
                got += len(chunk)
            t_api = time.perf_counter() - t0
        finally:
            s.close()
        return t_conn, t_api

    def stop(self, timeout=15.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def cpu(self):
        return proc_cpu_seconds(self.proc.pid)

    def rss(self):
        return proc_rss_mb(self.proc.pid)


class Vltava(Broker):
    name = "vltava"

    def __init__(self, workdir, binary):
        self.binary = binary
        super().__init__(workdir)

    def command(self, port, run_id):
        data = os.path.join(self.workdir, f"vltava-data-{run_id}")
        shutil.rmtree(data, ignore_errors=True)
        os.makedirs(data)
        # The broker alone, as Tansu is (Connect off; it is measured by scripts/bench-connect); the schema
        # registry's own idle memory is measured separately.
        return [self.binary, "serve", "--listeners", f"PLAINTEXT://{HOST}:{port}", "--data-dir", data,
                "--schema-registry-listeners", self.registry, *broker_only_options(self.binary)]

    registry = "none"


class Tansu(Broker):
    name = "tansu"

    def __init__(self, workdir, binary):
        self.binary = binary
        super().__init__(workdir)

    def command(self, port, run_id):
        url = f"tcp://{HOST}:{port}"
        return [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]


# --------------------------------------------------------------------------------------------------------
# Clients


def create_topic(bootstrap, topic):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)],
                                  operation_timeout=10, request_timeout=15)
    futures[topic].result(timeout=20)
    # Wait until the topic is in the metadata with a leader.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        md = admin.list_topics(topic, timeout=5)
        t = md.topics.get(topic)
        if t is not None and t.error is None and 0 in t.partitions and t.partitions[0].leader >= 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"topic {topic} has no leader after 20 s")


def high_watermark(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermarks", "enable.auto.commit": False})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=15)[1]
    finally:
        c.close()


class Clients:
    def __init__(self, kcat, rdkafka_dir, python):
        self.kcat = kcat
        self.env = dict(os.environ)
        if rdkafka_dir:
            self.env["LD_LIBRARY_PATH"] = rdkafka_dir + (":" + self.env["LD_LIBRARY_PATH"]
                                                         if self.env.get("LD_LIBRARY_PATH") else "")
        self.python = python

    def kcat_version(self):
        out = subprocess.run([self.kcat, "-V"], capture_output=True, text=True, env=self.env, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Version"):
                return line.split("(")[0].strip() + ", librdkafka " + line.split("librdkafka ")[1].split()[0]
        return "kcat ?"

    def produce(self, client, bootstrap, topic, acks, path, count, size, timeout):
        """Produces `count` records of `size` bytes; returns (wall, client CPU)."""
        if client == "kcat":
            cmd = [self.kcat, "-b", bootstrap, "-P", "-t", topic, "-p", "0", "-c", str(count),
                   "-X", f"acks={acks}", "-X", "linger.ms=5", "-X", "batch.num.messages=100000",
                   "-X", "queue.buffering.max.messages=1000000", "-X", "queue.buffering.max.kbytes=1048576"]
            with open(path, "rb") as f:
                wall, cpu, rc, err = run_timed(cmd, timeout, stdin=f, env=self.env)
        else:
            cmd = [self.python, os.path.abspath(__file__), "python-producer", bootstrap, topic, str(acks),
                   str(count), str(size)]
            wall, cpu, rc, err = run_timed(cmd, timeout, env=self.env)
        if rc != 0 or "fail" in err.lower() or "error" in err.lower():
            raise RuntimeError(f"{client} produce to {topic} exited {rc}: {err.strip()[:800]}")
        return wall, cpu

    CONSUME_OPTIONS = ["-X", "fetch.queue.backoff.ms=10", "-X", "fetch.wait.max.ms=10"]

    def consume(self, bootstrap, topic, timeout):
        """kcat -C -e -o beginning > /dev/null; returns (wall, client CPU, offset kcat reached).

        Not -q: its one informational line, "Reached end of topic T [0] at offset N", is the count check.
        fetch.queue.backoff.ms=10: when kcat's own thread falls behind, librdkafka's queue reaches
        queued.min.messages and by default it stops fetching for a whole second (seen here mid-run), which
        measures the client's scheduling, not the broker. fetch.wait.max.ms=10: the last fetch (at the end of
        the log) is a long poll; by default it adds 500 ms to every run."""
        cmd = [self.kcat, "-b", bootstrap, "-C", "-t", topic, "-e", "-o", "beginning", *self.CONSUME_OPTIONS]
        wall, cpu, rc, err = run_timed(cmd, timeout, stdout=subprocess.DEVNULL, env=self.env)
        if rc != 0:
            raise RuntimeError(f"kcat consume of {topic} exited {rc}: {err.strip()[:800]}")
        reached = None
        for line in err.splitlines():
            if "Reached end of topic" in line and " at offset " in line:
                reached = int(line.split(" at offset ")[1].split(":")[0])
        return wall, cpu, reached


def python_producer_main(argv):
    """Child process: confluent-kafka Producer in a tight loop (the --client python alternative)."""
    from confluent_kafka import Producer
    bootstrap, topic, acks, count, size = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    failures = [0]

    def on_delivery(err, msg):
        if err is not None:
            failures[0] += 1

    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "batch.num.messages": 100000,
                  "queue.buffering.max.messages": 1000000, "queue.buffering.max.kbytes": 1048576,
                  "on_delivery": on_delivery})
    value = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    produce, poll = p.produce, p.poll
    i = 0
    while i < count:
        try:
            produce(topic, value, partition=0)
            i += 1
        except BufferError:
            poll(0.001)
    left = p.flush(120)
    if left or failures[0]:
        print(f"python producer: {left} undelivered, {failures[0]} failed", file=sys.stderr)
        sys.exit(1)


# --------------------------------------------------------------------------------------------------------
# Latency at a fixed rate


def latency_run(bootstrap, topic, acks, rate_bytes, size, seconds, warmup):
    from confluent_kafka import Producer
    sends = []
    lat_cb = []
    lat_rd = []
    errors = [0]
    now = time.perf_counter
    unpack = struct.Struct("<d").unpack
    warm_end = [0.0]

    def on_delivery(err, msg):
        if err is not None:
            errors[0] += 1
            return
        t = now()
        sent = unpack(msg.key())[0]
        if sent >= warm_end[0]:
            lat_cb.append(t - sent)
            lat_rd.append(msg.latency())

    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 0,
                  "queue.buffering.max.messages": 1000000, "on_delivery": on_delivery})
    p.list_topics(topic, timeout=10)
    value = os.urandom(size)
    rate = rate_bytes / size
    pack = struct.Struct("<d").pack
    produce, poll = p.produce, p.poll
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = now()
    warm_end[0] = t0 + warmup
    end = t0 + warmup + seconds
    sent = 0
    # Produce the records due by now, then serve delivery callbacks: poll() returns as soon as one was served
    # and blocks at most 1 ms (its timeout has millisecond resolution: anything below 1 ms would spin).
    while True:
        t = now()
        if t >= end:
            break
        due = int((t - t0) * rate)
        while sent < due:
            try:
                produce(topic, value, key=pack(now()), partition=0)
                sent += 1
            except BufferError:
                poll(0.001)
        poll(0.001)
    elapsed = now() - t0
    left = p.flush(30)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    lat_cb.sort()
    lat_rd.sort()

    def pct(xs, q):
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    return {"sent": sent, "achieved_MBps": sent * size / elapsed / MB, "errors": errors[0], "undelivered": left,
            "p50_ms": pct(lat_cb, 0.50), "p99_ms": pct(lat_cb, 0.99), "max_ms": pct(lat_cb, 1.0),
            "rd_p50_ms": pct(lat_rd, 0.50), "rd_p99_ms": pct(lat_rd, 0.99), "measured": len(lat_cb),
            "client_cpu": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime), "seconds": elapsed}


# --------------------------------------------------------------------------------------------------------
# One broker, all phases


def bench_broker(broker, clients, cfg, files, res):
    """Fills res (partial results stay there if a phase fails)."""
    log(f"{broker.name}: start-up x{cfg.startup_runs}")
    conn, api = [], []
    for i in range(cfg.startup_runs):
        t0 = broker.spawn(run_id=f"startup{i}")
        try:
            c, a = broker.wait_listening(t0)
        finally:
            broker.stop()
        conn.append(c * 1000)
        api.append(a * 1000)
    res["startup_ms"] = statistics.median(conn)
    res["startup_api_ms"] = statistics.median(api)
    res["startup_all_ms"] = [round(x, 1) for x in conn]

    if broker.name == "vltava":
        broker.registry = f"http://{HOST}:{free_port()}"
        t0 = broker.spawn(run_id="registry")
        try:
            broker.wait_listening(t0)
            time.sleep(1.5)
            res["idle_rss_registry_mb"] = broker.rss()
        finally:
            broker.stop()
            broker.registry = "none"

    t0 = broker.spawn()
    broker.wait_listening(t0)
    try:
        time.sleep(1.0)
        res["idle_rss_mb"] = broker.rss()
        res["idle_cpu_s"] = broker.cpu()

        def produce_phase(key, size, acks, count):
            topic = f"bench-{key}"
            create_topic(broker.bootstrap, topic)
            log(f"{broker.name}: produce {count:,} x {size} B acks={acks} ({cfg.client})")
            c0 = broker.cpu()
            wall, ccpu = clients.produce(cfg.client, broker.bootstrap, topic, acks, files[size], count, size,
                                         timeout=cfg.phase_timeout)
            c1 = broker.cpu()
            hw = high_watermark(broker.bootstrap, topic)
            if hw != count:
                res["notes"].append(f"{topic}: ListOffsets(latest) answered {hw:,} after {count:,} records "
                                    "(kcat reported every record delivered)")
            res["phases"][key] = {"topic": topic, "count": count, "size": size, "seconds": wall,
                                  "msgs": count / wall, "MBps": count * size / wall / MB, "client_cpu": ccpu,
                                  "broker_cpu": c1 - c0, "broker_cpu_per_M": (c1 - c0) / (count / 1e6)}
            return topic

        produce_phase("p100-acks1", 100, 1, cfg.n100_big)
        res["rss_after_big_mb"] = broker.rss()
        produce_phase("p100-acksall", 100, "all", cfg.n100)
        produce_phase("p1k-acks1", 1024, 1, cfg.n1k)
        produce_phase("p1k-acksall", 1024, "all", cfg.n1k)

        for key, src in (("c100", "p100-acks1"), ("c1k", "p1k-acks1")):
            ph = res["phases"][src]
            log(f"{broker.name}: consume {ph['count']:,} x {ph['size']} B from {ph['topic']}")
            c0 = broker.cpu()
            wall, ccpu, reached = clients.consume(broker.bootstrap, ph["topic"], timeout=cfg.phase_timeout)
            c1 = broker.cpu()
            got = ph["count"]
            if reached != got:
                raise RuntimeError(f"{broker.name}: kcat reached offset {reached} of {ph['topic']}, "
                                   f"expected {got}")
            res["phases"][key] = {"count": got, "size": ph["size"], "seconds": wall, "msgs": got / wall,
                                  "MBps": got * ph["size"] / wall / MB, "client_cpu": ccpu,
                                  "broker_cpu": c1 - c0, "broker_cpu_per_M": (c1 - c0) / (got / 1e6)}

        for acks in ("all", "1"):
            key = f"lat-acks{acks}"
            topic = f"bench-{key}"
            create_topic(broker.bootstrap, topic)
            log(f"{broker.name}: latency acks={acks} at {cfg.latency_MBps} MB/s for {cfg.latency_seconds} s")
            c0 = broker.cpu()
            r = latency_run(broker.bootstrap, topic, acks, cfg.latency_MBps * MB, 1024, cfg.latency_seconds, 1.0)
            c1 = broker.cpu()
            r["broker_cpu"] = c1 - c0
            r["broker_cpu_per_M"] = (c1 - c0) / (r["sent"] / 1e6) if r["sent"] else float("nan")
            res["phases"][key] = r
        res["final_rss_mb"] = broker.rss()
        res["total_cpu_s"] = broker.cpu()
    finally:
        broker.stop()
    return res


# --------------------------------------------------------------------------------------------------------
# Report


def fmt(x, unit="", digits=None):
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    if digits is None:
        digits = 0 if abs(x) >= 1000 else (1 if abs(x) >= 10 else (2 if abs(x) >= 0.1 else 3))
    return f"{x:,.{digits}f}{unit}"


def report(results, cfg, meta):
    v, t = results["vltava"], results["tansu"]
    rows = []  # (label, vltava, tansu, unit, target text, verdict function(v, t) -> bool or None, ratio?)

    def add(label, getter, unit="", target="", check=None, ratio=True):
        try:
            a = getter(v)
        except (KeyError, TypeError):
            a = None
        try:
            b = getter(t)
        except (KeyError, TypeError):
            b = None
        r = (a / b) if (ratio and a is not None and b) else None
        verdict = ""
        if check is not None and a is not None:
            ok = check(a, b)
            verdict = "" if ok is None else ("met" if ok else "MISSED")
        rows.append((label, fmt(a, unit), fmt(b, unit), fmt(r, "x", 2) if r is not None else "",
                     target, verdict))

    def section(title):
        rows.append((title, None, None, None, None, None))

    P = lambda k, f: (lambda r: r["phases"][k][f])
    ge_t = lambda q: (lambda a, b: None if b is None else a >= q * b)
    le_t = lambda q: (lambda a, b: None if b is None else a <= q * b)

    for size, label in ((100, "100 B"), (1024, "1 KiB")):
        pk = "p100" if size == 100 else "p1k"
        for acks in ("1", "all"):
            k = f"{pk}-acks{acks}"
            n = v["phases"].get(k, t["phases"].get(k, {})).get("count", 0)
            section(f"Produce {label}, acks={acks} ({n / 1e6:g} M records, {cfg.client})")
            if size == 100:
                add("  throughput msg/s", P(k, "msgs"), "", ">= 2 M and >= 0.95x Tansu",
                    lambda a, b: a >= 2e6 and (b is None or a >= 0.95 * b))
            else:
                add("  throughput msg/s", P(k, "msgs"))
            add("  throughput MB/s", P(k, "MBps"), "", ">= 1000 MB/s (1 GB/s)" if size == 1024 else "",
                (lambda a, b: a >= 1000) if size == 1024 else None)
            add("  broker CPU s", P(k, "broker_cpu"))
            add("  broker CPU s / M records", P(k, "broker_cpu_per_M"), "", "<= Tansu", le_t(1.0))
            add("  client CPU s", P(k, "client_cpu"))
            add("  wall s", P(k, "seconds"))
    for k, label in (("c100", "100 B"), ("c1k", "1 KiB")):
        n = v["phases"].get(k, t["phases"].get(k, {})).get("count", 0)
        section(f"Consume {label} from the page cache ({n / 1e6:g} M records, kcat -C -e -o beginning "
                f"{' '.join(Clients.CONSUME_OPTIONS)} > /dev/null)")
        add("  throughput msg/s", P(k, "msgs"), "", ">= 0.95x Tansu (client ceiling)", ge_t(0.95))
        add("  throughput MB/s", P(k, "MBps"))
        add("  broker CPU s", P(k, "broker_cpu"))
        add("  broker CPU s / M records", P(k, "broker_cpu_per_M"), "", "<= 0.5x Tansu", le_t(0.5))
        add("  client CPU s", P(k, "client_cpu"))
    for acks in ("all", "1"):
        k = f"lat-acks{acks}"
        section(f"Produce latency, acks={acks}, linger.ms=0, {cfg.latency_MBps} MB/s of 1 KiB "
                f"(confluent-kafka, produce() -> delivery callback)")
        add("  achieved MB/s", P(k, "achieved_MBps"), "", f"{cfg.latency_MBps}",
            lambda a, b: a >= 0.97 * cfg.latency_MBps)
        add("  p50 ms", P(k, "p50_ms"), "", "", None)
        add("  p99 ms", P(k, "p99_ms"), "", "<= 2 ms (without fsync)" if acks == "1" else "(fsync per commit)",
            (lambda a, b: a <= 2.0) if acks == "1" else None)
        add("  max ms", P(k, "max_ms"))
        add("  librdkafka msg latency p50 / p99 ms", lambda r: r["phases"][k]["rd_p99_ms"], "",
            "", None)
        def both(r, k=k):
            ph = r["phases"].get(k)
            return f"{fmt(ph['rd_p50_ms'])} / {fmt(ph['rd_p99_ms'])}" if ph else "n/a"
        rows[-1] = (rows[-1][0], both(v), both(t), "", "", "")
        add("  broker CPU s / M records", P(k, "broker_cpu_per_M"))
        add("  client CPU s", P(k, "client_cpu"))
    section("Start-up and memory")
    add(f"  start-up to first accepted connection ms (median of {cfg.startup_runs})", lambda r: r["startup_ms"],
        "", "<= 50 ms", lambda a, b: a <= 50)
    add("  start-up to first ApiVersions answer ms (median)", lambda r: r["startup_api_ms"])
    add("  idle RSS MB", lambda r: r["idle_rss_mb"], "", "<= 30 MB", lambda a, b: a <= 30)
    add("  idle RSS with the schema registry on MB", lambda r: r.get("idle_rss_registry_mb"))
    n_big = cfg.n100_big / 1e6
    add(f"  RSS after producing {n_big:g} M x 100 B MB", lambda r: r["rss_after_big_mb"], "",
        "<= 100 MB" + ("" if cfg.n100_big == 10_000_000 else " (at 10 M)"), lambda a, b: a <= 100)
    add("  RSS at the end MB", lambda r: r["final_rss_mb"])
    add("  broker CPU s, whole main run", lambda r: r["total_cpu_s"])

    w0 = max(len(r[0]) for r in rows if r[1] is not None)
    hdr = ("", "Vltava", "Tansu", "V/T", "target (issue #3)", "")
    widths = [w0, 14, 14, 8, 34, 6]

    def line(cols):
        return "  ".join([cols[0].ljust(widths[0])] + [str(c).rjust(widths[i]) for i, c in enumerate(cols[1:4], 1)]
                         + [str(cols[4]).ljust(widths[4]), str(cols[5])]).rstrip()

    print()
    print("=" * 110)
    print("Vltava vs Tansu broker benchmark (issue #3)")
    for k, val in meta.items():
        print(f"  {k}: {val}")
    print("=" * 110)
    print(line(hdr))
    for r in rows:
        if r[1] is None:
            print()
            print(r[0])
        else:
            print(line(r))
    print()
    for name, r in (("Vltava", v), ("Tansu", t)):
        for note in r.get("notes", []):
            print(f"Note ({name}): {note}")
    print("Start-up runs (ms), Vltava:", v.get("startup_all_ms"), " Tansu:", t.get("startup_all_ms"))
    print("MB = 10^6 bytes of record values. CPU figures are utime+stime from /proc (10 ms ticks).")
    print("Figures are noisy: 2 cores shared with other work; client and broker compete for the same cores.")


# --------------------------------------------------------------------------------------------------------


def make_file(path, count, size):
    """count lines of size bytes + newline (1000 distinct random lines repeated)."""
    if os.path.exists(path) and os.path.getsize(path) == count * (size + 1):
        return
    block = b"".join(os.urandom(size).hex().encode()[:size] + b"\n" for _ in range(1000))
    with open(path + ".tmp", "wb") as f:
        full, rest = divmod(count, 1000)
        for _ in range(full):
            f.write(block)
        f.write(block[: rest * (size + 1)])
    os.rename(path + ".tmp", path)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "python-producer":
        python_producer_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--vltava", required=True)
    ap.add_argument("--tansu", required=True)
    ap.add_argument("--kcat", default="kcat")
    ap.add_argument("--rdkafka-dir", default="", help="folder with the librdkafka.so.1 kcat should load")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--client", choices=("kcat", "python"), default="kcat")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every record count")
    ap.add_argument("--brokers", default="vltava,tansu")
    ap.add_argument("--json", default="")
    cfg = ap.parse_args()
    cfg.n100_big = int(10_000_000 * cfg.scale)
    cfg.n100 = int(3_000_000 * cfg.scale)
    cfg.n1k = int(1_000_000 * cfg.scale)
    cfg.latency_MBps = 50
    cfg.latency_seconds = max(2.0, 5.0 * min(cfg.scale, 1.0))
    cfg.startup_runs = 7
    cfg.phase_timeout = 180

    clients = Clients(cfg.kcat, cfg.rdkafka_dir, sys.executable)
    t_start = time.monotonic()
    log("generating input files")
    files = {100: os.path.join(cfg.workdir, "records-100.txt"), 1024: os.path.join(cfg.workdir, "records-1k.txt")}
    make_file(files[100], max(cfg.n100_big, cfg.n100), 100)
    make_file(files[1024], cfg.n1k, 1024)

    brokers = {"vltava": Vltava(cfg.workdir, cfg.vltava), "tansu": Tansu(cfg.workdir, cfg.tansu)}
    results = {}
    for name in ("vltava", "tansu"):
        results[name] = {"phases": {}, "notes": []}
    for name in cfg.brokers.split(","):
        try:
            bench_broker(brokers[name], clients, cfg, files, results[name])
        except Exception as e:  # report what we have, and go on with the other broker
            log(f"{name}: FAILED: {e}")
            results[name]["error"] = str(e)
    meta = {
        "produce client": f"{cfg.client} ({clients.kcat_version() if cfg.client == 'kcat' else 'confluent-kafka Producer'})",
        "client choice": "kcat -P drives more load than confluent-kafka's Producer in a Python loop (on this "
                         "machine ~1.4 M vs ~0.6 M msg/s of 100 B, ~750 vs ~430 MB/s of 1 KiB); --client python "
                         "switches",
        "consume client": clients.kcat_version(),
        "latency client": "confluent-kafka " + __import__("confluent_kafka").__version__
                          + " / librdkafka " + __import__("confluent_kafka").libversion()[0],
        "record counts": f"100 B: {cfg.n100_big:,} (acks=1), {cfg.n100:,} (acks=all); 1 KiB: {cfg.n1k:,} each"
                         + ("" if cfg.scale == 1.0 else f"  [scaled down x{cfg.scale:g}]"),
        "topics": "a fresh topic with 1 partition per phase; Vltava on disk (acks=all fsyncs), Tansu memory://",
        "load average at end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "driver wall time": f"{time.monotonic() - t_start:.0f} s",
    }
    for name in ("vltava", "tansu"):
        if "error" in results[name]:
            meta[f"{name} ERROR"] = results[name]["error"]
    report(results, cfg, meta)
    if cfg.json:
        with open(cfg.json, "w") as f:
            json.dump({"results": results, "meta": meta}, f, indent=1, default=str)
    if any("error" in r for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
