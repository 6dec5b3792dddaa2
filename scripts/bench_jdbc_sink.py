#!/usr/bin/env python3
"""JDBC sink benchmark: Confluent's JdbcSinkConnector in `vltava serve` writing N records (5 columns) into PostgreSQL.

Usage: scripts/bench_jdbc_sink.py --binary PATH [--records 1000000] [--partitions 4] [--tasks 1[,2...]]
                                  [--batch-size 3000[,500...]] [--mode insert|upsert] [--runs 1] [--perf FILE]
                                  [--threads] [--timeout 900]

Goal (the JDBC connectors' issue): a sink of 1 M records with 5 columns into PostgreSQL at >= 50 000 rows/s on
2 cores, and the worker's CPU per row.

  1. Starts Debian's PostgreSQL (Tests/interop/postgres_support.PostgresServer: a temporary cluster run as `nobody`,
     fsync=off, synchronous_commit=off) and `vltava serve` with Connect, both on free loopback ports.
  2. Pre-loads a topic (PARTITIONS partitions) with N JsonConverter envelopes with schemas: a struct of id int64,
     name string, amount double, flag boolean and created (Timestamp logical type), produced with confluent-kafka in
     large batches, before any connector exists, so that what is measured is the sink alone.
  3. For each run (each combination of --tasks and --batch-size, --runs times): creates a JDBC sink (insert.mode
     insert with pk.mode none, or upsert with pk.mode record_value and pk.fields id; auto.create) into a new table
     through the REST API, and times from the POST until `SELECT count(*)` gives N. Over that window: the CPU of the
     vltava process (utime+stime from /proc: broker and Connect worker together, as they run in one process) and of
     PostgreSQL (every process of the cluster, less the backend this script polls with; and the sink's backends
     alone). Then checks the table (count, sum of ids) and deletes the connector.
A task that goes FAILED, or a run that does not finish within --timeout seconds, ends the script with status 1 after
printing the task's trace and the tail of vltava's log. `--perf FILE` records vltava with `perf record -g` during
each run (FILE.<run>); `--threads` prints vltava's CPU per thread name for each run.
"""

import argparse
import importlib.machinery
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(SCRIPTS)
sys.path.insert(0, SCRIPTS)
sys.path.insert(0, os.path.join(REPO, "Tests", "interop"))
from bench_broker import CLK_TCK, free_port, proc_cpu_seconds  # noqa: E402
from postgres_support import PostgresServer  # noqa: E402

# The REST helpers of scripts/bench-connect (a script without the .py suffix).
_bench_connect = importlib.machinery.SourceFileLoader("bench_connect", os.path.join(SCRIPTS, "bench-connect")).load_module()
http, wait_until = _bench_connect.http, _bench_connect.wait_until

SINK = "io.confluent.connect.jdbc.JdbcSinkConnector"
TOPIC = "bench_jdbc"
GOAL = 50_000

SCHEMA = {"type": "struct", "name": "bench.Row", "optional": False, "fields": [
    {"field": "id", "type": "int64", "optional": False},
    {"field": "name", "type": "string", "optional": False},
    {"field": "amount", "type": "double", "optional": False},
    {"field": "flag", "type": "boolean", "optional": False},
    {"field": "created", "type": "int64", "optional": False, "name": "org.apache.kafka.connect.data.Timestamp",
     "version": 1}]}


class Failure(Exception):
    pass


# --- processes and CPU ---------------------------------------------------------------------------------------

def children_by_parent():
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry))
    return parents


