#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench.sh - how fast tungate carries a container's traffic, beside the
# kernel's own forwarding, OpenSSH's layer-3 tunnel and two userspace NATs
# (pasta, slirp4netns), in one run.
#
#   test/bench/bench.sh [BINARY]        (make bench; as root)
#
# Theory of operation. The e2e world of test/e2e/lib.sh (cs = container,
# local = developer's machine, lan = servers only local reaches) is built
# once; lan gets an iperf3 server, nginx serving a small file and a 100 MB
# one, and nsd serving bench.test. The same client programs then run in cs
# against lan through each contender in turn:
#
#   direct      local forwards (ip_forward=1), no tunnel: the upper bound
#   exec        tungate, outside --exec 'socat - TCP:cs:7400' (no crypto;
#               lib.sh's tg_start_tunnel, socat given big buffers)
#   pipe        tungate, outside --exec 'ip netns exec cs tungate inside
#               --stdio' (as root): no relay at all, tungate's own cost
#   pasta       pasta in local for a namespace of its own, where the
#               clients then run (usernet.sh): a userspace NAT, no tunnel
#   slirp       the same with slirp4netns (each skipped if not installed)
#   ssh         tungate, outside --exec 'ssh ... tungate inside --stdio'
#   libssh      tungate, outside --ssh cs -F FILE --remote-command
#               'tungate inside --stdio': its own SSH client (libssh)
#   ssh -w      OpenSSH's tun-device tunnel, cs routes lan through it
#   raw ssh     dd | ssh 'cat >/dev/null' (and back): the SSH channel alone
#
# Every SSH contender logs in from local to one sshd in cs (root, a high
# port, temp keys) with the same cipher, $BENCH_CIPHER (the only one that
# sshd offers): libssh with tungate's own client, the others with OpenSSH's.
# Metrics: iperf3 TCP upload and download, new connections per second (wrk,
# Connection: close), a 100 MB download with curl, ping round trip (average,
# median, minimum), one-byte TCP and UDP request/response round trips
# (pingpong.c, latency.sh), the outside's (and inside's, and under the ssh
# contender the OpenSSH client's; under pasta and slirp the NAT's) CPU seconds
# per GB carried during the iperf3 runs, and DNS: dnsperf at full load
# (queries/s) and at a light fixed rate (latency percentiles, from dnsperf
# -v), against nsd directly (direct, pasta, slirp) and against the tunnel's
# DNS address (cached names). Every load is bounded in time; lib.sh's trap
# removes everything. One table, with ratios to direct, then the targets of
# issues 4, 5, 7 and 20 with pass/miss (issue 20's round trips of the pipe
# against pasta's, or slirp4netns's without pasta). Then the SSH contenders
# again behind a relay that adds a round trip (BENCH_DELAYS, default "20 80"
# ms; latency.sh): raw channel, ssh -w, tungate --ssh. The table and the
# targets go to stdout, every number also to BENCH_JSON (default bench.json in
# the current directory). A miss does not fail the run: this is a measurement,
# not a test. Exit status 1 only when the world cannot be built or the exec
# tunnel does not start (lib.sh's fail).
#
# Environment: BENCH_T (seconds per iperf3/wrk/dnsperf run, default 5),
# BENCH_MB (curl download, default 100), BENCH_RAW_MB (raw channel, 2048),
# BENCH_PP (ping-pong round trips, 1000), BENCH_DELAYS, BENCH_DELAY_MB
# (raw channel behind the relay, 128), BENCH_ONLY="direct libssh delay"
# (only these contenders; names as in the list above, sshw for ssh -w,
# raw, delay), BENCH_SHORT=1 (a quick try: 2 s runs, small downloads,
# 200 round trips, one delay of 20 ms; not numbers to quote),
# BENCH_PERF=DIR (perf record the outside during the exec and libssh
# iperf3 runs into DIR/perf-{exec,libssh}-{up,down}.data), TG_VERBOSE=1.
#
# shellcheck source-path=SCRIPTDIR disable=SC2317,SC2119
TG_ID=${TG_ID:-tb$$}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -n "${1:-}" ]; then
	TUNGATE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	export TUNGATE
fi
# shellcheck source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"
# shellcheck source=measure.sh
. "$HERE/measure.sh"

if [ -n "${BENCH_SHORT:-}" ]; then
	BENCH_T=${BENCH_T:-2} BENCH_MB=${BENCH_MB:-20}
	BENCH_RAW_MB=${BENCH_RAW_MB:-256} BENCH_PP=${BENCH_PP:-200}
	BENCH_PINGS=${BENCH_PINGS:-10} BENCH_DELAYS=${BENCH_DELAYS:-20}
	BENCH_DELAY_MB=${BENCH_DELAY_MB:-32}
fi
BENCH_T=${BENCH_T:-5}
BENCH_MB=${BENCH_MB:-100}
BENCH_RAW_MB=${BENCH_RAW_MB:-2048}
BENCH_DELAYS=${BENCH_DELAYS:-20 80}
BENCH_JSON=${BENCH_JSON:-$PWD/bench.json}

