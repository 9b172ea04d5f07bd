#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make_corpus.py - writes the seed corpora of the fuzz targets into
tests/fuzz/corpus/<target>/ (checked in; rerun after changing this file)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def pack(v):
    """A small msgpack encoder: nil, bool, int, float, str, bytes, list."""
    if v is None:
        return b"\xc0"
    if v is True or v is False:
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, (bytes, bytearray)):
        return b"\xc4" + bytes([len(v)]) + bytes(v)
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(pack(x) for x in v)
    raise TypeError(v)


def frame(msg):
    return struct.pack(">i", len(msg)) + msg


def long_frame(msg):
    return struct.pack(">i", -1) + struct.pack(">Q", len(msg)) + msg


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    # frames: first byte = how to read (bit 0: recv_bytes_into)
    stream = frame(b"hello") + frame(b"") + long_frame(b"abc") + frame(b"x" * 100)
    write("frame", "messages", b"\x00" + stream)
    write("frame", "messages_into", b"\x01" + stream)
    write("frame", "truncated", b"\x00" + frame(b"hello")[:6])
    write("frame", "negative", b"\x00" + struct.pack(">i", -2) + b"zz")
    write("frame", "too_long", b"\x00" + struct.pack(">i", 1 << 30))

    # auth: first byte bit 0: we deliver (server), else we answer; bit 1: empty key
    write("auth", "answer_sha256", b"\x00" + frame(b"#CHALLENGE#{sha256}" + bytes(range(40))) + frame(b"#WELCOME#"))
    write("auth", "answer_legacy", b"\x00" + frame(b"#CHALLENGE#" + bytes(range(20))) + frame(b"#FAILURE#"))
    write("auth", "answer_md5", b"\x02" + frame(b"#CHALLENGE#{md5}" + bytes(range(40))) + frame(b"#WELCOME#"))
    write("auth", "deliver_sha256", b"\x01" + frame(b"{sha256}" + bytes(32)))
    write("auth", "deliver_md5", b"\x01" + frame(bytes(16)))
    write("auth", "deliver_long", b"\x01" + frame(b"{sha3_384}" + bytes(300)))

    # args: msgpack arrays as mproc_args_encode writes them
    write("args", "values", pack([1, -5, 2.5, "str", b"bytes", 1 << 40]))
    write("args", "empty", pack([]))
    write("args", "object", b"\x91\xc7\x1c\x10" + bytes(28))  # an object reference (ext)
    write("args", "nested", pack([[1, 2], None, True]))

    # manager: requests, each a 2-byte little-endian length and the request
    def reqs(*rs):
        out = b""
        for r in rs:
            b = pack(r)
            out += struct.pack("<H", len(b)) + b
        return out

    hello = [0, 0, bytes(16), 1234]
    write("manager", "dict", reqs(hello, [1, 0, 2], [30, 1, "k", 5], [31, 1, "k"], [33, 1, "k"],
                                  [36, 1], [32, 1, "k"], [31, 1, "k"], [34, 1]))
    write("manager", "list", reqs(hello, [1, 0, 1, [1, 2.5, "s"]], [10, 1, None], [11, 1, [3, 4]],
                                  [12, 1, -1], [13, 1, 0, b"b"], [14, 1, 1, 7], [15, 1, 0],
                                  [18, 1, 0, 3], [17, 1], [16, 1]))
    write("manager", "sync", reqs(hello, [1, 0, 4], [50, 1, 0.0, 1], [50, 1, 0.0, 2], [51, 1, 1],
                                  [1, 0, 6, 2, 1], [50, 2, 0.0, 1], [51, 2, 1], [51, 2, 1], [52, 2],
                                  [1, 0, 8], [60, 3], [62, 3], [61, 3], [63, 3, 0.0],
                                  [1, 0, 9, 2, -1.0], [75, 4], [72, 4], [73, 4], [71, 4]))
    write("manager", "queue", reqs(hello, [1, 0, 10, 2, 3], [80, 1, b"item", 0.0], [82, 1], [81, 1, 0.0],
                                   [85, 1], [86, 1, 0.0], [83, 1], [84, 1]))
    write("manager", "value", reqs(hello, [1, 0, 11, ord("i"), 7], [90, 1], [91, 1, 8],
                                   [1, 0, 12, ord("d"), 4, None], [93, 2, 1, 2.5], [92, 2, 1], [94, 2],
                                   [95, 2, 0, 4], [3, 2], [2, 0]))
    write("manager", "no_hello", reqs([1, 0, 2], [30, 1, "k", 5]))
    write("manager", "segments", reqs(hello, [100, 0, 64], [100, 0, 0], [100, 0, -1], [100, 0, "x"], [102, 0],
                                      [101, 0, "psm_none"], [101, 0, 3], [102, 0], [2, 0]))

    # value: first byte = codec (0 msgpack, 1 pickle, 2 AUTO); pickles as
    # this Python writes them (protocols 2 to 5), and refused ones
    import pickle
    sample = {"a": [1, -2, (3.5, None, True, False)], "big": -2**63, "u": "h\u00e9", "t4": (1, 2, 3, 4)}
    for proto in (2, 3, 4, 5):
        write("value", "pickle%d" % proto, b"\x01" + pickle.dumps(sample, proto))
    shared = [1]
    write("value", "pickle_shared", b"\x01" + pickle.dumps([shared, shared, {1, 2}, frozenset({3})], 4))
    write("value", "pickle_bytes", b"\x02" + pickle.dumps([b"x" * 300, "y" * 300, bytearray(b"z")], 5))
    write("value", "pickle_global", b"\x01" + pickle.dumps(OSError("x"), 4))
    write("value", "msgpack", b"\x00" + pack([1, -5, 2.5, "str", b"bytes", [None, True], 1 << 40]))
    write("value", "msgpack_map_tuple", b"\x00\x82\xa1k\xc7\x03\x01\x92\x01\x02\x01\x80")


if __name__ == "__main__":
    main()
