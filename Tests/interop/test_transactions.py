"""Transactions through the Python clients (confluent-kafka, aiokafka with v0 of the transaction APIs, kafka-python
3.x) and raw frames: commit and abort, consume-transform-produce with send_offsets_to_transaction, 1 000 aborted
records interleaved with committed ones, the last stable offset while a transaction is open, the coordinator
aborting a transaction past its timeout and fencing its producer, DescribeTransactions and ListTransactions, and the
coordinator's error answers. Every test but the timeout one uses its own topics and transactional ids on one broker."""

import asyncio
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

import txn_support as txn
from conftest import BrokerProcess, free_port, unique_topic

BROKER_ARGS = ["--override", "group.initial.rebalance.delay.ms=300",
               "--override", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200"]


@pytest.fixture(scope="module")
def txn_broker(vltava_bin, tmp_path_factory):
    directory = tmp_path_factory.mktemp("txn")
    process = BrokerProcess(vltava_bin, directory / "data", free_port(), extra_args=BROKER_ARGS).start()
    yield process
    process.kill9()


def ids(kind):
    suffix = uuid.uuid4().hex[:8]
    return f"tx-{kind}-{suffix}", f"txid-{kind}-{suffix}"


def transactional_producer(broker, transactional_id, **config):
    producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": transactional_id,
                         "linger.ms": 5, **config})
    producer.init_transactions(20)
    return producer


# --- confluent-kafka --------------------------------------------------------------------------------------------

def test_confluent_commit_and_abort(txn_broker):
    topic, tid = ids("ck")
    txn.create_topic(txn_broker, topic, 2)
    producer = transactional_producer(txn_broker, tid)
    committed, everything = {0: [], 1: []}, {0: [], 1: []}
    for round in range(4):
        commit = round % 2 == 0
        producer.begin_transaction()
        for i in range(10):
            value = f"{'c' if commit else 'a'}{round}-{i}".encode()
            producer.produce(topic, key=b"k%d" % i, value=value, partition=i % 2)
            everything[i % 2].append(value)
            if commit:
                committed[i % 2].append(value)
        if commit:
            producer.commit_transaction(20)
        else:
            producer.flush(20)
            producer.abort_transaction(20)
        assert txn.transaction_state(txn_broker, tid) == ("CompleteCommit" if commit else "CompleteAbort")

    read = txn.read_partitions(txn_broker, topic, [0, 1], "read_committed")
    assert {p: [v for _, _, v in read[p]] for p in read} == committed
    read = txn.read_partitions(txn_broker, topic, [0, 1], "read_uncommitted")
    assert {p: [v for _, _, v in read[p]] for p in read} == everything
    # Four transactions over both partitions: 20 records and 4 markers each.
    assert txn.high_watermarks(txn_broker, topic, [0, 1]) == {0: 24, 1: 24}
    assert txn.stable_offsets(txn_broker, topic, [0, 1]) == {0: 24, 1: 24}


