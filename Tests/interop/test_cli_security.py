"""`vltava acls`, `vltava users` and `vltava quotas` (issue 11) against a broker with an authorizer and a SASL listener:
what they make is seen by confluent-kafka's AdminClient and by real logins, and refusals come back in plain words."""

import subprocess

import pytest
from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, AdminClient, ResourcePatternType,
                                   ResourceType)

from conftest import BrokerProcess, free_port
from security_support import client_error


class CliBroker(BrokerProcess):
    def __init__(self, binary, data_dir):
        self.sasl_port = free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "--override", "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
            "--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # The CLI administers through the PLAINTEXT listener, as User:ANONYMOUS.
            "--override", "super.users=User:ANONYMOUS",
        ])


@pytest.fixture(scope="module")
def broker(vltava_bin, tmp_path_factory):
    process = CliBroker(vltava_bin, tmp_path_factory.mktemp("cli-security") / "data").start()
    yield process
    process.kill9()


def vltava(binary, broker, *args):
    result = subprocess.run([str(binary), *args, "-b", broker.bootstrap], capture_output=True, timeout=60)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def acls_of(broker, name=None):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    bindings = admin.describe_acls(AclBindingFilter(ResourceType.ANY, name, ResourcePatternType.ANY, None, None,
                                                    AclOperation.ANY, AclPermissionType.ANY)).result(20)
    return {(b.restype.name, b.name, b.resource_pattern_type.name, b.principal, b.host, b.operation.name, b.permission_type.name)
            for b in bindings}


def test_acls_add_list_remove(vltava_bin, broker):
    code, out, err = vltava(vltava_bin, broker, "acls", "add", "--allow-principal", "User:alice", "--operation", "Read",
                            "--operation", "Describe", "--topic", "orders-", "--resource-pattern-type", "PREFIXED")
    assert code == 0, err
    assert "ResourcePattern(resourceType=TOPIC, name=orders-, patternType=PREFIXED)" in out
    assert ("TOPIC", "orders-", "PREFIXED", "User:alice", "*", "READ", "ALLOW") in acls_of(broker)
    assert ("TOPIC", "orders-", "PREFIXED", "User:alice", "*", "DESCRIBE", "ALLOW") in acls_of(broker)

    code, out, err = vltava(vltava_bin, broker, "acls", "add", "--allow-principal", "User:bob", "--producer", "--topic", "audit",
                            "--transactional-id", "tx-1", "--idempotent")
    assert code == 0, err
    made = acls_of(broker)
    for operation in ["WRITE", "DESCRIBE", "CREATE"]:
        assert ("TOPIC", "audit", "LITERAL", "User:bob", "*", operation, "ALLOW") in made
    assert ("TRANSACTIONAL_ID", "tx-1", "LITERAL", "User:bob", "*", "WRITE", "ALLOW") in made
    # librdkafka calls the cluster resource type (4) BROKER.
    assert ("BROKER", "kafka-cluster", "LITERAL", "User:bob", "*", "IDEMPOTENT_WRITE", "ALLOW") in made

    code, out, err = vltava(vltava_bin, broker, "acls", "add", "--deny-principal", "User:mallory", "--deny-host", "10.0.0.9",
                            "--consumer", "--topic", "audit", "--group", "readers")
    assert code == 0, err
    assert ("GROUP", "readers", "LITERAL", "User:mallory", "10.0.0.9", "READ", "DENY") in acls_of(broker)

    code, out, err = vltava(vltava_bin, broker, "acls", "list", "--topic", "audit")
    assert code == 0, err
    assert "(principal=User:bob, host=*, operation=WRITE, permissionType=ALLOW)" in out
    assert "orders-" not in out
    code, out, err = vltava(vltava_bin, broker, "acls", "list", "--principal", "User:alice")
    assert "User:bob" not in out and "User:alice" in out

    code, out, err = vltava(vltava_bin, broker, "acls", "remove", "--allow-principal", "User:bob", "--topic", "audit", "--force")
    assert code == 0, err
    assert "Removed ACLs" in out
    left = acls_of(broker)
    assert not [b for b in left if b[1] == "audit" and b[3] == "User:bob"]
    assert ("TRANSACTIONAL_ID", "tx-1", "LITERAL", "User:bob", "*", "WRITE", "ALLOW") in left

    for bad, message in [(["--allow-principal", "alice", "--operation", "Read", "--topic", "t"], "User:"),
                         (["--allow-principal", "User:a", "--operation", "Juggle", "--topic", "t"], "unknown operation"),
                         (["--allow-principal", "User:a", "--operation", "Read"], "name a resource"),
                         (["--allow-principal", "User:a", "--operation", "Read", "--topic", "t", "--resource-pattern-type", "ANY"],
                          "LITERAL or PREFIXED")]:
        code, out, err = vltava(vltava_bin, broker, "acls", "add", *bad)
        assert code != 0 and message in err, (bad, err)


