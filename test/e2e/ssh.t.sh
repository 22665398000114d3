#!/bin/bash
# SPDX-License-Identifier: MIT
#
# ssh: `tungate outside --ssh devbox` against a real sshd (OpenSSH) in cs,
# the outside running as nobody with a HOME of its own: ~/.ssh/config (a
# Host alias with HostName, Port, User, IdentityFile), known_hosts, keys.
# Covered: an unknown host without a terminal fails in one line unless
# --accept-new (which records the key); the alias brings the tunnel up and
# UDP and ICMP reach lan; hashed known_hosts entries; the remote's stderr
# in the outside's log, prefixed with the host; a changed host key fails
# naming the file and line; a wrong key fails with the agent-or-key line;
# ssh-agent; ProxyCommand; the inside's options given to the outside
# (--tun, --table, --pref) reach the inside; keepalives notice a dead
# link; a missing remote command fails naming it; --install uploads into
# an empty remote HOME once, and a second run uses the copy.
#
# The SSH world is sshd.sh's: sshd in cs with its own host keys, configs
# and authorized_keys, sessions with HOME=$RH (so --install never touches
# the real /root), the outside's HOME with ~/.ssh/config and its variants,
# ssh_outside and its helpers. known_hosts starts empty: the first checks
# are about an unknown host.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
sshd_check
tg_setup
sshd_init

INSIDE_CMD="$T/tungate inside --stdio -v"

ssh_traffic() {
	check "UDP echo over IPv4 through --ssh" \
		tg_udp_echo "$NS_CS" "$LAN4" 7 1000
	check "UDP echo over IPv6 through --ssh" \
		tg_udp_echo "$NS_CS" "$LAN6" 7 1000
	check "ping $LAN4 through --ssh" \
		in_ns "$NS_CS" ping -q -c 2 -W 2 "$LAN4"
}

sshd_start "$S/config_a"

# --- host keys --------------------------------------------------------------------

ssh_outside --remote-command "$INSIDE_CMD"
check "unknown host, no terminal: exit 1" ssh_fails
check "unknown host: one line naming known_hosts and --accept-new" \
	ssh_last_line_has "ssh devbox: host key verification failed" \
	"$KH" "--accept-new" "SHA256:"
check "unknown host: nothing written to known_hosts" not test -s "$KH"

ssh_outside --remote-command "$INSIDE_CMD" --accept-new
if check "--accept-new: the tunnel comes up over the Host alias" ssh_up; then
	check "the outside runs as nobody" \
		test "$(ps -o user= -p "$OUT_PID")" = nobody
	check "--accept-new recorded the key in known_hosts" \
		grep -q "^\[devbox.tungate.test\]:$SSH_PORT ssh-ed25519 " "$KH"
	ssh_traffic
	check "the remote's stderr is logged with the host as prefix" \
		grep -q "info: devbox: .*inside: " "$OUT_LOG"
	check "the tunnel stops on SIGTERM: exit 0, inside gone" ssh_stop
fi

# known_hosts as ssh writes it with HashKnownHosts yes
must ssh-keygen -q -H -f "$KH" >/dev/null 2>&1
rm -f "$KH.old"
chown nobody:nogroup "$KH"
ssh_outside --remote-command "$INSIDE_CMD"
if check "a hashed known_hosts entry is recognised" ssh_up; then
	check "UDP echo over IPv4 (hashed entry)" \
		tg_udp_echo "$NS_CS" "$LAN4" 7 100
	check "the tunnel stops on SIGTERM (hashed entry)" ssh_stop
fi

sshd_start "$S/config_b"
ssh_outside --remote-command "$INSIDE_CMD" --accept-new
check "changed host key: exit 1, even with --accept-new" ssh_fails
check "changed host key: one line naming the file and line" \
	ssh_last_line_has "host key verification failed" "CHANGED" \
	"line 1 of $KH" "ssh-keygen"
sshd_start "$S/config_a"

SSH_DEST="root@[$CS6]:$SSH_PORT"
ssh_outside --remote-command "$INSIDE_CMD" -F "$H/.ssh/config_v6" --accept-new
if check "user@[IPv6]:port without an alias: the tunnel comes up" ssh_up; then
	check "UDP echo over IPv6 (IPv6 DEST)" \
		tg_udp_echo "$NS_CS" "$LAN6" 7 100
	check "the tunnel stops on SIGTERM (IPv6 DEST)" ssh_stop
fi
SSH_DEST=devbox

# --- login ------------------------------------------------------------------------

ssh_outside --remote-command "$INSIDE_CMD" -F "$H/.ssh/config_wrong"
check "wrong key: exit 1" ssh_fails
check "wrong key: one line saying to use an agent or a key" \
	ssh_last_line_has "permission denied (publickey" \
	"add your key to ssh-agent or name it with IdentityFile"