def test_confluent_consume_transform_produce(txn_broker):
    source, tid = ids("ctp-in")
    sink, group = unique_topic("tx-ctp-out"), unique_topic("tx-ctp-group")
    txn.create_topic(txn_broker, source, 2)
    txn.create_topic(txn_broker, sink, 1)
    plain = Producer({"bootstrap.servers": txn_broker.bootstrap})
    for i in range(30):
        plain.produce(source, value=b"%d" % i, partition=i % 2)
    plain.flush(20)

    consumer = Consumer({"bootstrap.servers": txn_broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe([source])
    producer = transactional_producer(txn_broker, tid)
    # One round aborted: its output never shows and its input is read again from the committed offsets.
    aborted_rounds = txn.consume_transform_produce(consumer, producer, sink, 30)

    committed = consumer.committed([TopicPartition(source, 0), TopicPartition(source, 1)], timeout=20)
    consumer.close()
    assert aborted_rounds == 1
    assert {tp.partition: tp.offset for tp in committed} == {0: 15, 1: 15}
    output = txn.values(txn.read_partitions(txn_broker, sink, [0], "read_committed"))
    assert sorted(output) == sorted(b"x%d" % i for i in range(30)), "each input exactly once"
    everything = txn.values(txn.read_partitions(txn_broker, sink, [0], "read_uncommitted"))
    assert len(everything) > 30 and set(everything) == set(output)


# --- aiokafka ---------------------------------------------------------------------------------------------------

def test_aiokafka_transactions_with_read_committed_consumer(txn_broker):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    topic, tid = ids("aio")
    txn.create_topic(txn_broker, topic, 1)

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=txn_broker.bootstrap, transactional_id=tid)
        await producer.start()
        try:
            async with producer.transaction():
                for i in range(5):
                    await producer.send(topic, b"c%d" % i, partition=0)
            with pytest.raises(RuntimeError):
                async with producer.transaction():
                    for i in range(5):
                        await producer.send_and_wait(topic, b"a%d" % i, partition=0)
                    raise RuntimeError("abort this one")
            async with producer.transaction():
                for i in range(5, 8):
                    await producer.send(topic, b"c%d" % i, partition=0)
        finally:
            await producer.stop()

        read = {}
        for isolation in ("read_committed", "read_uncommitted"):
            consumer = AIOKafkaConsumer(bootstrap_servers=txn_broker.bootstrap, isolation_level=isolation,
                                        enable_auto_commit=False)
            await consumer.start()
            try:
                tp = AioTopicPartition(topic, 0)
                consumer.assign([tp])
                await consumer.seek_to_beginning(tp)
                end = (await consumer.end_offsets([tp]))[tp]
                read[isolation] = (end, [])
                deadline = time.monotonic() + 20
                while await consumer.position(tp) < end:
                    assert time.monotonic() < deadline, read
                    for messages in (await consumer.getmany(timeout_ms=300)).values():
                        read[isolation][1].extend(m.value for m in messages)
            finally:
                await consumer.stop()
        return read

    read = asyncio.run(run())
    committed = [b"c%d" % i for i in range(8)]
    # 13 records, three markers.
    assert read["read_committed"] == (16, committed)
    assert read["read_uncommitted"] == (16, committed[:5] + [b"a%d" % i for i in range(5)] + committed[5:])
    assert txn.values(txn.read_partitions(txn_broker, topic, [0])) == committed
    assert txn.transaction_state(txn_broker, tid) == "CompleteCommit"


# --- kafka-python -----------------------------------------------------------------------------------------------

def test_kafka_python_transactions(txn_broker):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KTopicPartition

    topic, tid = ids("kp")
    txn.create_topic(txn_broker, topic, 2)
    producer = KafkaProducer(bootstrap_servers=txn_broker.bootstrap, transactional_id=tid)
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(6):
        producer.send(topic, b"c%d" % i, partition=i % 2)
    producer.commit_transaction()
    assert txn.transaction_state(txn_broker, tid) == "CompleteCommit"
    producer.begin_transaction()
    for i in range(6):
        producer.send(topic, b"a%d" % i, partition=i % 2)
    producer.flush()
    assert txn.transaction_state(txn_broker, tid) == "Ongoing"
    producer.abort_transaction()
    assert txn.transaction_state(txn_broker, tid) == "CompleteAbort"
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=txn_broker.bootstrap, isolation_level="read_committed",
                             enable_auto_commit=False)
    tps = [KTopicPartition(topic, p) for p in (0, 1)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    got, deadline = {0: [], 1: []}, time.monotonic() + 20
    while any(consumer.position(tp) < ends[tp] for tp in tps):
        assert time.monotonic() < deadline, got
        for tp, messages in consumer.poll(300).items():
            got[tp.partition].extend(m.value for m in messages)
    consumer.close()
    assert ends == {tps[0]: 8, tps[1]: 8}
    assert got == {0: [b"c0", b"c2", b"c4"], 1: [b"c1", b"c3", b"c5"]}
    assert txn.values(txn.read_partitions(txn_broker, topic, [0, 1], "read_uncommitted")) == \
        [b"c0", b"c2", b"c4", b"a0", b"a2", b"a4", b"c1", b"c3", b"c5", b"a1", b"a3", b"a5"]


# --- many aborted records, the last stable offset -----------------------------------------------------------------

def test_thousand_aborted_records_interleaved_with_committed_ones(txn_broker):
    topic, tid = ids("many")
    partitions = [0, 1, 2]
    txn.create_topic(txn_broker, topic, 3)
    producers = [transactional_producer(txn_broker, f"{tid}-{n}", **{"linger.ms": 2}) for n in range(3)]
    plain = Producer({"bootstrap.servers": txn_broker.bootstrap, "enable.idempotence": True, "linger.ms": 2})
    delivered = []  # (partition, offset, value, visible)

    def report(visible):
        def on_delivery(err, message):
            assert err is None, err
            delivered.append((message.partition(), message.offset(), message.value(), visible))
        return on_delivery

    aborted = committed = 0
    round = 0
    while aborted < 1000:
        # Three producers with overlapping transactions: two commit, one aborts, the aborting one rotating.
        aborting = round % 3
        for n, producer in enumerate(producers):
            producer.begin_transaction()
        for i in range(40):
            for n, producer in enumerate(producers):
                visible = n != aborting
                if not visible and aborted >= 1000:
                    continue
                value = f"{'c' if visible else 'a'}-{round}-{n}-{i}".encode()
                producer.produce(topic, value=value, partition=(i + n) % 3, on_delivery=report(visible))
                if visible:
                    committed += 1
                else:
                    aborted += 1
            if i % 10 == 0:
                plain.produce(topic, value=f"p-{round}-{i}".encode(), partition=i % 3, on_delivery=report(True))
        for producer in producers:
            producer.flush(20)
        plain.flush(20)
        if round == 0:
            # All three transactions open: the last stable offset of every partition is the first offset of an open
            # transaction there, below the high watermark; read_committed Fetch says so too.
            firsts = {p: min(o for q, o, v, _ in delivered if q == p and not v.startswith(b"p-")) for p in partitions}
            hws = txn.high_watermarks(txn_broker, topic, partitions)
            lsos = txn.stable_offsets(txn_broker, topic, partitions)
            assert lsos == firsts and all(lsos[p] < hws[p] for p in partitions), (lsos, hws)
            answer = txn.fetch(txn_broker, topic, 0)
            assert (answer["HighWatermark"], answer["LastStableOffset"]) == (hws[0], lsos[0])
        # End them in a rotating order.
        for n in [(aborting + k) % 3 for k in range(3)]:
            if n == aborting:
                producers[n].abort_transaction(20)
            else:
                producers[n].commit_transaction(20)
            if n != (aborting + 2) % 3:
                hws = txn.high_watermarks(txn_broker, topic, partitions)
                lsos = txn.stable_offsets(txn_broker, topic, partitions)
                assert all(lsos[p] < hws[p] for p in partitions), "a transaction is still open"
        round += 1

    hws = txn.high_watermarks(txn_broker, topic, partitions)
    assert txn.stable_offsets(txn_broker, topic, partitions) == hws
    assert aborted == 1000 and sum(1 for d in delivered if not d[3]) == 1000
    # Every aborted transaction of the fetched range is named, with its producer id.
    answer = txn.fetch(txn_broker, topic, 1)
    pids = {entry["ProducerId"] for entry in answer["AbortedTransactions"]}
    assert len(pids) == 3 and len(answer["AbortedTransactions"]) >= round - 1
    # A fetch from the middle of an aborted transaction still names it, with its first offset.
    offsets = sorted(o for q, o, v, _ in delivered if q == 1 and v.startswith(b"a-5-"))
    pid = txn.describe_transactions(txn_broker, f"{tid}-{5 % 3}")[f"{tid}-{5 % 3}"]["ProducerId"]
    answer = txn.fetch(txn_broker, topic, 1, offset=offsets[3])
    assert {"ProducerId": pid, "FirstOffset": offsets[0]} in answer["AbortedTransactions"], answer["AbortedTransactions"]
    assert answer["HighWatermark"] == answer["LastStableOffset"] == hws[1]

    expected = {p: [v for q, _, v, visible in sorted(delivered) if q == p and visible] for p in partitions}
    read = txn.read_partitions(txn_broker, topic, partitions, "read_committed")
    assert {p: [v for _, _, v in read[p]] for p in partitions} == expected
    read = txn.read_partitions(txn_broker, topic, partitions, "read_uncommitted")
    assert {p: [v for _, _, v in read[p]] for p in partitions} == \
        {p: [v for q, _, v, _ in sorted(delivered) if q == p] for p in partitions}
    # One marker per transaction and partition.
    assert sum(hws.values()) == len(delivered) + 3 * 3 * round


# --- the coordinator aborts a transaction past its timeout --------------------------------------------------------

def test_transaction_past_its_timeout_is_aborted_and_its_producer_fenced(txn_broker):
    topic, tid = ids("timeout")
    txn.create_topic(txn_broker, topic, 1)
    producer = transactional_producer(txn_broker, tid, **{"transaction.timeout.ms": 2000})
    producer.begin_transaction()
    producer.produce(topic, value=b"committed-never", partition=0)
    producer.flush(20)
    before = txn.describe_transactions(txn_broker, tid)[tid]
    assert before["TransactionState"] == "Ongoing" and before["TransactionTimeoutMs"] == 2000
    hw = txn.high_watermarks(txn_broker, topic, [0])[0]
    assert hw == 1 and txn.stable_offsets(txn_broker, topic, [0]) == {0: 0}

    started = time.monotonic()
    txn.wait_until(lambda: txn.transaction_state(txn_broker, tid) == "CompleteAbort", timeout=15,
                   message="the coordinator's abort")
    assert time.monotonic() - started < 10
    # The abort marker follows the record; read_committed sees nothing.
    assert txn.high_watermarks(txn_broker, topic, [0]) == {0: 2}
    assert txn.stable_offsets(txn_broker, topic, [0]) == {0: 2}
    assert txn.read_partitions(txn_broker, topic, [0]) == {0: []}
    entry = txn.describe_transactions(txn_broker, tid)[tid]
    assert entry["ProducerId"] == before["ProducerId"]
    assert entry["ProducerEpoch"] > before["ProducerEpoch"], "the abort bumps the epoch so the producer is fenced"
    assert txn.end_txn(txn_broker, tid, before["ProducerId"], before["ProducerEpoch"], True) == txn.PRODUCER_FENCED

    with pytest.raises(KafkaException) as failure:
        producer.commit_transaction(10)
    error = failure.value.args[0]
    assert error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH), error
    print("FENCE", error.code(), error.name(), error.fatal(), error.txn_requires_abort(), error.str())
    assert error.fatal() or error.txn_requires_abort(), error
    assert txn.read_partitions(txn_broker, topic, [0]) == {0: []}


