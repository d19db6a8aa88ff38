#!/usr/bin/env bash
# Claims, document 002's acceptance scenario, through the real agent:
# lifecycle and computed claims; periods by event time; idempotent
# re-sends; a revision held until its claim exists; late evidence and
# ?as_of=; ETags; milepost claim/claims beside curl; claims rebuild beside
# the daemon, after it, after tampering, and after kill -9.
. "$(dirname "$0")/lib.sh"
plan 91

# Document 002's configuration: the types of examples/build-lifecycle.yaml,
# and one more computed claim whose collector filters (on b1, b10, b11).
b1x='
  B1xCompleted:
    id: "$MonthName-$YYYY"
    trigger: BuildCompleted
    collectors:
      c: { type: BuildCompleted, count: 3, date_offset: CurrentMonth, filter: { subject: "b1*" } }
    properties:
      n: { type: integer, expression: count }'
write_config "$(sed -n '/^evidence_types:/,$p' "$top_srcdir/examples/build-lifecycle.yaml")$b1x"
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
CONF="$T/milepost.yaml"
emitted=0
emit_fail=0

started() {	# started BUILD TIME
	"$MILEPOST" emit BuildStartedEvent --subject "$1" --id "start-$1" \
	    --time "$2" buildId="$1" || emit_fail=$((emit_fail + 1))
	emitted=$((emitted + 1))
}
completed() {	# completed BUILD TIME DURATION
	"$MILEPOST" emit BuildCompleted --subject "$1" --id "done-$1" \
	    --time "$2" buildStatus=success duration="$3" ||
	    emit_fail=$((emit_fail + 1))
	emitted=$((emitted + 1))
}
get() {		# get PATH [CURL-ARGS...]: GET /v1/claims/PATH into $T/resp; prints the status
	local p=$1; shift
	curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $READER_TOKEN" "$@" "$URL/v1/claims/$p"
}
props() {	# props: the last response's properties, as "k=v k=v" sorted
	json '" ".join("%s=%s" % (k, v) for k, v in sorted(d["properties"].items()))'
}
etag() { tr -d '\r' < "$T/hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'; }
revs() { sqlite3 "$T/ledger.db" "SELECT count(*) FROM claim_revisions ${1:+WHERE $1};"; }
same_json() {	# same_json FILE FILE: equal as JSON data
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"
}
rebuild() {	# rebuild ARGS...: milepost claims rebuild; output in $T/rb, status in $rb
	"$MILEPOST" claims rebuild "$@" > "$T/rb" 2> "$T/rb.err"; rb=$?
}

# Ten builds start in July 2025; eight complete, one of them in under
# 500 s (durations in every timespan form); two never complete.
for i in 1 2 3 4 5 6 7 8 9 10; do
	started "b$i" "$(printf '2025-07-%02dT09:00:00Z' "$i")"
done
d=(- 420s 601s 8m21s PT10M 1h 720 1.5h 900s)
for i in 1 2 3 4 5 6 7 8; do
	completed "b$i" "$(printf '2025-07-%02dT09:30:00Z' "$i")" "${d[$i]}"
done
eq "the agent delivered all 18 evidence (exit 0, nothing spooled)" \
    "0 18 0" "$emit_fail $(rows) $(ls "$T/spool" 2>/dev/null | wc -l)"

eq "BuildCompletion/July-2025 over the API" 200 "$(get BuildCompletion/July-2025)"
eq "July: totalCount=10 completedCount=8 incompleteCount=2" \
    "completedCount=8 incompleteCount=2 totalCount=10" "$(props)"
cp "$T/resp" "$T/api.json"
"$MILEPOST" claim BuildCompletion July-2025 > "$T/cli.json"; rc=$?
eq "milepost claim finds it (exit 0)" 0 "$rc"
check "milepost claim prints the same data as the API" same_json "$T/api.json" "$T/cli.json"
eq "BuildLifeCycleSLA/July-2025 over the API" 200 "$(get BuildLifeCycleSLA/July-2025)"
eq "July: metSLA=12.5, about BuildService" "metSLA=12.5 BuildService" "$(props) $(json 'd["about"]')"
cp "$T/resp" "$T/api.json"
"$MILEPOST" claim BuildLifeCycleSLA July-2025 > "$T/cli.json"
check "milepost claim prints the SLA as the API does" same_json "$T/api.json" "$T/cli.json"
check "it prints 12.5 as a number" grep -q '"metSLA": 12.5$' "$T/cli.json"
get BuildLifecycle/b1 >/dev/null
eq "BuildLifecycle/b1 is completed, duration in seconds" "completed=True duration=420" "$(props)"
get BuildLifecycle/b9 >/dev/null
eq "BuildLifecycle/b9 is not completed" "completed=False" "$(props)"

# Lists: one page as the API returns it, or every page.
get "BuildLifecycle?limit=3" >/dev/null; cp "$T/resp" "$T/api.json"
"$MILEPOST" claims BuildLifecycle --limit 3 > "$T/cli.json"; rc=$?
eq "milepost claims --limit 3 (exit 0)" 0 "$rc"
check "prints the same page as the API" same_json "$T/api.json" "$T/cli.json"
eq "the page is b1 b10 b2, next b2" "['b1', 'b10', 'b2'] b2" \
    "$(json '[c["id"] for c in d["claims"]]') $(json 'd["next"]')"
"$MILEPOST" claims BuildLifecycle --limit 3 --after b2 > "$T/resp"
eq "--after continues from next" "['b3', 'b4', 'b5']" "$(json '[c["id"] for c in d["claims"]]')"
get "BuildLifecycle" >/dev/null; cp "$T/resp" "$T/api.json"
"$MILEPOST" claims BuildLifecycle > "$T/cli.json"
check "milepost claims prints every claim as the API's last page" same_json "$T/api.json" "$T/cli.json"

# Exit statuses of claim and claims.
"$MILEPOST" claim BuildCompletion June-2025 > "$T/out" 2> "$T/err"; rc=$?
eq "no such claim: exit 1, nothing on stdout" "1 0" "$rc $(wc -c < "$T/out")"
check "and the reason on stderr" grep -q "no such claim" "$T/err"
"$MILEPOST" claims NoSuchType > /dev/null 2> "$T/err"; rc=$?
eq "an unknown claim type: exit 1" 1 "$rc"
check "and says so" grep -q "unknown claim type" "$T/err"
MILEPOST_TOKEN= "$MILEPOST" claim BuildCompletion July-2025 > /dev/null 2> "$T/err"; rc=$?
eq "without MILEPOST_TOKEN: exit 2" 2 "$rc"
check "and the hint names MILEPOST_TOKEN" grep -q "MILEPOST_TOKEN" "$T/err"
MILEPOST_TOKEN="$CLIENT_TOKEN" "$MILEPOST" claim BuildCompletion July-2025 > /dev/null 2>&1
eq "a client token, a claim without its tenant: 404, exit 1" 1 "$?"
MILEPOST_TOKEN="not-a-configured-token" "$MILEPOST" claim BuildCompletion July-2025 > /dev/null 2>&1
eq "an unknown token: exit 2" 2 "$?"
"$MILEPOST" claim BuildCompletion > /dev/null 2>&1
eq "claim without an ID is a usage error" 2 "$?"
"$MILEPOST" claim BuildCompletion July-2025 --as-of yesterday > /dev/null 2>&1
eq "a bad --as-of is a usage error" 2 "$?"
"$MILEPOST" claims BuildLifecycle --limit 1001 > /dev/null 2>&1
eq "--limit over 1000 is a usage error" 2 "$?"
MILEPOST_URL="http://127.0.0.1:1" "$MILEPOST" claim BuildCompletion July-2025 > /dev/null 2>&1
eq "an unreachable receiver: exit 3" 3 "$?"
# Path segments are escaped: an id with '/', '?' and ' ' is one segment.
"$MILEPOST" emit BuildStartedEvent --subject 'odd/id? #1' --id start-odd \
    --time 2025-06-01T00:00:00Z buildId=odd
"$MILEPOST" claim BuildLifecycle 'odd/id? #1' > "$T/resp"; rc=$?
eq "an id with '/', '?', '#' and ' ' is found through milepost claim" "0 odd/id? #1" "$rc $(json 'd["id"]')"
emitted=$((emitted + 1))

# ETag: stable, 304 on If-None-Match; a change is checked further down.
get BuildCompletion/July-2025 >/dev/null; e1=$(etag)
get BuildCompletion/July-2025 >/dev/null; e2=$(etag)
check "a claim has an ETag" test -n "$e1"
eq "GET twice gives the same ETag" "$e1" "$e2"
eq "If-None-Match with it: 304" 304 "$(get BuildCompletion/July-2025 -H "If-None-Match: $e1")"
eq "If-None-Match with another: 200" 200 "$(get BuildCompletion/July-2025 -H 'If-None-Match: "nope"')"

# August builds create August claims and leave July's alone.
get BuildCompletion/July-2025 >/dev/null; jc=$(json 'd["revision"]')
get BuildLifeCycleSLA/July-2025 >/dev/null; js=$(json 'd["revision"]')
n=21
for dur in 100s 200s 300s 900s; do
	started "b$n" "2025-08-0$((n - 20))T12:00:00Z"
	completed "b$n" "2025-08-0$((n - 20))T12:05:00Z" "$dur"
	n=$((n + 1))
done
get BuildCompletion/July-2025 >/dev/null
eq "August builds leave BuildCompletion/July-2025's revision alone" "$jc" "$(json 'd["revision"]')"
eq "and its values" "completedCount=8 incompleteCount=2 totalCount=10" "$(props)"
get BuildLifeCycleSLA/July-2025 >/dev/null
eq "and BuildLifeCycleSLA/July-2025's revision" "$js" "$(json 'd["revision"]')"
eq "BuildCompletion/August-2025 exists" 200 "$(get BuildCompletion/August-2025)"
eq "August: 4 of 4 completed" "completedCount=4 incompleteCount=0 totalCount=4" "$(props)"
get BuildLifeCycleSLA/August-2025 >/dev/null
eq "August: metSLA=75" "metSLA=75" "$(props)"

# Re-sending evidence (the same --id) changes nothing anywhere.
ev0=$(rows); cr0=$(revs)
started b3 2025-07-03T09:00:00Z
completed b1 2025-07-01T09:30:00Z 420s
completed b22 2025-08-02T12:05:00Z 200s
started b10 2025-07-10T09:00:00Z
eq "re-sends exit 0" 0 "$emit_fail"
eq "re-sends store no evidence" "$ev0" "$(rows)"
eq "re-sends write no claim revision" "$cr0" "$(revs)"

# A July build that completes late (posted last, with a July event time)
# revises July; as_of a moment before answers what was believed then.
get BuildCompletion/July-2025 >/dev/null; prev=$(json 'd["recorded_at"]'); e1=$(etag)
before=$(date -u +%FT%T.%6NZ)
sleep 0.01
completed b9 2025-07-31T23:00:00Z 300s
get BuildCompletion/July-2025 >/dev/null
eq "the late completion revises July" "completedCount=9 incompleteCount=1 totalCount=10" "$(props)"
eq "with the next revision" "$((jc + 1))" "$(json 'd["revision"]')"
eq "after the change: 200 with a new ETag" "200 yes" \
    "$(get BuildCompletion/July-2025 -H "If-None-Match: $e1") $([ -n "$e1" ] && [ -n "$(etag)" ] && [ "$(etag)" != "$e1" ] && echo yes)"
get BuildLifeCycleSLA/July-2025 >/dev/null
eq "metSLA changes to 2 of 9" "22.22" "$(json 'd["properties"]["metSLA"]')"
check "... sent rounded to two decimals (not 22.222222222222221)" grep -q '"metSLA":22.22}' "$T/resp"
get "BuildCompletion/July-2025?as_of=$prev" >/dev/null
eq "as_of the previous revision's recorded_at: the old values" \
    "completedCount=8 incompleteCount=2 totalCount=10" "$(props)"
get "BuildLifeCycleSLA/July-2025?as_of=$before" >/dev/null
eq "as_of just before the post: metSLA=12.5" "metSLA=12.5" "$(props)"
"$MILEPOST" claim BuildCompletion July-2025 --as-of "$before" > "$T/resp"
eq "milepost claim --as-of: the old values" "completedCount=8 incompleteCount=2 totalCount=10" "$(props)"
"$MILEPOST" claim BuildLifeCycleSLA July-2025 --as-of "$before" > "$T/resp"
eq "milepost claim --as-of: metSLA=12.5" "metSLA=12.5" "$(props)"
"$MILEPOST" claims BuildCompletion --as-of "$before" > "$T/resp"
eq "milepost claims --as-of: July as it was" "8" \
    "$(json '[c["properties"]["completedCount"] for c in d["claims"] if c["id"] == "July-2025"][0]')"
get "BuildCompletion/July-2025?as_of=2025-01-01T00:00:00Z" >/dev/null
check "as_of before any revision: 404" grep -q '"no such claim at that time"' "$T/resp"
get BuildCompletion/August-2025 >/dev/null
eq "late July evidence leaves August alone" "completedCount=4 incompleteCount=0 totalCount=4" "$(props)"

# A revision before its creation is held, then applied, never dropped.
completed b11 2025-07-15T10:00:00Z 450s
eq "a completion before its start: no BuildLifecycle/b11 yet" 404 "$(get BuildLifecycle/b11)"
"$MILEPOST" claim BuildLifecycle b11 > /dev/null 2>&1
eq "milepost claim says not found (exit 1)" 1 "$?"
eq "the revision is held" 1 "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM claim_pending WHERE subject = 'b11'")"
started b11 2025-07-15T09:50:00Z
eq "after the start: BuildLifecycle/b11 exists, completed" "200 completed=True duration=450" \
    "$(get BuildLifecycle/b11) $(props)"
