#!/bin/bash
# SPDX-License-Identifier: MIT
#
# latency: what one small packet costs the outside over --ssh, counted in
# syscalls (strace -c of both its threads during 50 pings): counts, not
# times, since the machine is shared and its timings are not ours. Per
# echo, both ways, the outside needs two wake-ups of its SSH thread and
# the one poll() inside libssh's read, one SSH packet sent and the ping
# socket's sendto, and no epoll_ctl. Before issue 20 it made 15 poll()s
# (a wake-up after every packet sent, reads that found nothing), sent a
# WINDOW_ADJUST per packet received (3 sendto) and an epoll_ctl per write
# to the SSH thread's socketpair.
#
# shellcheck source-path=SCRIPTDIR disable=SC2317
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
command -v strace >/dev/null || skip "strace is not installed"
sshd_check
tg_setup
sshd_init
ssh_known_hosts
sshd_start "$S/config_a"

PINGS=50
STRACE_PID=''
latency_on_exit() {
	local rc=$?
	[ -n "$STRACE_PID" ] && kill -INT "$STRACE_PID" 2>/dev/null
	(exit "$rc")
	sshd_on_exit
}
trap latency_on_exit EXIT

# traced - strace has attached to the outside
traced() {
	! grep -q '^TracerPid:[[:space:]]*0$' "/proc/$OUT_PID/status"
}

# per_echo SYSCALL - calls of SYSCALL per echo, 2 decimals (0 if none)
per_echo() {
	awk -v s="$1" -v n="$PINGS" '$NF == s { c = $4 } END {
		printf "%.2f", c / n }' "$T/strace.txt"
}

# below SYSCALL MAX - fewer than MAX calls of SYSCALL per echo
below() {
	local v
	v=$(per_echo "$1")
	say "$1 per echo: $v"
	awk -v v="$v" -v m="$2" 'BEGIN { exit !(v < m) }'
}

ssh_outside --remote-command "$T/tungate inside --stdio"
assert "the tunnel comes up over --ssh" ssh_up
in_ns "$NS_CS" ping -q -c 5 -i 0.05 -W 2 "$LAN4" >/dev/null

strace -f -c -o "$T/strace.txt" -e trace=poll,sendto,epoll_ctl \
	-p "$OUT_PID" 2>/dev/null &
STRACE_PID=$!
check "strace attaches to the outside" wait_for 10 traced
check "$PINGS pings through --ssh, all answered" \
	in_ns "$NS_CS" ping -q -c "$PINGS" -i 0.05 -W 2 "$LAN4"
kill -INT "$STRACE_PID"
wait "$STRACE_PID"
STRACE_PID=''
check "strace counted the outside's syscalls" grep -q ' poll$' "$T/strace.txt"

check "at most 5 poll() per echo (3: two wake-ups, one in libssh)" \
	below poll 5.5
check "one SSH packet and one ping per echo (no WINDOW_ADJUST each time)" \
	below sendto 2.5
check "no epoll_ctl per echo (the loop writes the socketpair's dup)" \
	below epoll_ctl 0.5
check "the tunnel stops on SIGTERM" ssh_stop
tg_done
