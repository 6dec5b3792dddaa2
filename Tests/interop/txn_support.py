"""Helpers of the transaction tests: the transaction APIs as raw frames (the spec-driven encoder and decoder of
scripts/fuzz_requests.py), ListOffsets for the high watermark and the last stable offset, and reading a topic to its
end with confluent-kafka at either isolation level."""

import sys
import time

from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
import fuzz_requests as wire  # noqa: E402

UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
OPERATION_NOT_ATTEMPTED = 55
TRANSACTIONAL_ID_NOT_FOUND = 105
PRODUCER_FENCED = 90

TRANSACTIONAL = 0x10  # RecordBatch attribute bit


def ask(broker, api, version, values, retry=(COORDINATOR_LOAD_IN_PROGRESS,), timeout=10.0):
    """One request on a new connection, its answer decoded; retried for up to 20 s while the answer carries one
    of the `retry` codes at its top level (the coordinator loading right after a start)."""
    deadline = time.monotonic() + 20
    while True:
        data = wire.encode_request(api, version, values, correlation_id=91, client_id="txn-interop")
        outcome, payload = wire.send_frame(broker.bootstrap, data, timeout=timeout)
        assert outcome == "answered", f"{api} v{version}: {outcome}; {broker.log()}"
        sp = wire.specs()
        correlation, body = wire.decode_response(sp, sp.request(api).api_key, version, payload)
        assert correlation == 91
        if body.get("ErrorCode") not in retry or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def init_producer_id(broker, transactional_id, timeout_ms=60_000, version=4, producer_id=-1, epoch=-1):
    """(error code, producer id, epoch)."""
    values = {"TransactionalId": transactional_id, "TransactionTimeoutMs": timeout_ms}
    if version >= 3:
        values.update({"ProducerId": producer_id, "ProducerEpoch": epoch})
    body = ask(broker, "InitProducerId", version, values, retry=(COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS))
    return body["ErrorCode"], body["ProducerId"], body["ProducerEpoch"]


def add_partitions(broker, transactional_id, producer_id, epoch, topics: dict, version=3):
    """{(topic, partition): error code} of AddPartitionsToTxn v0-3; `topics` maps a topic to its partitions."""
    body = ask(broker, "AddPartitionsToTxn", version, {
        "V3AndBelowTransactionalId": transactional_id, "V3AndBelowProducerId": producer_id,
        "V3AndBelowProducerEpoch": epoch,
        "V3AndBelowTopics": [{"Name": name, "Partitions": list(parts)} for name, parts in topics.items()]})
    return {(topic["Name"], part["PartitionIndex"]): part["PartitionErrorCode"]
            for topic in body["ResultsByTopicV3AndBelow"] for part in topic["ResultsByPartition"]}


def end_txn(broker, transactional_id, producer_id, epoch, committed, version=3):
    body = ask(broker, "EndTxn", version, {"TransactionalId": transactional_id, "ProducerId": producer_id,
                                          "ProducerEpoch": epoch, "Committed": committed})
    return body["ErrorCode"]


def describe_transactions(broker, *transactional_ids):
    """{transactional id: state entry (ErrorCode, TransactionState, ProducerId, ProducerEpoch, Topics, ...)}."""
    body = ask(broker, "DescribeTransactions", 0, {"TransactionalIds": list(transactional_ids)})
    return {entry["TransactionalId"]: entry for entry in body["TransactionStates"]}


def transaction_state(broker, transactional_id):
    entry = describe_transactions(broker, transactional_id)[transactional_id]
    assert entry["ErrorCode"] == 0, entry
    return entry["TransactionState"]


def list_transactions(broker, states=(), producer_ids=(), version=1, duration_ms=-1):
    """(error code, unknown state filters, {transactional id: (producer id, state)})."""
    values = {"StateFilters": list(states), "ProducerIdFilters": list(producer_ids)}
    if version >= 1:
        values["DurationFilter"] = duration_ms
    body = ask(broker, "ListTransactions", version, values)
    return (body["ErrorCode"], body["UnknownStateFilters"],
            {entry["TransactionalId"]: (entry["ProducerId"], entry["TransactionState"])
             for entry in body["TransactionStates"]})


def produce(broker, topic, partition, records, producer_id=-1, epoch=-1, sequence=-1, transactional_id=None,
            version=9):
    """(error code, base offset) of one Produce of one batch; transactional when `transactional_id` is given."""
    batch = wire.record_batch(records, producer_id=producer_id, producer_epoch=epoch, base_sequence=sequence,
                              attributes_extra=TRANSACTIONAL if transactional_id is not None else 0)
    body = ask(broker, "Produce", version, {
        "TransactionalId": transactional_id, "Acks": -1, "TimeoutMs": 10_000,
        "TopicData": [{"Name": topic, "PartitionData": [{"Index": partition, "Records": batch}]}]})
    answer = body["Responses"][0]["PartitionResponses"][0]
    return answer["ErrorCode"], answer["BaseOffset"]


