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
