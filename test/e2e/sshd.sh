# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: MIT
#
# sshd.sh - a real sshd (OpenSSH) in cs, and an outside that reaches it
# with `--ssh devbox` as nobody, with a HOME of its own. Sourced by the
# tests that need SSH, after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/sshd.sh"
#   sshd_check          # skips the test without OpenSSH
#   tg_setup
#   sshd_init           # keys, configs, the outside's HOME
#   sshd_start "$S/config_a"
#   ssh_known_hosts     # or let the test try --accept-new
#   ssh_outside --remote-command "$INSIDE_CMD" ...
#
# Theory of operation. sshd runs in cs as root on $CS4:2222 and
# [$CS6]:2222 with host keys, config and authorized_keys of its own in
# $S; its sessions get HOME=$RH (SetEnv), so nothing touches the real
# /root. The outside runs in local as nobody with HOME=$H: ~/.ssh/config
# has the alias devbox (HostName devbox.tungate.test, which local's
# /etc/hosts maps to $CS4; Port, User root, IdentityFile) and a few
# variants of it for -F. sshd and ssh-agent are daemons of lib.sh's tg_bg,
# so its teardown stops them; sshd's sessions (and the insides they run)
# are in cs, where the teardown finds whatever is left. The EXIT hook adds
# what only SSH tests make: /run/sshd, and the inside's resume sockets.
# /run/sshd is shared by the tests that run at the same time (one sshd
# each): each notes its use in $SSHD_USERS, under a lock on /run, and the
# last one out removes /run/sshd if a test made it.
#
# Files:  $S/host_a, $S/host_b    two host keys (a changed key: config_b)
#         $S/config_a, config_b   sshd configs using one or the other
#         $H/.ssh/id_test         the authorized key; id_wrong is not
#         $H/.ssh/config          the alias; config_wrong (id_wrong),
#                                 config_agent (no IdentityFile),
#                                 config_proxy (ProxyCommand socat),
#                                 config_v6 (no alias), config_alive (a
#                                 silent server is gone in 2 s),
#                                 config_reconnect (in 6 s)
#         $KH                     known_hosts, empty until ssh_known_hosts

SSHD=/usr/sbin/sshd
SSH_PORT=2222
SSH_HOST=devbox.tungate.test
SSH_DEST=devbox
S='' H='' RH='' KH=''
SSHD_PID=''
AGENT_SOCK=''
SSH_N=0
OUT_PID='' OUT_LOG=''
SSHD_USERS=/run/tungate-sshd # a file per test; .made: a test made /run/sshd
SSHD_USER=''

# sshd_check - skip the test when OpenSSH's server or tools are missing
sshd_check() {
	[ -x "$SSHD" ] || skip "no $SSHD (apt-get install openssh-server)"
	command -v ssh-keygen >/dev/null || skip "no ssh-keygen"
	command -v ssh-agent >/dev/null || skip "no ssh-agent"
}

# sshd_on_exit - lib.sh's teardown, then what SSH tests add
sshd_on_exit() {
	local rc=$? ino f
	for ino in "${TG_INODES[@]}"; do
		for f in /run/tungate/"$ino"-*.sock; do
			[ -e "$f" ] || continue
			echo "# removing a resume socket the inside left: $f" >&2
			rm -f "$f"
		done
	done
	[ -n "$SSHD_USER" ] && sshd_run_dir_put
	(exit "$rc")
	tg_on_exit
}

