# shellcheck shell=bash disable=SC2154
# SPDX-License-Identifier: MIT
#
# report.sh - bench.sh's table and targets, from the array R.
#
# Theory of operation. One row per metric, one column per contender; each
# cell is the value and, beside it, the ratio to direct as "how much of
# direct's performance" (value/direct for rates, direct/value for times),
# or for the ping the round trip added to direct's. Then each target of
# issues 4, 5, 7 and 20 with the measured ratio (or, for issue 20's round
# trips, the ms added beside the peer's: pasta, slirp4netns, ssh -w) and
# pass/miss, and the table of the runs behind an added round trip. Pure
# awk arithmetic; a missing value prints "-" and its target "n/a".
# bench_json writes all of R as one JSON object.

COLS=(direct exec pipe pasta slirp ssh libssh sshw raw)
HEADS=("direct" "tungate exec" "tungate pipe" "pasta" "slirp4netns"
	"tungate ssh" "tungate libssh" "ssh -w" "raw ssh")

# ratio A B - A/B with 2 decimals, or empty when either is missing
ratio() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}

# cell METRIC COL KIND - the text of one cell. KIND: rate (ratio
# value/direct), time (direct/value), ping (added ms), plain (no ratio)
cell() {
	local v=${R[$2.$1]:-} d=${R[direct.$1]:-} r=''
	[ -n "$v" ] || {
		echo "-"
		return
	}
	if [ "$2" != direct ]; then
		case $3 in
		rate) r=$(ratio "$v" "$d") && r=${r:+ (${r}x)} ;;
		time) r=$(ratio "$d" "$v") && r=${r:+ (${r}x)} ;;
		ping) [ -n "$d" ] && r=$(awk -v a="$v" -v b="$d" \
			'BEGIN { printf " (%+.3f)", a - b }') ;;
		esac
	fi
	echo "$v$r"
}

# row LABEL METRIC KIND
row() {
	local c line
	line=$(printf '| %-26s' "$1")
	for c in "${COLS[@]}"; do
		line+=$(printf ' | %-17s' "$(cell "$2" "$c" "$3")")
	done
	echo "$line |"
}

# target DESC VALUE OP LIMIT - one line: the measured value, pass or miss
target() {
	local desc=$1 v=$2 op=$3 lim=$4 verdict
	if [ -z "$v" ] || [ -z "$lim" ]; then
		verdict=n/a
		v=${v:--} lim=${lim:--}
	elif awk -v v="$v" -v l="$lim" -v op="$op" 'BEGIN {
		exit !((op == ">=" && v >= l) || (op == "<=" && v <= l) ||
		       (op == "<" && v < l)) }'; then
		verdict=pass
	else
		verdict=MISS
	fi
	printf '| %-46s | %8s | %-8s | %-4s |\n' "$desc" "$v" "$op $lim" \
		"$verdict"
}

