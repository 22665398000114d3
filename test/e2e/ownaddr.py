#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ownaddr.py - a service of the developer's machine, and probes of it.

  ownaddr.py serve TCPPORT UDPPORT [NAME]
                          on 0.0.0.0 and :: (every address, whatever
                          comes later): TCP says "hello-from-NAME" (NAME:
                          local) and closes, UDP answers each datagram
                          with it, from the address it was sent to (as
                          DNS servers do: a reply from the interface's
                          primary address would miss a connected socket)
  ownaddr.py tcp HOST PORT
  ownaddr.py udp HOST PORT [SPORT]
  ownaddr.py ping HOST    exit 0: the service (or the kernel, for ping)
                          answered; 1: refused (RST, or an ICMP error)
                          within 1 s; 2: nothing, or only after 1 s;
                          3 (udp): an answer from another service
"""
import select
import socket
import struct
import subprocess
import sys
import time

HELLO = b"hello-from-local"
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux's; Python may lack it


def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_answer(s, text):
    """answer one datagram from the address it was sent to"""
    v6 = s.family == socket.AF_INET6
    data, anc, _, peer = s.recvmsg(65535, 256)
    cmsg = []
    for level, typ, d in anc:
        if not v6 and (level, typ) == (socket.IPPROTO_IP, IP_PKTINFO):
            # in_pktinfo: ifindex, spec_dst, addr; reply from addr
            cmsg = [(level, typ, struct.pack("=i4s4s", 0, d[8:12], d[8:12]))]
        if v6 and (level, typ) == (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO):
            cmsg = [(level, typ, d[:16] + struct.pack("=i", 0))]
    s.sendmsg([text], cmsg, 0, peer)
    return peer


def serve(tport, uport, name):
    text = f"hello-from-{name}".encode()
    socks = []
    for f, a in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        t = socket.socket(f, socket.SOCK_STREAM)
        u = socket.socket(f, socket.SOCK_DGRAM)
        for s in (t, u):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if f == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if f == socket.AF_INET6:
            u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        else:
            u.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        t.bind((a, tport))
        t.listen(64)
        u.bind((a, uport))
        socks += [t, u]
    print(f"serving tcp {tport} udp {uport}", flush=True)
    while True:
        for s in select.select(socks, [], [])[0]:
            if s.type == socket.SOCK_STREAM:
                c, peer = s.accept()
                c.sendall(text + b"\n")
                c.close()
            else:
                peer = udp_answer(s, text)
            print(f"answered {peer[0]}", flush=True)


def verdict(t, e):
    dt = time.monotonic() - t
    print(f"{e.__class__.__name__} ({e.errno}) after {dt:.2f} s")
    return 1 if dt < 1.0 and not isinstance(e, TimeoutError) else 2


def tcp(host, port):
    s = socket.socket(fam(host), socket.SOCK_STREAM)
    s.settimeout(3)
    t = time.monotonic()
    try:
        s.connect((host, port))
        line = s.makefile("rb").readline()
    except OSError as e:
        return verdict(t, e)
    print(f"connected, read {line.strip()!r}")
    return 0 if line.startswith(HELLO) else 2


def udp(host, port, sport):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    s.bind(("::" if fam(host) == socket.AF_INET6 else "0.0.0.0", sport))
    s.settimeout(1.5)
    t = time.monotonic()
    try:
        s.connect((host, port))
        s.send(b"probe")
        data = s.recv(65535)
    except OSError as e:
        return verdict(t, e)
    print(f"answered {data!r}")
    return 0 if data == HELLO else 3


def ping(host):
    t = time.monotonic()
    p = subprocess.run(["ping", "-n", "-c", "1", "-W", "2", host],
                       capture_output=True, text=True)
    dt = time.monotonic() - t
    out = p.stdout + p.stderr
    print(f"{out.strip()} [{dt:.2f} s]")
    if p.returncode == 0:
        return 0
    refused = "filtered" in out or "prohibited" in out.lower()
    return 1 if refused and dt < 1.0 else 2


cmd = sys.argv[1]
if cmd == "serve":
    serve(int(sys.argv[2]), int(sys.argv[3]),
          sys.argv[4] if len(sys.argv) > 4 else "local")
elif cmd == "tcp":
    sys.exit(tcp(sys.argv[2], int(sys.argv[3])))
elif cmd == "udp":
    sys.exit(udp(sys.argv[2], int(sys.argv[3]),
                 int(sys.argv[4]) if len(sys.argv) > 4 else 0))
elif cmd == "ping":
    sys.exit(ping(sys.argv[2]))
sys.exit(f"unknown command {cmd}")
