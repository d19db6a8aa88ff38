#!/usr/bin/env bash
# Crash test: concurrent clients post unique evidence; milepostd is killed
# with SIGKILL mid-stream and restarted.  Every id that got a 2xx must be
# in the ledger, and the chain must verify.
. "$(dirname "$0")/lib.sh"
plan 8

start_daemon
WORKERS=8
PER=400
worker() {	# worker N: post unique evidence, record acknowledged ids
	local w=$1 i id body ts code
	for i in $(seq "$PER"); do
		id="w$w-$i"
		body="{\"type\":\"BuildStartedEvent\",\"subject\":\"$id\",\"properties\":{\"buildId\":\"$id\"}}"
		ts=$(date +%s)
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		    -H "webhook-id: $id" -H "webhook-timestamp: $ts" \
		    -H "webhook-signature: v1,$(sign "$id" "$ts" "$body")" \
		    --data-binary "$body" "$URL/v1/evidence")
		case "$code" in
		200|202) echo "$id" >> "$T/acked.$w" ;;
		000) return 0 ;;	# the daemon is gone
		esac
	done
}
wpids=()
for w in $(seq $WORKERS); do worker "$w" & wpids+=($!); done
# Kill once a good number is acknowledged, mid-stream.
for i in $(seq 400); do
	n=$(cat "$T"/acked.* 2>/dev/null | wc -l)
	[ "$n" -ge 300 ] && break
	sleep 0.05
done
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
wait "${wpids[@]}"
acked=$(cat "$T"/acked.* | sort -u)
nacked=$(echo "$acked" | wc -l)
check "clients were acknowledged before the kill ($nacked)" test "$nacked" -ge 300

start_daemon
check "the daemon restarts on the killed ledger" curl -sf -o /dev/null "$URL/healthz"
sqlite3 "$T/ledger.db" "SELECT id FROM evidence" | sort -u > "$T/stored"
missing=$(comm -23 <(echo "$acked") "$T/stored" | wc -l)
eq "every acknowledged id survived kill -9" 0 "$missing"
stop_daemon TERM
eq "the restarted daemon exits 0 on SIGTERM" 0 "$?"
check "the chain verifies after the crash" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
# And it keeps appending after the restart.
start_daemon
r=$(post after-crash '{"type":"BuildStartedEvent","properties":{"buildId":"x"}}')
eq "ingest continues after the crash" 202 "${r%% *}"
check "the daemon exits 0 on SIGTERM" stop_daemon TERM
check "the chain still verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
