#!/bin/bash
# SPDX-License-Identifier: MIT
#
# direct: what cs routes itself stays out of the tunnel. Its gateway subnet
# is looked up in the main table (the suppress_prefixlength 0 rule) and
# leaves by the veth; pinging it moves no packet through tungate0, while
# pinging lan does.
#
# shellcheck source-path=SCRIPTDIR disable=SC2317
. "$(dirname "$0")/lib.sh"
tg_setup

assert "the tunnel starts" tg_start_tunnel

# route_dev DEST - the device `ip route get DEST` picks in cs
route_dev() {
	ip -n "$NS_CS" route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p'
}

for dst in "$GW4" "$GW6" 198.18.1.77 fd7e:1::77; do
	dev=$(route_dev "$dst")
	check "route to $dst from cs: via $IF_CS (got '$dev')" \
		test "$dev" = "$IF_CS"
done
for dst in "$LAN4" "$LAN6"; do
	dev=$(route_dev "$dst")
	check "route to $dst from cs: via $TUN_DEV (got '$dev')" \
		test "$dev" = "$TUN_DEV"
done
src=$(ip -n "$NS_CS" route get "$LAN4" | sed -n 's/.* src \([^ ]*\).*/\1/p')
check "traffic to lan leaves from the tunnel's address $TUN4 (got '$src')" \
	test "$src" = "$TUN4"
src=$(ip -n "$NS_CS" route get "$LAN6" | sed -n 's/.* src \([^ ]*\).*/\1/p')
check "traffic to lan leaves from the tunnel's address $TUN6 (got '$src')" \
	test "$src" = "$TUN6"
# the default route is still the container's: only the offered prefixes
# are caught
dev=$(route_dev 198.19.99.1)
check "route to 198.19.99.1 (not offered): via $IF_CS (got '$dev')" \
	test "$dev" = "$IF_CS"

DTX=-1 DRX=-1
# delta CMD... - run CMD; DTX and DRX are the packets tungate0 sent and
# received meanwhile; returns CMD's status
delta() {
	local tx rx rc
	tx=$(tg_counter "$NS_CS" "$TUN_DEV" tx)
	rx=$(tg_counter "$NS_CS" "$TUN_DEV" rx)
	"$@"
	rc=$?
	DTX=$(($(tg_counter "$NS_CS" "$TUN_DEV" tx) - tx))
	DRX=$(($(tg_counter "$NS_CS" "$TUN_DEV" rx) - rx))
	return "$rc"
}

check "ping the gateway $GW4" \
	delta in_ns "$NS_CS" ping -q -c 5 -i 0.2 -W 2 "$GW4"
check "ping the gateway: tungate0 sent fewer than 5 packets ($DTX)" \
	test "$DTX" -lt 5
check "ping the gateway: tungate0 received fewer than 5 packets ($DRX)" \
	test "$DRX" -lt 5

check "ping the gateway $GW6" \
	delta in_ns "$NS_CS" ping -6 -q -c 5 -i 0.2 -W 2 "$GW6"
check "ping -6 the gateway: tungate0 sent fewer than 5 packets ($DTX)" \
	test "$DTX" -lt 5

# the control: the counters do move for lan
check "ping lan $LAN4" delta in_ns "$NS_CS" ping -q -c 5 -i 0.2 -W 2 "$LAN4"
check "ping lan: tungate0 sent at least 5 packets ($DTX)" test "$DTX" -ge 5
check "ping lan: tungate0 received at least 5 packets ($DRX)" \
	test "$DRX" -ge 5

check "the tunnel stops cleanly" tg_stop_tunnel
tg_done