tg_bg agent "$NS_LOCAL" setpriv --reuid=nobody --regid=nogroup \
	--clear-groups ssh-agent -D -a "$H/agent.sock"
wait_for 10 test -S "$H/agent.sock" || fail "ssh-agent did not start"
if setpriv --reuid=nobody --regid=nogroup --clear-groups \
	env SSH_AUTH_SOCK="$H/agent.sock" ssh-add -q "$H/.ssh/id_test" \
	</dev/null 2>/dev/null; then
	AGENT_SOCK=$H/agent.sock
	ssh_outside --remote-command "$INSIDE_CMD" -F "$H/.ssh/config_agent"
	if check "ssh-agent: the tunnel comes up with the agent's key" ssh_up
	then
		check "UDP echo over IPv4 (agent)" \
			tg_udp_echo "$NS_CS" "$LAN4" 7 100
		check "the tunnel stops on SIGTERM (agent)" ssh_stop
	fi
	AGENT_SOCK=
else
	fail "ssh-add could not add the key to the agent"
fi

ssh_outside --remote-command "$INSIDE_CMD" -F "$H/.ssh/config_proxy"
if check "ProxyCommand: the tunnel comes up through socat" ssh_up; then
	check "UDP echo over IPv4 (ProxyCommand)" \
		tg_udp_echo "$NS_CS" "$LAN4" 7 100
	check "the tunnel stops on SIGTERM (ProxyCommand)" ssh_stop
fi

# --- the inside's options, given to the outside -----------------------------

SSH_TUN=tgssh0
# the inside's rules: N (suppress) and N+1 (its table)
ssh_rule_pref() {
	tg_has_rule "$NS_CS" -4 7480 &&
		ip -n "$NS_CS" -4 rule show | grep "^7481:.*lookup 7470" >/dev/null
}
ssh_outside --remote-command "$INSIDE_CMD" --tun "$SSH_TUN" --table 7470 \
	--pref 7480
if check "--tun/--table/--pref on the outside: the tunnel comes up" ssh_up
then
	check "--tun NAME: the inside's TUN device is NAME" \
		tg_has_dev "$NS_CS" "$SSH_TUN"
	check "--tun NAME: no device of the default name" \
		not tg_has_dev "$NS_CS" "$TUN_DEV"
	check "--table/--pref: the inside's rule uses them" ssh_rule_pref
	check "the options were added to the remote command, quoted" \
		grep -q "running '$INSIDE_CMD --tun '$SSH_TUN' --table '7470'" \
		"$OUT_LOG"
	check "UDP echo over IPv4 (--tun NAME)" \
		tg_udp_echo "$NS_CS" "$LAN4" 7 100
	check "the tunnel stops on SIGTERM (--tun NAME)" ssh_stop
	check "--tun NAME: the device is gone after the stop" \
		wait_for 10 not tg_has_dev "$NS_CS" "$SSH_TUN"
fi
ssh_exec_tun() {
	"$T/tungate" outside --exec true --tun "$SSH_TUN" 2>"$T/usage.err"
	[ $? = 2 ] && [ "$(wc -l <"$T/usage.err")" = 1 ] &&
		grep -q -- "--tun is an option of the inside: it goes with --ssh" \
			"$T/usage.err"
}
check "--tun with --exec: exit 2, one line saying it goes with --ssh" \
	ssh_exec_tun

# --- liveness -------------------------------------------------------------------

# the link between cs and local goes down: keepalives go unanswered
ssh_outside --remote-command "$INSIDE_CMD" -F "$H/.ssh/config_alive" \
	--timeout 120 --once
if check "keepalive: the tunnel comes up" ssh_up; then
	sleep 3 # a few answered keepalives first: no false alarm
	check "keepalive: still up after 3 s of answered keepalives" \
		tg_alive "$OUT_PID"
	must ip -n "$NS_LOCAL" link set "$IF_LC" down
	check "keepalive: a silent server ends the outside with exit 1" \
		ssh_fails
	check "keepalive: one line saying the connection is gone" \
		ssh_last_line_has "has not answered for" "connection is gone"
	must ip -n "$NS_LOCAL" link set "$IF_LC" up
	# the inside of the lost session would wait for its own timeout
	pkill -TERM -f "$T/tungate inside" 2>/dev/null
	check "keepalive: the stranded inside cleans up on SIGTERM" \
		wait_for 15 ssh_no_inside
	wait_for 10 in_ns "$NS_LOCAL" ping -c 1 -W 1 "$CS4" >/dev/null
fi

# --- the remote command -------------------------------------------------------

