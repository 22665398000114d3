#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh SECONDS TARGET... - run each libFuzzer target of test/fuzz/bin for
# SECONDS on a copy of its seed corpus; fail if any crashed, leaked, timed
# out or printed a sanitizer report. The checked-in corpus is never
# written; what a run finds stays in a temp dir that is named at the end.
set -u -o pipefail

secs=${1:?seconds}
shift
cd "$(dirname "$0")/../.." || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tungate-fuzz.XXXXXX") || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
summary=()

# per-target options: inputs larger than libFuzzer's default 4 KiB where
# the format needs them (a stream of frames, a whole resolv.conf)
opts_for() {
	case $1 in
	link) echo -max_len=140000 ;;
	nat | nat_mem | pkt) echo -max_len=70000 ;;
	resolv) echo -max_len=70000 ;;
	*) echo -max_len=8192 ;;
	esac
}

for t in "$@"; do
	bin=test/fuzz/bin/$t
	dir=$tmp/$t
	mkdir -p "$dir/corpus" "$dir/artifacts"
	if [ -d "test/fuzz/corpus/$t" ]; then
		cp test/fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null
	fi
	dict=()
	[ -f "test/fuzz/$t.dict" ] && dict=(-dict="test/fuzz/$t.dict")
	# resolv fsyncs its temp files: on tmpfs it runs ten times faster
	tmpd=${TMPDIR:-/tmp}
	[ "$t" = resolv ] && [ -w /dev/shm ] && tmpd=/dev/shm
	echo "== fuzz $t for $secs s (log: $dir/log)"
	# shellcheck disable=SC2046
	TMPDIR=$tmpd "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		$(opts_for "$t") "${dict[@]}" "$dir/corpus" >"$dir/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
	if [ $rc -ne 0 ] ||
		grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$dir/log"; then
		fail=1
		summary+=("$t: FAILED (exit $rc)")
		echo "!! $t failed; the end of its log:"
		tail -n 60 "$dir/log"
	else
		summary+=("$t: ok, ${execs:-?} runs, ${rate:-?} exec/s")
	fi
	for a in "$dir"/artifacts/*; do
		[ -e "$a" ] || continue
		echo "!! $t artifact: $a"
		od -A x -t x1 -v "$a" | head -n 16
	done
done
echo "== fuzz summary ($secs s each; work dir $tmp)"
printf '   %s\n' "${summary[@]}"
if [ $fail -eq 0 ]; then
	rm -rf "$tmp"
fi
exit $fail
