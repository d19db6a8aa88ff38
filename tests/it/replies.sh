#!/usr/bin/env bash
# Every reply of INTERFACE.md's table for POST /v1/evidence, nothing written
# on a 4xx, duplicates, batches, the read API, limits and SIGTERM.
. "$(dirname "$0")/lib.sh"
plan 75

write_config "limits: { max_body: 4096, queue_max: 1 }"
start_daemon

good='{"type":"BuildCompleted","subject":"b-17","time":"2025-07-03T10:08:20Z","properties":{"buildStatus":"success","duration":"420s"},"links":{"commit":"9fceb02","branch":"main","repo":"acme/shop"}}'

r=$(post m1 "$good"); eq "202 for new evidence" 202 "${r%% *}"
eq "202 body has id and seq" "m1 1" "$(json 'd["id"]') $(json 'd["seq"]')"
eq "... exactly" '202 {"id":"m1","seq":1}' "$r"
r=$(post m1 "$good"); eq "200 for a redelivery" 200 "${r%% *}"
eq "200 body says duplicate, with the stored seq" "True 1" "$(json 'd["duplicate"]') $(json 'd["seq"]')"
eq "... exactly" '200 {"duplicate":true,"id":"m1","seq":1}' "$r"
eq "a duplicate writes nothing" 1 "$(rows)"
eq "stored properties are canonical and typed" '{"buildStatus":"success","duration":420}' \
    "$(sqlite3 "$T/ledger.db" 'SELECT properties FROM evidence WHERE seq=1')"
eq "event time kept as sent" "$(date -ud 2025-07-03T10:08:20Z +%s)000000" \
    "$(sqlite3 "$T/ledger.db" 'SELECT time FROM evidence WHERE seq=1')"

# The same id in the body wins over webhook-id, and is returned as given.
r=$(post whatever '{"id":"agent:ü-no","type":"BuildStartedEvent"}')
eq "400 for an id that is not printable ASCII" 400 "${r%% *}"
r=$(post w2 '{"id":"b-18/start#1","type":"BuildStartedEvent","subject":"b-18","properties":{"buildId":"b-18"}}')
eq "an explicit id is used and returned exactly" "202 b-18/start#1" "${r%% *} $(json 'd["id"]')"

