#!/bin/bash
# SPDX-License-Identifier: MIT
#
# noipv6: a container with IPv6 disabled, as Docker starts one by default
# (net.ipv6.conf.all.disable_ipv6=1 in its namespace). The inside says so
# once and sets up IPv4 only: the TUN device gets its IPv4 address, the
# rules and the tunnel's table are IPv4 only, resolv.conf names the IPv4
# DNS address alone; the outside, told so in the inside's HELLO, offers no
# IPv6 prefix. IPv4 traffic (HTTP, UDP, ping) and DNS by name work, and
# the container is left exactly as it was.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

TG_OUTSIDE_ARGS=(-v) # DNS on, the default
DNS4=198.18.0.53 DNS6=fd7e:7475:6e::53
RESOLV_CS=/etc/netns/$NS_CS/resolv.conf

# Docker's default: the "all" knob, which sets "default" too, so that the
# TUN device is born without IPv6 like every other link of the container
tg_sysctl "$NS_CS" net.ipv6.conf.all.disable_ipv6=1
check "cs has no IPv6 address left" \
	test -z "$(ip -n "$NS_CS" -6 -o addr show)"
tg_snapshot "$NS_CS" >"$T/before"

mkdir -p "$T/www" && echo "hello from lan" >"$T/www/hello.txt"
tg_bg http "$NS_LAN" python3 -m http.server --bind "$LAN4" \
	--directory "$T/www" 8080
wait_for 10 tg_tcp_listening "$NS_LAN" 8080 || die "no HTTP server in lan"

assert "the tunnel starts" tg_start_tunnel

# --- what the inside said, and what the outside offered ----------------------
n=$(grep -c 'IPv6 is disabled' "$TG_INSIDE_LOG")
check "the inside says once that IPv6 is disabled ($n)" test "$n" = 1
check "and names the setting" grep -qF \
	'IPv6 is disabled in this container (net.ipv6.conf.all.disable_ipv6=1)' \
	"$TG_INSIDE_LOG"
check "the outside offers IPv4 only" \
	grep -q 'the inside has no IPv6: offering IPv4 only' "$TG_OUTSIDE_LOG"
check "the inside's READY counts one route (lan's IPv4 prefix)" \
	grep -q "inside is up: $TUN_DEV up, mtu [0-9]*, 1 route$" \
	"$TG_OUTSIDE_LOG"
check "no IPv6 route was offered (the inside warned about none)" \
	not grep -q "$LAN_NET6" "$TG_INSIDE_LOG"

# --- what the inside installed ---------------------------------------------
check "$TUN_DEV has $TUN4" \
	bash -c "ip -n $NS_CS -4 -o addr show dev $TUN_DEV | grep -q ' $TUN4/32 '"
check "$TUN_DEV has no IPv6 address" \
	test -z "$(ip -n "$NS_CS" -6 -o addr show dev "$TUN_DEV")"
check "both IPv4 rules are in" tg_has_rules "$NS_CS" -4
check "no IPv6 rule of ours" not tg_has_rule "$NS_CS" -6 "$TG_PREF"
check "no IPv6 table rule" not tg_has_rule "$NS_CS" -6 "$TG_TABLE"
check "the table routes lan over IPv4" bash -c \
	"ip -n $NS_CS -4 route show table $TG_TABLE | grep -q '^$LAN_NET4 .*dev $TUN_DEV'"
check "and the IPv4 DNS address" bash -c \
	"ip -n $NS_CS -4 route show table $TG_TABLE | grep -q '^$DNS4 .*dev $TUN_DEV'"
check "the table has no IPv6 route" \
	test -z "$(ip -n "$NS_CS" -6 route show table "$TG_TABLE" 2>/dev/null)"
check "resolv.conf asks $DNS4 first" \
	test "$(grep -m1 '^nameserver' "$RESOLV_CS")" = "nameserver $DNS4"
check "resolv.conf does not name $DNS6" not grep -q "$DNS6" "$RESOLV_CS"
check "the inside's log names no IPv6 DNS address" \
	not grep -q "$DNS6" "$TG_INSIDE_LOG"

# --- IPv4 traffic and DNS ---------------------------------------------------
check "UDP echo to $LAN4" tg_udp_echo "$NS_CS" "$LAN4" 7 1200
check "ping $LAN4" in_ns "$NS_CS" ping -q -c 2 -W 2 "$LAN4"
check "HTTP to $LAN4" test "$(in_ns "$NS_CS" curl -s -m 10 \
	"http://$LAN4:8080/hello.txt")" = "hello from lan"
# local's hosts file knows lan.tungate.test; the outside answers for it
check "a name resolves through the tunnel" bash -c \
	"ip netns exec $NS_CS getent ahostsv4 lan.tungate.test | grep -q '^$LAN4 '"
check "curl by name" test "$(in_ns "$NS_CS" curl -s -m 10 \
	http://lan.tungate.test:8080/hello.txt)" = "hello from lan"

# --- cleanup ------------------------------------------------------------------
check "the tunnel stops" tg_stop_tunnel
tg_snapshot "$NS_CS" >"$T/after"
check "the container is as it was" diff -u "$T/before" "$T/after"
check "no state file is left" test -z "$(tg_state_files "$NS_CS")"

# --- a read-only resolv.conf: the warning names the IPv4 DNS address alone --
tg_ro_resolv_sh
TG_INSIDE_RUN=("$T/ro.sh" "$T/tungate")
if check "read-only resolv.conf: the tunnel starts" tg_start_tunnel; then
	check "read-only resolv.conf: the warning names $DNS4 alone" \
		grep -q "warning: /etc/resolv.conf is read-only.* answers at $DNS4 (--no-dns" \
		"$TG_INSIDE_LOG"
	check "read-only resolv.conf: the tunnel stops" tg_stop_tunnel
fi
TG_INSIDE_RUN=()
tg_snapshot "$NS_CS" >"$T/after2"
check "the container is as it was again" diff -u "$T/before" "$T/after2"

# --- only new links without IPv6: the setting named is the one that is on --
tg_sysctl "$NS_CS" net.ipv6.conf.all.disable_ipv6=0
tg_sysctl "$NS_CS" net.ipv6.conf.default.disable_ipv6=1
if check "default.disable_ipv6 alone: the tunnel starts" tg_start_tunnel; then
	check "default.disable_ipv6 alone: the inside names that setting" \
		grep -qF '(net.ipv6.conf.default.disable_ipv6=1): setting up IPv4' \
		"$TG_INSIDE_LOG"
	check "default.disable_ipv6 alone: $TUN_DEV has no IPv6 address" \
		test -z "$(ip -n "$NS_CS" -6 -o addr show dev "$TUN_DEV")"
	check "default.disable_ipv6 alone: the tunnel stops" tg_stop_tunnel
fi
tg_done