def test_users_create_list_delete(vltava_bin, broker):
    sasl = {"bootstrap.servers": f"127.0.0.1:{broker.sasl_port}", "security.protocol": "SASL_PLAINTEXT"}
    code, out, err = vltava(vltava_bin, broker, "users", "create", "carol", "--password", "carol-secret")
    assert code == 0, err
    code, out, err = vltava(vltava_bin, broker, "users", "create", "dave", "--add-config",
                            "SCRAM-SHA-256=[iterations=8192,password=dave-secret],SCRAM-SHA-512=[password=dave-512]")
    assert code == 0, err
    code, out, err = vltava(vltava_bin, broker, "users", "list")
    assert "user-principal 'carol' are SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=4096" in out, out
    assert "user-principal 'dave' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096" in out, out
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"]:
        assert client_error({**sasl, "sasl.mechanism": mechanism, "sasl.username": "carol", "sasl.password": "carol-secret"}) is None
    assert client_error({**sasl, "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "dave", "sasl.password": "dave-512"}) is None
    code, out, err = vltava(vltava_bin, broker, "users", "delete", "carol")
    assert code == 0, err
    assert client_error({**sasl, "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "carol", "sasl.password": "carol-secret"}) is not None
    code, out, err = vltava(vltava_bin, broker, "users", "delete", "dave", "--mechanism", "SCRAM-SHA-256")
    assert code == 0, err
    code, out, err = vltava(vltava_bin, broker, "users", "list")
    assert "carol" not in out and "user-principal 'dave' are SCRAM-SHA-512=iterations=4096" in out, out
    code, out, err = vltava(vltava_bin, broker, "users", "create", "erin", "--password", "x", "--iterations", "100")
    assert code != 0 and "UNACCEPTABLE_CREDENTIAL" in err, err
    code, out, err = vltava(vltava_bin, broker, "users", "create", "erin", "--add-config", "SCRAM-SHA-1=[password=x]")
    assert code != 0 and "unknown mechanism" in err, err


def test_quotas_alter_and_describe(vltava_bin, broker):
    code, out, err = vltava(vltava_bin, broker, "quotas", "alter", "--client-id", "app", "--add-config",
                            "producer_byte_rate=1048576,consumer_byte_rate=2097152")
    assert code == 0, err
    code, out, err = vltava(vltava_bin, broker, "quotas", "alter", "--user", "alice", "--client-default", "--add-config",
                            "request_percentage=50")
    assert code == 0, err
    code, out, err = vltava(vltava_bin, broker, "quotas", "describe", "--client-id", "app")
    assert out.strip() == "Quota configs for client-id 'app' are consumer_byte_rate=2097152.0, producer_byte_rate=1048576.0", out
    code, out, err = vltava(vltava_bin, broker, "quotas", "describe")
    assert "user-principal 'alice', the default client-id are request_percentage=50.0" in out, out
    code, out, err = vltava(vltava_bin, broker, "quotas", "alter", "--client-id", "app", "--delete-config", "consumer_byte_rate")
    assert code == 0, err
    code, out, err = vltava(vltava_bin, broker, "quotas", "describe", "--client-id", "app")
    assert out.strip() == "Quota configs for client-id 'app' are producer_byte_rate=1048576.0", out
    code, out, err = vltava(vltava_bin, broker, "quotas", "alter", "--client-id", "app", "--add-config", "producer_byte_rate=1.5")
    assert code != 0 and "INVALID_REQUEST" in err and "whole number" in err, err
    code, out, err = vltava(vltava_bin, broker, "quotas", "alter", "--add-config", "producer_byte_rate=5")
    assert code != 0 and "name the entity" in err, err
