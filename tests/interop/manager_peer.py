# SPDX-License-Identifier: MIT
"""manager_peer.py ADDRESS KEYHEX - a Manager client in Python, written
from docs/manager.md alone: multiprocessing.connection for the framing and
the handshake, a few lines of msgpack by hand. It makes a dict and a list,
fills them, checks the replies and error codes, and prints the dict's id
for the C side to read back. Exit 0 on success."""
import struct
import sys
from multiprocessing.connection import Client


def pack(v):
    if v is None:
        return b"\xc0"
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return struct.pack(">Bq", 0xD3, v)
    if isinstance(v, float):
        return struct.pack(">Bd", 0xCB, v)
    if isinstance(v, str):
        b = v.encode()
        return struct.pack(">BI", 0xDB, len(b)) + b
    if isinstance(v, bytes):
        return struct.pack(">BI", 0xC6, len(v)) + v
    if isinstance(v, list):
        return struct.pack(">BI", 0xDD, len(v)) + b"".join(pack(x) for x in v)
    raise TypeError(v)


def unpack(b, i=0):
    t = b[i]
    if t <= 0x7F:
        return t, i + 1
    if t >= 0xE0:
        return t - 0x100, i + 1
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[i + 1:i + 1 + n].decode(), i + 1 + n
    if 0x90 <= t <= 0x9F:
        out, i = [], i + 1
        for _ in range(t & 0x0F):
            x, i = unpack(b, i)
            out.append(x)
        return out, i
    fixed = {0xC0: (None, 0), 0xC2: (False, 0), 0xC3: (True, 0)}
    if t in fixed:
        return fixed[t][0], i + 1
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
            0xCB: ">d", 0xCA: ">f"}
    if t in ints:
        n = struct.calcsize(ints[t])
        return struct.unpack(ints[t], b[i + 1:i + 1 + n])[0], i + 1 + n
    lens = {0xD9: (">B", str), 0xDA: (">H", str), 0xDB: (">I", str), 0xC4: (">B", bytes), 0xC5: (">H", bytes),
            0xC6: (">I", bytes)}
    if t in lens:
        fmt, kind = lens[t]
        h = struct.calcsize(fmt)
        n = struct.unpack(fmt, b[i + 1:i + 1 + h])[0]
        raw = b[i + 1 + h:i + 1 + h + n]
        return (raw.decode() if kind is str else bytes(raw)), i + 1 + h + n
    if t in (0xDC, 0xDD):
        fmt = ">H" if t == 0xDC else ">I"
        h = struct.calcsize(fmt)
        n = struct.unpack(fmt, b[i + 1:i + 1 + h])[0]
        out, i = [], i + 1 + h
        for _ in range(n):
            x, i = unpack(b, i)
            out.append(x)
        return out, i
    raise ValueError("msgpack type 0x%02x" % t)


ENOENT, EINVAL = -19, -8


def main():
    address, key = sys.argv[1], bytes.fromhex(sys.argv[2])
    if address.startswith("unix:"):
        conn = Client(address[5:], family="AF_UNIX", authkey=key)
    else:
        host, port = address[len("tcp://"):].rsplit(":", 1)
        conn = Client((host, int(port)), authkey=key)

    def call(*req):
        conn.send_bytes(pack(list(req)))
        reply, _ = unpack(conn.recv_bytes())
        return reply

    assert call(0, 0, b"\x01" * 16, 4242) == [0, None]          # HELLO
    status, d = call(1, 0, 2)                                   # CREATE dict
    assert status == 0, status
    assert call(30, d, "lang", "python") == [0, None]           # d["lang"] = "python"
    assert call(30, d, 7, 2.5) == [0, None]                     # d[7] = 2.5
    assert call(31, d, "lang") == [0, "python"]
    assert call(31, d, 7) == [0, 2.5]
    assert call(31, d, "missing")[0] == ENOENT
    assert call(12, d, 0)[0] == EINVAL                          # a list op on a dict
    status, l = call(1, 0, 1, [1, "two", b"3"])                 # CREATE list [1, "two", b"3"]
    assert status == 0
    assert call(18, l, 0, 10) == [0, [1, "two", b"3"]]          # l[0:10]
    assert call(34, d) == [0, 2]                                # len(d)
    print(d)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
