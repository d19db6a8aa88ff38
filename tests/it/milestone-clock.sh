#!/usr/bin/env bash
# The milestone clock: a milestone nobody works on turns at_risk at
# due - at_risk_margin and slipping just after its due date, with no
# request in between, from MilestoneClock evidence that milepostd appends
# to the chain (time = the point, id clock.<point>).  A restart stores no
# point twice; claims rebuild recomputes the same revisions; clock: false
# appends nothing.
. "$(dirname "$0")/lib.sh"
plan 17

at() { python3 -c 'import sys,datetime as D; t=D.datetime.now(D.timezone.utc)+D.timedelta(seconds=float(sys.argv[1])); print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$1"; }
# at_risk from DUE - 8 s, slipping after DUE.  milepostd must serve and
# store on_track before DUE - 8 s: 12 s from now, a wide margin for a
# loaded machine under ASan (it takes well under 1 s unloaded).
DUE=$(at 20)
write_config "
milestones:
  - { id: M-CLK, tenant: acme, due: \"$DUE\", scope: { services: [idle] } }
milestone_rules: { at_risk_margin: 8s }"
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
states() { sqlite3 "$T/ledger.db" "SELECT group_concat(s, ' ') FROM (SELECT json_extract(properties, '\$.state') AS s FROM claim_revisions WHERE type = 'Milestone' AND id = 'M-CLK' ORDER BY revision)"; }
last_state() { states | awk '{ print $NF }'; }
wait_state() { for i in $(seq 800); do [ "$(last_state)" = "$1" ] && return 0; sleep 0.05; done; return 1; }	# 40 s
check "at start, the clock stores the last midnight: on_track" wait_state on_track
eq "... from MilestoneClock evidence at=day, source milepostd" "1 day milepostd" \
    "$(sqlite3 -separator ' ' "$T/ledger.db" "SELECT count(*), json_extract(properties, '\$.at'), source FROM evidence WHERE type = 'MilestoneClock'")"
check "with no request, at due - at_risk_margin: at_risk" wait_state at_risk
check "and just after its due date: slipping" wait_state slipping
eq "revisions: on_track, at_risk, slipping" "on_track at_risk slipping" "$(states)"
eq "MilestoneClock evidence after the day's: at_risk, due (of M-CLK)" "at_risk:M-CLK due:M-CLK" \
    "$(sqlite3 "$T/ledger.db" "SELECT group_concat(json_extract(properties, '\$.at') || ':' || json_extract(properties, '\$.milestone'), ' ') FROM (SELECT properties FROM evidence WHERE type = 'MilestoneClock' AND json_extract(properties, '\$.at') != 'day' ORDER BY seq)")"
due_us=$(python3 -c 'import sys,datetime as D; t=D.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=D.timezone.utc); print(int(t.timestamp()) * 1000000 + 1)' "$DUE")
eq "the due point's time and id: due + 1 us, clock.<us>" "$due_us clock.$due_us" \
    "$(sqlite3 -separator ' ' "$T/ledger.db" "SELECT time, id FROM evidence WHERE type = 'MilestoneClock' AND json_extract(properties, '\$.at') = 'due'")"
check "GET /metrics: the clock's ticks (one a second) and their lag" sh -c \
    'curl -s "$1/metrics" | grep -Eq "^milepost_timer_lag_seconds\{timer=\"milestone_clock\"\} [0-9.]+$"' _ "$URL"
curl -s -o "$T/resp" -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/milestones/M-CLK"
eq "GET /v1/milestones/M-CLK: slipping" slipping "$(json 'd["properties"]["state"]')"
"$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db" >/dev/null 2>&1
eq "the clock's evidence is in the hash chain (ledger verify)" 0 "$?"

# A restart: the latest point is stored already (a duplicate id).
n=$(rows "type = 'MilestoneClock'")
check "the daemon exits 0 on SIGTERM" stop_daemon
start_daemon
sleep 1.5
eq "a restart stores no point twice" "$n" "$(rows "type = 'MilestoneClock'")"
check "the daemon exits 0 on SIGTERM" stop_daemon
"$MILEPOST" claims rebuild -c "$T/milepost.yaml" > "$T/rb" 2>&1; rc=$?
eq "claims rebuild recomputes the same Milestone revisions" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/rb"

# clock: false: nothing is appended.
rm -f "$T/ledger.db"*
write_config "
milestones:
  - { id: M-OFF, tenant: acme, due: \"$(at -5)\" }
milestone_rules: { clock: false }"
start_daemon
sleep 1.5
eq "clock: false appends no MilestoneClock" 0 "$(rows "type = 'MilestoneClock'")"
check "the daemon exits 0 on SIGTERM" stop_daemon

printf 'listen: "127.0.0.1:0"\nledger: "sqlite:%s/x.db"\nmilestone_rules: { clock: maybe }\n' "$T" > "$T/bad.yaml"
"$MILEPOSTD" -n -c "$T/bad.yaml" 2> "$T/err"; rc=$?
check "clock must be a boolean, and the error says so (exit 1)" \
    sh -c '[ "$1" = 1 ] && grep -q "bad.yaml:3: clock: must be true or false" "$2"' _ "$rc" "$T/err"
finish
