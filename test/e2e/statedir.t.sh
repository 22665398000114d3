#!/bin/bash
# SPDX-License-Identifier: MIT
#
# statedir: the inside (root) keeps its state files, the original
# resolv.conf among them, in /run/tungate, which must be a real directory
# of root's, mode 0700. Whoever could make that directory first, or plant
# a symbolic link in it, must not get root to write or read files
# elsewhere. Each start runs the inside in a mount namespace of its own
# whose /run is $T/run, so the test can lay out /run/tungate as it likes
# without touching the machine's. Refused, in one line, without anything
# outside the directory written, read into resolv.conf or deleted, and
# cs (its resolv.conf included) left as it was: a directory owned by
# another user, one of root's with mode 0777, a symbolic link in place of
# the directory, a symbolic link in place of the resolv.conf backup.
# Made when absent (root's, 0700); and a symbolic link
# at the temporary name the backup was once written to is never followed.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

tg_setup

RESOLV_CS=/etc/netns/$NS_CS/resolv.conf
INO=$(stat -L -c %i "/run/netns/$NS_CS")
RUN=$T/run DIR=$T/run/tungate
BACKUP=$DIR/$INO-$TUN_DEV.resolv
VICTIM=$T/victim
printf 'nameserver 198.18.99.99\n# not for the container\n' >"$VICTIM"
VICTIM_SUM=$(sha256sum <"$VICTIM")

# the inside sees $RUN as /run; umask 077 as a careful admin's
cat >"$T/privrun.sh" <<EOF
#!/bin/sh
umask 077
exec unshare -m --propagation private sh -c \
	'mount --bind "\$0" /run && exec "\$@"' "$RUN" "$T/tungate" "\$@"
EOF
chmod 755 "$T/privrun.sh"
TG_INSIDE_RUN=("$T/privrun.sh")
TG_OUTSIDE_ARGS+=(--dns) # the resolv.conf backup is written

BASE=$(tg_snapshot "$NS_CS")
cp "$RESOLV_CS" "$T/cs-resolv.orig"
# each case from scratch: a failure of one does not carry into the next
fresh_run() {
	rm -rf "$RUN" "$T/elsewhere"
	mkdir -m 755 "$RUN"
	cp "$T/cs-resolv.orig" "$RESOLV_CS"
}
# tree DIR - every path under DIR with its type, owner, mode and contents
tree() {
	find "$1" -printf '%P %y %u %m %l\n' | sort
	find "$1" -type f -exec sha256sum {} + | sort
}

# refused DESC WORDS - the start fails: the outside exits 1, its last line
# has WORDS; the inside exits 1; cs is as it was
refused() {
	local desc=$1 words=$2 last
	TG_EXPECT_FAIL=1
	tg_start_tunnel
	TG_EXPECT_FAIL=0
	check "$desc: the tunnel does not come up" \
		not grep -q "inside is up" "$TG_OUTSIDE_LOG"
	check "$desc: the outside exits" tg_wait_exit "$TG_OUTSIDE_PID" 15
	check "$desc: with status 1 (got $TG_RC)" test "$TG_RC" = 1
	last=$(tail -n 1 "$TG_OUTSIDE_LOG")
	check "$desc: its last line says why: $last" \
		grep -q -e "error: .*$words" <<<"$last"
	check "$desc: the inside exits 1" test "$(tg_wait_inside_exit 10)" = 1
	# the code of before came up here: do not leave it running
	tg_alive "$TG_OUTSIDE_PID" && tg_stop_tunnel
	tg_wait_exit "$TG_CS_SOCAT_PID" 10
	check "$desc: cs and its resolv.conf are as they were" \
		test "$(tg_snapshot "$NS_CS")" = "$BASE"
	check "$desc: the victim file is untouched" \
		test "$(sha256sum <"$VICTIM")" = "$VICTIM_SUM"
}

# --- absent: made root's, 0700 --------------------------------------------------
say "no /run/tungate"
fresh_run
assert "the tunnel starts" tg_start_tunnel
check "the inside made /run/tungate a directory of root's, mode 0700 (umask 077)" \
	test "$(stat -c '%F %u %a' "$DIR")" = "directory 0 700"
check "the backup is a plain file, mode 0600" \
	test "$(stat -c '%F %a' "$BACKUP")" = "regular file 600"
check "resolv.conf points at the tunnel" grep -q 198.18.0.53 "$RESOLV_CS"
check "the tunnel stops cleanly" tg_stop_tunnel
check "cs and its resolv.conf are as they were" \
	test "$(tg_snapshot "$NS_CS")" = "$BASE"
check "nothing is left in /run/tungate" test -z "$(ls -A "$DIR")"

# --- another user's directory ---------------------------------------------------
say "/run/tungate owned by nobody"
fresh_run
mkdir -m 700 "$DIR" && chown nobody:nogroup "$DIR"
before=$(tree "$RUN")
refused "nobody's directory" "/run/tungate.*owned by uid $(id -u nobody), not root"
check "nobody's directory: nothing was written into it" \
	test "$(tree "$RUN")" = "$before"

say "/run/tungate of root's, mode 0777"
fresh_run
mkdir "$DIR" && chmod 777 "$DIR"
before=$(tree "$RUN")
refused "mode 0777" "/run/tungate.*mode 0777, not 0700"
check "mode 0777: nothing was written into it" test "$(tree "$RUN")" = "$before"

# --- a symbolic link in place of the directory -----------------------------------
say "/run/tungate a symbolic link to a directory of root's"
fresh_run
mkdir -m 700 "$T/elsewhere"
# what a planted directory could hold: a state file for root to read and
# delete, a backup for root to copy into resolv.conf
printf '# tungate inside, pid 999999: removed on exit or by the next start\n' \
	>"$T/elsewhere/$INO-$TUN_DEV.state"
cp "$VICTIM" "$T/elsewhere/$INO-$TUN_DEV.resolv"
ln -s "$T/elsewhere" "$DIR"
before=$(tree "$T/elsewhere")
refused "a symbolic link" "/run/tungate.*symbolic link"
check "a symbolic link: its target is as it was (nothing read and deleted, nothing written)" \
	test "$(tree "$T/elsewhere")" = "$before"

# --- a symbolic link in place of the backup --------------------------------------
say "the resolv.conf backup a symbolic link"
fresh_run
mkdir -m 700 "$DIR"
ln -s "$VICTIM" "$BACKUP"
before=$(tree "$RUN")
refused "a symbolic link as the backup" \
	"refusing /run/tungate/$INO-$TUN_DEV.resolv: .*symbolic link"
check "a symbolic link as the backup: left as it was" \
	test "$(tree "$RUN")" = "$before"

# --- a symbolic link at the backup's old temporary name --------------------------
say "a symbolic link at the backup's old temporary name"
fresh_run
mkdir -m 700 "$DIR"
VICTIM=$T/victim2
printf '# another file of the container\n' >"$VICTIM"
VICTIM_SUM=$(sha256sum <"$VICTIM")
ln -s "$VICTIM" "$BACKUP.tmp"
assert "the tunnel starts" tg_start_tunnel
check "the victim file is untouched" \
	test "$(sha256sum <"$VICTIM")" = "$VICTIM_SUM"
check "the backup is a plain file" test "$(stat -c %F "$BACKUP")" = "regular file"
check "the tunnel stops cleanly" tg_stop_tunnel
check "cs and its resolv.conf are as they were" \
	test "$(tg_snapshot "$NS_CS")" = "$BASE"
check "the victim file is still untouched" \
	test "$(sha256sum <"$VICTIM")" = "$VICTIM_SUM"

tg_done
