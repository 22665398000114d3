#!/bin/bash
# SPDX-License-Identifier: MIT
#
# via: `tungate outside --via PREFIX`, where PREFIX enters the container as
# `docker exec -i NAME` would: a script around `ip netns exec cs` (the
# outside runs as root here, since entering a namespace needs it; docker's
# daemon is what gives a real prefix that right), and for the drops the
# same behind relay.py, a process between the outside and the inside that
# the test kills as a network would kill a `kubectl exec`. Covered:
#   1. what fails says which part, in one line, exit 1: a prefix that is
#      not found here; a container that is not there (the prefix's own
#      stderr line, shown once); no tungate there and no --install; a user
#      that is not root and has no sudo -n; a machine type we have no
#      binary for (nothing uploaded); the real `docker` CLI, where it
#      is installed, against a daemon that is not there.
#   2. --install into an empty cache (size and SHA-256 checked, no sudo
#      for root), UDP through the tunnel; a second start finds the copy.
#   3. quoting: a prefix whose path has a space, a HOME in the container
#      with ' and " in it, an --install-binary path with a space, and
#      --remote-command: the tunnel comes up on the copy there.
#   4. through a prefix that joins its words into one line for a remote
#      shell, as ssh and gh codespace ssh do (a script named ssh that runs
#      `sh -c "$*"` in cs): --install into an empty cache, UDP, and the
#      HOME with ' and " and the --install-binary with a space of 3; the
#      flag either way (--no-via-shell over ssh fails in one line,
#      --via-shell over another name works).
#   5. over the relay: a 200 MiB download across a killed relay completes
#      with the right SHA-256 (the session resumes), an idle connection
#      survives a killed relay, and an inside killed outright gives a new
#      session that works.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip "no curl"
tg_setup

RPY=$TG_LIB_DIR/resume.py
HTTP=8080 LINE=7008 BIG_MB=200
VERSION=$("$T/tungate" version | awk '{ print $2 }')
RH=$T/rhome			# root's HOME in the container: empty
COPY=$RH/.cache/tungate/tungate-$VERSION
CPATH=/usr/sbin:/usr/bin:/sbin:/bin	# the container's PATH: no tungate
TG_OUTSIDE_ARGS=(--no-dns -v)
must mkdir -p "$RH" "$T/my prefix" "$T/fake" "$T/bin"
in_ns "$NS_CS" sh -c "PATH=$CPATH; command -v tungate" >/dev/null &&
	skip "tungate is on cs's PATH"

# the prefixes: `enter HOME CMD...` runs CMD in cs as root with HOME
cat >"$T/enter" <<EOF
#!/bin/sh
h=\$1
shift
exec ip netns exec $NS_CS env HOME="\$h" PATH=$CPATH "\$@"
EOF
cp "$T/enter" "$T/my prefix/enter"
# ... as nobody, who has no sudo
cat >"$T/enter-nobody" <<EOF
#!/bin/sh
exec ip netns exec $NS_CS setpriv --reuid=nobody --regid=nogroup \
	--clear-groups env HOME=$RH PATH=$CPATH "\$@"
EOF
# ... on a machine whose uname -m says riscv64
printf '#!/bin/sh\necho riscv64\n' >"$T/fake/uname"
cat >"$T/enter-riscv" <<EOF
#!/bin/sh
exec ip netns exec $NS_CS env HOME=$RH PATH=$T/fake:$CPATH "\$@"
EOF
# ... through relay.py, which writes its pid to relay.pid
cat >"$T/enter-relay" <<EOF
#!/bin/sh
exec python3 $TG_LIB_DIR/relay.py $T/relay.pid $T/inside-relay.log \
	ip netns exec $NS_CS env HOME=$RH PATH=$CPATH "\$@"
