"""SASL OAUTHBEARER with signed tokens (issue 11): Kafka's `OAuthBearerValidatorCallbackHandler` on a listener,
tokens signed with RS256, PS256 and ES256 checked against a JWKS file (`sasl.oauthbearer.jwks.endpoint.url=file://`),
the expected audience and issuer, the subject claim name, clock skew, and keys rotated by rewriting the file while
the broker runs. Tokens come from confluent-kafka's `oauth_cb`, signed here with `cryptography`."""

import base64
import json
import socket
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from conftest import free_port
from security_support import client_error, is_closed
from test_oauthbearer import OAUTH_MODULE, OAuthBroker, config_with_token, roundtrip, sasl_frames
from test_tls import pki  # noqa: F401 (the CA and certificates fixture)

HANDLER = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
ISSUER = "https://idp.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(value: int, size: int | None = None) -> bytes:
    return value.to_bytes(size or (value.bit_length() + 7) // 8, "big")


class Signer:
    """A private key, its JWK, and JWTs it signs."""

    def __init__(self, kind, kid):
        self.kind, self.kid = kind, kid
        self.key = ec.generate_private_key(ec.SECP256R1()) if kind == "EC" else rsa.generate_private_key(65537, 2048)

    def jwk(self):
        numbers = self.key.public_key().public_numbers()
        if self.kind == "EC":
            return {"kty": "EC", "crv": "P-256", "kid": self.kid, "x": b64(uint(numbers.x, 32)), "y": b64(uint(numbers.y, 32))}
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "n": b64(uint(numbers.n)), "e": b64(uint(numbers.e))}

    def sign(self, claims, alg=None, kid=True, header=None):
        alg = alg or ("ES256" if self.kind == "EC" else "RS256")
        head = header or {"alg": alg, "typ": "JWT", **({"kid": self.kid} if kid else {})}
        signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(claims).encode())}".encode()
        if self.kind == "EC":
            r, s = utils.decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = uint(r, 32) + uint(s, 32)
        elif alg.startswith("PS"):
            signature = self.key.sign(signing_input, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        else:
            signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{b64(signature)}"


def claims(sub="alice", lifetime=300, **extra):
    now = int(time.time())
    return {"sub": sub, "exp": now + lifetime, "iat": now, "iss": ISSUER, "aud": ["kafka"], "scope": "kafka", **extra}


def write_jwks(path, *signers):
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}] + [s.jwk() for s in signers]}))


class SignedBroker(OAuthBroker):
    """The OAUTHBEARER listener of test_oauthbearer with Kafka's validator of signed tokens and a JWKS."""

    def __init__(self, binary, data_dir, jwks_url, extra=(), jaas_options=""):
        super().__init__(binary, data_dir, jaas_options, extra=[
            "--override", f"listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class={HANDLER}",
            "--override", f"sasl.oauthbearer.jwks.endpoint.url={jwks_url}",
            "--override", "sasl.oauthbearer.expected.audience=kafka,other",
            "--override", f"sasl.oauthbearer.expected.issuer={ISSUER}",
            "--override", "sasl.oauthbearer.clock.skew.seconds=5",
            *extra,
        ])


@pytest.fixture(scope="module")
def keys():
    return {"ec": Signer("EC", "ec-1"), "rsa": Signer("RSA", "rsa-1"), "stranger": Signer("EC", "ec-1"),
            "next": Signer("EC", "ec-2")}


@pytest.fixture(scope="module")
def signed(vltava_bin, tmp_path_factory, keys):
    directory = tmp_path_factory.mktemp("oauth-signed")
    jwks = directory / "jwks.json"
    write_jwks(jwks, keys["ec"], keys["rsa"])
    process = SignedBroker(vltava_bin, directory / "data", f"file://{jwks}").start()
    process.jwks = jwks
    yield process
    process.kill9()


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256"])
def test_signed_tokens_from_a_callback(signed, keys, alg):
    signer = keys["ec"] if alg == "ES256" else keys["rsa"]
    principal = f"svc-{alg.lower()}"
    roundtrip(config_with_token(signed, lambda: signer.sign(claims(principal), alg=alg)))
    deadline = time.monotonic() + 10
    while f"principal=User:{principal}" not in signed.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"principal=User:{principal}" in signed.log()


@pytest.mark.parametrize("case", ["other-key", "tampered", "unsigned", "expired", "audience", "issuer", "unknown-kid",
                                  "no-iat", "not-yet", "no-subject", "hmac"])
