#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - run the end-to-end tests against one or more tungate binaries.
#
#   test/e2e/run.sh [-v] BINARY...      e.g. test/e2e/run.sh ./tungate ./tungate-asan
#
# Environment: TG_TESTS="udp ping" runs only those tests; TG_TIMEOUT is the
# limit per test in seconds (default 300); TG_JOBS is how many tests run at
# once (default 3: most of a test's time is spent waiting, and each has
# its own namespaces); TG_KEEP_LOGS=1 keeps the logs of the run (their
# directory is printed).
#
# Each test runs under `timeout` with its own id TG_ID=tgr<run><nnn>, which
# names its namespaces, links and temp dir and marks every process it
# starts. A sanitizer report in a test's output or logs fails the test.
# After each test, and again at the end, anything left with the run's
# prefix is reported as a failure and removed. Prints one line per test,
# the tail of the output of each failed test, and one closing line
# "N passed, N failed[, N skipped]"; exits non-zero on any failure.

set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"
unset TG_ID

VERBOSE=
if [ "${1:-}" = -v ]; then
	VERBOSE=1
	shift
fi
if [ $# = 0 ]; then
	echo "usage: $0 [-v] BINARY..." >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the end-to-end tests need root (network namespaces, TUN" \
		"devices, policy routes): run them as root, e.g. sudo make test" >&2
	exit 1
fi
for bin in "$@"; do
	if ! [ -x "$bin" ]; then
		echo "run.sh: $bin is not an executable (make tungate?)" >&2
		exit 1
	fi
done

TIMEOUT=${TG_TIMEOUT:-300}
JOBS=${TG_JOBS:-3}
if ! [[ $JOBS =~ ^[1-9][0-9]?$ ]]; then
	echo "run.sh: TG_JOBS='$JOBS' is not a number from 1 to 99" >&2
	exit 1
fi
TESTS=()
for t in "$HERE"/*.t.sh; do
	name=${t##*/}
	name=${name%.t.sh}
	if [ -n "${TG_TESTS:-}" ] && ! [[ " $TG_TESTS " == *" $name "* ]]; then
		continue
	fi
	TESTS+=("$name")
