"""SASL OAUTHBEARER (issue 11) with Kafka's unsecured JWT validator: librdkafka's built-in unsecured tokens, tokens a
confluent-kafka `oauth_cb` makes (expired, not yet issued, without a subject, signed, lacking a scope), sessions bounded by the token's expiry, and the validator's options
from the listener's `OAuthBearerLoginModule`."""

import base64
import json
import socket
import time

import pytest

from conftest import BrokerProcess, free_port, unique_topic
from security_support import call, client_error, consume_values, is_closed

OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"


class OAuthBroker(BrokerProcess):
    def __init__(self, binary, data_dir, jaas_options="", extra=()):
        self.sasl_port = free_port()
        port = free_port()
        super().__init__(binary, data_dir, port, extra_args=[
            "--override", f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}",
            "--override", "sasl.enabled.mechanisms=OAUTHBEARER",
            "--override", f"listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config={OAUTH_MODULE} required {jaas_options};",
            "--log-level", "debug",
            *extra,
        ])

    @property
    def sasl_bootstrap(self):
        return f"127.0.0.1:{self.sasl_port}"


@pytest.fixture(scope="module")
def oauth(vltava_bin, tmp_path_factory):
    process = OAuthBroker(vltava_bin, tmp_path_factory.mktemp("oauth") / "data",
                          'unsecuredValidatorRequiredScope="kafka" unsecuredValidatorAllowableClockSkewMs="2000"').start()
    yield process
    process.kill9()


def b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def token(claims, header=None, signature=""):
    return f"{b64(header or {'alg': 'none'})}.{b64(claims)}.{signature}"


def config_with_token(broker, compact, lifetime_s=60):
    """Client settings whose token is `compact`, or `compact()` made afresh for each login."""
    def oauth_cb(_config):
        return (compact() if callable(compact) else compact), time.time() + lifetime_s

    return {"bootstrap.servers": broker.sasl_bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "OAUTHBEARER", "oauth_cb": oauth_cb}


def roundtrip(config, count=20):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = unique_topic("oauth")
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 1)])[topic].result(20)
    producer = Producer({**config, "acks": "all"})
    for i in range(count):
        producer.produce(topic, value=f"v{i}")
    assert producer.flush(30) == 0
    assert [value.decode() for value in consume_values(config, topic, count)] == [f"v{i}" for i in range(count)]


def test_librdkafka_unsecured_jwt(oauth):
    roundtrip({"bootstrap.servers": oauth.sasl_bootstrap, "security.protocol": "SASL_PLAINTEXT",
               "sasl.mechanism": "OAUTHBEARER", "enable.sasl.oauthbearer.unsecure.jwt": True,
               "sasl.oauthbearer.config": "principal=alice scope=kafka lifeSeconds=600"})
    deadline = time.monotonic() + 10
    while "principal=User:alice" not in oauth.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "principal=User:alice" in oauth.log()


def test_tokens_from_a_callback(oauth):
    now = time.time()
    roundtrip(config_with_token(oauth, token({"sub": "bob", "exp": now + 300, "iat": now, "scope": "kafka other"})))
    # The scope may also be a list.
    assert client_error(config_with_token(oauth, token({"sub": "bob", "exp": now + 300, "scope": ["kafka"]}))) is None


@pytest.mark.parametrize("case", ["expired", "future", "no-subject", "no-expiry", "signed", "alg", "no-scope", "not-a-jwt"])
def test_bad_tokens_are_refused(oauth, case):
    now = time.time()
    compact = {
        "expired": token({"sub": "bob", "exp": now - 60, "scope": "kafka"}),
        "future": token({"sub": "bob", "exp": now + 600, "iat": now + 300, "scope": "kafka"}),
        "no-subject": token({"exp": now + 300, "scope": "kafka"}),
        "no-expiry": token({"sub": "bob", "scope": "kafka"}),
        "signed": token({"sub": "bob", "exp": now + 300, "scope": "kafka"}, signature="c2lnbmF0dXJl"),
        "alg": token({"sub": "bob", "exp": now + 300, "scope": "kafka"}, header={"alg": "HS256"}),
        "no-scope": token({"sub": "bob", "exp": now + 300, "scope": "other"}),
        "not-a-jwt": "not-a-jwt",
    }[case]
    error = client_error(config_with_token(oauth, compact))
    assert error is not None, f"{case} was accepted"
    assert oauth.process.poll() is None


def test_clock_skew_is_allowed(oauth):
    now = time.time()
    # Expired a second ago, or issued a second ahead: within the 2 s skew the listener allows (the first gets a
    # session of the second of grace left).
    expired = token({"sub": "bob", "exp": now - 1, "iat": now - 100, "scope": "kafka"})
    with socket.create_connection(("127.0.0.1", oauth.sasl_port), timeout=10) as sock:
        answer = sasl_frames(sock, f"n,,\x01auth=Bearer {expired}\x01\x01".encode())
        assert answer["ErrorCode"] == 0 and 0 < answer["SessionLifetimeMs"] <= 1_000
    assert client_error(config_with_token(oauth, token({"sub": "bob", "exp": now + 300, "iat": now + 1, "scope": "kafka"}))) is None


def sasl_frames(sock, message):
    handshake = call(sock, "SaslHandshake", 1, {"Mechanism": "OAUTHBEARER"})
    assert handshake["ErrorCode"] == 0
    return call(sock, "SaslAuthenticate", 2, {"AuthBytes": message})


