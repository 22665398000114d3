# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: MIT
#
# lib.sh - the one helper every end-to-end test sources.
#
# Theory of operation. Each test builds its own small internet out of three
# network namespaces (README.md, "Tests"):
#
#   cs ---------------- local ---------------- lan
#   198.18.1.2/24    .1 198.18.1.1  198.19.2.1 .2  198.19.2.2/24
#   fd7e:1::2/64   fd7e:1::1        fd7e:2::1      fd7e:2::2/64
#
# cs is the container (default routes via local, runs `tungate inside` as
# root behind a socat listener), local is the developer's machine (does NOT
# forward, runs `tungate outside` as nobody), lan is a network only local
# can reach (UDP echo on port 7, v4 and v6). cs reaches lan only through
# the tunnel. Nothing leaves these namespaces.
#
# Names carry the test's id, TG_ID (given by run.sh, else "tg<pid>"): the
# namespaces are ${TG_ID}cs, ${TG_ID}local, ${TG_ID}lan, the veths
# ${TG_ID}-cs, -lc, -ll, -lan, the temp dir /tmp/${TG_ID}.XXXXXX. Every
# process a test starts inherits TG_ID in its environment, which is how a
# leftover is found even after a double fork.
#
# A test calls tg_setup (or tg_init when it needs no namespaces), which
# installs an EXIT/INT/TERM/HUP trap. The trap kills the process groups the
# test started (each daemon runs under setsid), then anything still in its
# namespaces or carrying its TG_ID, removes its state files, namespaces,
# /etc/netns dirs and temp dir, and keeps the logs in TG_LOGDIR if set.
#
# Every wait is bounded: wait_for SECONDS CMD... polls until CMD succeeds.
# Set TG_VERBOSE=1 to see each command as it runs.

set -u -o pipefail

TG_ID=${TG_ID:-tg$$}
export TG_ID
TG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TG_REPO=$(cd "$TG_LIB_DIR/../.." && pwd)
TUNGATE=${TUNGATE:-$TG_REPO/tungate}
TG_VERBOSE=${TG_VERBOSE:-}

# the addresses of the world; tests use these names, not literals
CS4=198.18.1.2 CS6=fd7e:1::2
GW4=198.18.1.1 GW6=fd7e:1::1
LOCAL_LAN4=198.19.2.1 LOCAL_LAN6=fd7e:2::1
LAN4=198.19.2.2 LAN6=fd7e:2::2
LAN_NET4=198.19.2.0/24 LAN_NET6=fd7e:2::/64
TG_PORT=7400			# the socat listener in cs that runs the inside
TUN_DEV=tungate0		# the defaults README.md names
TUN4=198.18.0.1 TUN6=fd7e:7475:6e::1
TG_PREF=7466 TG_TABLE=7467

# extra flags for every start of each side (arrays; tests may append)
TG_OUTSIDE_ARGS=(--no-dns -v)
# extra environment of the outside, NAME=VALUE words (default:
# XDG_RUNTIME_DIR=$T/xdg, where its control socket goes)
TG_OUTSIDE_ENV=()
TG_INSIDE_ARGS=(-v)
# the outside's --exec command, instead of `socat - TCP:$CS4:$TG_PORT`
# (it must reach the same listener)
TG_OUTSIDE_EXEC=
# how the outside is run, instead of "$T/tungate" as nobody: a command
# that takes the outside's arguments (distro.t.sh runs it in another root)
TG_OUTSIDE_RUN=()
# how the inside is run, instead of "$T/tungate": a command and its first
# words (aarch64.t.sh: qemu-aarch64-static and the aarch64 binary), and
# the name its process has (for tg_find_inside)
TG_INSIDE_RUN=()
TG_INSIDE_COMM=tungate

T=			# this test's temp dir
TG_FAILED=0		# set by check(); the exit status when the test ends
TG_PIDS=()		# the process groups this test started (setsid)
TG_N=0			# tunnel starts so far; logs are numbered by it
TG_WORLD=0		# namespaces exist
TG_INODES=()		# netns inodes, to find our state files
TG_OUTSIDE_PID='' TG_CS_SOCAT_PID='' TG_INSIDE_PID='' TG_RC=''
TG_OUTSIDE_LOG='' TG_INSIDE_LOG='' TG_INSIDE_RC=''

