# shellcheck shell=bash source-path=SCRIPTDIR disable=SC2034,SC2154,SC2153
# SPDX-License-Identifier: MIT
#
# measure.sh - the servers, contenders and measurements of bench.sh.
#
# Theory of operation. Results go into the associative array R, keyed
# "CONTENDER.METRIC" (e.g. R[exec.up] in Gbit/s); a measurement that could
# not be taken leaves its key unset and prints one "# ... failed" line, so
# the table shows "-" there and the run goes on. Every client is wrapped in
# `timeout`, so no load outlives its slot. bench_report (report.sh) turns R
# into the table. The clients run in BENCH_NS: cs, except while a
# contender of usernet.sh gives them a namespace of their own. Sourced by
# bench.sh after lib.sh.

declare -A R=()
BENCH_OUT_PID='' BENCH_IN_PID='' BENCH_CLI_PID=''
# where the clients run, and the device whose bytes their CPU per GB counts
BENCH_NS=$NS_CS BENCH_DEV=$TUN_DEV

# bench_servers - iperf3, nginx (a small file and a BENCH_MB one) and nsd
# (bench.test: h1..h100) in lan; returns when all three answer
bench_servers() {
	local i
	mkdir -p "$T/www" "$T/nginx/tmp"
	head -c 512 /dev/zero | tr '\0' x >"$T/www/small"
	head -c $((BENCH_MB << 20)) /dev/urandom >"$T/www/big"
	cat >"$T/nginx.conf" <<-EOF
		worker_processes 2;
		daemon off;
		pid $T/nginx/nginx.pid;
		error_log $T/nginx.log warn;
		events { worker_connections 8192; }
		http {
			access_log off;
			sendfile on;
			tcp_nopush on;
			keepalive_timeout 30;
			keepalive_requests 1000000;
			client_body_temp_path $T/nginx/tmp/body;
			proxy_temp_path $T/nginx/tmp/proxy;
			fastcgi_temp_path $T/nginx/tmp/fastcgi;
			uwsgi_temp_path $T/nginx/tmp/uwsgi;
			scgi_temp_path $T/nginx/tmp/scgi;
			server {
				listen $LAN4:$HTTP backlog=4096 reuseport;
				$(for i in $(seq 1 "$WRK_PORTS"); do
					echo "listen $LAN4:$((HTTP + i)) backlog=4096 reuseport;"
				done)
				root $T/www;
			}
		}
	EOF
	tg_bg nginx "$NS_LAN" nginx -p "$T/nginx" -e "$T/nginx.log" \
		-c "$T/nginx.conf"
	tg_bg iperf3 "$NS_LAN" iperf3 -s -B "$LAN4" -p "$IPERF"

	{
		# shellcheck disable=SC2016
		printf '$ORIGIN bench.test.\n$TTL 300\n'
		printf '@ IN SOA ns admin 1 3600 600 86400 60\n@ IN NS ns\n'
		printf 'ns IN A %s\n' "$LAN4"
		for i in $(seq 1 100); do
			printf 'h%d IN A 198.19.3.%d\n' "$i" "$i"
		done
	} >"$T/bench.zone"
	for i in $(seq 1 100); do
		echo "h$i.bench.test A"
	done >"$T/queries"
	cat >"$T/nsd.conf" <<-EOF
		server:
			ip-address: $LAN4
			username: ""
			chroot: ""
			zonesdir: "$T"
			database: ""
			zonelistfile: "$T/nsd.zonelist"
			xfrdfile: "$T/nsd.xfrd"
			xfrdir: "$T"
			pidfile: "$T/nsd.pid"
			server-count: 1
			verbosity: 1
			# response rate limiting would answer a benchmark with TC
			rrl-ratelimit: 0
			rrl-whitelist-ratelimit: 0
		remote-control:
			control-enable: no
		zone:
			name: bench.test
			zonefile: bench.zone
	EOF
	tg_bg nsd "$NS_LAN" nsd -d -c "$T/nsd.conf"

	wait_for 10 tg_tcp_listening "$NS_LAN" "$HTTP" ||
		die "nginx does not listen in lan (see nginx.log)"
	wait_for 10 tg_tcp_listening "$NS_LAN" "$IPERF" ||
		die "iperf3 does not listen in lan"
	wait_for 10 in_ns "$NS_LOCAL" dig +time=1 +tries=1 +short \
		"@$LAN4" h1.bench.test A || die "nsd does not answer in lan"
	in_ns "$NS_LOCAL" curl -s -m 5 -o /dev/null "http://$LAN4:$HTTP/small" ||
		die "nginx does not serve /small"
}

