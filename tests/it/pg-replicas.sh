#!/usr/bin/env bash
# N replicas, one ledger (the fault test of the PostgreSQL issue): two
# milepostd on one PostgreSQL database, 64 concurrent signed senders
# alternating between them, kill -9 of one in the middle.  Afterwards every
# acknowledged evidence is in the ledger exactly once, the chain verifies,
# claims rebuild equals the stored claims, the sink received every
# object's final state with no push out of order, and the survivor took
# over the timers (and the pushes).  A real PostgreSQL (tests/harness/pg).
. "$(dirname "$0")/outbox-lib.sh"
plan 19
pg_need

SENDERS=64
POSTS=6
start_sink hook; HOOK=$SINKPORT
HS="whsec_$(head -c 32 /dev/urandom | base64)"
EXTRA="$STATUS_TYPES
sinks:
  hook: { kind: webhook, url: \"http://127.0.0.1:$HOOK/\", secret: \"$HS\", retry_base: 0.2s, retry_max: 2s }
subscriptions:
  - { sink: hook, types: [Status] }"

# replica NAME: its own configuration and port, the one database.
replica() {
	cat > "$T/$1.yaml" <<YAML
listen: "127.0.0.1:0"
ledger: "$LEDGER_URL"
agent_secret: "$SECRET"
tokens:
  - { token: "$READER_TOKEN", role: reader }
$EXTRA
YAML
	: > "$T/$1.log"
	"$MILEPOSTD" -c "$T/$1.yaml" 2>>"$T/$1.log" &
	eval "PID_$1=$!"
	local i p=
	for i in $(seq 600); do		# 30 s
		p=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$1.log")
		[ -n "$p" ] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$p/healthz" && break
		sleep 0.05
	done
	eval "PORT_$1=$p"
	[ -n "$p" ]
}
# The first to start takes the leader lock (timers and pushes).
check "replica B serves" replica B
for i in $(seq 200); do grep -q "now runs the timers" "$T/B.log" && break; sleep 0.05; done
check "replica A serves beside it, on the same database" replica A
check "B, started first, runs the timers" grep -q "now runs the timers" "$T/B.log"

# A commit that changes the feed NOTIFYs milepost_changes (the pushers
# LISTEN to it, polling as the backstop): a listener of our own hears it.
psql "$LEDGER_URL" -qAt -c "LISTEN milepost_changes" -c "SELECT pg_sleep(3)" \
    -c "SELECT 'done'" > "$T/listen" 2>&1 &
LISTENER=$!
for i in $(seq 200); do
	[ "$(psql "$LEDGER_URL" -qAt -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(3)'")" = 1 ] && break
	sleep 0.05
done
r=$(URL="http://127.0.0.1:$PORT_A" post notify-1 '{"type":"StatusOpened","subject":"n1","properties":{"state":"open"}}')
wait $LISTENER
eq "a post to A is stored" 202 "${r%% *}"
check "its commit notified milepost_changes" grep -q 'Asynchronous notification "milepost_changes"' "$T/listen"

# sender N: POSTS signed evidence about object sN, alternating A and B,
# each after the previous one's reply; the acknowledged ids go to acked.N.
sender() {
	local n=$1 i id ts body code url
	for i in $(seq 0 $((POSTS - 1))); do
		id="pg-$n-$i"
		if [ "$i" -eq 0 ]; then
			body="{\"type\":\"StatusOpened\",\"subject\":\"s$n\",\"properties\":{\"state\":\"open\"}}"
		else
			body="{\"type\":\"StatusSet\",\"subject\":\"s$n\",\"properties\":{\"state\":\"step\",\"progress\":$i,\"note\":\"n$i\"}}"
		fi
		if [ $(( (n + i) % 2 )) -eq 0 ]; then url=$PORT_A; else url=$PORT_B; fi
		ts=$(date +%s)
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
		    -H "webhook-id: $id" -H "webhook-timestamp: $ts" \
		    -H "webhook-signature: v1,$(sign "$id" "$ts" "$body")" \
		    -H 'Content-Type: application/json' --data-binary "$body" \
		    "http://127.0.0.1:$url/v1/evidence")
		case $code in
		200|202) echo "$id" >> "$T/acked.$n"; echo "$url" >> "$T/by.$n" ;;
		000) ;;		# B killed: no answer
		*) echo "$id $code" >> "$T/refused.$n" ;;
		esac
	done
}
for n in $(seq $SENDERS); do sender "$n" & done
# kill -9 B in the middle: once a third of the posts are acknowledged.
for i in $(seq 1200); do		# 60 s
	[ "$(cat "$T"/acked.* 2>/dev/null | wc -l)" -ge $((SENDERS * POSTS / 3)) ] && break
	sleep 0.05