def test_bad_signed_tokens_are_refused(signed, keys, case):
    ec_key = keys["ec"]
    now = int(time.time())
    good = ec_key.sign(claims())
    head, _, signature = good.split(".")
    compact = {
        "other-key": keys["stranger"].sign(claims()),
        "tampered": f"{head}.{b64(json.dumps(claims('admin')).encode())}.{signature}",
        "unsigned": f"{b64(json.dumps({'alg': 'none'}).encode())}.{b64(json.dumps(claims()).encode())}.",
        "expired": ec_key.sign(claims(lifetime=-60)),
        "audience": ec_key.sign(claims(aud="elsewhere")),
        "issuer": ec_key.sign(claims(iss="https://evil.example")),
        "unknown-kid": keys["next"].sign(claims()),
        "no-iat": ec_key.sign({k: v for k, v in claims().items() if k != "iat"}),
        "not-yet": ec_key.sign(claims(nbf=now + 120)),
        "no-subject": ec_key.sign({k: v for k, v in claims().items() if k != "sub"}),
        "hmac": f"{b64(json.dumps({'alg': 'HS256'}).encode())}.{b64(json.dumps(claims()).encode())}.{b64(b'x' * 32)}",
    }[case]
    assert client_error(config_with_token(signed, compact)) is not None, f"{case} was accepted"
    with socket.create_connection(("127.0.0.1", signed.sasl_port), timeout=10) as sock:
        challenge = sasl_frames(sock, f"n,,\x01auth=Bearer {compact}\x01\x01".encode())
        assert json.loads(challenge["AuthBytes"]) == {"status": "invalid_token"}
    assert signed.process.poll() is None


def test_session_ends_with_the_token(signed, keys):
    with socket.create_connection(("127.0.0.1", signed.sasl_port), timeout=10) as sock:
        answer = sasl_frames(sock, f"n,,\x01auth=Bearer {keys['ec'].sign(claims(lifetime=20))}\x01\x01".encode())
        assert answer["ErrorCode"] == 0
        # 20 s of token plus the 5 s of skew the listener allows.
        assert 15_000 < answer["SessionLifetimeMs"] <= 25_000
    with socket.create_connection(("127.0.0.1", signed.sasl_port), timeout=10) as sock:
        answer = sasl_frames(sock, f"n,a=mallory,\x01auth=Bearer {keys['ec'].sign(claims())}\x01\x01".encode())
        assert answer["ErrorCode"] == 58
        assert is_closed(sock)


def test_keys_rotate_with_the_file(signed, keys):
    """A new key written to the JWKS file is used within seconds, a removed one stops working, and a broken file
    keeps the keys the broker has."""
    assert client_error(config_with_token(signed, keys["next"].sign(claims("rotated")))) is not None
    original = signed.jwks.read_text()
    try:
        write_jwks(signed.jwks, keys["next"], keys["rsa"])
        deadline = time.monotonic() + 15
        while client_error(config_with_token(signed, keys["next"].sign(claims("rotated")))) is not None:
            assert time.monotonic() < deadline, "the new key was not taken"
            time.sleep(0.5)
        assert client_error(config_with_token(signed, keys["ec"].sign(claims()))) is not None
        signed.jwks.write_text("{ not a key set")
        time.sleep(2.5)
        assert "JWKS file changed but cannot be used" in signed.log()
        assert client_error(config_with_token(signed, keys["next"].sign(claims("rotated")))) is None
    finally:
        signed.jwks.write_text(original)
    deadline = time.monotonic() + 15
    while client_error(config_with_token(signed, keys["ec"].sign(claims()))) is not None:
        assert time.monotonic() < deadline, "the original key did not come back"
        time.sleep(0.5)


def test_start_up_refuses_what_cannot_be_used(vltava_bin, tmp_path, keys):
    cases = [
        ("ftp://idp.example/jwks", "a file:// or https:// URL is expected"),
        (f"file://{tmp_path}/missing.json", "cannot read the JWKS file"),
    ]
    only_secret = tmp_path / "secret.json"
    only_secret.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    cases.append((f"file://{only_secret}", "holds no RSA or EC public key"))
    for index, (url, message) in enumerate(cases):
        with pytest.raises(RuntimeError, match=message):
            SignedBroker(vltava_bin, tmp_path / f"data{index}", url).start()
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, keys["ec"])
    with pytest.raises(RuntimeError, match="sasl.oauthbearer.clock.skew.seconds"):
        SignedBroker(vltava_bin, tmp_path / "data-skew", f"file://{jwks}",
                     extra=["--override", "sasl.oauthbearer.clock.skew.seconds=soon"]).start()
    with pytest.raises(RuntimeError, match="sasl.oauthbearer.not.a.setting"):
        SignedBroker(vltava_bin, tmp_path / "data-unknown", f"file://{jwks}",
                     extra=["--override", "sasl.oauthbearer.not.a.setting=1"]).start()