# --- sshd in cs and the client's options -----------------------------------

MADE_RUN_SSHD=0
bench_on_exit() {
	local rc=$?
	[ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
	bench_usernet_ns_del
	(exit "$rc")
	tg_on_exit
}

# bench_run_sshd - sshd wants /run/sshd (privilege separation) on every
# connection; another test may remove its own, so make sure before each use
bench_run_sshd() {
	[ -d /run/sshd ] && return 0
	mkdir -p /run/sshd && chmod 755 /run/sshd && MADE_RUN_SSHD=1
}

# bench_sshd - temp host and user keys, sshd as root in cs on SSH_PORT
# (PermitTunnel for ssh -w, only BENCH_CIPHER), SSH_CMD: the OpenSSH client
# command line every OpenSSH contender uses (no spaces in $T), and for
# tungate's own --ssh (libssh) the same login as a config file, LIBSSH_CFG,
# with the alias cs and a known_hosts that already trusts the host key
bench_sshd() {
	local s=$T/sshd h=$T/home
	trap bench_on_exit EXIT
	bench_run_sshd
	must mkdir -p "$s" "$h"
	must ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$s/host"
	must ssh-keygen -q -t ed25519 -N '' -C bench -f "$h/id"
	cp "$h/id.pub" "$s/authorized_keys"
	echo "[$CS4]:$SSH_PORT $(cut -d' ' -f1,2 "$s/host.pub")" \
		>"$h/known_hosts"
	LIBSSH_CFG=$h/ssh_config
	cat >"$LIBSSH_CFG" <<-EOF
		Host cs
			HostName $CS4
			Port $SSH_PORT
			User root
			IdentityFile $h/id
			IdentitiesOnly yes
			Ciphers $BENCH_CIPHER
			Compression no
			UserKnownHostsFile $h/known_hosts
			GlobalKnownHostsFile /dev/null
			StrictHostKeyChecking yes
			ConnectTimeout 10
	EOF
	chown -R nobody:nogroup "$h"
	chmod 700 "$h"
	cat >"$s/config" <<-EOF
		Port $SSH_PORT
		ListenAddress $CS4
		HostKey $s/host
		PidFile $s/sshd.pid
		UsePAM no
		PermitRootLogin prohibit-password
		AuthorizedKeysFile $s/authorized_keys
		StrictModes no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitTunnel yes
		Ciphers $BENCH_CIPHER
		Compression no
		PrintMotd no
		PrintLastLog no
		LogLevel ERROR
	EOF
	tg_bg sshd "$NS_CS" /usr/sbin/sshd -D -e -f "$s/config"
	wait_for 10 tg_tcp_listening "$NS_CS" "$SSH_PORT" ||
		die "sshd does not listen on $CS4:$SSH_PORT (see sshd.log)"
	SSH_CMD="ssh -F /dev/null -c $BENCH_CIPHER -o Compression=no"
	SSH_CMD+=" -i $h/id -o IdentitiesOnly=yes -o BatchMode=yes"
	SSH_CMD+=" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
	SSH_CMD+=" -o LogLevel=ERROR -o ConnectTimeout=10 -p $SSH_PORT"
	SSH_CMD+=" root@$CS4"
}

# as_user CMD... - run CMD in local as nobody, as the outside would
as_user() {
	in_ns "$NS_LOCAL" env HOME="$T/home" setpriv --reuid=nobody \
		--regid=nogroup --clear-groups "$@"
}

# bench_socat_shim - $T/bin/socat: lib.sh's tunnel relay with 256 KiB
# buffers and TCP_NODELAY. With socat's defaults (8 KiB reads, Nagle) the
# relay, not tungate, is what the exec contender measures (~0.6 Gbit/s).
# bench.sh puts $T/bin first in PATH for tg_start_tunnel only.
bench_socat_shim() {
	mkdir -p "$T/bin"
	cat >"$T/bin/socat" <<-EOF
		#!/bin/sh
		# bench.sh: socat with big buffers, TCP_NODELAY on TCP addresses
		n=\$#
		while [ "\$n" -gt 0 ]; do
			a=\$1
			shift
			n=\$((n - 1))
			case \$a in TCP-LISTEN:* | TCP:*) a="\$a,nodelay" ;; esac
			set -- "\$@" "\$a"
		done
		exec $(command -v socat) -b 262144 "\$@"
	EOF
	chmod 755 "$T/bin" "$T/bin/socat"
}

