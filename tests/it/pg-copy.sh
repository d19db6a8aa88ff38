#!/usr/bin/env bash
# milepost ledger copy --from sqlite:… --to postgresql://…: an existing
# SQLite ledger (evidence, claims, a raw payload, the change feed) moved to
# a real PostgreSQL (tests/harness/pg): verified before and after, claims
# compared and rebuilt; the copy serves, and continues the chain; a
# non-empty destination and a tampered source are refused.
. "$(dirname "$0")/lib.sh"
plan 20
pg_need
SRC="sqlite:$T/src.db"
BEARER="cde-$(head -c 8 /dev/urandom | xxd -p)"
write_config "sources:
  cdevents:
    bearer: [\"$BEARER\"]"
sed -i "s|^ledger: .*|ledger: \"$SRC\"|" "$T/milepost.yaml"
start_daemon
for i in 1 2 3 4; do
	post "c$i" "{\"type\":\"BuildStartedEvent\",\"subject\":\"b$i\",\"properties\":{\"buildId\":\"b$i\"}}" > /dev/null
	post "d$i" "{\"type\":\"BuildCompleted\",\"subject\":\"b$i\",\"properties\":{\"buildStatus\":\"success\",\"duration\":\"${i}0s\"}}" > /dev/null
done
FIX="$top_srcdir/tests/fixtures/cdevents/build.started-v0.5.json"
r=$(curl -s -o /dev/null -w '%{http_code}' -H "Content-Type: application/json" \
    -H "Authorization: Bearer $BEARER" --data-binary @"$FIX" "$URL/hooks/cdevents")
eq "a CDEvent is stored (its raw payload kept)" 202 "$r"
check "the daemon on SQLite exits 0" stop_daemon
n=$(command sqlite3 "$T/src.db" "SELECT count(*) FROM evidence")
eq "the SQLite ledger holds the 9 evidence" 9 "$n"
nc=$(command sqlite3 "$T/src.db" "SELECT count(*) FROM claim_revisions")
check "... and claims ($nc revisions)" test "$nc" -gt 0
DLV=$(command sqlite3 "$T/src.db" "SELECT delivery FROM raw_payloads LIMIT 1")

out=$("$MILEPOST" ledger copy --from "$SRC" --to "$LEDGER_URL" -c "$T/milepost.yaml" 2>&1); rc=$?
eq "ledger copy: exit 0" 0 "$rc"
check "... verified the source first" grep -q "^source verified: $n entries" <<<"$out"
check "... copied evidence, raw payloads, claims and the feed" grep -q "^copied $n evidence, 1 raw payloads, $nc claim revisions" <<<"$out"
check "... verified the destination" grep -q "^destination verified: $n entries" <<<"$out"
check "... compared the claims with the source's" grep -q "^claims equal to the source's: $nc revisions" <<<"$out"
check "... and rebuilt them there, equal" grep -q "^claims rebuilt from $n evidence: equal" <<<"$out"
q() { psql "$LEDGER_URL" -qAt -F'|' -c "$1"; }
same "the same tip (sequence and hash)" "$(command sqlite3 "$T/src.db" "SELECT seq || '|' || hash FROM ledger_head")" \
    "$(q "SELECT seq || '|' || hash FROM ledger_head")"
same "the same evidence, field by field" "$(command sqlite3 "$T/src.db" "SELECT group_concat(seq || id || source || type || subject || time || recorded_at || properties || links || hash, ';') FROM (SELECT * FROM evidence ORDER BY seq)" | sha256sum)" \
    "$(q "SELECT string_agg(seq || id || source || type || subject || time || recorded_at || properties || links || hash, ';' ORDER BY seq) FROM evidence" | sha256sum)"
same "the same change feed" "$(command sqlite3 "$T/src.db" "SELECT group_concat(type || id || revision || patch, ';') FROM (SELECT * FROM changes ORDER BY cursor)")" \
    "$(q "SELECT string_agg(type || id || revision || patch, ';' ORDER BY cursor) FROM changes")"
"$MILEPOST" ledger raw cdevents "$DLV" --ledger "$LEDGER_URL" > "$T/raw" 2>/dev/null
check "ledger raw on the copy gives the payload byte for byte" cmp -s "$FIX" "$T/raw"

out=$("$MILEPOST" ledger copy --from "$SRC" --to "$LEDGER_URL" 2>&1); rc=$?
eq "a destination that is not empty: exit 2" 2 "$rc"
check "... saying so" grep -q "not an empty ledger" <<<"$out"

# The copy serves, and its chain continues.
sed -i "s|^ledger: .*|ledger: \"$LEDGER_URL\"|" "$T/milepost.yaml"
start_daemon
r=$(post after '{"type":"BuildStartedEvent","subject":"b9","properties":{"buildId":"b9"}}')
eq "milepostd on the copy stores new evidence" 202 "${r%% *}"
check "the daemon on the copy exits 0" stop_daemon
check "the continued chain verifies" "$MILEPOST" ledger verify --ledger "$LEDGER_URL"

command sqlite3 "$T/src.db" "DROP TRIGGER evidence_no_update; UPDATE evidence SET subject = 'forged' WHERE seq = 2"
out=$("$MILEPOST" ledger copy --from "$SRC" --to "$LEDGER_URL" 2>&1); rc=$?
eq "a tampered source is refused before anything is copied: exit 1" 1 "$rc"
finish
