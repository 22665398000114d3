#!/bin/bash
# SPDX-License-Identifier: MIT
#
# udpexpire: UDP flows end as the kernel's conntrack ends them (README.md,
# "Limits"). One flow of two exchanges (assured), then a burst of 10 000
# single-exchange flows from cs (more than --max-udp-flows 4096: the table
# fills and evicts). The one-shot flows expire 30 s after their answer, so
# 60 s after the burst the outside holds fewer than 2 000 descriptors
# (before: every flow lived --udp-idle, 180 s, and 4 096 sockets stayed);
# the assured flow was not evicted by the burst and, idle for 60 s, still
# carries its third exchange as the same flow.
#
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
tg_setup

TG_OUTSIDE_ARGS+=(--name udpexpire)
assert "the tunnel starts" tg_start_tunnel

# flow_field PORT FIELD - FIELD of the UDP flow from cs's port PORT to lan:7
flow_field() {
	tg_status_json udpexpire | python3 -c '
import json, sys
for c in json.load(sys.stdin)["connections"]:
    if c["proto"] == "udp" and c["inside_port"] == int(sys.argv[1]) \
            and c["dest_port"] == 7:
        print(c[sys.argv[2]])
        break' "$1" "$2" 2>/dev/null
}
base_fds=$(tg_fds "$TG_OUTSIDE_PID")

# --- one assured flow -------------------------------------------------------
tg_bg again "$NS_CS" python3 "$TG_LIB_DIR/udp.py" again "$LAN4" 7 "$T/go" 150
again_pid=$TG_LAST_PID
port_of_again() { sed -n 's/^port \([0-9]*\)$/\1/p' "$T/again.log" 2>/dev/null; }
has_port() { [ -n "$(port_of_again)" ]; }
assert "two exchanges on one flow" wait_for 10 has_port
port=$(port_of_again)
assured_at=$SECONDS
check "the flow of port $port has two datagrams from cs" \
	test "$(flow_field "$port" packets_from_inside)" = 2

# --- 10 000 single-exchange flows -------------------------------------------
out=$(in_ns "$NS_CS" bash -c "ulimit -n 16384; timeout 60 python3 '$TG_LIB_DIR/hostile.py' udpmany $LAN4 7 10000 4")
burst_end=$SECONDS
answered=$(sed -n 's/.* \([0-9]*\) answered/\1/p' <<<"$out")
say "burst: $out; $(tg_fds "$TG_OUTSIDE_PID") fds (base $base_fds)"
check "the burst's flows are answered ($out)" test "${answered:-0}" -ge 4096
check "the assured flow survived the burst (it was the oldest)" \
	test "$(flow_field "$port" packets_from_inside)" = 2

# --- 60 s later ---------------------------------------------------------------
few() { [ "$(tg_fds "$TG_OUTSIDE_PID")" -lt 2000 ]; }
wait_for $((burst_end + 60 - SECONDS)) few
check "60 s after the burst the outside holds < 2000 fds (now $(tg_fds "$TG_OUTSIDE_PID"))" few
idle_enough() { [ $((SECONDS - assured_at)) -ge 61 ]; }
wait_for 90 idle_enough
age=$(flow_field "$port" age_ms)
check "the assured flow is still there after 60 s idle (age ${age:-none} ms)" \
	test "${age:-0}" -ge 60000
touch "$T/go"
check "its third exchange is answered" tg_wait_exit "$again_pid" 10
check "... the client says so (status $TG_RC)" test "$TG_RC" = 0
check "... over the same flow (3 datagrams from cs)" \
	test "$(flow_field "$port" packets_from_inside)" = 3

check "the tunnel stops cleanly" tg_stop_tunnel
tg_done
