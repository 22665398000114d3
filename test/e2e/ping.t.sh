#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ping: ICMP echo from cs to lan over IPv4 and IPv6 goes through the
# tunnel (the outside, as nobody, uses ping sockets); without the tunnel it
# does not get through at all.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

check "no ping from cs to lan before the tunnel is up" \
	not in_ns "$NS_CS" ping -q -c 1 -W 1 "$LAN4"
check "no IPv6 ping from cs to lan before the tunnel is up" \
	not in_ns "$NS_CS" ping -6 -q -c 1 -W 1 "$LAN6"
assert "the tunnel starts" tg_start_tunnel

check "ping $LAN4 from cs" in_ns "$NS_CS" ping -q -c 3 -W 2 "$LAN4"
check "ping -6 $LAN6 from cs" in_ns "$NS_CS" ping -6 -q -c 3 -W 2 "$LAN6"
# a big echo: the outside must carry it whole, lan's link fragments it
check "ping with 4000 bytes of data" \
	in_ns "$NS_CS" ping -q -c 2 -W 2 -s 4000 "$LAN4"
check "ping -6 with 4000 bytes of data" \
	in_ns "$NS_CS" ping -6 -q -c 2 -W 2 -s 4000 "$LAN6"
# a quick burst: nothing lost on a quiet link
check "ping, 20 in a burst" \
	in_ns "$NS_CS" ping -q -c 20 -i 0.01 -W 2 "$LAN4"

check "the tunnel stops cleanly" tg_stop_tunnel
tg_done
