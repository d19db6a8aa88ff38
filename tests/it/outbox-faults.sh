#!/usr/bin/env bash
# The outbox under failure: a sink that answers 503 four times (once with
# Retry-After) then 200 gets the push with growing, jittered backoff (the
# delays are printed); one down for good dead-letters it, and milepost
# outbox list shows it and replay delivers it once the sink is back; 410
# disables the sink until outbox retry; a token bucket spaces pushes; and
# kill -9 between commit and acknowledgement resends the push after the
# restart with the same webhook-id.
. "$(dirname "$0")/outbox-lib.sh"
plan 44

start_sink flaky; FLAKY=$SINKPORT
start_sink down; DOWN=$SINKPORT
start_sink gone; GONE=$SINKPORT
start_sink slow; SLOW=$SINKPORT
start_sink crash; CRASH=$SINKPORT
start_sink redir; REDIR=$SINKPORT
start_sink busy; BUSY=$SINKPORT
S="whsec_$(head -c 32 /dev/urandom | base64)"
hook() { echo "  $1: { kind: webhook, url: \"http://127.0.0.1:$2/\", secret: \"$S\", retry_base: 0.2s, retry_max: 5s, timeout: ${4:-2s}${3:+, $3} }"; }
write_config "$STATUS_TYPES
sinks:
$(hook flaky "$FLAKY")
$(hook down "$DOWN" "max_attempts: 3")
$(hook gone "$GONE")
$(hook slow "$SLOW" "rate: 2, burst: 1")
$(hook crash "$CRASH" "" 60s)
$(hook redir "$REDIR")
$(hook busy "$BUSY")
subscriptions:
  - { sink: flaky, types: [Status], ids: [f1] }
  - { sink: down, types: [Status], ids: [d1] }
  - { sink: gone, types: [Status], ids: [g1, g2] }
  - { sink: slow, types: [Status], ids: [\"r*\"] }
  - { sink: crash, types: [Status], ids: [c1] }
  - { sink: redir, types: [Status], ids: [x1] }
  - { sink: busy, types: [Status], ids: [b1] }"
start_daemon || exit 1
CONF="$T/milepost.yaml"

# Outage and recovery.
printf '503\n503\n503 1\n503\n200\n' > "$T/flaky/plan"
opened f1 planned
check "delivered on the fifth attempt" wait_received flaky 5 20
python3 - "$T/flaky/log" > "$T/delays" <<'PY'
import json, sys
t = [json.loads(l)["t"] for l in open(sys.argv[1])]
print(" ".join("%.3f" % (b - a) for a, b in zip(t, t[1:])))
PY
echo "# measured delays between attempts (s): $(cat "$T/delays")"
read d1 d2 d3 d4 < "$T/delays"
# Equal jitter: attempt n waits base*2^(n-1) * [0.5, 1]; the third
# answer said Retry-After: 1.  The lower bounds are exact: a loaded
# machine (ASan, two scripts at once) makes a retry late, never early.
# The upper bounds allow 1 s of such lateness over the largest delay,
# and still tell the backoff from retry_max (5 s).
check "delay 1 in [0.1, 1.2)" python3 -c "import sys; sys.exit(not 0.1 <= $d1 < 1.2)"
check "delay 2 in [0.2, 1.4)" python3 -c "import sys; sys.exit(not 0.2 <= $d2 < 1.4)"
check "delay 3 honours Retry-After: 1" python3 -c "import sys; sys.exit(not 1.0 <= $d3 < 2.0)"
check "delay 4 in [0.8, 2.6)" python3 -c "import sys; sys.exit(not 0.8 <= $d4 < 2.6)"
eq "every attempt carries the same webhook-id" 1 \
    "$(python3 -c 'import json,sys; print(len({json.loads(l)["headers"]["webhook-id"] for l in open(sys.argv[1])}))' "$T/flaky/log")"
check "the push is done" wait_status flaky Status f1 done

# Permanent failure: dead letter, then replay.
printf '503\n503\n503\n' > "$T/down/plan"
opened d1 planned
check "dead-lettered after max_attempts (3)" wait_status down Status d1 dead 10
"$MILEPOST" outbox list -c "$CONF" > "$T/list"; rc=$?
eq "outbox list shows it (exit 0)" "0 down dead Status/d1 3 - HTTP 503" "$rc $(cat "$T/list")"
: > "$T/down/plan"	# the sink is back
sleep 0.5
eq "nothing is sent while it is dead" 3 "$(received down)"
"$MILEPOST" outbox replay --since 1h --sink down -c "$CONF" > "$T/out"; rc=$?
eq "outbox replay --since 1h --sink down (exit 0)" "0 1 object queued for sending again" "$rc $(cat "$T/out")"
check "replay delivers it" wait_received down 4
check "and it is done" wait_status down Status d1 done
same "the replay is the same message (same webhook-id)" \
    "$(field down 0 'r["headers"]["webhook-id"]')" "$(field down 3 'r["headers"]["webhook-id"]')"
"$MILEPOST" outbox list -c "$CONF" > "$T/list" 2>&1
eq "outbox list: nothing pending or dead" "milepost: outbox: nothing pending or dead" "$(cat "$T/list")"
"$MILEPOST" outbox replay --since 1h --sink down -c "$CONF" >/dev/null
check "replaying a delivered object resends it as a snapshot" wait_received down 5
id3=$(field down 3 'r["headers"]["webhook-id"]')
eq "a full snapshot, with a new webhook-id" "claim.snapshot True" \
    "$(field down 4 'b["type"] + " " + str(r["headers"]["webhook-id"] not in ("", "'"$id3"'") and "'"$id3"'" != "")')"
"$MILEPOST" outbox replay -c "$CONF" 2>/dev/null; rc=$?
eq "replay without --since: usage error (2)" 2 "$rc"

# 410: the sink is disabled until outbox retry.
printf '410\n' > "$T/gone/plan"
opened g1 planned
check "410 answered" wait_received gone 1
gone_row() { [ "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM outbox_sinks WHERE sink = 'gone'")" = 1 ]; }
wait_gone() { for i in $(seq 200); do gone_row && return 0; sleep 0.05; done; return 1; }
check "the sink is disabled (its outbox_sinks row)" wait_gone
opened g2 planned
sleep 0.6
eq "nothing more is sent to it" 1 "$(received gone)"
"$MILEPOST" outbox retry --sink gone -c "$CONF" >/dev/null
check "outbox retry --sink enables it: both objects delivered" wait_received gone 3
check "g2 done" wait_status gone Status g2 done

# README's table: a 3xx is never followed and goes to the dead-letter
# queue at once; a 429's Retry-After (2 s here, over the 0.1-0.2 s the
# backoff would wait) is honoured.
printf '302\n' > "$T/redir/plan"
opened x1 planned
check "a 302 dead-letters the push" wait_status redir Status x1 dead
eq "after one attempt (not followed, not retried)" "1 1" \
    "$(received redir) $(sqlite3 "$T/ledger.db" "SELECT attempts FROM outbox WHERE sink = 'redir' AND id = 'x1'")"
printf '429 2\n' > "$T/busy/plan"
opened b1 planned
check "a 429 is retried, then delivered" wait_received busy 2
check "and done" wait_status busy Status b1 done
gap=$(python3 -c 'import json,sys; t=[json.loads(l)["t"] for l in open(sys.argv[1])]; print("%.3f" % (t[1]-t[0]))' "$T/busy/log")
check "the retry waited Retry-After: 2 (>= 2 s; got $gap s)" python3 -c "import sys; sys.exit(not $gap >= 2.0)"

# Rate limit: 2 per second, burst 1: four objects take about 1.5 s.
for i in 1 2 3 4; do opened "r$i" planned; done
check "all four delivered" wait_received slow 4
spread=$(python3 -c 'import json,sys; t=[json.loads(l)["t"] for l in open(sys.argv[1])]; print("%.2f" % (max(t)-min(t)))' "$T/slow/log")
echo "# rate 2/s, burst 1: four pushes spread over ${spread}s"
check "the token bucket spaced them (>= 1.3 s for 4 at 2/s)" python3 -c "import sys; sys.exit(not $spread >= 1.3)"

# kill -9 between commit and acknowledgement: the sink has the request
# but never answers; after the restart the push is sent again, with the
# same webhook-id, so the receiver can drop the duplicate.
printf 'hang\n' > "$T/crash/plan"
opened c1 planned
check "the first attempt reached the sink" wait_received crash 1
stop_daemon KILL
eq "the push is still pending in the ledger" pending "$(outbox_status crash Status c1)"
start_daemon
check "after the restart it is sent again" wait_received crash 2
check "and acknowledged" wait_status crash Status c1 done
same "with the same webhook-id (deduplicable)" "$(field crash 0 'r["headers"]["webhook-id"]')" \
    "$(field crash 1 'r["headers"]["webhook-id"]')"
same "and the same body" "$(field crash 0 'b["data"]')" "$(field crash 1 'b["data"]')"
check "the daemon stops cleanly with a sink hanging" stop_daemon

# A sink that is away while more changes arrive than it queues (1024 rows
# wait): the rest wait in the change feed, shown as its backlog, and reach
# it once it is back; ingest never waits for it.
start_sink away; AWAY=$SINKPORT
printf 'hang\nhang\nhang\nhang\n' > "$T/away/plan"	# its 4 slots, 5 s each
write_config "$STATUS_TYPES
sinks:
$(hook away "$AWAY" "max_in_flight: 4" 5s)
subscriptions:
  - { sink: away, types: [Status], ids: [\"w*\"] }"
start_daemon
for b in 0 1; do	# two batches (a batch holds at most 1000)
	batch=$(python3 -c 'import json,sys; b=int(sys.argv[1]); print(json.dumps({"evidence": [{"type": "StatusOpened", "subject": "w%04d" % i, "properties": {"state": "planned"}} for i in range(550 * b, 550 * b + 550)]}))' $b)
	r=$(post away-batch-$b "$batch")
	eq "550 changes while the sink is away ($b): stored at once" "202 550" "${r%% *} $(json 'd["accepted"]')"
done
check "the sink queues at most 1024 and the rest wait as its backlog" sh -c \
    "for i in \$(seq 80); do \"$MILEPOST\" outbox list -c $T/milepost.yaml | grep -q '^away backlog' && exit 0; sleep 0.05; done; exit 1"
eq "... no more than 1024 (+ one fill) rows are queued meanwhile" 1 \
    "$(sqlite3 "$T/ledger.db" "SELECT count(*) <= 1024 + 256 FROM outbox WHERE sink = 'away'")"
away_ids() { python3 -c 'import json,sys; print(len({json.loads(json.loads(l)["body"])["data"]["id"] for l in open(sys.argv[1])}))' "$T/away/log"; }
wait_all() { for i in $(seq 600); do [ "$(away_ids)" -ge 1100 ] && return 0; sleep 0.05; done; return 1; }
check "once it answers, every object reaches it, the backlog too" wait_all
check "and the backlog is gone (-c: configured sinks only)" cmd_lacks backlog "$MILEPOST" outbox list -c "$T/milepost.yaml"
check "the daemon stops cleanly" stop_daemon
finish
