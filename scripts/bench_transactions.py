#!/usr/bin/env python3
"""Transactions benchmark driver (started by scripts/bench-transactions inside a private network namespace).

The issue: "Transactional produce of 100 B records, 1 partition, transactions of 10 and of 1 000 records:
transactions per second and records per second, and the overhead against idempotent produce at the same batch
size (goal: >= 0.8x the idempotent rate at 1 000 records per transaction; commit latency p99 <= 2 ms + one fsync).
read_committed consumption at the client's ceiling with broker CPU per record within 1.2x read_uncommitted."

Phases (each starts a fresh `vltava serve`: its own data folder under --workdir, a free loopback port):
  fsync      4 KiB appended + fdatasync (what the broker's log flusher calls), and 4 KiB + fsync, in a file in
             --workdir (the disk of the data folders), before the brokers run and again after them; pooled p50/p99.
  idem-K     confluent-kafka Producer, enable.idempotence=true, acks=all, linger.ms=1: K records of 100 B to a
             1-partition topic, then flush(), in a loop (K = 10 and 1 000: the batch sizes of the transactions).
  txn-K      the same Producer with a transactional.id: begin_transaction(), K records, flush(),
             commit_transaction(), in a loop. commit_transaction() is timed on its own after the explicit flush(),
             so the commit latency is the EndTxn round trip (PrepareCommit fsynced, markers, CompleteCommit);
             the flush (produce + AddPartitionsToTxn) and the whole transaction are timed too.
  consume    a topic filled with transactions of 1 000 records, one in ten aborted (flushed, then aborted: the
             aborted records are in the log), read from the beginning to the end by a confluent-kafka Consumer
             (assign, consume(10 000) batches, fetch.wait.max.ms=10, fetch.queue.backoff.ms=10) with
             isolation.level read_uncommitted, then read_committed, then both again; the delivered counts are
             checked exactly; records/s (from the first batch received to the end: the client's ~0.5 s start-up
             is left out) and broker CPU per million records of the log (whole read) for each isolation level.

Produce phases run for a fixed time (after a 1 s warm-up that is not counted). Every figure of broker CPU is
utime+stime from /proc/PID/stat (10 ms ticks). The client runs in this process (its CPU is getrusage(SELF)).

Any client error (delivery report, error callback, KafkaException, a count that does not match) or a broker that
exits makes the run stop with a plain message and exit status 1 (BENCH FAILED: ...).
"""

import argparse
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_broker  # noqa: E402  (shared helpers: /proc CPU, topic creation)

HOST = "127.0.0.1"
RECORD = 100
_libc = ctypes.CDLL(None, use_errno=True)


class BenchError(Exception):
    pass


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: the broker dies with the driver


def log(msg):
    print(f"[bench-transactions {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pct(values, q):
    """Nearest-rank percentile, q in [0, 1]; nan when empty."""
    if not values:
        return float("nan")
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))]


def latency_summary(values_s):
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50_ms": pct(ms, 0.50), "p99_ms": pct(ms, 0.99), "max_ms": max(ms) if ms else float("nan"),
            "mean_ms": sum(ms) / len(ms) if ms else float("nan")}


def spikes(values_s, limit=10):
    """The values above the p99 and above 3x the median, in order of occurrence, as (index, ms): tells isolated
    spikes from a slow tail."""
    if not values_s:
        return []
    thr = max(pct(values_s, 0.99), 3 * pct(values_s, 0.5))
    return [(i, round(v * 1000, 2)) for i, v in enumerate(values_s) if v > thr][:limit]


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------------------------------------------
# The broker