# want NAME - true when contender NAME is to be measured (BENCH_ONLY)
want() {
	[ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]
}
BENCH_CIPHER=aes128-gcm@openssh.com
HTTP=8080 IPERF=5201 SSH_PORT=2222
WRK_PORTS=12 WRK_RUNS=0 # nginx also on HTTP+1..HTTP+WRK_PORTS: bench_wrk
DNS_TUN=198.18.0.53
# ssh -w: tun5 in cs and in local, a /30 of our own in 198.18/15
WTUN=tun5 WTUN_CS=198.18.9.2 WTUN_LOCAL=198.18.9.1

for c in iperf3 wrk dnsperf nginx nsd socat curl ping /usr/sbin/sshd; do
	command -v "$c" >/dev/null || skip "$c is not installed (make deps)"
done
START=$SECONDS
LOAD=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$LOAD" 'BEGIN { exit !(l > 0.5) }' &&
	say "warning: load average $LOAD before the run: other work shares" \
		"these $(nproc) cores and will lower the numbers"
tg_setup
TG_OUTSIDE_ARGS=() # DNS on, info logging: the defaults a user gets
TG_INSIDE_ARGS=()

# --- the world's extras ---------------------------------------------------

# lan answers whatever comes from 198.18/15 through local (direct, ssh -w);
# tungate's traffic comes from local's own address and needs none of it
must ip -n "$NS_LAN" route add 198.18.0.0/15 via "$LOCAL_LAN4"
for ns in "$NS_CS" "$NS_LOCAL"; do
	# wrk's connections are many and short
	tg_sysctl "$ns" net.ipv4.ip_local_port_range="10000 65000"
done

bench_servers          # measure.sh: iperf3, nginx, nsd in lan
bench_pingpong_servers # latency.sh: one-byte echo, TCP and UDP, in lan
bench_sshd             # measure.sh: sshd in cs, keys, the client's options

# --- the contenders -------------------------------------------------------

if want direct; then
	say "direct: local forwards (ip_forward=1)"
	tg_sysctl "$NS_LOCAL" net.ipv4.ip_forward=1
	if wait_for 5 in_ns "$NS_CS" ping -c 1 -W 1 "$LAN4"; then
		bench_all direct "$LAN4"
	else
		say "direct: cs cannot reach lan through local; skipped"
	fi
	tg_sysctl "$NS_LOCAL" net.ipv4.ip_forward=0
fi

if want exec; then
	say "tungate over --exec (socat, 256 KiB buffers, nodelay)"
	bench_socat_shim
	OLDPATH=$PATH
	export PATH=$T/bin:$PATH
	if tg_start_tunnel; then
		BENCH_OUT_PID=$TG_OUTSIDE_PID BENCH_IN_PID=$TG_INSIDE_PID
		bench_all exec "$DNS_TUN"
		tg_stop_tunnel
	fi
	export PATH=$OLDPATH
fi

if want pipe; then
	say "tungate over a pipe (no relay; the outside as root, to enter cs)"
	if bench_start_cmd_tunnel pipe \
		"ip netns exec $NS_CS $T/tungate inside --stdio"; then
		bench_all pipe "$DNS_TUN"
		bench_stop_cmd_tunnel
	fi
fi

for c in pasta slirp; do
	want "$c" && bench_usernet "$c"
done

if want ssh; then
	say "tungate over ssh ($BENCH_CIPHER)"
	if bench_start_cmd_tunnel ssh "$SSH_CMD $T/tungate inside --stdio" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups; then
		bench_all ssh "$DNS_TUN"
		bench_stop_cmd_tunnel
	fi
fi

if want libssh; then
	say "tungate over --ssh, libssh ($BENCH_CIPHER)"
	if bench_start_outside libssh \
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		--ssh cs -F "$LIBSSH_CFG" --once \
		--remote-command "$T/tungate inside --stdio"; then
		bench_all libssh "$DNS_TUN"
		bench_stop_cmd_tunnel
	fi
	say "tungate over --ssh, libssh, --stripes $BENCH_STRIPES (at 0 ms)"
	if bench_start_outside libsshS \
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		--ssh cs -F "$LIBSSH_CFG" --stripes "$BENCH_STRIPES" \
		--remote-command "$T/tungate inside --stdio"; then
		wait_for 20 bench_stripes_up
		bench_ping libsshS
		bench_iperf libsshS up
		bench_iperf libsshS down
		bench_stop_cmd_tunnel
		say "0 ms: tungate ${R[libsshS.up]:--}/${R[libsshS.down]:--}" \
			"Gbit/s with --stripes $BENCH_STRIPES," \
			"${R[libssh.up]:--}/${R[libssh.down]:--} with one"
	fi
fi

if want sshw; then
	say "ssh -w (OpenSSH tun tunnel, $BENCH_CIPHER)"
	if bench_start_sshw; then
		bench_all sshw ""
		bench_stop_sshw
	fi
fi

if want raw; then
	say "raw ssh channel ($BENCH_CIPHER)"
	bench_raw_ssh
fi

if want delay; then
	for ms in $BENCH_DELAYS; do
		bench_delay "$ms"
	done
fi

bench_report
bench_json "$BENCH_JSON" && say "every number in $BENCH_JSON"
say "done in $((SECONDS - START)) s"
tg_done