# --- DescribeTransactions and ListTransactions ------------------------------------------------------------------

def raw_transaction(broker, tid, topic, partitions, records=2):
    """InitProducerId, AddPartitionsToTxn and one transactional batch per partition: an Ongoing transaction."""
    error, pid, epoch = txn.init_producer_id(broker, tid)
    assert error == 0
    assert txn.add_partitions(broker, tid, pid, epoch, {topic: partitions}) == {(topic, p): 0 for p in partitions}
    for p in partitions:
        error, _ = txn.produce(broker, topic, p, [(b"k", b"v%d" % i) for i in range(records)], pid, epoch, 0, tid)
        assert error == 0
    return pid, epoch


def test_describe_and_list_transactions(txn_broker):
    topic, tid = ids("describe")
    txn.create_topic(txn_broker, topic, 2)
    a, b, c, empty = (f"{tid}-a", f"{tid}-b", f"{tid}-c", f"{tid}-empty")
    pid_a, epoch_a = raw_transaction(txn_broker, a, topic, [0, 1])
    pid_b, epoch_b = raw_transaction(txn_broker, b, topic, [1])
    pid_c, epoch_c = raw_transaction(txn_broker, c, topic, [0])
    error, pid_empty, _ = txn.init_producer_id(txn_broker, empty, timeout_ms=45_000)
    assert error == 0 and len({pid_a, pid_b, pid_c, pid_empty}) == 4

    described = txn.describe_transactions(txn_broker, a, empty, f"{tid}-unknown")
    assert described[a]["ErrorCode"] == 0 and described[a]["TransactionState"] == "Ongoing"
    assert (described[a]["ProducerId"], described[a]["ProducerEpoch"]) == (pid_a, epoch_a)
    assert described[a]["TransactionTimeoutMs"] == 60_000 and described[a]["TransactionStartTimeMs"] > 0
    assert [(t["Topic"], sorted(t["Partitions"])) for t in described[a]["Topics"]] == [(topic, [0, 1])]
    assert described[empty]["TransactionState"] == "Empty" and described[empty]["Topics"] == []
    assert described[empty]["TransactionTimeoutMs"] == 45_000
    assert described[f"{tid}-unknown"]["ErrorCode"] == txn.TRANSACTIONAL_ID_NOT_FOUND

    assert txn.end_txn(txn_broker, b, pid_b, epoch_b, committed=True) == 0
    assert txn.end_txn(txn_broker, c, pid_c, epoch_c, committed=False) == 0
    txn.wait_until(lambda: [txn.transaction_state(txn_broker, x) for x in (b, c)] == ["CompleteCommit", "CompleteAbort"],
                   message="the markers")
    described = txn.describe_transactions(txn_broker, b, c)
    assert described[b]["Topics"] == [] and described[c]["Topics"] == []

    ours = {a, b, c, empty}
    error, unknown, listed = txn.list_transactions(txn_broker)
    assert (error, unknown) == (0, [])
    assert {x: listed[x] for x in ours} == {a: (pid_a, "Ongoing"), b: (pid_b, "CompleteCommit"),
                                            c: (pid_c, "CompleteAbort"), empty: (pid_empty, "Empty")}
    _, _, listed = txn.list_transactions(txn_broker, states=["Ongoing"])
    assert a in listed and not (ours - {a}) & set(listed) and all(s == "Ongoing" for _, s in listed.values())
    _, _, listed = txn.list_transactions(txn_broker, states=["CompleteCommit", "CompleteAbort"])
    assert {b, c} <= set(listed) and not {a, empty} & set(listed)
    _, _, listed = txn.list_transactions(txn_broker, producer_ids=[pid_b, pid_empty])
    assert listed == {b: (pid_b, "CompleteCommit"), empty: (pid_empty, "Empty")}
    _, _, listed = txn.list_transactions(txn_broker, states=["Ongoing"], producer_ids=[pid_a, pid_b])
    assert listed == {a: (pid_a, "Ongoing")}
    error, unknown, listed = txn.list_transactions(txn_broker, states=["NoSuchState"], producer_ids=[pid_a])
    assert (error, unknown, listed) == (0, ["NoSuchState"], {})
    _, _, listed = txn.list_transactions(txn_broker, producer_ids=[pid_a], version=0)
    assert listed == {a: (pid_a, "Ongoing")}
    # DurationFilter (v1): only transactions running longer than that.
    _, _, listed = txn.list_transactions(txn_broker, producer_ids=[pid_a], duration_ms=3_600_000)
    assert listed == {}

    assert txn.end_txn(txn_broker, a, pid_a, epoch_a, committed=True) == 0
    txn.wait_until(lambda: txn.transaction_state(txn_broker, a) == "CompleteCommit", message="the commit")
    read = txn.read_partitions(txn_broker, topic, [0, 1])
    # a committed 2 records on each partition, b 2 on partition 1, c's were aborted.
    assert {p: len(read[p]) for p in read} == {0: 2, 1: 4}


