#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""interop_peer.py - the Python side of test_interop.

Uses only multiprocessing.connection (Listener / Client), so whatever
Python runs it speaks that version's protocol: Python <= 3.11 the legacy
HMAC-MD5 handshake, Python >= 3.12 the "{sha256}" one.

    interop_peer.py version
    interop_peer.py listen tcp|unix KEY      prints "ADDRESS <mproc address>", accepts one client
    interop_peer.py connect ADDRESS KEY      ADDRESS in mproc's form (tcp://host:port, unix:/path)

KEY: "none" (no handshake), "empty" (b''), or hex bytes.

The exchange, after the handshake (the C side mirrors it):
  1. Python sends b'', a greeting and 10 MiB; the peer echoes each; Python
     checks every echo; then sends b'py-done'.
  2. The peer sends its messages; Python echoes each until b'c-done'.
  3. Python sends b'bye'.
Exit status: 0 done, 3 AuthenticationError (prints AUTH_FAILED), 4 a wrong
echo, 2 usage.
"""
import os
import sys
import tempfile
from multiprocessing.connection import AuthenticationError, Client, Listener

BIG = 10 * 1024 * 1024


def big_message(seed):
    block = bytes((i * 131 + seed) & 0xFF for i in range(4096))
    return (block * (BIG // len(block) + 1))[:BIG]


def parse_key(text):
    if text == "none":
        return None
    if text == "empty":
        return b""
    return bytes.fromhex(text)


def parse_address(text):
    if text.startswith("tcp://"):
        host, _, port = text[len("tcp://"):].rpartition(":")
        return (host.strip("[]"), int(port))
    if text.startswith("unix:"):
        return text[len("unix:"):]
    raise SystemExit(2)


def exchange(conn):
    for msg in (b"", b"hello from Python %d.%d" % sys.version_info[:2], big_message(7)):
        conn.send_bytes(msg)
        if conn.recv_bytes() != msg:
            print("BAD_ECHO", flush=True)
            return 4
    conn.send_bytes(b"py-done")
    while True:
        msg = conn.recv_bytes()
        if msg == b"c-done":
            break
        conn.send_bytes(msg)
    conn.send_bytes(b"bye")
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "version":
        print("%d.%d" % sys.version_info[:2])
        return 0
    if len(argv) != 4 or argv[1] not in ("listen", "connect"):
        return 2
    key = parse_key(argv[3])
    try:
        if argv[1] == "listen":
            if argv[2] == "tcp":
                listener = Listener(("127.0.0.1", 0), authkey=key)
                host, port = listener.address
                printable = "tcp://%s:%d" % (host, port)
            else:
                path = os.path.join(tempfile.mkdtemp(prefix="mproc-interop-"), "sock")
                listener = Listener(path, family="AF_UNIX", authkey=key)
                printable = "unix:" + path
            print("ADDRESS " + printable, flush=True)
            with listener:
                with listener.accept() as conn:
                    return exchange(conn)
        with Client(parse_address(argv[2]), authkey=key) as conn:
            return exchange(conn)
    except AuthenticationError as e:
        print("AUTH_FAILED %s" % e, flush=True)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
