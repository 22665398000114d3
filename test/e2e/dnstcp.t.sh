#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dnstcp: DNS over TCP from a hostile container is bounded (README.md,
# "Limits"). An authoritative nsd in lan serves a TXT record of about
# 48 KB; 500 connections from cs, each with a 2 KiB receive buffer,
# pipeline queries for it for 20 s and never read (dnstcp.py). All along:
# the outside's resident memory stays under 128 MiB, its DNS-over-TCP
# buffers within --dns-tcp-buffer (16 MiB, shown in `tungate status`), a
# fresh UDP query from cs is answered within 2 s, and so is one on a new
# TCP connection (the oldest idle ones are closed to make room).
# Afterwards a plain TCP query gets the whole answer, and the connections
# are gone.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
command -v nsd >/dev/null || skip "nsd is not installed (make deps)"
command -v dig >/dev/null || skip "dig is not installed (make deps)"
tg_setup

DNS4=198.18.0.53
CONNS=500 HOLD_S=20
case $TUNGATE in
*asan*) rss_limit=$((384 << 10)) ;; # shadow memory and the quarantine
*) rss_limit=$((128 << 10)) ;;
esac

# 190 strings of 250 bytes: an answer of about 48 KB
big=$(for i in $(seq 1 190); do printf '"%03d%s" ' "$i" "$(head -c 247 /dev/zero | tr '\0' x)"; done)
cat >"$T/corp.test.zone" <<EOZ
\$ORIGIN corp.test.
\$TTL 300
@	IN SOA ns.corp.test. admin.corp.test. 1 3600 600 86400 60
@	IN NS ns.corp.test.
ns	IN A $LAN4
*.fresh	IN A $LAN4
big	IN TXT $big
EOZ
assert "nsd answers in lan" tg_nsd_start corp.test:corp.test.zone
printf 'nameserver %s\n' "$LAN4" >"/etc/netns/$NS_LOCAL/resolv.conf"

TG_OUTSIDE_ARGS=(--name dnstcp) # DNS on, the default
assert "the tunnel starts with DNS on" tg_start_tunnel

# dns_field NAME: a number of the status document's "dns" object
dns_field() {
	tg_status_json dnstcp | python3 -c '
import json, sys
print(json.load(sys.stdin)["dns"][sys.argv[1]])' "$1" 2>/dev/null
}
txt_bytes() { # the TXT answer's x's, over TCP
	in_ns "$NS_CS" dig +tcp +time=5 +tries=1 +short "@$DNS4" big.corp.test TXT |
		tr -cd x | wc -c
}
# fresh_udp N: a name the cache has not seen, over UDP; prints its
# address and dig's query time in ms (its send to the answer, without
# the cost of starting it on a loaded machine)
fresh_udp() {
	in_ns "$NS_CS" dig +notcp +time=2 +tries=1 +noall +answer +stats \
		"@$DNS4" "q$1-$RANDOM.fresh.corp.test" A |
		awk '$4 == "A" {a = $5} /Query time:/ {t = $4}
			END {print (a ? a : "none"), (t != "" ? t : 99999)}'
}
# fresh_tcp N: the same over a new TCP connection; prints the address
fresh_tcp() {
	local out
	out=$(in_ns "$NS_CS" dig +tcp +time=5 +tries=1 "@$DNS4" \
		"t$1-$RANDOM.fresh.corp.test" A 2>&1)
	echo "$(date +%T.%N) $out" >>"$T/dig-tcp.log"
	awk -v a="$LAN4" '$4 == "A" && $5 == a {f = 1} END {print f ? a : "none"}' <<<"$out"
}

check "the large TXT answer comes whole over TCP" \
	test "$(txt_bytes)" -ge 46000
check "status shows the DNS-over-TCP budget, 16 MiB" \
	test "$(dns_field tcp_buffer_max)" = $((16 << 20))

