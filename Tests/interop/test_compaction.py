"""cleanup.policy=compact: the log cleaner keeps the newest value of each key; a compacted topic refuses records
without a key."""

import time

from conftest import BrokerProcess, free_port, unique_topic


def test_compacted_topic_keeps_newest_value_per_key(vltava_bin, tmp_path):
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    broker = BrokerProcess(vltava_bin, tmp_path / "data", free_port(),
                           extra_args=["--override", "log.retention.check.interval.ms=200"]).start()
    try:
        topic = unique_topic("compact")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact", "segment.bytes": "4096"})])[topic].result(30)
        producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
        for round in range(40):
            for key in range(10):
                producer.produce(topic, key=f"k{key}".encode(), value=f"{round}".encode())
            producer.flush(30)
        errors = []
        producer.produce(topic, key=None, value=b"no key", on_delivery=lambda err, msg: errors.append(err))
        producer.flush(30)
        assert errors and errors[0] is not None and errors[0].name() == "INVALID_RECORD"

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "compacted partition" not in broker.log():
            time.sleep(0.2)
        assert "compacted partition" in broker.log()
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 0, 0)])
        latest, count = {}, 0
        idle = 0
        while idle < 3:
            messages = consumer.consume(1000, timeout=1.0)
            idle = idle + 1 if not messages else 0
            for message in messages:
                assert message.error() is None
                latest[message.key()] = message.value()
                count += 1
        consumer.close()
        assert latest == {f"k{key}".encode(): b"39" for key in range(10)}
        assert count < 400, f"nothing was compacted: {count} records"
    finally:
        broker.kill9()
