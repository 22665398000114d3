#!/bin/bash
# SPDX-License-Identifier: MIT
#
# layering.sh - the dependency rule of README.md ("Code layout"), checked.
#
#   test/layering.sh [DIR]        check the tree at DIR (default: this one)
#   test/layering.sh --self-test  also show that a crossing include fails
#
# Every #include "..." names its folder (compiled with -I.), names a file
# that exists, and follows an allowed edge:
#
#   lib/                          -> lib/
#   nat/, dns/, transport/, tun/  -> lib/ and their own folder
#   cmd/                          -> all of the above; cmd/outside* not tun/
#                                    (tun/ is the inside's alone)
#   test/                         -> anything
#
# Prints one line per violation (file:line: what) and exits 1 if any.
set -u -o pipefail

allowed() { # FILE FROM TO
	case $2 in
	lib) [ "$3" = lib ] ;;
	nat | dns | transport | tun) [ "$3" = lib ] || [ "$3" = "$2" ] ;;
	cmd)
		case $3 in
		tun) [[ ${1##*/} != outside* ]] ;;
		lib | nat | dns | transport | cmd) true ;;
		*) false ;;
		esac
		;;
	test) true ;;
	*) false ;;
	esac
}

check() { # DIR
	local dir=$1 bad=0 f line inc from to
	while IFS=: read -r f line inc; do
		f=${f#./}
		inc=${inc#*\"}
		inc=${inc%%\"*}
		from=${f%%/*}
		to=${inc%%/*}
		if [ "$to" = "$inc" ]; then
			echo "$f:$line: \"$inc\" does not name its folder"
			bad=1
		elif [ ! -f "$dir/$inc" ]; then
			echo "$f:$line: \"$inc\" does not exist"
			bad=1
		elif ! allowed "$f" "$from" "$to"; then
			echo "$f:$line: $from/ may not include $inc"
			bad=1
		fi
	done < <(cd "$dir" && grep -rn --include='*.[ch]' \
		'^[[:space:]]*#[[:space:]]*include[[:space:]]*"' \
		lib cmd transport nat dns tun test 2>/dev/null)
	return $bad
}

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here}
if [ "${1:-}" = --self-test ]; then
	dir=$here
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$here" && tar cf - lib cmd transport nat dns tun) | tar xf - -C "$tmp"
	echo '#include "cmd/opts.h"' >>"$tmp/nat/flow.c"
	echo '#include "tun/tun.h"' >>"$tmp/cmd/outside.c"
	echo '#include "flow.h"' >>"$tmp/nat/udp.c"
	out=$(check "$tmp")
	for want in "nat/flow.c:.*nat/ may not include cmd/opts.h" \
		"cmd/outside.c:.*cmd/ may not include tun/tun.h" \
		'nat/udp.c:.*"flow.h" does not name its folder'; do
		if ! grep -q "$want" <<<"$out"; then
			echo "layering: the check missed: $want" >&2
			exit 1
		fi
	done
fi
[ -d "$dir/lib" ] || { echo "layering: $dir is not a tungate tree" >&2; exit 2; }
out=$(check "$dir")
if [ -n "$out" ]; then
	echo "$out" >&2
	echo "layering: includes cross the rule of README.md (Code layout)" >&2
	exit 1
fi
echo "layering: every include follows the rule"
