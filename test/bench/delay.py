#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""delay.py - a TCP relay that adds a round trip, for bench.sh.

    delay.py LISTEN_ADDR LISTEN_PORT TARGET_ADDR TARGET_PORT DELAY_MS LIFE_S

Theory of operation: this kernel has no netem, so the bench puts this in
front of sshd. Every chunk read from one side is held DELAY_MS (half the
round trip wanted) before it is written to the other, each direction on
its own, in order, so the relay adds DELAY_MS each way and nothing else:
bytes in flight are the sender's business, as on a long link. At most
CAP bytes wait per direction; beyond that the relay stops reading, and
TCP's own flow control pushes back. Any number of connections, each to
the target; the process exits after LIFE_S seconds whatever happens.
"""
import asyncio
import collections
import socket
import sys

CHUNK = 256 * 1024
CAP = 32 << 20  # bytes held per direction: above any window we meet


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    held = collections.deque()
    size = 0
    more = asyncio.Event()
    room = asyncio.Event()
    room.set()
    done = False

    async def feed():
        nonlocal size, done
        while True:
            await room.wait()
            data = await reader.read(CHUNK)
            if not data:
                break
            held.append((loop.time() + delay, data))
            size += len(data)
            if size > CAP:
                room.clear()
            more.set()
        done = True
        more.set()

    task = asyncio.ensure_future(feed())
    try:
        while True:
            while not held:
                if done:
                    return
                more.clear()
                await more.wait()
            due, data = held[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            held.popleft()
            size -= len(data)
            if size <= CAP:
                room.set()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        task.cancel()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def serve(target, port, delay):
    async def on_conn(r1, w1):
        try:
            r2, w2 = await asyncio.open_connection(target, port)
        except OSError:
            w1.close()
            return
        for w in (w1, w2):
            s = w.get_extra_info("socket")
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pipe(r1, w2, delay), pipe(r2, w1, delay))
        w1.close()
        w2.close()

    return on_conn


async def main():
    laddr, lport, taddr, tport, ms, life = sys.argv[1:7]
    on_conn = await serve(taddr, int(tport), float(ms) / 1000)
    srv = await asyncio.start_server(on_conn, laddr, int(lport))
    async with srv:
        await asyncio.sleep(float(life))


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__.split("\n\n")[1])
    asyncio.run(main())