# --- output and assertions ------------------------------------------------

say() { echo "# $*"; }

# cmd CMD... - run CMD, echoing it first in verbose mode
cmd() {
	[ -n "$TG_VERBOSE" ] && echo "+ $*" >&2
	"$@"
}

# in_ns NS CMD... - run CMD in namespace NS
in_ns() {
	local ns=$1
	shift
	cmd ip netns exec "$ns" "$@"
}

die() {
	echo "FAIL: $*" >&2
	TG_FAILED=1
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# check DESC CMD... - run CMD; report "ok"/"not ok"; a failure fails the
# test at its end but lets it go on
check() {
	local desc=$1
	shift
	if "$@"; then
		echo "ok - $desc"
		return 0
	fi
	echo "not ok - $desc" >&2
	TG_FAILED=1
	return 1
}

# assert DESC CMD... - like check, but a failure ends the test now
assert() {
	check "$@" || exit 1
}

# fail DESC - record a failure with a reason, go on; silent while
# TG_EXPECT_FAIL=1 (a test that expects tg_start_tunnel to fail)
TG_EXPECT_FAIL=0
fail() {
	[ "$TG_EXPECT_FAIL" = 1 ] && return 0
	echo "not ok - $*" >&2
	TG_FAILED=1
}

# not CMD... - succeed when CMD fails
not() {
	! "$@"
}

# one_of WORD WORDS... - WORD is one of WORDS
one_of() {
	local w=$1
	shift
	case " $* " in *" $w "*) return 0 ;; esac
	return 1
}

tg_done() {
	exit "$TG_FAILED"
}

# wait_for SECONDS CMD... - poll CMD every 0.1 s until it succeeds;
# returns 1 at the deadline
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
	return 0
}

# --- names, processes, leftovers (also used by run.sh) ---------------------

# tg_names ID - the names of the world of test ID
tg_names() {
	NS_CS=${1}cs NS_LOCAL=${1}local NS_LAN=${1}lan
	IF_CS=${1}-cs IF_LC=${1}-lc IF_LL=${1}-ll IF_LAN=${1}-lan
}
tg_names "$TG_ID"

# tg_alive PID - PID exists and is not a zombie
tg_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# tg_group_alive PGID - a live process is in process group PGID
# (one ps, not a read of each /proc/PID/stat: teardown asks for every
# group a test started, on a machine that may run hundreds of processes)
tg_group_alive() {
	ps -e -o pgid=,stat= |
		awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

# tg_ancestors - this shell and its ancestors (never killed by a sweep)
tg_ancestors() {
	local p=$BASHPID s
	while [ "$p" -gt 1 ]; do
		echo "$p"
		s=$(cat "/proc/$p/stat" 2>/dev/null) || break
		s=${s##*) }
		read -r _ p _ <<<"$s"
	done
}

# tg_marked_pids PREFIX - live processes whose environment holds
# TG_ID=PREFIX..., other than this shell and its ancestors. Pure bash, so
# that the scan does not find itself.
tg_marked_pids() {
	local p kv anc
	anc=" $(tg_ancestors | tr '\n' ' ') "
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		case $anc in *" $p "*) continue ;; esac
		{
			while IFS= read -r -d '' kv; do
				case $kv in
				"TG_ID=$1"*)
					tg_alive "$p" && echo "$p"
					break
					;;
				esac
			done <"/proc/$p/environ"
		} 2>/dev/null
	done
}

# tg_leftovers PREFIX - print one line per thing named PREFIX... that
# still exists: namespaces, links in this namespace, /etc/netns dirs, temp
# dirs, processes marked with TG_ID=PREFIX...
tg_leftovers() {
	local pfx=$1 p
	ip netns list 2>/dev/null | awk -v p="$pfx" \
		'index($1, p) == 1 { print "namespace " $1 }'
	ip -o link show 2>/dev/null | awk -F': ' -v p="$pfx" \
		'index($2, p) == 1 { sub(/@.*/, "", $2); print "link " $2 }'
	for p in /etc/netns/"$pfx"* /tmp/"$pfx"*; do
		[ -e "$p" ] && echo "file $p"
	done
	for p in $(tg_marked_pids "$pfx"); do
		echo "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
}

