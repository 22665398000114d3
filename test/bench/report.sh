# shellcheck shell=bash disable=SC2154
# SPDX-License-Identifier: MIT
#
# report.sh - bench.sh's table and targets, from the array R.
#
# Theory of operation. One row per metric, one column per contender; each
# cell is the value and, beside it, the ratio to direct as "how much of
# direct's performance" (value/direct for rates, direct/value for times),
# or for the ping the round trip added to direct's. Then each target of
# issues 4, 5 and 7 with the measured ratio and pass/miss. Pure awk
# arithmetic; a missing value prints "-" and its target "n/a".

COLS=(direct exec pipe ssh libssh sshw raw)
HEADS=("direct" "tungate exec" "tungate pipe" "tungate ssh" "tungate libssh"
	"ssh -w" "raw ssh")

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
	if [ -z "$v" ]; then
		verdict=n/a
		v=-
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
	row "ping RTT min, ms" pingmin ping
	row "outside CPU s per GB" cpuout plain
	row "inside CPU s per GB" cpuin plain
	row "ssh client CPU s per GB" cpucli plain
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
	echo
}