def list_offsets(broker, topic, partitions, isolation_level=0, timestamp=-1):
    """{partition: offset} of ListOffsets v7 (timestamp -1: the end; read_committed: the last stable offset)."""
    body = ask(broker, "ListOffsets", 7, {
        "ReplicaId": -1, "IsolationLevel": isolation_level,
        "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": p, "CurrentLeaderEpoch": -1,
                                                   "Timestamp": timestamp} for p in partitions]}]})
    result = {}
    for part in body["Topics"][0]["Partitions"]:
        assert part["ErrorCode"] == 0, part
        result[part["PartitionIndex"]] = part["Offset"]
    return result


def high_watermarks(broker, topic, partitions):
    return list_offsets(broker, topic, partitions, 0)


def stable_offsets(broker, topic, partitions):
    return list_offsets(broker, topic, partitions, 1)


def fetch(broker, topic, partition, offset=0, isolation_level=1, max_bytes=1 << 20):
    """The partition's entry of a Fetch v11 answer: HighWatermark, LastStableOffset, LogStartOffset,
    AbortedTransactions (ProducerId, FirstOffset), Records, ErrorCode."""
    body = ask(broker, "Fetch", 11, {
        "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": max_bytes, "IsolationLevel": isolation_level,
        "SessionId": 0, "SessionEpoch": -1,
        "Topics": [{"Topic": topic, "Partitions": [{"Partition": partition, "CurrentLeaderEpoch": -1,
                                                    "FetchOffset": offset, "LogStartOffset": -1,
                                                    "PartitionMaxBytes": max_bytes}]}],
        "ForgottenTopicsData": [], "RackId": ""})
    return body["Responses"][0]["Partitions"][0]


def wait_until(predicate, timeout=20.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout}s (last: {value!r})")
        time.sleep(interval)


def create_topic(broker, topic, partitions=1, config=None):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1, config=config or {})])[topic].result(20)


def read_partitions(broker, topic, partitions, isolation="read_committed", timeout=30.0, start=0):
    """{partition: [(offset, key, value)]} of everything a confluent-kafka consumer at `isolation` reads from
    `start` up to the end the broker names now (the high watermark, or the last stable offset for read_committed,
    which the consumer's position reaches past aborted records and markers)."""
    from confluent_kafka import Consumer, TopicPartition

    ends = list_offsets(broker, topic, partitions, 1 if isolation == "read_committed" else 0)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "txn-reader", "enable.auto.commit": False,
                         "isolation.level": isolation, "fetch.wait.max.ms": 50})
    try:
        consumer.assign([TopicPartition(topic, p, start) for p in partitions])
        result = {p: [] for p in partitions}
        positions = {p: start for p in partitions}
        deadline = time.monotonic() + timeout
        while any(positions[p] < ends[p] for p in partitions):
            assert time.monotonic() < deadline, f"read {positions} of {ends} ({isolation}) in {timeout}s"
            for message in consumer.consume(1000, timeout=0.2):
                assert message.error() is None, message.error()
                result[message.partition()].append((message.offset(), message.key(), message.value()))
            for tp in consumer.position([TopicPartition(topic, p) for p in partitions]):
                if tp.offset >= 0:
                    positions[tp.partition] = tp.offset
        return result
    finally:
        consumer.close()


def values(partitions_read):
    """Every value read, partition by partition in offset order."""
    return [value for p in sorted(partitions_read) for _, _, value in partitions_read[p]]


def consume_transform_produce(consumer, producer, sink, count, abort_round=2, batch=4, timeout=60.0):
    """Reads `count` records with `consumer` and writes b"x" + value of each to `sink` in transactions of up to
    `batch` records, their offsets sent with send_offsets_to_transaction; round `abort_round` is aborted (its
    output never shows, its input is read again from the committed offsets). Returns the number of aborted rounds."""
    from confluent_kafka import TopicPartition

    done, rounds, aborted = set(), 0, 0
    deadline = time.monotonic() + timeout
    while len(done) < count:
        assert time.monotonic() < deadline, f"transformed {sorted(done)}"
        messages = [m for m in consumer.consume(batch, timeout=0.5) if m.error() is None]
        if not messages:
            continue
        rounds += 1
        producer.begin_transaction()
        for message in messages:
            producer.produce(sink, value=b"x" + message.value())
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata(), 20)
        if rounds == abort_round:
            producer.flush(20)
            producer.abort_transaction(20)
            aborted += 1
            for tp in consumer.committed(consumer.assignment(), timeout=20):
                consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))
            continue
        producer.commit_transaction(20)
        done.update(int(m.value()) for m in messages)
    return aborted