bench_report() {
	local c line added
	echo
	echo "tungate benchmark, $(date -u +%Y-%m-%d), $(nproc) cores," \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo |
			head -n 1), Linux $(uname -r), load before ${LOAD:-?}"
	echo "iperf3/wrk/dnsperf ${BENCH_T} s each; cipher $BENCH_CIPHER;" \
		"(Nx) = fraction of direct; ping (+ms) = added to direct"
	echo
	line=$(printf '| %-26s' metric)
	for c in "${HEADS[@]}"; do
		line+=$(printf ' | %-17s' "$c")
	done
	echo "$line |"
	echo "$line |" | sed 's/[^|]/-/g'
	row "TCP upload, Gbit/s" up rate
	row "TCP download, Gbit/s" down rate
	row "new connections/s" conns rate
	row "${BENCH_MB} MB download (curl), s" curl time
	row "ping RTT avg, ms" ping ping
	row "ping RTT p50, ms" ping50 ping
	row "ping RTT min, ms" pingmin ping
	row "TCP 1-byte RTT avg, ms" tcprr ping
	row "TCP 1-byte RTT p50, ms" tcprr50 ping
	row "TCP 1-byte RTT p99, ms" tcprr99 ping
	row "UDP 1-byte RTT avg, ms" udprr ping
	row "UDP 1-byte RTT p50, ms" udprr50 ping
	row "UDP 1-byte RTT p99, ms" udprr99 ping
	row "outside CPU s per GB" cpuout plain
	row "inside CPU s per GB" cpuin plain
	row "ssh client CPU s per GB" cpucli plain
	row "path CPU s per GB" cpupath plain
	row "DNS queries/s (cached)" dnsqps rate
	row "DNS latency p50, ms" dns50 ping
	row "DNS latency p99, ms" dns99 ping

	echo
	printf '| %-46s | %8s | %-8s | %-4s |\n' target measured wanted ""
	printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" \
		"$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})" \
		"------"
	target "exec upload / direct" \
		"$(ratio "${R[exec.up]:-}" "${R[direct.up]:-}")" ">=" 0.30
	target "exec download / direct" \
		"$(ratio "${R[exec.down]:-}" "${R[direct.down]:-}")" ">=" 0.30
	target "exec new connections/s / direct" \
		"$(ratio "${R[exec.conns]:-}" "${R[direct.conns]:-}")" ">=" 0.25
	target "ssh upload / ssh -w" \
		"$(ratio "${R[ssh.up]:-}" "${R[sshw.up]:-}")" ">=" 5
	target "ssh download / ssh -w" \
		"$(ratio "${R[ssh.down]:-}" "${R[sshw.down]:-}")" ">=" 5
	target "ssh upload / raw ssh channel" \
		"$(ratio "${R[ssh.up]:-}" "${R[raw.up]:-}")" ">=" 0.5
	target "ssh download / raw ssh channel" \
		"$(ratio "${R[ssh.down]:-}" "${R[raw.down]:-}")" ">=" 0.5
	target "libssh upload / OpenSSH exec (ssh)" \
		"$(ratio "${R[libssh.up]:-}" "${R[ssh.up]:-}")" ">=" 0.8
	target "libssh download / OpenSSH exec (ssh)" \
		"$(ratio "${R[libssh.down]:-}" "${R[ssh.down]:-}")" ">=" 0.8
	target "libssh new connections/s / OpenSSH exec (ssh)" \
		"$(ratio "${R[libssh.conns]:-}" "${R[ssh.conns]:-}")" ">=" 0.8
	added=''
	[ -n "${R[exec.ping]:-}" ] && [ -n "${R[direct.ping]:-}" ] &&
		added=$(awk -v a="${R[exec.ping]}" -v b="${R[direct.ping]}" \
			'BEGIN { printf "%.3f", a - b }')
	target "exec ping RTT added, ms" "$added" "<=" 0.1
	target "DNS cached queries/s / direct (nsd)" \
		"$(ratio "${R[exec.dnsqps]:-}" "${R[direct.dnsqps]:-}")" ">=" 0.5
	target "DNS cached median latency, ms" "${R[exec.dns50]:-}" "<" 1
	bench_targets20
	echo
	bench_delay_table
}

# added NAME METRIC - what NAME adds to direct's METRIC (ms), or empty
added() {
	local v=${R[$1.$2]:-} d=${R[direct.$2]:-}
	[ -n "$v" ] && [ -n "$d" ] || return 0
	awk -v a="$v" -v b="$d" 'BEGIN { printf "%.3f", a - b }'
}

# target_r DESC A B OP LIMIT - target on the ratio R[A] / R[B]
target_r() {
	target "$1" "$(ratio "${R[$2]:-}" "${R[$3]:-}")" "$4" "$5"
}

# heading NAME - the column heading of contender NAME
heading() {
	local i
	for i in "${!COLS[@]}"; do
		[ "${COLS[i]}" = "$1" ] && echo "${HEADS[i]}" && return
	done
	echo "$1"
}

# target_added NAME PEER METRIC LABEL - what NAME adds to direct's METRIC
# (a round trip, ms) against what PEER adds, in the same run
target_added() {
	target "$1 adds, ms: $4 <= $(heading "$2")'s" \
		"$(added "$1" "$3")" "<=" "$(added "$2" "$3")"
}

