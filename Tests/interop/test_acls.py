"""ACLs (issue 11): Kafka's authorizer with real clients — CreateAcls/DescribeAcls/DeleteAcls through confluent-kafka's
AdminClient, checks on produce, consume, groups, topics and metadata with Kafka's error codes, super users, DENY over
ALLOW, PREFIXED patterns, and ACLs that survive a restart."""

import socket
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType)

from conftest import BrokerProcess, free_port, unique_topic
from security_support import call, plain_login

TOPIC_AUTHORIZATION_FAILED = 29
CLUSTER_AUTHORIZATION_FAILED = 31


JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
        'user_admin="admin-secret" user_alice="alice-secret" user_bob="bob-secret";')


class AclBroker(BrokerProcess):
    def __init__(self, binary, data_dir):
        self.sasl_port = free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "--override", "sasl.enabled.mechanisms=PLAIN",
            "--override", f"listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}",
            "--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "--override", "super.users=User:admin",
            "--override", "group.initial.rebalance.delay.ms=0",
        ])

    def config(self, user, **extra):
        return {"bootstrap.servers": f"127.0.0.1:{self.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": f"{user}-secret", **extra}

    def admin(self, user="admin"):
        return AdminClient(self.config(user))


@pytest.fixture
def acl_broker(vltava_bin, tmp_path):
    process = AclBroker(vltava_bin, tmp_path / "data").start()
    yield process
    process.kill9()


def allow(principal, resource_type, name, operation, pattern=ResourcePatternType.LITERAL, permission=AclPermissionType.ALLOW):
    return AclBinding(resource_type, name, pattern, principal, "*", operation, permission)


def create_acls(admin, bindings):
    for future in admin.create_acls(bindings).values():
        future.result(20)


def create_topic(admin, topic, partitions=1):
    admin.create_topics([NewTopic(topic, partitions)])[topic].result(20)


def produce_error(broker, user, topic):
    """The delivery error of one record produced as `user` (None when it was written)."""
    producer = Producer(broker.config(user, **{"message.timeout.ms": 10_000, "enable.idempotence": False}))
    outcome = []
    producer.produce(topic, b"v", on_delivery=lambda err, msg: outcome.append(err))
    producer.flush(20)
    assert outcome, "no delivery report"
    return outcome[0]


def test_acl_admin_and_produce_checks(acl_broker):
    admin = acl_broker.admin()
    for topic in ("orders-1", "audit-1", "shared"):
        create_topic(admin, topic)
    # No ACL: denied.
    error = produce_error(acl_broker, "alice", "orders-1")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # PREFIXED orders- WRITE: orders-1 yes, audit-1 no.
    create_acls(admin, [allow("User:alice", ResourceType.TOPIC, "orders-", AclOperation.WRITE, ResourcePatternType.PREFIXED)])
    assert produce_error(acl_broker, "alice", "orders-1") is None
    error = produce_error(acl_broker, "alice", "audit-1")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # DENY overrides ALLOW.
    create_acls(admin, [allow("User:*", ResourceType.TOPIC, "shared", AclOperation.ALL),
                        allow("User:bob", ResourceType.TOPIC, "shared", AclOperation.WRITE, permission=AclPermissionType.DENY)])
    assert produce_error(acl_broker, "alice", "shared") is None
    error = produce_error(acl_broker, "bob", "shared")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # The super user passes everything.
    assert produce_error(acl_broker, "admin", "audit-1") is None

    described = admin.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                                     AclOperation.ANY, AclPermissionType.ANY)).result(20)
    assert len(described) == 3
    # Only a principal with CLUSTER ALTER may create ACLs.
    with pytest.raises(KafkaException) as refused:
        create_acls(acl_broker.admin("alice"), [allow("User:alice", ResourceType.TOPIC, "audit-1", AclOperation.WRITE)])
    assert refused.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    deleted = admin.delete_acls([AclBindingFilter(ResourceType.TOPIC, "shared", ResourcePatternType.LITERAL, None, None,
                                                  AclOperation.ANY, AclPermissionType.ANY)])
    assert len(list(deleted.values())[0].result(20)) == 2
    error = produce_error(acl_broker, "alice", "shared")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_consumer_needs_group_read_and_metadata_hides_topics(acl_broker):
    admin = acl_broker.admin()
    topic, hidden = unique_topic("visible"), unique_topic("hidden")
    create_topic(admin, topic)
    create_topic(admin, hidden)
    producer = Producer(acl_broker.config("admin"))
    for i in range(5):
        producer.produce(topic, f"r{i}".encode())
    producer.flush(20)
    create_acls(admin, [allow("User:alice", ResourceType.TOPIC, topic, AclOperation.READ)])

    # Metadata lists only what alice may describe.
    listed = acl_broker.admin("alice").list_topics(timeout=10).topics
    assert topic in listed and hidden not in listed

    def consume(group):
        consumer = Consumer(acl_broker.config("alice", **{"group.id": group, "auto.offset.reset": "earliest"}))
        consumer.subscribe([topic])
        values, errors = [], []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(values) < 5:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                errors.append(message.error())
                if message.error().code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
                    break
            else:
                values.append(message.value().decode())
        consumer.close()
        return values, errors

    values, errors = consume("g-denied")
    assert not values
    assert any(e.code() == KafkaError.GROUP_AUTHORIZATION_FAILED for e in errors), errors
    create_acls(admin, [allow("User:alice", ResourceType.GROUP, "g-", AclOperation.READ, ResourcePatternType.PREFIXED)])
    values, errors = consume("g-allowed")
    assert sorted(values) == [f"r{i}" for i in range(5)], errors

    # Subscribing to a topic without READ: the client is told TOPIC_AUTHORIZATION_FAILED.
    consumer = Consumer(acl_broker.config("alice", **{"group.id": "g-allowed-2"}))
    consumer.subscribe([hidden])
    deadline = time.monotonic() + 15
    seen = None
    while seen is None and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error():
            seen = message.error()
    consumer.close()
    assert seen is not None and seen.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    # A Fetch of it, byte by byte after a PLAIN login: the partition answers TOPIC_AUTHORIZATION_FAILED.
    sock = socket.create_connection(("127.0.0.1", acl_broker.sasl_port), timeout=10)
    assert plain_login(sock, "alice", "alice-secret")["ErrorCode"] == 0
    fetch = call(sock, "Fetch", 12, {"ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 20, "IsolationLevel": 0,
                                     "Topics": [{"Topic": hidden, "Partitions": [{"Partition": 0, "FetchOffset": 0,
                                                                                  "PartitionMaxBytes": 1 << 20}]}]})
    assert fetch["Responses"][0]["Partitions"][0]["ErrorCode"] == TOPIC_AUTHORIZATION_FAILED
    listed = call(sock, "Metadata", 12, {"Topics": [{"Name": hidden}]})
    assert listed["Topics"][0]["ErrorCode"] == TOPIC_AUTHORIZATION_FAILED
    sock.close()