class Broker:
    def __init__(self, binary, workdir, name):
        self.binary = binary
        self.name = name
        self.dir = os.path.join(workdir, name)
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "vltava.log")
        self.port = None
        self.proc = None

    @property
    def bootstrap(self):
        return f"{HOST}:{self.port}"

    def start(self, timeout=60.0):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.data_dir)
        self.port = free_port()
        cmd = [self.binary, "serve", "--listeners", f"PLAINTEXT://{HOST}:{self.port}", "--data-dir", self.data_dir,
               "--schema-registry-listeners", "none"]
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            try:
                self._api_versions()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"broker ({self.name}) did not answer ApiVersions on {self.bootstrap} within "
                                     f"{timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}")
                time.sleep(0.05)

    def _api_versions(self):
        with socket.create_connection((HOST, self.port), timeout=2) as s:
            body = struct.pack(">hhih", 18, 0, 1, 5) + b"bench"  # ApiVersions v0, correlation 1, client "bench"
            s.sendall(struct.pack(">i", len(body)) + body)
            head = b""
            while len(head) < 4:
                chunk = s.recv(4 - len(head))
                if not chunk:
                    raise OSError("closed before answering")
                head += chunk

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check(self):
        """Raises BenchError when the broker has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            how = f"signal {-rc}" if rc < 0 else f"status {rc}"
            raise BenchError(f"the broker ({self.name}, pid {self.proc.pid}) died ({how}); log {self.log_path}, "
                             f"last lines:\n{self.log_tail()}")

    def cpu(self):
        self.check()
        return bench_broker.proc_cpu_seconds(self.proc.pid)

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                log(f"broker {self.proc.pid} still running 20 s after SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:]).rstrip()
        except OSError:
            return "(no log)"

    def log_complaints(self):
        """The broker's log lines at warning level or above (the default log level is info)."""
        out = []
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    low = line.lower()
                    if any(w in low for w in (" warning ", " error ", " critical ", "fatal", "[warning]",
                                              "[error]", "[critical]")):
                        out.append(line.rstrip())
        except OSError:
            pass
        return out


# --------------------------------------------------------------------------------------------------------------
# Clients


class ClientWatch:
    """Collects librdkafka's error callbacks and failed delivery reports; check() raises on any of them."""

    def __init__(self, broker, what):
        self.broker = broker
        self.what = what
        self.errors = []
        self.failed = 0
        self.first_failure = None

    def error_cb(self, err):
        # _TRANSPORT / _ALL_BROKERS_DOWN are what a dead broker looks like; every error counts.
        self.errors.append(str(err))

    def on_delivery(self, err, msg):
        if err is not None:
            self.failed += 1
            if self.first_failure is None:
                self.first_failure = str(err)

    def check(self):
        self.broker.check()
        if self.failed:
            raise BenchError(f"{self.what}: {self.failed} records failed delivery (first: {self.first_failure})")
        if self.errors:
            raise BenchError(f"{self.what}: client error: {self.errors[0]}"
                             + (f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""))

    def fail(self, exc):
        """A client call raised: the broker's death explains it best, if that is what happened."""
        time.sleep(0.2)
        self.broker.check()
        raise BenchError(f"{self.what}: {type(exc).__name__}: {exc}") from exc


def create_topic(broker, topic):
    try:
        bench_broker.create_topic(broker.bootstrap, topic)
    except Exception as e:
        broker.check()
        raise BenchError(f"creating topic {topic}: {type(e).__name__}: {e}") from e


def producer_config(broker, watch, transactional_id=None):
    cfg = {"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 1,
           "error_cb": watch.error_cb, "on_delivery": watch.on_delivery}
    if transactional_id:
        cfg["transactional.id"] = transactional_id
        cfg["transaction.timeout.ms"] = 60000
    return cfg