done
kill -9 "$PID_B"
wait "$PID_B" 2>/dev/null
wait_senders() {
	local p
	for p in $(jobs -p); do
		[ "$p" = "$PID_A" ] && continue
		case " $SINKPIDS " in *" $p "*) continue ;; esac
		wait "$p"
	done
}
wait_senders
cat "$T"/acked.* | sort > "$T/acked"
acked=$(wc -l < "$T/acked")
check "both replicas acknowledged evidence before the kill" \
    test "$(cat "$T"/by.* | sort -u | wc -l)" -eq 2
# A batch that failed (a stale cache writing a revision the other
# replica wrote) would answer 503: none may.
eq "no post was refused: every answer was 200/202 or none (B killed)" 0 \
    "$(cat "$T"/refused.* 2>/dev/null | wc -l)"
check "some posts were acknowledged ($acked)" test "$acked" -gt $((SENDERS * POSTS / 3))

# 1. Every acknowledged evidence is in the ledger, exactly once.
psql "$LEDGER_URL" -qAt -c "CREATE TABLE acked (id text)" -c "\\copy acked FROM '$T/acked'"
eq "every acknowledged evidence is in the ledger" "$acked" \
    "$(psql "$LEDGER_URL" -qAt -c "SELECT count(*) FROM acked a JOIN evidence e ON e.id = a.id AND e.source = 'agent'")"
eq "... exactly once" 0 \
    "$(psql "$LEDGER_URL" -qAt -c "SELECT count(*) FROM (SELECT source, id FROM evidence GROUP BY source, id HAVING count(*) > 1) d")"
# 2. The chain verifies: one total order of sequence numbers and hashes.
check "the chain verifies" "$MILEPOST" ledger verify --ledger "$LEDGER_URL"
# 3. claims rebuild equals the stored claims.
check "claims rebuild equals the stored claims" "$MILEPOST" claims rebuild -c "$T/A.yaml"
# 5. The survivor took over the timers (and so the pushes).
for i in $(seq 600); do grep -q "now runs the timers" "$T/A.log" && break; sleep 0.05; done
check "the survivor took over the timers" grep -q "now runs the timers" "$T/A.log"
# 4. Every object's final state reached the sink, no push out of order.
wait_done() {
	local i
	for i in $(seq 1200); do	# 60 s
		[ "$(psql "$LEDGER_URL" -qAt -c "SELECT count(*) FROM outbox WHERE sink = 'hook' AND status <> 'done'")" = 0 ] &&
		    [ "$(psql "$LEDGER_URL" -qAt -c "SELECT count(*) FROM outbox WHERE sink = 'hook'")" = $((SENDERS + 1)) ] && return 0
		sleep 0.05
	done
	return 1
}
check "every object's push is done" wait_done
psql "$LEDGER_URL" -qAt -F' ' -c "SELECT id, max(revision) FROM claim_revisions WHERE type = 'Status' GROUP BY id" > "$T/final"
oracle "the sink's pushes" 3 python3 - "$T/hook/log" "$T/final" "$SENDERS" <<'PY'
import json, sys
final = dict(l.split() for l in open(sys.argv[2]) if l.strip())
got, order_ok = {}, True
for l in open(sys.argv[1]):
    d = json.loads(json.loads(l)["body"])["data"]
    prev = got.get(d["id"], 0)
    if d["revision"] < prev:
        order_ok = False
    got[d["id"]] = max(prev, d["revision"])
n = int(sys.argv[3])
print(("ok" if len(final) == n + 1 else "not ok") + " - %d objects stored (of %d and n1)" % (len(final), n))
print(("ok" if all(got.get(k) == int(v) for k, v in final.items()) else "not ok") + " - the sink has every object's final revision")
print(("ok" if order_ok else "not ok") + " - no object's pushes out of order")
PY
check "the survivor stops cleanly" kill -TERM "$PID_A"
wait "$PID_A"; eq "... with status 0" 0 "$?"
finish
