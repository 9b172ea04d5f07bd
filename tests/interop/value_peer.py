#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""value_peer.py - the Python side of test_value_interop: objects (pickles)
between Python's multiprocessing.connection and mproc's value calls.

    value_peer.py version
    value_peer.py listen KEYHEX           prints "ADDRESS tcp://127.0.0.1:PORT", serves one client
    value_peer.py connect ADDRESS KEYHEX  drives an mproc listener that echoes

Serving (listen): each request is ("repr", obj) -> repr(obj), ("echo", obj)
-> transform(obj), "bye" -> "bye" and exit 0.

Driving (connect): sends every case with conn.send() (the default
protocol) and as pickle.dumps(case, p) for p in 2..5 with send_bytes; the
mproc peer answers transform(case), or "refused:<error name>" when it
refused the bytes. A pickle is expected to be refused exactly when it holds
an opcode that imports or calls; then the malicious pickles, each refused.
Exit status: 0 all as expected, 4 a wrong answer (printed), 2 usage.
"""
import pickle
import pickletools
import sys
from multiprocessing.connection import Client, Listener

CALLS = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX",
         "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"}


def transform(v):
    """What the mproc peer sends back for v (sets come back as lists)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, float):
        return v * 2
    if isinstance(v, str):
        return v + "!"
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)[::-1]
    if isinstance(v, list):
        return [transform(x) for x in reversed(v)]
    if isinstance(v, tuple):
        return tuple(transform(x) for x in v)
    if isinstance(v, dict):
        return {k: transform(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        return sorted(transform(x) for x in v)
    raise TypeError(type(v))


def nested(depth):
    v = 0
    for _ in range(depth):
        v = [v]
    return v


CASES = [
    None, True, False, 0, -1, 255, 256, 65535, 65536, -2**31, 2**31, 2**63 - 2, -2**63,
    1.5, -0.0, 1e300, "", "héllo ✓ \U0001F600", "x" * 100000, b"", b"\x00\x01\xff", b"y" * 70000,
    [], [1, [2, [3]]], list(range(3000)), (), (1,), (1, "a", None), (1, 2, 3, 4, 5),
    {}, {"k": [1, 2], 3: {"n": None}, (1, 2): b"x", 2.5: "f", None: 1, b"b": (True,)},
    {i: str(i) for i in range(1500)},
    {1, 2, 3}, frozenset({"a", "b"}), bytearray(b"ab"),
    nested(32),
]


def refused(data):
    """True when the pickle holds an opcode that imports or calls."""
    return any(op.name in CALLS for op, _, _ in pickletools.genops(data))


def check(conn, label, expect, bad):
    got = conn.recv()
    if isinstance(got, list) and isinstance(expect, list) and expect and got and \
            not isinstance(expect[0], (list, tuple, dict)) and expect == sorted(expect):
        got = sorted(got)  # a set's items come in its order
    if got != expect or type(got) is not type(expect):
        print("BAD %s: want %r, got %r" % (label, str(expect)[:200], str(got)[:200]), file=sys.stderr)
        bad.append(label)


def malicious():
    cycle = []
    cycle.append(cycle)
    laughs = b"\x80\x04\x8c\xc8" + b"x" * 200 + b"\x94"
    for i in range(25):
        laughs += b"h" + bytes([i]) + b"2\x86\x940"
    laughs += b"0h\x19."
    return [
        ("global os.system", b"cos\nsystem\n(S'echo hi'\ntR."),
        ("an instance", pickle.dumps(Exception("x"), 4)),
        ("stack_global", b"\x80\x04\x8c\x02os\x8c\x06system\x93."),
        ("build", b"\x80\x04}}b."),
        ("newobj", b"\x80\x04N)\x81."),
        ("ext1", b"\x80\x04\x82\x01."),
        ("persid", b"\x80\x04P1\n."),
        ("binpersid", b"\x80\x04NQ."),
        ("33 lists deep", pickle.dumps(nested(33), 4)),
        ("10000 lists deep", b"\x80\x04" + b"]" * 10000 + b"a" * 9999 + b"."),
        ("a cycle", pickle.dumps(cycle, 4)),
        ("2**63", pickle.dumps(2**63, 4)),
        ("-2**63 - 1", pickle.dumps(-2**63 - 1, 4)),
        ("10**100", pickle.dumps(10**100, 4)),
        ("BINBYTES8 2**60", b"\x80\x04\x8e" + (2**60).to_bytes(8, "little") + b"."),
        ("BINUNICODE 2**31", b"\x80\x04X" + (2**31).to_bytes(4, "little") + b"abc."),
        ("truncated", pickle.dumps([1, 2, 3], 4)[:-3]),
        ("billion laughs", laughs),
    ]


def drive(conn):
    bad = []
    for i, case in enumerate(CASES):
        conn.send(case)  # the default protocol (4): a bytearray is a call there
        expect = "refused:MPROC_EINVAL" if refused(pickle.dumps(case)) else transform(case)
        check(conn, "case %d (send)" % i, expect, bad)
        for proto in (2, 3, 4, 5):
            data = pickle.dumps(case, proto)
            conn.send_bytes(data)
            expect = "refused:MPROC_EINVAL" if refused(data) else transform(case)
            check(conn, "case %d protocol %d" % (i, proto), expect, bad)
    for label, data in malicious():
        conn.send_bytes(data)
        got = conn.recv()
        if not (isinstance(got, str) and got.startswith("refused:")):
            print("BAD malicious %s: got %r" % (label, str(got)[:200]), file=sys.stderr)
            bad.append(label)
    conn.send("bye")
    if conn.recv() != "bye":
        bad.append("bye")
    return 4 if bad else 0


def serve(conn):
    while True:
        req = conn.recv()
        if req == "bye":
            conn.send("bye")
            return 0
        what, obj = req
        conn.send(repr(obj) if what == "repr" else transform(obj))


def main(argv):
    if len(argv) >= 2 and argv[1] == "version":
        print("%d.%d" % sys.version_info[:2], flush=True)
        return 0
    if len(argv) == 3 and argv[1] == "listen":
        with Listener(("127.0.0.1", 0), authkey=bytes.fromhex(argv[2])) as lst:
            print("ADDRESS tcp://127.0.0.1:%d" % lst.address[1], flush=True)
            with lst.accept() as conn:
                return serve(conn)
    if len(argv) == 4 and argv[1] == "connect":
        host, _, port = argv[2][len("tcp://"):].rpartition(":")
        with Client((host, int(port)), authkey=bytes.fromhex(argv[3])) as conn:
            return drive(conn)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
