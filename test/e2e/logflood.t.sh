#!/bin/bash
# SPDX-License-Identifier: MIT
#
# logflood: what a peer sends cannot drown the outside's log (README.md,
# "Limits"). The --exec remote command runs the real inside and also
# writes `yes` to its stderr for 10 s: the outside's log stays under
# 128 KiB, shows the first remote lines, says how many it suppressed, and
# the tunnel carries traffic meanwhile. Then a forged inside sends 100 000
# malformed READY frames and 100 000 valid ones, under a systemd notify
# socket: a few log lines of each kind with their counts, and at most
# about one STATUS= a second.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

HTTP=8080 FLOOD_S=10 LOG_MAX=$((128 << 10))
mkdir -p "$T/www" && echo "hello from lan" >"$T/www/hello.txt"
tg_bg http "$NS_LAN" python3 "$TG_LIB_DIR/tcp.py" http "$HTTP" "$T/www"
wait_for 10 tg_tcp_listening "$NS_LAN" "$HTTP" || die "no HTTP server in lan"

# suppressed LOG - the lines the summaries of LOG say were held back
suppressed() {
	sed -n 's/.* \([0-9][0-9]*\) more like this suppressed$/\1/p' "$1" |
		awk '{ n += $1 } END { print n + 0 }'
}
size_of() { stat -c %s "$1"; }
curl_ok() {
	test "$(in_ns "$NS_CS" curl -s -m 5 "http://$LAN4:$HTTP/hello.txt")" = \
		"hello from lan"
}

# --- the remote's stderr -----------------------------------------------------
# `yes` prints its argument: lines that only this test writes. It gets
# /dev/null for stdin and the stderr pipe for stdout, so the stream's
# pipes close when socat ends, not when yes does.
MARK=flood-$TG_ID
TG_OUTSIDE_EXEC="timeout $FLOOD_S yes $MARK </dev/null >&2 & exec socat - TCP:$CS4:$TG_PORT"
start=$SECONDS
assert "the tunnel starts while the remote floods its stderr" tg_start_tunnel
flooding() { pgrep -x -f "yes $MARK" >/dev/null; }
check "the flood is on" flooding
check "curl through the tunnel during the flood" curl_ok
check "and again" curl_ok
wait_for $((FLOOD_S + 10)) not flooding
check "the flood ended after $((SECONDS - start)) s" not flooding
check "curl after the flood" curl_ok
check "the tunnel stops cleanly" tg_stop_tunnel
log=$TG_OUTSIDE_LOG
shown=$(grep -c "info: remote: $MARK\$" "$log")
held=$(suppressed "$log")
say "log $(size_of "$log") bytes; remote lines shown $shown, suppressed $held"
check "the outside's log is under 128 KiB ($(size_of "$log") bytes)" \
	test "$(size_of "$log")" -lt "$LOG_MAX"
check "it shows some of the remote's lines ($shown)" test "$shown" -ge 10
check "it says how many it suppressed ($held)" test "$held" -gt 1000
check "in lines named after the remote" \
	grep -q "info: remote: [0-9]* more like this suppressed$" "$log"
check "the inside's own lines were not drowned" grep -q "inside is up" "$log"

# --- a forged inside: READY as fast as a pipe takes it ------------------------
NOTIFY=$T/notify.sock NOTIFY_LOG=$T/notify.log
: >"$NOTIFY_LOG"
tg_bg notify "$NS_LOCAL" python3 "$TG_LIB_DIR/status.py" notify "$NOTIFY" \
	"$NOTIFY_LOG" "$NS_CS" "$TG_TABLE"
wait_for 10 test -S "$NOTIFY" || die "no notify listener"
cat >"$T/forge.py" <<'EOF'
import struct, sys, time
out = sys.stdout.buffer
def frame(t, p):
    return struct.pack(">BBH", t, 0, len(p)) + p
out.write(b"\0TUNGATE")
out.write(frame(1, struct.pack(">HB", 2, 2) + b"forged\0" + bytes(16)))
good = frame(7, bytes(17) + b"forged ready")
bad = frame(7, b"\1")   # shorter than a session id: malformed
for i in range(1000):
    out.write((bad + good) * 100)
    if i % 100 == 99:
        out.flush()
        time.sleep(0.3)    # about 3 s in all: time for STATUS= to repeat
out.flush()
EOF
in_ns "$NS_LOCAL" bash -c "python3 '$T/forge.py' |
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env XDG_RUNTIME_DIR='$T/xdg' NOTIFY_SOCKET='$NOTIFY' timeout 60 \
	'$T/tungate' outside --stdio --no-dns --route $LAN_NET4 --name forged \
	>/dev/null 2>'$T/forged.log'"
rc=$?
check "the outside ends with the forged stream (rc $rc)" test "$rc" = 0 -o "$rc" = 1
flog=$T/forged.log
bad_shown=$(grep -c "ignoring a malformed READY" "$flog")
up_shown=$(grep -c "inside is up" "$flog")
say "log $(size_of "$flog") bytes: malformed READY $bad_shown, up $up_shown, suppressed $(suppressed "$flog")"
check "200 000 READY frames: a log under 64 KiB ($(size_of "$flog") bytes)" \
	test "$(size_of "$flog")" -lt $((64 << 10))
check "a few malformed READY lines ($bad_shown), counted" \
	test "$bad_shown" -ge 1 -a "$bad_shown" -le 100
check "a few 'inside is up' lines ($up_shown)" \
	test "$up_shown" -ge 1 -a "$up_shown" -le 100
check "the summaries count the rest" \
	test "$(suppressed "$flog")" -ge $((200000 - 2 * 100))
wait_for 5 grep -q "STATUS=the stream ended\|STOPPING=1" "$NOTIFY_LOG"
n_status=$(grep -c "STATUS=" "$NOTIFY_LOG")
span=$(awk 'NR == 1 { split($1, a, /[:.]/); s = a[1] * 3600 + a[2] * 60 + a[3] }
	{ split($1, a, /[:.]/); e = a[1] * 3600 + a[2] * 60 + a[3] }
	END { print int(e - s) + 1 }' "$NOTIFY_LOG")
check "STATUS= at most about once a second ($n_status in ${span} s)" \
	test "$n_status" -le $((span + 3))
check "READY=1 once" test "$(grep -c 'READY=1' "$NOTIFY_LOG")" = 1
tg_done