def test_listener_settings_override_the_brokers(vltava_bin, tmp_path, keys):
    """`listener.name.<l>.oauthbearer.sasl.oauthbearer.*` wins over the broker-wide setting; here the subject claim."""
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, keys["ec"])
    process = SignedBroker(vltava_bin, tmp_path / "data", "file:///nonexistent/ignored.json", extra=[
        "--override", f"listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url=file://{jwks}",
        "--override", "listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.sub.claim.name=client_id",
    ]).start()
    try:
        token = keys["ec"].sign({**claims(), "client_id": "svc-client"})
        assert client_error(config_with_token(process, token)) is None
        without = keys["ec"].sign(claims())  # has sub but no client_id
        assert client_error(config_with_token(process, without)) is not None
    finally:
        process.kill9()


class IdentityProvider:
    """An identity provider's JWKS over HTTPS (the test CA's server certificate), whose answer a test changes."""

    def __init__(self, pki, keys):
        import http.server
        import ssl
        import threading

        provider = self
        self.keys, self.status, self.requests = list(keys), 200, 0
        self.token_requests, self.clients = 0, {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                provider.requests += 1
                body = json.dumps({"keys": [k.jwk() for k in provider.keys]}).encode() if provider.status == 200 else b"down"
                self.send_response(provider.status if self.path == "/oauth2/jwks" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                # The client credentials grant (RFC 6749 §4.4): Basic credentials, a form body.
                import urllib.parse

                provider.token_requests += 1
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                user, _, secret = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode().partition(":")
                if self.path != "/oauth2/token" or form.get("grant_type") != ["client_credentials"] \
                        or provider.clients.get(user) != secret:
                    body, status = b'{"error":"invalid_client"}', 401
                else:
                    token = provider.keys[0].sign(claims(f"svc-{user}", scope=form.get("scope", [""])[0]))
                    body, status = json.dumps({"access_token": token, "token_type": "bearer", "expires_in": 300}).encode(), 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile=str(pki / "server.pem"), keyfile=str(pki / "server.key"))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/oauth2/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def wait_accepted(broker, token, timeout=20):
    deadline = time.monotonic() + timeout
    while client_error(config_with_token(broker, token)) is not None:
        assert time.monotonic() < deadline, broker.log()
        time.sleep(0.5)


def test_jwks_from_an_identity_provider_over_https(vltava_bin, tmp_path, keys, pki):  # noqa: F811
    """`sasl.oauthbearer.jwks.endpoint.url=https://...`: fetched at start-up through the truststore named in the
    listener's OAuthBearerLoginModule options, fetched again when a token names a key the set lacks (rotation), and
    kept when the provider fails."""
    idp = IdentityProvider(pki, [keys["ec"]])
    process = SignedBroker(vltava_bin, tmp_path / "data", idp.url,
                           jaas_options=f'ssl.truststore.location="{pki / "ca.pem"}" ssl.truststore.type="PEM"').start()
    try:
        wait_accepted(process, keys["ec"].sign(claims("from-idp")))
        assert "JWKS fetched" in process.log()
        # The provider rotates: a token of the new key makes the broker fetch again (at most every 10 s).
        idp.keys = [keys["next"], keys["ec"]]
        wait_accepted(process, keys["next"].sign(claims("rotated")), timeout=30)
        assert idp.requests >= 2
        # The provider fails: the keys in force stay.
        idp.status = 500
        unknown = Signer("EC", "ec-unknown")
        assert client_error(config_with_token(process, unknown.sign(claims()))) is not None
        deadline = time.monotonic() + 30
        while "JWKS not fetched" not in process.log():
            assert time.monotonic() < deadline, process.log()
            client_error(config_with_token(process, unknown.sign(claims())))
            time.sleep(1)
        assert "HTTP status 500" in process.log()
        assert client_error(config_with_token(process, keys["next"].sign(claims("still")))) is None
    finally:
        process.kill9()
        idp.close()


def test_an_untrusted_identity_provider_is_said_in_plain_words(vltava_bin, tmp_path, keys, pki):  # noqa: F811
    idp = IdentityProvider(pki, [keys["ec"]])
    process = SignedBroker(vltava_bin, tmp_path / "data", idp.url).start()  # no truststore: the system's roots
    try:
        deadline = time.monotonic() + 15
        while "certificate verify failed" not in process.log():
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.3)
        assert client_error(config_with_token(process, keys["ec"].sign(claims()))) is not None
        assert process.process.poll() is None
    finally:
        process.kill9()
        idp.close()


