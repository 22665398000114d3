# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034,SC2154,SC2153
# SPDX-License-Identifier: MIT
#
# usernet.sh - bench.sh's userspace NATs on the laptop: pasta and
# slirp4netns, the peers issue 20 holds the pipe's round trips against.
#
# Theory of operation. Neither is a tunnel: each is one process in local
# that owns a tap device in another namespace and turns what arrives on it
# into local's own sockets, as tungate's outside does with what the inside
# sends. So each gets a namespace of its own, NS_USER, with nothing in it
# but lo and that tap (USER_DEV); while it is up, bench_all's clients run
# there (BENCH_NS) against the same lan servers, and the NAT's CPU per GB
# counts the tap's bytes (BENCH_DEV). NS_USER is made before each start
# and removed after each stop, and by bench_on_exit on every other way
# out; the NAT runs under tg_bg, so lib.sh's trap stops it too, and both
# also quit when their namespace goes.
#
# Addresses stay in the test world. pasta copies local's lan-side address
# (198.19.2.1/24, the interface given with -i) and, since local has no
# default route, is given lan's server as the gateway; slirp4netns gets a
# /24 of 198.18/15 (its default, 10.0.2.0/24, is not ours). Neither
# forwards DNS or ports: pasta -D none -S none and none of its four
# automatic port forwards, slirp4netns --disable-dns and
# --disable-host-loopback. Both carry ICMP echo through ping sockets in
# local, which lib.sh's tg_setup allows there (net.ipv4.ping_group_range).

NS_USER=${TG_ID}un
USER_DEV=nat0
SLIRP_CIDR=198.18.6.0/24
BENCH_NAT_PID=''

# bench_usernet NAME - contender NAME (pasta or slirp) when its program is
# installed: started, every metric of bench_all (DNS: nsd in lan, as for
# direct), stopped
bench_usernet() {
	local name=$1 prog=pasta
	[ "$name" = slirp ] && prog=slirp4netns
	if ! command -v "$prog" >/dev/null; then
		say "$name: $prog is not installed (make bench installs it)"
		return 0
	fi
	say "$name: $prog in local, for a namespace of its own"
	"bench_start_$name" || return 0
	bench_all "$name" "$LAN4"
	bench_stop_usernet
}

# bench_start_pasta - pasta in local, attached to a fresh NS_USER. As
# root (--runas 0:0): run as nobody, its default for root, it cannot
# enter a namespace that belongs to the initial user namespace.
bench_start_pasta() {
	bench_usernet_ns
	tg_bg pasta "$NS_LOCAL" pasta --foreground --quiet --runas 0:0 \
		--ipv4-only --config-net --interface "$IF_LL" \
		--ns-ifname "$USER_DEV" --gateway "$LAN4" --no-map-gw \
		--dns none --search none --tcp-ports none --udp-ports none \
		--tcp-ns none --udp-ns none --netns "/run/netns/$NS_USER"
	bench_usernet_up pasta
}

# bench_start_slirp - slirp4netns in local, for a fresh NS_USER; the MTU
# pasta uses by default, as Podman gives slirp4netns
bench_start_slirp() {
	bench_usernet_ns
	tg_bg slirp "$NS_LOCAL" slirp4netns --configure --mtu=65520 \
		--cidr="$SLIRP_CIDR" --disable-dns --disable-host-loopback \
		--netns-type=path "/run/netns/$NS_USER" "$USER_DEV"
	bench_usernet_up slirp
}

# bench_usernet_up NAME - once lan answers a ping through the NAT just
# started, point the clients at NS_USER
bench_usernet_up() {
	BENCH_NAT_PID=$TG_LAST_PID
	if ! wait_for 10 in_ns "$NS_USER" ping -c 1 -W 1 "$LAN4"; then
		say "$1: lan does not answer through it (see $1.log)"
		bench_stop_usernet
		return 1
	fi
	BENCH_NS=$NS_USER BENCH_DEV=$USER_DEV BENCH_OUT_PID=$BENCH_NAT_PID
	return 0
}

bench_stop_usernet() {
	kill -TERM -- "-$BENCH_NAT_PID" 2>/dev/null
	wait_for 10 not tg_group_alive "$BENCH_NAT_PID" ||
		say "the NAT (process group $BENCH_NAT_PID) did not exit in 10 s"
	bench_usernet_ns_del
	BENCH_NS=$NS_CS BENCH_DEV=$TUN_DEV
}

# bench_usernet_ns - NS_USER: lo, a resolv.conf naming lan's nsd (as cs
# has; `ip netns exec` would show the clients this machine's own), wrk's
# port range
bench_usernet_ns() {
	must ip netns add "$NS_USER"
	must ip -n "$NS_USER" link set lo up
	tg_etc "$NS_USER" "$LAN4"
	tg_sysctl "$NS_USER" net.ipv4.ip_local_port_range="10000 65000"
}

# bench_usernet_ns_del - NS_USER and its /etc/netns dir gone, with any
# process still in it
bench_usernet_ns_del() {
	local p
	if [ -e "/run/netns/$NS_USER" ]; then
		for p in $(ip netns pids "$NS_USER" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$NS_USER"
	fi
	rm -rf "/etc/netns/$NS_USER"
	return 0
}
