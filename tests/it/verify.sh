#!/usr/bin/env bash
# milepost ledger verify: intact, then every kind of tampering with sqlite3
# names the first bad sequence number; the daemon refuses a tampered tip.
. "$(dirname "$0")/lib.sh"
plan 20

start_daemon
for i in 1 2 3 4 5 6; do
	post "v$i" "{\"type\":\"BuildStartedEvent\",\"subject\":\"b$i\",\"properties\":{\"buildId\":\"b$i\"}}" >/dev/null
done
eq "six entries stored" 6 "$(rows)"
out=$("$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"); rc=$?
eq "an intact ledger verifies (exit 0)" 0 "$rc"
check "verify says how many entries it checked" grep -q "6 entries" <<<"$out"
out=$("$MILEPOST" ledger verify -c "$T/milepost.yaml"); rc=$?
eq "verify takes -c FILE for the configured ledger" 0 "$rc"
check "the daemon exits 0 on SIGTERM" stop_daemon

db="$T/ledger.db"
cp "$db" "$T/pristine.db"
check "the ledger refuses UPDATE by itself" \
    refused "$db" "UPDATE evidence SET subject='x' WHERE seq=2;" "the ledger is append-only"
check "the ledger refuses DELETE by itself" \
    refused "$db" 'DELETE FROM evidence WHERE seq=2;' "the ledger is append-only"
eq "and nothing changed" 6 "$(sqlite3 "$db" "SELECT count(*) FROM evidence WHERE subject != 'x'")"

# An edited row: its hash no longer matches.
sqlite3 "$db" "DROP TRIGGER evidence_no_update; UPDATE evidence SET properties='{\"buildId\":\"forged\"}' WHERE seq=4;"
out=$("$MILEPOST" ledger verify --ledger "sqlite:$db" 2>&1); rc=$?
eq "an edited row fails verify (exit 1)" 1 "$rc"
check "verify names sequence 4 for the edited row" grep -q "sequence 4" <<<"$out"

# A deleted row in the middle.
cp "$T/pristine.db" "$db"; rm -f "$db-wal" "$db-shm"
sqlite3 "$db" "DROP TRIGGER evidence_no_delete; DELETE FROM evidence WHERE seq=3;"
out=$("$MILEPOST" ledger verify --ledger "sqlite:$db" 2>&1); rc=$?
eq "a deleted row fails verify" 1 "$rc"
check "verify names sequence 3 for the deleted row" grep -q "sequence 3" <<<"$out"

# An edit that recomputes nothing but the time column.
cp "$T/pristine.db" "$db"
sqlite3 "$db" "DROP TRIGGER evidence_no_update; UPDATE evidence SET time = time - 3600000000 WHERE seq=2;"
out=$("$MILEPOST" ledger verify --ledger "sqlite:$db" 2>&1); rc=$?
eq "a backdated event time fails verify" 1 "$rc"
check "verify names sequence 2 for the backdated row" grep -q "sequence 2" <<<"$out"

# The last row removed: the recorded tip catches it.
cp "$T/pristine.db" "$db"
sqlite3 "$db" "DROP TRIGGER evidence_no_delete; DELETE FROM evidence WHERE seq=6;"
out=$("$MILEPOST" ledger verify --ledger "sqlite:$db" 2>&1); rc=$?
eq "a removed last row fails verify" 1 "$rc"
check "verify names sequence 6 for the removed last row" grep -q "sequence 6" <<<"$out"
"$MILEPOSTD" -c "$T/milepost.yaml" 2>"$T/refuse.log" & p=$!
for i in $(seq 100); do kill -0 $p 2>/dev/null || break; sleep 0.05; done
if kill -0 $p 2>/dev/null; then kill -9 $p; not_ok "milepostd refuses to append to a ledger whose tip is gone"
else ok "milepostd refuses to append to a ledger whose tip is gone"; fi
check "and says to run ledger verify" grep -q "ledger verify" "$T/refuse.log"

# Storage problems are exit 2, not a verdict.
out=$("$MILEPOST" ledger verify --ledger "sqlite:$T/missing.db" 2>&1); rc=$?
eq "a missing ledger is exit 2" 2 "$rc"
out=$("$MILEPOST" ledger verify 2>&1); rc=$?
eq "verify with no ledger named is a usage error" 2 "$rc"
finish
