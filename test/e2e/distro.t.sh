#!/bin/bash
# SPDX-License-Identifier: MIT
#
# distro: the outside on another distribution. The static binary runs
# chrooted in a Debian 13 root (test/e2e/otherroot.sh: glibc 2.41, the
# nsswitch.conf of a desktop, libnss-myhostname, -mdns and -sss installed)
# in local, as nobody, its stream to the inside in cs carried by socat
# (the root has no socat of its own). From cs, through the tunnel: an
# intranet name (A, AAAA) from nsd in lan, a name of the root's hosts file,
# a page by name; the outside never opens an NSS module and is still alive
# at the end. The root's files are those of a private mount namespace:
# nothing of the test stays in it.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
command -v nsd >/dev/null || skip "nsd is not installed (make deps)"
command -v strace >/dev/null || skip "strace is not installed (make deps)"
ROOT=$("$TG_LIB_DIR/otherroot.sh") || skip "no Debian 13 root (otherroot.sh failed)"
tg_setup
file "$TUNGATE" | grep -q 'statically linked' ||
	skip "$TUNGATE is not the static binary"

TG_OUTSIDE_ARGS=(-v)

# the zone in lan, and nsd serving it
cat >"$T/corp.test.zone" <<EOZ
\$ORIGIN corp.test.
\$TTL 300
@	IN SOA ns.corp.test. admin.corp.test. 1 3600 600 86400 60
@	IN NS ns.corp.test.
web	IN A $LAN4
web	IN AAAA $LAN6
EOZ
assert "nsd answers in lan" tg_nsd_start corp.test:corp.test.zone
check "nsd serves web.corp.test" \
	test "$(in_ns "$NS_LOCAL" dig +time=1 +tries=1 +short "@$LAN4" web.corp.test A)" = "$LAN4"
# a web server in lan
mkdir -p "$T/www"
echo "hello from lan" >"$T/www/index.html"
tg_bg http "$NS_LAN" python3 -m http.server --bind "$LAN4" --directory "$T/www" 8080
assert "the web server listens in lan" wait_for 10 tg_tcp_listening "$NS_LAN" 8080

# the laptop's files, as the root sees them
printf 'nameserver %s\n' "$LAN4" >"$T/root-resolv.conf"
printf '127.0.0.1 localhost\n%s trixie-hosts.internal\n' "$LAN4" >"$T/root-hosts"
mkdir -p "$T/rootbin"
cp "$TUNGATE" "$T/rootbin/tungate"
sum_before=$(cd "$ROOT" && find . -xdev -printf '%p %s %T@\n' | sort | md5sum)

# in-root.sh ARGS... - the outside in the root: a private mount namespace
# with the test's resolv.conf, hosts, binary and an empty /tmp, under
# strace (which stays outside the root) to see every file it opens
cat >"$T/in-root.sh" <<EOS
#!/bin/bash
mapfile -t args <"$T/outside.args"
exec unshare -m bash -c '
	set -e
	mount --make-rprivate /
	mount --bind "$T/root-resolv.conf" "$ROOT/etc/resolv.conf"
	mount --bind "$T/root-hosts" "$ROOT/etc/hosts"
	mount --bind "$T/rootbin" "$ROOT/mnt"
	mount -t tmpfs tmpfs "$ROOT/tmp"
	mount -t proc proc "$ROOT/proc"
	exec strace -f -qq -e trace=open,openat,execve -o "$T/strace.out" \
		chroot --userspec=65534:65534 "$ROOT" \
		env -i HOME=/tmp XDG_RUNTIME_DIR=/tmp /mnt/tungate "\$@"
' in-root "\${args[@]}"
EOS
# outside-pipe.sh - what lib.sh runs as the outside: socat carries the
# stream between the inside's listener in cs and the outside's stdio
cat >"$T/outside-pipe.sh" <<EOS
#!/bin/bash
args=()
while [ \$# -gt 0 ]; do
	case \$1 in
	--exec) shift 2 ;;
	outside) args+=(outside --stdio); shift ;;
	*) args+=("\$1"); shift ;;
	esac
done
# socat's EXEC splits on ':' too (IPv6 routes): the words go by file
printf '%s\n' "\${args[@]}" >"$T/outside.args"
exec socat "TCP:$CS4:$TG_PORT" "EXEC:$T/in-root.sh"
EOS
chmod 755 "$T/in-root.sh" "$T/outside-pipe.sh"
TG_OUTSIDE_RUN=("$T/outside-pipe.sh")

outside_alive() { pgrep -f '^/mnt/tungate outside' >/dev/null; }
qdig() { in_ns "$NS_CS" dig +time=3 +tries=1 +short "$@"; }

assert "the tunnel starts with the outside in the Debian 13 root" tg_start_tunnel
check "the outside says which resolver it uses" \
	grep -q 'names: files and dns' "$TG_OUTSIDE_LOG"
check "an intranet name (A)" test "$(qdig web.corp.test A)" = "$LAN4"
check "an intranet name (AAAA)" test "$(qdig web.corp.test AAAA)" = "$LAN6"
check "a name of the root's /etc/hosts" \
	test "$(qdig trixie-hosts.internal A)" = "$LAN4"
check "NXDOMAIN for a name nobody knows" \
	sh -c "ip netns exec $NS_CS dig +time=3 +tries=1 nope.corp.test A | grep -q NXDOMAIN"
check "a page by name" sh -c "ip netns exec $NS_CS curl -sS --max-time 10 \
	http://web.corp.test:8080/ | grep -q 'hello from lan'"
check "the outside is still alive" outside_alive
# what tungate opened: chroot and env (the root's own programs, which
# may look up users with the root's glibc) come before their exec of it
sed -n '\|execve("/mnt/tungate"|,$p' "$T/strace.out" >"$T/tungate.opens"
check "strace saw the outside open its files" \
	grep -q 'openat.*"/etc/hosts"' "$T/tungate.opens"
check "the outside opened no NSS module" \
	not grep -q 'libnss_' "$T/tungate.opens"
check "the tunnel stops cleanly" tg_stop_tunnel
wait_for 10 not outside_alive
sum_after=$(cd "$ROOT" && find . -xdev -printf '%p %s %T@\n' | sort | md5sum)
check "the root is as it was" test "$sum_before" = "$sum_after"
tg_done
