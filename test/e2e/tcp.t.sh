#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tcp: connections from cs to lan are terminated by the outside. 100 MB
# down and up with curl over IPv4 and IPv6 (sha256 checked at the far
# end), 1000 connections at once, a refused port and a silent host failing
# fast, a half-close, a slow receiver (back-pressure: the outside's memory
# stays bounded and the data arrives whole), an idle connection that still
# works afterwards.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

PY=$TG_LIB_DIR/tcp.py
HTTP=8080 ECHO=7007 LINE=7008 SINK=7009
# the sanitizers make everything several times slower: smaller loads
case $TUNGATE in
*asan*) BIG_MB=100 SLOW_MB=256 ;;
*) BIG_MB=100 SLOW_MB=1024 ;;
esac

mkdir -p "$T/www"
head -c $((BIG_MB << 20)) /dev/urandom >"$T/www/big"
echo small >"$T/www/small"
want=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
tg_bg http "$NS_LAN" python3 "$PY" http "$HTTP" "$T/www"
tg_bg echo "$NS_LAN" python3 "$PY" echo "$ECHO"
tg_bg lineecho "$NS_LAN" python3 "$PY" lineecho "$LINE"
# 40 MB/s: well below what the tunnel carries, so data piles up behind it
tg_bg sink "$NS_LAN" python3 "$PY" sink "$SINK" 40e6
for p in $HTTP $ECHO $LINE $SINK; do
	wait_for 10 tg_tcp_listening "$NS_LAN" "$p" || die "no server on $p in lan"
done

assert "no TCP from cs before the tunnel is up" \
	not in_ns "$NS_CS" curl -s -m 2 -o /dev/null "http://$LAN4:$HTTP/small"
assert "the tunnel starts" tg_start_tunnel

for host in "$LAN4" "[$LAN6]"; do
	got=$(in_ns "$NS_CS" curl -s -g -m 120 "http://$host:$HTTP/big" |
		sha256sum | cut -d' ' -f1)
	check "download ${BIG_MB} MB from $host, sha256 matches" test "$got" = "$want"
	got=$(in_ns "$NS_CS" curl -s -g -m 120 -T "$T/www/big" \
		"http://$host:$HTTP/upload")
	check "upload ${BIG_MB} MB to $host, the server's sha256 matches" \
		test "$got" = "$want"
done

out=$(in_ns "$NS_CS" bash -c "ulimit -n 4096; python3 '$PY' many $LAN4 $HTTP 1000 /small")
check "1000 connections open at once all complete ($out)" \
	grep -q "^1000 ok, 0 failed" <<<"$out"

# refused: the application sees ECONNREFUSED ("Connection refused") at once
refused() {
	in_ns "$NS_CS" python3 -c '
import socket, sys, time
t = time.monotonic()
try:
    socket.create_connection((sys.argv[1], 9), timeout=10)
    print("connected?")
except OSError as e:
    print("%s after %d ms" % (e.strerror, (time.monotonic() - t) * 1000))
' "$1"
}
for host in "$LAN4" "$LAN6"; do
	out=$(refused "$host")
	ms=$(sed -n 's/.* after \([0-9]*\) ms/\1/p' <<<"$out")
	check "a refused port on $host: $out" \
		test -n "$(grep "^Connection refused" <<<"$out")" -a "${ms:-9999}" -lt 1000
done
check "curl says it could not connect" \
	not in_ns "$NS_CS" curl -s -m 10 "http://$LAN4:9/"
# nobody answers at 198.19.2.99: the outside's connect() fails with no
# route to host after ARP gives up; the client must not wait past its own
# connect timeout
start=$SECONDS
err=$(in_ns "$NS_CS" curl -s -S --connect-timeout 8 "http://198.19.2.99:$HTTP/" 2>&1)
check "a host that never answers fails by the client's timeout ($err, $((SECONDS - start)) s)" \
	test $((SECONDS - start)) -le 9

for host in "$LAN4" "$LAN6"; do
	out=$(in_ns "$NS_CS" python3 "$PY" halfclose "$host" "$ECHO" 3000000)
	check "half-close to $host: the whole echo after our FIN ($out)" \
		grep -q same <<<"$out"
done

# back-pressure: the sink reads at 40 MB/s while cs sends as fast as it
# can; sample the outside's resident memory all along
rss_max=0
in_ns "$NS_CS" python3 "$PY" send "$LAN4" "$SINK" $((SLOW_MB << 20)) \
	>"$T/slow.out" 2>&1 &
sender=$!
deadline=$((SECONDS + 150))
while tg_alive "$sender" && [ "$SECONDS" -lt "$deadline" ]; do
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$TG_OUTSIDE_PID/status" 2>/dev/null || echo 0)
	[ -n "$rss" ] && [ "$rss" -gt "$rss_max" ] && rss_max=$rss
	sleep 0.5
done
tg_alive "$sender" && kill "$sender"
wait "$sender"
sums=$(awk '{print $2}' "$T/slow.out" | sort -u | wc -l)
check "a slow receiver gets all ${SLOW_MB} MB intact ($(tr '\n' ' ' <"$T/slow.out"))" \
	test "$sums" = 1 -a "$(wc -l <"$T/slow.out")" = 2
case $TUNGATE in
*asan*) limit=$((256 << 10)) ;; # the sanitizers' own shadow memory
*) limit=$((64 << 10)) ;;
esac
check "the outside's memory stayed under $((limit >> 10)) MB (max $((rss_max >> 10)) MB)" \
	test "$rss_max" -lt "$limit"

out=$(in_ns "$NS_CS" python3 "$PY" idle "$LAN6" "$LINE" 5)
check "an idle connection still works ($out)" grep -q "after b'pong" <<<"$out"

check "the tunnel stops cleanly" tg_stop_tunnel
check "the outside exits 0 (got $TG_RC)" test "$TG_RC" = 0
tg_done