EOF
# ... like ssh, gh codespace ssh: `ssh HOME WORD...` joins WORD... into
# one line for cs's sh, as sshd hands the command to the user's shell
cat >"$T/bin/ssh" <<EOF
#!/bin/sh
h=\$1
shift
exec ip netns exec $NS_CS env HOME="\$h" PATH=$CPATH sh -c "\$*"
EOF
cp "$T/bin/ssh" "$T/bin/rsh-like"
chmod 755 "$T/enter" "$T/my prefix/enter" "$T/enter-nobody" \
	"$T/fake/uname" "$T/enter-riscv" "$T/enter-relay" "$T/bin/ssh" \
	"$T/bin/rsh-like"

tg_serve_big "$BIG_MB" "$HTTP" "$LINE"

# --- helpers -------------------------------------------------------------------

# via_outside PREFIX [ARGS...] - start the outside in local with --via
via_outside() {
	TG_N=$((TG_N + 1))
	OUT_LOG=$T/outside.$TG_N.log
	tg_bg "outside.$TG_N" "$NS_LOCAL" env XDG_RUNTIME_DIR="$T/xdg" \
		"$T/tungate" outside --via "$1" --route "$LAN_NET4" \
		--route "$LAN_NET6" "${TG_OUTSIDE_ARGS[@]}" "${@:2}"
	OUT_PID=$TG_LAST_PID
}

up_or_gone() {
	grep -q "inside is up" "$OUT_LOG" || ! tg_alive "$OUT_PID"
}

via_up() {
	wait_for 30 up_or_gone
	grep -q "inside is up" "$OUT_LOG"
}

# via_fails TEXT... - the outside exits 1 within 20 s, its last line its
# only error line, holding every TEXT
via_fails() {
	tg_wait_exit "$OUT_PID" 20 && [ "$TG_RC" = 1 ] &&
		tg_last_line_has "$OUT_LOG" "$@"
}

insides() {
	pgrep -a -x "tungate-$VERSION" | grep -c -F " $T/"
}

no_inside() {
	[ "$(insides)" = 0 ]
}

one_inside() {
	[ "$(insides)" = 1 ]
}

# via_stop - SIGTERM: the outside exits 0, no inside is left, cs is clean
via_stop() {
	kill -TERM "$OUT_PID" 2>/dev/null
	tg_wait_exit "$OUT_PID" 15 && [ "$TG_RC" = 0 ] &&
		wait_for 15 no_inside && wait_for 5 not tg_has_dev "$NS_CS" "$TUN_DEV"
}

udp_ok() {
	tg_udp_echo "$NS_CS" "$LAN4" 7 200 2
}

or_gone() {
	"$@" || ! tg_alive "$OUT_PID"
}

lines() {
	grep -c -E -- "$2" "$1"
}

# count_is N FILE RE - FILE has N lines matching RE
count_is() {
	[ "$(lines "$2" "$3")" = "$1" ]
}

got_mb() {
	[ "$(stat -c %s "$T/got" 2>/dev/null || echo 0)" -ge $(($1 << 20)) ]
}

# installed_ok N - the outside just installed into the empty cache at RH
installed_ok() {
	check "$1: it said it installed, with the SHA-256 checked" \
		grep -q "installed $COPY ([0-9]* bytes, SHA-256 checked)" "$OUT_LOG"
	check "$1: the copy is this tungate" cmp "$T/tungate" "$COPY"
	check "$1: no temporary file is left" \
		test "$(find "$RH/.cache/tungate" -type f | wc -l)" = 1
	check "$1: root in the container: no sudo" \
		grep -q -F "running '$COPY' inside --stdio -v (pid" "$OUT_LOG"
}

