#!/usr/bin/env python3
"""CDC latency benchmark: Debezium's PostgreSQL connector in `vltava serve`, from a row's COMMIT to its record in Kafka.

Usage: scripts/bench_cdc.py --binary PATH [--rate 5000] [--seconds 30] [--rows-per-tx 50] [--workload insert[,mix]]
                            [--poll-interval-ms 100[,500,default...]]
                            [--max-batch-size 2048[,256...]] [--schemas on|off]
                            [--offset-flush-ms 1000] [--runs 1] [--threads] [--json FILE]

Goal (the CDC issue): end-to-end latency from commit to the record in Kafka at 5 000 row changes per second,
p99 <= 500 ms.

  1. Starts Debian's PostgreSQL (Tests/interop/postgres_support.PostgresServer: a temporary cluster run as `nobody`,
     wal_level=logical, fsync=off, synchronous_commit=off) and `vltava serve` with Connect (the helpers of
     scripts/bench_jdbc_sink.py), both on free loopback ports, with CONNECT_OFFSET_FLUSH_INTERVAL_MS=--offset-flush-ms.
  2. For each run (each combination of --workload, --poll-interval-ms and --max-batch-size, --runs times): a new table
     (id bigserial primary key, body text, version int; REPLICA IDENTITY DEFAULT, the non-key columns nullable, as
     the connector fails a delete's `before` that lacks a NOT NULL column), its topic `<prefix>.public.<table>`
     created with one partition, and a CDC connector (`io.debezium.connector.postgresql.PostgresConnector`, pgoutput,
     a publication for that table alone, snapshot.mode no_data, JsonConverter for key and value with schemas.enable
     per --schemas, poll.interval.ms and max.batch.size per run). A confluent-kafka consumer reads the topic from its
     start in a thread of its own (partition assigned, no group, fetch.wait.max.ms 100). A warm-up transaction is
     written and awaited first.
  3. A writer (pg8000, one connection, in a thread) commits RATE row changes per second for SECONDS seconds in
     transactions of ROWS-PER-TX changes, paced against a fixed schedule: `insert` inserts them all; `mix` inserts
     60 %, updates 30 % and deletes 10 % of each transaction's changes (rows written earlier). Each transaction
     learns its id (txid_current(), in the RETURNING of its first statement) and the ids it changed; its commit time
     is the writer's wall clock right after COMMIT returned.
  4. Latency of a record = the wall clock when the consumer received it − the commit time of its transaction (the
     event's source.txId); one host, one clock. Also split into stages from the event's own times: commit → the
     connector made the record (the envelope's ts_us), → the produce batch was built (the Kafka record's CreateTime,
     ms), → the consumer received it. Over the window from the writer's start until the last change arrived: vltava's
     CPU (broker and Connect worker, one process, utime+stime from /proc) and PostgreSQL's (every process of the
     cluster).
  5. Checks that every change arrived exactly once (per transaction: the multiset of (op, id); a tombstone after each
     delete), then deletes the connector, drops its slot, publication and table.
A task that goes FAILED, a change missing or repeated, or changes still missing DRAIN seconds after the writer
stopped end the script with status 1 and the reason. A missed goal is printed (MISSED) and, with --check-goal, ends
the script with status 3. `--threads` prints vltava's CPU per thread name for each run.
"""

import argparse
import collections
import contextlib
import itertools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, SCRIPTS)
# bench_jdbc_sink puts Tests/interop on sys.path (for postgres_support) and loads scripts/bench-connect's REST helpers.
import bench_jdbc_sink  # noqa: E402
from bench_broker import proc_cpu_seconds  # noqa: E402
from bench_jdbc_sink import Failure, check_status, machine_cpu, postgres_cpu_seconds, start_vltava, tail, thread_cpu  # noqa: E402
from postgres_support import PostgresServer  # noqa: E402

http, wait_until = bench_jdbc_sink.http, bench_jdbc_sink.wait_until

CDC = "io.debezium.connector.postgresql.PostgresConnector"
JSON = "org.apache.kafka.connect.json.JsonConverter"
GOAL_MS = 500
MIX = (0.6, 0.3, 0.1)  # inserts, updates, deletes of each transaction in the `mix` workload