eq "at revision 2, caused by the held completion" "2 done-b11" "$(json 'd["revision"]') $(json 'd["basis"][0]["id"]')"
eq "nothing is held any more" 0 "$(sqlite3 "$T/ledger.db" 'SELECT count(*) FROM claim_pending')"
get BuildCompletion/July-2025 >/dev/null
eq "July counts b11, completed" "completedCount=10 incompleteCount=1 totalCount=11" "$(props)"
get BuildLifeCycleSLA/July-2025 >/dev/null
eq "July's SLA counts its duration: 3 of 10" "metSLA=30" "$(props)"
eq "every emit was delivered" "0 0" "$emit_fail $(ls "$T/spool" 2>/dev/null | wc -l)"

# claims rebuild beside the running daemon: read-only, it changes nothing
# and blocks nobody.
cr0=$(revs)
tables0=$(sqlite3 "$T/ledger.db" 'SELECT group_concat(name) FROM sqlite_master')
rebuild -c "$CONF"
eq "claims rebuild -c beside the daemon: exit 0" 0 "$rb"
check "and says equal" grep -q "^claims rebuilt from $(rows) evidence: .* revisions, equal to what is stored$" "$T/rb"
check "it prints the rate on stderr" grep -q "rows/s" "$T/rb.err"
eq "the rebuild wrote nothing" "$cr0 $tables0" \
    "$(revs) $(sqlite3 "$T/ledger.db" 'SELECT group_concat(name) FROM sqlite_master')"
