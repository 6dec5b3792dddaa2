#!/usr/bin/env python3
"""Consumer group rebalances (issue 12): the consumer protocol (KIP-848, server-side assignment) against the classic
protocol with cooperative-sticky, in the same run, on one fresh `vltava serve`.

For each protocol: ten confluent-kafka consumers start at once on a 60-partition topic that a producer keeps
writing to (RATE records/s); the time until every partition is owned by exactly one member and each member has six
("stable"). Then an
eleventh member joins: the time until it has its first record and until the group is balanced again (5 or 6
partitions each), the records consumed per second around the change, and for the ten members already there the
longest time any went without a record during the change ("never stop consuming").

  scripts/bench_consumer_groups.py BINARY [--heartbeat-ms 1000] [--rate 20000] [--rounds 1] [--client confluent|java]

Both protocols heartbeat at the same interval: the broker's group.consumer.heartbeat.interval.ms for the consumer
protocol, the client's heartbeat.interval.ms for the classic one. `--client java` runs the members with Apache
Kafka's Java consumer (kafka-clients 3.9.1, Tests/interop/java/GroupRebalanceBench.java, compiled by
scripts/java-clients) instead of confluent-kafka; the producer is confluent-kafka's either way.
"""
import argparse
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 60
MEMBERS = 10


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Member:
    """A consumer polled by its own thread, recording when each record arrived and what it owns."""

    def __init__(self, name, config, topic):
        self.name = name
        self.consumer = Consumer(config)
        self.topic = topic
        self.arrivals = []
        self.owned = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_assign(self, consumer, partitions):
        with self.lock:
            self.owned |= {tp.partition for tp in partitions}

    def on_revoke(self, consumer, partitions):
        with self.lock:
            self.owned -= {tp.partition for tp in partitions}

    def start(self):
        self.consumer.subscribe([self.topic], on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_revoke)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            messages = self.consumer.consume(500, 0.05)
            now = time.monotonic()
            count = sum(1 for message in messages if not message.error())
            if count:
                with self.lock:
                    self.arrivals.append((now, count))

    def owned_now(self):
        with self.lock:
            return set(self.owned)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.consumer.close()


def produce_forever(bootstrap, topic, rate, stop):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": 1})
    payload = b"x" * 100
    sent = 0
    started = time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate)
        while sent < due:
            try:
                producer.produce(topic, payload, partition=sent % PARTITIONS)
            except BufferError:
                producer.poll(0.01)
                continue
            sent += 1
        producer.poll(0.005)
    producer.flush(10)


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.01)
    return None


def exclusive_cover(members):
    owned = [member.owned_now() for member in members]
    union = set().union(*owned)
    return len(union) == PARTITIONS and sum(len(o) for o in owned) == PARTITIONS