# --- error answers ----------------------------------------------------------------------------------------------

def test_end_txn_errors(txn_broker):
    topic, tid = ids("errors")
    txn.create_topic(txn_broker, topic, 1)
    error, pid, epoch = txn.init_producer_id(txn_broker, tid)
    assert error == 0
    # No transaction yet (Empty).
    for version in (0, 3, 4):
        assert txn.end_txn(txn_broker, tid, pid, epoch, committed=True, version=version) == txn.INVALID_TXN_STATE
    assert txn.add_partitions(txn_broker, tid, pid, epoch, {topic: [0]}) == {(topic, 0): 0}
    # Another producer id than the transactional id's.
    assert txn.end_txn(txn_broker, tid, pid + 1000, epoch, committed=True) == txn.INVALID_PRODUCER_ID_MAPPING
    # An unknown transactional id.
    assert txn.end_txn(txn_broker, f"{tid}-unknown", pid, epoch, committed=True) == txn.INVALID_PRODUCER_ID_MAPPING

    # A second InitProducerId bumps the epoch (and aborts the open transaction): the old epoch is fenced.
    error, pid2, epoch2 = txn.init_producer_id(txn_broker, tid)
    assert error == 0 and pid2 == pid and epoch2 > epoch
    assert txn.transaction_state(txn_broker, tid) in ("CompleteAbort", "Empty")
    assert txn.add_partitions(txn_broker, tid, pid, epoch2, {topic: [0]}) == {(topic, 0): 0}
    for version in (0, 1):
        assert txn.end_txn(txn_broker, tid, pid, epoch, True, version) == txn.INVALID_PRODUCER_EPOCH
    for version in (2, 3, 4):
        assert txn.end_txn(txn_broker, tid, pid, epoch, True, version) == txn.PRODUCER_FENCED
    assert txn.transaction_state(txn_broker, tid) == "Ongoing"
    assert txn.end_txn(txn_broker, tid, pid, epoch2, committed=True) == 0
    txn.wait_until(lambda: txn.transaction_state(txn_broker, tid) == "CompleteCommit", message="the commit")
    # After a commit: retrying the commit is answered as done, an abort is in the wrong state.
    assert txn.end_txn(txn_broker, tid, pid, epoch2, committed=True) == 0
    assert txn.end_txn(txn_broker, tid, pid, epoch2, committed=False) == txn.INVALID_TXN_STATE