# --- the writer -----------------------------------------------------------------------------------------------------

class Writer:
    """Commits row changes at a fixed rate over one pg8000 connection; per transaction: commit time and changes."""

    def __init__(self, postgres, table, workload, rows_per_tx):
        self.connection = postgres.connect()
        self.table, self.workload, self.rows_per_tx = table, workload, rows_per_tx
        self.live = []  # ids inserted and not deleted, for the updates and deletes of `mix`
        self.transactions = {}  # xid (32 bits, as in pgoutput and source.txId) -> (commit time, [(op, id)])
        self.changes = self.deletes = 0
        self.error = None
        self.started = self.finished = None
        self.max_behind = 0.0  # the most a transaction started after its scheduled time, seconds
        self.commit_seconds = []  # wall time of each transaction (BEGIN to COMMIT returned)

    def transaction(self):
        n = self.rows_per_tx
        inserts, updates, deletes = n, 0, 0
        if self.workload == "mix" and len(self.live) >= 4 * n:
            updates, deletes = round(n * MIX[1]), round(n * MIX[2])
            inserts = n - updates - deletes
        begun = time.time()
        run = self.connection.run
        run("BEGIN")
        rows = run(f"INSERT INTO {self.table} (body) SELECT repeat(md5(g::text || :seed), 3) "
                   f"FROM generate_series(1, :n) g RETURNING id, txid_current()", seed=str(begun), n=inserts)
        xid = rows[0][1] & 0xFFFFFFFF
        changes = [("c", row[0]) for row in rows]
        if deletes:
            picked = set()
            for _ in range(deletes):
                index = random.randrange(len(self.live))
                self.live[index], self.live[-1] = self.live[-1], self.live[index]
                picked.add(self.live.pop())
            gone = run(f"DELETE FROM {self.table} WHERE id = ANY(:ids) RETURNING id", ids=sorted(picked))
            changes += [("d", row[0]) for row in gone]
        if updates:
            chosen = sorted(set(random.sample(self.live, updates)))
            done = run(f"UPDATE {self.table} SET version = version + 1, body = md5(body) WHERE id = ANY(:ids) "
                       f"RETURNING id", ids=chosen)
            changes += [("u", row[0]) for row in done]
        run("COMMIT")
        committed = time.time()
        self.live += [row[0] for row in rows]
        self.transactions[xid] = (committed, changes)
        self.changes += len(changes)
        self.deletes += sum(1 for op, _ in changes if op == "d")
        self.commit_seconds.append(committed - begun)
        return xid

    def run(self, rate, seconds):
        interval = self.rows_per_tx / rate
        count = int(round(rate * seconds / self.rows_per_tx))
        try:
            start = time.monotonic()
            self.started = time.time()
            for k in range(count):
                due = start + k * interval
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    self.max_behind = max(self.max_behind, -delay)
                self.transaction()
            self.finished = time.time()
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            self.error = error
            self.finished = time.time()

    def close(self):
        self.connection.close()


# --- the consumer ---------------------------------------------------------------------------------------------------

class Reader:
    """Reads one partition from its start in a thread; keeps (receive time, CreateTime ms, key, payload JSON bytes)."""

    def __init__(self, bootstrap, topic, fetch_wait_ms):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-cdc-{topic}",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": fetch_wait_ms})
        self.consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        self.items = []
        self.error = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="reader", daemon=True)
        self.thread.start()

    def loop(self):
        poll, consume, items = self.consumer.poll, self.consumer.consume, self.items
        try:
            while not self.stopping.is_set():
                first = poll(0.05)
                if first is None:
                    continue
                received = time.time()
                # What librdkafka has already fetched, without waiting (consume() with a timeout waits it out).
                for message in [first] + consume(10_000, 0):
                    if message.error():
                        raise RuntimeError(f"consumer error: {message.error()}")
                    value = message.value()
                    if value is not None:
                        at = value.rfind(b'"payload":{')
                        value = value[at + 10:-1] if at >= 0 else value  # schemas on: the envelope's payload alone
                    items.append((received, message.timestamp()[1], message.key(), value))
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            self.error = error

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)
        self.consumer.close()