def test_the_exchange_byte_by_byte(oauth):
    now = time.time()
    good = token({"sub": "carol", "exp": now + 30, "scope": "kafka"})
    with socket.create_connection(("127.0.0.1", oauth.sasl_port), timeout=10) as sock:
        answer = sasl_frames(sock, f"n,,\x01auth=Bearer {good}\x01\x01".encode())
        assert answer["ErrorCode"] == 0
        # The session lasts no longer than the token (30 s, plus the 2 s skew allowed), whatever
        # connections.max.reauth.ms says.
        assert 0 < answer["SessionLifetimeMs"] <= 32_000
    expired = token({"sub": "carol", "exp": now - 60, "scope": "kafka"})
    with socket.create_connection(("127.0.0.1", oauth.sasl_port), timeout=10) as sock:
        challenge = sasl_frames(sock, f"n,,\x01auth=Bearer {expired}\x01\x01".encode())
        assert challenge["ErrorCode"] == 0
        assert json.loads(challenge["AuthBytes"]) == {"status": "invalid_token"}
        refused = call(sock, "SaslAuthenticate", 2, {"AuthBytes": b"\x01"})
        assert refused["ErrorCode"] == 58  # SASL_AUTHENTICATION_FAILED
        assert is_closed(sock)
    scopeless = token({"sub": "carol", "exp": now + 30})
    with socket.create_connection(("127.0.0.1", oauth.sasl_port), timeout=10) as sock:
        challenge = sasl_frames(sock, f"n,,\x01auth=Bearer {scopeless}\x01\x01".encode())
        assert json.loads(challenge["AuthBytes"]) == {"status": "insufficient_scope", "scope": "kafka"}
    with socket.create_connection(("127.0.0.1", oauth.sasl_port), timeout=10) as sock:
        # An authorization id other than the token's subject.
        answer = sasl_frames(sock, f"n,a=mallory,\x01auth=Bearer {good}\x01\x01".encode())
        assert answer["ErrorCode"] == 58
        assert is_closed(sock)
    for malformed in [b"garbage", f"n,,auth=Bearer {good}".encode(), b"n,,\x01auth=Basic abc\x01\x01", b"n,,\x01\x01"]:
        with socket.create_connection(("127.0.0.1", oauth.sasl_port), timeout=10) as sock:
            answer = sasl_frames(sock, malformed)
            assert answer["ErrorCode"] == 58, malformed
            assert is_closed(sock)


def test_a_callback_handler_class_is_refused(vltava_bin, tmp_path):
    process = OAuthBroker(vltava_bin, tmp_path / "data", extra=[
        "--override", "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class="
                      "com.example.MyValidatorCallbackHandler"])
    with pytest.raises(RuntimeError, match="no other callback handler class is loaded"):
        process.start()
    bad_skew = OAuthBroker(vltava_bin, tmp_path / "data2", 'unsecuredValidatorAllowableClockSkewMs="soon"')
    with pytest.raises(RuntimeError, match="unsecuredValidatorAllowableClockSkewMs"):
        bad_skew.start()


def test_the_cli_logs_in_with_unsecured_tokens(vltava_bin, oauth, tmp_path):
    """Vltava's own client makes OAUTHBEARER tokens as Kafka's OAuthBearerLoginModule (and librdkafka) do without an
    identity provider, and says why the broker refused one."""
    import subprocess

    def cli(config, *args, stdin=None):
        return subprocess.run([str(vltava_bin), *args, "-b", oauth.sasl_bootstrap, "--command-config", str(config)],
                              input=stdin, capture_output=True, timeout=60)

    kafka_style = tmp_path / "kafka.properties"
    kafka_style.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
                           f'sasl.jaas.config={OAUTH_MODULE} required unsecuredLoginStringClaim_sub="dana" '
                           'unsecuredLoginListClaim_scope=",kafka,extra" unsecuredLoginLifetimeSeconds="120";\n')
    topic = f"oauth-cli-{time.time_ns()}"
    created = cli(kafka_style, "topics", "create", "--topic", topic)
    assert created.returncode == 0, created.stderr
    produced = cli(kafka_style, "produce", "--topic", topic, stdin=b"a\nb\n")
    assert produced.returncode == 0, produced.stderr
    librdkafka_style = tmp_path / "librdkafka.properties"
    librdkafka_style.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=OAUTHBEARER\n"
                                "sasl.oauthbearer.config=principal=erin scope=kafka\n")
    consumed = cli(librdkafka_style, "consume", "--topic", topic, "-e")
    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout.split() == [b"a", b"b"]
    deadline = time.monotonic() + 10
    while not ("principal=User:dana" in oauth.log() and "principal=User:erin" in oauth.log()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "principal=User:dana" in oauth.log() and "principal=User:erin" in oauth.log()

    # The listener requires the scope "kafka": a token without it is refused, and the CLI says what the broker said.
    scopeless = tmp_path / "scopeless.properties"
    scopeless.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
                         f'sasl.jaas.config={OAUTH_MODULE} required unsecuredLoginStringClaim_sub="dana";\n')
    refused = cli(scopeless, "topics", "list")
    assert refused.returncode != 0
    error = refused.stderr.decode()
    assert "the broker refused the OAUTHBEARER token" in error and "insufficient_scope" in error, error
