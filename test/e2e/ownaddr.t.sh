#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ownaddr: the developer's machine's own addresses are refused as they are
# now, not as they were when the outside started (issue 17, item 1).
#
# A service listens on every address of local (0.0.0.0 and ::, TCP 8080,
# UDP 7). After the outside is up, local gains three kinds of address the
# kernel delivers to although the interface does not look usable:
#
#   198.19.50.1/24  on a bridge with no ports (up, no carrier: its last
#                   port has gone, as docker0's after the last container)
#   198.19.51.1/24  on one end of a veth pair left down (this kernel has
#                   no dummy devices)
#   198.19.2.77/24  an extra address on the LAN side (and fd7e:2::77),
#                   198.19.2.77 until then lan's, with a UDP flow open to
#                   it (lan runs the same service, saying "hello-from-lan")
#
# And one that was there before the start: 198.19.52.1/24 on another veth
# pair left down (not UP and RUNNING, so not read as local's before).
#
# The outside offers their prefixes (198.19.50.0/24 to 198.19.52.0/24 and
# lan's), so only the policy stands between cs and local's service. Each
# address is refused at once: TCP with a RST, UDP and ping with ICMP
# administratively prohibited, each within 1 s, the flow opened before
# included; the outside says so in one line. Then, with --allow naming
# them, the same addresses added while up are reached.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

IF_BR=${TG_ID}-br IF_VA=${TG_ID}-va IF_VB=${TG_ID}-vb
IF_VC=${TG_ID}-vc IF_VD=${TG_ID}-vd
BR4=198.19.50.1 DOWN4=198.19.51.1 EXTRA4=198.19.2.77 EXTRA6=fd7e:2::77
EARLY4=198.19.52.1
TCP_PORT=8080 UDP_PORT=9 SPORT=40777
PROBE=$TG_LIB_DIR/ownaddr.py
ROUTES=(--route 198.19.50.0/24 --route 198.19.51.0/24 --route 198.19.52.0/24)

# probe ARGS... - ownaddr.py in cs; PROBE_RC is its verdict
probe() { tg_probe "$PROBE" "$@"; }

# verdict WANT ARGS... - the probe ARGS... ends with WANT (see ownaddr.py)
verdict() {
	local want=$1
	shift
	probe "$@"
	[ "$PROBE_RC" = "$want" ] && return 0
	sed "s/^/    (exit $PROBE_RC) /" "$T/probe.out" >&2
	return 1
}

# add_addresses - the bridge, the veth pair and the extra LAN-side
# addresses, on a running outside
add_addresses() {
	must ip -n "$NS_LOCAL" link add "$IF_BR" type bridge
	must ip -n "$NS_LOCAL" link set "$IF_BR" up
	# a port that comes and goes takes the carrier with it
	must ip -n "$NS_LOCAL" link add "$IF_VA" type veth peer name "$IF_VB"
	must ip -n "$NS_LOCAL" link set "$IF_VB" master "$IF_BR"
	must ip -n "$NS_LOCAL" link set "$IF_VB" nomaster
	must ip -n "$NS_LOCAL" addr add "$BR4/24" dev "$IF_BR"
	must ip -n "$NS_LOCAL" addr add "$DOWN4/24" dev "$IF_VA"
	must ip -n "$NS_LOCAL" addr add "$EXTRA4/24" dev "$IF_LL"
	must ip -n "$NS_LOCAL" addr add "$EXTRA6/64" dev "$IF_LL" nodad
}

del_addresses() {
	must ip -n "$NS_LOCAL" link del "$IF_BR"
	must ip -n "$NS_LOCAL" link del "$IF_VA"
	must ip -n "$NS_LOCAL" addr del "$EXTRA4/24" dev "$IF_LL"
	must ip -n "$NS_LOCAL" addr del "$EXTRA6/64" dev "$IF_LL"
}