# --- the measurements ---------------------------------------------------------

# proc_times PID - utime stime cutime cstime of PID (all its threads), in
# clock ticks; zeros once it is gone
proc_times() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0 0 0 0
		return
	}
	s=${s##*) }
	read -r -a f <<<"$s"
	echo "${f[11]} ${f[12]} ${f[13]} ${f[14]}"
}

# children PID - its child processes
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null
}

# cpu_ticks PID - utime + stime of PID (all its threads), in clock ticks
cpu_ticks() {
	local u s
	read -r u s _ <<<"$(proc_times "$1")"
	echo $((u + s))
}

# tree_ticks PID - CPU ticks of PID and every live descendant, including
# what their reaped children used (cutime, cstime): each tick is counted
# once, in the process that used it while it lives, then in its parent.
# Not for this shell: the command substitutions are its children too.
tree_ticks() {
	local u s cu cs c sum
	read -r u s cu cs <<<"$(proc_times "$1")"
	sum=$((u + s + cu + cs))
	for c in $(children "$1"); do
		sum=$((sum + $(tree_ticks "$c")))
	done
	echo "$sum"
}

# reaped_ticks - CPU ticks of this shell's reaped children (cutime, cstime)
reaped_ticks() {
	local cu cs
	read -r _ _ cu cs <<<"$(proc_times $$)"
	echo $((cu + cs))
}

# sshd_pid - the bench's sshd listener
sshd_pid() {
	cat "$T/sshd/sshd.pid" 2>/dev/null || echo 0
}

# sshd_ticks - tree_ticks of the bench's sshd: its sessions and whatever
# they run (the inside, cat)
sshd_ticks() {
	tree_ticks "$(sshd_pid)"
}

# sshd_idle - no session of the bench's sshd is left
sshd_idle() {
	[ -z "$(children "$(sshd_pid)")" ]
}

# tun_bytes - bytes through cs's tungate0, both ways
# (BENCH_DEV in BENCH_NS: while usernet.sh measures a NAT, its tap)
tun_bytes() {
	local d=/sys/class/net/$BENCH_DEV/statistics
	in_ns "$BENCH_NS" sh -c "echo \$((\$(cat $d/rx_bytes) + \$(cat $d/tx_bytes)))"
}

# bench_iperf NAME up|down - iperf3 from cs to lan for BENCH_T seconds;
# R[NAME.up|down] in Gbit/s, as the receiver counted it. One retry: the
# server may still be draining the previous test through a slow tunnel.
bench_iperf() {
	local name=$1 dir=$2 rev='' bps='' perf='' try
	[ "$dir" = down ] && rev=-R
	if [ -n "${BENCH_PERF:-}" ] &&
		{ [ "$name" = exec ] || [ "$name" = libssh ]; }; then
		mkdir -p "$BENCH_PERF"
		perf record -q -F 999 -g -p "$BENCH_OUT_PID" \
			-o "$BENCH_PERF/perf-$name-$dir.data" \
			-- sleep "$BENCH_T" >/dev/null 2>&1 &
		perf=$!
	fi
	for try in 1 2; do
		bps=$(in_ns "$BENCH_NS" timeout $((BENCH_T + 20)) iperf3 \
			-c "$LAN4" -p "$IPERF" -t "$BENCH_T" $rev -J \
			2>/dev/null | python3 -c 'import json, sys
print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])' \
			2>/dev/null)
		[ -n "$bps" ] && break
		sleep 2
	done
	[ -n "$perf" ] && wait "$perf"
	if [ -n "$bps" ]; then
		R[$name.$dir]=$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')
	else
		say "$name: iperf3 $dir failed"
	fi
	sleep 1
}

