#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dns: names resolve in cs exactly as in local. An authoritative nsd in lan
# serves corp.test; local's resolv.conf points at it and its hosts file has
# a name the zone lacks. From cs, with dig through the rewritten
# resolv.conf: every record type, the hosts-file name, NXDOMAIN and NODATA,
# a large answer over TCP, a malformed query, getent and curl by name,
# SERVFAIL quickly once nsd is gone; resolv.conf byte-identical after each
# way the tunnel ends.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
command -v nsd >/dev/null || skip "nsd is not installed (make deps)"
command -v dig >/dev/null || skip "dig is not installed (make deps)"
tg_setup

TG_OUTSIDE_ARGS=(-v) # DNS on, the default
DNS4=198.18.0.53 DNS6=fd7e:7475:6e::53
RESOLV_CS=/etc/netns/$NS_CS/resolv.conf

# --- the zone in lan --------------------------------------------------------
big=$(for i in $(seq 1 30); do printf '"%s" ' "$(printf 'chunk%02d-%.0s' "$i" && head -c 60 /dev/zero | tr '\0' x)"; done)
cat >"$T/corp.test.zone" <<EOZ
\$ORIGIN corp.test.
\$TTL 300
@	IN SOA ns.corp.test. admin.corp.test. 1 3600 600 86400 60
@	IN NS ns.corp.test.
ns	IN A $LAN4
web	IN A $LAN4
web	IN AAAA $LAN6
www	IN CNAME web
@	IN MX 10 mail.corp.test.
@	IN TXT "v=spf1 -all"
_http._tcp IN SRV 0 0 8080 web.corp.test.
@	IN CAA 0 issue "ca.corp.test"
web	IN HTTPS 1 . alpn="h2"
big	IN TXT $big
EOZ
cat >"$T/rev.zone" <<EOZ
\$ORIGIN 2.19.198.in-addr.arpa.
\$TTL 300
@	IN SOA ns.corp.test. admin.corp.test. 1 3600 600 86400 60
@	IN NS ns.corp.test.
2	IN PTR web.corp.test.
EOZ
assert "nsd answers in lan" tg_nsd_start corp.test:corp.test.zone 2.19.198.in-addr.arpa:rev.zone
check "nsd serves web.corp.test" \
	test "$(in_ns "$NS_LOCAL" dig +time=1 +tries=1 +short "@$LAN4" web.corp.test A)" = "$LAN4"

# local resolves with nsd and its own hosts file; search corp.test
printf 'nameserver %s\nsearch corp.test\n' "$LAN4" \
	>"/etc/netns/$NS_LOCAL/resolv.conf"
printf '%s hostsonly.internal\n' "$LAN4" >>"/etc/netns/$NS_LOCAL/hosts"
cp "$RESOLV_CS" "$T/cs-resolv.orig"

# qdig ARGS... - dig from cs through its resolv.conf, answers only
qdig() {
	in_ns "$NS_CS" dig +time=3 +tries=1 +short "$@"
}
# status ARGS... - the rcode dig reports
status() {
	in_ns "$NS_CS" dig +time=3 +tries=1 "$@" |
		sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}
has() { # has WANT ARGS... - WANT is one line of qdig ARGS
	local want=$1
	shift
	qdig "$@" | grep -qxF -- "$want"
}
resolv_restored() { cmp -s "$RESOLV_CS" "$T/cs-resolv.orig"; }

assert "the tunnel starts with DNS on" tg_start_tunnel
check "resolv.conf asks the tunnel first" \
	test "$(grep -m1 '^nameserver' "$RESOLV_CS")" = "nameserver $DNS4"
check "resolv.conf carries local's search domain" \
	grep -q '^search.*corp\.test' "$RESOLV_CS"

check "A" has "$LAN4" web.corp.test A
check "AAAA" has "$LAN6" web.corp.test AAAA
check "A over the IPv6 DNS address" has "$LAN4" "@$DNS6" web.corp.test A
check "CNAME" has web.corp.test. www.corp.test CNAME
check "A through a CNAME" has "$LAN4" www.corp.test A
check "MX" has "10 mail.corp.test." corp.test MX
check "TXT" has '"v=spf1 -all"' corp.test TXT
check "SRV" has "0 0 8080 web.corp.test." _http._tcp.corp.test SRV
check "SOA" has "ns.corp.test. admin.corp.test. 1 3600 600 86400 60" \
	corp.test SOA