ssh_outside --remote-command "/nonexistent/tungate inside --stdio"
check "missing remote command: exit 1" ssh_fails
check "missing remote command: one line naming it" \
	ssh_last_line_has "'/nonexistent/tungate inside --stdio' was not found" \
	"--install"
check "missing remote command: the remote shell's complaint is logged" \
	grep -q "info: devbox: .*/nonexistent/tungate" "$OUT_LOG"

# --install: `tungate` is not on the remote's PATH; the copy lands in
# $RH/.cache/tungate and the second run finds it there
VERSION=$("$T/tungate" version | awk '{ print $2 }')
if in_ns "$NS_CS" sh -c 'command -v tungate' >/dev/null; then
	say "tungate is on cs's PATH: the --install checks are skipped"
else
	ssh_outside --remote-command "tungate inside --stdio -v" --install
	if check "--install: the tunnel comes up on the uploaded copy" ssh_up
	then
		check "--install uploaded into the empty remote HOME" \
			test -x "$RH/.cache/tungate/tungate-$VERSION"
		check "--install said so" grep -q "installing tungate" "$OUT_LOG"
		check "UDP echo over IPv4 (--install)" \
			tg_udp_echo "$NS_CS" "$LAN4" 7 100
		check "the tunnel stops on SIGTERM (--install)" ssh_stop
	fi
	ssh_outside --remote-command "tungate inside --stdio -v" --install
	if check "--install, second run: the tunnel comes up" ssh_up; then
		check "--install, second run: no upload" \
			not grep -q "installing tungate" "$OUT_LOG"
		check "--install, second run: the copy is used" \
			grep -q "the remote has tungate $VERSION" "$OUT_LOG"
		check "the tunnel stops on SIGTERM (second --install)" ssh_stop
	fi
fi

# --install picks the binary for the remote's `uname -m`, which a uname on
# the sessions' PATH makes what $T/fake-mach says: aarch64 gets
# tungate-aarch64 from beside the outside's binary, or the one named by
# --install-binary aarch64=PATH; riscv64, which nothing fits, one line
# naming what to build. The aarch64 copy cannot run here: only the upload
# is judged.
ARM=$(dirname "$TUNGATE")/tungate-aarch64
if ! [ -x "$ARM" ]; then
	say "no $ARM (make tungate-aarch64): the --install by machine checks are skipped"
elif in_ns "$NS_CS" sh -c 'command -v tungate' >/dev/null; then
	say "tungate is on cs's PATH: the --install by machine checks are skipped"
else
	mkdir -p "$T/fakebin" "$T/elsewhere"
	cat >"$T/fakebin/uname" <<-EOF
		#!/bin/sh
		[ "\$1" = -m ] && exec cat "$T/fake-mach"
		exec /bin/uname "\$@"
	EOF
	chmod 755 "$T/fakebin/uname"
	sed "s|^SetEnv HOME=.*|& PATH=$T/fakebin:/usr/sbin:/usr/bin:/sbin:/bin|" \
		"$S/config_a" >"$S/config_mach"
	sshd_start "$S/config_mach"
	cp "$ARM" "$T/tungate-aarch64"
	cp "$ARM" "$T/elsewhere/tg-arm"
	COPY=$RH/.cache/tungate/tungate-$VERSION
	# install_by MACH [ARGS...] - an --install run against a remote of
	# that machine, from an empty cache; returns once the outside is gone
	install_by() {
		echo "$1" >"$T/fake-mach"
		shift
		rm -rf "$RH/.cache"
		ssh_outside --remote-command "tungate inside --stdio -v" \
			--install --once "$@"
		tg_wait_exit "$OUT_PID" 30 || ssh_stop
	}
	install_by aarch64
	check "--install, aarch64 remote: tungate-aarch64 beside the outside's binary" \
		grep -q "the remote is aarch64: uploading $T/tungate-aarch64" "$OUT_LOG"
	check "--install, aarch64 remote: the copy is that binary" cmp "$ARM" "$COPY"
	rm -f "$T/tungate-aarch64"
	install_by aarch64 --install-binary "x86_64=$T/tungate" \
		--install-binary "aarch64=$T/elsewhere/tg-arm"
	check "--install-binary aarch64=PATH: that one is uploaded" \
		grep -q "the remote is aarch64: uploading $T/elsewhere/tg-arm" "$OUT_LOG"
	check "--install-binary aarch64=PATH: the copy is that binary" cmp "$ARM" "$COPY"
	install_by riscv64
	check "--install, riscv64 remote: exit 1" test "$TG_RC" = 1
	check "--install, riscv64 remote: one line naming what to build" \
		ssh_last_line_has "the remote is riscv64" "tungate-riscv64" \
		"--install-binary riscv64=PATH"
	check "--install, riscv64 remote: nothing uploaded" not test -e "$COPY"
	sshd_start "$S/config_a"
fi

tg_done
