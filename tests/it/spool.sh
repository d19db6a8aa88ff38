#!/usr/bin/env bash
# Delivery when the receiver is down or failing: run and emit spool, run
# keeps CMD's status without hanging, flush delivers in order with the
# original event times, redeliveries are duplicates, a 503 spools, and a
# refused item moves to rejected/.
. "$(dirname "$0")/lib.sh"
plan 54

unset GITHUB_RUN_ATTEMPT MILEPOST_TIMEOUT
export GIT_CEILING_DIRECTORIES="$T"
mkdir "$T/work" "$T/aside"
cd "$T/work"

spooled() {	# spooled [DIR]: evidence files waiting in the spool
	find "${1:-$MILEPOST_SPOOL}" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null |
	    wc -l
}
ev() {		# ev SQL-EXPR WHERE: values from the matching evidence rows
	sqlite3 "$T/ledger.db" "SELECT $1 FROM evidence WHERE $2 ORDER BY seq;"
}
metric() {	# metric NAME: its value in GET /metrics
	curl -s "$URL/metrics" | sed -n "s/^$1 //p"
}

# Fix the port and the configuration, then take the receiver down.
start_daemon
port=$PORT
stop_daemon
eq "SIGTERM: the first daemon exits 0" 0 "$?"
r=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
eq "the receiver is down" 000 "$r"

t0=$(date +%s%N)
"$MILEPOST" run --id down-1 -- sh -c 'exit 3' 2>"$T/err"; rc=$?
t1=$(date +%s%N)
eq "run with the receiver down exits with CMD's status" 3 "$rc"
ms=$(( (t1 - t0) / 1000000 ))
check "run with the receiver down does not hang (${ms} ms < 5 s)" test "$ms" -lt 5000
eq "run spools both evidence" 2 "$(spooled)"
check "run says where the evidence is spooled" grep -q "spooled in $MILEPOST_SPOOL" "$T/err"
"$MILEPOST" emit BuildStartedEvent --subject s2 buildId=s2 2>/dev/null; rc=$?
eq "emit with the receiver down exits 0" 0 "$rc"
eq "emit spools a third evidence" 3 "$(spooled)"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush with the receiver down exits 1" 1 "$rc"
eq "flush with the receiver down keeps all 3" 3 "$(spooled)"
eq "spooled files are not readable by others (all 3 private)" 3 \
    "$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '[0-9]*.json' ! -perm /077 | wc -l)"
# Kept for the redelivery below.
cp "$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '[0-9]*.json' | sort | head -1)" "$T/aside/"

# The receiver is back: flush delivers everything, with its event times.
up=$(( $(date +%s%N) / 1000 ))
start_daemon
eq "the receiver is back on the same port" "$port 200" \
    "$PORT $(curl -s -o /dev/null -w '%{http_code}' "$MILEPOST_URL/healthz")"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush with the receiver up exits 0" 0 "$rc"
eq "flush empties the spool" 0 "$(spooled)"
eq "the ledger holds exactly the 3 spooled evidence" 3 "$(rows)"
eq "in the order they happened" "BuildStartedEvent down-1|BuildCompleted down-1|BuildStartedEvent s2" \
    "$(ev "type || ' ' || subject" 1 | paste -sd'|')"
eq "BuildCompleted from the spool says failure, exit code 3" "failure|3" \
    "$(ev "json_extract(properties,'\$.buildStatus'), json_extract(properties,'\$.exitCode')" \
    "type='BuildCompleted'")"
eq "BuildStartedEvent from the spool has buildId down-1" down-1 \
    "$(ev "json_extract(properties,'\$.buildId')" "subject='down-1' AND type='BuildStartedEvent'")"
eq "spooled evidence keeps the time it happened, before the receiver came back" 3 \
    "$(ev "count(*)" "time < $up AND recorded_at >= $up")"

# A redelivery of a file already delivered is a duplicate.
dups=$(metric milepost_evidence_duplicates_total)
cp "$T/aside/"*.json "$MILEPOST_SPOOL/"
eq "the copy is back in the spool" 1 "$(spooled)"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush of a redelivery exits 0" 0 "$rc"
eq "a redelivery writes nothing" 3 "$(rows)"
eq "the receiver counts the redelivery as a duplicate" $((dups + 1)) \
    "$(metric milepost_evidence_duplicates_total)"
eq "the redelivered file leaves the spool" 0 "$(spooled)"