( for i in 1 2 3 4 5; do rebuild -c "$CONF"; [ "$rb" = 0 ] || echo "rebuild $rb" >> "$T/during"; done ) &
rbpid=$!
for i in $(seq 20); do
	"$MILEPOST" emit BuildStartedEvent --subject "r$i" --id "start-r$i" \
	    --time 2025-07-20T00:00:00Z buildId="r$i" || echo "emit $i" >> "$T/during"
done
wait $rbpid
check "rebuilds and posts run side by side" test ! -e "$T/during"
eq "the posts were all stored" 20 "$(rows "subject LIKE 'r%'")"
rebuild -c "$CONF"
eq "and the rebuild still says equal" 0 "$rb"
rebuild --ledger "sqlite:$T/ledger.db"
eq "--ledger rebuilds with the built-in types: this file redeclares BuildLifecycle, so it differs, and says why" "1 1" \
    "$rb $(grep -c '^claims differ: stored but not rebuilt: BuildLifecycle/b1 revision 2 (rebuilt with the built-in types: give -c FILE' "$T/rb")"
check "... and names the computed claims it could not check, instead of calling them a difference" grep -q "^not checked: B1xCompleted (2 claims), BuildCompletion (3 claims), BuildLifeCycleSLA (2 claims): not declared in the built-in types; give -c FILE$" "$T/rb"