def test_topic_administration_and_restart(acl_broker):
    alice = acl_broker.admin("alice")
    with pytest.raises(KafkaException) as refused:
        create_topic(alice, "alices-topic")
    assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    create_acls(acl_broker.admin(), [allow("User:alice", ResourceType.TOPIC, "alices-", AclOperation.CREATE, ResourcePatternType.PREFIXED),
                                     allow("User:alice", ResourceType.TOPIC, "alices-", AclOperation.DELETE, ResourcePatternType.PREFIXED)])
    create_topic(alice, "alices-topic")
    acl_broker.kill9()
    acl_broker.start()
    alice = acl_broker.admin("alice")
    alice.delete_topics(["alices-topic"])["alices-topic"].result(20)
    create_topic(acl_broker.admin(), "orders")
    bob = acl_broker.admin("bob")
    with pytest.raises(KafkaException) as refused:
        bob.delete_topics(["orders"])["orders"].result(20)
    assert refused.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_acl_apis_without_an_authorizer(shared_broker):
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    with pytest.raises(KafkaException) as refused:
        create_acls(admin, [allow("User:alice", ResourceType.TOPIC, "t", AclOperation.READ)])
    assert refused.value.args[0].code() == KafkaError.SECURITY_DISABLED


def test_transactional_and_idempotent_producers_and_authorized_operations(acl_broker):
    from confluent_kafka import TopicCollection

    admin = acl_broker.admin()
    topic = unique_topic("txn-acl")
    create_topic(admin, topic)
    create_acls(admin, [allow("User:alice", ResourceType.TOPIC, topic, AclOperation.WRITE),
                        allow("User:alice", ResourceType.TOPIC, topic, AclOperation.READ)])

    # A transactional producer without WRITE on its transactional id is refused at init_transactions.
    producer = Producer(acl_broker.config("alice", **{"transactional.id": "alice-tx"}))
    with pytest.raises(KafkaException) as refused:
        producer.init_transactions(15)
    assert refused.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    create_acls(admin, [allow("User:alice", ResourceType.TRANSACTIONAL_ID, "alice-", AclOperation.WRITE, ResourcePatternType.PREFIXED)])
    producer = Producer(acl_broker.config("alice", **{"transactional.id": "alice-tx2"}))
    producer.init_transactions(15)
    producer.begin_transaction()
    producer.produce(topic, b"in a transaction")
    producer.commit_transaction(15)

    # An idempotent producer id needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
    sock = socket.create_connection(("127.0.0.1", acl_broker.sasl_port), timeout=10)
    assert plain_login(sock, "bob", "bob-secret")["ErrorCode"] == 0
    init = {"TransactionalId": None, "TransactionTimeoutMs": 60000, "ProducerId": -1, "ProducerEpoch": -1}
    assert call(sock, "InitProducerId", 4, init)["ErrorCode"] == CLUSTER_AUTHORIZATION_FAILED
    sock.close()
    sock = socket.create_connection(("127.0.0.1", acl_broker.sasl_port), timeout=10)
    assert plain_login(sock, "alice", "alice-secret")["ErrorCode"] == 0
    answer = call(sock, "InitProducerId", 4, init)
    assert answer["ErrorCode"] == 0 and answer["ProducerId"] >= 0
    sock.close()

    # Authorized operations, as the Admin API reports them: alice may READ and WRITE the topic, which implies DESCRIBE.
    alice = acl_broker.admin("alice")
    described = alice.describe_topics(TopicCollection([topic]), include_authorized_operations=True)
    operations = set(described[topic].result(20).authorized_operations)
    assert operations == {AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE}, operations
    cluster = admin.describe_cluster(include_authorized_operations=True).result(20)
    assert AclOperation.ALTER in set(cluster.authorized_operations)
    cluster = alice.describe_cluster(include_authorized_operations=True).result(20)
    assert not cluster.authorized_operations