# 401: signature checks, before syntax.
n=$(rows)
r=$(curl -s -o "$T/resp" -w '%{http_code}' --data-binary "$good" "$URL/v1/evidence")
eq "401 without signature headers" 401 "$r"
eq "401 body is JSON with an error" "True" "$(json '"error" in d')"
ts=$(date +%s)
r=$(curl -s -o /dev/null -w '%{http_code}' -H "webhook-id: x1" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$(sign x1 "$ts" "$good")" --data-binary "${good/b-17/b-99}" "$URL/v1/evidence")
eq "401 for a tampered body" 401 "$r"
old=$(( $(date +%s) - 301 ))
r=$(curl -s -o /dev/null -w '%{http_code}' -H "webhook-id: x2" -H "webhook-timestamp: $old" \
    -H "webhook-signature: v1,$(sign x2 "$old" "$good")" --data-binary "$good" "$URL/v1/evidence")
eq "401 for a timestamp 301 s old" 401 "$r"
# Ahead by a clear margin: the daemon compares whole seconds, read after
# ours, so now+301 becomes 300 s ahead (accepted) when a second boundary
# falls in between.  (301 s old is safe: a later reading only adds age.)
fut=$(( $(date +%s) + 400 ))
r=$(curl -s -o /dev/null -w '%{http_code}' -H "webhook-id: x3" -H "webhook-timestamp: $fut" \
    -H "webhook-signature: v1,$(sign x3 "$fut" "$good")" --data-binary "$good" "$URL/v1/evidence")
eq "401 for a timestamp 400 s ahead (beyond the 300 s tolerance)" 401 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -H "webhook-id: x4" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,bm90IGl0 v1,$(sign x4 "$ts" "$good")" --data-binary "$good" "$URL/v1/evidence")
eq "202 when one of several signatures matches" 202 "$r"
n=$((n + 1))
r=$(curl -s -o /dev/null -w '%{http_code}' -H "webhook-id: x5" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$(sign x5 "$ts" "{broken")" --data-binary "{broken" "$URL/v1/evidence")
eq "400 for a signed but malformed body" 400 "$r"
eq "nothing written by any 401 or 400" "$n" "$(rows)"

# 400: syntax.
r=$(post s1 '{"type":"BuildStartedEvent",}');		eq "400 for trailing comma" 400 "${r%% *}"
r=$(post s2 '[1,2]');					eq "400 for a non-object" 400 "${r%% *}"
r=$(post s3 '{"subject":"x"}');				eq "400 for a missing type" 400 "${r%% *}"
r=$(post s4 '{"type":"BuildStartedEvent","time":"yesterday","properties":{"buildId":"x"}}')
eq "400 for a bad time, naming it" "400 time" "${r%% *} $(json 'd["property"]')"
r=$(post s5 '{"type":"BuildStartedEvent","links":{"commit":7},"properties":{"buildId":"x"}}')
eq "400 for a non-string link" 400 "${r%% *}"
r=$(post s6 '{"type":"BuildStartedEvent","colour":"red","properties":{"buildId":"x"}}')
eq "400 for an unknown field, naming it" "400 colour" "${r%% *} $(json 'd["property"]')"
r=$(post s7 '{"type":"BuildStartedEvent","properties":{"buildId":"x"}} junk')
eq "400 for trailing data" 400 "${r%% *}"
r=$(post s8 '{"evidence":[]}');				eq "400 for an empty batch" 400 "${r%% *}"

# 422: types.
r=$(post t1 '{"type":"NoSuchType"}')
eq "422 for an unknown type, naming type" "422 type" "${r%% *} $(json 'd["property"]')"
r=$(post t2 '{"type":"BuildCompleted","properties":{"buildStatus":"meh","duration":"1s"}}')
eq "422 for an enum value out of options" "422 buildStatus" "${r%% *} $(json 'd["property"]')"
r=$(post t3 '{"type":"BuildCompleted","properties":{"buildStatus":"success"}}')
eq "422 for a missing required property" "422 duration" "${r%% *} $(json 'd["property"]')"
r=$(post t4 '{"type":"BuildCompleted","properties":{"buildStatus":"success","duration":"soon"}}')
eq "422 for a bad timespan" "422 duration" "${r%% *} $(json 'd["property"]')"
r=$(post t5 '{"type":"BuildCompleted","properties":{"buildStatus":"success","duration":"1s","exitCode":"one"}}')
eq "422 for a bad integer" "422 exitCode" "${r%% *} $(json 'd["property"]')"
r=$(post t6 '{"type":"BuildCompleted","properties":{"buildStatus":"success","duration":"1s","colour":"red"}}')
eq "422 for an undeclared property" "422 colour" "${r%% *} $(json 'd["property"]')"
r=$(post t7 '{"evidence":[{"type":"BuildStartedEvent","properties":{"buildId":"ok"}},{"type":"BuildStartedEvent","properties":{}}]}')
eq "422 for a batch with one bad item" "422 buildId" "${r%% *} $(json 'd["property"]')"
eq "the bad batch's error names its index" "True" "$(json 'd["error"].startswith("evidence[1]")')"
eq "nothing written by any 400 or 422" "$n" "$(rows)"

# 413: size, before the signature is even looked at.
big=$(python3 -c 'print("{\"type\":\"BuildStartedEvent\",\"subject\":\"" + "x"*5000 + "\"}")')
r=$(post z1 "$big"); eq "413 for a body over max_body, as JSON" "413 True" "${r%% *} $(json '"error" in d')"
r=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "$big" "$URL/v1/evidence")
eq "413 comes before 401" 413 "$r"
eq "nothing written by a 413" "$n" "$(rows)"

# Batches: ids default to <webhook-id>.<index>; a redelivered batch is a duplicate.
batch='{"evidence":[{"type":"BuildStartedEvent","subject":"b1","properties":{"buildId":"b1"}},{"type":"BuildStartedEvent","subject":"b2","properties":{"buildId":"b2"}}]}'
r=$(post bat "$batch"); eq "202 for a batch" "202 2" "${r%% *} $(json 'd["accepted"]')"
eq "batch ids are webhook-id.index" "bat.0 bat.1" "$(json 'd["evidence"][0]["id"]') $(json 'd["evidence"][1]["id"]')"
r=$(post bat "$batch"); eq "200 for a redelivered batch" "200 2" "${r%% *} $(json 'd["duplicates"]')"
b0=$(json 'd["evidence"][0]["seq"]'); b1=$(json 'd["evidence"][1]["seq"]')
eq "... exactly" "200 {\"accepted\":0,\"duplicates\":2,\"duplicate\":true,\"evidence\":[{\"id\":\"bat.0\",\"seq\":$b0,\"duplicate\":true},{\"id\":\"bat.1\",\"seq\":$b1,\"duplicate\":true}]}" "$r"
half='{"evidence":[{"type":"BuildStartedEvent","subject":"b1","properties":{"buildId":"b1"}},{"type":"BuildStartedEvent","subject":"b3","properties":{"buildId":"b3"}}]}'
r=$(post bat2 "$half"); s0=$(json 'd["evidence"][0]["seq"]'); s1=$(json 'd["evidence"][1]["seq"]')
eq "a batch of new evidence: 202, exactly" "202 {\"accepted\":2,\"duplicates\":0,\"evidence\":[{\"id\":\"bat2.0\",\"seq\":$s0},{\"id\":\"bat2.1\",\"seq\":$s1}]}" "$r"
n=$((n + 2))
n=$((n + 2)); eq "a batch is stored once" "$n" "$(rows)"

# The read API.
r=$(curl -s -o "$T/resp" -w '%{http_code}' "$URL/v1/evidence")
eq "GET /v1/evidence needs a token" 401 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/evidence")
eq "a client token may not read raw evidence" 403 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/evidence?after=1&limit=2")
eq "GET /v1/evidence pages in ledger order" "200 [2, 3] 3" "$r $(json '[e["seq"] for e in d["evidence"]]') $(json 'd["next"]')"
eq "entries carry every field" "['hash', 'id', 'links', 'properties', 'recorded_at', 'seq', 'source', 'subject', 'time', 'type']" \
    "$(json 'sorted(d["evidence"][0].keys())')"
eq "source is a string" "agent" "$(json 'd["evidence"][0]["source"]')"
curl -s -o "$T/resp" -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/evidence?after=999"
eq "next stays at after when nothing is left" "0 999" "$(json 'len(d["evidence"])') $(json 'd["next"]')"
r=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/evidence?limit=1001")
eq "limit over 1000 is refused" 400 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz"); eq "healthz" 200 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope"); eq "404 for an unknown path" 404 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/evidence"); eq "405 for a wrong method" 405 "$r"
m=$(curl -s "$URL/metrics")
check "metrics count accepted evidence" grep -q "^milepost_evidence_accepted_total $n\$" <<<"$m"
check "metrics count rejects by reason" grep -q '^milepost_requests_rejected_total{reason="signature"} [1-9]' <<<"$m"
check "metrics have a batch size histogram" grep -q '^milepost_batch_size_bucket{le="1"}' <<<"$m"
check "metrics have a commit latency histogram" grep -q '^milepost_commit_seconds_count [1-9]' <<<"$m"

# 503: hold the database lock so the writer blocks; the queue (max 1) fills.
# Event-driven: the lock is held from when $T/locked appears until the
# test creates $T/release (or 60 s pass), not for a fixed time.  The
# writer's busy timeout (5 s) is the one bound left: from q1 to the
# release below is well under it, even under ASan.
cat > "$T/hold.sh" <<'SH'
touch "$1/locked"
i=0
while [ ! -e "$1/release" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
SH
( sqlite3 "$T/ledger.db" <<SQL
BEGIN EXCLUSIVE;
SELECT count(*) FROM evidence;
.shell sh $T/hold.sh $T
COMMIT;
SQL
) >/dev/null 2>&1 &
lockpid=$!
for i in $(seq 600); do [ -e "$T/locked" ] && break; sleep 0.05; done
check "the test holds the ledger's lock" test -e "$T/locked"
post q1 '{"type":"BuildStartedEvent","properties":{"buildId":"q1"}}' > "$T/q1" &
q1pid=$!
# q1 must be with the writer (out of the queue) before q2 comes, or q2 is
# refused; nothing outside shows that moment, so a margin: the writer is
# signalled at once, and 1 s covers curl's start on a loaded machine.
sleep 1
post q2 '{"type":"BuildStartedEvent","properties":{"buildId":"q2"}}' > "$T/q2" &
q2pid=$!
depth() { curl -s "$URL/metrics" | sed -n 's/^milepost_queue_depth //p'; }
for i in $(seq 100); do [ "$(depth)" = 1 ] && break; sleep 0.05; done
eq "q1 is with the blocked writer and q2 waits in the queue" 1 "$(depth)"
r=$(post q3 '{"type":"BuildStartedEvent","properties":{"buildId":"q3"}}' -D "$T/q3.h")
eq "503 when the ingest queue is full" 503 "${r%% *}"
# The same reply's headers: a second request could arrive after the lock.
eq "503 carries Retry-After" "Retry-After: 1" "$(tr -d '\r' < "$T/q3.h" | grep -i '^retry-after:')"
touch "$T/release"
wait $lockpid $q1pid $q2pid
eq "queued requests are committed once the lock is gone" "202 202" "$(cut -d' ' -f1 "$T/q1") $(cut -d' ' -f1 "$T/q2")"

# 503 when the ledger cannot commit: the lock is held past the writer's
# busy timeout (5 s), so the commit fails; nothing is written, the
# failure is counted, and the request is answered (no hang, no crash).
rm -f "$T/locked" "$T/release"
( sqlite3 "$T/ledger.db" <<SQL
BEGIN EXCLUSIVE;
SELECT count(*) FROM evidence;
.shell sh $T/hold.sh $T
COMMIT;
SQL
) >/dev/null 2>&1 &
lockpid=$!
for i in $(seq 600); do [ -e "$T/locked" ] && break; sleep 0.05; done
cf0=$(curl -s "$URL/metrics" | sed -n 's/^milepost_commit_failures_total //p')
r=$(post cf1 '{"type":"BuildStartedEvent","properties":{"buildId":"cf1"}}' --max-time 60)
touch "$T/release"; wait $lockpid
eq "503 when the commit fails (the ledger is locked past the busy timeout)" 503 "${r%% *}"
eq "the failed commit is counted" "$(( ${cf0:-0} + 1 ))" \
    "$(curl -s "$URL/metrics" | sed -n 's/^milepost_commit_failures_total //p')"
eq "and nothing is written" "$((n + 2))" "$(rows)"

# SIGTERM: everything acknowledged is committed, and the daemon exits 0.
stop_daemon TERM
eq "SIGTERM: the daemon exits 0" 0 "$?"
check "SIGTERM exits after committing" grep -q "all acknowledged evidence is committed" "$T/milepostd.log"
eq "every acknowledged evidence is in the ledger after SIGTERM" "$((n + 2))" "$(rows)"
check "the ledger verifies after shutdown" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"

# SIGHUP is ignored (there is no reload: restart to apply a configuration);
# SIGINT stops the daemon as SIGTERM does.
start_daemon
kill -HUP "$DPID"
r=$(post h1 '{"type":"BuildStartedEvent","properties":{"buildId":"h1"}}')
eq "after SIGHUP the daemon still serves and stores" 202 "${r%% *}"
check "SIGHUP leaves it running" kill -0 "$DPID"
stop_daemon INT
eq "SIGINT: the daemon exits 0" 0 "$?"
eq "SIGINT: what it acknowledged is committed" "$((n + 3))" "$(rows)"
finish