# A burst of posts, then kill -9 mid-stream: claims and ledger agree.
burst() {	# burst NAME FIRST COUNT: one signed batch of BuildStartedEvents
	local i body="" sep=""
	for i in $(seq "$2" $(($2 + $3 - 1))); do
		body="$body$sep{\"id\":\"s$i\",\"type\":\"BuildStartedEvent\",\"subject\":\"s$i\",\"time\":\"2025-09-$(printf %02d $((i % 28 + 1)))T08:00:00Z\",\"properties\":{\"buildId\":\"s$i\"}}"
		sep=,
	done
	post "$1" "{\"evidence\":[$body]}" > "$T/burst.$1"
}
bpids=()
for k in 0 1 2 3; do burst "k$k" $((k * 300 + 1)) 300 & bpids+=($!); done
wait "${bpids[@]}"
eq "a burst of 1200 builds in four batches" "202 202 202 202" "$(cut -d' ' -f1 "$T"/burst.k* | tr '\n' ' ' | sed 's/ $//')"
bpids=()
for k in 4 5 6 7; do burst "k$k" $((k * 300 + 1)) 300 & bpids+=($!); done
for i in $(seq 100); do	# kill as soon as one more batch is acknowledged
	grep -qs '^202' "$T"/burst.k[4-7] && break
	sleep 0.02