tg_bg local-srv "$NS_LOCAL" python3 "$PROBE" serve "$TCP_PORT" "$UDP_PORT"
tg_bg lan-srv "$NS_LAN" python3 "$PROBE" serve "$TCP_PORT" "$UDP_PORT" lan
wait_for 10 tg_tcp_listening "$NS_LOCAL" "$TCP_PORT" ||
	die "setup: no service in local"
wait_for 10 tg_tcp_listening "$NS_LAN" "$TCP_PORT" ||
	die "setup: no service in lan"
# the address that moves from lan to local
must ip -n "$NS_LAN" addr add "$EXTRA4/24" dev "$IF_LAN"
# down before the start
must ip -n "$NS_LOCAL" link add "$IF_VC" type veth peer name "$IF_VD"
must ip -n "$NS_LOCAL" addr add "$EARLY4/24" dev "$IF_VC"

say "without --allow"
assert "the tunnel starts" tg_start_tunnel "${ROUTES[@]}"
check "a UDP flow to $EXTRA4 while it is lan's: lan's service answers" \
	verdict 3 udp "$EXTRA4" "$UDP_PORT" "$SPORT"
check "tcp $EARLY4:$TCP_PORT (down since before the start): refused" \
	verdict 1 tcp "$EARLY4" "$TCP_PORT"
check "udp $EARLY4:$UDP_PORT (down since before the start): refused" \
	verdict 1 udp "$EARLY4" "$UDP_PORT"
must ip -n "$NS_LAN" addr del "$EXTRA4/24" dev "$IF_LAN"
add_addresses
# the bridge has no carrier, the veth is down: the kernel delivers anyway
check "the bridge has no carrier" \
	not grep -q LOWER_UP <<<"$(ip -n "$NS_LOCAL" link show "$IF_BR")"
check "the veth is down" \
	not grep -q '[<,]UP[,>]' <<<"$(ip -n "$NS_LOCAL" link show "$IF_VA")"
for a in "$BR4" "$DOWN4" "$EXTRA4" "$EXTRA6"; do
	check "tcp $a:$TCP_PORT: refused within 1 s" \
		verdict 1 tcp "$a" "$TCP_PORT"
	check "udp $a:$UDP_PORT: refused within 1 s" \
		verdict 1 udp "$a" "$UDP_PORT"
done
for a in "$BR4" "$DOWN4" "$EXTRA4"; do
	check "ping $a: refused within 1 s" verdict 1 ping "$a"
done
check "the UDP flow opened while $EXTRA4 was lan's: refused now" \
	verdict 1 udp "$EXTRA4" "$UDP_PORT" "$SPORT"
check "the outside logs the new own addresses" \
	grep -q "own addresses changed .*+$BR4" "$TG_OUTSIDE_LOG"
check "the outside ended the flow to $EXTRA4 when it became local's" \
	grep -q "+$EXTRA4; 1 flow to them ended" "$TG_OUTSIDE_LOG"
check "the outside names --allow" \
	grep -q "refused tcp .*:$TCP_PORT: this machine's own address (use --allow" \
	"$TG_OUTSIDE_LOG"
check "lan is still reached" tg_udp_echo "$NS_CS" "$LAN4" 7 100
check "the tunnel stops cleanly" tg_stop_tunnel
del_addresses

say "with --allow"
assert "the tunnel starts with --allow" tg_start_tunnel "${ROUTES[@]}" \
	--allow "$BR4" --allow "$DOWN4" --allow "$EXTRA4" --allow "$EXTRA6"
add_addresses
for a in "$BR4" "$DOWN4" "$EXTRA4" "$EXTRA6"; do
	check "--allow: tcp $a:$TCP_PORT reached" verdict 0 tcp "$a" "$TCP_PORT"
	check "--allow: udp $a:$UDP_PORT reached" verdict 0 udp "$a" "$UDP_PORT"
done
for a in "$BR4" "$DOWN4" "$EXTRA4"; do
	check "--allow: ping $a answered" verdict 0 ping "$a"
done
check "the tunnel stops cleanly" tg_stop_tunnel
tg_done