# bench_wrk NAME - new connections per second: wrk, one request per
# connection, a 512-byte file. Each run asks nginx on a port of its own
# (WRK_PORTS of them after HTTP): nginx closes first and keeps a run's
# tens of thousands of connections in TIME_WAIT for 60 s, and a tunnel's
# connections all come from local's one address, so a run to the same
# port within the minute meets those same address pairs again (the pipe
# right after exec: 2592 connections/s, 9419 on a port of its own).
bench_wrk() {
	local out rps err port=$((HTTP + 1 + WRK_RUNS % WRK_PORTS))
	WRK_RUNS=$((WRK_RUNS + 1))
	out=$(in_ns "$BENCH_NS" timeout $((BENCH_T + 20)) wrk -t 2 -c 32 \
		-d "${BENCH_T}s" --timeout 2s -H 'Connection: close' \
		"http://$LAN4:$port/small" 2>&1)
	rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out")
	err=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' \n' ' ')
	[ -n "$err" ] && say "$1: wrk: $err"
	if [ -n "$rps" ]; then
		R[$1.conns]=$rps
	else
		say "$1: wrk failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	fi
}

# bench_curl NAME - seconds to download the BENCH_MB file
bench_curl() {
	local out want=$((BENCH_MB << 20))
	out=$(in_ns "$BENCH_NS" curl -s -o /dev/null -m 60 \
		-w '%{time_total} %{size_download}' "http://$LAN4:$HTTP/big")
	if [ "${out#* }" = "$want" ]; then
		R[$1.curl]=$(awk -v t="${out%% *}" 'BEGIN { printf "%.3f", t }')
	else
		say "$1: curl download failed ($out)"
	fi
}

# bench_ping NAME - round trip of BENCH_PINGS pings, ms: average, median,
# minimum
bench_ping() {
	local out rtt
	out=$(in_ns "$BENCH_NS" ping -n -c "${BENCH_PINGS:-20}" -i 0.2 -W 2 \
		"$LAN4")
	rtt=$(awk -F'[/ ]' '/^rtt/ { print $8, $7 }' <<<"$out")
	if [ -z "$rtt" ]; then
		say "$1: ping failed"
		return
	fi
	R[$1.ping]=${rtt% *} R[$1.pingmin]=${rtt#* }
	# "64 bytes from ...: icmp_seq=1 ttl=64 time=0.057 ms" per reply
	sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' <<<"$out" | sort -g \
		>"$T/ping-$1"
	R[$1.ping50]=$(pct "$T/ping-$1" 50)
}

# bench_dns NAME SERVER - dnsperf from cs: full load for BENCH_T seconds
# (queries/s), then 3 s at 2000 queries/s with per-query latencies (p50,
# p99 in ms). A first pass over the names fills any cache.
bench_dns() {
	local name=$1 srv=$2 out qps lost
	in_ns "$BENCH_NS" timeout 20 dnsperf -s "$srv" -d "$T/queries" -n 1 \
		-t 2 >/dev/null 2>&1
	out=$(in_ns "$BENCH_NS" timeout $((BENCH_T + 20)) dnsperf -s "$srv" \
		-d "$T/queries" -l "$BENCH_T" -t 2 -q 100 2>&1)
	qps=$(awk '/Queries per second:/ { printf "%d", $4 }' <<<"$out")
	lost=$(awk '/Queries lost:/ { print $3 }' <<<"$out")
	[ -n "$lost" ] && [ "$lost" != 0 ] && say "$name: dnsperf lost $lost"
	if [ -n "$qps" ]; then
		R[$name.dnsqps]=$qps
	else
		say "$name: dnsperf failed: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
	fi
	in_ns "$BENCH_NS" timeout 20 dnsperf -s "$srv" -d "$T/queries" -l 3 \
		-t 2 -Q 2000 -v >"$T/dnsperf-$name.v" 2>&1
	# "> NOERROR h1.bench.test A 0.000123" per answer
	awk '/^> NOERROR/ { print $NF * 1000 }' "$T/dnsperf-$name.v" |
		sort -g >"$T/dnslat-$name"
	if [ -s "$T/dnslat-$name" ]; then
		R[$name.dns50]=$(pct "$T/dnslat-$name" 50)
		R[$name.dns99]=$(pct "$T/dnslat-$name" 99)
	else
		say "$name: no latencies from dnsperf -v"
	fi
}

# per_gb TICKS BYTES - CPU seconds per GB carried
per_gb() {
	awk -v t="$1" -v b="$2" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.2f", t / hz / (b / 1e9) }'
}

# pct FILE P - the P-th percentile of FILE's sorted numbers, 3 decimals
pct() {
	awk -v p="$2" '{ v[NR] = $1 } END {
		i = int((NR * p + 99) / 100); if (i < 1) i = 1
		printf "%.3f", v[i] }' "$1"
}