def test_transaction_timeout_above_the_maximum(txn_broker):
    _, tid = ids("maxtimeout")
    for version in (0, 2, 4):
        error, pid, _ = txn.init_producer_id(txn_broker, f"{tid}-{version}", timeout_ms=900_001, version=version)
        assert (error, pid) == (txn.INVALID_TRANSACTION_TIMEOUT, -1)
    error, _, _ = txn.init_producer_id(txn_broker, f"{tid}-ok", timeout_ms=900_000)
    assert error == 0
    with pytest.raises(KafkaException) as failure:
        Producer({"bootstrap.servers": txn_broker.bootstrap, "transactional.id": f"{tid}-client",
                  "transaction.timeout.ms": 900_001}).init_transactions(10)
    assert failure.value.args[0].code() == KafkaError.INVALID_TRANSACTION_TIMEOUT


def test_add_partitions_for_an_unknown_topic(txn_broker):
    topic, tid = ids("unknown")
    txn.create_topic(txn_broker, topic, 2)
    error, pid, epoch = txn.init_producer_id(txn_broker, tid)
    assert error == 0
    missing = unique_topic("tx-missing")
    for version in (0, 3):
        answer = txn.add_partitions(txn_broker, tid, pid, epoch, {topic: [0, 1], missing: [0]}, version=version)
        assert answer == {(topic, 0): txn.OPERATION_NOT_ATTEMPTED, (topic, 1): txn.OPERATION_NOT_ATTEMPTED,
                          (missing, 0): txn.UNKNOWN_TOPIC_OR_PARTITION}
        # A partition the topic does not have is unknown too.
        answer = txn.add_partitions(txn_broker, tid, pid, epoch, {topic: [0, 7]}, version=version)
        assert answer == {(topic, 0): txn.OPERATION_NOT_ATTEMPTED, (topic, 7): txn.UNKNOWN_TOPIC_OR_PARTITION}
    assert txn.transaction_state(txn_broker, tid) == "Empty"
    # Nothing was added: ending is refused, the topic stays as it was.
    assert txn.end_txn(txn_broker, tid, pid, epoch, committed=True) == txn.INVALID_TXN_STATE
    assert txn.high_watermarks(txn_broker, topic, [0, 1]) == {0: 0, 1: 0}


