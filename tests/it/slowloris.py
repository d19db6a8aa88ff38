#!/usr/bin/env python3
"""A bounded slowloris, for tests/it/slowloris.sh and bench/slowloris.

slowloris.py PORT N SECONDS [STATS-FILE]: open N connections to
127.0.0.1:PORT, each starting a request and dripping one byte of it a
second, for SECONDS; a connection the server closes is opened again at its
next tick (as an attacker would).  Stops by itself, closes everything, and
writes "opened N reconnects R" to STATS-FILE (or stdout).
"""
import errno
import socket
import sys
import time

port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
out = sys.argv[4] if len(sys.argv) > 4 else None
HEAD = b"POST /v1/evidence HTTP/1.1\r\nHost: x\r\n"
DRIP = b"X-Slow: " + b"a" * 4000 + b"\r\n"


def dial():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return [s, 0]


conns = [dial() for _ in range(n)]
opened, reconnects = n, 0
start = time.time()
tick = 0
while time.time() - start < secs:
    tick += 1
    for c in conns:
        s, sent = c
        try:
            if sent == 0:
                s.send(HEAD)
            else:
                s.send(DRIP[(sent - 1) % len(DRIP):][:1])
            c[1] = sent + 1
            # A closed connection shows as readable with b"" (or a reset).
            try:
                if s.recv(4096) == b"":
                    raise ConnectionResetError()
            except BlockingIOError:
                pass
        except (BlockingIOError, InterruptedError):
            pass	# still connecting, or the kernel's buffer is full
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.ECONNRESET,
                               errno.ENOTCONN, errno.ECONNREFUSED, None):
                pass
            s.close()
            c[0], c[1] = dial()[0], 0
            reconnects += 1
    # One byte a second per connection.
    next_at = start + tick
    while time.time() < next_at and time.time() - start < secs:
        time.sleep(min(0.05, max(0, next_at - time.time())))
for s, _ in conns:
    s.close()
line = "opened %d reconnects %d\n" % (opened, reconnects)
if out:
    open(out, "w").write(line)
else:
    sys.stdout.write(line)
