# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034,SC2154,SC2153
# SPDX-License-Identifier: MIT
#
# latency.sh - bench.sh's round trips: one-byte ping-pong through every
# contender, and the SSH contenders behind an added round trip.
#
# Theory of operation. bench_pingpong_servers builds test/bench/pingpong.c
# into $T and starts its TCP and UDP echo servers in lan; bench_pingpong
# NAME (from bench_all, while the path is idle) measures BENCH_PP one-byte
# round trips of each through whatever contender is up, into R[NAME.tcprr]
# and R[NAME.udprr] (average, ms), R[NAME.tcprr50] / R[NAME.udprr50]
# (median: what a loaded machine disturbs least) and R[NAME.tcprr99] /
# R[NAME.udprr99].
#
# bench_delay MS puts test/bench/delay.py in front of sshd (in cs, on
# DELAY_PORT, holding each chunk MS/2 each way: this kernel has no netem)
# and measures, through it, the raw SSH channel, ssh -w and tungate --ssh
# (libssh): iperf3 up and down, into R[rawMS.up], R[sshwMS.up],
# R[libsshMS.up] and so on (tungate with --stripes BENCH_STRIPES, and as
# R[libssh1sMS.*] with one stream; R[libsshwmMS.up]: bench_wmem_up). A
# single SSH channel is held to its window per round trip (OpenSSH grants
# 2 MiB each way, tungate's outside 8 MiB for what comes from the
# container); these rows show how close each comes. The relay lives at most
# BENCH_DELAY_LIFE seconds.

PP_PORT=7500
DELAY_PORT=2223
BENCH_PP=${BENCH_PP:-1000}
BENCH_DELAY_MB=${BENCH_DELAY_MB:-128}
BENCH_DELAY_LIFE=${BENCH_DELAY_LIFE:-300}
BENCH_STRIPES=${BENCH_STRIPES:-4} # --stripes of tungate behind the relay
BENCH_WMEM=${BENCH_WMEM:-16777216} # cs's tcp_wmem max for bench_wmem_up

bench_pingpong_servers() {
	cc -O2 -Wall -Wextra -o "$T/pingpong" "$HERE/pingpong.c" ||
		die "cannot build test/bench/pingpong.c"
	tg_bg pp-tcp "$NS_LAN" "$T/pingpong" serve tcp "$LAN4" "$PP_PORT"
	tg_bg pp-udp "$NS_LAN" "$T/pingpong" serve udp "$LAN4" "$PP_PORT"
	wait_for 10 tg_tcp_listening "$NS_LAN" "$PP_PORT" ||
		die "pingpong does not listen in lan"
}

# bench_pingpong NAME - BENCH_PP TCP and UDP one-byte round trips from cs
bench_pingpong() {
	local name=$1 proto out
	local re='^avg ([0-9.]+) min [0-9.]+ p50 ([0-9.]+) p99 ([0-9.]+) lost ([0-9]+)'
	for proto in tcp udp; do
		out=$(in_ns "$BENCH_NS" timeout $((BENCH_PP + 20)) "$T/pingpong" \
			ping "$proto" "$LAN4" "$PP_PORT" "$BENCH_PP" 2>&1)
		if [[ $out =~ $re ]]; then
			R[$name.${proto}rr]=${BASH_REMATCH[1]}
			R[$name.${proto}rr50]=${BASH_REMATCH[2]}
			R[$name.${proto}rr99]=${BASH_REMATCH[3]}
			[ "${BASH_REMATCH[4]}" != 0 ] &&
				say "$name: $proto ping-pong lost ${BASH_REMATCH[4]}"
		else
			say "$name: $proto ping-pong failed: $out"
		fi
	done
}

# --- an added round trip ---------------------------------------------------

# bench_delay_login - the OpenSSH command line and the libssh config of
# bench_sshd, through the relay's port (its own known_hosts line: the key
# is the port's too)
bench_delay_login() {
	SSH_CMD_D=${SSH_CMD/-p $SSH_PORT/-p $DELAY_PORT}
	LIBSSH_CFG_D=$T/home/ssh_config_delay
	sed "s/^\(\s*Port\) .*/\1 $DELAY_PORT/" "$LIBSSH_CFG" >"$LIBSSH_CFG_D"
	grep -q "^\[$CS4\]:$DELAY_PORT " "$T/home/known_hosts" ||
		echo "[$CS4]:$DELAY_PORT $(cut -d' ' -f1,2 "$T/sshd/host.pub")" \
			>>"$T/home/known_hosts"
	chown nobody:nogroup "$LIBSSH_CFG_D" "$T/home/known_hosts"
}