# --- one run ----------------------------------------------------------------------------------------------------------

def percentile(values, fraction):
    """The nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, math.ceil(fraction * len(values)) - 1))]


def summary(values):
    values = sorted(values)
    return {"p50": percentile(values, 0.5), "p90": percentile(values, 0.9), "p99": percentile(values, 0.99),
            "max": values[-1] if values else float("nan"), "count": len(values)}


def connector_config(args, postgres, index, table, poll_ms, batch_size):
    schemas = "true" if args.schemas == "on" else "false"
    config = {"connector.class": CDC, "tasks.max": "1", "database.hostname": "127.0.0.1", "database.port": str(postgres.port),
              "database.user": "postgres", "database.password": postgres.password, "database.dbname": "postgres",
              "topic.prefix": f"bench{index}", "plugin.name": "pgoutput", "slot.name": f"bench_slot_{index}",
              "publication.name": f"bench_pub_{index}", "publication.autocreate.mode": "filtered",
              "table.include.list": f"public.{table}", "snapshot.mode": "no_data",
              "key.converter": JSON, "value.converter": JSON, "key.converter.schemas.enable": schemas,
              "value.converter.schemas.enable": schemas}
    if poll_ms is not None:
        config["poll.interval.ms"] = str(poll_ms)
    if batch_size is not None:
        config["max.batch.size"] = str(batch_size)
    return config


def decode(item):
    """(txId, op, id, envelope ts_us, source ts_us) of a record; None for a tombstone."""
    received, created_ms, key, value = item
    if value is None:
        return None
    payload = json.loads(value)
    row = payload["after"] if payload["op"] != "d" else payload["before"]
    source = payload["source"]
    return source["txId"], payload["op"], row["id"], payload.get("ts_us"), source.get("ts_us")


def run_once(index, args, workload, poll_ms, batch_size, postgres, postmaster, vltava, bootstrap, url, log_path):
    from confluent_kafka.admin import AdminClient, NewTopic
    name, table = f"cdc-bench-{index}", f"cdc_bench_{index}"
    topic = f"bench{index}.public.{table}"
    postgres.run(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, body text, version int DEFAULT 0)")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
    reader = Reader(bootstrap, topic, args.fetch_wait_ms)
    writer = Writer(postgres, table, workload, args.rows_per_tx)
    try:
        status, answer = http("POST", f"{url}/connectors", {"name": name, "config": connector_config(args, postgres, index, table, poll_ms, batch_size)})
        if status != 201:
            raise Failure(f"creating the connector answered {status}: {answer}")

        def slot_ready():
            check_status(url, name, log_path)
            return postgres.run("SELECT count(*) FROM pg_replication_slots WHERE slot_name = :s", s=f"bench_slot_{index}")[0][0] == 1
        wait_until(slot_ready, 60, "the connector's replication slot")

        # Warm-up: one transaction through the whole path (connection, first produce, the consumer's first fetch).
        warm = writer.transaction()
        deadline = time.monotonic() + 60
        while len(reader.items) < args.rows_per_tx:
            if time.monotonic() > deadline or reader.error:
                raise Failure(f"the warm-up transaction did not arrive within 60 s ({len(reader.items)} of "
                              f"{args.rows_per_tx} records; {reader.error or ''})\n{tail(log_path)}")
            check_status(url, name, log_path)
            time.sleep(0.05)
        time.sleep(0.5)
        warm_items = len(reader.items)
        del writer.transactions[warm]
        writer.changes = writer.deletes = 0
        writer.commit_seconds = []

        threads_before = thread_cpu(vltava.pid) if args.threads else None
        cpu_vltava, cpu_postgres, machine_before = proc_cpu_seconds(vltava.pid), postgres_cpu_seconds(postmaster), machine_cpu()
        script_before = os.times()
        started = time.time()
        thread = threading.Thread(target=writer.run, args=(args.rate, args.seconds), name="writer", daemon=True)
        thread.start()
        next_status = 0.0
        while thread.is_alive():
            thread.join(timeout=0.5)
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + 1
                check_status(url, name, log_path)
            if reader.error:
                raise Failure(f"the consumer failed: {reader.error}")
        if writer.error:
            raise Failure(f"the writer failed: {writer.error!r}")
        expected = warm_items + writer.changes + (writer.deletes if args.tombstones else 0)
        deadline = time.monotonic() + args.drain
        while len(reader.items) < expected:
            if reader.error:
                raise Failure(f"the consumer failed: {reader.error}")
            if time.monotonic() > deadline:
                break  # reported by the check below, with what is missing
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + 1
                check_status(url, name, log_path)
            time.sleep(0.02)
        last_received = reader.items[-1][0] if len(reader.items) > warm_items else time.time()
        window = max(last_received, writer.finished) - started
        vltava_cpu = proc_cpu_seconds(vltava.pid) - cpu_vltava
        postgres_cpu = postgres_cpu_seconds(postmaster) - cpu_postgres
        machine = [after - before for after, before in zip(machine_cpu(), machine_before)]
        script = os.times()
        script_cpu = script.user + script.system - script_before.user - script_before.system
        threads_after = thread_cpu(vltava.pid) if args.threads else None
        time.sleep(0.3)  # anything repeated after the last expected record
    finally:
        reader.stop()
        writer.close()

    # --- check and measure ---
    items = reader.items[warm_items:]
    received, tombstones, latencies, stages = collections.defaultdict(list), 0, [], ([], [], [], [])
    by_second = collections.defaultdict(float)  # the worst latency of each second of the writer's run
    for item in items:
        decoded = decode(item)
        if decoded is None:
            tombstones += 1
            continue
        xid, op, row_id, made_us, commit_us = decoded
        received[xid].append((op, row_id))
        if xid not in writer.transactions:
            continue
        committed = writer.transactions[xid][0]
        latency = (item[0] - committed) * 1000
        latencies.append(latency)
        second = int(committed - started)
        by_second[second] = max(by_second[second], latency)
        if made_us is not None:
            stages[0].append(made_us / 1000 - committed * 1000)
            stages[1].append(item[1] - made_us / 1000)
        stages[2].append(item[0] * 1000 - item[1])
        if commit_us is not None:
            stages[3].append(commit_us / 1000 - committed * 1000)
    missing, repeated, unknown = 0, 0, 0
    for xid, (_, changes) in writer.transactions.items():
        want, got = collections.Counter(changes), collections.Counter(received.get(xid, []))
        missing += sum((want - got).values())
        repeated += sum((got - want).values())
    unknown = sum(len(v) for xid, v in received.items() if xid not in writer.transactions)
    problems = []
    if missing:
        problems.append(f"{missing} of {writer.changes} changes missing after {args.drain} s")
    if repeated:
        problems.append(f"{repeated} changes arrived more than once")
    if unknown:
        problems.append(f"{unknown} records of transactions the writer did not make")
    if args.tombstones and tombstones != writer.deletes:
        problems.append(f"{tombstones} tombstones for {writer.deletes} deletes")
    if problems:
        raise Failure(f"run {index} ({workload}, poll.interval.ms {poll_ms}, max.batch.size {batch_size}): " + "; ".join(problems) + f"\n{tail(log_path)}")

    http("DELETE", f"{url}/connectors/{name}")
    drop_slot(postgres, f"bench_slot_{index}")
    postgres.run(f"DROP PUBLICATION IF EXISTS bench_pub_{index}")
    postgres.run(f"DROP TABLE {table}")

    wrote = writer.finished - writer.started
    commit_ms = sorted(x * 1000 for x in writer.commit_seconds)
    result = {"workload": workload, "poll.interval.ms": poll_ms, "max.batch.size": batch_size, "changes": writer.changes, "deletes": writer.deletes,
              "transactions": len(writer.transactions), "writer seconds": wrote, "changes/s": writer.changes / wrote,
              "writer max behind ms": writer.max_behind * 1000, "commit ms p50": percentile(commit_ms, 0.5),
              "commit ms p99": percentile(commit_ms, 0.99),
              "latency ms": summary(latencies), "commit -> record made ms": summary(stages[0]),
              "record made -> produce batch ms": summary(stages[1]), "produce batch -> consumer ms": summary(stages[2]),
              "PG commit - writer commit ms": summary(stages[3]),
              "worst latency ms by second": [round(by_second[s]) for s in sorted(by_second)],
              "window s": window, "vltava cpu %": vltava_cpu / window * 100, "postgres cpu %": postgres_cpu / window * 100,
              "script cpu %": script_cpu / window * 100, "busy cores": machine[2] / window,
              "niced cores": machine[1] / window, "idle cores": machine[0] / window}
    if threads_before is not None:
        result["threads"] = {k: v - threads_before.get(k, 0.0) for k, v in threads_after.items() if v - threads_before.get(k, 0.0) > 0.005}
    return result


def drop_slot(postgres, slot):
    """Drops a slot once the deleted connector's task has let go of it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            postgres.run("SELECT pg_drop_replication_slot(:s)", s=slot)
            return
        except Exception as error:  # noqa: BLE001 - active for a moment more
            if time.monotonic() > deadline:
                raise Failure(f"cannot drop the replication slot {slot}: {error}") from error
            time.sleep(0.2)