def postgres_cpu_seconds(postmaster):
    """CPU of a PostgreSQL cluster: the postmaster, its live children, and the children it has reaped (cutime+cstime)."""
    with open(f"/proc/{postmaster}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11:15]) / CLK_TCK
    for child in children_by_parent().get(postmaster, []):
        try:
            total += proc_cpu_seconds(child)
        except OSError:
            pass  # exited between the listing and the read (then counted in cutime next time)
    return total


def machine_cpu():
    """Seconds of all cores since boot: (idle incl. iowait, niced user time, everything else)."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    return (idle + iowait) / CLK_TCK, nice / CLK_TCK, (user + system + irq + softirq + steal) / CLK_TCK


def thread_cpu(pid):
    """CPU seconds per thread name (threads of one pool share a name) of a process."""
    result = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        # Pool threads are numbered (NIO-ELT-0-#1, ...): group them by the name without its digits.
        key = "".join(c for c in name if not c.isdigit()).rstrip("-#")
        result[key] = result.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return result


def start_vltava(binary, work):
    broker_port, connect_port = free_port(), free_port()
    log_path = os.path.join(work, "vltava.log")
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [binary, "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{broker_port}", "--data-dir", os.path.join(work, "data"),
         "--schema-registry-listeners", "none", "--connect-listeners", f"http://127.0.0.1:{connect_port}"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{connect_port}"

    def ready():
        if process.poll() is not None:
            raise Failure(f"vltava serve exited with status {process.returncode}:\n{tail(log_path)}")
        try:
            return http("GET", f"{url}/connectors", timeout=2)[0] == 200
        except OSError:
            return False
    wait_until(ready, 60, "Connect's REST API")
    return process, f"127.0.0.1:{broker_port}", url, log_path


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


# --- the records ---------------------------------------------------------------------------------------------

def preload(bootstrap, records, partitions, compression):
    """Produces the records with confluent-kafka; returns the seconds taken."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, num_partitions=partitions, replication_factor=1)])[TOPIC].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000,
                         "batch.num.messages": 100_000, "queue.buffering.max.messages": 1_000_000,
                         "queue.buffering.max.kbytes": 1_048_576, "compression.type": compression, "acks": "all"})
    prefix = ('{"schema":' + json.dumps(SCHEMA, separators=(",", ":")) + ',"payload":').encode()
    template = prefix + b'{"id":%d,"name":"customer-%d","amount":%d.%02d,"flag":%s,"created":%d}}'
    base_ms = 1_700_000_000_000
    started = time.monotonic()
    produce = producer.produce
    for i in range(records):
        value = template % (i, i % 100_000, i % 10_000, i % 100, b"true" if i % 2 else b"false", base_ms + i)
        while True:
            try:
                produce(TOPIC, value, partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120) != 0:
        raise Failure("the pre-load did not finish: records still queued after 120 s")
    elapsed = time.monotonic() - started
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-jdbc-check"})
    stored = sum(consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1] for p in range(partitions))
    consumer.close()
    if stored != records:
        raise Failure(f"the topic holds {stored} records, {records} were produced")
    return elapsed, len(value)


# --- one run ---------------------------------------------------------------------------------------------------

