#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""resolved.py - a stand-in for systemd-resolved's varlink socket.

  resolved.py PATH LOG NAME=ADDRESS...
        listens on the unix socket PATH (writable by all) and answers
        io.systemd.Resolve.ResolveHostname as resolved does: the
        addresses of NAME (of the family asked for, or all without one),
        io.systemd.Resolve.NoSuchResourceRecord for a known name without
        an address of that family, io.systemd.Resolve.DNSError with rcode
        3 (NXDOMAIN) for any other name. Each message is one JSON object
        ended by a NUL, several per connection. Each question is a line
        of LOG: "NAME FAMILY". Runs until killed; removes PATH on SIGTERM.
"""
import ipaddress
import json
import os
import signal
import socket
import sys
import threading

MAX_MSG = 65536


def answer(names, call):
    if call.get("method") != "io.systemd.Resolve.ResolveHostname":
        return {"error": "org.varlink.service.MethodNotFound",
                "parameters": {"method": call.get("method")}}
    params = call.get("parameters") or {}
    name = str(params.get("name", "")).rstrip(".").lower()
    family = params.get("family", 0)
    if name not in names:
        return {"error": "io.systemd.Resolve.DNSError",
                "parameters": {"rcode": 3}}
    addrs = []
    for a in names[name]:
        fam = 2 if a.version == 4 else 10
        if family in (0, fam):
            addrs.append({"ifindex": 2, "family": fam,
                          "address": list(a.packed)})
    if not addrs:
        return {"error": "io.systemd.Resolve.NoSuchResourceRecord"}
    return {"parameters": {"addresses": addrs, "name": name, "flags": 1}}


def serve(conn, names, log, lock):
    buf = b""
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            if len(buf) > MAX_MSG:
                return
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                try:
                    call = json.loads(msg)
                except ValueError:
                    return
                p = call.get("parameters") or {}
                with lock:
                    log.write("%s %s\n" % (p.get("name"), p.get("family", 0)))
                conn.sendall(json.dumps(answer(names, call)).encode() + b"\0")


def main():
    path, logname = sys.argv[1], sys.argv[2]
    names = {}
    for pair in sys.argv[3:]:
        n, a = pair.split("=", 1)
        names.setdefault(n.lower(), []).append(ipaddress.ip_address(a))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    os.chmod(path, 0o777)
    s.listen(16)

    def stop(_sig, _frame):
        os.unlink(path)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    lock = threading.Lock()
    with open(logname, "a", buffering=1) as log:
        while True:
            conn, _ = s.accept()
            threading.Thread(target=serve, args=(conn, names, log, lock),
                             daemon=True).start()


if __name__ == "__main__":
    main()