def test_transactional_produce_to_a_partition_not_in_the_transaction(txn_broker):
    topic, tid = ids("verify")
    txn.create_topic(txn_broker, topic, 2)
    error, pid, epoch = txn.init_producer_id(txn_broker, tid)
    assert error == 0
    # No transaction at all, then a transaction holding partition 0 only.
    assert txn.produce(txn_broker, topic, 1, [(b"k", b"v")], pid, epoch, 0, tid)[0] == txn.INVALID_TXN_STATE
    assert txn.add_partitions(txn_broker, tid, pid, epoch, {topic: [0]}) == {(topic, 0): 0}
    assert txn.produce(txn_broker, topic, 1, [(b"k", b"v")], pid, epoch, 0, tid)[0] == txn.INVALID_TXN_STATE
    assert txn.produce(txn_broker, topic, 0, [(b"k", b"v")], pid, epoch, 0, tid) == (0, 0)
    assert txn.high_watermarks(txn_broker, topic, [0, 1]) == {0: 1, 1: 0}
    assert txn.end_txn(txn_broker, tid, pid, epoch, committed=True) == 0
    txn.wait_until(lambda: txn.transaction_state(txn_broker, tid) == "CompleteCommit", message="the commit")
    # After the commit the partition is out of the transaction again.
    assert txn.produce(txn_broker, topic, 0, [(b"k", b"w")], pid, epoch, 1, tid)[0] == txn.INVALID_TXN_STATE
    assert txn.values(txn.read_partitions(txn_broker, topic, [0, 1])) == [b"v"]


