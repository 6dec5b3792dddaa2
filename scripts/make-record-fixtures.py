#!/usr/bin/env python3
"""Writes the KafkaRecords test fixtures: v2 record batches built by kafka-python with each codec, and
payloads compressed by the Python bindings of the codec libraries. Run once in a venv with
`pip install kafka-python lz4 zstandard cramjam python-snappy`; the output is committed.

    python3 scripts/make-record-fixtures.py Tests/KafkaRecordsTests/Fixtures
"""
import gzip
import os
import sys
import zlib

import cramjam
import lz4.frame
import zstandard
from kafka.codec import snappy_encode
from kafka.record.default_records import DefaultRecordBatchBuilder

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/KafkaRecordsTests/Fixtures"
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


# The records every batch fixture holds; KafkaRecordsTests rebuilds the same list to compare.
# Record i: timestamp 1700000000000 + 7*i, key "key-i" (null when i % 4 == 0), value "value-i" repeated
# i+1 times (null when i % 5 == 3), headers [("trace", "t-i")] when i is odd plus ("empty", null) when i % 3 == 0.
def records():
    for i in range(20):
        key = None if i % 4 == 0 else b"key-%d" % i
        value = None if i % 5 == 3 else (b"value-%d" % i) * (i + 1)
        headers = []
        if i % 2 == 1:
            headers.append(("trace", b"t-%d" % i))
        if i % 3 == 0:
            headers.append(("empty", None))
        yield i, 1700000000000 + 7 * i, key, value, headers


codecs = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
for name, codec in codecs.items():
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=False,
        producer_id=4242, producer_epoch=3, base_sequence=17, batch_size=1 << 20)
    for offset, timestamp, key, value, headers in records():
        builder.append(offset, timestamp, key, value, headers)
    write("batch-%s.bin" % name, bytes(builder.build()))

payload = b"Vltava flows through Prague. " * 400 + bytes(range(256)) * 4
write("payload.bin", payload)
write("payload.gzip", gzip.compress(payload))
write("payload.zlib", zlib.compress(payload))
raw = zlib.compressobj(wbits=-15)
write("payload.deflate", raw.compress(payload) + raw.flush())
write("payload.snappy-xerial", snappy_encode(payload, xerial_compatible=True))
write("payload.snappy-raw", bytes(cramjam.snappy.compress_raw(payload)))
write("payload.lz4", lz4.frame.compress(payload))
write("payload.zstd", zstandard.ZstdCompressor(level=3).compress(payload))

# 100 MiB of zeros, gzip-compressed: a decompression bomb for the size cap.
bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
chunk = bytes(1 << 20)
write("bomb-100MiB-zeros.gzip", b"".join(bomb.compress(chunk) for _ in range(100)) + bomb.flush())