check "NS" has ns.corp.test. corp.test NS
check "CAA" has '0 issue "ca.corp.test"' corp.test CAA
check "HTTPS" has '1 . alpn="h2"' web.corp.test HTTPS
check "PTR" has web.corp.test. -x "$LAN4"
check "a name only local's hosts file has" has "$LAN4" hostsonly.internal A
check "NXDOMAIN for A" test "$(status nope.corp.test A)" = NXDOMAIN
check "NXDOMAIN for TXT" test "$(status nope.corp.test TXT)" = NXDOMAIN
check "NODATA: NOERROR and no answer" \
	test "$(status ns.corp.test AAAA)" = NOERROR -a \
	-z "$(qdig ns.corp.test AAAA)"
check "NXDOMAIN carries the zone's SOA" \
	bash -c "ip netns exec $NS_CS dig +time=3 +tries=1 nope.corp.test TXT |
		grep -A1 'AUTHORITY SECTION' | grep -q SOA"
# 30 strings of ~70 bytes: no 512-byte UDP answer holds it
check "a large answer is truncated over UDP" \
	bash -c "ip netns exec $NS_CS dig +time=3 +tries=1 +ignore +noedns \
		big.corp.test TXT | grep -q 'flags:.* tc'"
check "and comes whole over TCP" \
	test "$(qdig +tcp big.corp.test TXT | tr -cd x | wc -c)" -ge 1800
check "dig's own retry after TC gets it whole" \
	test "$(qdig +noedns big.corp.test TXT | tr -cd x | wc -c)" -ge 1800
check "two queries on one TCP connection" \
	test "$(qdig +tcp +keepopen web.corp.test A corp.test MX | wc -l)" = 2

# a query with a header and nothing else: FORMERR, and the proxy lives on
formerr=$(in_ns "$NS_CS" python3 - "$DNS4" <<'EOPY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"\x00\x01", (sys.argv[1], 53))          # not even a header
s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07broken",
         (sys.argv[1], 53))                      # question cut short
data, _ = s.recvfrom(4096)
print("id=%02x%02x rcode=%d" % (data[0], data[1], data[3] & 15))
EOPY
)
check "a malformed query gets FORMERR ($formerr)" test "$formerr" = "id=1234 rcode=1"
check "and the proxy still answers" has "$LAN4" web.corp.test A

check "getent resolves a short name with the search domain" \
	bash -c "ip netns exec $NS_CS getent ahostsv4 web | grep -q '^$LAN4'"
mkdir -p "$T/www" && echo "hello from lan" >"$T/www/hello.txt"
tg_bg http "$NS_LAN" python3 -m http.server --bind "$LAN4" \
	--directory "$T/www" 8080
wait_for 10 tg_tcp_listening "$NS_LAN" 8080
check "curl by name" test "$(in_ns "$NS_CS" curl -s -m 10 \
	http://web.corp.test:8080/hello.txt)" = "hello from lan"

# the upstream is gone: SERVFAIL, quickly, never the client's own timeout
kill "$NSD_PID"
tg_wait_exit "$NSD_PID" 10
start=$SECONDS
st=$(in_ns "$NS_CS" dig +time=8 +tries=1 gone.corp.test TXT |
	sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
check "SERVFAIL when the upstream is gone ($st)" test "$st" = SERVFAIL
check "within 5 s ($((SECONDS - start)) s)" test $((SECONDS - start)) -le 5
check "cached names still answer" has "$LAN4" web.corp.test A
tg_bg nsd2 "$NS_LAN" nsd -d -c "$T/nsd.conf"
assert "nsd is back" wait_for 10 \
	in_ns "$NS_LOCAL" dig +time=1 +tries=1 +short "@$LAN4" web.corp.test A

check "the tunnel stops" tg_stop_tunnel
check "resolv.conf byte-identical after SIGTERM" resolv_restored

assert "the tunnel starts again" tg_start_tunnel
kill -KILL "$TG_OUTSIDE_PID"
tg_wait_inside_exit 15 >/dev/null
check "resolv.conf byte-identical after stream EOF" resolv_restored

assert "the tunnel starts again" tg_start_tunnel
kill -KILL "$TG_INSIDE_PID"
tg_wait_inside_exit 15 >/dev/null
check "after SIGKILL of the inside resolv.conf is still rewritten" \
	not resolv_restored
tg_stop_tunnel
assert "the next start" tg_start_tunnel
check "resolves again" has "$LAN4" web.corp.test A
check "the tunnel stops" tg_stop_tunnel
check "resolv.conf byte-identical after SIGKILL and the next start" \
	resolv_restored
tg_done