def test_vltavas_client_gets_tokens_from_the_identity_provider(vltava_bin, tmp_path, keys, pki):  # noqa: F811
    """Vltava's own client (the CLI here) with Kafka's OAuthBearerLoginCallbackHandler settings: the client credentials
    grant at the token endpoint over HTTPS, one token per process reused by its connections, the broker checking it
    against the same provider's JWKS; librdkafka's `oidc` spelling; a refused client said in plain words."""
    import subprocess

    idp = IdentityProvider(pki, [keys["ec"]])
    idp.clients = {"cli": "cli-secret"}
    process = SignedBroker(vltava_bin, tmp_path / "data", idp.url,
                           jaas_options=f'ssl.truststore.location="{pki / "ca.pem"}" ssl.truststore.type="PEM"').start()

    def cli(config, *args, stdin=None):
        return subprocess.run([str(vltava_bin), *args, "-b", process.sasl_bootstrap, "--command-config", str(config)],
                              input=stdin, capture_output=True, timeout=60)

    def kafka_style(secret):
        path = tmp_path / f"client-{secret}.properties"
        path.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
                        "sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n"
                        f"sasl.oauthbearer.token.endpoint.url=https://127.0.0.1:{idp.server.server_address[1]}/oauth2/token\n"
                        f'sasl.jaas.config={OAUTH_MODULE} required clientId="cli" clientSecret="{secret}" scope="kafka" '
                        f'ssl.truststore.location="{pki / "ca.pem"}" ssl.truststore.type="PEM";\n')
        return path

    try:
        wait_accepted(process, keys["ec"].sign(claims("ready")))
        config = kafka_style("cli-secret")
        topic = f"idp-cli-{uuid.uuid4().hex[:6]}"
        created = cli(config, "topics", "create", "--topic", topic)
        assert created.returncode == 0, created.stderr
        produced = cli(config, "produce", "--topic", topic, stdin=b"x\ny\n")
        assert produced.returncode == 0, produced.stderr
        consumed = cli(config, "consume", "--topic", topic, "-e")
        assert consumed.returncode == 0, consumed.stderr
        assert consumed.stdout.split() == [b"x", b"y"]
        assert "principal=User:svc-cli" in process.log()
        # One token per process, whatever the connections it opens.
        assert idp.token_requests == 3, idp.token_requests

        librdkafka = tmp_path / "librdkafka.properties"
        librdkafka.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=OAUTHBEARER\nsasl.oauthbearer.method=oidc\n"
                              "sasl.oauthbearer.client.id=cli\nsasl.oauthbearer.client.secret=cli-secret\n"
                              f"sasl.oauthbearer.token.endpoint.url=https://127.0.0.1:{idp.server.server_address[1]}/oauth2/token\n"
                              f"https.ca.location={pki / 'ca.pem'}\n")
        listed = cli(librdkafka, "topics", "list")
        assert listed.returncode == 0 and topic in listed.stdout.decode(), listed.stderr

        # A `file:` token endpoint: the token is read from the file (Kafka's clients take the same URL).
        token_file = tmp_path / "token.jwt"
        token_file.write_text(keys["ec"].sign(claims("from-file")) + "\n")
        from_file = tmp_path / "file-token.properties"
        from_file.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"
                             "sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler\n"
                             f"sasl.oauthbearer.token.endpoint.url=file://{token_file}\n"
                             f"sasl.jaas.config={OAUTH_MODULE} required;\n")
        listed = cli(from_file, "topics", "list")
        assert listed.returncode == 0 and topic in listed.stdout.decode(), listed.stderr
        assert "principal=User:from-file" in process.log()

        refused = cli(kafka_style("wrong"), "topics", "list")
        assert refused.returncode != 0
        error = refused.stderr.decode()
        assert "cannot get an OAUTHBEARER token: HTTP status 401" in error and "invalid_client" in error, error
    finally:
        process.kill9()
        idp.close()