# tg_reap PREFIX - remove whatever tg_leftovers PREFIX finds
tg_reap() {
	local pfx=$1 ns p
	for p in $(tg_marked_pids "$pfx"); do
		kill -KILL "$p" 2>/dev/null
	done
	for ns in $(ip netns list 2>/dev/null | awk -v p="$pfx" \
		'index($1, p) == 1 { print $1 }'); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	for p in $(ip -o link show 2>/dev/null | awk -F': ' -v p="$pfx" \
		'index($2, p) == 1 { sub(/@.*/, "", $2); print $2 }'); do
		ip link del "$p" 2>/dev/null
	done
	for p in /etc/netns/"$pfx"* /tmp/"$pfx"*; do
		[ -e "$p" ] && rm -rf -- "$p"
	done
	rmdir /etc/netns 2>/dev/null
	return 0
}

# tg_bg NAME NS CMD... - start a daemon in NS in its own session (so that
# its whole process group can be killed, and the runner's signals do not
# reach it), in $T (nobody may not enter the caller's directory), stdin
# from /dev/null, output to $T/NAME.log; its PID (= its process group)
# is TG_LAST_PID. Background jobs get SIGINT/SIGQUIT ignored: reset that,
# so that the daemon sees signals as it would in real life.
tg_bg() {
	local name=$1 ns=$2
	shift 2
	[ -n "$TG_VERBOSE" ] && echo "+ [$name] ip netns exec $ns $*" >&2
	(
		trap - INT QUIT
		cd "$T" || exit 1
		exec setsid ip netns exec "$ns" "$@" </dev/null \
			>>"$T/$name.log" 2>&1
	) &
	TG_LAST_PID=$!
	TG_PIDS+=("$TG_LAST_PID")
	echo "$TG_LAST_PID" >"$T/$name.pid"
}

# tg_wait_exit PID SECONDS - wait until PID is gone; if it is our child,
# TG_RC is its exit status (else empty). Returns 1 at the deadline.
tg_wait_exit() {
	TG_RC=
	wait_for "$2" not tg_alive "$1" || return 1
	if wait "$1" 2>/dev/null; then TG_RC=0; else TG_RC=$?; fi
	# wait on a non-child fails with 127; that is not an exit status
	[ "$TG_RC" = 127 ] && ! [ -e "/proc/$1" ] && TG_RC=
	return 0
}

