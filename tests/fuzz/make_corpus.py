#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_replay: small valid logs (flag byte 0,
default superblock), taken from the reference's golden images, plus a few
that use the repair/reseal flags. Run from anywhere; rewrites corpus/."""
import gzip
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "..", "..", "shared", "golden", "upstream-omf-2.2")
HEADER, ENTRY = 48, 544


def golden_log(case, entries):
    with gzip.open(os.path.join(GOLDEN, case, "log.bin.gz")) as f:
        return f.read(HEADER + entries * ENTRY)


def golden_superblock(case):
    with gzip.open(os.path.join(GOLDEN, case, "superblock.bin.gz")) as f:
        return f.read(200)


def entry(index, etype, payload):
    body = struct.pack("<QII", index, etype, 0) + payload
    body = body.ljust(536, b"\0")
    return body + struct.pack("<Q", zlib.crc32(body))


def header(next_index):
    last = ((8 << 20) - HEADER) // ENTRY - 1
    head = struct.pack("<QQQ", 0x00000BADCAFEF00D, 8 << 20, last)
    return head + struct.pack("<QQQ", zlib.crc32(head), next_index, next_index)


def mkdir(index, path, mode=0o755):
    return entry(index, 1, struct.pack("<III", 0, 0, mode) + path.encode().ljust(80, b"\0"))


def file(index, path, size, extents):
    meta = struct.pack("<QIIII", size, 2, 0, 0, 0o644) + path.encode().ljust(80, b"\0")
    meta += struct.pack("<IIII", 0, 0, len(extents), 0)
    for off, length in extents:
        meta += struct.pack("<QQQ", 0, off, length)
    return entry(index, 0, meta)


def striped(index, path, size, chunk, strips):
    meta = struct.pack("<QIIII", size, 2, 0, 0, 0o644) + path.encode().ljust(80, b"\0")
    meta += struct.pack("<IIII", 1, 0, 1, 0) + struct.pack("<QQ", len(strips), chunk)
    for off, length in strips:
        meta += struct.pack("<QQQ", 0, off, length)
    return entry(index, 0, meta)


def superblock(alloc_unit, dev_size=8 << 30):
    """A valid superblock (magic, version 48, CRC) with this allocation unit."""
    sb = struct.pack("<QQQQQII", 0x87B282FF, 48, 2 << 20, 8 << 20, alloc_unit, 2, 2)
    sb += bytes(48)  # fs, device and system UUIDs
    sb += struct.pack("<Q", zlib.crc32(sb))
    sb += struct.pack("<IIQ", 0, 0, dev_size)  # flags, padding, device size
    sb += bytes(16) + b"/dev/dax0.0".ljust(64, b"\0")
    return sb


MIB = 1 << 20
GIB = 1 << 30
U64 = (1 << 64) - 1
STRIPS = [(1 * GIB, 32 * MIB), (2 * GIB, 32 * MIB)]
seeds = {
    "g1-empty": b"\0" + golden_log("g1-empty", 0),
    "g2-mixed": b"\0" + golden_log("g2-mixed", 8),
    "g3-first-12-own-sb": b"\1" + golden_superblock("g3-many") + golden_log("g3-many", 12),
    "crosslink": b"\0" + header(3) + mkdir(0, "d") + file(1, "d/a", 5 * MIB, [(10 * MIB, 6 * MIB)])
    + file(2, "d/b", 1, [(12 * MIB, 2 * MIB)]),
    "striped": b"\0" + header(1) + striped(0, "s", 64 * MIB, 2 * MIB,
                                            [(2 << 30, 16 * MIB), (4 << 30, 16 * MIB),
                                             (6 << 30, 16 * MIB), (10 * MIB, 16 * MIB)]),
    "bad-paths-resealed": bytes([6]) + header(4) + mkdir(0, "a/../b") + file(1, "/abs", 1, [(10 * MIB, 2 * MIB)])
    + file(2, "x" * 79, 1, [(0, 2 * MIB)]) + mkdir(3, "a//b"),
    "corrupt-second-entry": b"\x08" + header(3) + mkdir(0, "d") + mkdir(1, "e")[:-1] + b"\x01" + mkdir(2, "f"),
}
# Striped geometry that must be refused (issue 16): the chunk size, strip
# count and strip lengths are where the fuzzer mutates.
geometry = {
    "chunk-2pow63": (64 * MIB, 1 << 63, STRIPS),
    "chunk-2pow64-2m": (64 * MIB, U64 - 2 * MIB + 1, STRIPS),
    "chunk-zero": (64 * MIB, 0, STRIPS),
    "chunk-unaligned": (64 * MIB, 3 * MIB, STRIPS),
    "size-2pow64-1": (U64, 2 * MIB, STRIPS),
    "strips-too-short": (64 * MIB + 1, 2 * MIB, STRIPS),
    "strip-past-device": (64 * MIB, 2 * MIB, [(1 * GIB, 32 * MIB), (8 * GIB - 2 * MIB, 32 * MIB)]),
    "strip-length-wraps": (64 * MIB, 2 * MIB, [(1 * GIB, 32 * MIB), (2 * GIB, U64 - 2 * MIB + 1)]),
}
for name, (size, chunk, strips) in geometry.items():
    seeds["striped-" + name] = bytes([4]) + header(2) + striped(0, "bad", size, chunk, strips) \
        + striped(1, "ok", 64 * MIB, 2 * MIB, [(3 * GIB, 32 * MIB), (4 * GIB, 32 * MIB)])
# Entries whose 16 extents each cover the whole device, on 4 KiB units
# (own superblock): every one collides with every other.
WHOLE = [(10 * MIB, 8 * GIB - 10 * MIB)] * 16
seeds["collide-whole-device-4k"] = bytes([1]) + superblock(4096) + header(4) + b"".join(
    file(i, "w%d" % i, 8 * GIB - 10 * MIB, WHOLE) for i in range(4))
# The same logs, then written to by our own writer (flag bits 4 and 5).
seeds["g2-mixed-then-write"] = bytes([16]) + seeds["g2-mixed"][1:]
seeds["crosslink-then-write-striped"] = bytes([48]) + seeds["crosslink"][1:]
os.makedirs(os.path.join(HERE, "corpus"), exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(HERE, "corpus", name), "wb") as f:
        f.write(data)