def run_protocol(bootstrap, protocol, heartbeat_ms, rate):
    topic = f"bench-groups-{protocol}-{int(time.time() * 1000)}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS)])[topic].result(30)
    group = f"bench-{protocol}-{int(time.time() * 1000)}"
    config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "latest",
              "enable.auto.commit": True, "fetch.wait.max.ms": 50}
    if protocol == "consumer":
        config["group.protocol"] = "consumer"
    else:
        config.update({"partition.assignment.strategy": "cooperative-sticky", "heartbeat.interval.ms": heartbeat_ms,
                       "session.timeout.ms": 45000})
    stop = threading.Event()
    producer = threading.Thread(target=produce_forever, args=(bootstrap, topic, rate, stop), daemon=True)
    producer.start()
    members = [Member(f"m{i}", config, topic) for i in range(MEMBERS)]
    try:
        started = time.monotonic()
        for member in members:
            member.start()
        stable = wait_until(lambda: exclusive_cover(members) and {len(m.owned_now()) for m in members} == {PARTITIONS // MEMBERS}, 120)
        cold = (stable - started) if stable else None
        time.sleep(3)  # steady consumption before the change
        newcomer = Member("m-new", config, topic)
        joined = time.monotonic()
        newcomer.start()
        first_record = wait_until(lambda: bool(newcomer.arrivals), 60)
        everyone = members + [newcomer]
        balanced = wait_until(lambda: exclusive_cover(everyone)
                              and sorted({len(m.owned_now()) for m in everyone}) in ([5, 6], [6], [5]), 60)
        time.sleep(3)
        end = time.monotonic()
        # Longest stretch without a record for the members already there, from 1 s before the join to the end.
        window_start = joined - 1
        gaps = []
        for member in members:
            times = [t for t, _ in member.arrivals if window_start <= t <= end]
            points = [window_start] + times + [end]
            gaps.append(max((b - a, a - joined) for a, b in zip(points, points[1:])))
        longest = max(gaps)
        def rate_between(a, b):
            total = sum(count for member in everyone for t, count in member.arrivals if a <= t < b)
            return total / (b - a)
        return {
            "cold_start_s": cold,
            "new_member_first_record_s": (first_record - joined) if first_record else None,
            "rebalanced_s": (balanced - joined) if balanced else None,
            "rate_before": rate_between(joined - 3, joined),
            "rate_during": rate_between(joined, (balanced or end)),
            "rate_after": rate_between((balanced or end), end),
            "longest_gap_old_members_s": longest[0],
            "longest_gap_from_s": longest[1],
        }
    finally:
        stop.set()
        producer.join(15)
        for member in members:
            member.close()
        if "newcomer" in locals():
            newcomer.close()


def run_protocol_java(bootstrap, protocol, heartbeat_ms, rate):
    """The same round with the Java consumer: the members run in one JVM, which prints the figures as facts."""
    repo = pathlib.Path(__file__).resolve().parents[1]
    clients = pathlib.Path(os.environ.get("JAVA_CLIENTS_DIR", repo / ".java-clients"))
    subprocess.run([str(repo / "scripts" / "java-clients")], check=True, capture_output=True)
    topic = f"bench-groups-java-{protocol}-{int(time.time() * 1000)}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS)])[topic].result(30)
    stop = threading.Event()
    producer = threading.Thread(target=produce_forever, args=(bootstrap, topic, rate, stop), daemon=True)
    producer.start()
    try:
        completed = subprocess.run(
            ["java", "-Djava.net.preferIPv4Stack=true", "-cp", f"{clients / 'classes'}{os.pathsep}{clients / 'lib'}/*",
             "GroupRebalanceBench", "run", bootstrap, topic, f"bench-java-{protocol}-{int(time.time() * 1000)}", protocol,
             str(MEMBERS), str(PARTITIONS), str(heartbeat_ms)], capture_output=True, text=True, timeout=400)
    finally:
        stop.set()
        producer.join(15)
    facts = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    if completed.returncode != 0:
        sys.exit(f"GroupRebalanceBench failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr[-3000:]}")
    number = lambda name: None if facts.get(name, "-") == "-" else float(facts[name])
    return {name: number(name) for name in ("cold_start_s", "new_member_first_record_s", "rebalanced_s", "rate_before",
                                             "rate_during", "rate_after", "longest_gap_old_members_s", "longest_gap_from_s")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--heartbeat-ms", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--client", choices=("confluent", "java"), default="confluent")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="bench-groups-")
    port = free_port()
    log = open(os.path.join(directory, "broker.log"), "w")
    broker = subprocess.Popen(
        [args.binary, "serve", "--data-dir", os.path.join(directory, "data"), "--listeners", f"PLAINTEXT://127.0.0.1:{port}",
         "--schema-registry-listeners", "none", "--connect-listeners", "none",
         "--override", f"group.consumer.heartbeat.interval.ms={args.heartbeat_ms}",
         "--override", f"group.consumer.min.heartbeat.interval.ms={min(args.heartbeat_ms, 5000)}",
         "--override", "group.initial.rebalance.delay.ms=0"], stdout=log, stderr=log)
    try:
        bootstrap = f"127.0.0.1:{port}"
        wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0, 20)
        print(f"{MEMBERS} members on {PARTITIONS} partitions, then one more; producer {args.rate} records/s; "
              f"heartbeat interval {args.heartbeat_ms} ms; {args.client} consumers")
        round_of = run_protocol_java if args.client == "java" else run_protocol
        header = ("protocol", "cold start s", "new member's 1st record s", "balanced s", "rec/s before", "during",
                  "after", "longest gap of the others s (from s after the join)")
        print(" | ".join(header))
        for _ in range(args.rounds):
            for protocol in ("consumer", "classic"):
                result = round_of(bootstrap, protocol, args.heartbeat_ms, args.rate)
                fmt = lambda v, p=2: "-" if v is None else f"{v:.{p}f}"
                print(" | ".join([protocol, fmt(result["cold_start_s"]), fmt(result["new_member_first_record_s"]),
                                  fmt(result["rebalanced_s"]), fmt(result["rate_before"], 0), fmt(result["rate_during"], 0),
                                  fmt(result["rate_after"], 0),
                                  f'{fmt(result["longest_gap_old_members_s"])} (from {fmt(result["longest_gap_from_s"])})']),
                      flush=True)
    finally:
        broker.terminate()
        broker.wait(20)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
