#!/bin/bash
# SPDX-License-Identifier: MIT
#
# connect: a first connection that cannot work ends the program (issue 17,
# item 7). Like ssh, `tungate outside --ssh` exits 1 with one line when no
# session was ever up: a name that does not resolve (under .invalid, asked
# of local's own resolver, 198.19.2.2, where nothing answers), a port
# where nothing listens (connection refused, on cs's address). With
# --retry it keeps trying instead, and comes up once sshd starts, as a
# service started before the network would; SIGTERM then stops it with
# exit 0. The systemd unit uses --retry. Reconnecting after a session was
# up is resume.t.sh's.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
sshd_check
tg_setup
sshd_init
ssh_known_hosts

INSIDE_CMD="$T/tungate inside --stdio -v"

# first_fails NAME TEXT... - the outside gives up at once: exit 1 within
# 15 s, one line holding TEXT..., no retry
first_fails() {
	local name=$1 start=$SECONDS
	shift
	ssh_outside --remote-command "$INSIDE_CMD"
	tg_wait_exit "$OUT_PID" 15
	check "$name: exit 1 (got ${TG_RC:-no exit} in $((SECONDS - start)) s)" \
		test "${TG_RC:-}" = 1
	check "$name: one line that says what failed" ssh_last_line_has "$@" ||
		tail -n 3 "$OUT_LOG" >&2
	check "$name: no reconnecting" not grep -q "reconnecting" "$OUT_LOG"
}

# retries N - the outside has logged N attempts and still runs
retries() {
	[ "$(grep -c "reconnecting in .* (attempt" "$OUT_LOG")" -ge "$1" ] &&
		tg_alive "$OUT_PID"
}

# --- without --retry: one line, exit 1 ----------------------------------------

SSH_DEST=no-such-host.invalid
first_fails "a name that does not resolve" "ssh no-such-host.invalid" \
	"cannot resolve"

SSH_DEST="root@$CS4:2299"
first_fails "connection refused" "connection refused" "$CS4 port 2299"

# --- --retry: keeps trying from the start -------------------------------------

SSH_DEST=no-such-host.invalid
ssh_outside --remote-command "$INSIDE_CMD" --retry
check "--retry, a name that does not resolve: it keeps trying" \
	wait_for 15 retries 2
check "--retry: SIGTERM while waiting ends it with exit 0" ssh_stop

SSH_DEST=devbox
ssh_outside --remote-command "$INSIDE_CMD" --retry
check "--retry, no sshd yet: it keeps trying" wait_for 15 retries 1
sshd_start "$S/config_a"
if check "--retry: the tunnel comes up once sshd is there" ssh_up; then
	check "--retry: UDP echo through the tunnel" \
		tg_udp_echo "$NS_CS" "$LAN4" 7 100
	check "--retry: the tunnel stops on SIGTERM" ssh_stop
fi

check "the systemd unit runs the outside with --retry" \
	grep -q '^ExecStart=.* outside --ssh %I --retry' \
	"$TG_REPO/contrib/systemd/tungate@.service"

tg_done
