#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""udp.py - the UDP echo of the end-to-end world, and its client.

  udp.py serve PORT                    echo every datagram on PORT, v4 and v6
  udp.py check HOST PORT SIZE TIMEOUT  send a unique SIZE-byte payload, exit 0
                                       if exactly it comes back in time
  udp.py again HOST PORT GOFILE WAIT   two exchanges on one socket (a flow
                                       the NAT assures), print its port, then
                                       once GOFILE exists (WAIT s at most) a
                                       third; exit 0 if each was answered
"""
import os
import select
import socket
import sys
import time


def serve(port):
    socks = []
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, port))
        socks.append(s)
    print(f"udp echo on port {port}", flush=True)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)
            print(f"echoed {len(data)} bytes to {peer[0]}:{peer[1]}",
                  flush=True)


def payload(size):
    tag = f"tungate-{os.getpid()}-{os.urandom(8).hex()}|".encode()
    body = (tag * (size // len(tag) + 1))[:size]
    return body


def check(host, port, size, timeout):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect((host, port))
    sent = payload(size)
    s.send(sent)
    try:
        got = s.recv(65535)
    except socket.timeout:
        print(f"udp echo {host}:{port}: no answer to {size} bytes "
              f"within {timeout} s", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"udp echo {host}:{port}: {e}", file=sys.stderr)
        return 1
    if got != sent:
        print(f"udp echo {host}:{port}: sent {len(sent)} bytes, got "
              f"{len(got)} different ones", file=sys.stderr)
        return 1
    print(f"udp echo {host}:{port}: {size} bytes came back")
    return 0


def exchange(s, what):
    sent = payload(32)
    s.send(sent)
    try:
        got = s.recv(65535)
    except (socket.timeout, OSError) as e:
        print(f"udp again: {what}: no answer ({e})", file=sys.stderr)
        return False
    if got != sent:
        print(f"udp again: {what}: a different answer", file=sys.stderr)
        return False
    return True


def again(host, port, gofile, wait):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((host, port))
    if not exchange(s, "first") or not exchange(s, "second"):
        return 1
    print(f"port {s.getsockname()[1]}", flush=True)
    deadline = time.monotonic() + wait
    while not os.path.exists(gofile):
        if time.monotonic() > deadline:
            print(f"udp again: no {gofile} within {wait} s", file=sys.stderr)
            return 1
        time.sleep(0.2)
    if not exchange(s, "third"):
        return 1
    print("third answered", flush=True)
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "serve":
        serve(int(argv[2]))
        return 0
    if len(argv) == 6 and argv[1] == "check":
        return check(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    if len(argv) == 6 and argv[1] == "again":
        return again(argv[2], int(argv[3]), argv[4], float(argv[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