# bench_all NAME DNS - every metric through the contender that is up now;
# DNS is the server to ask ("" for none). The tunnel's CPU per GB when
# BENCH_OUT_PID is set; the OpenSSH client's when BENCH_CLI_PID is.
bench_all() {
	local name=$1 dns=$2 o0 i0 c0 s0 b0 o1 i1 c1 s1 b1 b
	# first, while the path is idle: the latency a tunnel adds at rest
	bench_ping "$name"
	bench_pingpong "$name"
	if [ -n "$BENCH_OUT_PID" ]; then
		o0=$(cpu_ticks "$BENCH_OUT_PID") i0=$(cpu_ticks "$BENCH_IN_PID")
		c0=$(cpu_ticks "${BENCH_CLI_PID:-0}") s0=$(sshd_ticks)
		b0=$(tun_bytes)
	fi
	bench_iperf "$name" up
	bench_iperf "$name" down
	if [ -n "$BENCH_OUT_PID" ]; then
		o1=$(cpu_ticks "$BENCH_OUT_PID") i1=$(cpu_ticks "$BENCH_IN_PID")
		c1=$(cpu_ticks "${BENCH_CLI_PID:-0}") s1=$(sshd_ticks)
		b1=$(tun_bytes)
		b=$((b1 - b0))
		if [ "$b" -gt 0 ]; then
			R[$name.cpuout]=$(per_gb $((o1 - o0)) "$b")
			[ -n "$BENCH_IN_PID" ] &&
				R[$name.cpuin]=$(per_gb $((i1 - i0)) "$b")
			[ -n "$BENCH_CLI_PID" ] &&
				R[$name.cpucli]=$(per_gb $((c1 - c0)) "$b")
			# over SSH the inside is in sshd's tree: the whole path
			# is the outside, the OpenSSH client and that tree
			[ -n "$BENCH_IN_PID" ] &&
				[ $((s1 - s0)) -gt $((i1 - i0)) ] &&
				R[$name.cpupath]=$(per_gb \
					$((o1 - o0 + c1 - c0 + s1 - s0)) "$b")
		fi
	fi
	bench_wrk "$name"
	bench_curl "$name"
	[ -n "$dns" ] && bench_dns "$name" "$dns"
	BENCH_OUT_PID='' BENCH_IN_PID='' BENCH_CLI_PID=''
	say "$name: up ${R[$name.up]:--} down ${R[$name.down]:--} Gbit/s," \
		"${R[$name.conns]:--} conns/s, ${BENCH_MB} MB in" \
		"${R[$name.curl]:--} s, ping ${R[$name.ping]:--} ms"
}