# sshd_run_dir_get - /run/sshd (sshd's privilege separation) exists and
# this test is one of its users
sshd_run_dir_get() {
	SSHD_USER=$SSHD_USERS/${T##*/}
	flock 9 || return 1
	if ! [ -d /run/sshd ]; then
		mkdir -m 755 /run/sshd || return 1
		mkdir -p "$SSHD_USERS" && touch "$SSHD_USERS/.made" || return 1
	fi
	mkdir -p "$SSHD_USERS" && touch "$SSHD_USER"
} 9</run

# sshd_run_dir_put - this test is done with /run/sshd; the last user
# removes it, if a test made it
sshd_run_dir_put() {
	local f
	flock 9 || return 1
	rm -f "$SSHD_USER"
	SSHD_USER=''
	for f in "$SSHD_USERS"/*; do
		[ -e "$f" ] && return 0
	done
	[ -e "$SSHD_USERS/.made" ] && rmdir /run/sshd 2>/dev/null
	rm -f "$SSHD_USERS/.made"
	rmdir "$SSHD_USERS"
} 9</run

# sshd_config HOSTKEY - an sshd config using that host key
sshd_config() {
	cat <<-EOF
		Port $SSH_PORT
		ListenAddress $CS4
		ListenAddress [$CS6]
		HostKey $1
		PidFile $S/sshd.pid
		UsePAM no
		PermitRootLogin prohibit-password
		AuthorizedKeysFile $S/authorized_keys
		StrictModes no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PrintMotd no
		PrintLastLog no
		SetEnv HOME=$RH
		LogLevel VERBOSE
	EOF
}

# sshd_client_configs - ~/.ssh/config and its variants (see the top)
sshd_client_configs() {
	local c=$H/.ssh/config
	{
		echo "# the user's own config: an alias, as people write them"
		echo "Host devbox"
		printf '\tHostName %s\n\tPort %s\n' "$SSH_HOST" "$SSH_PORT"
		printf '\tUser root\n\tIdentityFile %s\n' "$H/.ssh/id_test"
		printf '\tServerAliveInterval 5\n\nHost *\n\tConnectTimeout 10\n'
	} >"$c"
	sed "s|id_test|id_wrong|" "$c" >"$c"_wrong
	# no IdentityFile: the key must come from the agent
	grep -v IdentityFile "$c" >"$c"_agent
	# the connection through a ProxyCommand (socat, as nobody, in local)
	sed "s|^\tUser root|\tUser root\n\tProxyCommand socat - TCP:%h:%p|" \
		"$c" >"$c"_proxy
	# no alias: DEST is user@[address]:port
	printf 'Host *\n\tIdentityFile %s\n' "$H/.ssh/id_test" >"$c"_v6
	# a server silent for 2 s is gone
	sed "s|ServerAliveInterval 5|ServerAliveInterval 1\n\tServerAliveCountMax 2|" \
		"$c" >"$c"_alive
	# reconnecting: a dead link is noticed in 6 s
	sed "s|ServerAliveInterval 5|ServerAliveInterval 2\n\tServerAliveCountMax 3|" \
		"$c" >"$c"_reconnect
}

# sshd_init - after tg_setup: /run/sshd, keys, configs, the outside's
# HOME (nobody's), the EXIT hook
sshd_init() {
	S=$T/sshd H=$T/home RH=$T/rhome KH=$T/home/.ssh/known_hosts
	trap sshd_on_exit EXIT
	sshd_run_dir_get || die "cannot create /run/sshd"
	must mkdir -p "$S" "$H/.ssh" "$RH"
	must ssh-keygen -q -t ed25519 -N '' -C host-a -f "$S/host_a"
	must ssh-keygen -q -t ed25519 -N '' -C host-b -f "$S/host_b"
	must ssh-keygen -q -t ed25519 -N '' -C test -f "$H/.ssh/id_test"
	must ssh-keygen -q -t ed25519 -N '' -C wrong -f "$H/.ssh/id_wrong"
	must cp "$H/.ssh/id_test.pub" "$S/authorized_keys"
	sshd_config "$S/host_a" >"$S/config_a"
	sshd_config "$S/host_b" >"$S/config_b"
	# the container's name, as the static binary resolves it: /etc/hosts
	echo "$CS4 $SSH_HOST" >>"/etc/netns/$NS_LOCAL/hosts"
	sshd_client_configs
	must chown -R nobody:nogroup "$H"
	must chmod 700 "$H" "$H/.ssh"
}

# ssh_known_hosts - known_hosts trusts host key a, as after a first login
ssh_known_hosts() {
	echo "[$SSH_HOST]:$SSH_PORT $(cut -d' ' -f1,2 "$S/host_a.pub")" >"$KH"
	chown nobody:nogroup "$KH"
	chmod 600 "$KH"
}

# sshd_stop - stop sshd (its sessions live on until their clients go)
sshd_stop() {
	[ -n "$SSHD_PID" ] || return 0
	kill -TERM -- "-$SSHD_PID" 2>/dev/null
	wait_for 10 not tg_group_alive "$SSHD_PID"
	wait_for 10 not tg_tcp_listening "$NS_CS" "$SSH_PORT"
	SSHD_PID=''
}

# sshd_start CONFIG - (re)start sshd in cs; wait until it listens
sshd_start() {
	sshd_stop
	tg_bg sshd "$NS_CS" "$SSHD" -D -e -f "$1"
	SSHD_PID=$TG_LAST_PID
	wait_for 10 tg_tcp_listening "$NS_CS" "$SSH_PORT" ||
		die "sshd does not listen on $CS4:$SSH_PORT (see sshd.log)"
}

# ssh_outside [ARGS...] - start the outside as nobody over --ssh $SSH_DEST,
# with HOME=$H and XDG_RUNTIME_DIR=$T/xdg; sets OUT_PID (the tungate
# process itself) and OUT_LOG. The agent socket only when AGENT_SOCK is set.
ssh_outside() {
	SSH_N=$((SSH_N + 1))
	OUT_LOG=$T/outside-ssh.$SSH_N.log
	tg_bg "outside-ssh.$SSH_N" "$NS_LOCAL" \
		env -u SSH_AUTH_SOCK HOME="$H" XDG_RUNTIME_DIR="$T/xdg" \
		${AGENT_SOCK:+SSH_AUTH_SOCK=$AGENT_SOCK} \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$T/tungate" outside --ssh "$SSH_DEST" \
		--route "$LAN_NET4" --route "$LAN_NET6" \
		"${TG_OUTSIDE_ARGS[@]}" "$@"
	OUT_PID=$TG_LAST_PID
}

# ssh_inside_wrapper LOG - $T/inside-ssh.sh, a remote command that runs
# `tungate ARGS...` with its stderr appended to LOG: an inside that waits
# for its session to resume logs while no SSH session carries its stderr.
# Rewritten per call, so each part of a test can have its own log.
ssh_inside_wrapper() {
	cat >"$T/inside-ssh.sh" <<-EOF
		#!/bin/sh
		# run by sshd in cs: the inside, its stderr to a file
		exec "$T/tungate" "\$@" 2>>"$1"
	EOF
	chmod 755 "$T/inside-ssh.sh"
	touch "$1"
}

ssh_up_or_gone() {
	grep -q "inside is up" "$OUT_LOG" || ! tg_alive "$OUT_PID"
}

# ssh_up - the outside logs "inside is up" within 30 s
ssh_up() {
	wait_for 30 ssh_up_or_gone
	grep -q "inside is up" "$OUT_LOG"
}

# ssh_fails - the outside exits 1 within 30 s
ssh_fails() {
	tg_wait_exit "$OUT_PID" 30 && [ "$TG_RC" = 1 ]
}

# ssh_last_line_has TEXT... - the outside's log ends in its only error line
# (the remote's own lines, which it logs as info, do not count), holding
# every TEXT
ssh_last_line_has() {
	local last t
	last=$(tail -n 1 "$OUT_LOG")
	[ "$(grep -c 'outside: error: ' "$OUT_LOG")" = 1 ] || return 1
	case $last in *"outside: error: "*) ;; *) return 1 ;; esac
	for t in "$@"; do
		case $last in *"$t"*) ;; *) return 1 ;; esac
	done
}

# ssh_no_inside - no inside process of this test, no TUN device in cs
ssh_no_inside() {
	! pgrep -f "$T/tungate inside" >/dev/null &&
		! tg_has_dev "$NS_CS" "$TUN_DEV"
}

# ssh_stop - SIGTERM to the outside: exit 0, and the inside is gone
ssh_stop() {
	kill -TERM "$OUT_PID" 2>/dev/null
	tg_wait_exit "$OUT_PID" 20 || return 1
	[ "$TG_RC" = 0 ] || return 1
	wait_for 10 ssh_no_inside
}
