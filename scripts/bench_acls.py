#!/usr/bin/env python3
"""Authorization cost with many ACLs (issue 11): the same SASL_PLAINTEXT client (PLAIN user `alice`) produces and
consumes against a broker without an authorizer, then against one with Kafka's StandardAuthorizer holding N ACLs
(default 10 000: literal and prefixed topic ACLs of other users, group and transactional-id ACLs, and alice's own
prefixed ones), and prints records/s and the broker's CPU per record for both. Small records with linger.ms=0 make
many requests, so a per-request cost shows.

    scripts/bench_acls.py .build-release/release/vltava --records 300000 --acls 10000
"""

import argparse
import os
import socket
import subprocess
import sys
import shutil
import tempfile
import time

from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, AdminClient, NewTopic, ResourcePatternType, ResourceType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_security import consume, free_port, produce  # noqa: E402

JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'user_alice="alice-secret";')


def start(binary, directory, authorizer):
    plain, sasl = free_port(), free_port()
    args = [binary, "serve", "--data-dir", os.path.join(directory, "data"), "--schema-registry-listeners", "none",
            "--connect-listeners", "none",
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl}",
            "--override", "sasl.enabled.mechanisms=PLAIN",
            "--override", f"listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}"]
    if authorizer:
        args += ["--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                 "--override", "super.users=User:ANONYMOUS"]
    broker = subprocess.Popen(args, stdout=open(os.path.join(directory, "broker.log"), "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", plain), timeout=0.2).close()
            return broker, plain, sasl
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def many_acls(count):
    """`count` ACLs that are not alice's and never match her requests, plus the ones she needs (PREFIXED)."""
    acls = [AclBinding(ResourceType.TOPIC, "bench-", ResourcePatternType.PREFIXED, "User:alice", "*", operation,
                       AclPermissionType.ALLOW) for operation in (AclOperation.WRITE, AclOperation.READ, AclOperation.CREATE)]
    acls.append(AclBinding(ResourceType.GROUP, "bench-", ResourcePatternType.PREFIXED, "User:alice", "*", AclOperation.READ,
                           AclPermissionType.ALLOW))
    kinds = [(ResourceType.TOPIC, ResourcePatternType.LITERAL, AclOperation.WRITE),
             (ResourceType.TOPIC, ResourcePatternType.PREFIXED, AclOperation.READ),
             (ResourceType.GROUP, ResourcePatternType.LITERAL, AclOperation.READ),
             (ResourceType.TRANSACTIONAL_ID, ResourcePatternType.PREFIXED, AclOperation.WRITE)]
    index = 0
    while len(acls) < count:
        resource, pattern, operation = kinds[index % len(kinds)]
        # Names sharing alice's prefix letters, so prefix lookups have neighbours to skip.
        name = f"bench-other-{index}" if index % 10 == 0 else f"team-{index % 97}-topic-{index}"
        acls.append(AclBinding(resource, name, pattern, f"User:user-{index % 500}", "*", operation, AclPermissionType.ALLOW))
        index += 1
    return acls


def produce_small(config, topic, count, size, pid):
    """Many small requests (acks=1, linger.ms=0): (records/s, broker µs CPU per record)."""
    rate, _, cpu = produce(config, topic, count, size, pid, {"acks": 1, "linger.ms": 0, "batch.num.messages": 100})
    return rate, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--acls", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds of both brokers (default 2)")
    args = parser.parse_args()
    print(f"records per run: {args.records} of {args.size} B (acks=1, linger.ms=0); broker {args.binary}")
    print(f"{'authorizer':<28}{'produce rec/s':>15}{'µs CPU/rec':>12}{'consume rec/s':>15}{'µs CPU/rec':>12}")
    for acl_count in [None, args.acls, args.acls, None, None, args.acls][:2 * args.rounds]:
        directory = tempfile.mkdtemp(prefix="bench-acls-")
        broker, plain, sasl = start(args.binary, directory, authorizer=acl_count is not None)
        try:
            admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{plain}"})
            topic = "bench-acl-topic"
            admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
            if acl_count:
                acls = many_acls(acl_count)
                for start_index in range(0, len(acls), 1000):
                    for future in admin.create_acls(acls[start_index:start_index + 1000]).values():
                        future.result(60)
            config = {"bootstrap.servers": f"127.0.0.1:{sasl}", "security.protocol": "SASL_PLAINTEXT",
                      "sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "alice-secret"}
            # A first group read creates __consumer_offsets: a metadata change, whose file (ACLs included) is
            # written whole — a one-off cost kept out of the per-record figures.
            produce_small(config, topic, 1, args.size, broker.pid)
            consume(config, topic, 1, broker.pid)
            rate, cpu = produce_small(config, topic, args.records, args.size, broker.pid)
            consume_rate, consume_cpu = consume(config, topic, args.records + 1, broker.pid)
            label = "none" if acl_count is None else f"StandardAuthorizer, {acl_count} ACLs"
            print(f"{label:<28}{rate:>15,.0f}{cpu:>12.2f}{consume_rate:>15,.0f}{consume_cpu:>12.2f}")
        finally:
            broker.kill()
            broker.wait()
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