# --- SSH contenders ---------------------------------------------------------------

# bench_start_cmd_tunnel NAME CMD [PREFIX...] - the outside in local,
# run under PREFIX (e.g. setpriv to nobody), its stream `--exec CMD`
bench_start_cmd_tunnel() {
	local name=$1 exec=$2
	shift 2
	bench_start_outside "$name" "$@" -- --exec "$exec"
}

# bench_start_outside NAME [PREFIX...] -- STREAM... - the outside in local
# with HOME=$T/home and no agent, run under PREFIX, its stream given by
# STREAM (--exec CMD, --ssh DEST ...); returns when it logs "inside is up".
# Sets BENCH_OUT_PID, BENCH_IN_PID (for the CPU times), BENCH_CLI_PID (the
# OpenSSH client, if one is among its children) and BENCH_CMD_OUT (for the
# stop).
bench_start_outside() {
	local name=$1 pre=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		pre+=("$1")
		shift
	done
	shift
	bench_run_sshd
	BENCH_CMD_LOG=$T/outside-$name.log
	tg_bg "outside-$name" "$NS_LOCAL" env -u SSH_AUTH_SOCK HOME="$T/home" \
		"${pre[@]}" "$T/tungate" outside "$@" \
		--route "$LAN_NET4" --route "$LAN_NET6" "${TG_OUTSIDE_ARGS[@]}"
	BENCH_CMD_OUT=$TG_LAST_PID
	wait_for 30 bench_cmd_up_or_gone
	if ! grep -q "inside is up" "$BENCH_CMD_LOG"; then
		say "$name: the outside did not come up (see outside-$name.log)"
		return 1
	fi
	BENCH_OUT_PID=$BENCH_CMD_OUT
	BENCH_IN_PID=$(pgrep -n -f "^$T/tungate inside --stdio")
	[ -n "$BENCH_IN_PID" ] || say "$name: no inside process for its CPU time"
	BENCH_CLI_PID=$(pgrep -n -f "^ssh -F /dev/null .*$T/tungate inside")
	return 0
}

bench_cmd_up_or_gone() {
	grep -q "inside is up" "$BENCH_CMD_LOG" || ! tg_alive "$BENCH_CMD_OUT"
}

bench_stop_cmd_tunnel() {
	kill -TERM "$BENCH_CMD_OUT" 2>/dev/null
	tg_wait_exit "$BENCH_CMD_OUT" 15 ||
		say "the outside did not exit within 15 s"
	wait_for 10 not pgrep -f "^$T/tungate inside" ||
		say "the inside did not exit within 10 s"
}

# bench_start_sshw - OpenSSH's tun tunnel: tun5 on both ends (made here,
# persistent, so that they can be addressed before ssh attaches), cs routes
# lan through it, local forwards. The client runs as root in local: ssh -w
# needs CAP_NET_ADMIN on both ends.
bench_start_sshw() {
	local ns
	bench_run_sshd
	for ns in "$NS_CS" "$NS_LOCAL"; do
		must ip -n "$ns" tuntap add dev "$WTUN" mode tun
		must ip -n "$ns" link set "$WTUN" up
	done
	must ip -n "$NS_CS" addr add "$WTUN_CS" peer "$WTUN_LOCAL" dev "$WTUN"
	must ip -n "$NS_LOCAL" addr add "$WTUN_LOCAL" peer "$WTUN_CS" dev "$WTUN"
	must ip -n "$NS_CS" route add "$LAN_NET4" dev "$WTUN" src "$WTUN_CS"
	tg_sysctl "$NS_LOCAL" net.ipv4.ip_forward=1
	# shellcheck disable=SC2086
	tg_bg sshw "$NS_LOCAL" env HOME="$T/home" $SSH_CMD -N \
		-o Tunnel=point-to-point -o ExitOnForwardFailure=yes \
		-w "${WTUN#tun}:${WTUN#tun}"
	BENCH_SSHW_PID=$TG_LAST_PID
	if ! wait_for 15 in_ns "$NS_CS" ping -c 1 -W 1 "$LAN4"; then
		say "ssh -w: cs cannot reach lan through $WTUN (see sshw.log)"
		bench_stop_sshw
		return 1
	fi
	ip -n "$NS_CS" route get "$LAN4" | grep -q "dev $WTUN" || {
		say "ssh -w: lan is not routed through $WTUN in cs"
		bench_stop_sshw
		return 1
	}
	return 0
}