# issue 20: round trips against the peers of the same kind (the pipe
# against pasta, or slirp4netns where pasta was not measured; SSH against
# ssh -w), SSH against its channel, and what the pipe must keep
bench_targets20() {
	local m lbl nat
	for m in ping ping50 tcprr tcprr50 udprr udprr50; do
		case $m in
		ping) lbl="ICMP echo avg" ;;
		ping50) lbl="ICMP echo p50" ;;
		tcprr) lbl="TCP 1-byte avg" ;;
		tcprr50) lbl="TCP 1-byte p50" ;;
		udprr) lbl="UDP 1-byte avg" ;;
		*) lbl="UDP 1-byte p50" ;;
		esac
		nat=pasta
		[ -n "${R[pasta.$m]:-}" ] || [ -z "${R[slirp.$m]:-}" ] ||
			nat=slirp
		target_added pipe "$nat" "$m" "$lbl"
		target_added libssh sshw "$m" "$lbl"
	done
	target_r "libssh upload / raw ssh channel" libssh.up raw.up ">=" 0.9
	target_r "libssh download / raw ssh channel" libssh.down raw.down \
		">=" 0.9
	target_r "libssh path CPU per GB / raw ssh channel's" \
		libssh.cpupath raw.cpupath "<=" 1.2
	for m in $BENCH_DELAYS; do
		target_r "libssh upload / raw channel, $m ms" \
			"libssh$m.up" "raw$m.up" ">=" 2
		target_r "libssh download / raw channel, $m ms" \
			"libssh$m.down" "raw$m.down" ">=" 2
	done
	target_r "pipe upload / direct" pipe.up direct.up ">=" 0.6
	target_r "pipe download / direct" pipe.down direct.down ">=" 0.7
	target_r "pipe new connections/s / direct" pipe.conns direct.conns \
		">=" 1
	target_r "pipe ${BENCH_MB} MB download, direct's time / pipe's" \
		direct.curl pipe.curl ">=" 0.77
}

# the SSH contenders behind the delay relay, and at 0 ms for comparison:
# Gbit/s, and the ratio to the raw channel at the same round trip.
# Columns: raw channel, ssh -w, tungate --stripes, tungate one stream
# (up, down each), tungate --stripes up with cs's send buffer at
# BENCH_WMEM (bench_wmem_up)
DCOLS=(raw.up raw.down sshw.up sshw.down libssh.up libssh.down
	libssh1s.up libssh1s.down libsshwm.up)
DHEADS=("raw ssh up" "raw ssh down" "ssh -w up" "ssh -w down"
	"stripes up" "stripes down" "one up" "one down" "stripes up, wmem")

# dcell COL MS - one cell of the delay table; the 0 ms row takes its
# numbers from the runs without the relay (one stream: libssh, stripes:
# libsshS)
dcell() {
	local k=${1%.*} d=${1#*.} ms=$2 v base r=''
	if [ "$ms" = 0 ]; then
		case $k in
		libssh) k=libsshS ;;
		libssh1s) k=libssh ;;
		libsshwm) k=none ;;
		esac
		v=${R[$k.$d]:-} base=${R[raw.$d]:-}
	else
		v=${R[$k$ms.$d]:-} base=${R[raw$ms.$d]:-}
	fi
	[ -n "$v" ] && [ "$k" != raw ] && r=$(ratio "$v" "$base") &&
		r=${r:+ (${r}x)}
	echo "${v:--}$r"
}

bench_delay_table() {
	local ms c line
	[ -n "$BENCH_DELAYS" ] || return 0
	echo "the SSH contenders behind a relay adding a round trip (Gbit/s;" \
		"(Nx) = of the raw channel at that round trip; stripes: tungate" \
		"--stripes $BENCH_STRIPES, one: one stream; wmem: cs's" \
		"tcp_wmem max at $BENCH_WMEM)"
	echo
	line=$(printf '| %-9s' "added RTT")
	for c in "${DHEADS[@]}"; do
		line+=$(printf ' | %-16s' "$c")
	done
	echo "$line |"
	echo "$line |" | sed 's/[^|]/-/g'
	for ms in 0 $BENCH_DELAYS; do
		line=$(printf '| %-9s' "$ms ms")
		for c in "${DCOLS[@]}"; do
			line+=$(printf ' | %-16s' "$(dcell "$c" "$ms")")
		done
		echo "$line |"
	done
	echo
}

# bench_json FILE - R as one JSON object, with when and where
bench_json() {
	local k first=1
	{
		printf '{\n  "date": "%s",\n  "cores": %s,\n' \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)"
		printf '  "kernel": "%s",\n  "load_before": "%s",\n' \
			"$(uname -r)" "${LOAD:-}"
		printf '  "short": %s,\n  "results": {' \
			"$([ -n "${BENCH_SHORT:-}" ] && echo true || echo false)"
		for k in $(printf '%s\n' "${!R[@]}" | sort); do
			[ $first = 1 ] || printf ','
			first=0
			printf '\n    "%s": %s' "$k" "${R[$k]}"
		done
		printf '\n  }\n}\n'
	} >"$1"
}
