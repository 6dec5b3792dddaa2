"""Transactions through Apache Kafka's Java client (kafka-clients 3.9.1): commit and abort, an open transaction
hidden from read_committed, consume-transform-produce with sendOffsetsToTransaction, and fencing by a second
producer with the same transactional.id (Tests/interop/java/Transactions.java). The commit and abort markers are
checked on the broker's disk."""

import uuid

import pytest
from java_support import batch_headers


def names(kind):
    suffix = uuid.uuid4().hex[:8]
    return f"jt-{kind}-{suffix}", f"jtx-{kind}-{suffix}"


def markers(broker, topic, partitions):
    """Per partition: (transactional data batches, control batches) on disk."""
    result = []
    for p in range(partitions):
        batches = batch_headers(broker.data_dir / f"{topic}-{p}")
        assert all(b["transactional"] for b in batches), f"non-transactional batch in {topic}-{p}"
        result.append((sum(1 for b in batches if not b["control"]), sum(1 for b in batches if b["control"])))
    return result


def test_java_transactions_commit(java, broker):
    topic, transactional_id = names("commit")
    result = java.ok("Transactions", "commit", broker.bootstrap, topic, transactional_id, broker=broker)
    assert result.facts["committed"] == "15"
    # Two transactions touching both partitions: one commit marker each per partition.
    assert [control for _, control in markers(broker, topic, 2)] == [2, 2]


def test_java_transactions_abort_read_committed_and_uncommitted(java, broker):
    topic, transactional_id = names("abort")
    result = java.ok("Transactions", "abort", broker.bootstrap, topic, transactional_id, broker=broker)
    assert result.facts["read_committed"] == "16"
    assert result.facts["read_uncommitted"] == "26"
    assert [control for _, control in markers(broker, topic, 2)] == [3, 3]


def test_java_transactions_open_transaction_hidden_until_commit(java, broker):
    topic, transactional_id = names("open")
    result = java.ok("Transactions", "open", broker.bootstrap, topic, transactional_id, broker=broker)
    assert result.facts["committed"] == "8"
    assert [control for _, control in markers(broker, topic, 1)] == [1]


def test_java_transactions_consume_transform_produce(java, group_broker):
    suffix = uuid.uuid4().hex[:8]
    result = java.ok("Transactions", "ctp", group_broker.bootstrap, f"jt-in-{suffix}", f"jt-out-{suffix}",
                     f"jt-group-{suffix}", f"jtx-ctp-{suffix}", broker=group_broker, timeout=150)
    assert result.facts["aborted_rounds"] == "1"
    assert result.facts["output"] == "30"
    assert int(result.facts["output_uncommitted"]) > 30
    # max.poll.records=4: at least 8 committed rounds for the 30 records, and the aborted one.
    assert int(result.facts["rounds"]) >= 9


def test_java_transactions_second_producer_fences_the_first(java, broker):
    topic, transactional_id = names("fence")
    result = java.ok("Transactions", "fence", broker.bootstrap, topic, transactional_id, broker=broker)
    assert result.facts["fenced"] == "ProducerFencedException"
    assert result.facts["read_committed"] == "6"
    assert result.facts["read_uncommitted"] == "12"
    # Each partition: the fenced transaction's abort marker and the second producer's commit marker.
    assert [control for _, control in markers(broker, topic, 2)] == [2, 2]


def test_java_admin_transaction_apis_and_abort_of_a_hanging_transaction(java, broker):
    topic, transactional_id = names("admin")
    result = java.ok("Transactions", "admin", broker.bootstrap, topic, transactional_id, broker=broker)
    assert result.facts["aborted"] == "3"
    # The partition-level abort's ABORT marker, then the coordinator's when the producer aborted.
    assert [control for _, control in markers(broker, topic, 1)] == [2]
