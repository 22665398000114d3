#!/bin/bash
# SPDX-License-Identifier: MIT
#
# routes: routes that find themselves, never loop, and never expose what
# they should not (issue 6).
#
# The world of lib.sh grows by two namespaces that this test makes and
# removes itself: lan2, a second private network of local's, and inet,
# which stands for the internet (local's default routes point at it):
#
#   local  198.19.3.1   fd7e:3::1   ---- lan2  198.19.3.2/24   fd7e:3::2/64
#          198.19.200.1 fd7e:200::1 ---- inet  198.19.200.2/24 fd7e:200::2/64
#                                          "a host on the internet":
#                                          198.19.201.1, fd7e:201::1 (its lo)
#
# local reaches cs from 198.19.5.1 (an address on its lo, chosen by a host
# route), so cs answers the stream through its default route: with
# `--route default` the stream would enter its own tunnel unless the inside
# keeps 198.19.5.1 out of it (--peer on the outside, or SSH_CONNECTION).
#
# Covered: auto offers both private prefixes and neither the default nor
# cs's own link; a route added to local while running reaches cs's table
# within 5 s (and the NAT lets traffic through), and leaves when removed;
# local's 127.0.0.1, ::1 and own addresses are refused fast until --allow
# names them; --route default carries traffic to the internet host while
# the stream stays up, with --peer, with SSH_CONNECTION, and over --ssh to
# a real sshd (the inside finds SSH_CONNECTION in its parent's environment,
# as under sudo) - and, as the control, loses the stream when nothing keeps
# its path out; offered prefixes inside and around cs's gateway subnet,
# which stays direct; the TUN and DNS addresses colliding with cs's
# addresses stop the outside with exit 1 and a line naming --tun-addr /
# --dns-addr.
#
# shellcheck source-path=SCRIPTDIR disable=SC2317
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

NS_LAN2=${TG_ID}lan2 NS_INET=${TG_ID}inet
IF_L2=${TG_ID}-l2 IF_2L=${TG_ID}-2l IF_LI=${TG_ID}-li IF_IN=${TG_ID}-in
LAN2_NET4=198.19.3.0/24 LAN2_NET6=fd7e:3::/64
LAN2_4=198.19.3.2 LAN2_6=fd7e:3::2
INET4=198.19.201.1 INET6=fd7e:201::1 # the internet host
PEER4=198.19.5.1		     # where local's stream to cs starts
LATE4=198.19.40.0/24 LATE6=fd7e:40::/64 # routes added while running
LATE_HOST4=198.19.40.1 LATE_HOST6=fd7e:40::1
SRV_PORT=8080
MORE_WORLD=0

# lib.sh's teardown stops every process this test started; then the extra
# namespaces go
eval "lib_$(declare -f tg_teardown)"
tg_teardown() {
	local ns p
	lib_tg_teardown "$@"
	[ "$MORE_WORLD" = 1 ] || return 0
	for ns in "$NS_LAN2" "$NS_INET"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			echo "# leftover process in $ns: $p" >&2
			kill -KILL "$p" 2>/dev/null
		done
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	return 0
}

# fail() of lib.sh, silenced while a test expects tg_start_tunnel to fail
EXPECT_FAIL=0
eval "lib_$(declare -f fail)"
fail() {
	[ "$EXPECT_FAIL" = 1 ] && return 0
	lib_fail "$@"
}

tg_setup

# --- the bigger world -----------------------------------------------------------

for ns in "$NS_LAN2" "$NS_INET"; do
	! [ -e "/run/netns/$ns" ] || die "namespace $ns exists already"
done
MORE_WORLD=1
for ns in "$NS_LAN2" "$NS_INET"; do
	must ip netns add "$ns"
	must ip -n "$ns" link set lo up
	tg_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
done
must ip link add "$IF_L2" netns "$NS_LOCAL" type veth \
	peer name "$IF_2L" netns "$NS_LAN2"
must ip link add "$IF_LI" netns "$NS_LOCAL" type veth \
	peer name "$IF_IN" netns "$NS_INET"
