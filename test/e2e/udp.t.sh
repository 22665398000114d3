#!/bin/bash
# SPDX-License-Identifier: MIT
#
# udp: a UDP echo round trip from cs to lan over IPv4 and IPv6, through the
# tunnel, with the outside running as nobody. Sizes from one byte to one
# that lan's 1500-byte link must fragment.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

assert "no UDP echo from cs before the tunnel is up" \
	not tg_udp_echo "$NS_CS" "$LAN4" 7 16 1
assert "the tunnel starts" tg_start_tunnel

check "the outside runs as nobody" \
	test "$(ps -o user= -p "$TG_OUTSIDE_PID")" = nobody
for size in 1 100 1400 8000; do
	check "UDP echo over IPv4, $size bytes" \
		tg_udp_echo "$NS_CS" "$LAN4" 7 "$size"
	check "UDP echo over IPv6, $size bytes" \
		tg_udp_echo "$NS_CS" "$LAN6" 7 "$size"
done
# many flows at once: each client gets its own source port, and so its own
# flow in the outside's NAT
pids=()
for i in $(seq 1 20); do
	tg_udp_echo "$NS_CS" "$LAN4" 7 $((100 + i)) >/dev/null &
	pids+=($!)
	tg_udp_echo "$NS_CS" "$LAN6" 7 $((200 + i)) >/dev/null &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do
	wait "$p" || bad=$((bad + 1))
done
check "40 concurrent UDP flows all echoed ($bad failed)" test "$bad" = 0

check "the tunnel stops cleanly" tg_stop_tunnel
check "the outside exits 0 after SIGTERM (got $TG_RC)" test "$TG_RC" = 0
tg_done