# --- main ---------------------------------------------------------------------------------------------------------------

def terminate(process):
    """Stops vltava with SIGTERM (SIGKILL after 30 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def poll_list(text):
    return [None if x == "default" else int(x) for x in text.split(",") if x]


def print_table(args, results):
    print(f"\nCDC latency, commit -> record received from Kafka: {args.rate:,} row changes/s for {args.seconds} s in "
          f"transactions of {args.rows_per_tx}, JsonConverter schemas {args.schemas}, snapshot.mode no_data, "
          f"offset.flush.interval.ms {args.offset_flush_ms}; goal p99 <= {GOAL_MS} ms")
    header = ["run", "workload", "poll.interval.ms", "max.batch.size", "changes", "changes/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "goal",
              "vltava CPU %", "PG CPU %"]
    rows = []
    for index, r in enumerate(results, 1):
        latency = r["latency ms"]
        rows.append([str(index), r["workload"], "default (500)" if r["poll.interval.ms"] is None else str(r["poll.interval.ms"]),
                     "default (2048)" if r["max.batch.size"] is None else str(r["max.batch.size"]),
                     f"{r['changes']:,}", f"{r['changes/s']:,.0f}", f"{latency['p50']:.0f}", f"{latency['p90']:.0f}",
                     f"{latency['p99']:.0f}", f"{latency['max']:.0f}", "met" if latency["p99"] <= GOAL_MS else "MISSED",
                     f"{r['vltava cpu %']:.0f}", f"{r['postgres cpu %']:.0f}"])
    bench_jdbc_sink.print_markdown_table(header, rows)
    print("(CPU % of one core over the window from the writer's start until the last change arrived; vltava = broker + "
          "Connect worker, one process; every change checked: arrived once, tombstones after deletes)")
    for index, r in enumerate(results, 1):
        stage = lambda key: f"{r[key]['p50']:.0f}/{r[key]['p99']:.0f}/{r[key]['max']:.0f}"  # noqa: E731
        print(f"run {index}: stages p50/p99/max ms: commit -> connector made the record {stage('commit -> record made ms')}, "
              f"-> produce batch built {stage('record made -> produce batch ms')}, -> consumer "
              f"{stage('produce batch -> consumer ms')}; PostgreSQL's commit time - the writer's "
              f"{stage('PG commit - writer commit ms')}")
        print(f"run {index}: writer: {r['transactions']:,} transactions in {r['writer seconds']:.1f} s, BEGIN..COMMIT "
              f"p50 {r['commit ms p50']:.1f} ms p99 {r['commit ms p99']:.1f} ms, at most {r['writer max behind ms']:.0f} ms "
              f"behind its schedule; machine: {r['busy cores']:.2f} cores busy at normal priority (this script "
              f"{r['script cpu %'] / 100:.2f}), {r['niced cores']:.2f} niced, {r['idle cores']:.2f} idle")
        print(f"run {index}: worst latency (ms) per second of commits: {' '.join(str(x) for x in r['worst latency ms by second'])}")
        if "threads" in r:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["threads"].items(), key=lambda kv: -kv[1]))
            print(f"run {index}: vltava CPU s by thread: {parts}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(SCRIPTS), ".build-release", "release", "vltava"))
    parser.add_argument("--rate", type=int, default=5000, help="row changes per second")
    parser.add_argument("--seconds", type=float, default=30, help="how long the writer writes")
    parser.add_argument("--rows-per-tx", type=int, default=50, help="row changes per transaction")
    parser.add_argument("--workload", type=lambda t: t.split(","), default=["insert"],
                        help="insert (inserts only) or mix (60 %% inserts, 30 %% updates, 10 %% deletes); a list runs each")
    parser.add_argument("--poll-interval-ms", type=poll_list, default=[100],
                        help="the connector's poll.interval.ms ('default' leaves it unset: 500); a list runs each")
    parser.add_argument("--max-batch-size", type=poll_list, default=[None],
                        help="the connector's max.batch.size ('default' leaves it unset: 2048); a list runs each")
    parser.add_argument("--schemas", choices=("on", "off"), default="on", help="JsonConverter schemas.enable")
    parser.add_argument("--offset-flush-ms", type=int, default=1000, help="the worker's offset.flush.interval.ms")
    parser.add_argument("--fetch-wait-ms", type=int, default=100, help="the consumer's fetch.wait.max.ms")
    parser.add_argument("--no-tombstones", dest="tombstones", action="store_false",
                        help="do not expect a tombstone after each delete (the connector keeps tombstones.on.delete=true)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each workload/poll.interval.ms combination")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for the last changes after the writer")
    parser.add_argument("--threads", action="store_true", help="print vltava's CPU per thread name")
    parser.add_argument("--check-goal", action="store_true", help="exit with status 3 when a run misses the goal")
    parser.add_argument("--json", metavar="FILE", help="write the raw results there")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"no vltava binary at {args.binary}")
    if any(w not in ("insert", "mix") for w in args.workload):
        sys.exit("--workload takes insert and mix")

    os.environ["CONNECT_OFFSET_FLUSH_INTERVAL_MS"] = str(args.offset_flush_ms)  # start_vltava passes the environment on
    with contextlib.ExitStack() as cleanup:
        work = tempfile.mkdtemp(prefix="vltava-bench-cdc.")
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        os.chmod(work, 0o755)
        try:
            postgres = PostgresServer().start()
            cleanup.callback(postgres.stop)
            postmaster = int((postgres.data / "postmaster.pid").read_text().split()[0])
            vltava, bootstrap, url, log_path = start_vltava(args.binary, work)
            cleanup.callback(terminate, vltava)
            print(f"PostgreSQL {postgres.bin.parent.name} on 127.0.0.1:{postgres.port}, vltava serve (pid {vltava.pid}) on "
                  f"{bootstrap}, Connect {url}", file=sys.stderr, flush=True)
            results = []
            combinations = list(itertools.product(args.workload, args.poll_interval_ms, args.max_batch_size)) * args.runs
            for index, (workload, poll_ms, batch_size) in enumerate(combinations, 1):
                time.sleep(1)
                print(f"run {index}/{len(combinations)}: {workload}, poll.interval.ms {poll_ms or 'default'}, max.batch.size "
                      f"{batch_size or 'default'}", file=sys.stderr, flush=True)
                result = run_once(index, args, workload, poll_ms, batch_size, postgres, postmaster, vltava, bootstrap, url,
                                  log_path)
                latency = result["latency ms"]
                print(f"  {result['changes/s']:,.0f} changes/s, latency p50 {latency['p50']:.0f} ms, p99 "
                      f"{latency['p99']:.0f} ms, max {latency['max']:.0f} ms", file=sys.stderr, flush=True)
                results.append(result)
        except (Failure, RuntimeError) as failure:
            print(f"scripts/bench_cdc.py: {failure}", file=sys.stderr)
            return 1
    print_table(args, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": results}, f, indent=1)
    if args.check_goal and any(r["latency ms"]["p99"] > GOAL_MS for r in results):
        print(f"scripts/bench_cdc.py: p99 latency above {GOAL_MS} ms", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