must ip -n "$NS_LOCAL" addr add 198.19.3.1/24 dev "$IF_L2"
must ip -n "$NS_LOCAL" addr add fd7e:3::1/64 dev "$IF_L2" nodad
must ip -n "$NS_LAN2" addr add "$LAN2_4/24" dev "$IF_2L"
must ip -n "$NS_LAN2" addr add "$LAN2_6/64" dev "$IF_2L" nodad
must ip -n "$NS_LAN2" addr add "$LATE_HOST4/32" dev lo
must ip -n "$NS_LAN2" addr add "$LATE_HOST6/128" dev lo
must ip -n "$NS_LOCAL" addr add 198.19.200.1/24 dev "$IF_LI"
must ip -n "$NS_LOCAL" addr add fd7e:200::1/64 dev "$IF_LI" nodad
must ip -n "$NS_INET" addr add 198.19.200.2/24 dev "$IF_IN"
must ip -n "$NS_INET" addr add fd7e:200::2/64 dev "$IF_IN" nodad
must ip -n "$NS_INET" addr add "$INET4/32" dev lo
must ip -n "$NS_INET" addr add "$INET6/128" dev lo
for l in "$NS_LOCAL $IF_L2" "$NS_LOCAL $IF_LI" "$NS_LAN2 $IF_2L" \
	"$NS_INET $IF_IN"; do
	read -r ns dev <<<"$l"
	must ip -n "$ns" link set "$dev" up
done
must ip -n "$NS_LOCAL" route add default via 198.19.200.2
must ip -n "$NS_LOCAL" -6 route add default via fd7e:200::2
# the stream's path: local talks to cs from an address cs does not route
# itself, so cs answers through its default route
must ip -n "$NS_LOCAL" addr add "$PEER4/32" dev lo
must ip -n "$NS_LOCAL" route add "$CS4/32" dev "$IF_LC" src "$PEER4"

# --- probes ------------------------------------------------------------------------

PROBE=$T/probe.py
cat >"$PROBE" <<'EOF'
"""probe.py - a UDP echo on given addresses, and TCP probes from cs.

  probe.py serve PORT ADDR...  echo datagrams to each ADDR:PORT, answering
                               from that address (udp.py answers from
                               whatever address routing picks, which a
                               connected socket on the NAT would not take)
  probe.py connect HOST PORT   exit 0: connected and read a line; 1: refused
                               or unreachable within 1 s; 2: anything slower
  probe.py inject DEV SRC DST PORT
                               hand a TCP SYN from SRC to DST straight to the
                               TUN device DEV (a packet socket), so that the
                               inside carries it whatever the kernel would
                               route; exit 0: SYN-ACK, 1: RST or ICMP error
                               within 1 s, 2: nothing
"""
import os, select, socket, struct, sys, time

def serve(port, addrs):
    socks = []
    for a in addrs:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((a, port))
        socks.append(s)
    print(f"udp echo on {' '.join(addrs)} port {port}", flush=True)
    while True:
        for s in select.select(socks, [], [])[0]:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)

def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    t = time.monotonic()
    try:
        s.connect((host, port))
        line = s.makefile().readline()
        print(f"connected, read {line.strip()!r}")
        return 0 if line.startswith("hello") else 2
    except OSError as e:
        dt = time.monotonic() - t
        print(f"{e.__class__.__name__} ({e.errno}) after {dt:.2f} s")
        return 1 if dt < 1.0 and not isinstance(e, TimeoutError) else 2

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def syn(src, dst, sport, dport):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02,
                      65535, 0, 0)
    if fam == socket.AF_INET:
        pseudo = s + d + struct.pack("!BBH", 0, 6, len(tcp))
    else:
        pseudo = s + d + struct.pack("!IxxxB", len(tcp), 6)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    if fam == socket.AF_INET:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64,
                         6, 0, s, d)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        return fam, ip + tcp
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, s, d)
    return fam, ip + tcp

def answer(fam, pkt, dst, sport, dport):
    """'synack', 'rst', 'icmp' or None for a packet the kernel received"""
    if fam == socket.AF_INET:
        if len(pkt) < 20 or pkt[0] >> 4 != 4:
            return None
        hl, proto, src = (pkt[0] & 15) * 4, pkt[9], pkt[12:16]
        if proto == 1 and len(pkt) >= hl + 1 and pkt[hl] == 3:
            return "icmp"
    else:
        if len(pkt) < 40 or pkt[0] >> 4 != 6:
            return None
        hl, proto, src = 40, pkt[6], pkt[8:24]
        if proto == 58 and len(pkt) >= hl + 1 and pkt[hl] == 1:
            return "icmp"
    if proto != 6 or src != socket.inet_pton(fam, dst) or len(pkt) < hl + 14:
        return None
    sp, dp = struct.unpack("!HH", pkt[hl:hl + 4])
    if (sp, dp) != (dport, sport):
        return None
    flags = pkt[hl + 13]
    if flags & 0x04:
        return "rst"
    if flags & 0x12 == 0x12:
        return "synack"
    return None

