#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""relay.py PIDFILE ERRLOG CMD... - stands for `docker exec` in via.t.sh.

Runs CMD with pipes of its own for stdin and stdout and copies bytes
between them and this process's stdin and stdout, as docker exec copies
them to and from the daemon; CMD's stderr goes to ERRLOG (appended), so an
inside that outlives a killed relay still has somewhere to log. Writes its
pid to PIDFILE first, so the test can kill it (SIGKILL: a dropped exec).
Exits with CMD's status once CMD's stdout ends.
"""
import os
import select
import subprocess
import sys


def main():
    pidfile, errlog, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(pidfile, "w") as f:
        f.write(f"{os.getpid()}\n")
    with open(errlog, "ab") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err, bufsize=0)
    src = {0: p.stdin.fileno(), p.stdout.fileno(): 1}
    while p.stdout.fileno() in src:
        r, _, _ = select.select(list(src), [], [])
        for fd in r:
            data = os.read(fd, 65536)
            if not data:
                if fd == 0:
                    p.stdin.close()
                del src[fd]
                continue
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(src[fd], view):]
            except BrokenPipeError:
                del src[fd]
    rc = p.wait()
    sys.exit(rc if rc >= 0 else 128 - rc)

if __name__ == "__main__":
    main()
