#!/bin/bash
# SPDX-License-Identifier: MIT
#
# distro: the outside on another distribution. The static binary runs
# chrooted in a Debian 13 root (test/e2e/otherroot.sh: glibc 2.41, the
# nsswitch.conf of a desktop, libnss-myhostname, -mdns and -sss installed)
# in local, as nobody. First its stream to the inside in cs is carried by
# socat (the root has no socat of its own): from cs, through the tunnel,
# an intranet name (A, AAAA) from nsd in lan, a name of the root's hosts
# file, NXDOMAIN, a page by name. Then `--ssh devbox` from the root against
# sshd.sh's sshd in cs, on a laptop that runs systemd-resolved (a varlink
# stand-in, resolved.py, at the root's /run/systemd/resolve): a name only
# resolved knows resolves in cs; with resolved gone, the fallback answers
# the intranet name; the page by name. Each time the outside never opens
# an NSS module and is alive until stopped. The root's files are those of
# a private mount namespace: nothing of the test stays in it.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=sshd.sh
. "$(dirname "$0")/sshd.sh"
sshd_check
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

# in-root.sh - the outside in the root, its words one per line in
# $T/outside.args: a private mount namespace with the test's resolv.conf,
# hosts, binary, an empty /tmp holding the test's dir at its own path (the
# ssh client's HOME), resolved's socket dir if $T/resolve exists, under
# strace (which stays outside the root) writing $TRACE to see every file
# it opens
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
	mkdir -p "$ROOT$T"
	mount --bind "$T" "$ROOT$T"
	if [ -d "$T/resolve" ]; then
		mount -t tmpfs tmpfs "$ROOT/run"
		mkdir -p "$ROOT/run/systemd/resolve"
		mount --bind "$T/resolve" "$ROOT/run/systemd/resolve"
	fi
	mount -t proc proc "$ROOT/proc"
	exec strace -f -qq -e trace=open,openat,execve -o "\$TRACE" \
		chroot --userspec=65534:65534 "$ROOT" \
		env -i HOME="\$ROOT_HOME" XDG_RUNTIME_DIR=/tmp /mnt/tungate "\$@"
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
export ROOT_HOME=/tmp TRACE=$T/strace.out
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
opened_no_nss() {
	sed -n '\|execve("/mnt/tungate"|,$p' "$1" >"$1.tungate"
	check "strace saw the outside open its files ($2)" \
		grep -q 'openat.*"/etc/hosts"' "$1.tungate"
	check "the outside opened no NSS module ($2)" \
		not grep -q 'libnss_' "$1.tungate"
}
opened_no_nss "$T/strace.out" pipe
check "the tunnel stops cleanly" tg_stop_tunnel
wait_for 10 not outside_alive

# --- --ssh from the root, to a laptop with systemd-resolved ----------------

sshd_init
sshd_start "$S/config_a"
ssh_known_hosts
# the root's hosts file names the container, as a user's would
echo "$CS4 $SSH_HOST" >>"$T/root-hosts"
mkdir -p "$T/resolve" && chmod 755 "$T/resolve"
RESOLVED_LOG=$T/resolved-questions.log
tg_bg resolved "$NS_LOCAL" python3 "$TG_LIB_DIR/resolved.py" \
	"$T/resolve/io.systemd.Resolve" "$RESOLVED_LOG" \
	"printer.local=$LAN4" "printer.local=$LAN6"
RESOLVED_PID=$TG_LAST_PID
assert "the varlink stand-in listens" \
	wait_for 10 test -S "$T/resolve/io.systemd.Resolve"

printf '%s\n' outside --ssh "$SSH_DEST" --route "$LAN_NET4" \
	--route "$LAN_NET6" --remote-command "$T/tungate inside --stdio -v" \
	-v >"$T/outside.args"
OUT_LOG=$T/outside-root-ssh.log
tg_bg outside-root-ssh "$NS_LOCAL" env ROOT_HOME="$H" \
	TRACE="$T/strace-ssh.out" "$T/in-root.sh"
OUT_PID=$TG_LAST_PID
check "--ssh devbox from the Debian 13 root: the inside is up" ssh_up
check "the outside says it asks systemd-resolved" \
	grep -q 'names: systemd-resolved (/run/systemd/resolve/io.systemd.Resolve)' \
	"$OUT_LOG"
check "a name only resolved knows (A)" test "$(qdig printer.local A)" = "$LAN4"
check "a name only resolved knows (AAAA)" \
	test "$(qdig printer.local AAAA)" = "$LAN6"
check "resolved was asked" grep -q '^printer.local ' "$RESOLVED_LOG"
kill -TERM "$RESOLVED_PID"
assert "the varlink stand-in is gone" \
	wait_for 10 not test -e "$T/resolve/io.systemd.Resolve"
check "resolved gone: the fallback answers the intranet name" \
	test "$(qdig web.corp.test A)" = "$LAN4"
check "resolved gone: said once" \
	test "$(grep -c 'names: systemd-resolved failed' "$OUT_LOG")" = 1
check "a page by name over --ssh" sh -c "ip netns exec $NS_CS curl -sS \
	--max-time 10 http://web.corp.test:8080/ | grep -q 'hello from lan'"
check "the outside over --ssh is still alive" outside_alive
opened_no_nss "$T/strace-ssh.out" ssh
# SIGTERM to tungate itself, not to strace (which would kill it)
root_ssh_stop() {
	pkill -TERM -f '^/mnt/tungate outside' || return 1
	tg_wait_exit "$OUT_PID" 20 && [ "$TG_RC" = 0 ] || return 1
	wait_for 10 ssh_no_inside
}
check "SIGTERM: the outside exits 0, the inside is gone" root_ssh_stop

sum_after=$(cd "$ROOT" && find . -xdev -printf '%p %s %T@\n' | sort | md5sum)
check "the root is as it was" test "$sum_before" = "$sum_after"
tg_done
