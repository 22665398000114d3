#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""status.py - helpers of the status test (status.t.sh).

  status.py notify PATH LOG NS TABLE
        a systemd notify socket: a datagram socket at PATH (writable by
        all); each message is one line of LOG, "HH:MM:SS.mmm msg | msg";
        on READY=1 the routes of table TABLE in namespace NS are logged too
  status.py hold HOST PORT SIZE FLAG
        one TCP connection to a line echo: SIZE bytes there and back, then
        create FLAG and hold the connection open until killed
  status.py check DOC.json LAN4 UDP_PORT UDP_SIZE TCP_PORT TCP_SIZE NAME
        the status document shows the flows and the DNS answer of the test;
        prints one line per check, exits 1 if any failed
"""
import json
import os
import socket
import subprocess
import sys
import time


def notify(path, log, ns, table):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)
    with open(log, "a", buffering=1) as f:
        while True:
            msg = s.recv(65536).decode(errors="replace")
            t = time.time()
            stamp = time.strftime("%H:%M:%S", time.localtime(t))
            stamp += ".%03d" % int((t % 1) * 1000)
            f.write("%s %s\n" % (stamp, msg.strip().replace("\n", " | ")))
            if "READY=1" in msg.split("\n"):
                r = subprocess.run(["ip", "-n", ns, "route", "show",
                                    "table", table],
                                   capture_output=True, text=True)
                f.write("ROUTES AT READY: %s\n" %
                        r.stdout.strip().replace("\n", " ; "))


def hold(host, port, size, flag):
    s = socket.create_connection((host, port), timeout=10)
    line = b"x" * 99 + b"\n"
    data = (line * (size // 100 + 1))[:size - 1] + b"\n"
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    if got != data:
        print("hold: sent %d bytes, got %d back" % (len(data), len(got)),
              file=sys.stderr)
        return 1
    open(flag, "w").close()
    while True:
        time.sleep(60)


class Checker:
    def __init__(self):
        self.failed = 0

    def __call__(self, desc, cond):
        print("%s - status --json: %s" % ("ok" if cond else "not ok", desc))
        if not cond:
            self.failed += 1
        return cond


def check(doc_path, lan4, udp_port, udp_size, tcp_port, tcp_size, name):
    with open(doc_path) as f:
        d = json.load(f)
    ok = Checker()
    ok("name %s, state up" % name, d.get("name") == name and
       d.get("state") == "up")
    ok("transport exec, reconnects 0", d.get("transport") == "exec" and
       d.get("reconnects") == 0)
    r = d.get("routes", {})
    ok("routes offered 2, installed >= 2 (%s)" % r.get("installed"),
       len(r.get("offered", [])) == 2 and (r.get("installed") or 0) >= 2)
    t = d["traffic"]
    ok("packets both ways", t["from_inside"]["packets"] > 0 and
       t["to_inside"]["packets"] > 0 and t["stream"]["bytes_in"] > 0)
    ok("drop counters present", all(k in d["drops"] for k in
       ("malformed", "unsupported", "refused", "stream_full")))

    conns = d["connections"]
    ok("connections_total %d = rows %d" % (d["connections_total"],
                                           len(conns)),
       d["connections_total"] == len(conns))

    def find(proto, port=None):
        for c in conns:
            if c["proto"] == proto and c["dest_addr"] == lan4 and \
               (port is None or c["dest_port"] == port):
                return c
        return None

    u = find("udp", udp_port)
    ok("a UDP flow to %s:%d" % (lan4, udp_port), u is not None)
    if u:
        ok("UDP bytes %d/%d, packets %d/%d" % (
            u["bytes_from_inside"], u["bytes_to_inside"],
            u["packets_from_inside"], u["packets_to_inside"]),
           u["bytes_from_inside"] == udp_size and
           u["bytes_to_inside"] == udp_size and
           u["packets_from_inside"] == 1 and u["packets_to_inside"] == 1)
        ok("UDP state active, ages", u["state"] == "active" and
           u["age_ms"] >= u["idle_ms"] >= 0)
    i = find("icmp")
    ok("an ICMP echo flow to %s" % lan4, i is not None)
    if i:
        ok("ICMP packets %d/%d, bytes %d/%d" % (
            i["packets_from_inside"], i["packets_to_inside"],
            i["bytes_from_inside"], i["bytes_to_inside"]),
           i["packets_from_inside"] == 3 and i["packets_to_inside"] == 3 and
           i["bytes_from_inside"] >= 3 * 56 and
           i["bytes_to_inside"] == i["bytes_from_inside"])
    c = find("tcp", tcp_port)
    ok("a TCP connection to %s:%d" % (lan4, tcp_port), c is not None)
    if c:
        ok("TCP established, bytes %d/%d" % (c["bytes_from_inside"],
                                             c["bytes_to_inside"]),
           c["state"] == "established" and
           c["bytes_from_inside"] == tcp_size and
           c["bytes_to_inside"] == tcp_size)
    ok("rows sorted by recent activity",
       all(conns[k]["idle_ms"] <= conns[k + 1]["idle_ms"]
           for k in range(len(conns) - 1)))

    dns = d.get("dns") or {}
    ok("DNS counters: %s queries" % dns.get("queries"),
       dns.get("queries", 0) >= 1 and dns.get("answered", 0) >= 1)
    hit = [e for e in d["dns_cache"] if e["name"] == "lan.tungate.test"
           and e["type"] == "A"]
    ok("the DNS cache holds lan.tungate.test A %s" % lan4,
       len(hit) == 1 and hit[0]["answer"] == lan4 and
       hit[0]["status"] == "NOERROR" and hit[0]["answers"] == 1 and
       0 < hit[0]["ttl"] <= 30)
    ok("a cache hit is counted", len(hit) == 1 and hit[0]["hits"] >= 1)
    nx = [e for e in d["dns_cache"] if e["name"] == "nope.tungate.test"]
    ok("a negative answer is listed with its status (%s)" %
       (nx[0]["status"] if nx else None),
       len(nx) >= 1 and nx[0]["status"] in ("NXDOMAIN", "NODATA") and
       nx[0]["answer"] == "")
    p = d.get("pcap") or {}
    ok("pcap counts packets", p.get("packets", 0) > 0)
    return 1 if ok.failed else 0


def main(argv):
    if len(argv) == 6 and argv[1] == "notify":
        notify(argv[2], argv[3], argv[4], argv[5])
        return 0
    if len(argv) == 6 and argv[1] == "hold":
        return hold(argv[2], int(argv[3]), int(argv[4]), argv[5])
    if len(argv) == 9 and argv[1] == "check":
        return check(argv[2], argv[3], int(argv[4]), int(argv[5]),
                     int(argv[6]), int(argv[7]), argv[8])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
