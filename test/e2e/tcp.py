#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tcp.py - the TCP servers and clients of the end-to-end world.

  tcp.py http PORT DIR        HTTP on PORT (v4 and v6): GET serves files of
                              DIR, PUT answers the sha256 of the body
  tcp.py echo PORT            reads until the client's FIN, then echoes it
                              all back (a half-close test)
  tcp.py sink PORT RATE       reads at most RATE bytes/s, answers the
                              sha256 of what it read when the client is done
  tcp.py halfclose HOST PORT SIZE
                              send SIZE bytes, shut down writing, expect
                              them back in full
  tcp.py many HOST PORT N PATH
                              N HTTP GETs open at once; prints ok/failed
  tcp.py send HOST PORT SIZE  send SIZE pseudo-random bytes to a sink,
                              print "sent SHA" then the sink's "got SHA"
  tcp.py idle HOST PORT SECS  one connection to an echo: a round trip, SECS
                              of silence, another round trip
"""
import asyncio
import hashlib
import http.server
import os
import socket
import socketserver
import sys
import threading
import time


def dual_stack(port, handler, tcpserver=socketserver.ThreadingTCPServer):
    class V4(tcpserver):
        allow_reuse_address = True
        daemon_threads = True
        request_queue_size = 4096
        address_family = socket.AF_INET

    class V6(V4):
        address_family = socket.AF_INET6

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

    servers = [V4(("0.0.0.0", port), handler), V6(("::", port), handler)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    print(f"listening on {port}", flush=True)
    threads[0].join()


def http_serve(port, root):
    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def do_PUT(self):
            left = int(self.headers.get("Content-Length", "0"))
            h = hashlib.sha256()
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
            body = (h.hexdigest() + "\n").encode()
            self.send_response(200 if left == 0 else 400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    dual_stack(port, Handler)


def echo_serve(port):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            data = bytearray()
            while True:
                chunk = self.request.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
            self.request.sendall(data)
            self.request.close()

    dual_stack(port, Handler)


def sink_serve(port, rate):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            h = hashlib.sha256()
            start, total = time.monotonic(), 0
            while True:
                chunk = self.request.recv(1 << 16)
                if not chunk:
                    break
                h.update(chunk)
                total += len(chunk)
                ahead = total / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            self.request.sendall((h.hexdigest() + "\n").encode())
            self.request.close()

    dual_stack(port, Handler)


def connect(host, port, timeout=30):
    s = socket.create_connection((host, port), timeout=timeout)
    return s


def halfclose(host, port, size):
    payload = os.urandom(size)
    s = connect(host, port)
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        got += chunk
    ok = bytes(got) == payload
    print(f"sent {size}, got {len(got)} back, {'same' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


async def many_main(host, port, n, path):
    """open all n connections first, then request on all of them"""
    async def opened():
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(host, port), 60)
        except Exception:
            return None

    async def get(conn):
        if conn is None:
            return False
        r, w = conn
        try:
            w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                    "Connection: close\r\n\r\n".encode())
            await w.drain()
            data = await asyncio.wait_for(r.read(), 60)
            w.close()
            return data.split(b"\r\n", 1)[0].endswith(b" 200 OK")
        except Exception:
            return False

    conns = await asyncio.gather(*[opened() for _ in range(n)])
    print(f"{sum(c is not None for c in conns)} open at once", flush=True)
    ok = sum(await asyncio.gather(*[get(c) for c in conns]))
    print(f"{ok} ok, {n - ok} failed")
    return 0 if ok == n else 1


def send(host, port, size):
    s = connect(host, port, timeout=120)
    h = hashlib.sha256()
    block = os.urandom(1 << 20)
    left = size
    while left > 0:
        chunk = block[:min(left, len(block))]
        s.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
    s.shutdown(socket.SHUT_WR)
    got = s.makefile().readline().strip()
    print(f"sent {h.hexdigest()}")
    print(f"got {got}")
    return 0 if got == h.hexdigest() else 1


def idle(host, port, secs):
    # the echo server answers at FIN, so use a raw echo: tcp.py pingpong
    s = connect(host, port)
    s.sendall(b"ping\n")
    a = s.recv(100)
    time.sleep(secs)
    s.sendall(b"pong\n")
    b = s.recv(100)
    print(f"before idle {a!r}, after {b!r}")
    return 0 if a == b"ping\n" and b == b"pong\n" else 1


def line_echo_serve(port):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            for line in self.rfile:
                self.wfile.write(line)
                self.wfile.flush()

    dual_stack(port, Handler)


def main(argv):
    cmd = argv[1]
    if cmd == "http":
        http_serve(int(argv[2]), argv[3])
    elif cmd == "echo":
        echo_serve(int(argv[2]))
    elif cmd == "lineecho":
        line_echo_serve(int(argv[2]))
    elif cmd == "sink":
        sink_serve(int(argv[2]), float(argv[3]))
    elif cmd == "halfclose":
        return halfclose(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "many":
        return asyncio.run(many_main(argv[2], int(argv[3]), int(argv[4]),
                                     argv[5]))
    elif cmd == "send":
        return send(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "idle":
        return idle(argv[2], int(argv[3]), float(argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