# --- 500 connections that ask and never read ---------------------------------
in_ns "$NS_CS" bash -c "ulimit -n 4096; exec python3 '$TG_LIB_DIR/dnstcp.py' \
	hold $DNS4 big.corp.test $CONNS $HOLD_S" >"$T/hold.out" 2>&1 &
hold_pid=$!
# a fresh UDP query every second from the 4th on, while the client holds,
# and every third second one over a new TCP connection
udp_loop() {
	local i=0 end=$((SECONDS + HOLD_S + 10))
	sleep 4
	while tg_alive "$hold_pid" && [ "$SECONDS" -lt "$end" ]; do
		i=$((i + 1))
		fresh_udp "$i"
		[ $((i % 3)) = 0 ] && fresh_tcp "$i" >>"$T/tcp"
		sleep 1
	done
}
: >"$T/tcp"
udp_loop >"$T/udp" &
udp_pid=$!
: >"$T/samples"
deadline=$((SECONDS + HOLD_S + 15))
while tg_alive "$hold_pid" && [ "$SECONDS" -lt "$deadline" ]; do
	echo "$(tg_rss "$TG_OUTSIDE_PID") $(dns_field tcp_buffer_bytes) $(dns_field tcp_connections)" >>"$T/samples"
	sleep 0.5
done
wait "$hold_pid"
wait "$udp_pid"
say "client: $(cat "$T/hold.out")"
rss_max=$(awk '$1 > m {m = $1} END {print m + 0}' "$T/samples")
buf_max=$(awk '$2 > m {m = $2} END {print m + 0}' "$T/samples")
conn_max=$(awk '$3 > m {m = $3} END {print m + 0}' "$T/samples")
say "rss max $((rss_max >> 10)) MB, DNS-TCP buffers max $buf_max, connections max $conn_max"
say "closed at the budget: $(dns_field tcp_evicted)"
check "the client held its connections ($(cat "$T/hold.out"))" \
	grep -q "^$CONNS connected" "$T/hold.out"
check "the outside stayed under $((rss_limit >> 10)) MiB (max $((rss_max >> 10)) MiB)" \
	test "$rss_max" -gt 0 -a "$rss_max" -lt "$rss_limit"
check "DNS-over-TCP buffers within 16 MiB (max $buf_max)" \
	test "$buf_max" -le $((16 << 20))
udp_n=$(wc -l <"$T/udp")
udp_ok=$(awk -v a="$LAN4" '$1 == a && $2 < 2000' "$T/udp" | wc -l)
say "UDP queries meanwhile (address ms): $(tr '\n' ',' <"$T/udp")"
check "fresh UDP queries answered within 2 s while held ($udp_ok of $udp_n)" \
	test "$udp_n" -ge 5 -a "$udp_ok" = "$udp_n"
tcp_n=$(wc -l <"$T/tcp")
tcp_ok=$(grep -cx "$LAN4" "$T/tcp")
check "and new TCP connections answered, room made for them ($tcp_ok of $tcp_n)" \
	test "$tcp_n" -ge 2 -a "$tcp_ok" = "$tcp_n"

# --- afterwards ---------------------------------------------------------------
gone() {
	[ "$(dns_field tcp_connections)" = 0 ] &&
		[ "$(tg_status_json dnstcp | python3 -c 'import json, sys
print(json.load(sys.stdin)["flows"]["tcp"])')" = 0 ]
}
check "the connections are gone once the client closes them" wait_for 30 gone
check "a plain TCP query still gets the whole answer" \
	test "$(txt_bytes)" -ge 46000
check "and a UDP one" test "$(fresh_udp last | cut -d' ' -f1)" = "$LAN4"
check "tungate status shows the DNS TCP line" bash -c \
	"setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env XDG_RUNTIME_DIR='$T/xdg' '$T/tungate' status dnstcp |
	grep -q '^  DNS TCP   [0-9]* connections\?, buffers .* of 16M'"
check "the tunnel stops cleanly" tg_stop_tunnel
tg_done
