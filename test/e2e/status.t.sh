#!/bin/bash
# SPDX-License-Identifier: MIT
#
# status: what a running outside shows of itself. With the tunnel up
# (--name, --pcap, DNS on, under a systemd notify socket): a UDP echo, a
# ping, a held TCP connection, an HTTP GET and DNS queries from cs; then
# `tungate status --json` (as the outside's user) shows each flow with its
# counters and the DNS cache; the text view and `--watch` under tmux show
# both tables, fit the window and quit on q with the terminal restored;
# another user and root are refused; READY=1 reaches the notify socket only
# after "inside is up", with the routes installed, and WATCHDOG=1 keeps
# coming; the capture opens in tcpdump with both directions of each
# exchange; --pcap-max-bytes bounds it; under a journal the log has no
# timestamps.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed (make deps)"
command -v tcpdump >/dev/null || skip "tcpdump is not installed (make deps)"
command -v dig >/dev/null || skip "dig is not installed (make deps)"
tg_setup

PY=$TG_LIB_DIR/status.py
HTTP=8080 LINE=7008 UDP_SIZE=100 TCP_SIZE=5000 NAME=devbox

# the outside's own places, nobody's: its XDG_RUNTIME_DIR and the capture
RUN=$T/run CAP=$T/cap
mkdir -p "$RUN" "$CAP" || die "mkdir"
chown nobody:nogroup "$RUN" "$CAP" && chmod 700 "$RUN" && chmod 755 "$CAP" ||
	die "chown"
PCAP=$CAP/tunnel.pcap
NOTIFY=$T/notify.sock NOTIFY_LOG=$T/notify.log
: >"$NOTIFY_LOG"
# local resolves from its hosts file alone: unknown names are NXDOMAIN
printf 'hosts: files\n' >"/etc/netns/$NS_LOCAL/nsswitch.conf"

tg_bg notify "$NS_LOCAL" python3 "$PY" notify "$NOTIFY" "$NOTIFY_LOG" \
	"$NS_CS" "$TG_TABLE"
wait_for 10 test -S "$NOTIFY" || die "no notify listener"
mkdir -p "$T/www" && echo "hello from lan" >"$T/www/hello.txt"
tg_bg http "$NS_LAN" python3 "$TG_LIB_DIR/tcp.py" http "$HTTP" "$T/www"
tg_bg lineecho "$NS_LAN" python3 "$TG_LIB_DIR/tcp.py" lineecho "$LINE"
for p in $HTTP $LINE; do
	wait_for 10 tg_tcp_listening "$NS_LAN" "$p" || die "no server on $p"
done

