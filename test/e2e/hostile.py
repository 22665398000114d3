#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile.py - floods and forged streams for the limits and faults tests.

  hostile.py stream KIND COUNT SEED
        speak the tungate stream to stdout as an inside would (magic,
        HELLO proto 2 role 2, READY), then COUNT PACKET frames, then close.
        KIND junk: 1..1500 random bytes whose IP version nibble is neither
        4 nor 6 (each one is malformed), then 7 frames of unknown type 0x40.
        KIND random: full-size (65535 bytes) random packets, the first byte
        random too. Prints "sent N packets, B bytes, U unknown" on stderr.
  hostile.py udpmany HOST PORT N SECS
        N UDP sockets at once, one datagram each to an echo (4000 a
        second); counts the echoes that come back within SECS after the
        last: "N sent, K answered"
  hostile.py tcpmany HOST PORT N SECS
        N TCP connections at once (non-blocking); after SECS prints
        "C connected, R reset, T timeout": a reset is a refusal
  hostile.py hold PORT
        accept TCP connections on PORT (v4), hold each until the client
        closes it
"""
import errno
import os
import random
import select
import selectors
import socket
import struct
import sys
import time

MAGIC = b"\0TUNGATE"
F_HELLO, F_PACKET, F_READY = 1, 3, 7


def frame(ftype, payload):
    return struct.pack(">BBH", ftype, 0, len(payload)) + payload


def stream(kind, count, seed):
    rng = random.Random(seed)
    out = sys.stdout.buffer
    out.write(MAGIC)
    # protocol 2: version text, NUL, session id; READY: session, flags
    out.write(frame(F_HELLO, struct.pack(">HB", 2, 2) + b"hostile\0" +
                    bytes(16)))
    out.write(frame(F_READY, bytes(17) + b"hostile ready"))
    sent = nbytes = unknown = 0
    pool = os.urandom(1 << 20)
    for i in range(count):
        if kind == "junk":
            n = rng.randint(1, 1500)
            v = rng.choice([0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15])
            body = bytes([v << 4 | rng.randrange(16)]) + rng.randbytes(n - 1)
        else:
            off = rng.randrange(len(pool) - 65535)
            body = pool[off:off + 65535]
        out.write(frame(F_PACKET, body))
        sent += 1
        nbytes += len(body)
    if kind == "junk":
        for i in range(7):
            out.write(frame(0x40, rng.randbytes(20)))
            unknown += 1
    out.flush()
    print(f"sent {sent} packets, {nbytes} bytes, {unknown} unknown",
          file=sys.stderr, flush=True)


def udpmany(host, port, n, secs):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for i in range(n):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect((host, port))
        socks.append(s)
    # paced, 4000 a second: a burst would overflow queues on the way (the
    # TUN's, the echo's socket) and test those instead of the outside
    for i, s in enumerate(socks):
        try:
            s.send(b"flow %d" % i)
        except OSError:
            pass
        if i % 100 == 99:
            time.sleep(0.025)
    answered = set()
    poll = select.poll()
    fds = {s.fileno(): (i, s) for i, s in enumerate(socks)}
    for fd in fds:
        poll.register(fd, select.POLLIN)
    deadline = time.monotonic() + secs
    while len(answered) < n and time.monotonic() < deadline:
        for fd, _ in poll.poll(200):
            i, s = fds[fd]
            try:
                if s.recv(100) == b"flow %d" % i:
                    answered.add(i)
            except OSError:
                pass
            poll.unregister(fd)
    print(f"{n} sent, {len(answered)} answered", flush=True)


def tcpmany(host, port, n, secs):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for i in range(n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((host, port))
        socks.append(s)
    poll = select.poll()
    fds = {s.fileno(): s for s in socks}
    for fd in fds:
        poll.register(fd, select.POLLOUT)
    conn = reset = 0
    left = n
    deadline = time.monotonic() + secs
    while left and time.monotonic() < deadline:
        for fd, _ in poll.poll(200):
            err = fds[fd].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0:
                conn += 1
            elif err in (errno.ECONNRESET, errno.ECONNREFUSED):
                reset += 1
            poll.unregister(fd)
            left -= 1
    print(f"{conn} connected, {reset} reset, {left} timeout", flush=True)
    # hold them a moment so that the outside counts them all at once
    time.sleep(1)
    for s in socks:
        s.close()


def hold(port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8192)
    ls.setblocking(False)
    print(f"listening on {port}", flush=True)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                try:
                    c, _ = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # the client is done: so are we
                sel.unregister(s)
                s.close()


def main(argv):
    cmd = argv[1]
    if cmd == "stream":
        stream(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "udpmany":
        udpmany(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif cmd == "tcpmany":
        tcpmany(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif cmd == "hold":
        hold(int(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
