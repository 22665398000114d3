#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dnstcp.py - DNS-over-TCP clients that ask and never read (dnstcp.t.sh).

  dnstcp.py hold SERVER NAME CONNS SECONDS

Opens CONNS connections to SERVER port 53 at once, each with a 2 KiB
receive buffer, and pipelines TXT queries for NAME on every one of them for
SECONDS, never reading an answer: as much as each socket takes, a round
every 50 ms, at most 4096 queries per connection. Prints one line:
"N connected, N queries sent, N closed by the server". Bounded in time
(SECONDS, plus 10 s to connect) and in queries.
"""
import errno
import select
import socket
import struct
import sys
import time

MAX_QUERIES = 4096


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.strip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 16, 1)  # TXT IN
    return struct.pack("!H", len(q)) + q


def hold(server, name, conns, seconds):
    socks, sent, closed = [], {}, 0
    # all connects at once, non-blocking: 10 s for them all
    opening = []
    for _ in range(conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.setblocking(False)
        if s.connect_ex((server, 53)) not in (0, errno.EINPROGRESS):
            s.close()
            continue
        opening.append(s)
    end_connect = time.monotonic() + 10
    while opening and time.monotonic() < end_connect:
        _, ready, _ = select.select([], opening, [], 0.2)
        for s in ready:
            opening.remove(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                s.close()
                continue
            socks.append(s)
            sent[s] = 0
    for s in opening:
        s.close()
    connected = len(socks)
    total = 0
    pending = {s: b"" for s in socks}
    end = time.monotonic() + seconds
    while time.monotonic() < end and socks:
        for s in list(socks):
            try:
                while sent[s] < MAX_QUERIES or pending[s]:
                    if not pending[s]:
                        sent[s] += 1
                        total += 1
                        pending[s] = query(sent[s] & 0xFFFF, name)
                    n = s.send(pending[s])
                    pending[s] = pending[s][n:]
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno not in (errno.ECONNRESET, errno.EPIPE):
                    raise
                closed += 1
                socks.remove(s)
                s.close()
        time.sleep(0.05)
    print(f"{connected} connected, {total} queries sent, "
          f"{closed} closed by the server", flush=True)
    for s in socks:
        s.close()


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "hold":
        sys.exit(__doc__)
    hold(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
