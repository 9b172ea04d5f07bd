# SPDX-License-Identifier: MIT
"""sharelist_peer.py MODE [ARGS] - Python's own ShareableList against
mproc's (tests/test_sharelist.c runs it with each Python). The first line
it prints is "python X.Y", so the C side knows which Python answered.

  version        nothing more: prints "ok"
  check NAME     attach to the list mproc made from ITEMS: check every
                 item and the format, write WRITES, check that TOO_LONG
                 raise ValueError and change nothing; prints "ok"
  create         make a list from ITEMS, print its name, wait for a line
                 on stdin (mproc has checked it and written WRITES), check
                 AFTER and its format, unlink; prints "ok"
  hammer NAME SLOT COUNT
                 write item SLOT COUNT times (every type in turn), reading
                 each value back, while others write other items; ends
                 with "py-done"; prints "ok"

Attaching registers the segment with Python's resource tracker (3.11 and
3.13 alike: ShareableList has no track=False), which would unlink it when
this process exits: every attach is unregistered at once. Exit status 0
on success; what went wrong goes to stderr."""
import math
import struct
import sys
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList

# The same tables as test_sharelist.c's (keep them in step).
ITEMS = [
    -1, 2**63 - 1, -2**63, 1.5, -0.0, True, False, None,
    "", "1234567", "12345678", "123456789",
    b"", b"\x00\x01\xff", b"abcdefgh",
    "h\u00e9llo w\u00f6rld", "a\x00b", b"ab\x00\x00", "x" * 15, "y" * 16,
]
WRITES = [
    (0, "py"),                  # a str into an int's 8 bytes
    (1, b"12345678"),           # exactly 8 bytes there
    (2, 3.25),
    (3, None),
    (4, 7),
    (5, False),
    (6, True),
    (-13, -42),                 # item 7, a negative index
    (8, "abcdefgh"),            # the whole slot of ""
    (9, b""),                   # bytes into a str's slot
    (10, "0123456789abcdef"),   # the whole 16-byte slot
    (11, -3),                   # an int into a str's slot: its format is "q"
    (12, "\u00e9"),             # a str into a bytes slot
    (13, None),
    (15, b"\xff" * 16),
    (16, "\x00lead"),           # a leading NUL stays
    (17, b"z" + b"\x00" * 7),   # trailing NULs are lost
    (-1, True),                 # item 19
]
TOO_LONG = [(9, "123456789"), (0, b"123456789"), (19, "y" * 25), (12, "\u00e9" * 5)]


def slot(v):
    if isinstance(v, (str, bytes)):
        n = len(v.encode()) if isinstance(v, str) else len(v)
        return 8 * (n // 8 + 1)
    return 8


def fmt(v, size):
    if isinstance(v, bool):
        return "xxxxxxx?"
    if isinstance(v, int):
        return "q"
    if isinstance(v, float):
        return "d"
    if v is None:
        return "xxxxxx?x"
    return "%ds" % size


def read_back(v):
    return v.rstrip(b"\x00") if isinstance(v, bytes) else v.rstrip("\x00") if isinstance(v, str) else v


SLOTS = [slot(v) for v in ITEMS]
AFTER = list(ITEMS)
for i, v in WRITES:
    AFTER[i] = v
FORMAT = "".join(fmt(v, s) for v, s in zip(ITEMS, SLOTS))
FORMAT_AFTER = "".join(fmt(v, s) for v, s in zip(AFTER, SLOTS))


def same(a, b):
    """Equal with the type, and -0.0 apart from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("d", a) == struct.pack("d", b) or (math.isnan(a) and math.isnan(b))
    return a == b


def check(sl, want, want_format, what):
    got = list(sl)
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if not same(g, read_back(w))]
    if len(got) != len(want) or bad:
        sys.exit(f"{what}: items {bad} differ: got {got!r}, want {[read_back(w) for w in want]!r}")
    if sl.format != want_format:
        sys.exit(f"{what}: format {sl.format!r}, want {want_format!r}")


def attach(name):
    sl = ShareableList(name=name)
    resource_tracker.unregister(sl.shm._name, "shared_memory")
    return sl


def main():
    print("python %d.%d" % sys.version_info[:2], flush=True)
    mode = sys.argv[1]
    if mode == "version":
        pass
    elif mode == "check":
        sl = attach(sys.argv[2])
        check(sl, ITEMS, FORMAT, "made by mproc")
        if sl.count(1.5) != 1 or sl.index(None) != 7 or sl[-1] != "y" * 16 or len(sl) != len(ITEMS):
            sys.exit("count/index/negative index/len")
        for i, v in WRITES:
            sl[i] = v
        for i, v in TOO_LONG:
            try:
                sl[i] = v
            except ValueError:
                continue
            sys.exit(f"item {i} took {v!r}: no ValueError")
        check(sl, AFTER, FORMAT_AFTER, "after Python's writes")
        sl.shm.close()
    elif mode == "create":
        sl = ShareableList(ITEMS)
        print(sl.shm.name, flush=True)
        sys.stdin.readline()  # mproc checked it and wrote WRITES
        check(sl, AFTER, FORMAT_AFTER, "after mproc's writes")
        sl.shm.close()
        sl.shm.unlink()
    elif mode == "hammer":
        sl = attach(sys.argv[2])
        k, count = int(sys.argv[3]), int(sys.argv[4])
        for i in range(count):
            v = [i, f"py{k}:{i}", i % 2 == 0, i + 0.5, b"b%d" % i, None][i % 6]
            sl[k] = v
            if not same(sl[k], v):
                sys.exit(f"item {k}: wrote {v!r}, read {sl[k]!r}")
        sl[k] = "py-done"
        sl.shm.close()
    else:
        sys.exit(f"unknown mode {mode}")
    print("ok", flush=True)


main()