class Poller:
    """Watches a table's row count over one connection of its own, cheaply: the table's size in pages says when a
    `SELECT count(*)` is worth running (at every poll while the table is small, every 0.1 s once the end is near, else
    every 2 s)."""

    def __init__(self, postgres, table, records):
        self.connection = postgres.connect()
        self.connection.run("SET max_parallel_workers_per_gather = 0")
        self.pid = self.connection.run("SELECT pg_backend_pid()")[0][0]
        self.table, self.records = table, records
        self.count, self.bytes_per_row, self.last_count_at = 0, None, 0.0
        self.first_row_at = None

    def poll(self, now):
        size = self.connection.run("SELECT coalesce(pg_relation_size(to_regclass(:t)), -1)", t=f'"{self.table}"')[0][0]
        if size < 0:
            return 0
        estimate = size / self.bytes_per_row if self.bytes_per_row else 0
        since = now - self.last_count_at
        if estimate < 50_000 or (estimate >= 0.97 * self.records and since >= 0.1) or since >= 2:
            self.count = self.connection.run(f'SELECT count(*) FROM "{self.table}"')[0][0]
            self.last_count_at = now
            if self.count >= 10_000:
                self.bytes_per_row = size / self.count
            if self.count and self.first_row_at is None:
                self.first_row_at = now
        return self.count

    def close(self):
        self.connection.close()

    def sink_backends(self):
        """The other client backends (PostgreSQL's: asked over the poll connection, as a new connection costs a SCRAM
        login on both sides)."""
        rows = self.connection.run("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                   "AND pid <> pg_backend_pid()")
        return {pid for (pid,) in rows}




def run_once(index, args, tasks, batch_size, postgres, postmaster, vltava, url, log_path):
    name, table = f"jdbc-bench-{index}", f"bench_rows_{index}"
    config = {"connector.class": SINK, "topics": TOPIC, "tasks.max": str(tasks), "table.name.format": table,
              "connection.url": postgres.jdbc_url(), "connection.user": "postgres",
              "connection.password": postgres.password, "insert.mode": args.mode, "auto.create": "true",
              "batch.size": str(batch_size), "consumer.override.auto.offset.reset": "earliest",
              "key.converter": "org.apache.kafka.connect.storage.StringConverter",
              "value.converter": "org.apache.kafka.connect.json.JsonConverter",
              "value.converter.schemas.enable": "true"}
    config.update({"pk.mode": "record_value", "pk.fields": "id"} if args.mode == "upsert" else {"pk.mode": "none"})
    poller = Poller(postgres, table, args.records)
    recorder = None
    if args.perf:
        recorder = subprocess.Popen(["perf", "record", "-g", "-o", f"{args.perf}.{index}", "-p", str(vltava.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    existing = poller.sink_backends()
    threads_before = thread_cpu(vltava.pid) if args.threads else None
    cpu_vltava, cpu_postgres = proc_cpu_seconds(vltava.pid), postgres_cpu_seconds(postmaster)
    cpu_poller = proc_cpu_seconds(poller.pid)
    machine_before, script_before = machine_cpu(), os.times()
    started = time.monotonic()
    status, answer = http("POST", f"{url}/connectors", {"name": name, "config": config})
    if status != 201:
        raise Failure(f"creating the connector answered {status}: {answer}")
    next_status, backends, count = 0.0, set(), 0
    try:
        while True:
            now = time.monotonic() - started
            count = poller.poll(now)
            if count >= args.records:
                break
            if now >= next_status:
                next_status = now + 1
                check_status(url, name, log_path)
                backends.update(poller.sink_backends() - existing)
            if now > args.timeout:
                raise Failure(f"timed out after {args.timeout} s: {count} of {args.records} rows in {table}\n"
                              f"status: {http('GET', f'{url}/connectors/{name}/status')[1]}\n{tail(log_path)}")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        backend_cpu = 0.0
        backends.update(poller.sink_backends() - existing)
        for pid in backends:
            try:
                backend_cpu += proc_cpu_seconds(pid)  # born after the POST: all of its CPU is in the window
            except OSError:
                pass
        vltava_cpu = proc_cpu_seconds(vltava.pid) - cpu_vltava
        poll_cpu = proc_cpu_seconds(poller.pid) - cpu_poller
        postgres_cpu = postgres_cpu_seconds(postmaster) - cpu_postgres - poll_cpu
        threads_after = thread_cpu(vltava.pid) if args.threads else None
        machine = [after - before for after, before in zip(machine_cpu(), machine_before)]
        script = os.times()
        script_cpu = script.user + script.system - script_before.user - script_before.system
    finally:
        if recorder:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=120)
    first_row = poller.first_row_at
    poller.close()
    check = postgres.run(f'SELECT count(*), count(DISTINCT id), sum(id)::text FROM "{table}"')[0]
    expected = [args.records, args.records, str(args.records * (args.records - 1) // 2)]
    if list(check) != expected:
        raise Failure(f"{table} holds count, distinct ids, sum of ids = {check}, expected {expected}")
    http("DELETE", f"{url}/connectors/{name}")
    postgres.run(f'DROP TABLE "{table}"')
    result = {"tasks": tasks, "batch.size": batch_size, "seconds": elapsed, "rows/s": args.records / elapsed,
              "first row s": first_row, "rows/s after first row": args.records / (elapsed - first_row) if first_row and elapsed > first_row else None,
              "vltava µs/row": vltava_cpu / args.records * 1e6, "vltava cores": vltava_cpu / elapsed,
              "postgres µs/row": postgres_cpu / args.records * 1e6, "sink backends µs/row": backend_cpu / args.records * 1e6,
              "postgres cores": postgres_cpu / elapsed, "poll µs/row": poll_cpu / args.records * 1e6,
              "idle cores": machine[0] / elapsed, "niced cores": machine[1] / elapsed, "busy cores": machine[2] / elapsed,
              "script cores": script_cpu / elapsed}
    if threads_before is not None:
        result["threads"] = {k: v - threads_before.get(k, 0.0) for k, v in threads_after.items()
                             if v - threads_before.get(k, 0.0) > 0.005}
    return result


def check_status(url, name, log_path):
    status, answer = http("GET", f"{url}/connectors/{name}/status")
    if status != 200:
        return
    failed = [task for task in answer.get("tasks", []) if task.get("state") == "FAILED"]
    if answer.get("connector", {}).get("state") == "FAILED":
        failed.append(answer["connector"])
    if failed:
        traces = "\n".join(f"task {task.get('id', 'connector')}: {task.get('trace', '(no trace)')}" for task in failed)
        raise Failure(f"{name} FAILED:\n{traces}\n--- vltava log (tail) ---\n{tail(log_path)}")


# --- main ----------------------------------------------------------------------------------------------------------

def int_list(text):
    return [int(x) for x in text.split(",") if x]


def print_markdown_table(header, rows):
    """A Markdown table: headers left-aligned, cells right-aligned, columns as wide as their widest cell."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |")


def print_table(args, results, preload_seconds, record_size):
    print(f"\nJDBC sink into PostgreSQL: {args.records:,} records (5 columns, JsonConverter with schemas, "
          f"{record_size} B each), {args.partitions} partitions, insert.mode {args.mode}; goal >= {GOAL:,} rows/s on 2 cores")
    print(f"pre-load (confluent-kafka, not measured): {preload_seconds:.1f} s")
    header = ["run", "tasks", "batch.size", "wall s", "rows/s", "goal", "1st row s", "rows/s after 1st",
              "vltava µs/row", "vltava cores", "PG µs/row", "PG sink backends µs/row", "PG cores"]
    rows = []
    for index, r in enumerate(results, 1):
        rows.append([str(index), str(r["tasks"]), str(r["batch.size"]), f"{r['seconds']:.2f}", f"{r['rows/s']:,.0f}",
                     "met" if r["rows/s"] >= GOAL else "MISSED",
                     f"{r['first row s']:.2f}" if r["first row s"] is not None else "-",
                     f"{r['rows/s after first row']:,.0f}" if r["rows/s after first row"] else "-",
                     f"{r['vltava µs/row']:.2f}", f"{r['vltava cores']:.2f}", f"{r['postgres µs/row']:.2f}",
                     f"{r['sink backends µs/row']:.2f}", f"{r['postgres cores']:.2f}"])
    print_markdown_table(header, rows)
    print("(wall: from the connector's POST until count(*) = N, polled every 50-100 ms; 'after 1st': from the first row "
          "seen; vltava = broker + Connect worker, one process; PG = every PostgreSQL process less this script's poll "
          "backend; 'sink backends' = the connector's own connections)")
    for index, r in enumerate(results, 1):
        print(f"run {index}: machine over the window: {r['busy cores']:.2f} cores busy at normal priority (vltava, "
              f"PostgreSQL, this script {r['script cores']:.2f}, anything else), {r['niced cores']:.2f} niced, "
              f"{r['idle cores']:.2f} idle")
        if "threads" in r:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["threads"].items(), key=lambda kv: -kv[1]))
            print(f"run {index}: vltava CPU s by thread: {parts}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(REPO, ".build-release", "release", "vltava"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--tasks", type=int_list, default=[1], help="tasks.max; a comma-separated list runs each")
    parser.add_argument("--batch-size", type=int_list, default=[3000], help="batch.size; a comma-separated list runs each")
    parser.add_argument("--mode", choices=("insert", "upsert"), default="insert")
    parser.add_argument("--runs", type=int, default=1, help="runs of each tasks/batch.size combination")
    parser.add_argument("--compression", default="none", help="the pre-load's compression.type")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a run may take")
    parser.add_argument("--perf", metavar="FILE", help="perf record -g vltava during each run into FILE.<run>")
    parser.add_argument("--threads", action="store_true", help="print vltava's CPU per thread name")
    parser.add_argument("--json", metavar="FILE", help="write the raw results there")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"no vltava binary at {args.binary}")

    work = tempfile.mkdtemp(prefix="vltava-bench-jdbc.")
    os.chmod(work, 0o755)
    postgres = vltava = None
    try:
        postgres = PostgresServer().start()
        postmaster = int((postgres.data / "postmaster.pid").read_text().split()[0])
        vltava, bootstrap, url, log_path = start_vltava(args.binary, work)
        print(f"PostgreSQL {postgres.bin.parent.name} on 127.0.0.1:{postgres.port}, vltava serve (pid {vltava.pid}) on "
              f"{bootstrap}, Connect {url}; pre-loading {args.records:,} records", file=sys.stderr, flush=True)
        preload_seconds, record_size = preload(bootstrap, args.records, args.partitions, args.compression)
        results = []
        combinations = list(itertools.product(args.tasks, args.batch_size)) * args.runs
        for index, (tasks, batch_size) in enumerate(combinations, 1):
            time.sleep(2)  # let the pre-load's (or the previous run's) background work settle
            print(f"run {index}/{len(combinations)}: tasks.max {tasks}, batch.size {batch_size}", file=sys.stderr, flush=True)
            result = run_once(index, args, tasks, batch_size, postgres, postmaster, vltava, url, log_path)
            print(f"  {result['rows/s']:,.0f} rows/s in {result['seconds']:.2f} s", file=sys.stderr, flush=True)
            results.append(result)
        print_table(args, results, preload_seconds, record_size)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"records": args.records, "mode": args.mode, "partitions": args.partitions, "runs": results}, f, indent=1)
    except (Failure, RuntimeError) as failure:
        print(f"scripts/bench_jdbc_sink.py: {failure}", file=sys.stderr)
        return 1
    finally:
        if vltava and vltava.poll() is None:
            vltava.send_signal(signal.SIGTERM)
            try:
                vltava.wait(timeout=30)
            except subprocess.TimeoutExpired:
                vltava.kill()
        if postgres:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
