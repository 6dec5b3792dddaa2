"""`vltava transactions` (like kafka-transactions.sh): list, describe, describe-producers, and abort of a hanging
transaction by its start offset, against transactions of a real transactional producer (confluent-kafka)."""

import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import unique_topic


def run(vltava_bin, broker, *args):
    return subprocess.run([str(vltava_bin), "transactions", *args, "--bootstrap-server", broker.bootstrap],
                          capture_output=True, text=True, timeout=60)


def rows(output):
    lines = [line.split() for line in output.strip().splitlines()]
    return [dict(zip(lines[0], line)) for line in lines[1:]]


def read_committed(broker, topic):
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": unique_topic("g"),
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values, deadline = [], time.monotonic() + 3
    while time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and message.error() is None:
            values.append(message.value())
    consumer.close()
    return values


def test_list_describe_and_abort_a_hanging_transaction(vltava_bin, broker):
    topic = unique_topic("hang")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
    done = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": topic + "-done"})
    done.init_transactions(20)
    done.begin_transaction()
    done.produce(topic, b"committed", partition=0)
    done.commit_transaction(20)
    hanging = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": topic + "-open",
                        "transaction.timeout.ms": 600_000})
    hanging.init_transactions(20)
    hanging.begin_transaction()
    for _ in range(3):
        hanging.produce(topic, b"open", partition=0)
    hanging.flush(20)

    listed = run(vltava_bin, broker, "list")
    assert listed.returncode == 0, listed.stderr
    states = {row["TransactionalId"]: row["TransactionState"] for row in rows(listed.stdout)}
    assert states[topic + "-done"] == "CompleteCommit"
    assert states[topic + "-open"] == "Ongoing"
    ongoing = run(vltava_bin, broker, "list", "--state", "Ongoing")
    assert [row["TransactionalId"] for row in rows(ongoing.stdout) if row["TransactionalId"].startswith(topic)] == [topic + "-open"]

    described = run(vltava_bin, broker, "describe", "--transactional-id", topic + "-open")
    assert described.returncode == 0, described.stderr
    (row,) = rows(described.stdout)
    assert row["TransactionState"] == "Ongoing" and row["TopicPartitions"] == f"{topic}-0"
    assert row["TransactionTimeoutMs"] == "600000"
    missing = run(vltava_bin, broker, "describe", "--transactional-id", topic + "-none")
    assert missing.returncode == 1 and "TRANSACTIONAL_ID_NOT_FOUND" in missing.stderr

    # A later committed transaction stays invisible to read_committed behind the open one (the LSO is stuck at 2:
    # offset 0 is the committed record, 1 its marker, 2 the first open record).
    later = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": topic + "-later"})
    later.init_transactions(20)
    later.begin_transaction()
    later.produce(topic, b"later", partition=0)
    later.commit_transaction(20)
    assert read_committed(broker, topic) == [b"committed"]

    producers = run(vltava_bin, broker, "describe-producers", "--topic", topic, "--partition", "0")
    assert producers.returncode == 0, producers.stderr
    starts = sorted(row["CurrentTransactionStartOffset"] for row in rows(producers.stdout))
    assert starts == ["2", "None", "None"], producers.stdout

    aborted = run(vltava_bin, broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "2")
    assert aborted.returncode == 0, aborted.stderr
    assert "Aborted the transaction of producer" in aborted.stdout
    assert read_committed(broker, topic) == [b"committed", b"later"], "the abort unblocked the later transaction"
    after = run(vltava_bin, broker, "describe-producers", "--topic", topic, "--partition", "0")
    assert all(row["CurrentTransactionStartOffset"] == "None" for row in rows(after.stdout)), after.stdout
    again = run(vltava_bin, broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "2")
    assert again.returncode == 1 and "no open transaction starts at offset 2" in again.stderr

    both = run(vltava_bin, broker, "abort", "--topic", topic, "--partition", "0", "--start-offset", "2", "--producer-id", "1")
    assert both.returncode != 0 and "not both" in both.stderr
