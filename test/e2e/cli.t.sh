#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cli: the command-line contract of README.md ("Use"). --version/--help answer;
# usage errors exit 2 with one line naming the bad flag; random bytes on
# the outside's stdin end in exit 1 with one clear line, never a hang or a
# crash. Needs no namespaces of the world; the outside that reads random
# bytes runs in an empty network namespace all the same, so not even a
# freak packet could leave the machine.
#
# shellcheck source-path=SCRIPTDIR disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"
tg_init

TG=$T/tungate

# run NAME CMD... - run CMD (bounded) with stdout/stderr in $T/NAME.out/.err;
# RC is its exit status
run() {
	local name=$1
	shift
	cmd timeout -k 5 20 "$@" >"$T/$name.out" 2>"$T/$name.err" </dev/null
	RC=$?
}

lines() { grep -c '' "$1"; }

last_line_is_error() {
	tail -n 1 "$1" | grep ': error: ' >/dev/null
}

sanitizer_clean() {
	! grep -Eq 'ERROR: [A-Za-z]+Sanitizer|Sanitizer has encountered|runtime error:' "$@"
}

# show NAME - on failure, what the command printed
show() {
	sed 's/^/    stdout: /' "$T/$1.out" | head -n 5 >&2
	sed 's/^/    stderr: /' "$T/$1.err" | head -n 5 >&2
}

# usage_error NAME FLAG ARGS... - exit 2, exactly one line on stderr that
# names FLAG
usage_error() {
	local name=$1 flag=$2
	shift 2
	run "$name" "$TG" "$@"
	check "'tungate $*' exits 2 (got $RC)" test "$RC" = 2 || show "$name"
	check "'tungate $*' prints one line on stderr" \
		test "$(lines "$T/$name.err")" = 1 || show "$name"
	check "'tungate $*' names $flag" grep -qe "$flag" "$T/$name.err" ||
		show "$name"
	check "'tungate $*': no sanitizer report" \
		sanitizer_clean "$T/$name.err"
}

# --- version and help --------------------------------------------------------

for v in --version version; do
	run "v$v" "$TG" "$v"
	check "'tungate $v' exits 0 (got $RC)" test "$RC" = 0 || show "v$v"
	check "'tungate $v' prints a version" \
		grep -Eq '[0-9]+\.[0-9]+' "$T/v$v.out" || show "v$v"
done

run help "$TG" --help
check "'tungate --help' exits 0 (got $RC)" test "$RC" = 0 || show help
check "'tungate --help' prints usage on stdout" grep -q outside "$T/help.out"

for mode in outside inside; do
	run "help-$mode" "$TG" "$mode" --help
	check "'tungate $mode --help' exits 0 (got $RC)" test "$RC" = 0 ||
		show "help-$mode"
	check "'tungate $mode --help' prints usage on stdout" \
		grep -q -- --stdio "$T/help-$mode.out" || show "help-$mode"
done

# --- usage errors ------------------------------------------------------------

usage_error bogus --bogus outside --bogus
usage_error bogus-stdio --bogus outside --stdio --bogus
usage_error inside-mtu --mtu inside --mtu abc
usage_error inside-bogus --frobnicate inside --stdio --frobnicate
usage_error outside-route --route outside --stdio --route 300.1.2.3/8
usage_error outside-mtu --mtu outside --stdio --mtu -5
usage_error retry-exec --retry outside --exec true --retry

run no-transport "$TG" outside
check "'tungate outside' without a transport exits 2 (got $RC)" \
	test "$RC" = 2 || show no-transport
run no-mode "$TG" frobnicate
check "'tungate frobnicate' exits 2 (got $RC)" test "$RC" = 2 || show no-mode

# --- random bytes on the stream ----------------------------------------------

# isolated NAME - run the rest in an empty network namespace if we can
isolated() {
	if [ "$(id -u)" = 0 ]; then
		unshare --net "$@"
	elif unshare -rn true 2>/dev/null; then
		unshare -rn "$@"
	else
		"$@"
	fi
}
export -f isolated

# garbage NAME BYTES - BYTES random bytes, then EOF, into `outside --stdio`
garbage() {
	local name=$1 bytes=$2 start
	head -c "$bytes" /dev/urandom >"$T/$name.in"
	start=$SECONDS
	cmd timeout -k 5 20 bash -c 'isolated "$@" <"$0"' "$T/$name.in" \
		"$TG" outside --stdio >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	check "$bytes random bytes: exit 1 (got $RC in $((SECONDS - start)) s)" \
		test "$RC" = 1 || show "$name"
	check "$bytes random bytes: exactly one error line" \
		test "$(grep -c ': error: ' "$T/$name.err")" = 1 || show "$name"
	check "$bytes random bytes: the error is the last line" \
		last_line_is_error "$T/$name.err"
	check "$bytes random bytes: no sanitizer report" \
		sanitizer_clean "$T/$name.err"
	[ -n "$TG_VERBOSE" ] && cat "$T/$name.err"
}

garbage rand100k 100000
garbage rand1k 1000
garbage rand1 1

# the same through a pipe that stays open: the outside must give up on
# its own once it has read past the banner limit, not wait for EOF
mkfifo "$T/open.fifo"
(
	head -c 200000 /dev/urandom
	exec sleep 30
) >"$T/open.fifo" &
feeder=$!
start=$SECONDS
cmd timeout -k 5 20 bash -c 'isolated "$@" <"$0"' "$T/open.fifo" \
	"$TG" outside --stdio >"$T/open.out" 2>"$T/open.err"
RC=$?
kill "$feeder" 2>/dev/null
wait "$feeder" 2>/dev/null
check "random bytes on an open pipe: exit 1 (got $RC in $((SECONDS - start)) s)" \
	test "$RC" = 1 || show open
check "random bytes on an open pipe: no sanitizer report" \
	sanitizer_clean "$T/open.err"

tg_done
