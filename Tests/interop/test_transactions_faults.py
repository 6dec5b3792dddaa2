"""Transactions across crashes and log maintenance. kill -9 while a transaction is prepared to commit or abort (the
broker started with VLTAVA_FAULT_PAUSE_BEFORE_MARKERS=1 stops right after the PrepareCommit/PrepareAbort record)
and while it is still open: after the restart the prepared transaction is completed, the open one aborted on its
timeout, and read_committed never shows part of a transaction. DeleteRecords, retention and compaction of a topic
with aborted transactions leave what read_committed reads unchanged."""

import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import txn_support as txn
from conftest import BrokerProcess, free_port

PAUSE = {"VLTAVA_FAULT_PAUSE_BEFORE_MARKERS": "1"}
CRASH_ARGS = ["--override", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200"]


@pytest.fixture
def crash_broker(vltava_bin, tmp_path):
    process = BrokerProcess(vltava_bin, tmp_path / "data", free_port(), extra_args=CRASH_ARGS).start()
    yield process
    process.kill9()


def ids(kind):
    suffix = uuid.uuid4().hex[:8]
    return f"tx-{kind}-{suffix}", f"txid-{kind}-{suffix}"


def committed_values(broker, topic, partitions):
    read = txn.read_partitions(broker, topic, partitions, "read_committed")
    return {p: [v for _, _, v in read[p]] for p in partitions}


def restart(broker, env=None, kill=True):
    if kill:
        broker.kill9()
    else:
        broker.stop()
    broker.env = env
    broker.start()


def commit_first_transaction(broker, topic, tid):
    """A committed transaction before the crash: two records on each of two partitions."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": tid, "linger.ms": 5})
    producer.init_transactions(20)
    producer.begin_transaction()
    for i in range(4):
        producer.produce(topic, value=b"first-%d" % i, partition=i % 2)
    producer.commit_transaction(20)
    return producer


@pytest.mark.parametrize("commit", [True, False], ids=["PrepareCommit", "PrepareAbort"])
def test_kill9_while_prepared_completes_the_transaction(crash_broker, commit):
    topic, tid = ids("prepared")
    txn.create_topic(crash_broker, topic, 2)
    producer = commit_first_transaction(crash_broker, topic, tid)
    first = {0: [b"first-0", b"first-2"], 1: [b"first-1", b"first-3"]}
    # From here on every ending transaction stops after its Prepare record.
    restart(crash_broker, PAUSE, kill=False)
    producer.begin_transaction()
    for i in range(6):
        producer.produce(topic, value=b"second-%d" % i, partition=i % 2)
    producer.flush(20)
    with pytest.raises(KafkaException) as failure:
        if commit:
            producer.commit_transaction(2)
        else:
            producer.abort_transaction(2)
    assert failure.value.args[0].code() == KafkaError._TIMED_OUT, failure.value.args[0]
    prepared = "PrepareCommit" if commit else "PrepareAbort"
    entry = txn.describe_transactions(crash_broker, tid)[tid]
    assert entry["TransactionState"] == prepared, entry
    assert [(t["Topic"], sorted(t["Partitions"])) for t in entry["Topics"]] == [(topic, [0, 1])]
    # No marker yet: the records stay hidden from read_committed.
    assert txn.high_watermarks(crash_broker, topic, [0, 1]) == {0: 6, 1: 6}
    assert txn.stable_offsets(crash_broker, topic, [0, 1]) == {0: 3, 1: 3}
    assert committed_values(crash_broker, topic, [0, 1]) == first
    # While prepared the coordinator answers a retry of the same ending with CONCURRENT_TRANSACTIONS, the other
    # ending with INVALID_TXN_STATE, and a new InitProducerId or AddPartitionsToTxn with CONCURRENT_TRANSACTIONS.
    pid, epoch = entry["ProducerId"], entry["ProducerEpoch"]
    assert txn.ask(crash_broker, "EndTxn", 3, {"TransactionalId": tid, "ProducerId": pid, "ProducerEpoch": epoch,
                                              "Committed": commit}, retry=())["ErrorCode"] == txn.CONCURRENT_TRANSACTIONS
    assert txn.end_txn(crash_broker, tid, pid, epoch, committed=not commit) == txn.INVALID_TXN_STATE
    assert txn.ask(crash_broker, "AddPartitionsToTxn", 3, {
        "V3AndBelowTransactionalId": tid, "V3AndBelowProducerId": pid, "V3AndBelowProducerEpoch": epoch,
        "V3AndBelowTopics": [{"Name": topic, "Partitions": [0]}]})["ResultsByTopicV3AndBelow"][0][
            "ResultsByPartition"][0]["PartitionErrorCode"] == txn.CONCURRENT_TRANSACTIONS
    assert txn.ask(crash_broker, "InitProducerId", 4, {"TransactionalId": tid, "TransactionTimeoutMs": 60_000,
                                                      "ProducerId": -1, "ProducerEpoch": -1},
                   retry=())["ErrorCode"] == txn.CONCURRENT_TRANSACTIONS
    assert txn.transaction_state(crash_broker, tid) == prepared

    restart(crash_broker, None)
    completed = "CompleteCommit" if commit else "CompleteAbort"
    txn.wait_until(lambda: txn.describe_transactions(crash_broker, tid)[tid]["TransactionState"] == completed,
                   message=completed)
    entry = txn.describe_transactions(crash_broker, tid)[tid]
    assert entry["Topics"] == []
    txn.wait_until(lambda: txn.stable_offsets(crash_broker, topic, [0, 1]) == {0: 7, 1: 7},
                   message="the markers after the restart")
    assert txn.high_watermarks(crash_broker, topic, [0, 1]) == {0: 7, 1: 7}
    second = {0: [b"second-0", b"second-2", b"second-4"], 1: [b"second-1", b"second-3", b"second-5"]}
    expected = {p: first[p] + (second[p] if commit else []) for p in (0, 1)}
    assert committed_values(crash_broker, topic, [0, 1]) == expected

    # The client retries its commit (abort) against the restarted broker and is told it is done; the
    # transactional id goes on working.
    if commit:
        producer.commit_transaction(20)
    else:
        producer.abort_transaction(20)
    producer.begin_transaction()
    producer.produce(topic, value=b"third", partition=0)
    producer.commit_transaction(20)
    assert committed_values(crash_broker, topic, [0, 1]) == {0: expected[0] + [b"third"], 1: expected[1]}


def test_kill9_while_ongoing_aborts_on_timeout(crash_broker):
    topic, tid = ids("ongoing")
    txn.create_topic(crash_broker, topic, 2)
    commit_first_transaction(crash_broker, topic, tid)
    producer = Producer({"bootstrap.servers": crash_broker.bootstrap, "transactional.id": f"{tid}-open",
                         "transaction.timeout.ms": 2000, "linger.ms": 5})
    producer.init_transactions(20)
    producer.begin_transaction()
    for i in range(6):
        producer.produce(topic, value=b"open-%d" % i, partition=i % 2)
    producer.flush(20)
    assert txn.transaction_state(crash_broker, f"{tid}-open") == "Ongoing"
    first = {0: [b"first-0", b"first-2"], 1: [b"first-1", b"first-3"]}
    assert committed_values(crash_broker, topic, [0, 1]) == first

    restart(crash_broker, None)
    # Right after the restart the open transaction's records are still hidden, until the coordinator aborts it.
    assert txn.stable_offsets(crash_broker, topic, [0, 1]) == {0: 3, 1: 3}
    assert committed_values(crash_broker, topic, [0, 1]) == first
    txn.wait_until(lambda: txn.transaction_state(crash_broker, f"{tid}-open") == "CompleteAbort", timeout=15,
                   message="the abort on timeout")
    txn.wait_until(lambda: txn.stable_offsets(crash_broker, topic, [0, 1]) == {0: 7, 1: 7}, message="the markers")
    assert txn.high_watermarks(crash_broker, topic, [0, 1]) == {0: 7, 1: 7}
    assert committed_values(crash_broker, topic, [0, 1]) == first
    read = txn.read_partitions(crash_broker, topic, [0, 1], "read_uncommitted")
    assert sum(len(v) for v in read.values()) == 10

    # A new producer with the same transactional id starts cleanly.
    again = Producer({"bootstrap.servers": crash_broker.bootstrap, "transactional.id": f"{tid}-open"})
    again.init_transactions(20)
    again.begin_transaction()
    again.produce(topic, value=b"after", partition=1)
    again.commit_transaction(20)
    assert committed_values(crash_broker, topic, [0, 1]) == {0: first[0], 1: first[1] + [b"after"]}


# --- log maintenance ---------------------------------------------------------------------------------------------

def interleaved_transactions(broker, topic, tid, rounds, records, keys=None, last_aborted_keys=()):
    """Rounds of a committed and an aborted transaction (two producers, overlapping) on partition 0, `records`
    records each; keys cycle over `keys` when given. Returns [(offset, key, value, committed)] in offset order."""
    committed = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": f"{tid}-c", "linger.ms": 5})
    aborted = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": f"{tid}-a", "linger.ms": 5})
    committed.init_transactions(20)
    aborted.init_transactions(20)
    delivered = []

    def report(visible):
        def on_delivery(err, message):
            assert err is None, err
            delivered.append((message.offset(), message.key(), message.value(), visible))
        return on_delivery

    for round in range(rounds):
        committed.begin_transaction()
        aborted.begin_transaction()
        for i in range(records):
            key = None if keys is None else keys[i % len(keys)]
            committed.produce(topic, key=key, value=b"c-%d-%d" % (round, i) + b"." * 40, partition=0,
                              on_delivery=report(True))
            aborted.produce(topic, key=key, value=b"a-%d-%d" % (round, i) + b"." * 40, partition=0,
                            on_delivery=report(False))
            if i % 3 == 0:
                committed.flush(20)
                aborted.flush(20)
        committed.flush(20)
        aborted.flush(20)
        committed.commit_transaction(20)
        aborted.abort_transaction(20)
    if last_aborted_keys:
        # The newest record of these keys is an aborted one.
        aborted.begin_transaction()
        for key in last_aborted_keys:
            aborted.produce(topic, key=key, value=b"a-last", partition=0, on_delivery=report(False))
        aborted.flush(20)
        aborted.abort_transaction(20)
    return sorted(delivered)


def test_delete_records_and_retention_keep_read_committed(vltava_bin, tmp_path):
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=["--override", "log.retention.check.interval.ms=200"]).start()
    try:
        topic, tid = ids("retention")
        txn.create_topic(broker, topic, 1, {"segment.bytes": "1024"})
        delivered = interleaved_transactions(broker, topic, tid, rounds=12, records=10)
        before = txn.read_partitions(broker, topic, [0])[0]
        assert [v for _, _, v in before] == [v for _, _, v, visible in delivered if visible]
        assert len(list((broker.data_dir / f"{topic}-0").glob("*.log"))) > 5, "segments rolled"

        # DeleteRecords to the middle of an aborted transaction: its remaining records stay hidden.
        cut = [o for o, _, v, visible in delivered if not visible and v.startswith(b"a-3-")][4]
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        partition = TopicPartition(topic, 0, cut)
        assert admin.delete_records([partition])[partition].result(20).low_watermark == cut
        after = txn.read_partitions(broker, topic, [0], start=cut)[0]
        assert after == [r for r in before if r[0] >= cut]
        assert txn.fetch(broker, topic, 0, offset=cut)["LogStartOffset"] == cut

        # Retention deletes whole segments from the start, leaving the log start anywhere in a transaction.
        hw = txn.high_watermarks(broker, topic, [0])[0]
        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
            ConfigEntry("retention.bytes", "3000", incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([resource])[resource].result(20)

        def log_start():
            start = txn.list_offsets(broker, topic, [0], timestamp=-2)[0]
            return start if start > cut else 0
        start = txn.wait_until(log_start, message="retention deleting segments")
        assert start < hw
        after = txn.read_partitions(broker, topic, [0], start=start)[0]
        assert after == [r for r in before if r[0] >= start]
        assert txn.high_watermarks(broker, topic, [0]) == {0: hw}
        assert txn.stable_offsets(broker, topic, [0]) == {0: hw}

        # And the same after a restart (the aborted transaction index is rebuilt from the segments left).
        restart(broker, None)
        after = txn.read_partitions(broker, topic, [0], start=start)[0]
        assert after == [r for r in before if r[0] >= start]
    finally:
        broker.kill9()


def test_compaction_keeps_read_committed(vltava_bin, tmp_path):
    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=["--override", "log.retention.check.interval.ms=200"]).start()
    try:
        topic, tid = ids("compact")
        # Written with cleanup.policy=delete so that read_committed can be read before any compaction.
        txn.create_topic(broker, topic, 1, {"segment.bytes": "2048"})
        keys = [b"k%d" % k for k in range(10)]
        delivered = interleaved_transactions(broker, topic, tid, rounds=12, records=10, keys=keys,
                                             last_aborted_keys=keys[:5])
        # The last committed value of every key (the aborted ones never count).
        expected = {}
        for _, key, value, visible in delivered:
            if visible:
                expected[key] = value
        before = txn.read_partitions(broker, topic, [0])[0]
        assert {k: v for _, k, v in before} == expected and len(before) == 120
        hw = txn.high_watermarks(broker, topic, [0])[0]
        assert "compacted partition" not in broker.log()

        from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([resource])[resource].result(20)
        txn.wait_until(lambda: "compacted partition" in broker.log(), message="the log cleaner")
        after = txn.read_partitions(broker, topic, [0])[0]
        latest = {}
        for _, key, value in after:
            latest[key] = value
        assert latest == expected, "the newest committed value of every key survives compaction"
        assert set(after) <= set(before), "no aborted record became visible"
        uncommitted = txn.read_partitions(broker, topic, [0], "read_uncommitted")[0]
        assert len(after) < len(before), "compaction removed committed values of the same keys"
        assert len(uncommitted) < len(delivered), "compaction removed records"
        assert txn.high_watermarks(broker, topic, [0]) == {0: hw}
        assert txn.stable_offsets(broker, topic, [0]) == {0: hw}
    finally:
        broker.kill9()
