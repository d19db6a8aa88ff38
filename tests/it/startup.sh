#!/usr/bin/env bash
# Start-up trusts nothing (issue 15, point 6): a one-byte edit of the tip
# makes start-up refuse, naming `milepost ledger verify`, and
# --verify-on-start finds an edit deeper in the chain; HMAC keys under 16
# bytes are refused at load with file:line; a malformed sink URL is
# dead-lettered at once with its reason, never retried; /healthz answers
# 503 while commits fail (writes beyond RLIMIT_FSIZE fail like a full
# disk) and 200 again once they succeed; /readyz tells readiness apart.
. "$(dirname "$0")/outbox-lib.sh"
plan 32

db="$T/ledger.db"
# refuses_start [ARGS...]: milepostd exits 1 at start-up (a generous
# deadline; a daemon that serves instead is killed and fails the check).
refuses_start() {
	local p i
	"$MILEPOSTD" -c "$T/milepost.yaml" "$@" 2>"$T/start.err" & p=$!
	for i in $(seq 600); do kill -0 $p 2>/dev/null || break; sleep 0.05; done
	if kill -0 $p 2>/dev/null; then kill -9 $p; wait $p; return 1; fi
	wait $p; [ $? -eq 1 ]
}

start_daemon
for i in 1 2 3; do "$MILEPOST" emit BuildStartedEvent --subject t-$i buildId=t-$i 2>/dev/null; done
eq "three evidence stored" 3 "$(rows)"
check "SIGTERM: exits 0" stop_daemon

# A one-byte edit of the tip (its hash column left as it was).
sqlite3 "$db" "DROP TRIGGER evidence_no_update; UPDATE evidence SET properties=replace(properties, 't-3', 't-4') WHERE seq=3;"
check "start-up refuses a ledger whose tip was edited by one byte" refuses_start
check "and names milepost ledger verify" grep -q "does not match its hash; refusing to append to a broken chain: run milepost ledger verify" "$T/start.err"
eq "nothing was appended" 3 "$(rows)"
"$MILEPOST" ledger verify --ledger "sqlite:$db" >/dev/null 2>&1; rc=$?
eq "ledger verify agrees (exit 1)" 1 "$rc"
sqlite3 "$db" "DROP TRIGGER IF EXISTS evidence_no_update; UPDATE evidence SET properties=replace(properties, 't-4', 't-3') WHERE seq=3;"
start_daemon
eq "restored, the daemon starts and serves" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"
check "SIGTERM: exits 0" stop_daemon

# An edit deeper in the chain: the tip is sound, so a plain start goes
# on; --verify-on-start walks the chain and refuses.
sqlite3 "$db" "DROP TRIGGER IF EXISTS evidence_no_update; UPDATE evidence SET properties=replace(properties, 't-2', 't-9') WHERE seq=2;"
check "--verify-on-start refuses a chain broken at entry 2" refuses_start --verify-on-start
check "naming the entry and milepost ledger verify" grep -q "the chain is broken at entry 2 (.*); refusing to append to it: run milepost ledger verify" "$T/start.err"
sqlite3 "$db" "DROP TRIGGER IF EXISTS evidence_no_update; UPDATE evidence SET properties=replace(properties, 't-9', 't-2') WHERE seq=2;"
start_daemon  # a sound chain passes the walk
stop_daemon
"$MILEPOSTD" -c "$T/milepost.yaml" --verify-on-start 2>"$T/start.err" & p=$!
ok=0; for i in $(seq 600); do curl -s -o /dev/null --max-time 2 "$URL/healthz" && { ok=1; break; }; sleep 0.05; done
kill $p; wait $p; rc=$?
eq "--verify-on-start on a sound chain serves, then exits 0" "1 0" "$ok $rc"