def inject(dev, src, dst, port):
    sport = 40000 + os.getpid() % 20000
    fam, pkt = syn(src, dst, sport, port)
    proto = 0x0800 if fam == socket.AF_INET else 0x86DD
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
    rx.bind((dev, 3))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                       socket.htons(proto))
    tx.sendto(pkt, (dev, proto))
    end = time.monotonic() + 1.0
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([rx], [], [], left)[0]:
            print("no answer within 1 s")
            return 2
        data, addr = rx.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        a = answer(fam, data, dst, sport, port)
        if a:
            print(a)
            return 0 if a == "synack" else 1

if sys.argv[1] == "serve":
    serve(int(sys.argv[2]), sys.argv[3:])
if sys.argv[1] == "connect":
    sys.exit(connect(sys.argv[2], int(sys.argv[3])))
sys.exit(inject(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
EOF

tg_bg udp-echo-lan2 "$NS_LAN2" python3 "$PROBE" serve 7 "$LAN2_4" "$LAN2_6" \
	"$LATE_HOST4" "$LATE_HOST6"
tg_bg udp-echo-inet "$NS_INET" python3 "$PROBE" serve 7 "$INET4" "$INET6"
# a service on local, on every address (127.0.0.1, ::1 and its veths)
tg_bg local-srv "$NS_LOCAL" socat \
	"TCP6-LISTEN:$SRV_PORT,ipv6only=0,fork,reuseaddr" \
	SYSTEM:'echo hello-from-local'
wait_for 10 tg_udp_listening "$NS_LAN2" 7 || die "setup: no UDP echo in lan2"
wait_for 10 tg_udp_listening "$NS_INET" 7 || die "setup: no UDP echo in inet"
wait_for 10 tg_tcp_listening "$NS_LOCAL" "$SRV_PORT" ||
	die "setup: no TCP service in local"
wait_for 10 in_ns "$NS_LOCAL" ping -c 1 -W 1 "$INET4" ||
	die "setup: local cannot ping the internet host"
wait_for 10 in_ns "$NS_LOCAL" ping -6 -c 1 -W 1 "$INET6" ||
	die "setup: local cannot ping the internet host over IPv6"
wait_for 10 in_ns "$NS_LOCAL" ping -c 1 -W 1 "$LAN2_4" ||
	die "setup: local cannot ping lan2"
unset SSH_CONNECTION

# probe ARGS... - run probe.py in cs; its output is in $T/probe.out
probe() { tg_probe "$PROBE" "$@"; }

# refused_fast ARGS... / reached ARGS... - the probe's verdict
refused_fast() {
	probe "$@"
	[ "$PROBE_RC" = 1 ] || { sed 's/^/    /' "$T/probe.out" >&2; return 1; }
}
reached() {
	probe "$@"
	[ "$PROBE_RC" = 0 ] || { sed 's/^/    /' "$T/probe.out" >&2; return 1; }
}

# in_table NS PREFIX - the tunnel's table holds PREFIX (routed or thrown)
in_table() {
	local fam=-4
	case $2 in *:*) fam=-6 ;; esac
	ip -n "$1" "$fam" route show table "$TG_TABLE" |
		awk -v h="${fam#-}" '{
			p = $1 == "throw" ? $2 : $1
			if (p != "default" && p !~ /\//)
				p = p (h == 4 ? "/32" : "/128")
			print p }' | grep -qx "$2"
}

# route_dev DEST - the device `ip route get DEST` picks in cs
route_dev() {
	ip -n "$NS_CS" route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p'
}

in_state_file() {
	grep -q " $1\$" "$(tg_state_files "$NS_CS")"
}

# up_still - the stream is up: both sides alive, no goodbye in the log
up_still() {
	tg_alive "$TG_OUTSIDE_PID" && ! grep -q "said goodbye\|silent" \
		"$TG_OUTSIDE_LOG"
}

# outside_fails - the outside exits 1 within 15 s
outside_fails() {
	tg_wait_exit "$TG_OUTSIDE_PID" 15 && [ "$TG_RC" = 1 ]
}

# no_rules_left - cs has none of the inside's rules
no_rules_left() {
	! tg_has_rule "$NS_CS" -4 "$TG_PREF" && ! tg_has_rule "$NS_CS" -6 "$TG_PREF"
}

# --- auto ----------------------------------------------------------------------------

say "--route auto"
assert "the tunnel starts with --route auto" tg_start_tunnel --route auto
for p in "$LAN_NET4" "$LAN2_NET4" "$LAN_NET6" "$LAN2_NET6"; do
	check "auto: $p is in cs's table $TG_TABLE" in_table "$NS_CS" "$p"
done
for p in default 198.18.1.0/24 fd7e:1::/64; do
	check "auto: $p is not in cs's table $TG_TABLE" \
		not in_table "$NS_CS" "$p"
done
check "auto: the offer is logged in one line, with lan2" \
	grep -q "offering .* $LAN2_NET4 .*$LAN2_NET6" "$TG_OUTSIDE_LOG"
check "auto: the inside says why cs's own link is skipped" \
	grep -q "not routing 198.18.1.0/24 .*inside 198.18.1.0/24" \
	"$TG_INSIDE_LOG"
check "auto: lan2 answers through the tunnel (v4)" \
	tg_udp_echo "$NS_CS" "$LAN2_4" 7 100
check "auto: lan2 answers through the tunnel (v6)" \
	tg_udp_echo "$NS_CS" "$LAN2_6" 7 100

say "a route added to local while running"
must ip -n "$NS_LOCAL" route add "$LATE4" via "$LAN2_4"
must ip -n "$NS_LOCAL" -6 route add "$LATE6" via "$LAN2_6"
start=$SECONDS
check "new route $LATE4 reaches cs within 5 s" \
	wait_for 5 in_table "$NS_CS" "$LATE4"
check "new route $LATE6 reaches cs within 5 s" \
	wait_for 5 in_table "$NS_CS" "$LATE6"
say "appeared after $((SECONDS - start)) s"
check "the state file lists $LATE4" in_state_file "$LATE4"
check "the outside logs the change" \
	grep -q "routes changed (2 new, 0 gone)" "$TG_OUTSIDE_LOG"
check "the NAT lets traffic to the new route through (v4)" \
	tg_udp_echo "$NS_CS" "$LATE_HOST4" 7 100
check "the NAT lets traffic to the new route through (v6)" \
	tg_udp_echo "$NS_CS" "$LATE_HOST6" 7 100
must ip -n "$NS_LOCAL" route del "$LATE4" via "$LAN2_4"
must ip -n "$NS_LOCAL" -6 route del "$LATE6" via "$LAN2_6"
check "withdrawn route $LATE4 leaves cs within 5 s" \
	wait_for 5 not in_table "$NS_CS" "$LATE4"
check "withdrawn route $LATE6 leaves cs within 5 s" \
	wait_for 5 not in_table "$NS_CS" "$LATE6"
check "the state file no longer lists $LATE4" not in_state_file "$LATE4"
check "lan stays routed" tg_has_routes "$NS_CS"

say "refused destinations, without --allow"
check "local's own address $LOCAL_LAN4: refused within 1 s" \
	refused_fast connect "$LOCAL_LAN4" "$SRV_PORT"
check "local's own address $LOCAL_LAN6: refused within 1 s" \
	refused_fast connect "$LOCAL_LAN6" "$SRV_PORT"
check "local's 127.0.0.1: refused within 1 s" \
	refused_fast inject "$TUN_DEV" "$TUN4" 127.0.0.1 "$SRV_PORT"
check "local's ::1: refused within 1 s" \
	refused_fast inject "$TUN_DEV" "$TUN6" ::1 "$SRV_PORT"
check "the outside says why, naming --allow" \
	grep -qi "refused tcp .*:$SRV_PORT: .* (use --allow" "$TG_OUTSIDE_LOG"
check "the tunnel stops cleanly" tg_stop_tunnel

say "refused destinations, with --allow"
assert "the tunnel starts with --allow" tg_start_tunnel \
	--allow "$LOCAL_LAN4" --allow "$LOCAL_LAN6" --allow 127.0.0.1 \
	--allow ::1
check "--allow $LOCAL_LAN4: reached" reached connect "$LOCAL_LAN4" "$SRV_PORT"
check "--allow $LOCAL_LAN6: reached" reached connect "$LOCAL_LAN6" "$SRV_PORT"
check "--allow 127.0.0.1: the SYN is answered" \
	reached inject "$TUN_DEV" "$TUN4" 127.0.0.1 "$SRV_PORT"
check "--allow ::1: the SYN is answered" \
	reached inject "$TUN_DEV" "$TUN6" ::1 "$SRV_PORT"
check "the tunnel stops cleanly" tg_stop_tunnel

# --- default -----------------------------------------------------------------------

# default_checks HOW - everything goes through the tunnel but the stream
default_checks() {
	check "$1: the internet host is routed into $TUN_DEV" \
		test "$(route_dev "$INET4")" = "$TUN_DEV"
	check "$1: the internet host (v6) is routed into $TUN_DEV" \
		test "$(route_dev "$INET6")" = "$TUN_DEV"
	check "$1: the stream's peer $PEER4 stays direct (got $(route_dev "$PEER4"))" \
		test "$(route_dev "$PEER4")" = "$IF_CS"
	check "$1: the gateway stays direct" \
		test "$(route_dev "$GW4")" = "$IF_CS"
	check "$1: the internet host answers (v4)" \
		tg_udp_echo "$NS_CS" "$INET4" 7 1000
	check "$1: the internet host answers (v6)" \
		tg_udp_echo "$NS_CS" "$INET6" 7 1000
	check "$1: ping the internet host" \
		in_ns "$NS_CS" ping -q -c 3 -i 0.2 -W 2 "$INET4"
	sleep 2
	check "$1: the stream is still up" up_still
	check "$1: and still carries traffic" \
		tg_udp_echo "$NS_CS" "$INET4" 7 100
	check "$1: the tunnel stops cleanly" tg_stop_tunnel
	check "$1: no rules left in cs" no_rules_left
}

# the control: without keeping its path out, the stream enters its own
# tunnel and is lost; what follows is meaningful only because this fails
say "--route default, the stream's path not kept out (the control)"
EXPECT_FAIL=1
tg_start_tunnel --route default --timeout 3
EXPECT_FAIL=0
check "control: the outside never hears 'inside is up'" \
	not grep -q "inside is up" "$TG_OUTSIDE_LOG"
check "control: the outside gives up: exit 1" outside_fails
kill -TERM -- "-$TG_CS_SOCAT_PID" 2>/dev/null
check "control: the inside stops on SIGTERM" tg_wait_inside_exit 15
tg_wait_exit "$TG_CS_SOCAT_PID" 10
check "control: no rules left in cs" no_rules_left

say "--route default, the stream's peer named with --peer"
assert "the tunnel starts with --route default --peer $PEER4" \
	tg_start_tunnel --route default --peer "$PEER4"
check "--peer: the outside logs what it keeps out" \
	grep -q "keeping out of the tunnel (--peer): $PEER4/32" \
	"$TG_OUTSIDE_LOG"
check "--peer: cs's table throws $PEER4/32" in_table "$NS_CS" "$PEER4/32"
default_checks "--peer"

say "--route default, the stream's peer from SSH_CONNECTION"
export SSH_CONNECTION="$PEER4 40022 $CS4 22"
assert "the tunnel starts with --route default" \
	tg_start_tunnel --route default
unset SSH_CONNECTION
check "SSH_CONNECTION: the inside logs the client it keeps out" \
	grep -q "keeping the SSH client $PEER4/32 out of the tunnel" \
	"$TG_INSIDE_LOG"
default_checks "SSH_CONNECTION"

# --- default, over the SSH transport ------------------------------------------------

# sshd in cs as root (sshd.sh's world); the outside, as nobody, logs in
# with `--ssh devbox`. The remote command drops SSH_CONNECTION from the
# inside's environment, as sudo does: the inside finds it in its parent's.
ssh_default() {
	sshd_init
	sshd_start "$S/config_a"
	TG_OUTSIDE_LOG=$T/outside-ssh.log
	tg_bg outside-ssh "$NS_LOCAL" env HOME="$H" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$T/tungate" outside --ssh devbox --accept-new --route default \
		--remote-command "env -u SSH_CONNECTION $T/tungate inside --stdio -v; exit \$?" \
		"${TG_OUTSIDE_ARGS[@]}"
	TG_OUTSIDE_PID=$TG_LAST_PID
	wait_for 30 tg_up_or_gone
	check "--ssh: the tunnel comes up with --route default" \
		grep -q "inside is up" "$TG_OUTSIDE_LOG" || return 1
	check "--ssh: the inside keeps the SSH client out of the tunnel" \
		grep -q "keeping the SSH client $PEER4/32 out of the tunnel (SSH_CONNECTION of a parent" \
		"$TG_OUTSIDE_LOG"
	check "--ssh: the outside keeps both ends of its connection out" \
		grep -q "keeping out of the tunnel (the SSH connection's own path): $PEER4/32 $CS4/32" \
		"$TG_OUTSIDE_LOG"
	check "--ssh: the internet host is routed into $TUN_DEV" \
		test "$(route_dev "$INET4")" = "$TUN_DEV"
	check "--ssh: the SSH client stays direct" \
		test "$(route_dev "$PEER4")" = "$IF_CS"
	check "--ssh: the internet host answers (v4)" \
		tg_udp_echo "$NS_CS" "$INET4" 7 1000
	check "--ssh: the internet host answers (v6)" \
		tg_udp_echo "$NS_CS" "$INET6" 7 1000
	sleep 2
	check "--ssh: the SSH session is still up" up_still
	check "--ssh: and still carries traffic" \
		tg_udp_echo "$NS_CS" "$INET4" 7 100
	kill -TERM "$TG_OUTSIDE_PID"
	check "--ssh: the outside stops on SIGTERM" \
		tg_wait_exit "$TG_OUTSIDE_PID" 20
	check "--ssh: the inside removes its rules" wait_for 10 no_rules_left
}

if [ -x "$SSHD" ] && command -v ssh-keygen >/dev/null; then
	say "--route default over --ssh"
	ssh_default
else
	say "no $SSHD: the --ssh checks are skipped"
fi

# --- cs's gateway subnet -------------------------------------------------------------

say "offered prefixes inside and around cs's gateway subnet"
assert "the tunnel starts" tg_start_tunnel --route 198.18.1.128/25 \
	--route fd7e:1::8000:0:0:0/65 --route 198.18.0.0/23 --route fd7e:1::/48
for p in 198.18.1.128/25 fd7e:1:0:0:8000::/65; do
	check "$p (inside cs's subnet) is skipped" not in_table "$NS_CS" "$p"
	check "$p: one warning line" test "$(grep -c "not routing $p " \
		"$TG_INSIDE_LOG")" = 1
done
for p in 198.18.0.0/23 fd7e:1::/48; do
	check "$p (holds cs's subnet) is installed" in_table "$NS_CS" "$p"
	check "$p: a warning names the overlap" \
		grep -q "$p overlaps" "$TG_INSIDE_LOG"
done
for dst in "$GW4" "$GW6" 198.18.1.200 fd7e:1::200; do
	check "$dst stays direct (got $(route_dev "$dst"))" \
		test "$(route_dev "$dst")" = "$IF_CS"
done
tx=$(tg_counter "$NS_CS" "$TUN_DEV" tx)
check "the gateway answers ping directly" \
	in_ns "$NS_CS" ping -q -c 3 -i 0.2 -W 2 "$GW4"
check "the gateway answers ping directly (v6)" \
	in_ns "$NS_CS" ping -6 -q -c 3 -i 0.2 -W 2 "$GW6"
check "no ping went through $TUN_DEV" \
	test $(($(tg_counter "$NS_CS" "$TUN_DEV" tx) - tx)) -lt 3
check "the tunnel stops cleanly" tg_stop_tunnel

# --- the tunnel's own addresses ----------------------------------------------------

# collides ADDR FLAG [OUTSIDE ARGS...] - with ADDR on cs's lo, the outside
# exits 1 and its last line names FLAG; nothing is left in cs
collides() {
	local addr=$1 flag=$2 last
	shift 2
	[ -n "$addr" ] && must ip -n "$NS_CS" addr add "$addr" dev lo
	EXPECT_FAIL=1
	tg_start_tunnel "$@"
	EXPECT_FAIL=0
	check "$flag: the outside exits" tg_wait_exit "$TG_OUTSIDE_PID" 15
	check "$flag: with status 1 (got $TG_RC)" test "$TG_RC" = 1
	last=$(tail -n 1 "$TG_OUTSIDE_LOG")
	check "$flag: its last line names $flag: $last" \
		grep -q -e "error: .*$flag" <<<"$last"
	check "$flag: the inside exits 1" \
		test "$(tg_wait_inside_exit 10)" = 1
	tg_wait_exit "$TG_CS_SOCAT_PID" 10
	check "$flag: no TUN device left" not tg_has_dev "$NS_CS" "$TUN_DEV"
	check "$flag: no rules left" no_rules_left
	[ -n "$addr" ] && must ip -n "$NS_CS" addr del "$addr" dev lo
	return 0
}

say "the tunnel's addresses collide with cs's"
collides 198.18.0.53/32 --dns-addr
collides 198.18.0.1/32 --tun-addr
collides fd7e:7475:6e::1/128 --tun-addr
collides '' --dns-addr --dns --dns-addr 198.18.1.53

tg_done