# quoted_up N PROGRAM - PROGRAM "HOME" as the prefix, HOME with ' and "
# in it, --install of a binary whose path has a space, --remote-command
quoted_up() {
	rm -rf "$QH/.cache"
	via_outside "\"$2\" \"$T/it's a \\\"home\\\"\"" --install \
		--install-binary "x86_64=$T/my prefix/tun gate" \
		--remote-command "tungate inside --stdio"
	check "$1: the tunnel comes up" via_up || return
	check "$1: the copy is in the HOME with quotes" cmp "$T/tungate" "$QCOPY"
	check "$1: --install-binary with a space was uploaded" \
		grep -q "uploading $T/my prefix/tun gate" "$OUT_LOG"
	check "$1: UDP echo" udp_ok
	check "$1: SIGTERM, exit 0" via_stop
}

kill_relay() {
	local pid
	pid=$(cat "$T/relay.pid") && tg_alive "$pid" && kill -KILL "$pid"
}

# --- 1. failures -------------------------------------------------------------------

say "--- 1. what fails says which part"
via_outside "'$T/no such prefix' -i"
check "1: a prefix not found: one line naming it, exit 1" \
	via_fails "the prefix's command '$T/no such prefix' is not found"
via_outside "ip netns exec ${TG_ID}gone" --once
check "1: a container that is not there: one line with the prefix's stderr" \
	via_fails "the prefix did not run sh in the container" \
	"Cannot open network namespace"
check "1: ... that stderr line is shown once (debug lines aside)" \
	test "$(grep -v ": debug: " "$OUT_LOG" |
		grep -c "Cannot open network namespace")" = 1
if command -v docker >/dev/null; then
	# the real docker CLI, told of a daemon socket that is not there
	via_outside "env DOCKER_CONFIG=$T/docker docker -H unix://$T/no.sock \
		exec -i devc" --once
	check "1: docker exec without a daemon: one line with docker's own" \
		via_fails "the prefix did not run sh in the container" \
		"Cannot connect to the Docker daemon"
else
	say "no docker: its error path is not checked"
fi
via_outside "$T/enter $RH"
check "1: no tungate there, no --install: one line that says --install" \
	via_fails "no tungate in the container" "--install"
via_outside "$T/enter-nobody" --install
check "1: not root, no sudo -n: one line" \
	via_fails "(nobody) is not root and sudo -n fails"
via_outside "$T/enter-riscv" --install
check "1: a riscv64 container: one line naming what to build" \
	via_fails "the remote is riscv64" "--install-binary riscv64=PATH"
check "1: nothing was uploaded" not test -e "$COPY"

# --- 2. --install, then a second start -----------------------------------------------

say "--- 2. --install into an empty cache"
via_outside "$T/enter $RH" --install
if check "2: --install: the tunnel comes up" via_up; then
	installed_ok 2
	check "2: the inside's stderr is logged" grep -q "info: remote: " "$OUT_LOG"
	check "2: UDP echo through --via" udp_ok
	check "2: SIGTERM: exit 0, the inside gone, cs clean" via_stop
fi
via_outside "$T/enter $RH" --install
if check "2: second start: the tunnel comes up" via_up; then
	check "2: second start: no upload" not grep -q "installing" "$OUT_LOG"
	check "2: second start: the copy is found" \
		grep -q "the remote has tungate $VERSION ($COPY)" "$OUT_LOG"
	check "2: second start: SIGTERM, exit 0" via_stop
fi

# --- 3. quoting ----------------------------------------------------------------------

say "--- 3. spaces and quotes in the paths"
QH="$T/it's a \"home\""
QCOPY="$QH/.cache/tungate/tungate-$VERSION"
must mkdir -p "$QH"
must cp "$T/tungate" "$T/my prefix/tun gate"
quoted_up 3 "$T/my prefix/enter"

# --- 4. through a remote shell -----------------------------------------------------

say "--- 4. a prefix that hands its words to a remote shell (ssh)"
must rm -rf "$RH/.cache"
via_outside "$T/bin/ssh $RH" --install
if check "4: ssh: --install into an empty cache, the tunnel comes up" via_up; then
	installed_ok "4: ssh"
	check "4: ssh: UDP echo" udp_ok
	check "4: ssh: SIGTERM, exit 0" via_stop
