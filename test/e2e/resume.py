#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""resume.py - a TCP client that holds one connection across an outage.

  resume.py hold HOST PORT DIR
      connect to a line echo (tcp.py lineecho), one round trip, then write
      DIR/up; wait (silent, up to 600 s) until DIR/go exists; then another
      round trip, its answer awaited up to 30 s
  resume.py block HOST PORT DIR SECS
      connect, one round trip, write DIR/up, then block in recv() for up
      to SECS seconds

Either way the outcome goes to DIR/result, one word and a detail:
"echoed" (the second round trip came back), "reset" (ECONNRESET or
EPIPE), "closed" (an orderly FIN), "timeout", "data" (block: bytes came),
"wrong" (other bytes came back) or "error" (anything else). The exit
status is 0 for "echoed" or "reset", 1 otherwise.
"""
import os
import socket
import sys
import time


def put(d, name, text):
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(d, name))


def round_trip(s, line, timeout):
    s.settimeout(timeout)
    s.sendall(line)
    got = b""
    while not got.endswith(b"\n"):
        chunk = s.recv(100)
        if not chunk:
            return "closed", f"FIN after {got!r}"
        got += chunk
    if got != line:
        return "wrong", repr(got)
    return "echoed", repr(got)


def outcome(fn):
    start = time.monotonic()
    try:
        word, detail = fn()
    except (ConnectionResetError, BrokenPipeError) as e:
        word, detail = "reset", str(e)
    except socket.timeout:
        word, detail = "timeout", ""
    except OSError as e:
        word, detail = "error", str(e)
    return f"{word} after {time.monotonic() - start:.1f} s: {detail}"


def main(argv):
    if len(argv) < 5 or argv[1] not in ("hold", "block"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, host, port, d = argv[1], argv[2], int(argv[3]), argv[4]
    s = socket.create_connection((host, port), timeout=30)
    first = outcome(lambda: round_trip(s, b"before\n", 30))
    if not first.startswith("echoed"):
        put(d, "result", "error on the first round trip: " + first)
        return 1
    put(d, "up", first)

    if mode == "hold":
        deadline = time.monotonic() + 600
        while not os.path.exists(os.path.join(d, "go")):
            if time.monotonic() > deadline:
                put(d, "result", "error: no go within 600 s")
                return 1
            time.sleep(0.1)
        res = outcome(lambda: round_trip(s, b"after the outage\n", 30))
    else:
        def block():
            s.settimeout(float(argv[5]))
            got = s.recv(100)
            if not got:
                return "closed", "FIN"
            return "data", repr(got)
        res = outcome(block)
    put(d, "result", res)
    return 0 if res.split()[0] in ("echoed", "reset") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