# bench_stripes_up - the outside's extra stripes carry frames
bench_stripes_up() {
	[ "$(grep -c "stripe [0-9]* to the inside is up" "$BENCH_CMD_LOG")" \
		-ge $((BENCH_STRIPES - 1)) ]
}

# bench_wmem_up NAME - the upload again with cs's TCP send buffer allowed
# to grow to BENCH_WMEM (16 MiB) instead of Linux's 4 MiB: one connection
# never has more than its send buffer unacknowledged, so at 80 ms the
# container's own kernel caps an upload at 4 MiB per round trip, tunnel
# or not. This shows what the tunnel carries when the container allows it.
bench_wmem_up() {
	local old lo def
	old=$(in_ns "$NS_CS" sysctl -n net.ipv4.tcp_wmem) || return 0
	read -r lo def _ <<<"$old"
	in_ns "$NS_CS" sysctl -qw net.ipv4.tcp_wmem="$lo $def $BENCH_WMEM" ||
		return 0
	bench_iperf "$1" up
	tg_sysctl "$NS_CS" net.ipv4.tcp_wmem="$old"
}

# bench_delay MS - the SSH contenders with MS ms added to the round trip
bench_delay() {
	local ms=$1 half relay
	half=$(awk -v m="$ms" 'BEGIN { printf "%g", m / 2 }')
	bench_run_sshd
	bench_delay_login
	tg_bg "delay$ms" "$NS_CS" python3 "$HERE/delay.py" "$CS4" \
		"$DELAY_PORT" "$CS4" "$SSH_PORT" "$half" "$BENCH_DELAY_LIFE"
	relay=$TG_LAST_PID
	if ! wait_for 10 tg_tcp_listening "$NS_CS" "$DELAY_PORT"; then
		say "delay $ms ms: the relay does not listen (see delay$ms.log)"
		return 1
	fi
	say "raw ssh channel, $ms ms round trip"
	SSH_CMD=$SSH_CMD_D BENCH_RAW_MB=$BENCH_DELAY_MB bench_raw_ssh "raw$ms"

	say "ssh -w, $ms ms round trip"
	if SSH_CMD=$SSH_CMD_D bench_start_sshw; then
		bench_iperf "sshw$ms" up
		bench_iperf "sshw$ms" down
		bench_stop_sshw
	fi

	say "tungate --ssh (libssh), $ms ms round trip, --stripes $BENCH_STRIPES"
	if bench_start_outside "libssh$ms" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		--ssh cs -F "$LIBSSH_CFG_D" --stripes "$BENCH_STRIPES" \
		--remote-command "$T/tungate inside --stdio"; then
		wait_for 30 bench_stripes_up
		bench_ping "libssh$ms"
		bench_iperf "libssh$ms" up
		bench_iperf "libssh$ms" down
		bench_wmem_up "libsshwm$ms"
		say "$(grep -c "stripe [0-9]* to the inside is up" \
			"$BENCH_CMD_LOG") extra stripes were up;" \
			"$(grep -E "stripe|packets from" "$BENCH_CMD_LOG" | tail -n 3)"
		bench_stop_cmd_tunnel
	fi
	say "tungate --ssh (libssh), $ms ms round trip, one stream"
	if bench_start_outside "libssh1s$ms" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		--ssh cs -F "$LIBSSH_CFG_D" --once \
		--remote-command "$T/tungate inside --stdio"; then
		bench_iperf "libssh1s$ms" up
		bench_iperf "libssh1s$ms" down
		bench_stop_cmd_tunnel
	fi
	say "$ms ms: raw ${R[raw$ms.up]:--}/${R[raw$ms.down]:--}," \
		"ssh -w ${R[sshw$ms.up]:--}/${R[sshw$ms.down]:--}," \
		"tungate ${R[libssh$ms.up]:--}/${R[libssh$ms.down]:--}" \
		"(--stripes $BENCH_STRIPES)," \
		"${R[libssh1s$ms.up]:--}/${R[libssh1s$ms.down]:--} (one) Gbit/s"
	kill -TERM -- "-$relay" 2>/dev/null
	wait_for 10 not tg_group_alive "$relay"
	return 0
}