bench_stop_sshw() {
	local ns
	kill -TERM -- "-$BENCH_SSHW_PID" 2>/dev/null
	wait_for 10 not tg_group_alive "$BENCH_SSHW_PID"
	tg_sysctl "$NS_LOCAL" net.ipv4.ip_forward=0
	for ns in "$NS_CS" "$NS_LOCAL"; do
		ip -n "$ns" link del "$WTUN" 2>/dev/null
	done
	return 0
}

# ms_now - milliseconds since the epoch
ms_now() {
	echo $(($(date +%s%N) / 1000000))
}

# bench_raw_ssh [NAME] - BENCH_RAW_MB through one SSH channel each way,
# from local as nobody, less the time of a bare `ssh true` (connection
# setup); into R[NAME.up|down], NAME raw by default, up and down as for
# the tunnel: up is from the container (sshd sends, within the client's
# window), down toward it (within sshd's). R[NAME.cpupath]: the CPU both
# ends of the channel used per GB (the ssh client and sshd's session, as
# this shell's and sshd's reaped children), less twice what `dd | cat`
# costs without it: the two transfers run dd twice and cat once, so this
# errs toward a cheaper channel.
bench_raw_ssh() {
	local t0 t1 setup mb=$BENCH_RAW_MB n=${1:-raw} c0 c1 bare
	bench_run_sshd
	t0=$(ms_now)
	# shellcheck disable=SC2086
	as_user timeout 20 $SSH_CMD true || {
		say "raw ssh: cannot log in"
		return 1
	}
	t1=$(ms_now)
	setup=$((t1 - t0))
	c0=$(reaped_ticks)
	sh -c "dd if=/dev/zero bs=1M count=$mb 2>/dev/null | cat >/dev/null"
	c1=$(reaped_ticks)
	bare=$((2 * (c1 - c0)))
	wait_for 5 sshd_idle
	c0=$(($(reaped_ticks) + $(sshd_ticks)))
	t0=$(ms_now)
	# shellcheck disable=SC2086
	as_user timeout 60 sh -c "dd if=/dev/zero bs=1M count=$mb 2>/dev/null |
		$SSH_CMD 'cat >/dev/null'" && t1=$(ms_now) &&
		R[$n.down]=$(raw_gbps "$mb" $((t1 - t0 - setup)))
	t0=$(ms_now)
	# shellcheck disable=SC2086
	as_user timeout 60 $SSH_CMD "dd if=/dev/zero bs=1M count=$mb 2>/dev/null" \
		>/dev/null && t1=$(ms_now) &&
		R[$n.up]=$(raw_gbps "$mb" $((t1 - t0 - setup)))
	wait_for 5 sshd_idle
	c1=$(($(reaped_ticks) + $(sshd_ticks)))
	[ -n "${R[$n.up]:-}" ] && [ -n "${R[$n.down]:-}" ] &&
		R[$n.cpupath]=$(per_gb $((c1 - c0 - bare)) $((2 * mb * 1048576)))
	say "$n ssh: up ${R[$n.up]:--} down ${R[$n.down]:--} Gbit/s" \
		"(connection setup $setup ms, subtracted)"
}

# raw_gbps MB MS - Gbit/s
raw_gbps() {
	awk -v mb="$1" -v ms="$2" 'BEGIN {
		if (ms < 1) ms = 1; printf "%.3f", mb * 1048576 * 8 / (ms / 1000) / 1e9 }'
}

# shellcheck source=latency.sh
. "$HERE/latency.sh"
# shellcheck source=usernet.sh
. "$HERE/usernet.sh"
# shellcheck source=report.sh
. "$HERE/report.sh"
