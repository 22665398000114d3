#!/bin/bash
# SPDX-License-Identifier: MIT
#
# statusflood: `tungate status` cannot be blocked (README.md, "Status").
# With 3 000 UDP flows open (a status document several times larger than
# a socket buffer, so that a write to a client that does not read cannot
# complete), 64 clients connect to the control socket, ask and never read,
# and 16 more connect and never ask: `tungate status --json` still answers
# within 1 s (2 s under ASan), whole, again and again; the outside drops
# the silent clients within their deadlines (2 s to ask, 5 s to take the
# answer) and the tunnel carries traffic.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

NAME=sf FLOWS=3000 ASKERS=64 MUTES=16 HOLD_S=14
SOCK=$T/xdg/tungate/$NAME.sock
# the answer within 1 s; the sanitizers make rendering 3000 rows about
# five times slower (measured 180-390 ms under ASan, 15-90 ms without)
case $TUNGATE in
*asan*) answer_ms=2000 ;;
*) answer_ms=1000 ;;
esac
TG_OUTSIDE_ARGS+=(--name "$NAME")
assert "the tunnel starts" tg_start_tunnel

total_of() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)["connections_total"])' \
		<"$1" 2>/dev/null || echo 0
}

out=$(in_ns "$NS_CS" bash -c \
	"ulimit -n 8192; python3 '$TG_LIB_DIR/hostile.py' udpmany $LAN4 7 $FLOWS 4")
say "udp: $out"
tg_status_json "$NAME" >"$T/before.json"
flows=$(total_of "$T/before.json")
size=$(stat -c %s "$T/before.json")
check "$flows flows open, a document of $size bytes" \
	test "$flows" -ge $((FLOWS * 9 / 10)) -a "$size" -gt $((512 << 10))

base_fds=$(tg_fds "$TG_OUTSIDE_PID")

# the silent clients: as the outside's user (it answers no one else)
cat >"$T/silent.py" <<'EOF'
import os, socket, sys, time
path, nask, nmute, hold, uid, gid = sys.argv[1:7]
# the outside's user, whom it answers (root's python, then nobody)
os.setgroups([])
os.setgid(int(gid))
os.setuid(int(uid))
socks = []
for i in range(int(nask) + int(nmute)):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if i < int(nask):
        try:
            s.send(b"status\n")
        except OSError:  # refused at once (too many clients)
            pass
    socks.append(s)
print("ready", flush=True)
time.sleep(float(hold))
# dropped: the outside closed it (what it had sent is read through first)
dropped = 0
for s in socks:
    s.setblocking(False)
    try:
        while s.recv(1 << 20):
            pass
        dropped += 1
    except BlockingIOError:
        pass
    except OSError:
        dropped += 1
print("%d of %d dropped" % (dropped, len(socks)), flush=True)
EOF
in_ns "$NS_LOCAL" python3 "$T/silent.py" "$SOCK" "$ASKERS" "$MUTES" \
	"$HOLD_S" "$(id -u nobody)" "$(id -g nobody)" \
	>"$T/silent.out" 2>&1 &
silent_pid=$!
wait_for 20 grep -q ready "$T/silent.out"
check "$ASKERS clients ask and never read, $MUTES never ask" \
	grep -q ready "$T/silent.out"

# ask_timed N - `status --json` N times; each must answer in time, whole
ask_timed() {
	local i t0 ms rc
	for ((i = 1; i <= $1; i++)); do
		t0=$(date +%s%N)
		timeout 10 setpriv --reuid=nobody --regid=nogroup \
			--clear-groups env XDG_RUNTIME_DIR="$T/xdg" \
			"$T/tungate" status "$NAME" --json >"$T/during.$i.json" \
			2>"$T/during.$i.err"
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		check "status --json #$i answers in $ms ms (rc $rc$(head -c 100 "$T/during.$i.err"))" \
			test "$rc" = 0 -a "$ms" -lt "$answer_ms"
		check "... with every flow ($(total_of "$T/during.$i.json"))" \
			test "$(total_of "$T/during.$i.json")" -ge "$((flows * 9 / 10))"
		sleep 0.3
	done
}
ask_timed 5

# while they still hold their end: the outside has let go of its own
back() { [ "$(tg_fds "$TG_OUTSIDE_PID")" -le "$base_fds" ]; }
wait_for 8 back
check "the outside closed its side of every silent client ($(tg_fds "$TG_OUTSIDE_PID") fds, $base_fds before)" back
wait "$silent_pid"
check "the silent clients were dropped within $HOLD_S s ($(tail -n 1 "$T/silent.out"))" \
	grep -q "^$((ASKERS + MUTES)) of $((ASKERS + MUTES)) dropped" "$T/silent.out"
cp "$T/silent.out" "$T/silent.log"
check "the tunnel still carries traffic" tg_udp_echo "$NS_CS" "$LAN4" 7 100
check "the tunnel stops cleanly" tg_stop_tunnel
tg_done
