#!/usr/bin/env python3
"""Request-level fuzzer for a running `vltava serve` (or any Kafka broker) on the loopback interface.

It reads Kafka's JSON message specs (``../shared/kafka-protocol/messages``, JSON with ``//`` comments), encodes
requests itself (request header v1, v2 for flexible versions; compact strings, arrays and bytes with unsigned
varints and a tagged-field section in flexible versions), asks the broker ApiVersions v0 and then fuzzes every API
key and every version the broker advertises, over several concurrent connections. For each request it picks, per
field, extreme values (empty, 32767-, 32768- and 1 MiB-long strings and bytes, null where the version allows it,
empty/one/many/duplicated array entries, integer minimum/-1/0/maximum, unknown tagged fields, random unknown topic
ids, length and count prefixes that lie) and otherwise plausible values (existing topics, groups, the broker's
node id, valid record batches), so that requests get past the first checks. A small fraction are random byte
mutations of well-formed requests, a few are stateful flows on one connection (a consumer group member that joins,
syncs, heartbeats, commits and leaves; an idempotent producer whose sequence numbers repeat, skip and wrap), with
one field or the client id extreme, and a few are pipelines (hundreds of requests in one write, answers awaited or
never read). Every frame stays under Kafka's 100 MiB limit; config values that would make the broker do unbounded
work on the fuzzer's behalf (a segment per batch) are never sent.

After every batch it checks that the broker process is alive, that a real client (confluent-kafka's AdminClient)
still lists topics (a failed listing is retried twice with new clients, so a broker that is only slow is reported
as slow, not stopped), and that the broker's resident memory (VmRSS, sampled every 100 ms) stayed under a bound. On
a failure it writes the batch's requests (hex, API key/version and which field got which value) and the broker
log's tail to the output folder; when it can start brokers itself it replays the suspects one by one against fresh
brokers to name the request that reproduces the failure alone, or else replays the batch (and the one before) in
order and halves it while the failure stays; then it restarts the broker and goes on looking for more. Same seed,
same requests.

Usage:
    scripts/fuzz_requests.py --binary .build/debug/vltava --duration 300 --seed 1 --out /tmp/fuzz
    scripts/fuzz_requests.py --bootstrap 127.0.0.1:9092 --pid 1234 --duration 60
    scripts/fuzz_requests.py --bootstrap 127.0.0.1:9092 --replay /tmp/fuzz/failure-1/reproducer.txt

As a module (the tests use it): ``encode_request("OffsetCommit", 8, {...})`` builds one frame from field values
(missing fields take their defaults), ``send_frame`` sends it, ``run_fuzz`` runs a whole session.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
import zlib
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any, Callable, Optional

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC_DIR = Path(os.environ.get("KAFKA_PROTOCOL_MESSAGES",
                                       REPO_ROOT.parent / "shared" / "kafka-protocol" / "messages"))
MAX_FRAME = 100 * 1024 * 1024          # Kafka's socket.request.max.bytes; every frame stays below it
MIB = 1024 * 1024

# --------------------------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------------------------


class Versions:
    """A version range of the specs: "0+", "1-3", "3" or "none"."""

    def __init__(self, text: Optional[str]):
        text = (text or "none").strip()
        self.text = text
        if text == "none":
            self.low, self.high = 1, 0
        elif text.endswith("+"):
            self.low, self.high = int(text[:-1]), 0x7FFF
        elif "-" in text:
            low, high = text.split("-")
            self.low, self.high = int(low), int(high)
        else:
            self.low = self.high = int(text)

    def __contains__(self, version: int) -> bool:
        return self.low <= version <= self.high

    def __repr__(self):
        return f"Versions({self.text})"


PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "string", "bytes",
              "records", "uuid"}


@dataclass
class FieldSpec:
    name: str
    type: str                       # e.g. "int32", "[]string", "[]TopicData", "Cursor"
    versions: Versions
    nullable: Versions
    tagged: Versions
    tag: Optional[int]
    fields: Optional[list]          # struct fields (for a struct or an array of structs)
    entity: Optional[str]
    default: Any
    flexible_override: Optional[Versions]   # a field's own "flexibleVersions" (the header's ClientId: "none")

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def element_type(self) -> str:
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        return self.element_type not in PRIMITIVES

    def present(self, version: int) -> bool:
        return version in self.versions

    def is_tagged(self, version: int) -> bool:
        return self.tag is not None and version in self.tagged


@dataclass
class MessageSpec:
    name: str                       # e.g. "OffsetCommitRequest"
    api_key: Optional[int]
    kind: str                       # request, response, header, data
    valid: Versions
    flexible: Versions
    fields: list

    @property
    def api_name(self) -> str:
        for suffix in ("Request", "Response"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name

    def is_flexible(self, version: int) -> bool:
        return version in self.flexible


def strip_comments(text: str) -> str:
    """Removes // comments outside JSON strings."""
    out = []
    in_string = False
    i = 0
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif c == "/" and text[i + 1: i + 2] == "/":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _parse_default(raw, ftype: str):
    if raw is None:
        return None
    if isinstance(raw, str):
        if raw == "null":
            return "null"
        if ftype in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
            return int(raw, 16) if raw.lower().startswith("0x") else int(raw)
        if ftype == "float64":
            return float(raw)
        if ftype == "bool":
            return raw == "true"
    return raw


def _parse_fields(raw_fields, common: dict) -> list:
    result = []
    for raw in raw_fields or []:
        ftype = raw["type"]
        nested = raw.get("fields")
        element = ftype[2:] if ftype.startswith("[]") else ftype
        fields = None
        if element not in PRIMITIVES:
            fields = _parse_fields(nested, common) if nested is not None else common.get(element)
            if fields is None:
                raise ValueError(f"unknown struct type {element}")
        tag = raw.get("tag")
        result.append(FieldSpec(
            name=raw["name"], type=ftype, versions=Versions(raw.get("versions")),
            nullable=Versions(raw.get("nullableVersions")), tagged=Versions(raw.get("taggedVersions")),
            tag=int(tag) if tag is not None else None, fields=fields, entity=raw.get("entityType"),
            default=_parse_default(raw.get("default"), element),
            flexible_override=Versions(raw["flexibleVersions"]) if "flexibleVersions" in raw else None))
    return result


def load_spec(path: Path) -> MessageSpec:
    data = json.loads(strip_comments(path.read_text()))
    common = {}
    # commonStructs may refer to each other; parse until stable.
    pending = list(data.get("commonStructs", []))
    for _ in range(len(pending) + 1):
        rest = []
        for struct_spec in pending:
            try:
                common[struct_spec["name"]] = _parse_fields(struct_spec["fields"], common)
            except ValueError:
                rest.append(struct_spec)
        pending = rest
    return MessageSpec(name=data["name"], api_key=data.get("apiKey"), kind=data.get("type", "data"),
                       valid=Versions(data.get("validVersions")), flexible=Versions(data.get("flexibleVersions")),
                       fields=_parse_fields(data["fields"], common))


class Specs:
    """Every request and response spec by API key, plus the headers and the consumer protocol messages."""

    def __init__(self, directory: Path = DEFAULT_SPEC_DIR):
        self.directory = Path(directory)
        self.requests: dict[int, MessageSpec] = {}
        self.responses: dict[int, MessageSpec] = {}
        self.by_name: dict[str, MessageSpec] = {}
        for path in sorted(self.directory.glob("*.json")):
            spec = load_spec(path)
            self.by_name[spec.name] = spec
            if spec.kind == "request":
                self.requests[spec.api_key] = spec
            elif spec.kind == "response":
                self.responses[spec.api_key] = spec
        self.request_header = self.by_name["RequestHeader"]
        self.response_header = self.by_name["ResponseHeader"]

    def request(self, api) -> MessageSpec:
        if isinstance(api, int):
            return self.requests[api]
        name = api if api.endswith("Request") else api + "Request"
        return self.by_name[name]

    def api_name(self, api_key: int) -> str:
        spec = self.requests.get(api_key)
        return spec.api_name if spec else f"ApiKey{api_key}"

    def request_header_version(self, api_key: int, version: int) -> int:
        spec = self.requests.get(api_key)
        if spec and spec.is_flexible(version):
            return 2
        if api_key == 7 and version == 0:       # ControlledShutdown v0
            return 0
        return 1

    def response_header_version(self, api_key: int, version: int) -> int:
        if api_key == 18:                      # ApiVersions answers always carry header v0
            return 0
        spec = self.requests.get(api_key)
        return 1 if spec and spec.is_flexible(version) else 0


@functools.lru_cache(maxsize=4)
def _cached_specs(directory: str) -> Specs:
    return Specs(Path(directory))


def specs(directory: Path = DEFAULT_SPEC_DIR) -> Specs:
    return _cached_specs(str(directory))


# --------------------------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------------------------


class Raw:
    """Bytes written verbatim in place of a field's encoding (lying length prefixes and the like)."""

    def __init__(self, data: bytes, label: str = "raw"):
        self.data = data
        self.label = label

    def __repr__(self):
        return f"Raw({self.label})"


class Repeat:
    """An array of `count` copies of one element, encoded once and repeated."""

    def __init__(self, element, count: int):
        self.element = element
        self.count = count


# Unknown (or duplicated, or unsorted) tagged fields added to a struct's tag section live under this key of the
# struct's value dict, as a list of (tag, payload bytes or Raw).
UNKNOWN_TAGS = "_unknown_tags"
UNSORTED_TAGS = "_unsorted_tags"
NULL = None


def uvarint(n: int) -> bytes:
    if n < 0:
        n &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def zigzag32(n: int) -> int:
    return ((n << 1) ^ (n >> 31)) & 0xFFFFFFFF