# A 503 spools too: hold the ledger's write lock for longer than the
# daemon's busy timeout (5 s), until the test creates $T/unlock.
rm -f "$T/locked" "$T/unlock"
( sqlite3 -bail "$T/ledger.db" <<SQL
.timeout 5000
BEGIN EXCLUSIVE;
SELECT count(*) FROM evidence;
.shell touch "$T/locked"
.shell for i in \$(seq 400); do [ -e "$T/unlock" ] && break; sleep 0.05; done
COMMIT;
SQL
) >/dev/null 2>&1 &
lockpid=$!
for i in $(seq 200); do [ -e "$T/locked" ] && break; sleep 0.05; done
check "the ledger is locked" test -e "$T/locked"
t0=$(date +%s%N)
MILEPOST_TIMEOUT=10 "$MILEPOST" emit BuildStartedEvent --subject s5 --id e-503 buildId=s5 2>"$T/err"; rc=$?
t1=$(date +%s%N)
touch "$T/unlock"
wait "$lockpid"
eq "emit answered 503 exits 0" 0 "$rc"
check "emit says the receiver answered 503" grep -q 'HTTP 503' "$T/err"
eq "the 503 spooled the evidence" 1 "$(spooled)"
eq "a 503 writes nothing" 3 "$(rows)"
echo "# the 503 case took $(( (t1 - t0) / 1000000 )) ms"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush after the lock is gone exits 0" 0 "$rc"
eq "the evidence spooled on a 503 is delivered once" "4 1" "$(rows) $(rows "id='e-503'")"

# A spooled evidence the receiver refuses moves to rejected/.
stop_daemon
eq "SIGTERM: the second daemon exits 0" 0 "$?"
"$MILEPOST" emit NoSuchType --subject r1 --id e-bad 2>/dev/null; rc=$?
eq "emit of an unknown type with the receiver down exits 0 (spooled)" 0 "$rc"
eq "the unknown type is spooled" 1 "$(spooled)"
start_daemon
"$MILEPOST" flush 2>"$T/err"; rc=$?
eq "flush exits 0 when the only item left is refused" 0 "$rc"
eq "the refused item leaves the spool" 0 "$(spooled)"
eq "the refused item is in rejected/" 1 "$(spooled "$MILEPOST_SPOOL/rejected")"
check "rejected/ explains why, with the receiver's status" \
    grep -q 'HTTP 422' "$(find "$MILEPOST_SPOOL/rejected" -name '*.json.error')"
check "flush reports the refusal on stderr" grep -q 'rejected/' "$T/err"
eq "a refused item writes nothing" 4 "$(rows)"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "rejected/ is not flushed again" "0 1" "$rc $(spooled "$MILEPOST_SPOOL/rejected")"

# README: two concurrent flushes never send the same file.  30 evidence
# spooled (the URL refuses connections), two flushes at once: each
# evidence is stored once and the receiver saw no duplicate delivery.
for i in $(seq 30); do
	MILEPOST_URL=http://127.0.0.1:1 "$MILEPOST" emit BuildStartedEvent --subject "cf$i" buildId="cf$i" 2>/dev/null
done
eq "30 evidence spooled for the concurrent flushes" 30 "$(spooled)"
n=$(rows); dup0=$(metric milepost_evidence_duplicates_total)
"$MILEPOST" flush 2>"$T/f1.err" & f1=$!
"$MILEPOST" flush 2>"$T/f2.err" & f2=$!
wait "$f1"; r1=$?; wait "$f2"; r2=$?
eq "both flushes exit 0 and the spool is empty" "0 0 0" "$r1 $r2 $(spooled)"
eq "each of the 30 is stored once" "$((n + 30)) 30" "$(rows) $(rows "subject LIKE 'cf%'")"
eq "no file was sent twice (duplicates metric unchanged)" "${dup0:-x}" "$(metric milepost_evidence_duplicates_total)"

stop_daemon
eq "SIGTERM: the last daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"

# emit's exit statuses (README): a 401, 403 or 404 means the secret or URL
# is wrong, so emit exits 2 and spools nothing; a 429 or 5xx spools and
# exits 0.  The receiver is tests/it/sink.py, answering each status once.
mkdir -p "$T/fake"
python3 "$top_srcdir/tests/it/sink.py" "$T/fake" > "$T/fake/out" 2>&1 &
fakepid=$!
for i in $(seq 600); do [ -s "$T/fake/port" ] && break; sleep 0.05; done
fake="http://127.0.0.1:$(cat "$T/fake/port")"
rm -f "$MILEPOST_SPOOL"/[0-9]*.json
for st in 401 403 404 429 500 503; do
	echo "$st" > "$T/fake/plan"
	before=$(spooled)
	MILEPOST_URL=$fake "$MILEPOST" emit BuildStartedEvent --subject "x$st" buildId="x$st" 2>/dev/null; rc=$?
	case $st in
	4[0-9][0-9]) [ "$st" = 429 ] && want="0 1" || want="2 0" ;;
	*) want="0 1" ;;
	esac
	eq "emit answered $st: exit and spooled files ($want)" "$want" "$rc $(( $(spooled) - before ))"
done
eq "the fake receiver got the six requests" 6 "$(wc -l < "$T/fake/log")"
kill "$fakepid" 2>/dev/null; wait "$fakepid" 2>/dev/null
finish