fi
quoted_up "4: ssh, quotes and spaces" "$T/bin/ssh"
via_outside "$T/bin/ssh $RH" --no-via-shell --once
check "4: --no-via-shell over ssh: exit 1, one error line" \
	eval 'tg_wait_exit "$OUT_PID" 20 && [ "$TG_RC" = 1 ] &&
		[ "$(grep -c ": error: " "$OUT_LOG")" = 1 ]'
via_outside "$T/bin/rsh-like $RH" --via-shell
if check "4: --via-shell over another name: the tunnel comes up" via_up; then
	check "4: --via-shell: UDP echo" udp_ok
	check "4: --via-shell: SIGTERM, exit 0" via_stop
fi
# the probe runs for --via without --install too, so the warning for a
# command that names no word tungate must not blame --install
via_outside "$T/enter $RH" --remote-command "$COPY inside --stdio"
if check "3: --remote-command with a path: the tunnel comes up" via_up; then
	check "3: ... it runs as given, one warning that says so" \
		grep -q "the remote command '$COPY inside --stdio' does not run 'tungate' by that word" "$OUT_LOG"
	check "3: ... the warning does not name --install, not given" \
		not grep -q -e "--install: the remote command" "$OUT_LOG"
	check "3: SIGTERM, exit 0" via_stop
fi

# --- 5. over a relay that dies -------------------------------------------------------

say "--- 5. a relay killed under a download, an idle connection, the inside"
via_outside "$T/enter-relay" --install --timeout 9
assert "5: the tunnel comes up through the relay" via_up
tg_bg curl "$NS_CS" sh -c "curl -sS --max-time 200 --limit-rate 10M \
	-o '$T/got' 'http://$LAN4:$HTTP/big'; echo \$? >'$T/curl.rc'"
CURL_PID=$TG_LAST_PID
check "5: the download is under way (30 MB in)" wait_for 30 got_mb 30
check "5: the relay is killed" kill_relay
check "5: the outside waits for the session to resume" \
	wait_for 15 grep -q "the stream dropped: the session waits" "$OUT_LOG"
check "5: the session is resumed" wait_for 30 or_gone \
	grep -q "session resumed after .* s: the connections carry on" "$OUT_LOG"
check "5: curl completes" wait_for 90 or_gone test -s "$T/curl.rc"
test -s "$T/curl.rc" || kill -TERM -- "-$CURL_PID" 2>/dev/null
check "5: curl exits 0" test "$(cat "$T/curl.rc" 2>/dev/null)" = 0
check "5: the sha256 of the download is right" \
	test "$(sha256sum <"$T/got" | cut -d' ' -f1)" = "$BIG_SHA"
rm -f "$T/got"

must mkdir -p "$T/hold"
tg_bg hold "$NS_CS" python3 "$RPY" hold "$LAN4" "$LINE" "$T/hold"
check "5: an idle connection is open" wait_for 10 test -e "$T/hold/up"
check "5: the relay is killed again" kill_relay
check "5: resumed a second time" wait_for 30 or_gone \
	count_is 2 "$OUT_LOG" "session resumed after"
touch "$T/hold/go"
check "5: the idle connection answers" wait_for 35 test -e "$T/hold/result"
check "5: ... with what was sent" grep -q "^echoed" "$T/hold/result"

UPS=$(lines "$OUT_LOG" "inside is up")
for p in $(pgrep -x "tungate-$VERSION"); do
	grep -q -F "$T/" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p"
done
check "5: the insides killed: a new one comes up" wait_for 30 or_gone \
	count_is $((UPS + 1)) "$OUT_LOG" "inside is up"
check "5: ... in a new session, not resumed" \
	test "$(lines "$OUT_LOG" "session resumed after")" = 2
check "5: UDP echo in the new session" wait_for 20 or_gone udp_ok
check "5: one inside" wait_for 20 or_gone one_inside
check "5: SIGTERM, exit 0, nothing left" via_stop

tg_done