# HMAC keys under 16 bytes, refused at load with file:line.
weak() {	# weak DESC YAML KEY: milepostd -n exits 1 naming file:line: KEY
	printf '%s\n' "$2" > "$T/weak.yaml"
	"$MILEPOSTD" -n -c "$T/weak.yaml" 2>"$T/err"; rc=$?
	eq "$1" "1 1" "$rc $(grep -c "^milepostd: $T/weak.yaml:[0-9]*: $3: .*16" "$T/err")"
}
weak "a 1-byte agent_secret (whsec_AA==) is refused" 'agent_secret: "whsec_AA=="' agent_secret
weak "a 15-byte GitHub secret is refused" 'sources: { github: { secret: "fifteen-bytes!!" } }' sources.github.secret
weak "a 6-byte signing_secret is refused" 'sources: { argocd: { signing_secret: "whsec_c2VjcmV0" } }' sources.argocd.signing_secret
weak "a 6-byte sink secret is refused" 'sinks: { s: { kind: webhook, url: "http://127.0.0.1:1/", secret: "whsec_c2VjcmV0" } }' sinks.s.secret
printf 'sources: { github: { secret: "sixteen-bytes!!!" } }\n' > "$T/weak.yaml"
"$MILEPOSTD" -n -c "$T/weak.yaml" 2>/dev/null; rc=$?
eq "a 16-byte key is accepted" 0 "$rc"

# A malformed sink URL (port 70000: libcurl refuses it) is dead-lettered
# at the first attempt, with its reason, and never retried.
start_sink good; GOOD=$SINKPORT
S="whsec_$(head -c 32 /dev/urandom | base64)"
write_config "$STATUS_TYPES
sinks:
  bad: { kind: webhook, url: \"http://127.0.0.1:70000/{id}\", secret: \"$S\", retry_base: 0.2s, max_attempts: 8 }
  good: { kind: webhook, url: \"http://127.0.0.1:$GOOD/{id}\", secret: \"$S\" }
subscriptions:
  - { sink: bad, types: [Status] }
  - { sink: good, types: [Status] }"
rm -f "$db" "$db-wal" "$db-shm"
start_daemon
opened u1 planned 2>/dev/null
check "the push to the malformed URL is dead-lettered" wait_status bad Status u1 dead 10
eq "after one attempt, not max_attempts (8)" 1 \
    "$(sqlite3 "$db" "SELECT attempts FROM outbox WHERE sink='bad'")"
check "its reason names the URL and what is wrong" grep -q \
    "malformed sink URL http://127.0.0.1:70000/u1: Port number was not a decimal number between 0 and 65535" \
    <(sqlite3 "$db" "SELECT last_error FROM outbox WHERE sink='bad'")
check "the other sink gets its push" wait_received good 1
check "SIGTERM: exits 0" stop_daemon

# Commits that fail: a file-size limit of 4 KiB on the running daemon
# makes every WAL write fail (EFBIG, SQLITE_FULL: a full disk as SQLite
# sees it); SIGXFSZ is ignored, so that writes fail instead of killing.
printf '#!/bin/sh\ntrap "" XFSZ\nexec "%s" "$@"\n' "$top_builddir/milepostd" > "$T/wrap"
chmod +x "$T/wrap"
write_config
rm -f "$db" "$db-wal" "$db-shm"
MILEPOSTD="$T/wrap" start_daemon
eq "/healthz: 200 while commits succeed" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"
eq "/readyz: 200 ready" "200 True" "$(curl -s -w '%{http_code}' -o "$T/resp" "$URL/readyz") $(json 'd["ready"]')"
prlimit --pid "$DPID" --fsize=4096:unlimited
"$MILEPOST" emit BuildStartedEvent --subject f-1 buildId=f-1 2>/dev/null; rc=$?
eq "an emit while commits fail is spooled (503; exit 0)" "0 0" "$rc $(rows)"
r=$(curl -s -w '%{http_code}' -o "$T/resp" "$URL/healthz")
eq "/healthz: 503 while commits fail" 503 "$r"
check "saying so" grep -q '"status":"failing"' "$T/resp"
r=$(curl -s -w '%{http_code}' -o "$T/resp" "$URL/readyz")
eq "/readyz: 503, with the reason" "503 False ['commits to the ledger fail']" "$r $(json 'd["ready"], d["reasons"]' | tr -d '(),')"
prlimit --pid "$DPID" --fsize=unlimited:unlimited
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "the disk is back: flush delivers the spooled evidence" "0 1" "$rc $(rows)"
eq "/healthz: 200 again" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"
eq "/readyz: 200 again" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")"
eq "/readyz is not a POST endpoint (405)" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/readyz")"
check "SIGTERM: exits 0" stop_daemon
finish