def zigzag64(n: int) -> int:
    return ((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF


def varint(n: int) -> bytes:
    return uvarint(zigzag32(n))


def varlong(n: int) -> bytes:
    return uvarint(zigzag64(n))


_INT_FORMATS = {"int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "int64": ">q"}


def _encode_string(value, flexible: bool, out: list):
    if value is None:
        out.append(uvarint(0) if flexible else struct.pack(">h", -1))
        return
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if flexible:
        out.append(uvarint(len(data) + 1))
    else:
        if len(data) > 0x7FFF:
            raise ValueError(f"string of {len(data)} bytes does not fit an INT16 length")
        out.append(struct.pack(">h", len(data)))
    out.append(data)


def _encode_bytes(value, flexible: bool, out: list):
    if value is None:
        out.append(uvarint(0) if flexible else struct.pack(">i", -1))
        return
    data = bytes(value)
    out.append(uvarint(len(data) + 1) if flexible else struct.pack(">i", len(data)))
    out.append(data)


def default_value(f: FieldSpec, version: int):
    """The value a field has when nothing is set: the spec's default, else zero, empty or null."""
    if f.is_array:
        if f.default == "null" and version in f.nullable:
            return None
        return []
    t = f.type
    if f.is_struct:
        if f.default == "null" and version in f.nullable:
            return None
        return {}
    if f.default == "null":
        return None
    if f.default is not None and f.default != "":
        return f.default
    if t in _INT_FORMATS:
        return 0
    if t == "float64":
        return 0.0
    if t == "bool":
        return False
    if t == "string":
        return f.default if f.default is not None else ""
    if t == "uuid":
        return b"\x00" * 16
    if t in ("bytes", "records"):
        return None if version in f.nullable else b""
    raise ValueError(t)


def encode_value(f: FieldSpec, value, version: int, flexible: bool, out: list):
    if isinstance(value, Raw):
        out.append(value.data)
        return
    if f.flexible_override is not None:
        flexible = version in f.flexible_override
    if f.is_array:
        if value is None:
            out.append(uvarint(0) if flexible else struct.pack(">i", -1))
            return
        if isinstance(value, Repeat):
            count, elements = value.count, None
        else:
            count, elements = len(value), value
        out.append(uvarint(count + 1) if flexible else struct.pack(">i", count))
        element_type = f.element_type
        if isinstance(value, Repeat):
            piece: list = []
            _encode_element(f, element_type, value.element, version, flexible, piece)
            out.append(b"".join(piece) * count)
            return
        for element in elements:
            _encode_element(f, element_type, element, version, flexible, out)
        return
    _encode_element(f, f.type, value, version, flexible, out)


def _encode_element(f: FieldSpec, t: str, value, version: int, flexible: bool, out: list):
    if isinstance(value, Raw):
        out.append(value.data)
    elif t in _INT_FORMATS:
        out.append(struct.pack(_INT_FORMATS[t], value))
    elif t == "bool":
        out.append(b"\x01" if value else b"\x00")
    elif t == "float64":
        out.append(struct.pack(">d", value))
    elif t == "string":
        _encode_string(value, flexible, out)
    elif t in ("bytes", "records"):
        _encode_bytes(value, flexible, out)
    elif t == "uuid":
        data = value.bytes if isinstance(value, uuidlib.UUID) else bytes(value)
        assert len(data) == 16
        out.append(data)
    else:  # struct
        if not f.is_array and version in f.nullable:
            if value is None:
                out.append(b"\xff")
                return
            out.append(b"\x01")
        encode_struct(f.fields, value or {}, version, flexible, out)


def encode_struct(fields: list, values: dict, version: int, flexible: bool, out: list):
    tagged = []
    for f in fields:
        if not f.present(version):
            continue
        if flexible and f.is_tagged(version):
            if f.name in values:
                piece: list = []
                encode_value(f, values[f.name], version, flexible, piece)
                tagged.append((f.tag, b"".join(piece)))
            continue
        value = values[f.name] if f.name in values else default_value(f, version)
        encode_value(f, value, version, flexible, out)
    if flexible:
        tagged.extend(values.get(UNKNOWN_TAGS, []))
        if not values.get(UNSORTED_TAGS):
            tagged.sort(key=lambda item: item[0])
        out.append(uvarint(len(tagged)))
        for tag, payload in tagged:
            if isinstance(payload, Raw):     # a tag whose size lies
                out.append(uvarint(tag))
                out.append(payload.data)
                continue
            out.append(uvarint(tag))
            out.append(uvarint(len(payload)))
            out.append(payload)


def encode_header(sp: Specs, api_key: int, version: int, correlation_id: int, client_id="vltava-fuzz",
                  header_values: Optional[dict] = None, header_version: Optional[int] = None) -> bytes:
    hv = sp.request_header_version(api_key, version) if header_version is None else header_version
    values = {"RequestApiKey": api_key, "RequestApiVersion": version, "CorrelationId": correlation_id,
              "ClientId": client_id}
    values.update(header_values or {})
    out: list = []
    encode_struct(sp.request_header.fields, values, hv, hv >= 2, out)
    return b"".join(out)


def encode_body(sp: Specs, api, version: int, values: dict) -> bytes:
    spec = sp.request(api)
    out: list = []
    encode_struct(spec.fields, values, version, spec.is_flexible(version), out)
    return b"".join(out)


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def encode_request(api, version: int, values: Optional[dict] = None, correlation_id: int = 1,
                   client_id="vltava-fuzz", header_values: Optional[dict] = None,
                   spec_dir: Path = DEFAULT_SPEC_DIR) -> bytes:
    """One whole request frame (size, header, body) of `api` (a name such as "OffsetCommit" or a key) at
    `version`; fields missing from `values` (nested dicts and lists by field name) take their defaults."""
    sp = specs(spec_dir)
    spec = sp.request(api)
    payload = encode_header(sp, spec.api_key, version, correlation_id, client_id, header_values) + \
        encode_body(sp, api, version, values or {})
    return frame(payload)


# --------------------------------------------------------------------------------------------------------------
# Decoding (answers)
# --------------------------------------------------------------------------------------------------------------


class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data: bytes, position: int = 0):
        self.data = data
        self.position = position

    def take(self, n: int) -> bytes:
        if n < 0 or self.position + n > len(self.data):
            raise DecodeError(f"need {n} bytes at {self.position}, have {len(self.data) - self.position}")
        chunk = self.data[self.position: self.position + n]
        self.position += n
        return chunk

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            if shift > 63:
                raise DecodeError("varint too long")
            byte = self.take(1)[0]
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    @property
    def remaining(self) -> int:
        return len(self.data) - self.position


def _decode_value(f: FieldSpec, r: Reader, version: int, flexible: bool):
    if f.flexible_override is not None:
        flexible = version in f.flexible_override
    if f.is_array:
        count = r.uvarint() - 1 if flexible else r.unpack(">i")
        if count < 0:
            if version not in f.nullable:
                raise DecodeError(f"{f.name}: null array where it is not nullable")
            return None
        if count > r.remaining:
            raise DecodeError(f"{f.name}: array of {count} in {r.remaining} bytes")
        return [_decode_element(f, f.element_type, r, version, flexible) for _ in range(count)]
    return _decode_element(f, f.type, r, version, flexible)


def _decode_element(f: FieldSpec, t: str, r: Reader, version: int, flexible: bool):
    if t in _INT_FORMATS:
        return r.unpack(_INT_FORMATS[t])
    if t == "bool":
        return r.take(1)[0] != 0
    if t == "float64":
        return r.unpack(">d")
    if t == "uuid":
        return r.take(16)
    if t == "string":
        n = r.uvarint() - 1 if flexible else r.unpack(">h")
        if n < 0:
            if version not in f.nullable:
                raise DecodeError(f"{f.name}: null string where it is not nullable")
            return None
        return r.take(n).decode("utf-8", errors="replace")
    if t in ("bytes", "records"):
        n = r.uvarint() - 1 if flexible else r.unpack(">i")
        if n < 0:
            if version not in f.nullable:
                raise DecodeError(f"{f.name}: null bytes where they are not nullable")
            return None
        return r.take(n)
    if not f.is_array and version in f.nullable:
        marker = r.unpack(">b")
        if marker < 0:
            return None
    return decode_struct(f.fields, r, version, flexible)


def decode_struct(fields: list, r: Reader, version: int, flexible: bool) -> dict:
    values = {}
    for f in fields:
        if not f.present(version) or (flexible and f.is_tagged(version)):
            continue
        values[f.name] = _decode_value(f, r, version, flexible)
    if flexible:
        count = r.uvarint()
        by_tag = {f.tag: f for f in fields if f.present(version) and f.is_tagged(version)}
        for _ in range(count):
            tag = r.uvarint()
            size = r.uvarint()
            payload = r.take(size)
            if tag in by_tag:
                inner = Reader(payload)
                values[by_tag[tag].name] = _decode_value(by_tag[tag], inner, version, flexible)
    return values


def decode_response(sp: Specs, api_key: int, version: int, payload: bytes) -> tuple[int, dict]:
    """Correlation id and body of an answer (without its size prefix); DecodeError if it does not parse or
    leaves bytes over."""
    r = Reader(payload)
    hv = sp.response_header_version(api_key, version)
    header = decode_struct(sp.response_header.fields, r, hv, hv >= 1)
    spec = sp.responses[api_key]
    body = decode_struct(spec.fields, r, version, spec.is_flexible(version))
    if r.remaining:
        raise DecodeError(f"{r.remaining} bytes left after the body")
    return header["CorrelationId"], body


# --------------------------------------------------------------------------------------------------------------
# Wire
# --------------------------------------------------------------------------------------------------------------


def recv_exact(sock: socket.socket, n: int) -> Optional[bytes]:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 4 * MIB))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


def read_frame(sock: socket.socket) -> Optional[bytes]:
    head = recv_exact(sock, 4)
    if head is None:
        return None
    (size,) = struct.unpack(">i", head)
    if size < 0 or size > 512 * MIB:
        raise DecodeError(f"answer frame of {size} bytes")
    return recv_exact(sock, size)


def send_frame(host_port: str, data: bytes, timeout: float = 10.0, expect_answer: bool = True):
    """Sends one frame on a new connection and returns ("answered", payload), ("closed", None) or
    ("timeout", None)."""
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:
            return "closed", None
        if not expect_answer:
            return "sent", None
        try:
            payload = read_frame(sock)
        except socket.timeout:
            return "timeout", None
        except (ConnectionError, OSError):
            return "closed", None
        return ("answered", payload) if payload is not None else ("closed", None)


def api_versions(host_port: str, sp: Optional[Specs] = None, timeout: float = 10.0) -> dict[int, tuple[int, int]]:
    """The broker's ApiVersions v0 answer: {api key: (min, max)}."""
    sp = sp or specs()
    status, payload = send_frame(host_port, encode_request(18, 0, {}, correlation_id=1), timeout)
    if status != "answered":
        raise RuntimeError(f"ApiVersions: {status}")
    _, body = decode_response(sp, 18, 0, payload)
    if body["ErrorCode"]:
        raise RuntimeError(f"ApiVersions error {body['ErrorCode']}")
    return {entry["ApiKey"]: (entry["MinVersion"], entry["MaxVersion"]) for entry in body["ApiKeys"]}


# --------------------------------------------------------------------------------------------------------------
# Record batches
# --------------------------------------------------------------------------------------------------------------


def _crc32c_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _crc32c_table()


@functools.lru_cache(maxsize=64)
def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def encode_record(offset_delta: int, key: Optional[bytes], value: Optional[bytes], timestamp_delta: int = 0,
                  headers=()) -> bytes:
    body = bytearray(b"\x00")
    body += varlong(timestamp_delta)
    body += varint(offset_delta)
    for part in (key, value):
        if part is None:
            body += varint(-1)
        else:
            body += varint(len(part)) + part
    body += varint(len(headers))
    for header_key, header_value in headers:
        body += varint(len(header_key)) + header_key
        body += varint(-1) if header_value is None else varint(len(header_value)) + header_value
    return bytes(varint(len(body)) + body)


BASE_TIMESTAMP = 1_700_000_000_000


def record_batch(records, *, compression: int = 0, compressed: Optional[bytes] = None, magic: int = 2,
                 base_offset: int = 0, timestamp: int = BASE_TIMESTAMP, producer_id: int = -1,
                 producer_epoch: int = -1, base_sequence: int = -1, count: Optional[int] = None,
                 attributes_extra: int = 0, corrupt_crc: bool = False, last_offset_delta: Optional[int] = None,
                 leader_epoch: int = -1) -> bytes:
    """A RecordBatch v2 of (key, value) records (or of `compressed` bytes with `compression` in its
    attributes), with a correct CRC32C unless told otherwise."""
    if compressed is not None:
        data = compressed
    else:
        data = b"".join(encode_record(i, k, v) for i, (k, v) in enumerate(records))
        if compression == 1:
            compressor = zlib.compressobj(wbits=31)
            data = compressor.compress(data) + compressor.flush()
    n = len(records) if count is None else count
    after_crc = struct.pack(">hiqqqhii", compression | attributes_extra,
                            (n - 1) if last_offset_delta is None else last_offset_delta,
                            timestamp, timestamp, producer_id, producer_epoch, base_sequence, n) + data
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    tail = struct.pack(">ibI", leader_epoch, magic, crc) + after_crc
    return struct.pack(">qi", base_offset, len(tail)) + tail


@functools.lru_cache(maxsize=4)
def gzip_bomb(uncompressed: int) -> bytes:
    """Gzip of `uncompressed` bytes of records: one large record (decompresses to far more than it weighs)."""
    record = encode_record(0, b"k", b"\x00" * uncompressed)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(record) + compressor.flush()


# --------------------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------------------


INT_LIMITS = {"int8": (-(1 << 7), (1 << 7) - 1), "int16": (-(1 << 15), (1 << 15) - 1),
              "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
              "uint16": (0, (1 << 16) - 1), "uint32": (0, (1 << 32) - 1)}

SPECIAL_NAMES = ["..", ".", "a/b", "../../../../tmp/vltava-fuzz", "__consumer_offsets", "_schemas", "x" * 249,
                 "y" * 250, "name with spaces", "nul\x00byte", "ünïcødé-töpïc", "\u202etopic", "-", "CON",
                 "%s%n%x", "a" * 255]

INVALID_UTF8 = [b"\xff\xfe\xfd", b"abc\xc3", b"\xed\xa0\x80", b"\xc0\xaf"]

CONFIG_NAMES = ["cleanup.policy", "retention.ms", "retention.bytes", "max.message.bytes", "min.insync.replicas",
                "message.timestamp.type", "compression.type", "delete.retention.ms", "flush.messages",
                "flush.ms", "min.cleanable.dirty.ratio", "segment.bytes", "segment.ms", "index.interval.bytes",
                "confluent.value.schema.validation", "unknown.config.name", "", "log.retention.hours",
                "auto.create.topics.enable", "num.partitions"]

CONFIG_VALUES = ["delete", "compact", "delete,compact", "compact,compact", "", "-1", "0", "1", "-2",
                 "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
                 "-9223372036854775809", "1.5", "NaN", "Infinity", "-0", "abc", "true", "false", "gzip", "zstd",
                 "producer", "LogAppendTime", "CreateTime", "1e400", " 1", "0x10", "١٢٣"]

# Values that a broker must accept but which would make it do unbounded work the fuzzer asked for (a segment
# file per batch, fsync per message): never sent, whatever the extremes say.
UNSAFE_CONFIGS = {("segment.bytes", v) for v in ("1", "14", "100", "1000")} | \
    {("segment.ms", v) for v in ("1", "0", "2")} | {("segment.index.bytes", "4")} | \
    {("flush.messages", "1")} | {("flush.ms", "0")}


@dataclass
class Context:
    """What plausible values are built from: topics that exist, groups, the broker's node id."""
    topics: list = dataclass_field(default_factory=list)        # [(name, topic id bytes, partitions)]
    groups: list = dataclass_field(default_factory=lambda: ["fuzz-group-0", "fuzz-group-1", "fuzz-group-2"])
    node_id: int = 1
    new_topics: list = dataclass_field(default_factory=lambda: [f"fuzz-new-{i}" for i in range(8)])
    compacted_topic: str = "fuzz-compact"


@dataclass
class Case:
    """One generated request."""
    index: int
    api_key: int
    api_name: str
    version: int
    data: bytes                      # the whole frame
    correlation_id: int
    notes: list                      # which field got which value
    mode: str
    expect_answer: bool = True
    well_formed: bool = True         # the answer should decode per the spec
    outcome: str = "pending"         # answered, closed, timeout, sent (no answer expected), send-failed
    answer_note: str = ""
    started: float = 0.0
    finished: float = 0.0
    scenario: Any = None             # a generator of steps (Cases) driven by the answers, for stateful flows
    factory: Any = None              # makes the scenario again (for replays on a fresh broker)
    steps: list = dataclass_field(default_factory=list)
    parent: Any = None               # the scenario a step belongs to
    unread: bool = False             # sent without reading any answer, then the connection is closed

    def describe(self) -> str:
        if self.factory is not None:
            return f"{self.api_name} #{self.index}: " + " | ".join(step.describe() for step in self.steps)
        notes = "; ".join(self.notes) if self.notes else "plausible values"
        return f"{self.api_name} v{self.version} [{self.mode}] {notes}"

    @property
    def elapsed(self) -> float:
        return self.finished - self.started



def _short(value) -> str:
    if isinstance(value, Raw):
        return value.label
    if value is None:
        return "null"
    if isinstance(value, Repeat):
        return f"{value.count} copies"
    if isinstance(value, (bytes, bytearray)):
        if len(value) > 24:
            return f"bytes(len={len(value)})"
        return f"bytes({value.hex()})"
    if isinstance(value, str):
        encoded = value.encode("utf-8", "surrogatepass")
        if len(encoded) > 40:
            return f"string(len={len(encoded)} bytes)"
        return f"string({value!r})"
    if isinstance(value, list):
        return f"array(len={len(value)})"
    return repr(value)


