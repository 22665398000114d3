#!/bin/bash
# SPDX-License-Identifier: MIT
#
# limits: floods from cs meet the outside's limits (README.md, "Limits").
# 10 000 concurrent UDP flows (--max-udp-flows 4096: the oldest are
# evicted, the table never exceeds the limit), 5 000 TCP connections
# (--max-tcp-flows 4096: the first 4096 connect, the rest are reset at
# once), the outside's resident memory under a bound all along and its
# descriptors back to the baseline afterwards; a TCP buffer budget of
# 3 MiB (--max-buffer 3) for four parallel downloads: the rings are cut,
# the budget is never exceeded, the data arrives whole; then 1 GB of random
# well-framed packets from a forged inside: no crash, every packet counted.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

HOSTILE=$TG_LIB_DIR/hostile.py
HOLD=7010 HTTP=8080
# the sanitizers make everything slower and bigger
case $TUNGATE in
*asan*) rss_limit=$((384 << 10)) GB_FRAMES=4096 ;; # 256 MiB under ASan
*) rss_limit=$((96 << 10)) GB_FRAMES=16384 ;;	  # 16384 x 65535 = 1 GiB
esac

tg_bg hold "$NS_LAN" bash -c "ulimit -n 16384; exec python3 '$HOSTILE' hold $HOLD"
mkdir -p "$T/www"
head -c $((10 << 20)) /dev/urandom >"$T/www/f"
want=$(sha256sum <"$T/www/f" | cut -d' ' -f1)
tg_bg http "$NS_LAN" python3 "$TG_LIB_DIR/tcp.py" http "$HTTP" "$T/www"
for p in $HOLD $HTTP; do
	wait_for 10 tg_tcp_listening "$NS_LAN" "$p" || die "no server on $p in lan"
done

TG_OUTSIDE_ARGS+=(--udp-idle 8 --name limits)
assert "the tunnel starts" tg_start_tunnel

# counter PATH: a number of `status --json`, e.g. drops.udp_evicted
counter() {
	tg_status_json limits | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1" 2>/dev/null
}

# sample the outside's RSS and flow counts in the background
sampler() {
	while :; do
		echo "$(tg_rss "$TG_OUTSIDE_PID") $(counter flows.udp) $(counter flows.tcp)"
		sleep 0.5
	done
}
base_fds=$(tg_fds "$TG_OUTSIDE_PID")
sampler >"$T/samples" &
sampler_pid=$!

# --- 10 000 concurrent UDP flows ----------------------------------------------
out=$(in_ns "$NS_CS" bash -c "ulimit -n 16384; python3 '$HOSTILE' udpmany $LAN4 7 10000 4")
answered=$(sed -n 's/.* \([0-9]*\) answered/\1/p' <<<"$out")
say "udp: $out; evicted $(counter drops.udp_evicted)"
check "10 000 UDP flows: at least the 4096 that fit are answered ($out)" \
	test "${answered:-0}" -ge 4096
check "... and the oldest were evicted ($(counter drops.udp_evicted))" \
	test "$(counter drops.udp_evicted)" -gt 0

# --- 5 000 TCP connections ----------------------------------------------------
sleep 9 # the UDP flows expire (--udp-idle 8)
out=$(in_ns "$NS_CS" bash -c "ulimit -n 16384; python3 '$HOSTILE' tcpmany $LAN4 $HOLD 5000 20")
say "tcp: $out; table full $(counter drops.tcp_table_full)"
conn=$(sed -n 's/^\([0-9]*\) connected.*/\1/p' <<<"$out")
reset=$(sed -n 's/.* \([0-9]*\) reset.*/\1/p' <<<"$out")
check "5 000 TCP connections: 4096 connect ($out)" test "${conn:-0}" = 4096
check "... the other 904 are reset" test "${reset:-0}" = 904

kill "$sampler_pid"
wait "$sampler_pid" 2>/dev/null
max_udp=$(awk '$2 > m {m = $2} END {print m + 0}' "$T/samples")
max_tcp=$(awk '$3 > m {m = $3} END {print m + 0}' "$T/samples")
rss_max=$(awk '$1 > m {m = $1} END {print m + 0}' "$T/samples")
check "UDP flows never exceed 4096 (max seen $max_udp)" test "$max_udp" -le 4096
check "TCP flows never exceed 4096 (max seen $max_tcp)" test "$max_tcp" -le 4096
check "the outside's memory stayed under $((rss_limit >> 10)) MB (max $((rss_max >> 10)) MB)" \
	test "$rss_max" -lt "$rss_limit"

back() { [ "$(tg_fds "$TG_OUTSIDE_PID")" -le "$base_fds" ]; }
wait_for 30 back
check "the outside's fds return to $base_fds (now $(tg_fds "$TG_OUTSIDE_PID"))" back

check "the tunnel stops cleanly" tg_stop_tunnel

# --- a 3 MiB budget for all TCP buffers ---------------------------------------
assert "the tunnel starts with --max-buffer 3" tg_start_tunnel --max-buffer 3
for i in 1 2 3 4; do
	in_ns "$NS_CS" curl -s -m 60 "http://$LAN4:$HTTP/f" |
		sha256sum | cut -d' ' -f1 >"$T/buf.$i" &
done
buf_max=0
for _ in $(seq 20); do
	b=$(counter tcp_buffer_bytes)
	[ "${b:-0}" -gt "$buf_max" ] && buf_max=$b
	sleep 0.2
done
wait_for 60 test "$(cat "$T"/buf.? | grep -c "^$want$")" = 4
check "four downloads within a 3 MiB buffer budget arrive intact" \
	test "$(cat "$T"/buf.? | grep -c "^$want$")" = 4
check "... the rings were cut to fit ($(counter drops.tcp_buffer_cut) times)" \
	test "$(counter drops.tcp_buffer_cut)" -gt 0
check "... and never held more than 3 MiB (max seen $buf_max)" \
	test "$buf_max" -le $((3 << 20))
check "the tunnel stops cleanly" tg_stop_tunnel

# --- random well-framed packets from a forged inside ------------------------
in_ns "$NS_LOCAL" bash -c "python3 '$HOSTILE' stream random $GB_FRAMES 11 2>'$T/gb.sent' |
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env XDG_RUNTIME_DIR='$T/xdg' timeout 100 '$T/tungate' outside \
	--stdio --no-dns --route $LAN_NET4 --name gb >/dev/null 2>'$T/gb.log'"
rc=$?
line=$(grep "packets from the inside" "$T/gb.log")
check "$(cat "$T/gb.sent"): the outside exits 0 (rc $rc)" test "$rc" = 0
check "every packet counted ($line)" grep -q "from the inside $GB_FRAMES," <<<"$line"

tg_done