# as_user USER CMD... - CMD as USER, with the outside's XDG_RUNTIME_DIR
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -gn "$u")" --clear-groups \
		env XDG_RUNTIME_DIR="$RUN" "$@"
}
status() { as_user nobody "$T/tungate" status "$@"; }
# to_ms HH:MM:SS.mmm - milliseconds since midnight
to_ms() {
	local h m s ms
	IFS=':.' read -r h m s ms <<<"$1"
	echo $(((10#$h * 3600 + 10#$m * 60 + 10#$s) * 1000 + 10#$ms))
}
line_of() { grep -n -m 1 -- "$1" "$2" | cut -d: -f1; }

TG_OUTSIDE_ARGS=(-v --name "$NAME" --pcap "$PCAP")
TG_OUTSIDE_ENV=(XDG_RUNTIME_DIR="$RUN" NOTIFY_SOCKET="$NOTIFY"
	WATCHDOG_USEC=400000)
assert "the tunnel starts (--name, --pcap, DNS, a notify socket)" \
	tg_start_tunnel
SOCK=$RUN/tungate/$NAME.sock
check "the control socket is $SOCK, nobody's, mode 0600" \
	test "$(stat -c '%U %a' "$SOCK")" = "nobody 600"
check "in a directory of mode 0700" \
	test "$(stat -c '%U %a' "$RUN/tungate")" = "nobody 700"

# --- systemd -----------------------------------------------------------------
wait_for 5 grep -q READY=1 "$NOTIFY_LOG"
check "READY=1 reached the notify socket once" \
	test "$(grep -c 'READY=1' "$NOTIFY_LOG")" = 1
up_at=$(grep -m 1 'inside is up' "$TG_OUTSIDE_LOG" | cut -d' ' -f1)
ready_at=$(grep -m 1 'READY=1' "$NOTIFY_LOG" | cut -d' ' -f1)
check "READY=1 ($ready_at) not before 'inside is up' ($up_at)" \
	test "$(to_ms "$ready_at")" -ge "$(to_ms "$up_at")"
check "the inside's routes were installed when READY=1 came" \
	grep -q "^ROUTES AT READY: .*$LAN_NET4 .*$TUN_DEV" "$NOTIFY_LOG"
# at most one STATUS= a second: "connected to the inside" is replaced by
# READY=1's "up" when both come within the second after "connecting"
check "STATUS= told of connecting, then up" \
	test "$(line_of 'STATUS=connecting' "$NOTIFY_LOG")" -lt \
	"$(line_of 'READY=1 | STATUS=up: ' "$NOTIFY_LOG")"
inside_before_up() {
	local c u
	c=$(line_of 'STATUS=connected to the inside' "$NOTIFY_LOG")
	u=$(line_of 'READY=1 | STATUS=up: ' "$NOTIFY_LOG")
	[ -z "$c" ] || [ "$c" -lt "$u" ]
}
check "and of the inside in between, if it said so at all" inside_before_up
sleep 1.5
check "WATCHDOG=1 every 200 ms ($(grep -c WATCHDOG=1 "$NOTIFY_LOG") so far)" \
	test "$(grep -c WATCHDOG=1 "$NOTIFY_LOG")" -ge 5

# --- traffic -----------------------------------------------------------------
check "UDP echo" tg_udp_echo "$NS_CS" "$LAN4" 7 "$UDP_SIZE"
check "ping" in_ns "$NS_CS" ping -q -c 3 -i 0.2 -W 2 "$LAN4"
tg_bg hold "$NS_CS" python3 "$PY" hold "$LAN4" "$LINE" "$TCP_SIZE" \
	"$T/held"
HOLD_PID=$TG_LAST_PID
check "a TCP connection is open, $TCP_SIZE bytes each way" \
	wait_for 10 test -e "$T/held"
check "curl" test "$(in_ns "$NS_CS" curl -s -m 10 \
	"http://$LAN4:$HTTP/hello.txt")" = "hello from lan"
check "DNS: a name from local's hosts file" test \
	"$(in_ns "$NS_CS" dig +time=3 +tries=1 +short lan.tungate.test A)" = "$LAN4"
check "DNS: again, from the cache" test \
	"$(in_ns "$NS_CS" dig +time=3 +tries=1 +short lan.tungate.test A)" = "$LAN4"
check "DNS: NXDOMAIN" test "$(in_ns "$NS_CS" dig +time=3 +tries=1 \
	nope.tungate.test A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')" = NXDOMAIN

# --- status --json -----------------------------------------------------------
status "$NAME" --json >"$T/status.json"
check "status --json exits 0" test $? = 0
check "and prints one JSON document" \
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' \
	"$T/status.json"
check "status --json shows every flow and the DNS cache" \
	python3 "$PY" check "$T/status.json" "$LAN4" 7 "$UDP_SIZE" "$LINE" \
	"$TCP_SIZE" "$NAME"
status --json >"$T/status2.json"
check "without NAME: the only outside running" \
	python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["name"] == sys.argv[2]' \
	"$T/status2.json" "$NAME"

# --- the text view -----------------------------------------------------------
status "$NAME" >"$T/status-text.log"
check "status: the summary" grep -q "^tungate outside \"$NAME\" .*: up for" \
	"$T/status-text.log"
check "status: the connections table" grep -q '^PROTO  *INSIDE  *DESTINATION' \
	"$T/status-text.log"
check "status: the UDP flow" grep -Eq "^udp  .*  $LAN4:7  +active " \
	"$T/status-text.log"
check "status: the TCP connection" \
	grep -Eq "^tcp  .*  $LAN4:$LINE  +established +4\.9K +4\.9K" \
	"$T/status-text.log"
check "status: the ping" grep -Eq "^icmp  .* id [0-9]+  +$LAN4 " \
	"$T/status-text.log"
check "status: the DNS table" grep -Eq "^lan\.tungate\.test +A +$LAN4 " \
	"$T/status-text.log"
check "status: NXDOMAIN in the DNS table" \
	grep -Eq "^nope\.tungate\.test +A +NXDOMAIN " "$T/status-text.log"

# --- other users ---------------------------------------------------------------
as_user daemon "$T/tungate" status "$NAME" >/dev/null 2>"$T/daemon.err"
rc=$?
check "another user cannot ask ($(cat "$T/daemon.err"))" test "$rc" = 1
env XDG_RUNTIME_DIR="$RUN" "$T/tungate" status "$NAME" >/dev/null \
	2>"$T/root.err"
rc=$?
check "root is refused by the credentials check ($(cat "$T/root.err"))" \
	test "$rc" = 1
check "root is told who may ask" grep -q "refused this user.*uid $(id -u nobody)" \
	"$T/root.err"
check "the outside logs the refusal" \
	grep -q "control socket: refused uid 0" "$TG_OUTSIDE_LOG"
status "$NAME" --json >/dev/null
check "and still answers its own user" test $? = 0

# --- status --watch under tmux -------------------------------------------------
TMUX_SOCK=$T/tmux.sock
pane() { tmux -S "$TMUX_SOCK" capture-pane -p -t watch; }
pane_has() { pane | grep -q -- "$1"; }
widest() { pane | awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }'; }
fits() { [ "$(widest)" -le "$1" ] && pane_has "^DNS CACHE"; }
watch_cmd="setpriv --reuid=nobody --regid=nogroup --clear-groups \
env XDG_RUNTIME_DIR=$RUN $T/tungate status $NAME --watch; \
echo watch-exited-\$?; stty -a | tr ' ;' '\n\n' | grep -x -- '-*icanon'; sleep 60"
check "tmux starts" tmux -S "$TMUX_SOCK" new-session -d -s watch -x 120 -y 40 \
	"$watch_cmd"
check "--watch shows the connections table" wait_for 10 pane_has "^CONNECTIONS "
pane >"$T/watch-1.log"
check "--watch shows the DNS table" grep -q "^DNS CACHE " "$T/watch-1.log"
check "--watch shows the UDP flow" grep -Eq "^udp .*$LAN4:7 " "$T/watch-1.log"
check "--watch shows lan.tungate.test" grep -q "^lan.tungate.test " "$T/watch-1.log"
check "--watch fits 120 columns ($(widest))" test "$(widest)" -le 120
n1=$(sed -n 's/^CONNECTIONS  \([0-9]*\) open.*/\1/p' "$T/watch-1.log")
tg_udp_echo "$NS_CS" "$LAN4" 7 10 >/dev/null
check "--watch refreshes: a new flow shows within 3 s" \
	wait_for 3 pane_has "^CONNECTIONS  $((n1 + 1)) open"
tmux -S "$TMUX_SOCK" resize-window -t watch -x 70 -y 16
check "--watch fits a window resized to 70x16" wait_for 3 fits 70
pane >"$T/watch-2.log"
check "the small window has both tables, and says what it left out" \
	grep -Eq "^(CONNECTIONS|DNS CACHE) .*; [0-9]+ shown" "$T/watch-2.log"
tmux -S "$TMUX_SOCK" send-keys -t watch q
check "q quits --watch with status 0" wait_for 5 pane_has "^watch-exited-0"
check "and the terminal is back in canonical mode" wait_for 5 pane_has "^icanon$"
pane >"$T/watch-3.log"
tmux -S "$TMUX_SOCK" kill-server 2>/dev/null

# --- the end: notifications, the socket, the capture ---------------------------
kill "$HOLD_PID" 2>/dev/null
check "the tunnel stops cleanly" tg_stop_tunnel
check "STOPPING=1 reached the notify socket" grep -q STOPPING=1 "$NOTIFY_LOG"
check "the control socket is gone" not test -e "$SOCK"

tcpdump -n -r "$PCAP" >"$T/pcap.txt" 2>"$T/pcap.err"
check "tcpdump reads the capture ($(tail -n 1 "$T/pcap.err"))" test $? = 0
check "the UDP echo, to lan" grep -Eq "IP [0-9.]+\.[0-9]+ > $LAN4\.7: UDP, length $UDP_SIZE" "$T/pcap.txt"
check "the UDP echo, back" grep -Eq "IP $LAN4\.7 > [0-9.]+: UDP, length $UDP_SIZE" "$T/pcap.txt"
check "3 ICMP echo requests" test "$(grep -c "> $LAN4: ICMP echo request" "$T/pcap.txt")" -ge 3
check "3 ICMP echo replies" test "$(grep -c "IP $LAN4 > .*ICMP echo reply" "$T/pcap.txt")" -ge 3
check "the TCP handshake" grep -Eq "> $LAN4\.$LINE: Flags \[S\]" "$T/pcap.txt"
check "the DNS queries" grep -q "A? lan.tungate.test" "$T/pcap.txt"

# --- --pcap-max-bytes; under a journal ----------------------------------------
TG_OUTSIDE_ARGS=(--no-dns -v --pcap "$CAP/small.pcap" --pcap-max-bytes 3K)
TG_OUTSIDE_ENV=(XDG_RUNTIME_DIR="$RUN" JOURNAL_STREAM=8:1234)
assert "the tunnel starts again" tg_start_tunnel
for i in 1 2 3 4 5 6 7 8; do
	tg_udp_echo "$NS_CS" "$LAN4" 7 500 >/dev/null
done
check "the default name is 'default'" \
	test -S "$RUN/tungate/default.sock"
check "the tunnel stops" tg_stop_tunnel
size=$(stat -c %s "$CAP/small.pcap")
check "--pcap-max-bytes 3K: the file has $size bytes" test "$size" -le 3072 -a "$size" -gt 1000
check "and opens in tcpdump" tcpdump -n -r "$CAP/small.pcap" -w /dev/null
check "the limit is logged once" \
	test "$(grep -c 'reached --pcap-max-bytes' "$TG_OUTSIDE_LOG")" = 1
check "under a journal: no timestamps, a priority prefix" \
	grep -q '^<6>outside: inside is up' "$TG_OUTSIDE_LOG"
tg_done