def produce_loop(broker, topic, k, seconds, transactional, max_records=None, abort_every=0, warmup=1.0,
                 what=""):
    """Batches of k records of 100 B: flush() each (idempotent) or begin/produce/flush/commit each
    (transactional), for `seconds` after `warmup` seconds (or until max_records, for the fill; no warm-up then).
    Returns figures."""
    from confluent_kafka import KafkaException, Producer
    watch = ClientWatch(broker, what)
    try:
        p = Producer(producer_config(broker, watch, f"bench-txn-{topic}" if transactional else None))
        if transactional:
            p.init_transactions(30)
    except KafkaException as e:
        watch.fail(e)
    value = (b"0123456789abcdef" * 7)[:RECORD]
    produce, flush = p.produce, p.flush
    clock = time.perf_counter

    def one_batch(abort):
        t0 = clock()
        if transactional:
            p.begin_transaction()
        for _ in range(k):
            produce(topic, value, partition=0)
        t1 = clock()
        left = flush(1.0)
        give_up = t1 + 30
        while left:  # a broker that died while the records were in flight shows up within a second
            broker.check()
            if clock() > give_up:
                raise BenchError(f"{what}: {left} records still undelivered 30 s after flush()")
            left = flush(1.0)
        t2 = clock()
        if transactional:
            if abort:
                p.abort_transaction(30)
            else:
                p.commit_transaction(30)
        t3 = clock()
        return t0, t1, t2, t3

    try:
        if warmup > 0:
            end = clock() + warmup
            while clock() < end:
                one_batch(False)
            watch.check()
        c0, u0, t_start = broker.cpu(), self_cpu(), clock()
        end = t_start + seconds
        flush_s, commit_s, total_s = [], [], []
        batches = aborted = 0
        next_check = t_start + 0.5
        while True:
            abort = bool(abort_every) and (batches % abort_every == abort_every - 1)
            t0, t1, t2, t3 = one_batch(abort)
            batches += 1
            aborted += abort
            flush_s.append(t2 - t1)
            total_s.append(t3 - t0)
            if transactional and not abort:
                commit_s.append(t3 - t2)
            if t3 >= next_check:
                watch.check()
                next_check = t3 + 0.5
            if (max_records is not None and batches * k >= max_records) or (max_records is None and t3 >= end):
                break
        wall = clock() - t_start
        c1, u1 = broker.cpu(), self_cpu()
        watch.check()
    except KafkaException as e:
        watch.fail(e)
    except BufferError as e:
        watch.fail(e)
    finally:
        try:
            p.flush(5)
        except Exception:
            pass
    records = batches * k
    res = {"k": k, "transactional": transactional, "topic": topic, "batches": batches, "aborted": aborted,
           "records": records, "seconds": wall, "records_per_s": records / wall, "batches_per_s": batches / wall,
           "broker_cpu_s": c1 - c0, "broker_cpu_s_per_M": (c1 - c0) / (records / 1e6),
           "client_cpu_s": u1 - u0, "flush": latency_summary(flush_s), "total": latency_summary(total_s)}
    if transactional:
        res["commit"] = latency_summary(commit_s)
        res["commit_spikes"] = spikes(commit_s)
    res["flush_spikes"] = spikes(flush_s)
    return res


def fsync_probe(folder, seconds, samples_max=2000):
    """4 KiB appended then fdatasync (as the log flusher does), and 4 KiB appended then fsync, alternating, in a
    file in `folder` (the data folders' disk)."""
    path = os.path.join(folder, "fsync-probe")
    block = os.urandom(4096)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    datasync, fullsync = [], []
    try:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end and len(datasync) < samples_max:
            for call, out in ((os.fdatasync, datasync), (os.fsync, fullsync)):
                os.write(fd, block)
                t0 = time.perf_counter()
                call(fd)
                out.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return datasync, fullsync