done
kill -9 "$DPID"; wait "$DPID" 2>/dev/null; DPID=
wait "${bpids[@]}"
start_daemon
check "the daemon restarts after kill -9" curl -sf -o /dev/null "$URL/healthz"
rebuild -c "$CONF"
eq "after kill -9, rebuild says equal" 0 "$rb"
"$MILEPOST" ledger verify -c "$CONF" > /dev/null
eq "the ledger verifies" 0 "$?"
n=$(sqlite3 "$T/ledger.db" "SELECT count(DISTINCT id) FROM claim_revisions WHERE type = 'BuildLifecycle'")
"$MILEPOST" claims BuildLifecycle > "$T/resp"; rc=$?
eq "milepost claims follows next over every page ($n claims)" "0 $n null" \
    "$rc $(json 'len(d["claims"])') $(json 'd["next"] is None and "null"')"
eq "in id order, each once" "True" "$(json '[c["id"] for c in d["claims"]] == sorted(set(c["id"] for c in d["claims"])) and len(d["claims"]) > 1000')"
n=$(rows "type = 'BuildStartedEvent' AND subject LIKE 's%'")
get "BuildCompletion/September-2025" >/dev/null
eq "September counts the surviving builds ($n), at most the collector's 1000" \
    "$((n < 1000 ? n : 1000))" "$(json 'd["properties"]["totalCount"]')"

# The restarted daemon, caches cold, goes on revising; then rebuild after it stops.
completed s1 2025-09-02T08:10:00Z 60s
completed b10 2025-07-10T09:40:00Z 2h
get BuildCompletion/July-2025 >/dev/null
eq "July goes on after the restart" "completedCount=11 incompleteCount=20 totalCount=31" "$(props)"
get B1xCompleted/July-2025 >/dev/null
eq "a filtering collector, loaded after the restart, finds b1, b10 and b11" "n=3" "$(props)"
stop_daemon TERM
eq "the daemon exits 0 on SIGTERM" 0 "$?"
rebuild -c "$CONF"
eq "claims rebuild -c with the daemon stopped: exit 0, equal" "0 1" "$rb $(grep -c 'equal to what is stored' "$T/rb")"
"$MILEPOST" claim BuildCompletion July-2025 > /dev/null 2>&1
eq "milepost claim with the receiver stopped: exit 3" 3 "$?"

# Tamper with a stored claim: rebuild names it.
last="type = 'BuildCompletion' AND id = 'July-2025' AND revision = (SELECT max(revision) FROM claim_revisions WHERE type = 'BuildCompletion' AND id = 'July-2025')"
orig=$(sqlite3 "$T/ledger.db" "SELECT properties FROM claim_revisions WHERE $last")
sqlite3 "$T/ledger.db" "UPDATE claim_revisions SET properties = '{\"totalCount\":99}' WHERE $last"
rebuild -c "$CONF"
eq "a tampered claim: rebuild exits 1" 1 "$rb"
check "and names BuildCompletion/July-2025" grep -q "^claims differ: .*BuildCompletion/July-2025 revision" "$T/rb"
sqlite3 "$T/ledger.db" "UPDATE claim_revisions SET properties = '$orig' WHERE $last"
rebuild -c "$CONF"
eq "put back as it was: equal again" 0 "$rb"
sqlite3 "$T/ledger.db" "INSERT INTO claim_pending VALUES ('BuildLifecycle', 'ghost', 1)"
rebuild -c "$CONF"
eq "a forged held revision: rebuild exits 1" "1 1" "$rb $(grep -c 'held revision differs: BuildLifecycle/ghost' "$T/rb")"

# Storage and usage errors are exit 2.
rebuild --ledger "sqlite:$T/missing.db"
eq "rebuild of a missing ledger: exit 2" 2 "$rb"
rebuild
eq "rebuild without a ledger: usage, exit 2" 2 "$rb"
rebuild -c "$T/nonexistent.yaml"
eq "rebuild with a missing configuration: exit 2" 2 "$rb"
finish