class Generator:
    """Builds requests for one API version from a seeded random source."""

    def __init__(self, sp: Specs, ctx: Context, rng: random.Random):
        self.sp = sp
        self.ctx = ctx
        self.rng = rng

    # ---- plausible values -------------------------------------------------------------------------------------

    def topic(self, new: bool = False) -> str:
        r = self.rng
        if new or not self.ctx.topics:
            return r.choice(self.ctx.new_topics)
        x = r.random()
        if x < 0.8:
            return r.choice(self.ctx.topics)[0]
        if x < 0.9:
            return r.choice(self.ctx.new_topics)
        return "fuzz-unknown-" + str(r.randrange(50))

    def topic_id(self) -> bytes:
        r = self.rng
        if self.ctx.topics and r.random() < 0.8:
            return r.choice(self.ctx.topics)[1]
        return bytes(r.getrandbits(8) for _ in range(16))

    def partitions_of(self, name: str) -> int:
        for topic in self.ctx.topics:
            if topic[0] == name:
                return topic[2]
        return 1

    def plain_records(self, topic: Optional[str] = None) -> bytes:
        r = self.rng
        n = r.randint(1, 3)
        records = [(f"k{r.randrange(100)}".encode(), f"v{r.randrange(10 ** 6)}".encode()) for _ in range(n)]
        return record_batch(records, timestamp=BASE_TIMESTAMP + r.randrange(10 ** 6))

    def consumer_subscription(self) -> bytes:
        spec = self.sp.by_name.get("ConsumerProtocolSubscription")
        version = self.rng.choice([0, 1, 3]) if spec else 0
        values = {"Topics": [self.topic() for _ in range(self.rng.randint(1, 2))], "UserData": None,
                  "OwnedPartitions": [], "GenerationId": -1, "RackId": None}
        out = [struct.pack(">h", version)]
        encode_struct(spec.fields, values, version, False, out)
        return b"".join(out)

    def consumer_assignment(self) -> bytes:
        spec = self.sp.by_name.get("ConsumerProtocolAssignment")
        topic = self.topic()
        values = {"AssignedPartitions": [{"Topic": topic, "Partitions": [0]}], "UserData": None}
        out = [struct.pack(">h", 0)]
        encode_struct(spec.fields, values, 0, False, out)
        return b"".join(out)

    def plausible(self, api: str, path: str, f: FieldSpec, version: int, parent: dict):
        """A value that gets past the first checks (an existing topic, a small partition index, ...)."""
        r = self.rng
        name = f.name
        t = f.element_type
        if f.is_array:
            if api == "Metadata" and name == "Topics" and r.random() < 0.3:
                return None if version in f.nullable else []
            count = r.choice([0, 1, 1, 1, 2, 3]) if t not in ("int32",) else r.choice([1, 1, 2, 3])
            if name in ("BrokerIds",):
                return [self.ctx.node_id]
            if name in ("Partitions", "PartitionIndexes") and t == "int32":
                topic = parent.get("Topic") or parent.get("Name") or ""
                return list(range(min(count, self.partitions_of(topic))))
            return [self.element(api, path, f, version, parent, i) for i in range(count)]
        if f.is_struct:
            if version in f.nullable and r.random() < 0.3:
                return None
            return self.struct_value(api, path, f.fields, version)
        return self.scalar(api, path, f, version, parent)

    def element(self, api: str, path: str, f: FieldSpec, version: int, parent: dict, index: int):
        t = f.element_type
        if f.is_struct:
            return self.struct_value(api, path + "[]", f.fields, version)
        fake = FieldSpec(name=f.name, type=t, versions=f.versions, nullable=Versions("none"),
                         tagged=Versions("none"), tag=None, fields=None, entity=f.entity, default=None,
                         flexible_override=None)
        return self.scalar(api, path + "[]", fake, version, parent)

    def scalar(self, api: str, path: str, f: FieldSpec, version: int, parent: dict):
        r = self.rng
        t = f.element_type
        name = f.name
        lname = name.lower()
        entity = f.entity
        if t == "string":
            if lname == "name" and "Configs" in path:
                return r.choice(CONFIG_NAMES[:10])
            if entity == "topicName" or lname in ("topic", "topicname") or (lname == "name" and "Topic" in path):
                if api in ("CreateTopics", "CreatePartitions") or (api == "DeleteTopics"):
                    return self.topic(new=r.random() < (0.8 if api != "CreatePartitions" else 0.5))
                return self.topic()
            if entity == "groupId" or lname in ("key", "coordinatorkeys") or path.endswith("GroupsNames[]"):
                # A few fixed groups that see every kind of request, and many others, so that one group held in
                # a long rebalance (an extreme rebalance timeout) does not hold every later JoinGroup.
                return r.choice(self.ctx.groups) if r.random() < 0.5 else f"fuzz-g-{r.randrange(200)}"
            if entity == "transactionalId":
                return None if (version in f.nullable and r.random() < 0.8) else "fuzz-txn"
            if lname == "resourcename":
                rtype = parent.get("ResourceType", 2)
                return str(self.ctx.node_id) if rtype == 4 else self.topic()
            if lname == "name" and "Configs" in path:
                return r.choice(CONFIG_NAMES[:10])
            if lname == "value" and "Configs" in path:
                cname = parent.get("Name", "")
                safe = {"cleanup.policy": ["delete", "compact"], "retention.ms": ["604800000", "-1", "60000"],
                        "max.message.bytes": ["1048588", "2000000"], "compression.type": ["producer", "gzip"],
                        "min.insync.replicas": ["1"], "message.timestamp.type": ["CreateTime", "LogAppendTime"]}
                return r.choice(safe.get(cname, ["1", "producer", "delete"]))
            if lname == "configurationkeys" or path.endswith("ConfigurationKeys[]"):
                return r.choice(CONFIG_NAMES[:10])
            if lname == "protocoltype":
                return "consumer"
            if lname in ("protocolname",) or (lname == "name" and "Protocols" in path):
                return r.choice(["range", "roundrobin", "cooperative-sticky"])
            if lname == "memberid":
                return "" if r.random() < 0.7 else f"vltava-fuzz-{r.randrange(100)}"
            if lname == "groupinstanceid":
                return None if (version in f.nullable and r.random() < 0.7) else f"instance-{r.randrange(4)}"
            if "statesfilter" in path.lower():
                return r.choice(["Stable", "Empty", "PreparingRebalance", "Dead"])
            if "typesfilter" in path.lower():
                return r.choice(["classic", "consumer"])
            if version in f.nullable and f.default == "null" and r.random() < 0.5:
                return None
            return r.choice(["vltava-fuzz", "1.0", "rack-a", "x"])
        if t in _INT_FORMATS:
            low, high = INT_LIMITS[t]
            if lname in ("partitionindex", "partition", "index") or path.endswith("Partitions[]") \
                    or path.endswith("PartitionIndexes[]"):
                topic = parent.get("Name") or parent.get("Topic") or ""
                return r.randrange(max(1, self.partitions_of(topic)))
            if entity == "brokerId" or lname in ("brokerid", "nodeid") or path.endswith("BrokerIds[]"):
                if lname == "replicaid":
                    return -1
                return self.ctx.node_id
            if lname == "acks":
                return r.choice([-1, 1, 1])
            if lname in ("timeoutms", "transactiontimeoutms"):
                return r.choice([0, 100, 1000, 5000])
            if lname == "maxwaitms":
                return r.choice([0, 10, 100])
            if lname == "sessiontimeoutms":
                return r.choice([6000, 10000, 30000])
            if lname == "rebalancetimeoutms":
                return r.choice([-1, 100, 1000])
            if lname in ("minbytes",):
                return r.choice([0, 1])
            if lname in ("maxbytes", "partitionmaxbytes"):
                return r.choice([1 << 20, 50 << 20, 64 << 10])
            if lname == "isolationlevel":
                return r.choice([0, 1])
            if lname == "timestamp":
                return r.choice([-1, -2, -3, -4, -5, BASE_TIMESTAMP])
            if lname in ("fetchoffset", "committedoffset", "offset", "logstartoffset"):
                return r.choice([0, 0, 1, 5, -1])
            if lname in ("numpartitions",):
                return r.choice([-1, 1, 2, 3])
            if lname == "replicationfactor":
                return r.choice([-1, 1])
            if lname == "count":
                return r.randint(1, 4)
            if lname == "resourcetype":
                return r.choice([2, 2, 4])
            if lname == "configoperation":
                return r.choice([0, 1, 2, 3])
            if lname == "keytype":
                return 0
            if lname in ("generationid", "generationidormemberepoch", "memberepoch"):
                return r.choice([-1, 0, 1])
            if lname in ("currentleaderepoch", "lastfetchedepoch", "committedleaderepoch"):
                return r.choice([-1, 0])
            if lname == "leaderepoch":
                return r.choice([0, -1])
            if lname in ("producerid",):
                return -1
            if lname in ("producerepoch",):
                return -1
            if lname == "sessionid":
                return 0
            if lname == "sessionepoch":
                return -1
            if lname == "endpointtype":
                return 1
            if lname == "retentiontimems":
                return -1
            if lname == "maxnumoffsets":
                return 1
            if f.default is not None and f.default != "null" and isinstance(f.default, int):
                return f.default
            return r.randint(0, 3)
        if t == "bool":
            if lname == "validateonly":
                return r.random() < 0.3
            if lname == "allowautotopiccreation":
                return False if r.random() < 0.9 else True
            return r.random() < 0.5
        if t == "uuid":
            if "topic" in lname:
                return self.topic_id()
            return bytes(r.getrandbits(8) for _ in range(16))
        if t == "float64":
            return r.choice([0.0, 1.0, 1024.0])
        if t == "records":
            topic = parent.get("Name", "")
            return self.plain_records(topic)
        if t == "bytes":
            if lname == "metadata" and "Protocols" in path:
                return self.consumer_subscription()
            if lname == "assignment":
                return self.consumer_assignment()
            return bytes(r.getrandbits(8) for _ in range(r.randint(0, 8)))
        raise ValueError(t)

    def struct_value(self, api: str, path: str, fields: list, version: int) -> dict:
        values: dict = {}
        for f in fields:
            if not f.present(version):
                continue
            if f.is_tagged(version) and self.rng.random() < 0.7:
                continue
            values[f.name] = self.plausible(api, f"{path}.{f.name}" if path else f.name, f, version, values)
        return values

    # ---- extreme values ---------------------------------------------------------------------------------------

    def extreme(self, api: str, path: str, f: FieldSpec, version: int, flexible: bool, allow_big: bool,
                parent: dict):
        """(label, value) of one extreme choice for field f."""
        r = self.rng
        if f.flexible_override is not None:
            flexible = version in f.flexible_override
        nullable = version in f.nullable
        t = f.element_type
        choices: list = []
        if f.is_array:
            if nullable:
                choices.append(("null", None))
            else:
                choices.append(("null where not nullable",
                                Raw(uvarint(0) if flexible else struct.pack(">i", -1), "null array (not nullable)")))
            choices.append(("empty", []))
            one = [self.element(api, path, f, version, parent, 0)]
            choices.append(("one element", one))
            choices.append(("same element twice", [one[0], one[0]]))
            for _ in range(2):
                choices.append(("many", "many"))
            if not f.is_struct:
                for _ in range(2):
                    choices.append(("element", "element"))
            choices.append(("count bomb", Raw((uvarint(0x7FFFFFF0) if flexible else struct.pack(">i", 0x7FFFFFFF))
                                              + b"\x00" * r.choice([0, 4, 16]), "array count 2^31-1 with no elements")))
            choices.append(("negative count", Raw(struct.pack(">i", -2) if not flexible else uvarint(0xFFFFFFFF),
                                                  "array count -2 / 2^32-1")))
            label, value = r.choice(choices)
            if value == "many":
                return self.many(api, path, f, version, flexible, allow_big, parent, one[0])
            if value == "element":
                element = FieldSpec(name=f.name, type=t, versions=f.versions, nullable=Versions("none"),
                                    tagged=Versions("none"), tag=None, fields=None, entity=f.entity, default=None,
                                    flexible_override=f.flexible_override)
                label, value = self.extreme(api, path + "[]", element, version, flexible, allow_big, parent)
                return f"[{label}]", [value]
            return label, value
        if f.is_struct:
            if nullable:
                return "null", None
            return "all fields extreme", "wild"
        if t in INT_LIMITS:
            low, high = INT_LIMITS[t]
            value = r.choice(sorted({low, -1 if low < 0 else 1, 0, high}))
            return f"{value}", value
        if t == "bool":
            return r.choice([("bool byte 0x02", Raw(b"\x02", "bool 0x02")), ("bool byte 0xff", Raw(b"\xff", "bool 0xff")),
                             ("true", True), ("false", False)])
        if t == "float64":
            value = r.choice([float("nan"), float("inf"), float("-inf"), -0.0, 1e308, -1.0])
            return repr(value), value
        if t == "uuid":
            return r.choice([("zero uuid", b"\x00" * 16), ("all-ones uuid", b"\xff" * 16),
                             ("random unknown uuid", bytes(r.getrandbits(8) for _ in range(16))),
                             ("existing topic id", self.topic_id())])
        if t == "string":
            lengths = [0, 32767]
            if flexible:
                lengths += [32768, 32768, 65536]
                if allow_big:
                    lengths.append(MIB)
            choice = r.random()
            if nullable and choice < 0.12:
                return "null", None
            if not nullable and choice < 0.17:
                return "null where not nullable", Raw(uvarint(0) if flexible else struct.pack(">h", -1),
                                                       "null string (not nullable)")
            if choice < 0.3:
                value = r.choice(SPECIAL_NAMES)
                return _short(value), value
            if choice < 0.38:
                value = r.choice(INVALID_UTF8)
                return f"invalid UTF-8 {value.hex()}", value
            if choice < 0.45 and flexible:
                n = r.choice([32768, 40000])
                return f"multi-byte string of {n // 2 * 2} bytes", "é" * (n // 2)
            if choice < 0.5:
                if flexible:
                    return "length bomb", Raw(uvarint(0x7FFFFFFF) + b"ab", "compact string length 2^31-2 with 2 bytes")
                return "length bomb", Raw(struct.pack(">h", 0x7FFF) + b"ab", "string length 32767 with 2 bytes")
            if choice < 0.55 and not flexible:
                return "negative length", Raw(struct.pack(">h", -2), "string length -2")
            n = r.choice(lengths)
            base = self.plausible(api, path, f, version, parent) or "x"
            if n == 0:
                return "empty string", ""
            value = (base * (n // max(1, len(base)) + 1))[:n] if isinstance(base, str) else "x" * n
            return f"string of {n} bytes", value
        if t in ("bytes", "records"):
            if t == "records":
                return self.extreme_records(api, nullable, flexible, allow_big, parent)
            choice = r.random()
            if nullable and choice < 0.12:
                return "null", None
            if not nullable and choice < 0.17:
                return "null where not nullable", Raw(uvarint(0) if flexible else struct.pack(">i", -1),
                                                       "null bytes (not nullable)")
            if choice < 0.25:
                return "length bomb", Raw((uvarint(0x7FFFFFFF) if flexible else struct.pack(">i", 0x7FFFFFFF)) + b"ab",
                                          "bytes length 2^31-1 with 2 bytes")
            if choice < 0.3 and not flexible:
                return "negative length", Raw(struct.pack(">i", -2), "bytes length -2")
            if choice < 0.4:
                value = bytes(r.getrandbits(8) for _ in range(r.randint(1, 64)))
                return f"random bytes {value.hex()}", value
            lengths = [0, 32767, 32768, 65536]
            if allow_big:
                lengths.append(MIB)
            n = r.choice(lengths)
            return f"bytes of {n}", b"\x00" * n if r.random() < 0.5 else bytes([0xAB]) * n
        raise ValueError(t)

    def extreme_records(self, api: str, nullable: bool, flexible: bool, allow_big: bool, parent: dict):
        r = self.rng
        options = ["null", "empty", "corrupt crc", "bad magic", "count bomb", "gzip bomb", "many records",
                   "truncated", "negative length", "huge baseOffset", "negative lastOffsetDelta", "null key",
                   "garbage", "two batches", "transactional", "idempotent", "zstd garbage", "control batch"]
        if allow_big:
            options += ["1 MiB batch", "1 MiB value", "big gzip bomb"]
        choice = r.choice(options)
        plain = [(b"k", b"v")]
        if choice == "null":
            return "null records", None
        if choice == "empty":
            return "empty records", b""
        if choice == "corrupt crc":
            return choice, record_batch(plain, corrupt_crc=True)
        if choice == "bad magic":
            magic = r.choice([0, 1, 3, 127, -1])
            return f"batch magic {magic}", record_batch(plain, magic=magic)
        if choice == "count bomb":
            return "batch claiming 2^31-1 records", record_batch(plain, count=0x7FFFFFFF)
        if choice == "gzip bomb":
            return "gzip batch of 16 MiB record in ~16 KiB", record_batch([], compression=1, compressed=gzip_bomb(16 * MIB), count=1)
        if choice == "big gzip bomb":
            return "gzip batch of 64 MiB record", record_batch([], compression=1, compressed=gzip_bomb(64 * MIB), count=1)
        if choice == "many records":
            n = r.choice([1000, 100_000]) if allow_big else 1000
            return f"batch of {n} tiny records", record_batch([(b"k", b"")] * n, compression=r.choice([0, 1]))
        if choice == "truncated":
            batch = record_batch(plain)
            cut = r.randrange(1, len(batch))
            return f"batch truncated to {cut} bytes", batch[:cut]
        if choice == "negative length":
            batch = bytearray(record_batch(plain))
            batch[8:12] = struct.pack(">i", r.choice([-1, -100, 0, 0x7FFFFFFF]))
            return "batch with lying length", bytes(batch)
        if choice == "huge baseOffset":
            return "batch baseOffset 2^63-1", record_batch(plain, base_offset=(1 << 63) - 1)
        if choice == "negative lastOffsetDelta":
            return "batch lastOffsetDelta -5", record_batch(plain, last_offset_delta=-5)
        if choice == "null key":
            return "batch with null key", record_batch([(None, b"v"), (None, None)])
        if choice == "garbage":
            value = bytes(r.getrandbits(8) for _ in range(r.randint(1, 200)))
            return "random bytes as records", value
        if choice == "two batches":
            return "two batches", record_batch(plain) + record_batch(plain, base_offset=1)
        if choice == "transactional":
            return "transactional batch of unknown producer", record_batch(plain, producer_id=r.choice([0, 12345, (1 << 63) - 1]),
                                                                            producer_epoch=0, base_sequence=0,
                                                                            attributes_extra=0x10)
        if choice == "idempotent":
            return "idempotent batch", record_batch(plain, producer_id=r.choice([0, 1, 4242]), producer_epoch=r.choice([0, 32767]),
                                                    base_sequence=r.choice([0, 0x7FFFFFFF, 5]))
        if choice == "zstd garbage":
            return "zstd batch of garbage", record_batch([], compression=r.choice([2, 3, 4, 5, 7]),
                                                         compressed=bytes(r.getrandbits(8) for _ in range(64)), count=3)
        if choice == "control batch":
            return "control batch", record_batch([(b"\x00\x00\x00\x00", b"\x00\x00\x00\x00\x00\x00")],
                                                 attributes_extra=0x20)
        if choice == "1 MiB batch":
            return "1 MiB batch", record_batch([(b"k", b"\x00" * (MIB - 100))])
        if choice == "1 MiB value":
            return "batch of 1 MiB + 1 value", record_batch([(b"k", b"\x01" * (MIB + 1))])
        raise ValueError(choice)

    def many(self, api, path, f: FieldSpec, version, flexible, allow_big, parent, template):
        """(label, value) of an array with many elements: copies of one, or elements that differ by an index."""
        r = self.rng
        piece: list = []
        _encode_element(f, f.element_type, template, version, flexible, piece)
        size = max(1, len(b"".join(piece)))
        if allow_big:
            budget = r.choice([4 * MIB, 4 * MIB, 16 * MIB]) if r.random() < 0.3 else 3 * MIB
            wanted = r.choice([10_000, 100_000, 100_000, 1 << 30])
        else:
            budget = 256 * 1024
            wanted = r.choice([10, 100, 1000])
        n = max(2, min(wanted, budget // size))
        if f.element_type == "int32" and r.random() < 0.5:
            return f"{n} distinct int32", list(range(n))
        if f.is_struct and r.random() < 0.4:
            # Elements that differ by their first int32 field (a partition index, say): no duplicates.
            int_field = next((g.name for g in f.fields if g.present(version) and g.type == "int32"
                              and not g.is_tagged(version)), None)
            if int_field and isinstance(template, dict):
                n = min(n, 200_000)
                return f"{n} elements with distinct {int_field}", [dict(template, **{int_field: i}) for i in range(n)]
        return f"{n} copies of one element ({size} bytes each)", Repeat(template, n)

    # ---- whole requests ---------------------------------------------------------------------------------------

    def field_paths(self, fields: list, version: int, prefix: str = "") -> list:
        paths = []
        for f in fields:
            if not f.present(version):
                continue
            path = f"{prefix}.{f.name}" if prefix else f.name
            paths.append(path)
            if f.fields is not None:
                paths.extend(self.field_paths(f.fields, version, path + ("[]" if f.is_array else "")))
        return paths

    def struct_prefixes(self, fields: list, version: int, prefix: str = "") -> list:
        result = []
        for f in fields:
            if f.present(version) and f.fields is not None:
                path = (f"{prefix}.{f.name}" if prefix else f.name) + ("[]" if f.is_array else "")
                result.append(path)
                result.extend(self.struct_prefixes(f.fields, version, path))
        return result

    def build(self, api: str, fields: list, version: int, flexible: bool, targets: set, notes: list,
              allow_big: bool, wild: float, prefix: str = "", done: Optional[set] = None,
              big_used: Optional[list] = None) -> dict:
        """A struct value: plausible fields, except those whose path is in `targets` (or, with probability
        `wild`, any field) which get an extreme value (once per path)."""
        r = self.rng
        done = done if done is not None else set()
        big_used = big_used if big_used is not None else [False]
        values: dict = {}
        for f in fields:
            if not f.present(version):
                continue
            path = f"{prefix}.{f.name}" if prefix else f.name
            is_target = path not in done and (path in targets or (wild and r.random() < wild))
            if f.is_tagged(version) and not is_target and r.random() < 0.7:
                continue
            if is_target:
                done.add(path)
                label, value = self.extreme(api, path, f, version, flexible, allow_big and not big_used[0], values)
                if value == "wild":
                    value = self.build(api, f.fields, version, flexible, targets, notes, allow_big, 0.5, path,
                                       done, big_used)
                    notes.append(f"{path}={label}")
                else:
                    if _is_big(value):
                        big_used[0] = True
                    notes.append(f"{path}={label}" if label == _short(value) or isinstance(value, (list, Repeat))
                                 else f"{path}={label} ({_short(value)})")
                values[f.name] = value
                continue
            if f.fields is not None:
                child = path + ("[]" if f.is_array else "")
                if f.is_array:
                    plain = self.plausible(api, path, f, version, values)
                    if plain is None:
                        values[f.name] = None
                        continue
                    count = max(1, len(plain)) if any(t.startswith(child) for t in targets) else len(plain)
                    values[f.name] = [self.build(api, f.fields, version, flexible, targets, notes, allow_big, wild,
                                                 child, done, big_used) for _ in range(count)]
                else:
                    if version in f.nullable and not any(t.startswith(child) for t in targets) and r.random() < 0.3:
                        values[f.name] = None
                    else:
                        values[f.name] = self.build(api, f.fields, version, flexible, targets, notes, allow_big,
                                                    wild, child, done, big_used)
                continue
            values[f.name] = self.plausible(api, path, f, version, values)
        if flexible and ((prefix in targets and (prefix, "tags") not in done)
                         or (wild and r.random() < wild * 0.3)):
            done.add((prefix, "tags"))
            tags = self.unknown_tags(allow_big and not big_used[0], fields, version)
            label, extra, unsorted = tags
            values[UNKNOWN_TAGS] = extra
            if unsorted:
                values[UNSORTED_TAGS] = True
            notes.append(f"{prefix or '<top>'} tagged fields: {label}")
        _apply_safety(api, values)
        return values

    def unknown_tags(self, allow_big: bool, fields: list, version: int):
        r = self.rng
        known = [f.tag for f in fields if f.present(version) and f.is_tagged(version)]
        choice = r.choice(["unknown", "unknown", "many", "unsorted", "duplicate", "huge tag", "big payload",
                           "lying size", "known tag garbage"])
        if choice == "unknown":
            tag = r.choice([7, 90, 1000, 65535])
            size = r.choice([0, 1, 100, 32768])
            return f"unknown tag {tag} with {size} bytes", [(tag, b"\x00" * size)], False
        if choice == "many":
            n = r.choice([100, 10_000])
            return f"{n} unknown tags", [(100 + i, b"") for i in range(n)], False
        if choice == "unsorted":
            return "unknown tags 9, 5 out of order", [(9, b"a"), (5, b"b")], True
        if choice == "duplicate":
            return "unknown tag 7 twice", [(7, b"a"), (7, b"b")], False
        if choice == "huge tag":
            return "tag 2^32-1", [(0xFFFFFFFF, b"z")], False
        if choice == "big payload" and allow_big:
            return "unknown tag 12 with 1 MiB", [(12, b"\x00" * MIB)], False
        if choice == "lying size":
            return "tag 8 claiming 2^31 bytes", [(8, Raw(uvarint(0x7FFFFFFF) + b"ab"))], False
        if choice == "known tag garbage" and known:
            tag = r.choice(known)
            return f"known tag {tag} with garbage", [(tag, b"\xff\xff\xff")], False
        return "unknown tag 3 empty", [(3, b"")], False

    def request(self, index: int, api_key: int, version: int, correlation_id: int, allow_big: bool) -> Case:
        r = self.rng
        spec = self.sp.requests[api_key]
        api = spec.api_name
        flexible = spec.is_flexible(version)
        x = r.random()
        if x < 0.12:
            mode = "plausible"
        elif x < 0.62:
            mode = "targeted"
        elif x < 0.80:
            mode = "wild"
        elif x < 0.92:
            mode = "mutated"
        else:
            mode = "header"
        notes: list = []
        targets: set = set()
        wild = 0.0
        if mode == "targeted":
            paths = self.field_paths(spec.fields, version)
            if flexible:
                # Tag sections: the request's own ("") and those of its structs ("Topics[]", "ReplicaState").
                paths += ["", ""] + self.struct_prefixes(spec.fields, version)
            if paths:
                targets = set(r.sample(paths, min(len(paths), r.choice([1, 1, 1, 2, 3]))))
        elif mode == "wild":
            wild = r.choice([0.2, 0.4])
        values = self.build(api, spec.fields, version, flexible, targets, notes, allow_big, wild)
        client_id: Any = "vltava-fuzz"
        header_values: dict = {}
        if mode == "header":
            choice = r.choice(["null client id", "empty client id", "long client id", "invalid utf-8 client id",
                               "header tags", "correlation id", "unknown tag big"])
            if choice == "null client id":
                client_id = None
            elif choice == "empty client id":
                client_id = ""
            elif choice == "long client id":
                client_id = "c" * 32767
            elif choice == "invalid utf-8 client id":
                client_id = b"\xff\xfe"
            elif choice == "header tags" and flexible:
                header_values[UNKNOWN_TAGS] = [(r.choice([0, 1, 99]), b"\x00" * r.choice([0, 5, 32768]))]
            elif choice == "unknown tag big" and flexible and allow_big:
                header_values[UNKNOWN_TAGS] = [(5, b"\x00" * MIB)]
            else:
                choice = "correlation id"
                correlation_id = r.choice([-1, -(1 << 31), (1 << 31) - 1, 0])
            notes.append(f"header: {choice}")
        expect_answer = not (api == "Produce" and values.get("Acks") == 0)
        try:
            header = encode_header(self.sp, api_key, version, correlation_id, client_id, header_values)
            body = encode_body(self.sp, api_key, version, values)
        except (ValueError, struct.error, OverflowError) as error:
            # An extreme that this version cannot carry (a 32768-byte string with an INT16 length): send the
            # plausible request instead.
            notes = [f"(extreme not encodable: {error}; plausible values sent)"]
            values = self.build(api, spec.fields, version, flexible, set(), [], False, 0.0)
            header = encode_header(self.sp, api_key, version, correlation_id)
            body = encode_body(self.sp, api_key, version, values)
            mode = "plausible"
        well_formed = mode in ("plausible",) or (not any("Raw" in repr(v) for v in _walk(values)) and mode != "mutated")
        payload = header + body
        if mode == "mutated":
            payload, mutation_notes = self.mutate(payload, len(header))
            notes.extend(mutation_notes)
            well_formed = False
            expect_answer = True
        if len(payload) + 4 > MAX_FRAME:
            values = self.build(api, spec.fields, version, flexible, set(), [], False, 0.0)
            payload = encode_header(self.sp, api_key, version, correlation_id) + encode_body(self.sp, api_key, version, values)
            notes = ["(frame too large; plausible values sent)"]
            mode = "plausible"
        data = frame(payload)
        if mode == "mutated" and r.random() < 0.05:
            lie = r.choice([-1, 0, 3, len(payload) - 1])
            data = struct.pack(">i", lie) + payload
            notes.append(f"frame size says {lie} for {len(payload)} bytes")
        return Case(index=index, api_key=api_key, api_name=api, version=version, data=data,
                    correlation_id=correlation_id, notes=notes, mode=mode, expect_answer=expect_answer,
                    well_formed=well_formed)

    # ---- stateful scenarios -----------------------------------------------------------------------------------

    def step(self, index: int, api: str, version: int, correlation_id: int, overrides: dict, label: str,
             target: bool, allow_big: bool, client_id="vltava-fuzz", patch: Optional[Callable] = None) -> Case:
        """One request of a scenario: plausible values, the scenario's own ids (`overrides`), and, when
        `target`, one field at an extreme value (which wins over the scenario's id if it is that field)."""
        r = self.rng
        spec = self.sp.request(api)
        flexible = spec.is_flexible(version)
        targets: set = set()
        if target:
            paths = self.field_paths(spec.fields, version) + ([""] if flexible else [])
            targets = set(r.sample(paths, 1))
        notes: list = []
        values = self.build(api, spec.fields, version, flexible, targets, notes, allow_big, 0.0)
        for name, value in overrides.items():
            if any(f.name == name and f.present(version) for f in spec.fields) and name not in targets:
                values[name] = value
        if patch is not None:
            patch(values, targets)
        try:
            data = frame(encode_header(self.sp, spec.api_key, version, correlation_id, client_id)
                         + encode_body(self.sp, spec.api_key, version, values))
        except (ValueError, struct.error, OverflowError) as error:
            notes = [f"(extreme not encodable: {error})"]
            for name in targets:
                values.pop(name, None)
            if not flexible:
                # An id the broker handed out (a member id of 32804 bytes) that this version cannot carry.
                for name, value in list(values.items()):
                    if isinstance(value, str) and len(value.encode()) > 0x7FFF:
                        values[name] = value.encode()[:0x7FFF].decode(errors="ignore")
                        notes.append(f"{name} cut to 32767 bytes")
            try:
                data = frame(encode_header(self.sp, spec.api_key, version, correlation_id, client_id)
                             + encode_body(self.sp, spec.api_key, version, values))
            except (ValueError, struct.error, OverflowError):
                return None
        expect = not (api == "Produce" and values.get("Acks") == 0)
        if client_id != "vltava-fuzz":
            notes.insert(0, f"header ClientId={_short(client_id)}")
        return Case(index=index, api_key=spec.api_key, api_name=api, version=version, data=data,
                    correlation_id=correlation_id, notes=[f"scenario step {label}"] + notes, mode="scenario",
                    expect_answer=expect, well_formed=not notes or not any("Raw" in repr(v) for v in _walk(values)))

    def group_scenario(self, index: int, versions: dict, next_correlation: Callable[[], int], allow_big: bool):
        """A classic consumer group member's life on one connection: join (again with the member id when
        the broker requires one), sync as leader, heartbeat, commit and fetch offsets, leave; one field of
        one step gets an extreme value, or the client id does."""
        r = self.rng
        sp = self.sp
        group = f"fuzz-s-{r.randrange(100)}" if r.random() < 0.8 else r.choice(self.ctx.groups)
        apis = [a for a in ("JoinGroup", "SyncGroup", "Heartbeat", "OffsetCommit", "OffsetFetch", "LeaveGroup",
                            "DescribeGroups") if sp.request(a).api_key in versions]
        if "JoinGroup" not in apis:
            return None
        target = r.choice(apis + ["JoinGroup", "JoinGroup", "client id"])
        client_id: Any = "vltava-fuzz"
        if target == "client id":
            client_id = r.choice(["c" * 32767, "", None, "\u00e9" * 16383, b"\xff\xfe", "c" * 32730])
        version = {a: r.randint(*versions[sp.request(a).api_key]) for a in apis}
        instance = f"static-{r.randrange(5)}" if version["JoinGroup"] >= 5 and r.random() < 0.3 else None
        protocol = r.choice(["range", "roundrobin"])
        session = r.choice([6000, 10000])
        rebalance = r.choice([1000, 3000])
        decode = lambda case, payload: decode_response(sp, case.api_key, case.version, payload)[1]

        def run():
            member = ""
            join_overrides = {"GroupId": group, "MemberId": member, "GroupInstanceId": instance,
                              "ProtocolType": "consumer", "SessionTimeoutMs": session,
                              "RebalanceTimeoutMs": rebalance,
                              "Protocols": [{"Name": protocol, "Metadata": self.consumer_subscription()}]}
            body = None
            for attempt in range(2):
                join_overrides["MemberId"] = member
                case = self.step(index, "JoinGroup", version["JoinGroup"], next_correlation(), join_overrides,
                                 f"join{attempt + 1}", target == "JoinGroup" and attempt == 0, allow_big, client_id)
                if case is None:
                    return
                outcome, payload = yield case
                if outcome != "answered":
                    return
                try:
                    body = decode(case, payload)
                except Exception:
                    return
                if body["ErrorCode"] == 79:          # MEMBER_ID_REQUIRED
                    member = body["MemberId"]
                    continue
                break
            if body is None or body["ErrorCode"] != 0:
                return
            member, generation = body["MemberId"], body["GenerationId"]
            leader = body["Leader"] == member
            assignments = [{"MemberId": m["MemberId"], "Assignment": self.consumer_assignment()}
                           for m in body.get("Members", [])] if leader else []
            ids = {"GroupId": group, "MemberId": member, "GroupInstanceId": instance, "GenerationId": generation,
                   "GenerationIdOrMemberEpoch": generation, "ProtocolType": "consumer",
                   "ProtocolName": body.get("ProtocolName") or protocol}
            for api in ("SyncGroup", "Heartbeat", "OffsetCommit", "OffsetFetch", "DescribeGroups", "LeaveGroup"):
                if api not in apis:
                    continue
                if api == "LeaveGroup" and r.random() < 0.3:
                    return                           # left to expire by session timeout
                overrides = dict(ids)
                patch: Optional[Callable] = None
                if api == "SyncGroup":
                    overrides["Assignments"] = assignments
                if api == "DescribeGroups":
                    overrides["Groups"] = [group]
                if api == "LeaveGroup":
                    overrides["Members"] = [{"MemberId": member, "GroupInstanceId": instance}]
                if api == "OffsetFetch":
                    def fetch_patch(values, targets):
                        groups = values.get("Groups")
                        for entry in groups if isinstance(groups, list) else []:
                            if isinstance(entry, dict) and "Groups[].GroupId" not in targets:
                                entry["GroupId"] = group
                                entry["MemberId"] = member if version["OffsetFetch"] >= 9 else None
                                entry["MemberEpoch"] = generation
                    patch = fetch_patch
                case = self.step(index, api, version[api], next_correlation(), overrides, api, target == api,
                                 allow_big, client_id, patch)
                if case is None:
                    return
                outcome, payload = yield case
                if outcome not in ("answered", "sent"):
                    return

        return run()

    def producer_scenario(self, index: int, versions: dict, next_correlation: Callable[[], int], allow_big: bool):
        """An idempotent producer on one connection: InitProducerId, then batches with consecutive, repeated,
        skipped and wrapping sequence numbers (or one extreme field)."""
        r = self.rng
        sp = self.sp
        if 22 not in versions or 0 not in versions:
            return None
        init_version = r.randint(*versions[22])
        produce_versions = versions[0]
        topic = r.choice([t for t in self.ctx.topics if t[2] > 0] or [("fuzz-a", b"", 1)])
        plan = r.choice(["consecutive", "duplicate", "gap", "wrap", "max", "epoch", "many records", "extreme"])

        def run():
            case = self.step(index, "InitProducerId", init_version, next_correlation(),
                             {"TransactionalId": None, "TransactionTimeoutMs": 60000, "ProducerId": -1,
                              "ProducerEpoch": -1}, "init", False, allow_big)
            if case is None:
                return
            outcome, payload = yield case
            if outcome != "answered":
                return
            try:
                body = decode_response(sp, case.api_key, case.version, payload)[1]
            except Exception:
                return
            if body["ErrorCode"] != 0:
                return
            pid, epoch = body["ProducerId"], body["ProducerEpoch"]
            sequence = 0
            if plan == "wrap":
                sequence = (1 << 31) - 2
            elif plan == "max":
                sequence = (1 << 31) - 1
            for step in range(r.randint(2, 5)):
                count = r.choice([1, 3]) if plan != "many records" else r.choice([1000, 20000])
                if plan in ("wrap", "max") and step == 0:
                    count = 3
                seq, ep = sequence, epoch
                note = f"producer {pid} epoch {ep} sequence {seq} records {count}"
                if plan == "duplicate" and step == 2:
                    seq -= count
                if plan == "gap" and step == 1:
                    seq += r.choice([1, 1000, (1 << 31) - 10])
                if plan == "epoch" and step >= 1:
                    ep = r.choice([ep + 1, 32767, -1, -32768])
                batch = record_batch([(b"k%d" % i, b"v") for i in range(count)], producer_id=pid,
                                     producer_epoch=ep, base_sequence=seq, timestamp=BASE_TIMESTAMP)
                version = r.randint(*produce_versions)
                overrides = {"TransactionalId": None, "Acks": r.choice([-1, 1]), "TimeoutMs": 1000,
                             "TopicData": [{"Name": topic[0], "PartitionData": [{"Index": 0, "Records": batch}]}]}
                case = self.step(index, "Produce", version, next_correlation(), overrides, f"produce{step + 1}",
                                 plan == "extreme" and step == 1, allow_big)
                if case is None:
                    return
                case.notes.insert(1, f"{plan}: {note} as sent (sequence {seq}, epoch {ep})")
                outcome, payload = yield case
                if outcome != "answered":
                    return
                sequence = (seq + count) % (1 << 31)

        return run()

    def mutate(self, payload: bytes, header_length: int):
        r = self.rng
        data = bytearray(payload)
        notes = []
        for _ in range(r.choice([1, 1, 2, 3, 5])):
            if not data:
                break
            kind = r.choice(["flip", "set", "int32", "truncate", "insert", "duplicate", "delete", "append"])
            # Most mutations in the body, so the header still routes the request to its API.
            low = header_length if r.random() < 0.85 and header_length < len(data) else 0
            at = r.randrange(low, len(data))
            if kind == "flip":
                bit = r.randrange(8)
                data[at] ^= 1 << bit
                notes.append(f"flip bit {bit} at byte {at}")
            elif kind == "set":
                value = r.choice([0x00, 0xFF, 0x7F, 0x80, 0x01])
                data[at] = value
                notes.append(f"byte {at} := {value:#04x}")
            elif kind == "int32":
                value = r.choice([0x7FFFFFFF, -1, -(1 << 31), 0x10000, 0])
                data[at:at + 4] = struct.pack(">i", value)
                notes.append(f"int32 at {at} := {value}")
            elif kind == "truncate":
                del data[at:]
                notes.append(f"truncated at {at}")
            elif kind == "insert":
                blob = bytes(r.getrandbits(8) for _ in range(r.randint(1, 16)))
                data[at:at] = blob
                notes.append(f"inserted {blob.hex()} at {at}")
            elif kind == "duplicate":
                end = min(len(data), at + r.randint(1, 64))
                data[at:at] = data[at:end]
                notes.append(f"duplicated bytes {at}..{end}")
            elif kind == "delete":
                end = min(len(data), at + r.randint(1, 8))
                del data[at:end]
                notes.append(f"deleted bytes {at}..{end}")
            else:
                blob = bytes(r.getrandbits(8) for _ in range(r.randint(1, 64)))
                data += blob
                notes.append(f"appended {len(blob)} bytes")
        return bytes(data), notes


def _all_fields(fields):
    for f in fields:
        yield f
        if f.fields:
            yield from _all_fields(f.fields)


def _walk(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value[:3]:
            yield from _walk(v)
    elif isinstance(value, Repeat):
        yield from _walk(value.element)
    elif isinstance(value, tuple):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def _is_big(value) -> bool:
    if isinstance(value, (bytes, str)):
        return len(value) >= MIB
    if isinstance(value, Repeat):
        return value.count >= 10_000
    if isinstance(value, list):
        return len(value) >= 10_000
    if isinstance(value, Raw):
        return len(value.data) >= MIB
    return False


def _apply_safety(api: str, values: dict):
    """Keeps config values that would make the broker do unbounded work on the fuzzer's behalf (a segment per
    batch, an fsync per message) out of every request."""
    name = values.get("Name")
    value = values.get("Value")
    if isinstance(name, str) and isinstance(value, str) and (name, value) in UNSAFE_CONFIGS:
        values["Value"] = "abc"


# --------------------------------------------------------------------------------------------------------------
# Broker processes
# --------------------------------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        return False
    return False


BROKER_ARGS = ["--override", "group.initial.rebalance.delay.ms=100"]


class BrokerTarget:
    """The broker under test: its address, its pid (if known), its log (if known)."""

    def __init__(self, bootstrap: str, pid: Optional[int] = None, log_path: Optional[Path] = None,
                 popen: Optional[subprocess.Popen] = None):
        self.bootstrap = bootstrap
        self.pid = pid if pid is not None else (popen.pid if popen else None)
        self.log_path = Path(log_path) if log_path else None
        self.popen = popen

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        if self.pid is not None:
            return pid_alive(self.pid)
        return True

    def exit_status(self) -> str:
        if self.popen is not None and self.popen.poll() is not None:
            code = self.popen.returncode
            return f"exited with {code}" + (f" ({signal.Signals(-code).name})" if code < 0 else "")
        if self.pid is not None and not pid_alive(self.pid):
            return "is gone"
        return "running"

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                size = log.tell()
                log.seek(max(0, size - 256 * 1024))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        pass


class ManagedBroker(BrokerTarget):
    """A `vltava serve` that the fuzzer starts on a free loopback port with a data folder of its own."""

    def __init__(self, binary: Path, workdir: Path, extra_args=None, name: str = "broker"):
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / f"{name}-data"
        shutil.rmtree(self.data_dir, ignore_errors=True)      # always a fresh broker
        port = free_port()
        super().__init__(f"127.0.0.1:{port}", log_path=self.workdir / f"{name}.log")
        self.port = port
        self.extra_args = list(BROKER_ARGS if extra_args is None else extra_args)

    def start(self, timeout: float = 30.0) -> "ManagedBroker":
        env = dict(os.environ)
        env["SCHEMA_REGISTRY_LISTENERS"] = "none"
        # The crashed thread only, so a crash report takes a second instead of a dozen.
        env.setdefault("SWIFT_BACKTRACE", "enable=yes,threads=crashed,registers=none,images=none")
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(
            [str(self.binary), "serve", "--listeners", f"PLAINTEXT://127.0.0.1:{self.port}",
             "--data-dir", str(self.data_dir), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        self.pid = self.popen.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"vltava exited with {self.popen.returncode}: {self.log_tail(20)}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"vltava did not listen on {self.port} within {timeout}s")

    def stop(self):
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def remove_data(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# Health checks
# --------------------------------------------------------------------------------------------------------------


class RssMonitor(threading.Thread):
    """Samples a pid's VmRSS every 100 ms and keeps the peak since the last reset."""

    def __init__(self):
        super().__init__(daemon=True)
        self.pid: Optional[int] = None
        self.peak = 0
        self.last = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def watch(self, pid: Optional[int]):
        with self.lock:
            self.pid = pid
            self.peak = 0

    def reset(self) -> int:
        with self.lock:
            peak, self.peak = self.peak, 0
            return peak

    def run(self):
        while not self.stopping.wait(0.1):
            pid = self.pid
            if pid is None:
                continue
            value = rss_kib(pid)
            if value is not None:
                with self.lock:
                    self.last = value
                    self.peak = max(self.peak, value)


def make_admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient
    import logging
    quiet = logging.getLogger("vltava-fuzz-librdkafka")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000,
                        "socket.connection.setup.timeout.ms": 10000, "logger": quiet,
                        "error_cb": lambda error: None})


def client_lists_topics(admin, timeout: float = 10.0):
    """None when confluent-kafka's AdminClient lists the topics, else the error."""
    try:
        metadata = admin.list_topics(timeout=timeout)
        if not metadata.brokers:
            return "the answer names no broker"
        return None
    except Exception as error:  # KafkaException and friends
        return f"{type(error).__name__}: {error}"


def fetch_topics(bootstrap: str, sp: Specs, timeout: float = 10.0) -> list:
    """[(name, topic id, partitions)] from a Metadata v12 answer."""
    status, payload = send_frame(bootstrap, encode_request(3, 12, {"Topics": None, "AllowAutoTopicCreation": False},
                                                           correlation_id=2), timeout)
    if status != "answered":
        raise RuntimeError(f"Metadata: {status}")
    _, body = decode_response(sp, 3, 12, payload)
    return [(t["Name"], t["TopicId"], len(t["Partitions"])) for t in body["Topics"] if t["ErrorCode"] == 0]


def broker_node_id(bootstrap: str, sp: Specs) -> int:
    status, payload = send_frame(bootstrap, encode_request(3, 12, {"Topics": []}, correlation_id=3))
    _, body = decode_response(sp, 3, 12, payload)
    return body["Brokers"][0]["NodeId"] if body["Brokers"] else 1


BASE_TOPICS = [("fuzz-a", 1, {}), ("fuzz-b", 3, {}), ("fuzz-compact", 2, {"cleanup.policy": "compact"})]


def ensure_topics(admin, bootstrap: str, sp: Specs, timeout: float = 10.0) -> list:
    """Creates the base topics that are missing (the fuzzer may have deleted them) and returns all topics."""
    from confluent_kafka.admin import NewTopic
    existing = {t[0] for t in fetch_topics(bootstrap, sp, timeout)}
    missing = [NewTopic(name, partitions, 1, config=config) for name, partitions, config in BASE_TOPICS
               if name not in existing]
    if missing:
        for future in admin.create_topics(missing, operation_timeout=timeout).values():
            try:
                future.result(timeout)
            except Exception:
                pass
    topics = fetch_topics(bootstrap, sp, timeout)
    base = [t for t in topics if t[0] in {name for name, _, _ in BASE_TOPICS}]
    others = [t for t in topics if t not in base and not t[0].startswith("__") and t[2] <= 64][:20]
    return base + others


CRASH_PATTERNS = [re.compile(p) for p in (r"Fatal error", r"Program crashed", r"Crash at", r"Assertion failed",
                                          r"Precondition failed", r"Segmentation fault", r"Illegal instruction",
                                          r"Aborted", r"Thread \d+ crashed", r"Swift runtime failure")]
SOURCE_LINE = re.compile(r"(Sources/[\w/+.-]+\.swift:\d+(?::\d+)?)")


def crash_summary(log: str) -> tuple[str, str]:
    """(crash message, "function at Sources/...swift:line" of the crashed thread's first frame in the project)
    from a broker log (the Swift runtime's message and its backtracer's report)."""
    lines = log.splitlines()
    message = ""
    for line in lines:
        if any(p.search(line) for p in CRASH_PATTERNS):
            message = line.strip()
            break
    location = ""
    crashed = next((i for i, line in enumerate(lines) if re.match(r"Thread \d+ .*crashed:", line)), None)
    if crashed is not None:
        frames = []
        for line in lines[crashed + 1:]:
            if line.startswith("Thread ") or line.startswith("Registers") or line.startswith("Images"):
                break
            found = SOURCE_LINE.search(line)
            if found and "/.build/" not in line and "/checkouts/" not in line:
                function = re.search(r"0x[0-9a-f]+ (.*?) \+ \d+ in ", line)
                where = found.group(1).rsplit(":", 1)[0] if found.group(1).count(":") > 1 else found.group(1)
                frames.append(f"{function.group(1)} at {where}" if function else where)
                if len(frames) == 3:
                    break
        location = " <- ".join(frames)
    if not location and message:
        found = re.search(r"([\w/+-]+\.swift:\d+)", message)
        location = found.group(1) if found else ""
    return message, location


def log_excerpt(log: str, lines: int = 15) -> str:
    """The broker's last ordinary log lines before a crash, the crash message and the crashed thread's frames in
    the project's sources (without the backtracer's registers and images)."""
    all_lines = log.splitlines()
    first_crash = next((i for i, line in enumerate(all_lines) if any(p.search(line) for p in CRASH_PATTERNS)),
                       None)
    if first_crash is None:
        return "\n".join(all_lines[-lines:])
    before = all_lines[max(0, first_crash - lines):first_crash]
    message, location = crash_summary(log)
    return "\n".join(before + [message] + [f"  at {frame}" for frame in location.split(" <- ") if frame])


def wait_for_crash_report(target: "BrokerTarget", timeout: float = 60.0):
    """When the log shows a crash, waits (up to `timeout`) for the backtracer to finish and the process to exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and target.alive():
        message, _ = crash_summary(target.log_tail(400))
        if not message:
            return
        time.sleep(0.25)


# --------------------------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------------------------


class Prober(threading.Thread):
    """Lists topics with a real client, again and again, while a replay runs: counts the longest run of
    consecutive failures (each one 10 s without an answer)."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.stopping = threading.Event()
        self.longest_failure_run = 0

    def run(self):
        admin = make_admin(self.bootstrap)
        run = 0
        while not self.stopping.is_set():
            if client_lists_topics(admin) is None:
                run = 0
                self.stopping.wait(0.2)
            else:
                run += 1
                self.longest_failure_run = max(self.longest_failure_run, run)
                admin = make_admin(self.bootstrap)

    def stop(self):
        self.stopping.set()
        self.join(timeout=15)


@dataclass
class ApiStats:
    sent: int = 0
    answered: int = 0
    closed: int = 0
    timeouts: int = 0
    no_answer_expected: int = 0
    undecodable: int = 0


class Connection:
    def __init__(self, bootstrap: str, timeout: float):
        self.bootstrap = bootstrap
        self.timeout = timeout
        self.sock: Optional[socket.socket] = None

    def ensure(self):
        if self.sock is None:
            host, port = self.bootstrap.rsplit(":", 1)
            self.sock = socket.create_connection((host, int(port)), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def exchange(self, case: Case) -> tuple[str, Optional[bytes]]:
        try:
            self.ensure()
        except OSError as error:
            self.close()
            return "connect-failed", str(error).encode()
        try:
            self.sock.settimeout(self.timeout * 2)
            self.sock.sendall(case.data)
        except socket.timeout:
            self.close()
            return "timeout", None
        except OSError:
            self.close()
            return "closed", None
        if case.unread:
            # A client that never reads its answers: give the broker a moment to pile them up, then hang up.
            time.sleep(1.0)
            self.close()
            return "sent", None
        if not case.expect_answer:
            return "sent", None
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                payload = read_frame(self.sock)
                if payload is None:
                    self.close()
                    return "closed", None
                if len(payload) >= 4 and struct.unpack(">i", payload[:4])[0] == case.correlation_id:
                    return "answered", payload
                if time.monotonic() > deadline:
                    raise socket.timeout()
                # An answer to an earlier request of this connection (acks=0 produce refused): skip it.
        except socket.timeout:
            self.close()
            return "timeout", None
        except DecodeError:
            self.close()
            return "closed", None
        except OSError:
            self.close()
            return "closed", None


# --------------------------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Failure:
    kinds: list
    batch: int
    folder: Path
    detail: str
    crash_message: str = ""
    crash_location: str = ""
    log_tail: str = ""
    suspects: list = dataclass_field(default_factory=list)       # Cases without an answer
    reproducer: Optional[Case] = None
    reproducers: list = dataclass_field(default_factory=list)
    reproducer_detail: str = ""
    signature: str = ""

    def summary(self) -> str:
        lines = [f"{', '.join(self.kinds)} after batch {self.batch}: {self.detail}"]
        if self.crash_message:
            lines.append(f"  broker log: {self.crash_message}" + (f" [{self.crash_location}]" if self.crash_location else ""))
        if self.reproducer is not None:
            if len(self.reproducers) > 1:
                lines.append(f"  reproduced by {len(self.reproducers)} requests in order:")
                for case in self.reproducers[:10]:
                    lines.append(f"    #{case.index} {case.describe()[:400]} ({len(case.data)} bytes)")
                if len(self.reproducers) > 10:
                    lines.append(f"    ... and {len(self.reproducers) - 10} more (all in reproducer.txt)")
            else:
                size = (f"{len(self.reproducer.steps)} requests" if self.reproducer.factory is not None
                        else f"{len(self.reproducer.data)} bytes")
                lines.append(f"  reproduced by: {self.reproducer.describe()} ({size})")
            if self.reproducer_detail:
                lines.append(f"    {self.reproducer_detail}")
        elif self.reproducer_detail:
            lines.append(f"  {self.reproducer_detail}")
        if self.reproducer is None and self.suspects:
            lines.append("  requests without an answer when it happened:")
            for case in self.suspects[:12]:
                lines.append(f"    #{case.index} {case.describe()} -> {case.outcome}")
        lines.append(f"  requests saved in {self.folder}")
        return "\n".join(lines)


@dataclass
class Report:
    stats: dict = dataclass_field(default_factory=lambda: collections.defaultdict(ApiStats))
    failures: list = dataclass_field(default_factory=list)
    distinct: list = dataclass_field(default_factory=list)
    undecodable_examples: dict = dataclass_field(default_factory=dict)
    timeout_examples: dict = dataclass_field(default_factory=dict)
    slowest: list = dataclass_field(default_factory=list)      # [(seconds, Case)] of answered requests
    slow_checks: list = dataclass_field(default_factory=list)  # health checks that needed a retry
    batches: int = 0
    requests: int = 0
    seconds: float = 0.0
    peak_rss_kib: int = 0
    apis: dict = dataclass_field(default_factory=dict)

    def text(self, sp: Optional[Specs] = None) -> str:
        sp = sp or specs()
        lines = [f"{self.requests} requests in {self.batches} batches over {self.seconds:.0f} s; "
                 f"peak broker RSS {self.peak_rss_kib / 1024:.0f} MiB",
                 f"{'api':<24}{'ver':>4}{'sent':>9}{'answered':>10}{'closed':>8}{'timeout':>8}{'no-ans':>8}{'bad-ans':>8}"]
        totals = ApiStats()
        for (key, version) in sorted(self.stats):
            s = self.stats[(key, version)]
            lines.append(f"{sp.api_name(key):<24}{version:>4}{s.sent:>9}{s.answered:>10}{s.closed:>8}"
                         f"{s.timeouts:>8}{s.no_answer_expected:>8}{s.undecodable:>8}")
            for name in ("sent", "answered", "closed", "timeouts", "no_answer_expected", "undecodable"):
                setattr(totals, name, getattr(totals, name) + getattr(s, name))
        lines.append(f"{'total':<28}{totals.sent:>9}{totals.answered:>10}{totals.closed:>8}{totals.timeouts:>8}"
                     f"{totals.no_answer_expected:>8}{totals.undecodable:>8}")
        lines.append("(closed: the broker closed the connection, acceptable for malformed input; timeout: no answer "
                     "within the read timeout, e.g. a held JoinGroup or Fetch; bad-ans: an answer of a well-formed "
                     "request that does not decode per the response spec)")
        if self.undecodable_examples:
            lines.append("answers that do not decode per the spec (first of each API version):")
            for (key, version), (note, case) in sorted(self.undecodable_examples.items()):
                lines.append(f"  {sp.api_name(key)} v{version}: {note} — request: {case.describe()}")
        if self.timeout_examples:
            lines.append("requests without an answer within the read timeout (first of each API version):")
            for (key, version), case in sorted(self.timeout_examples.items()):
                lines.append(f"  {sp.api_name(key)} v{version}: {case.describe()}")
        if self.slow_checks:
            lines.append("health checks that timed out once but recovered (a slow broker, not a stopped one):")
            lines.extend(f"  {line}" for line in self.slow_checks)
        if self.slowest:
            lines.append("slowest answers:")
            for seconds, case in self.slowest:
                lines.append(f"  {seconds:.1f} s: {case.describe()[:300]}")
        if self.failures:
            lines.append(f"FAILURES: {len(self.failures)} ({len(self.distinct)} distinct)")
            for failure in self.failures:
                lines.append(failure.summary())
        else:
            lines.append("no failures: the broker stayed up, answered a real client after every batch and stayed "
                         "under the memory bound")
        return "\n".join(lines)


def case_record(case: Case) -> str:
    return (f"#{case.index} api={case.api_key} ({case.api_name}) version={case.version} mode={case.mode} "
            f"outcome={case.outcome}{(' ' + case.answer_note) if case.answer_note else ''} bytes={len(case.data)}\n"
            f"  fields: {'; '.join(case.notes) if case.notes else 'plausible values'}\n"
            f"  hex: {case.data.hex()}\n")


def parse_case_records(path: Path) -> list:
    """The requests of a saved batch or reproducer file: [(header line, frame bytes)]."""
    result = []
    header = None
    for line in Path(path).read_text().splitlines():
        if line.startswith("#"):
            header = line
        elif line.strip().startswith("hex: ") and header:
            result.append((header, bytes.fromhex(line.strip()[5:])))
    return result


class Fuzzer:
    """One fuzzing session against a broker target."""

    def __init__(self, target: BrokerTarget, *, seed: int = 1, duration: float = 60.0, rss_limit_mb: int = 1024,
                 out_dir: Path = Path("fuzz-out"), connections: int = 12, batch_size: int = 200,
                 batch_seconds: float = 5.0, read_timeout: float = 5.0, big_fraction: float = 0.05,
                 spec_dir: Path = DEFAULT_SPEC_DIR, fresh_broker: Optional[Callable[[str], BrokerTarget]] = None,
                 restart: Optional[Callable[[], BrokerTarget]] = None, max_failures: int = 50,
                 triage_limit: int = 40, log: Callable[[str], None] = print, only_apis: Optional[set] = None,
                 skip_apis: Optional[set] = None, triage_seconds: float = 300.0, scenario_fraction: float = 0.04,
                 stall_retries: int = 2, pipeline_fraction: float = 0.002):
        self.target = target
        self.seed = seed
        self.duration = duration
        self.rss_limit_kib = rss_limit_mb * 1024
        self.out_dir = Path(out_dir)
        self.connections = connections
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.read_timeout = read_timeout
        self.big_fraction = big_fraction
        self.sp = specs(spec_dir)
        self.fresh_broker = fresh_broker
        self.restart = restart
        self.max_failures = max_failures
        self.triage_limit = triage_limit
        self.log = log
        self.only_apis = only_apis
        self.skip_apis = skip_apis or set()
        self.triage_seconds = triage_seconds
        self.stall_retries = stall_retries
        self.triage_count = 0
        self.report = Report()
        self.monitor = RssMonitor()
        self.ctx = Context()
        self.pairs: list = []
        self.request_index = 0
        self.correlation = 1000
        self.correlation_lock = threading.Lock()
        self.scenario_fraction = scenario_fraction
        self.pipeline_fraction = pipeline_fraction

    # ---- set-up ---------------------------------------------------------------------------------------------

    def prepare(self):
        versions = api_versions(self.target.bootstrap, self.sp)
        self.report.apis = versions
        self.pairs = [(key, v) for key, (low, high) in sorted(versions.items()) if key in self.sp.requests
                      for v in range(low, high + 1)
                      if v in self.sp.requests[key].valid and (not self.only_apis or key in self.only_apis
                                                               or self.sp.api_name(key) in self.only_apis)
                      and key not in self.skip_apis and self.sp.api_name(key) not in self.skip_apis]
        self.admin = make_admin(self.target.bootstrap)
        self.ctx.node_id = broker_node_id(self.target.bootstrap, self.sp)
        self.ctx.topics = ensure_topics(self.admin, self.target.bootstrap, self.sp)
        self.monitor.watch(self.target.pid)

    # ---- batches --------------------------------------------------------------------------------------------

    def make_batch(self, batch: int) -> list:
        rng = random.Random(f"{self.seed}:{batch}")
        generator = Generator(self.sp, self.ctx, rng)
        cases = []
        versions = {}
        for key, version in self.pairs:
            low, high = versions.get(key, (version, version))
            versions[key] = (min(low, version), max(high, version))

        def next_correlation() -> int:
            with self.correlation_lock:
                self.correlation = (self.correlation + 1) % (1 << 31)
                return self.correlation

        for i in range(self.batch_size):
            if rng.random() < self.scenario_fraction:
                allow_big = rng.random() < self.big_fraction
                kind = rng.choice(["group", "group", "producer"])

                def factory(kind=kind, index=self.request_index, allow_big=allow_big,
                            seed_text=f"{self.seed}:{batch}:scenario:{i}"):
                    # The scenario draws from its own random source: its answers decide how far it goes.
                    sub = Generator(self.sp, self.ctx, random.Random(seed_text))
                    make = sub.group_scenario if kind == "group" else sub.producer_scenario
                    return make(index, versions, next_correlation, allow_big)

                script = factory()
                if script is not None:
                    cases.append(Case(index=self.request_index, api_key=-1, api_name=f"{kind} scenario", version=0,
                                      data=b"", correlation_id=0, notes=[], mode="scenario", scenario=script,
                                      factory=factory))
                    self.request_index += 1
                    continue
            if rng.random() < self.pipeline_fraction:
                cases.append(self.pipeline(generator, rng, next_correlation))
                self.request_index += 1
                continue
            cycle, position = divmod(self.request_index, len(self.pairs))
            order = list(self.pairs)
            random.Random(f"{self.seed}:cycle:{cycle}").shuffle(order)
            api_key, version = order[position]
            allow_big = rng.random() < self.big_fraction
            case = generator.request(self.request_index, api_key, version, next_correlation(), allow_big)
            self.request_index += 1
            cases.append(case)
        return cases

    def pipeline(self, generator: Generator, rng: random.Random, next_correlation: Callable[[], int]) -> Case:
        """Many requests in one write: either answers awaited (the broker's limit of pending answers and its
        read back-pressure), or never read (a client that lets answers pile up, then hangs up)."""
        index = self.request_index
        if rng.random() < 0.7:
            n = rng.choice([33, 100, 500])
            parts = []
            for _ in range(n):
                api_key, version = rng.choice(self.pairs)
                parts.append(generator.request(index, api_key, version, next_correlation(), False))
            parts = [p for p in parts if p.expect_answer] or parts[:1]
            last = parts[-1]
            return Case(index=index, api_key=last.api_key, api_name=last.api_name, version=last.version,
                        data=b"".join(p.data for p in parts), correlation_id=last.correlation_id,
                        notes=[f"pipeline of {len(parts)} requests in one write, answers awaited; first: "
                               f"{parts[0].describe()[:200]}"], mode="pipeline", well_formed=False)
        # Requests with large answers for their size, sent without reading.
        choice = rng.choice(["DescribeConfigs", "Metadata", "ApiVersions", "DescribeLogDirs", "ListGroups"])
        key = self.sp.request(choice).api_key
        versions = [v for k, v in self.pairs if k == key]
        if not versions:
            key, versions = self.pairs[0][0], [self.pairs[0][1]]
            choice = self.sp.api_name(key)
        version = max(versions)
        topic = self.ctx.topics[0][0] if self.ctx.topics else "fuzz-a"
        values = {"DescribeConfigs": {"Resources": [{"ResourceType": 2, "ResourceName": topic,
                                                     "ConfigurationKeys": None}],
                                      "IncludeSynonyms": True, "IncludeDocumentation": True},
                  "Metadata": {"Topics": None, "AllowAutoTopicCreation": False},
                  "DescribeLogDirs": {"Topics": None}}.get(choice, {})
        one = encode_request(key, version, values, correlation_id=next_correlation())
        budget = rng.choice([1, 4, 16]) * MIB
        n = max(1, min(50_000, budget // len(one)))
        return Case(index=index, api_key=key, api_name=choice, version=version, data=one * n,
                    correlation_id=0, notes=[f"{n} copies of a {len(one)}-byte {choice} v{version} request in one "
                                             f"write, answers never read, then the connection closed"],
                    mode="unread", unread=True, well_formed=False)

    def send_batch(self, cases: list, connections: list):
        lock = threading.Lock()
        queue = list(reversed(cases))

        def worker(connection: Connection):
            while True:
                with lock:
                    if not queue:
                        return
                    case = queue.pop()
                if case.scenario is None:
                    self.exchange(case, connection)
                    continue
                script, reply = case.scenario, None
                try:
                    step = next(script)
                    while True:
                        step.parent = case
                        case.steps.append(step)
                        reply = self.exchange(step, connection)
                        step = script.send(reply)
                except StopIteration:
                    pass
                except Exception:
                    # A bug of the fuzzer, not of the broker: note it and go on with the batch.
                    import traceback
                    with lock:
                        with open(self.out_dir / "fuzzer-errors.txt", "a") as out:
                            out.write(f"scenario #{case.index}:\n{traceback.format_exc()}\n")

        threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in connections]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def exchange(self, case: Case, connection: Connection):
        case.started = time.monotonic()
        outcome, payload = connection.exchange(case)
        case.finished = time.monotonic()
        case.outcome = outcome
        if outcome == "answered" and case.well_formed and payload is not None and len(payload) < 4 * MIB:
            try:
                decode_response(self.sp, case.api_key, case.version, payload)
            except (DecodeError, struct.error, UnicodeDecodeError, KeyError, IndexError) as error:
                case.answer_note = f"undecodable answer: {error}"
        return outcome, payload

    def account(self, cases: list):
        for case in cases:
            stats = self.report.stats[(case.api_key, case.version)]
            stats.sent += 1
            if case.outcome == "answered":
                stats.answered += 1
                if case.elapsed > 1.0:
                    self.report.slowest.append((case.elapsed, case))
                    self.report.slowest.sort(key=lambda item: -item[0])
                    del self.report.slowest[10:]
                if case.answer_note:
                    stats.undecodable += 1
                    self.report.undecodable_examples.setdefault((case.api_key, case.version), (case.answer_note, case))
            elif case.outcome == "sent":
                stats.no_answer_expected += 1
            elif case.outcome == "timeout":
                stats.timeouts += 1
                self.report.timeout_examples.setdefault((case.api_key, case.version), case)
            else:
                stats.closed += 1
        self.report.requests += len(cases)

    def check(self, target: BrokerTarget) -> tuple[list, str]:
        """Failure kinds and a detail line; empty when the broker is healthy."""
        kinds, details = [], []
        time.sleep(0.05)
        wait_for_crash_report(target)
        if not target.alive():
            kinds.append("died")
            details.append(f"the broker process {target.exit_status()}")
            return kinds, "; ".join(details)
        error = client_lists_topics(self.admin)
        if error:
            wait_for_crash_report(target)
            recovered = None
            if target.alive():
                # Slow is not stopped: ask again, with new clients, before calling it a stall.
                started = time.monotonic()
                for _ in range(self.stall_retries):
                    self.admin = make_admin(target.bootstrap)
                    if client_lists_topics(self.admin) is None:
                        recovered = time.monotonic() - started
                        break
            if recovered is not None:
                self.report.slow_checks.append(
                    f"after batch {self.report.batches - 1}: list_topics failed ({error}), answered again "
                    f"{recovered + 10:.0f} s later")
            else:
                kinds.append("stopped-answering")
                details.append(f"AdminClient.list_topics failed: {error}" + (
                    f", and {self.stall_retries} more attempts of 10 s with new clients" if target.alive() else ""))
            if not target.alive():
                kinds.insert(0, "died")
                details.insert(0, f"the broker process {target.exit_status()}")
        peak = max(self.monitor.reset(), rss_kib(target.pid) or 0) if target.pid else 0
        self.report.peak_rss_kib = max(self.report.peak_rss_kib, peak)
        if peak > self.rss_limit_kib:
            kinds.append("rss")
            details.append(f"RSS peaked at {peak // 1024} MiB (bound {self.rss_limit_kib // 1024} MiB)")
        return kinds, "; ".join(details)

    # ---- failures -------------------------------------------------------------------------------------------

    def save_failure(self, kinds: list, detail: str, batch: int, cases: list) -> Failure:
        number = len(self.report.failures) + 1
        folder = self.out_dir / f"failure-{number}-batch-{batch}"
        folder.mkdir(parents=True, exist_ok=True)
        log = self.target.log_tail(200)
        message, location = crash_summary(log)
        # Requests the broker never answered, latest first: those in flight when it died or stalled lead.
        suspects = sorted([c for c in cases if c.outcome in ("closed", "timeout")], key=lambda c: -c.finished)
        if "rss" in kinds:
            suspects += sorted([c for c in cases if c not in suspects], key=lambda c: -len(c.data))[:20]
        failure = Failure(kinds=kinds, batch=batch, folder=folder, detail=detail, crash_message=message,
                          crash_location=location, log_tail=log, suspects=suspects)
        with open(folder / "requests.txt", "w") as out:
            out.write(f"# seed {self.seed}, batch {batch}: {detail}\n")
            for case in cases:
                out.write(case_record(case))
        (folder / "broker-log-tail.txt").write_text(log)
        return failure

    def replay(self, cases: list, name: str, single: bool = False) -> tuple[list, str, str, int]:
        """Sends `cases` in order over one connection to a fresh broker, then checks it like after a batch.
        Returns (failure kinds, broker log tail, answer of the last request, peak RSS KiB)."""
        self.triage_count += 1
        broker = self.fresh_broker(f"{name}-{self.triage_count}")
        try:
            admin = make_admin(broker.bootstrap)
            try:
                ensure_topics(admin, broker.bootstrap, self.sp)
            except Exception:
                pass
            connection = Connection(broker.bootstrap, self.read_timeout if single else 2.0)
            peak = 0
            status = "?"
            probe = Prober(broker.bootstrap)
            probe.start()
            for case in cases:
                if case.factory is not None:
                    script = case.factory()
                    try:
                        step = next(script)
                        while True:
                            status, payload = connection.exchange(step)
                            step = script.send((status, payload))
                    except StopIteration:
                        pass
                else:
                    copy = Case(**{**case.__dict__})
                    status, _ = connection.exchange(copy)
                if status == "connect-failed" or not broker.alive():
                    break
            connection.close()
            # A single request gets a second for its effects; a sequence longer, for group timers (session
            # expiry, rebalance timeouts) that act on what it left.
            deadline = time.monotonic() + (1.0 if single else 12.0)
            while time.monotonic() < deadline and broker.alive():
                peak = max(peak, rss_kib(broker.pid) or 0)
                time.sleep(0.05)
            probe.stop()
            kinds = []
            wait_for_crash_report(broker)
            if not broker.alive():
                kinds.append("died")
            else:
                error = client_lists_topics(admin)
                if error:
                    wait_for_crash_report(broker)
                    if broker.alive():
                        for _ in range(self.stall_retries):
                            if client_lists_topics(make_admin(broker.bootstrap)) is None:
                                error = None
                                break
                    if error:
                        kinds.append("died" if not broker.alive() else "stopped-answering")
                if not kinds and probe.longest_failure_run >= 3:
                    # It answers again now, but a real client got nothing for 30 s while the requests ran.
                    kinds.append("stopped-answering")
                peak = max(peak, rss_kib(broker.pid) or 0)
                if peak > self.rss_limit_kib:
                    kinds.append("rss")
            return kinds, broker.log_tail(200), status, peak
        finally:
            broker.stop()

    def triage(self, failure: Failure, cases: list, previous: list):
        cases = [c.parent if c.parent is not None else c for c in cases]
        previous = [c.parent if c.parent is not None else c for c in previous]
        failure.suspects = [c.parent if c.parent is not None else c for c in failure.suspects]
        self._triage(failure, cases, previous)

    def _triage(self, failure: Failure, cases: list, previous: list):
        """Names what causes a failure: first replays the suspects one per fresh broker; if none fails alone,
        replays the batch (with the one before it) in order and halves it while the failure stays."""
        if self.fresh_broker is None:
            return
        deadline = time.monotonic() + self.triage_seconds
        # Unanswered requests first, then the stateful scenarios (each replays its whole flow), then the rest.
        ordered = failure.suspects + [c for c in cases if c.factory is not None] + \
            [c for c in cases if c not in failure.suspects and c.mode != "plausible"]
        seen = set()
        candidates = []
        for case in ordered:
            if id(case) not in seen:
                seen.add(id(case))
                candidates.append(case)
        tried = 0

        def matches(kinds, log) -> bool:
            if not kinds:
                return False
            if failure.crash_message:
                message, location = crash_summary(log)
                return bool(message) and (location == failure.crash_location or not failure.crash_location)
            return True

        def found(chosen: list, kinds, log, status, peak, how: str):
            message, location = crash_summary(log)
            failure.reproducers = chosen
            failure.reproducer = chosen[-1]
            failure.reproducer_detail = (f"{how}: {', '.join(kinds)} (last answer: {status}, RSS {peak // 1024} MiB)")
            if message:
                failure.crash_message, failure.crash_location = message, location
            failure.log_tail = log
            with open(failure.folder / "reproducer.txt", "w") as out:
                out.write(f"# {how}: {', '.join(kinds)}; send these in order on one connection\n")
                for case in chosen:
                    if case.factory is not None:
                        out.write(f"# scenario #{case.index} (its steps depend on the broker's answers; as first sent:)\n")
                        for step in case.steps:
                            out.write(case_record(step))
                    else:
                        out.write(case_record(case))
            (failure.folder / "reproducer-broker-log-tail.txt").write_text(log)

        for case in candidates[: self.triage_limit]:
            if time.monotonic() > deadline:
                break
            tried += 1
            kinds, log, status, peak = self.replay([case], "triage", single=True)
            if matches(kinds, log):
                found([case], kinds, log, status, peak, "alone on a fresh broker")
                return
        # Not one request alone: the failure needs state that earlier requests built.
        sequence = []
        for case in sorted(previous + cases, key=lambda c: (c.index, c.started)):
            if not sequence or sequence[-1] is not case:
                sequence.append(case)
        if time.monotonic() < deadline:
            kinds, log, status, peak = self.replay(sequence, "sequence")
            if not matches(kinds, log):
                failure.reproducer_detail = (f"no single request of the {tried} replayed reproduces it, nor do the "
                                             f"{len(sequence)} requests of this batch and the one before in order")
                return
            current = sequence
            last = (kinds, log, status, peak)
            while len(current) > 1 and time.monotonic() < deadline:
                half = len(current) // 2
                for part in (current[:half], current[half:]):
                    result = self.replay(part, "bisect")
                    if matches(result[0], result[1]):
                        current, last = part, result
                        break
                else:
                    break
            if len(current) <= 12:
                i = 0
                while i < len(current) and len(current) > 1 and time.monotonic() < deadline:
                    part = current[:i] + current[i + 1:]
                    result = self.replay(part, "minimize")
                    if matches(result[0], result[1]):
                        current, last = part, result
                    else:
                        i += 1
            found(current, *last, how=f"these {len(current)} requests in order on a fresh broker" if len(current) > 1
                  else "alone on a fresh broker (found by bisecting the batch)")
            return
        failure.reproducer_detail = f"no single request of the {tried} replayed reproduces it alone"

    def signature(self, failure: Failure) -> str:
        if failure.crash_location or failure.crash_message:
            message = re.sub(r"0x[0-9a-f]+|\d{3,}", "N", failure.crash_message)
            return f"crash {failure.crash_location or message[:120]}"
        case = failure.reproducer
        if case is not None:
            fields = ",".join(sorted(n.split("=")[0] for n in case.notes))
            return f"{'+'.join(failure.kinds)} {case.api_name} {fields}"
        return f"{'+'.join(failure.kinds)} unreproduced"

    # ---- the loop -------------------------------------------------------------------------------------------

    def run(self) -> Report:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.monitor.start()
        self.prepare()
        self.log(f"fuzzing {self.target.bootstrap} (pid {self.target.pid}): {len(self.pairs)} API versions of "
                 f"{len({k for k, _ in self.pairs})} APIs, seed {self.seed}, {self.duration:.0f} s, "
                 f"{self.connections} connections, RSS bound {self.rss_limit_kib // 1024} MiB")
        start = time.monotonic()
        connections = [Connection(self.target.bootstrap, self.read_timeout) for _ in range(self.connections)]
        batch = 0
        last_progress = start
        previous: list = []
        latest: list = []
        try:
            while time.monotonic() - start < self.duration:
                cases = self.make_batch(batch)
                self.send_batch(cases, connections)
                cases = flatten(cases)
                self.account(cases)
                self.report.batches += 1
                previous, latest = latest, cases
                kinds, detail = self.check(self.target)
                now = time.monotonic()
                if now - last_progress > 30:
                    last_progress = now
                    self.log(f"  {now - start:.0f} s: {self.report.requests} requests, {self.report.batches} batches, "
                             f"{len(self.report.failures)} failures, RSS {self.monitor.last // 1024} MiB")
                if kinds:
                    failure = self.save_failure(kinds, detail, batch, cases)
                    self.log(f"FAILURE after batch {batch}: {detail}")
                    known = next((f for f in self.report.failures if f.crash_location and f.reproducer is not None
                                  and f.crash_location == failure.crash_location
                                  and f.crash_message == failure.crash_message), None)
                    if known is not None:
                        failure.reproducer_detail = f"same crash as failure in batch {known.batch}; not replayed"
                    else:
                        self.triage(failure, cases, previous)
                    failure.signature = self.signature(failure)
                    self.report.failures.append(failure)
                    if failure.signature not in self.report.distinct:
                        self.report.distinct.append(failure.signature)
                    self.log(failure.summary())
                    if self.restart is None or len(self.report.failures) >= self.max_failures:
                        break
                    for c in connections:
                        c.close()
                    self.target.stop()
                    self.target = self.restart()
                    self.admin = make_admin(self.target.bootstrap)
                    self.monitor.watch(self.target.pid)
                    connections = [Connection(self.target.bootstrap, self.read_timeout)
                                   for _ in range(self.connections)]
                    previous, latest = [], []
                    self.ctx.topics = ensure_topics(self.admin, self.target.bootstrap, self.sp)
                else:
                    if batch % 10 == 9:
                        try:
                            self.ctx.topics = ensure_topics(self.admin, self.target.bootstrap, self.sp)
                        except Exception:
                            pass
                batch += 1
        except KeyboardInterrupt:
            self.log("interrupted; reporting what ran so far")
        finally:
            for c in connections:
                c.close()
            self.monitor.stopping.set()
            self.report.seconds = time.monotonic() - start
        return self.report


def flatten(cases: list) -> list:
    """The requests of a batch, with each scenario replaced by the steps it sent."""
    result = []
    for case in cases:
        if case.scenario is not None:
            result.extend(case.steps)
        else:
            result.append(case)
    return result


def run_fuzz(target: BrokerTarget, **options) -> Report:
    """Runs one session (see Fuzzer for the options) and returns its report."""
    return Fuzzer(target, **options).run()


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def replay(bootstrap: str, path: Path, index: Optional[int], timeout: float, pid: Optional[int]):
    records = parse_case_records(path)
    for position, (header, data) in enumerate(records):
        if index is not None and f"#{index} " not in header + " ":
            continue
        status, payload = send_frame(bootstrap, data, timeout=timeout)
        alive = "" if pid is None else (" (broker alive)" if pid_alive(pid) else " (BROKER GONE)")
        print(f"{header.split(' outcome=')[0]} -> {status}{alive}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--binary", type=Path, help="start `vltava serve` from this binary (restarted after each failure)")
    where.add_argument("--bootstrap", help="HOST:PORT of a running broker (loopback only)")
    parser.add_argument("--pid", type=int, help="pid of the running broker (liveness and RSS checks)")
    parser.add_argument("--log", type=Path, help="the running broker's log file (for crash messages)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rss-limit-mb", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"))
    parser.add_argument("--connections", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--read-timeout", type=float, default=5.0)
    parser.add_argument("--api", action="append", help="only this API (name or key); repeatable")
    parser.add_argument("--skip-api", action="append", help="not this API (name or key); repeatable")
    parser.add_argument("--stop-on-failure", action="store_true", help="with --binary: stop at the first failure")
    parser.add_argument("--scenario-fraction", type=float, default=0.04,
                        help="share of batch slots that run a stateful scenario (group member, idempotent producer)")
    parser.add_argument("--no-triage", action="store_true", help="do not replay suspects on fresh brokers")
    parser.add_argument("--triage-seconds", type=float, default=300.0,
                        help="time budget for naming the request(s) behind each failure (default 300)")
    parser.add_argument("--replay", type=Path, help="send the requests of a saved file to --bootstrap and stop")
    parser.add_argument("--index", type=int, help="with --replay: only request #N")
    parser.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC_DIR)
    args = parser.parse_args(argv)

    if args.bootstrap and not args.bootstrap.startswith(("127.", "localhost:", "[::1]")):
        parser.error("the fuzzer only talks to the loopback interface")
    if args.replay:
        if not args.bootstrap:
            parser.error("--replay needs --bootstrap")
        replay(args.bootstrap, args.replay, args.index, args.read_timeout, args.pid)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)      # so that the brokers this run started are stopped
    only = None
    if args.api:
        only = {int(a) if a.isdigit() else a for a in args.api}
    skip = {int(a) if a.isdigit() else a for a in args.skip_api or []}
    owned: list = []
    restart = None
    fresh_broker = None
    if args.binary:
        workdir = Path(tempfile.mkdtemp(prefix="vltava-fuzz-", dir=args.out))
        counter = [0]

        def fresh(name: str) -> BrokerTarget:
            broker = ManagedBroker(args.binary, workdir, name=name).start()
            owned.append(broker)
            return broker

        def restart_broker() -> BrokerTarget:
            counter[0] += 1
            return fresh(f"broker-{counter[0]}")

        fresh_broker = fresh
        target = fresh("broker-0")
        restart = None if args.stop_on_failure else restart_broker
    else:
        target = BrokerTarget(args.bootstrap, pid=args.pid, log_path=args.log)
    try:
        fuzzer = Fuzzer(target, seed=args.seed, duration=args.duration, rss_limit_mb=args.rss_limit_mb,
                        out_dir=args.out, connections=args.connections, batch_size=args.batch_size,
                        read_timeout=args.read_timeout, spec_dir=args.spec_dir,
                        fresh_broker=None if args.no_triage else fresh_broker,
                        restart=restart, only_apis=only, skip_apis=skip, triage_seconds=args.triage_seconds,
                        scenario_fraction=args.scenario_fraction)
        report = fuzzer.run()
    finally:
        for broker in owned:
            broker.stop()
    text = report.text(fuzzer.sp)
    print(text)
    (args.out / "report.txt").write_text(text + "\n")
    if args.binary:
        print(f"broker logs and data in {workdir}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
