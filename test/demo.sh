#!/bin/bash
# SPDX-License-Identifier: MIT
#
# demo.sh [BINARY] - tungate at work in a throwaway world of network
# namespaces (see test/e2e/lib.sh): a container "cs", the developer's
# machine "local" and a LAN "lan" that only local can reach. The outside
# runs in local as nobody, the inside in cs as root; then a few requests
# go from cs to lan through the tunnel. Everything is removed at the end.
# `make demo` runs it with ./tungate.

set -u -o pipefail

if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null; then
		echo "demo.sh: network namespaces need root; running it with sudo"
		exec sudo -- "$0" "$@"
	fi
	echo "demo.sh: needs root (network namespaces, a TUN device)" >&2
	exit 1
fi

TUNGATE=${1:-./tungate}
# shellcheck source=e2e/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/e2e/lib.sh"
[ -x "$TUNGATE" ] || die "no binary at $TUNGATE: run make tungate first"

FAILED=0
step() {
	echo
	echo "== $*"
}
# show CMD... - run CMD in cs, showing it as typed there
show() {
	echo "cs# $*"
	ip netns exec "$NS_CS" "$@" 2>&1
}
# must_show DESC CMD... - a step that has to work
must_show() {
	local desc=$1
	shift
	if show "$@"; then
		echo "-> ok: $desc"
	else
		echo "-> FAILED: $desc"
		FAILED=1
	fi
}

step "building the world: namespaces $NS_CS, $NS_LOCAL, $NS_LAN"
tg_setup
mkdir -p "$T/www" && echo "hello from lan, through tungate" >"$T/www/index.html"
tg_bg http "$NS_LAN" python3 -m http.server 8080 --bind "$LAN4" \
	--directory "$T/www"
wait_for 10 tg_tcp_listening "$NS_LAN" 8080 || echo "(no HTTP server in lan)"
echo "cs    $CS4 $CS6, default route via local ($GW4)"
echo "local $GW4 towards cs, $LOCAL_LAN4 towards lan; it does not forward"
echo "lan   $LAN4 $LAN6: UDP echo on port 7, HTTP on port 8080"

step "without the tunnel, cs cannot reach lan"
if show ping -c 1 -W 1 "$LAN4" | grep transmitted; then
	echo "-> FAILED: cs reaches lan without the tunnel: the demo proves nothing"
	FAILED=1
else
	echo "-> as it should be: local does not forward"
fi

step "starting the tunnel: the outside in local as nobody, the inside in cs"
echo "local\$ setpriv --reuid=nobody ... tungate outside --exec 'socat - TCP:$CS4:$TG_PORT' --route $LAN_NET4 --route $LAN_NET6 ${TG_OUTSIDE_ARGS[*]}"
echo "cs#    socat TCP-LISTEN:$TG_PORT EXEC:'tungate inside --stdio'"
# shellcheck disable=SC2119 # no extra flags for the outside
if ! tg_start_tunnel; then
	echo "-> FAILED: the tunnel did not come up; the outside said:"
	tail -n 10 "$TG_OUTSIDE_LOG"
	exit 1
fi
echo "-> the outside logged: $(grep -m 1 'inside is up' "$TG_OUTSIDE_LOG")"

step "lan is now routed into the TUN device; cs's own subnet is not"
must_show "lan goes via $TUN_DEV" ip route get "$LAN4"
show ip route get "$GW4"
show ip rule show

step "a UDP echo round trip, IPv4 and IPv6"
must_show "UDP echo over IPv4" python3 "$TG_LIB_DIR/udp.py" check "$LAN4" 7 32 3
must_show "UDP echo over IPv6" python3 "$TG_LIB_DIR/udp.py" check "$LAN6" 7 32 3

step "ping, IPv4 and IPv6 (the outside uses unprivileged ping sockets)"
must_show "ping over IPv4" ping -c 3 -i 0.3 -W 2 "$LAN4"
must_show "ping over IPv6" ping -6 -c 3 -i 0.3 -W 2 "$LAN6"

step "HTTP (TCP may not be carried yet: the result is shown, not required)"
if show curl -sS -m 5 "http://$LAN4:8080/"; then
	echo "-> ok: HTTP over TCP"
else
	echo "-> (no answer over TCP yet)"
fi

step "the TUN device's counters in cs"
show ip -s link show "$TUN_DEV"

step "stopping the tunnel (SIGTERM to the outside)"
tg_stop_tunnel
echo "-> cs has no $TUN_DEV: $(ip -n "$NS_CS" link show "$TUN_DEV" 2>&1 | head -n 1)"

step "the outside's log"
tail -n 15 "$TG_OUTSIDE_LOG"
step "the inside's log"
tail -n 15 "$TG_INSIDE_LOG"

echo
if [ "$FAILED" = 0 ] && [ "$TG_FAILED" = 0 ]; then
	echo "demo: all went through the tunnel; removing the world"
else
	echo "demo: some steps FAILED (see above); removing the world"
	exit 1
fi
exit 0