done
if [ ${#TESTS[@]} = 0 ]; then
	echo "run.sh: no tests match TG_TESTS='${TG_TESTS:-}'" >&2
	exit 1
fi

# a run id no other run is using: 4 hex digits
while :; do
	RUN=tgr$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
	[ -z "$(tg_leftovers "$RUN")" ] && break
done
LOGS=$(mktemp -d /tmp/tungate-e2e.XXXXXX) || exit 1
HAD_STATE_DIR=0
[ -d /run/tungate ] && HAD_STATE_DIR=1

N=0
declare -A RUNNING=()	# pid of a test's run_one -> its id

# state_files LOGDIR... - the inside's state files left in the network
# namespaces of these tests (lib.sh notes their inodes in the log dir)
state_files() {
	local d ino f
	for d in "$@"; do
		[ -f "$d/netns-inodes" ] || continue
		while read -r ino; do
			for f in /run/tungate/"$ino"-*.state; do
				[ -e "$f" ] && echo "$f"
			done
		done <"$d/netns-inodes"
	done
}

on_signal() {
	trap '' INT TERM HUP
	echo "run.sh: interrupted, stopping the tests that run" >&2
	local pid
	for pid in "${!RUNNING[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	wait
	tg_reap "$RUN"
	rm -rf "$LOGS"
	exit 1
}
trap 'on_signal' INT TERM HUP

# sanitizer_report FILE... - the first lines of a sanitizer report, if any
sanitizer_report() {
	grep -h -E -m 3 'ERROR: [A-Za-z]+Sanitizer|Sanitizer has encountered|runtime error:' "$@" \
		2>/dev/null
}

# run_one ID NAME BINARY - run a test; its lines go to $LOGS/ID.report, the
# word PASS, FAIL or SKIP to $LOGS/ID.result. Run in a subshell of its own:
# SIGTERM stops the test.
run_one() {
	local id=$1 name=$2 bin=$3 label out logdir start rc secs why='' left
	local child san=$LOGS/$id.san
	label=${bin##*/}
	out=$LOGS/$id-$name-$label.out
	logdir=$LOGS/$id-$name-$label
	local -a env=(TG_ID="$id" TUNGATE="$bin" TG_LOGDIR="$logdir")
	[ -n "$VERBOSE" ] && env+=(TG_VERBOSE=1)
	if [[ $label == *asan* ]] || grep -qa __asan_init "$bin"; then
		env+=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
	fi

	start=$(date +%s.%N)
	# in the background, so that a signal to run.sh is handled at once;
	# the test must see SIGINT as it would in the foreground
	(
		trap - INT QUIT
		exec env "${env[@]}" timeout -s TERM -k 30 "$TIMEOUT" \
			bash "$HERE/$name.t.sh"
	) </dev/null >"$out" 2>&1 &
	child=$!
	trap 'kill -TERM $child 2>/dev/null; wait $child; exit 1' TERM
	wait "$child"
	rc=$?
	trap - TERM
	secs=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')

	case $rc in
	0) ;;
	77) ;;
	124) why="timed out after ${TIMEOUT}s" ;;
	137) why="killed by SIGKILL" ;;
	*) why="exit status $rc" ;;
	esac
	if [ "$rc" != 77 ] &&
		sanitizer_report "$out" "$logdir"/* >"$san" 2>/dev/null; then
		why="sanitizer report${why:+; $why}"
	fi
	left=$(tg_leftovers "$id"; state_files "$logdir" | sed 's/^/file /')
	if [ -n "$left" ]; then
		why="left behind: $(echo "$left" | head -n 3 | paste -sd ';' -)${why:+; $why}"
		tg_reap "$id"
		state_files "$logdir" | xargs -r rm -f
	fi

	local result
	{
		if [ -z "$why" ] && [ "$rc" = 77 ]; then
			result=SKIP
			echo "SKIP $name [$label] ${secs}s: $(grep -m 1 '^SKIP' "$out")"
		elif [ -z "$why" ]; then
			result=PASS
			echo "PASS $name [$label] ${secs}s"
		else
			result=FAIL
			echo "FAIL $name [$label] ${secs}s: $why"
			[ -s "$san" ] && sed 's/^/    /' "$san"
			grep -E -m 20 '^(not ok|FAIL)' "$out" | sed 's/^/    /'
			echo "    the end of its output:"
			tail -n 30 "$out" | sed 's/^/    | /'
		fi
		[ -n "$VERBOSE" ] && sed 's/^/    /' "$out"
	} >"$LOGS/$id.report"
	echo "$result" >"$LOGS/$id.result.tmp" &&
		mv "$LOGS/$id.result.tmp" "$LOGS/$id.result"
	return 0
}

# reap_one - wait for one running test to end and print its report. A
# test has ended when its result file is there (renamed into place last);
# `wait -n` only wakes us, as bash may hand it a job that ended earlier.
reap_one() {
	local pid id
	while :; do
		for pid in "${!RUNNING[@]}"; do
			id=${RUNNING[$pid]}
			if [ -e "$LOGS/$id.result" ]; then
				wait "$pid" 2>/dev/null
			elif kill -0 "$pid" 2>/dev/null; then
				continue
			fi
			# ended, with or without its result (then counted as
			# not reporting at the end)
			cat "$LOGS/$id.report" 2>/dev/null
			unset "RUNNING[$pid]"
			return 0
		done
		wait -n "${!RUNNING[@]}" 2>/dev/null || sleep 0.2
	done
}

for bin in "$@"; do
	case $bin in
	/*) ;;
	*) bin=$PWD/$bin ;;
	esac
	for name in "${TESTS[@]}"; do
		while [ ${#RUNNING[@]} -ge "$JOBS" ]; do
			reap_one
		done
		N=$((N + 1))
		id=$(printf '%s%03d' "$RUN" "$N")
		run_one "$id" "$name" "$bin" &
		RUNNING[$!]=$id
	done
done
while [ ${#RUNNING[@]} -gt 0 ]; do
	reap_one
done
PASSED=$(cat "$LOGS"/*.result 2>/dev/null | grep -c '^PASS')
FAILED=$(cat "$LOGS"/*.result 2>/dev/null | grep -c '^FAIL')
SKIPPED=$(cat "$LOGS"/*.result 2>/dev/null | grep -c '^SKIP')
[ $((PASSED + FAILED + SKIPPED)) = "$N" ] || {
	echo "FAIL $((N - PASSED - FAILED - SKIPPED)) tests did not report"
	FAILED=$((N - PASSED - SKIPPED))
}

# the run as a whole: nothing of it may remain
left=$(tg_leftovers "$RUN"; state_files "$LOGS"/*/ | sed 's/^/file /')
if [ -n "$left" ]; then
	echo "FAIL the run left things behind:"
	while IFS= read -r line; do echo "    $line"; done <<<"$left"
	FAILED=$((FAILED + 1))
	tg_reap "$RUN"
	state_files "$LOGS"/*/ | xargs -r rm -f
fi
if [ "$HAD_STATE_DIR" = 0 ]; then
	rmdir /run/tungate 2>/dev/null
fi
if [ -n "${TG_KEEP_LOGS:-}" ]; then
	echo "logs kept in $LOGS"
else
	rm -rf "$LOGS"
fi

summary="$PASSED passed, $FAILED failed"
[ "$SKIPPED" != 0 ] && summary+=", $SKIPPED skipped"
echo "$summary"
[ "$FAILED" = 0 ]
