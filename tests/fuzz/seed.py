#!/usr/bin/env python3
"""Seed the fuzz corpora from the recorded conversations: whole client and
host streams for the RPC target, bare KMS messages for the KMS target, and
the sample configuration for the config target."""
import os
import struct
import sys

vectors, out = sys.argv[1], sys.argv[2]


def pdus(data):
    while len(data) >= 16:
        n = struct.unpack_from("<H", data, 8)[0]
        if n < 16:
            return
        yield data[:n]
        data = data[n:]


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for name in sorted(os.listdir(vectors)):
    if not name.endswith(".bin"):
        continue
    with open(os.path.join(vectors, name), "rb") as f:
        data = f.read()
    put("fuzz_rpc", name, data)
    for i, pdu in enumerate(pdus(data)):
        if pdu[2] in (0, 2) and len(pdu) > 40:
            stub = pdu[24:]
            # NDR32 request: length at 0; response: length at 0, message at 12
            length = struct.unpack_from("<I", stub, 0)[0]
            start = 8 if pdu[2] == 0 else 12
            if 0 < length <= len(stub) - start:
                put("fuzz_kms", f"{name}.{i}", stub[start:start + length])
# crafted streams for the RPC target: a request in fragments, binds the
# host refuses with a bind_nak, small negotiated sizes, orphan and cancel
with open(os.path.join(vectors, "vlmcsd-win10-ent-v6-ndr32.c2s.bin"), "rb") as f:
    bind_pdu, request_pdu = list(pdus(f.read()))[:2]


def with_flags(pdu, flags, call_id=None, stub=None):
    p = bytearray(pdu[:24] + (pdu[24:] if stub is None else stub))
    p[3] = flags
    struct.pack_into("<H", p, 8, len(p))
    if call_id is not None:
        struct.pack_into("<I", p, 12, call_id)
    return bytes(p)


stub = request_pdu[24:]
fragments = b"".join(with_flags(request_pdu, f, 9, part) for f, part in
                     ((1, stub[:40]), (0, stub[40:100]), (2, stub[100:])))
put("fuzz_rpc", "fragmented", bind_pdu + fragments)
small = bytearray(bind_pdu)
struct.pack_into("<HH", small, 16, 100, 0)
put("fuzz_rpc", "small-frags", bytes(small) + request_pdu)
for name, i, value in (("version", 0, 4), ("minor", 1, 1), ("big-endian", 4, 0), ("ebcdic", 4, 0x11)):
    b = bytearray(bind_pdu)
    b[i] = value
    if name == "big-endian":
        struct.pack_into(">H", b, 8, len(b))
    put("fuzz_rpc", f"nak-{name}", bytes(b))
b = bytearray(bind_pdu)
struct.pack_into("<H", b, 10, 8)
put("fuzz_rpc", "nak-auth", bytes(b))
orphan = bytes([5, 0, 19, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0])
cancel = bytes([5, 0, 18, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0])
put("fuzz_rpc", "orphan-cancel", bind_pdu + with_flags(request_pdu, 1, 9, stub[:40]) + orphan + cancel +
    request_pdu + bind_pdu)

conf = os.path.join(os.path.dirname(__file__), "../../contrib/kmsd.conf")
if os.path.exists(conf):
    with open(conf, "rb") as f:
        put("fuzz_config", "kmsd.conf", f.read())
# query strings the clients API and page accept, and some they refuse
for i, q in enumerate([
        "product=office2013&since=7d&search=pc&sort=workstation&limit=20&page=2",
        "product=58e2134f-8e11-4d17-9cb2-91069c151148&since=2026-11-01T00:00:00Z&offset=40",
        "product=Server 2008&limit=0&sort=x&since=2026-13-40",
        "minutes=1440&q=<script>&limit=1000",
]):
    put("fuzz_http", f"query{i}", q.encode())