def test_stale_epoch_is_fenced_on_every_transaction_api(txn_broker):
    topic, tid = ids("fenced")
    txn.create_topic(txn_broker, topic, 1)
    error, pid, old = txn.init_producer_id(txn_broker, tid)
    assert error == 0
    error, _, epoch = txn.init_producer_id(txn_broker, tid)
    assert error == 0 and epoch == old + 1
    # PRODUCER_FENCED from the versions that know it, INVALID_PRODUCER_EPOCH before.
    for version, expected in ((0, 47), (1, 47), (2, 90), (3, 90)):
        assert txn.add_partitions(txn_broker, tid, pid, old, {topic: [0]}, version) == {(topic, 0): expected}
    for version, expected in ((0, 47), (1, 47), (2, 90), (3, 90), (4, 90)):
        body = txn.ask(txn_broker, "AddOffsetsToTxn", version, {
            "TransactionalId": tid, "ProducerId": pid, "ProducerEpoch": old, "GroupId": f"{tid}-group"})
        assert body["ErrorCode"] == expected, (version, body)
    for version, expected in ((3, 47), (4, 90), (5, 90)):
        assert txn.init_producer_id(txn_broker, tid, version=version, producer_id=pid, epoch=old) == (expected, -1, -1)
    assert txn.add_partitions(txn_broker, tid, pid + 1000, epoch, {topic: [0]}) == \
        {(topic, 0): txn.INVALID_PRODUCER_ID_MAPPING}
    assert txn.add_partitions(txn_broker, tid, pid, epoch, {topic: [0]}) == {(topic, 0): 0}
    # A batch of the old epoch is refused by the partition.
    assert txn.produce(txn_broker, topic, 0, [(b"k", b"old")], pid, old, 0, tid)[0] == txn.INVALID_PRODUCER_EPOCH
    assert txn.produce(txn_broker, topic, 0, [(b"k", b"new")], pid, epoch, 0, tid) == (0, 0)
    assert txn.end_txn(txn_broker, tid, pid, epoch, committed=True) == 0
    txn.wait_until(lambda: txn.transaction_state(txn_broker, tid) == "CompleteCommit", message="the commit")
    assert txn.values(txn.read_partitions(txn_broker, topic, [0])) == [b"new"]


def test_non_transactional_batch_inside_an_open_transaction_is_refused(txn_broker):
    topic, tid = ids("mixed")
    txn.create_topic(txn_broker, topic, 1)
    error, pid, epoch = txn.init_producer_id(txn_broker, tid)
    assert error == 0
    assert txn.add_partitions(txn_broker, tid, pid, epoch, {topic: [0]}) == {(topic, 0): 0}
    assert txn.produce(txn_broker, topic, 0, [(b"k", b"in-txn")], pid, epoch, 0, tid) == (0, 0)
    answer = txn.produce(txn_broker, topic, 0, [(b"k", b"outside")], pid, epoch, 1)
    assert txn.end_txn(txn_broker, tid, pid, epoch, committed=False) == 0
    txn.wait_until(lambda: txn.transaction_state(txn_broker, tid) == "CompleteAbort", message="the abort")
    visible = txn.values(txn.read_partitions(txn_broker, topic, [0]))
    assert (answer[0], visible) == (txn.INVALID_TXN_STATE, [])