# tg_stop_groups - TERM every process group we started (newest first),
# give them 5 s, then KILL what is left
tg_stop_groups() {
	local i pg left
	for ((i = ${#TG_PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM -- "-${TG_PIDS[i]}" 2>/dev/null
	done
	for pg in "${TG_PIDS[@]}"; do
		wait_for 5 not tg_group_alive "$pg"
	done
	for pg in "${TG_PIDS[@]}"; do
		if tg_group_alive "$pg"; then
			left+=" $pg"
			kill -KILL -- "-$pg" 2>/dev/null
		fi
	done
	[ -n "${left:-}" ] && echo "# killed with SIGKILL:$left" >&2
	# reap them (only them: a bare `wait` could wait for anything)
	[ ${#TG_PIDS[@]} -gt 0 ] && wait "${TG_PIDS[@]}" 2>/dev/null
	return 0
}

# --- setup and teardown -----------------------------------------------------

tg_on_signal() {
	echo "FAIL: killed by SIG$1 (timeout?)" >&2
	TG_FAILED=1
	exit 1
}

tg_on_exit() {
	local rc=$?
	trap '' INT TERM HUP
	[ "$rc" = 0 ] && [ "$TG_FAILED" != 0 ] && rc=1
	tg_teardown "$rc"
	exit "$rc"
}

# tg_init - temp dir, a copy of the binary nobody can run, the traps.
# Enough for tests that need no namespaces.
tg_init() {
	trap tg_on_exit EXIT
	trap 'tg_on_signal INT' INT
	trap 'tg_on_signal TERM' TERM
	trap 'tg_on_signal HUP' HUP
	[ ${#TG_ID} -le 10 ] || die "TG_ID '$TG_ID' is longer than 10"
	[ -x "$TUNGATE" ] || skip "no binary at $TUNGATE (make tungate)"
	T=$(mktemp -d "/tmp/$TG_ID.XXXXXX") || die "mktemp"
	# the outside runs as nobody: it needs a path it can traverse
	chmod 755 "$T"
	cp "$TUNGATE" "$T/tungate" || die "cannot copy $TUNGATE"
	chmod 755 "$T/tungate"
	# the outside's XDG_RUNTIME_DIR (its control socket), nobody's
	mkdir -m 700 "$T/xdg" && chown nobody:nogroup "$T/xdg" ||
		die "cannot make $T/xdg"
}

# tg_etc NS RESOLVER - /etc/netns/NS/{resolv.conf,hosts}, which
# `ip netns exec` bind-mounts over /etc: the inside's DNS rewrite must never
# reach the host's own file
tg_etc() {
	# twice: a test ending at the same time may rmdir an empty /etc/netns
	# between mkdir -p's two steps
	mkdir -p "/etc/netns/$1" 2>/dev/null || mkdir -p "/etc/netns/$1" ||
		die "mkdir /etc/netns/$1"
	printf 'nameserver %s\nsearch tungate.test\n' "$2" \
		>"/etc/netns/$1/resolv.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n%s lan.tungate.test lan\n' \
		"$LAN4" >"/etc/netns/$1/hosts"
}

# tg_sysctl NS KEY=VALUE...
tg_sysctl() {
	local ns=$1
	shift
	in_ns "$ns" sysctl -qw "$@" >/dev/null || die "sysctl $* in $ns"
}

must() {
	cmd "$@" || die "setup: $* failed"
}

# tg_setup - the three namespaces, their links and addresses, the UDP echo
# in lan; returns when everything answers
tg_setup() {
	local ns
	tg_init
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, TUN)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	for ns in "$NS_CS" "$NS_LOCAL" "$NS_LAN"; do
		! [ -e "/run/netns/$ns" ] || die "namespace $ns exists already"
	done

	TG_WORLD=1
	tg_etc "$NS_CS" "$LAN4"
	tg_etc "$NS_LOCAL" "$LAN4"
	for ns in "$NS_CS" "$NS_LOCAL" "$NS_LAN"; do
		must ip netns add "$ns"
		TG_INODES+=("$(stat -L -c %i "/run/netns/$ns")")
		# run.sh looks for state files of these namespaces later
		[ -n "${TG_LOGDIR:-}" ] && mkdir -p "$TG_LOGDIR" &&
			echo "${TG_INODES[-1]}" >>"$TG_LOGDIR/netns-inodes"
		must ip -n "$ns" link set lo up
	done
	# local is a host, not a router: cs can reach lan only via the tunnel
	tg_sysctl "$NS_LOCAL" net.ipv4.ip_forward=0 \
		net.ipv6.conf.all.forwarding=0 \
		net.ipv4.ping_group_range="0 2147483647"
	# no DAD on local and lan; cs keeps the kernel's defaults, like a
	# real container (its own addresses are nodad)
	for ns in "$NS_LOCAL" "$NS_LAN"; do
		tg_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
	done

	must ip link add "$IF_CS" netns "$NS_CS" type veth \
		peer name "$IF_LC" netns "$NS_LOCAL"
	must ip link add "$IF_LL" netns "$NS_LOCAL" type veth \
		peer name "$IF_LAN" netns "$NS_LAN"

	must ip -n "$NS_CS" addr add "$CS4/24" dev "$IF_CS"
	must ip -n "$NS_CS" addr add "$CS6/64" dev "$IF_CS" nodad
	must ip -n "$NS_LOCAL" addr add "$GW4/24" dev "$IF_LC"
	must ip -n "$NS_LOCAL" addr add "$GW6/64" dev "$IF_LC" nodad
	must ip -n "$NS_LOCAL" addr add "$LOCAL_LAN4/24" dev "$IF_LL"
	must ip -n "$NS_LOCAL" addr add "$LOCAL_LAN6/64" dev "$IF_LL" nodad
	must ip -n "$NS_LAN" addr add "$LAN4/24" dev "$IF_LAN"
	must ip -n "$NS_LAN" addr add "$LAN6/64" dev "$IF_LAN" nodad
	must ip -n "$NS_CS" link set "$IF_CS" up
	must ip -n "$NS_LOCAL" link set "$IF_LC" up
	must ip -n "$NS_LOCAL" link set "$IF_LL" up
	must ip -n "$NS_LAN" link set "$IF_LAN" up
	must ip -n "$NS_CS" route add default via "$GW4"
	must ip -n "$NS_CS" -6 route add default via "$GW6"

	tg_bg udp-echo "$NS_LAN" python3 "$TG_LIB_DIR/udp.py" serve 7
	wait_for 10 tg_udp_listening "$NS_LAN" 7 ||
		die "setup: no UDP echo in lan"
	# the link-local addresses finish DAD, so snapshots are stable
	wait_for 10 tg_dad_done "$NS_CS" "$IF_CS" ||
		die "setup: IPv6 DAD did not finish in cs"
	wait_for 10 in_ns "$NS_CS" ping -c 1 -W 1 "$GW4" ||
		die "setup: cs cannot ping local"
	wait_for 10 in_ns "$NS_LOCAL" ping -c 1 -W 1 "$LAN4" ||
		die "setup: local cannot ping lan"
	wait_for 10 in_ns "$NS_LOCAL" ping -6 -c 1 -W 1 "$LAN6" ||
		die "setup: local cannot ping lan over IPv6"
	[ -n "$TG_VERBOSE" ] && say "world $TG_ID ready in $T"
	return 0
}

tg_udp_listening() {
	[ "$(ip netns exec "$1" ss -Hlun "sport = :$2" | wc -l)" -ge 2 ]
}

tg_tcp_listening() {
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep . >/dev/null
}

# tg_dad_done NS IF - IF has its link-local address and no address of NS
# is still tentative
tg_dad_done() {
	[ -n "$(ip -n "$1" -6 addr show dev "$2" scope link)" ] &&
		[ -z "$(ip -n "$1" -6 addr show tentative)" ]
}

# tg_teardown RC - undo everything this test made (see the top)
tg_teardown() {
	local rc=$1 ns p f
	tg_stop_groups
	if [ "$TG_WORLD" = 1 ]; then
		for ns in "$NS_CS" "$NS_LOCAL" "$NS_LAN"; do
			for p in $(ip netns pids "$ns" 2>/dev/null); do
				echo "# leftover process in $ns: $p" >&2
				kill -KILL "$p" 2>/dev/null
			done
		done
	fi
	for p in $(tg_marked_pids "$TG_ID"); do
		echo "# leftover process marked $TG_ID: $p" >&2
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${TG_INODES[@]}"; do
		for f in /run/tungate/"$p"-*.state; do
			[ -e "$f" ] || continue
			echo "# removing a state file the inside left: $f" >&2
			rm -f "$f"
		done
	done
	if [ "$TG_WORLD" = 1 ]; then
		for ns in "$NS_CS" "$NS_LOCAL" "$NS_LAN"; do
			[ -e "/run/netns/$ns" ] && ip netns del "$ns"
			rm -rf "/etc/netns/$ns"
		done
		rmdir /etc/netns 2>/dev/null
	fi
	[ -n "$T" ] && [ -d "$T" ] || return 0
	if [ -n "${TG_LOGDIR:-}" ]; then
		mkdir -p "$TG_LOGDIR" && cp "$T"/*.log "$TG_LOGDIR"/ 2>/dev/null
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] || [ -n "$TG_VERBOSE" ]; then
		for f in "$T"/*.log; do
			[ -s "$f" ] || continue
			echo "---- ${f##*/} (last 25 lines)" >&2
			tail -n 25 "$f" >&2
		done
	fi
	rm -rf "$T"
}

# --- the tunnel ---------------------------------------------------------------

# tg_start_tunnel [OUTSIDE ARGS...] - a socat listener in cs that runs the
# inside (as root) for one connection, and the outside in local as nobody,
# its stream being `socat - TCP:cs`. Returns when the outside logs "inside
# is up" (1 after 20 s). Sets TG_OUTSIDE_PID, TG_CS_SOCAT_PID,
# TG_INSIDE_PID and the log names; the inside's exit status lands in
# $TG_INSIDE_RC.
tg_start_tunnel() {
	local wrapper inside=${TG_INSIDE_RUN[*]:-$T/tungate}
	TG_N=$((TG_N + 1))
	TG_OUTSIDE_LOG=$T/outside.$TG_N.log
	TG_INSIDE_LOG=$T/inside.$TG_N.log
	TG_INSIDE_RC=$T/inside.$TG_N.rc
	TG_INSIDE_PID=
	wrapper=$T/inside.$TG_N.sh
	# The wrapper outlives socat's SIGTERM (socat sends one when the
	# inside closes the stream) to record the status; the inside starts
	# with every signal at its default, as under sshd (socat ignores
	# SIGPIPE, and an ignored signal would be inherited). socat's EXEC
	# splits on blanks: the wrapper's path has none.
	cat >"$wrapper" <<-EOF
		#!/bin/sh
		# run by socat in cs for one connection: the inside, its log and
		# its exit status
		trap : TERM HUP INT
		env --default-signal $inside inside --stdio \
			${TG_INSIDE_ARGS[*]} 2>>"$TG_INSIDE_LOG"
		echo \$? >"$TG_INSIDE_RC"
	EOF
	chmod 755 "$wrapper"
	: >"$TG_INSIDE_LOG"

	wait_for 10 not tg_tcp_listening "$NS_CS" "$TG_PORT" || {
		fail "an old listener still holds port $TG_PORT in cs"
		return 1
	}
	tg_bg "cs-socat.$TG_N" "$NS_CS" socat \
		"TCP-LISTEN:$TG_PORT,bind=$CS4,reuseaddr" "EXEC:$wrapper"
	TG_CS_SOCAT_PID=$TG_LAST_PID
	wait_for 10 tg_tcp_listening "$NS_CS" "$TG_PORT" || {
		fail "socat in cs does not listen on $TG_PORT"
		return 1
	}
	local -a run=(setpriv --reuid=nobody --regid=nogroup --clear-groups
		env XDG_RUNTIME_DIR="$T/xdg" "${TG_OUTSIDE_ENV[@]}" "$T/tungate")
	[ ${#TG_OUTSIDE_RUN[@]} != 0 ] && run=("${TG_OUTSIDE_RUN[@]}")
	tg_bg "outside.$TG_N" "$NS_LOCAL" \
		"${run[@]}" outside --exec "${TG_OUTSIDE_EXEC:-socat - TCP:$CS4:$TG_PORT}" \
		--route "$LAN_NET4" --route "$LAN_NET6" \
		"${TG_OUTSIDE_ARGS[@]}" "$@"
	TG_OUTSIDE_PID=$TG_LAST_PID
	wait_for 20 tg_up_or_gone
	if ! grep -q "inside is up" "$TG_OUTSIDE_LOG"; then
		if tg_alive "$TG_OUTSIDE_PID"; then
			fail "the outside did not log 'inside is up' within 20 s"
		else
			fail "the outside exited before 'inside is up'"
		fi
		return 1
	fi
	wait_for 5 tg_find_inside || {
		fail "no inside process under socat in cs"
		return 1
	}
	return 0
}

# tg_up_or_gone - the outside says "inside is up", or it has exited
tg_up_or_gone() {
	grep -q "inside is up" "$TG_OUTSIDE_LOG" || ! tg_alive "$TG_OUTSIDE_PID"
}

# tg_find_inside - set TG_INSIDE_PID: socat -> sh wrapper -> tungate
tg_find_inside() {
	local sh
	sh=$(pgrep -P "$TG_CS_SOCAT_PID" | head -n 1)
	[ -n "$sh" ] || return 1
	TG_INSIDE_PID=$(pgrep -P "$sh" -x "$TG_INSIDE_COMM" | head -n 1)
	[ -n "$TG_INSIDE_PID" ]
}

# tg_wait_inside_exit SECONDS - wait for the inside's exit status; prints it
tg_wait_inside_exit() {
	wait_for "$1" test -s "$TG_INSIDE_RC" || return 1
	cat "$TG_INSIDE_RC"
}

# tg_stop_tunnel - the normal stop: SIGTERM to the outside; waits for both
tg_stop_tunnel() {
	kill -TERM "$TG_OUTSIDE_PID" 2>/dev/null
	tg_wait_exit "$TG_OUTSIDE_PID" 15 || {
		fail "the outside did not exit within 15 s of SIGTERM"
		return 1
	}
	tg_wait_inside_exit 15 >/dev/null || {
		fail "the inside did not exit within 15 s"
		return 1
	}
	tg_wait_exit "$TG_CS_SOCAT_PID" 10
}

# --- probes -------------------------------------------------------------------

# tg_last_line_has FILE TEXT... - FILE's last line is its only error line,
# and holds every TEXT (a failure is one line, and the last)
tg_last_line_has() {
	local f=$1 last t
	shift
	last=$(tail -n 1 "$f")
	[ "$(grep -c ': error: ' "$f")" = 1 ] || return 1
	case $last in *": error: "*) ;; *) return 1 ;; esac
	for t in "$@"; do
		case $last in *"$t"*) ;; *) return 1 ;; esac
	done
}

# tg_nsd_start ZONE:FILE... - an authoritative nsd in lan on LAN4 and LAN6
# serving each ZONE from $T/FILE; NSD_PID is its process group. Returns
# once it answers the first zone's SOA from local (10 s at most).
tg_nsd_start() {
	local z first=${1%%:*}
	{
		printf 'server:\n\tip-address: %s\n\tip-address: %s\n' "$LAN4" "$LAN6"
		printf '\tusername: ""\n\tchroot: ""\n\tzonesdir: "%s"\n' "$T"
		printf '\tdatabase: ""\n\tzonelistfile: "%s/nsd.zonelist"\n' "$T"
		printf '\txfrdfile: "%s/nsd.xfrd"\n\txfrdir: "%s"\n' "$T" "$T"
		printf '\tpidfile: "%s/nsd.pid"\n\tserver-count: 1\n' "$T"
		printf '\tverbosity: 1\nremote-control:\n\tcontrol-enable: no\n'
		for z in "$@"; do
			printf 'zone:\n\tname: %s\n\tzonefile: %s\n' "${z%%:*}" "${z#*:}"
		done
	} >"$T/nsd.conf"
	tg_bg nsd "$NS_LAN" nsd -d -c "$T/nsd.conf"
	NSD_PID=$TG_LAST_PID
	wait_for 10 in_ns "$NS_LOCAL" dig +time=1 +tries=1 +short \
		"@$LAN4" "$first" SOA
}

# tg_udp_echo NS HOST PORT SIZE [TIMEOUT] - send a unique payload of SIZE
# bytes from NS; succeed if exactly it comes back within TIMEOUT (3) s
tg_udp_echo() {
	in_ns "$1" python3 "$TG_LIB_DIR/udp.py" check "$2" "$3" "$4" "${5:-3}"
}

# tg_snapshot NS - what the inside may change in NS, in a comparable form
tg_snapshot() {
	local ns=$1
	echo "== ip rule"
	ip -n "$ns" -4 rule show
	echo "== ip -6 rule"
	ip -n "$ns" -6 rule show
	echo "== ip route"
	ip -n "$ns" -4 route show table all
	echo "== ip -6 route"
	ip -n "$ns" -6 route show table all
	echo "== links"
	ip -n "$ns" -o link show
	echo "== addresses"
	ip -n "$ns" -o addr show
	echo "== resolv.conf"
	cat "/etc/netns/$ns/resolv.conf"
}

# tg_state_files NS - the inside's state files of namespace NS
tg_state_files() {
	local ino
	ino=$(stat -L -c %i "/run/netns/$1") || return 1
	ls /run/tungate/"$ino"-*.state 2>/dev/null
}

# tg_fds PID - how many descriptors PID holds
tg_fds() {
	find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l
}

# tg_rss PID - PID's resident set in KiB (0 once it is gone)
tg_rss() {
	awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# tg_probe SCRIPT ARGS... - python3 SCRIPT ARGS... in cs, bounded to 10 s:
# its exit status in PROBE_RC, its output in $T/probe.out
tg_probe() {
	in_ns "$NS_CS" timeout 10 python3 "$@" >"$T/probe.out" 2>&1
	PROBE_RC=$?
	[ -n "$TG_VERBOSE" ] && cat "$T/probe.out" >&2
	return 0
}

# tg_ro_resolv_sh - write $T/ro.sh, which runs its arguments as a container
# that keeps /etc/resolv.conf read-only (a read-only bind mount, in a mount
# namespace of their own); for TG_INSIDE_RUN
tg_ro_resolv_sh() {
	cat >"$T/ro.sh" <<'EOF'
#!/bin/sh
exec unshare -m --propagation private sh -c 'mount -o remount,bind,ro \
	/etc/resolv.conf && exec "$@"' sh "$@"
EOF
	chmod 755 "$T/ro.sh"
}

# tg_serve_big MB HTTP LINE - lan serves $T/www/big (MB MiB of random
# bytes, their SHA-256 in BIG_SHA) over HTTP on port HTTP, and echoes lines
# on port LINE (tcp.py)
tg_serve_big() {
	must mkdir -p "$T/www"
	must head -c "${1}M" /dev/urandom >"$T/www/big"
	BIG_SHA=$(sha256sum <"$T/www/big" | cut -d' ' -f1)
	tg_bg http "$NS_LAN" python3 "$TG_LIB_DIR/tcp.py" http "$2" "$T/www"
	tg_bg lineecho "$NS_LAN" python3 "$TG_LIB_DIR/tcp.py" lineecho "$3"
	for p in "$2" "$3"; do
		wait_for 10 tg_tcp_listening "$NS_LAN" "$p" ||
			die "no server on $p"
	done
}

# tg_status_json NAME - `tungate status NAME --json` as the outside's user
tg_status_json() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env XDG_RUNTIME_DIR="$T/xdg" "$T/tungate" status "$1" --json
}

# tg_counter NS DEV rx|tx - packets the device has seen
tg_counter() {
	in_ns "$1" cat "/sys/class/net/$2/statistics/${3}_packets"
}

tg_has_dev() {
	ip -n "$1" link show "$2" >/dev/null 2>&1
}

# tg_has_rule NS FAMILY PREF - a rule with this priority exists
tg_has_rule() {
	ip -n "$1" "$2" rule show | grep "^$3:" >/dev/null
}

# tg_has_rules NS FAMILY - both rules of the inside exist
tg_has_rules() {
	tg_has_rule "$1" "$2" "$TG_PREF" && tg_has_rule "$1" "$2" "$TG_TABLE"
}

# tg_has_routes NS - the tunnel's table routes lan, v4 and v6
tg_has_routes() {
	ip -n "$1" -4 route show table "$TG_TABLE" |
		grep "^$LAN_NET4 .*dev $TUN_DEV" >/dev/null &&
		ip -n "$1" -6 route show table "$TG_TABLE" |
		grep "^$LAN_NET6 .*dev $TUN_DEV" >/dev/null
}

# tg_http_start - a web server in lan on port 8080, IPv4 and IPv6 (one
# dual-stack socket), serving $T/www/hello.txt ("hello from lan")
tg_http_start() {
	mkdir -p "$T/www" && echo "hello from lan" >"$T/www/hello.txt"
	tg_bg http "$NS_LAN" python3 -m http.server --bind :: \
		--directory "$T/www" 8080
	wait_for 10 tg_tcp_listening "$NS_LAN" 8080
}

# tg_basic_path - what every tunnel carries, as checks: HTTP (after
# tg_http_start), UDP and ping from cs to lan over IPv4 and IPv6, and a
# name of local's hosts file resolved through the tunnel (with DNS on:
# TG_OUTSIDE_ARGS without --no-dns)
tg_basic_path() {
	local a
	for a in "$LAN4" "[$LAN6]"; do
		check "HTTP to $a" test "$(in_ns "$NS_CS" curl -s -g -m 10 \
			"http://$a:8080/hello.txt")" = "hello from lan"
	done
	check "UDP echo to $LAN4" tg_udp_echo "$NS_CS" "$LAN4" 7 1200
	check "UDP echo to $LAN6" tg_udp_echo "$NS_CS" "$LAN6" 7 1200
	check "ping $LAN4" in_ns "$NS_CS" ping -q -c 2 -W 2 "$LAN4"
	check "ping -6 $LAN6" in_ns "$NS_CS" ping -6 -q -c 2 -W 2 "$LAN6"
	check "a name resolves through the tunnel" bash -c \
		"ip netns exec $NS_CS getent ahostsv4 lan.tungate.test | grep -q '^$LAN4 '"
	check "HTTP by name" test "$(in_ns "$NS_CS" curl -s -m 10 \
		http://lan.tungate.test:8080/hello.txt)" = "hello from lan"
}
