#!/usr/bin/env bash
# The PostgreSQL backend's own behaviour, on a private real PostgreSQL
# (tests/harness/pg; this script stops and starts it): configuration errors
# at start (unreachable database, wrong password: one line, exit 1, no
# password printed), the versioned schema and `milepost ledger migrate`,
# the append-only triggers and tampering found by `ledger verify` (what
# verify.sh does to the SQLite file with sqlite3, done here with psql),
# the writer blocked past a lock (replies.sh's BEGIN EXCLUSIVE: 503 with
# Retry-After, nothing written), and the database lost while running:
# 503 with Retry-After, nothing acknowledged lost, service resumes.
. "$(dirname "$0")/lib.sh"
plan 32
pg_need own
PW=$(sed -n 's,^postgresql://milepost:\([^@]*\)@.*,\1,p' <<<"$PG_BASE")
HOSTPORT=${PG_BASE#*@}
q() { psql "$LEDGER_URL" -qAt -v ON_ERROR_STOP=1 -c "$1" 2>&1; }

# start_fail URL: milepostd on URL must exit 1 with one line on stderr.
start_fail() {
	write_config
	sed -i "s|^ledger: .*|ledger: \"$1\"|" "$T/milepost.yaml"
	chmod 600 "$T/milepost.yaml"	# holds secrets: no warning line
	rc=0
	timeout 60 "$MILEPOSTD" -c "$T/milepost.yaml" 2> "$T/err" || rc=$?
}
free=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_fail "postgresql://milepost:$PW@127.0.0.1:$free/$PGDB"
eq "an unreachable database: exit 1" 1 "$rc"
eq "... with one line" 1 "$(wc -l < "$T/err")"
check "... that says the server cannot be reached" grep -q "Connection refused" "$T/err"
check "... and never prints the password" no_grep -F "$PW" "$T/err"
start_fail "postgresql://milepost:wrong-$PW@$HOSTPORT/$PGDB"
eq "a wrong password: exit 1" 1 "$rc"
eq "... with one line" 1 "$(wc -l < "$T/err")"
check "... that says the password was refused" grep -q "password authentication failed" "$T/err"
check "... and never prints either password" no_grep -e "$PW" "$T/err"

# The schema: migrated by `ledger migrate` (and at start), versioned.
out=$("$MILEPOST" ledger migrate --ledger "$LEDGER_URL"); rc=$?
eq "ledger migrate on an empty database: exit 0" 0 "$rc"
check "... says the version" grep -q "version 2" <<<"$out"
eq "the schema version is recorded" 2 "$(q 'SELECT version FROM milepost_schema')"
out=$("$MILEPOST" ledger migrate --ledger "$LEDGER_URL"); rc=$?
eq "ledger migrate again changes nothing: exit 0" "0 2" "$rc $(q 'SELECT version FROM milepost_schema')"

write_config
start_daemon
for i in 1 2 3 4 5 6; do
	post "v$i" "{\"type\":\"BuildStartedEvent\",\"subject\":\"b$i\",\"properties\":{\"buildId\":\"b$i\"}}" >/dev/null
done
eq "six entries stored" 6 "$(q 'SELECT count(*) FROM evidence')"

# The writer blocked by a lock on the chain head past its lock_timeout
# (5 s, as SQLite's busy timeout): the batch fails, 503, nothing written.
( psql "$LEDGER_URL" -qAt -c "BEGIN; LOCK TABLE ledger_head IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT;" > /dev/null 2>&1 ) &
LOCKER=$!
for i in $(seq 200); do
	[ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'ledger_head' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && break
	sleep 0.05
done
r=$(post blocked '{"type":"BuildStartedEvent","subject":"b9","properties":{"buildId":"b9"}}' -D "$T/h" --max-time 30)
eq "the writer locked out past its lock_timeout: 503" 503 "${r%% *}"
check "... with Retry-After" grep -qi "^Retry-After: " "$T/h"
wait $LOCKER
eq "... and nothing is written" 6 "$(q 'SELECT count(*) FROM evidence')"
r=$(post blocked '{"type":"BuildStartedEvent","subject":"b9","properties":{"buildId":"b9"}}')
eq "the retry, once the lock is gone: 202" 202 "${r%% *}"

# The database lost while running.
"$top_srcdir/tests/harness/pg" kill "$PG_OWN"
r=$(curl -s -D "$T/h" -o "$T/resp" -w '%{http_code}' -H "webhook-id: lost1" \
    -H "webhook-timestamp: $(date +%s)" \
    -H "webhook-signature: v1,$(sign lost1 "$(date +%s)" '{"type":"BuildStartedEvent","subject":"l1","properties":{"buildId":"l1"}}')" \
    -H 'Content-Type: application/json' \
    --data-binary '{"type":"BuildStartedEvent","subject":"l1","properties":{"buildId":"l1"}}' "$URL/v1/evidence")
eq "the database lost while running: 503" 503 "$r"
check "... with Retry-After" grep -qi "^Retry-After: " "$T/h"
check "the daemon keeps running" kill -0 "$DPID"
"$top_srcdir/tests/harness/pg" restart "$PG_OWN"
resumed() {
	local i r
	for i in $(seq 60); do
		r=$(post "back" '{"type":"BuildStartedEvent","subject":"l2","properties":{"buildId":"l2"}}')
		[ "${r%% *}" = 202 ] && return 0
		sleep 0.5
	done
	return 1
}
check "service resumes when the database returns (202)" resumed
eq "nothing acknowledged is lost: 8 entries" 8 "$(q "SELECT count(*) FROM evidence")"
eq "the 503's evidence was not stored" 0 "$(q "SELECT count(*) FROM evidence WHERE id = 'lost1'")"
check "the daemon exits 0 on SIGTERM" stop_daemon
check "an intact ledger verifies" "$MILEPOST" ledger verify --ledger "$LEDGER_URL"

# Append-only by itself, and tampering found by the chain.
check "the ledger refuses UPDATE by itself" grep -q "the ledger is append-only" <<<"$(q "UPDATE evidence SET subject = 'x' WHERE seq = 2")"
check "the ledger refuses DELETE by itself" grep -q "the ledger is append-only" <<<"$(q "DELETE FROM evidence WHERE seq = 2")"
check "the ledger refuses TRUNCATE by itself" grep -q "the ledger is append-only" <<<"$(q "TRUNCATE evidence")"
eq "and nothing changed" 8 "$(q "SELECT count(*) FROM evidence WHERE subject <> 'x'")"
q "ALTER TABLE evidence DISABLE TRIGGER evidence_append_only; UPDATE evidence SET properties = '{\"buildId\":\"forged\"}' WHERE seq = 4" > /dev/null
out=$("$MILEPOST" ledger verify --ledger "$LEDGER_URL" 2>&1); rc=$?
eq "an edited row fails verify (exit 1)" 1 "$rc"
check "verify names sequence 4 for the edited row" grep -q "sequence 4" <<<"$out"
q "DELETE FROM evidence WHERE seq = 8" > /dev/null
out=$(timeout 60 "$MILEPOSTD" -c "$T/milepost.yaml" 2>&1); rc=$?
eq "the daemon refuses a ledger whose last entry is gone (exit 1)" 1 "$rc"
finish