def consume_all(broker, topic, isolation, expected, timeout):
    """Reads partition 0 of topic from the beginning to the end; returns figures. Checks the delivered count."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
    what = f"consume {isolation}"
    watch = ClientWatch(broker, what)
    cfg = {"bootstrap.servers": broker.bootstrap, "group.id": f"bench-txn-{isolation}", "enable.auto.commit": False,
           "isolation.level": isolation, "enable.partition.eof": True, "fetch.wait.max.ms": 10,
           "fetch.queue.backoff.ms": 10, "queued.max.messages.kbytes": 262144, "error_cb": watch.error_cb}
    try:
        c = Consumer(cfg)
    except KafkaException as e:
        watch.fail(e)
    got = 0
    last_offset = -1
    t_first = None
    try:
        c0, u0, t0 = broker.cpu(), self_cpu(), time.perf_counter()
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = t0 + timeout
        idle_since = time.monotonic()
        done = False
        while not done:
            msgs = c.consume(10000, 1.0)
            if msgs:
                idle_since = time.monotonic()
            if t_first is None and msgs:
                t_first = time.perf_counter()
            for m in msgs:
                err = m.error()
                if err is None:
                    got += 1
                elif err.code() == KafkaError._PARTITION_EOF:
                    last_offset = m.offset()
                    done = True
                else:
                    raise BenchError(f"{what}: {err}")
            if not done:
                if time.monotonic() - idle_since > 30:
                    raise BenchError(f"{what}: no record for 30 s after {got:,} of {expected:,}")
                if time.perf_counter() > deadline:
                    raise BenchError(f"{what}: not at the end after {timeout:.0f} s ({got:,} of {expected:,})")
                watch.check()
        wall = time.perf_counter() - t0
        c1, u1 = broker.cpu(), self_cpu()
        watch.check()
    except KafkaException as e:
        watch.fail(e)
    finally:
        c.close()
    if got != expected:
        raise BenchError(f"{what}: {got:,} records delivered, expected {expected:,} (end offset {last_offset})")
    # Records/s from the first batch the client got to the end of the partition: the client's start-up
    # (metadata, coordinator lookup, ~0.5 s) is left out; CPU figures cover the whole read.
    streaming = wall - (t_first - t0) if t_first is not None else wall
    return {"isolation": isolation, "delivered": got, "end_offset": last_offset, "seconds": wall,
            "first_batch_after_s": (t_first - t0) if t_first is not None else None, "streaming_s": streaming,
            "broker_cpu_s": c1 - c0, "client_cpu_s": u1 - u0}


# --------------------------------------------------------------------------------------------------------------
# Phases


def run(cfg, res):
    phases = res["phases"]
    notes = res["notes"]

    log(f"fsync probe in {cfg.workdir} ({cfg.fsync_seconds:g} s)")
    ds, fs = fsync_probe(cfg.workdir, cfg.fsync_seconds)
    phases["fsync"] = {"before": {"fdatasync": latency_summary(ds), "fsync": latency_summary(fs)}}
    pool_ds, pool_fs = list(ds), list(fs)

    def with_broker(name, body):
        broker = Broker(cfg.binary, cfg.workdir, name)
        log(f"{name}: starting {cfg.binary}")
        broker.start()
        try:
            out = body(broker)
            broker.check()
            out["broker_rss_mb_end"] = broker.rss_mb()
        finally:
            complaints = broker.log_complaints()
            broker.stop()
        if complaints:
            notes.append(f"{name}: {len(complaints)} warning/error lines in the broker log, first: "
                         + " | ".join(complaints[:3]))
            res["log_complaints"][name] = complaints[:50]
        return out

    for transactional in (False, True):
        for k in cfg.sizes:
            key = f"{'txn' if transactional else 'idem'}-{k}"
            seconds = cfg.seconds_small if k < 100 else cfg.seconds_large

            def body(broker, k=k, key=key, transactional=transactional, seconds=seconds):
                topic = f"bench-{key}"
                create_topic(broker, topic)
                log(f"{key}: {'transactions' if transactional else 'idempotent batches'} of {k} x {RECORD} B for "
                    f"{seconds:g} s")
                return produce_loop(broker, topic, k, seconds, transactional, what=key)

            phases[key] = with_broker(key, body)
            ph = phases[key]
            line = (f"{key}: {ph['batches_per_s']:,.1f} batches/s, {ph['records_per_s']:,.0f} records/s, broker "
                    f"{ph['broker_cpu_s_per_M']:.2f} CPU s/M")
            if transactional:
                line += f", commit p50 {ph['commit']['p50_ms']:.2f} p99 {ph['commit']['p99_ms']:.2f} ms"
            log(line)

    def consume_body(broker):
        topic = "bench-consume"
        create_topic(broker, topic)
        log(f"consume: filling {topic} with {cfg.fill_records:,} records in transactions of 1 000, one in "
            f"{cfg.abort_every} aborted")
        fill = produce_loop(broker, topic, 1000, 0, True, max_records=cfg.fill_records, abort_every=cfg.abort_every,
                            warmup=0, what="consume fill")
        records = fill["records"]
        committed = records - fill["aborted"] * 1000
        out = {"fill": fill, "log_records": records, "committed_records": committed, "runs": []}
        for rnd in range(cfg.consume_rounds):
            for iso, expected in (("read_uncommitted", records), ("read_committed", committed)):
                log(f"consume: {iso}, round {rnd + 1} of {cfg.consume_rounds}")
                r = consume_all(broker, topic, iso, expected, timeout=cfg.consume_timeout)
                r["round"] = rnd
                out["runs"].append(r)
                log(f"consume: {iso}: {r['delivered'] / r['streaming_s']:,.0f} records/s, broker "
                    f"{r['broker_cpu_s'] / (records / 1e6):.3f} CPU s per M log records")
        for iso in ("read_uncommitted", "read_committed"):
            runs = [r for r in out["runs"] if r["isolation"] == iso]
            wall = sum(r["streaming_s"] for r in runs)
            cpu = sum(r["broker_cpu_s"] for r in runs)
            delivered = sum(r["delivered"] for r in runs)
            out[iso] = {"delivered_per_s": delivered / wall, "log_records_per_s": records * len(runs) / wall,
                        "broker_cpu_s": cpu, "broker_cpu_s_per_M": cpu / (records * len(runs) / 1e6),
                        "client_cpu_s": sum(r["client_cpu_s"] for r in runs), "streaming_s": wall,
                        "seconds": sum(r["seconds"] for r in runs)}
        return out

    if cfg.fill_records > 0:
        phases["consume"] = with_broker("consume", consume_body)

    log(f"fsync probe in {cfg.workdir} again ({cfg.fsync_seconds:g} s)")
    ds, fs = fsync_probe(cfg.workdir, cfg.fsync_seconds)
    phases["fsync"]["after"] = {"fdatasync": latency_summary(ds), "fsync": latency_summary(fs)}
    pool_ds += ds
    pool_fs += fs
    phases["fsync"]["fdatasync"] = latency_summary(pool_ds)
    phases["fsync"]["fsync"] = latency_summary(pool_fs)


# --------------------------------------------------------------------------------------------------------------
# Report


def fmt(x, digits=None):
    if x is None or (isinstance(x, float) and x != x):
        return "n/a"
    if isinstance(x, str):
        return x
    if digits is None:
        digits = 0 if abs(x) >= 1000 else (1 if abs(x) >= 10 else (2 if abs(x) >= 0.1 else 3))
    return f"{x:,.{digits}f}"


def report(res, cfg, meta):
    P = res["phases"]
    rows = []

    def section(title):
        rows.append((title,))

    def add(label, value, goal="", ok=None):
        rows.append((label, fmt(value), goal, "" if ok is None else ("met" if ok else "NOT MET")))

    fs = P.get("fsync", {})
    fsync_p99 = fs.get("fdatasync", fs.get("before", {}).get("fdatasync", {})).get("p99_ms")
    commit_goal = 2.0 + fsync_p99 if fsync_p99 is not None else None

    if "fsync" in P:
        section(f"One fsync on the data folders' disk (4 KiB appended, then the call; {cfg.workdir})")
        for call in ("fdatasync", "fsync"):
            s = fs.get(call) or fs["before"][call]
            add(f"  {call} p50 / p99 / max ms", f"{fmt(s['p50_ms'])} / {fmt(s['p99_ms'])} / {fmt(s['max_ms'])}")
        add("  commit latency goal: 2 ms + fdatasync p99 (ms)", commit_goal)

    for k in cfg.sizes:
        idem, txn = P.get(f"idem-{k}"), P.get(f"txn-{k}")
        section(f"{k:,} records of {RECORD} B per batch / transaction, 1 partition")
        if idem:
            add("  idempotent: records/s (flush() every batch)", idem["records_per_s"])
            add("  idempotent: batches/s", idem["batches_per_s"])
            add("  idempotent: flush p50 / p99 ms",
                f"{fmt(idem['flush']['p50_ms'])} / {fmt(idem['flush']['p99_ms'])}")
            add("  idempotent: broker CPU s per M records", idem["broker_cpu_s_per_M"])
        if txn:
            add("  transactional: transactions/s", txn["batches_per_s"])
            add("  transactional: records/s", txn["records_per_s"])
            add("  transactional: broker CPU s per M records", txn["broker_cpu_s_per_M"])
            add("  transactional: produce+flush p50 / p99 ms",
                f"{fmt(txn['flush']['p50_ms'])} / {fmt(txn['flush']['p99_ms'])}")
            add("  transactional: commit_transaction() p50 ms", txn["commit"]["p50_ms"])
            add("  transactional: commit_transaction() p99 ms", txn["commit"]["p99_ms"],
                f"<= 2 ms + one fsync ({fmt(commit_goal)} ms)" if commit_goal else "<= 2 ms + one fsync",
                None if commit_goal is None else txn["commit"]["p99_ms"] <= commit_goal)
            add("  transactional: commit_transaction() max ms", txn["commit"]["max_ms"])
            add("  transactional: whole transaction p50 / p99 ms",
                f"{fmt(txn['total']['p50_ms'])} / {fmt(txn['total']['p99_ms'])}")
        if idem and txn:
            r = txn["records_per_s"] / idem["records_per_s"]
            if k == 1000:
                add("  transactional / idempotent records/s", f"{r:.2f}x", ">= 0.8x", r >= 0.8)
            else:
                add("  transactional / idempotent records/s", f"{r:.2f}x", "(no goal)")
            add("  transactional / idempotent broker CPU per record",
                f"{txn['broker_cpu_s_per_M'] / idem['broker_cpu_s_per_M']:.2f}x"
                if idem["broker_cpu_s_per_M"] else "n/a")

    c = P.get("consume")
    if c:
        fill = c["fill"]
        section(f"Consumption of {c['log_records']:,} records ({fill['aborted']:,} of {fill['batches']:,} "
                f"transactions of 1 000 aborted), {cfg.consume_rounds} runs each, confluent-kafka Consumer")
        u, m = c["read_uncommitted"], c["read_committed"]
        add("  fill: transactions/s (with the aborts)", fill["batches_per_s"])
        add("  read_uncommitted: records/s delivered (first batch to end)", u["delivered_per_s"])
        add("  read_committed: records/s delivered (first batch to end)", m["delivered_per_s"])
        add("  read_committed: log records/s passed over", m["log_records_per_s"])
        add("  read_uncommitted: broker CPU s per M log records", u["broker_cpu_s_per_M"], "", None)
        add("  read_committed: broker CPU s per M log records", m["broker_cpu_s_per_M"])
        if u["broker_cpu_s_per_M"] > 0:
            r = m["broker_cpu_s_per_M"] / u["broker_cpu_s_per_M"]
            add("  read_committed / read_uncommitted broker CPU per record", f"{r:.2f}x", "<= 1.2x", r <= 1.2)
        else:
            add("  read_committed / read_uncommitted broker CPU per record", "n/a (0 CPU ticks)", "<= 1.2x")
        add("  broker CPU s, read_uncommitted / read_committed",
            f"{fmt(u['broker_cpu_s'])} / {fmt(m['broker_cpu_s'])}")
        add("  client CPU s, read_uncommitted / read_committed",
            f"{fmt(u['client_cpu_s'])} / {fmt(m['client_cpu_s'])}")

    w0 = max(len(r[0]) for r in rows if len(r) > 1)
    print()
    print("=" * 120)
    print("Vltava transactions benchmark")
    for key, val in meta.items():
        print(f"  {key}: {val}")
    print("=" * 120)
    print(f"{'':<{w0}}  {'value':>20}  {'goal':<32}")
    for r in rows:
        if len(r) == 1:
            print()
            print(r[0])
        else:
            print(f"{r[0]:<{w0}}  {r[1]:>20}  {r[2]:<32}  {r[3]}".rstrip())
    print()
    for n in res["notes"]:
        print(f"Note: {n}")
    for k in cfg.sizes:
        t = P.get(f"txn-{k}")
        if t and t.get("commit_spikes"):
            print(f"txn-{k}: commit_transaction() above p99 and 3x p50 (transaction index, ms): {t['commit_spikes']}")
        for key in (f"idem-{k}", f"txn-{k}"):
            if P.get(key, {}).get("flush_spikes"):
                print(f"{key}: flush() above p99 and 3x p50 (batch index, ms): {P[key]['flush_spikes']}")
    print("CPU figures: utime+stime of /proc/PID/stat (10 ms ticks); client and broker share the machine's cores.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--workdir", required=True, help="temporary folder: broker data folders and the fsync probe")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--json", default="")
    cfg = ap.parse_args()
    cfg.binary = os.path.abspath(cfg.binary)
    s = cfg.scale
    cfg.sizes = (10, 1000)
    cfg.seconds_small = max(1.0, 15.0 * s)   # transactions of 10: bounded by fsyncs, time-based
    cfg.seconds_large = max(1.0, 20.0 * s)
    cfg.fill_records = int(round(2_000_000 * s / 1000)) * 1000
    cfg.abort_every = 10
    cfg.consume_rounds = 2
    cfg.consume_timeout = 600
    cfg.fsync_seconds = max(1.0, 3.0 * min(s, 1.0))

    import confluent_kafka
    res = {"phases": {}, "notes": [], "log_complaints": {}}
    t_start = time.monotonic()
    meta = {
        "binary": cfg.binary,
        "client": f"confluent-kafka {confluent_kafka.__version__} / librdkafka {confluent_kafka.libversion()[0]} "
                  "(this process)",
        "scale": f"{s:g} (idempotent/transactional phases {cfg.seconds_small:g} s at 10 records, "
                 f"{cfg.seconds_large:g} s at 1 000, after 1 s of warm-up; consume topic {cfg.fill_records:,} "
                 "records)",
    }
    failure = None
    try:
        run(cfg, res)
    except BenchError as e:
        failure = str(e)
    except Exception as e:  # a bug here or an unexpected client exception: still plain and non-zero
        failure = f"{type(e).__name__}: {e}"
    meta["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["driver wall time"] = f"{time.monotonic() - t_start:.0f} s"
    if failure is None:
        report(res, cfg, meta)
    if cfg.json:
        with open(cfg.json, "w") as f:
            json.dump({"results": res, "meta": meta, "error": failure}, f, indent=1, default=str)
    if failure is not None:
        print(f"\nBENCH FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
