#!/usr/bin/env bash
# Outbox ordering while a push is in flight: the sink holds the first
# push of an object open; two newer states arrive meanwhile.  No second
# push of that object goes out while the first is open (one push per
# object and sink); once the first is answered, the next push carries the
# newest state as a patch over what the sink acknowledged, and the state
# in between is never sent: newer supersedes queued, never older after
# newer.
. "$(dirname "$0")/outbox-lib.sh"
plan 9

start_sink held; HELD=$SINKPORT
S="whsec_$(head -c 32 /dev/urandom | base64)"
write_config "$STATUS_TYPES
sinks:
  held: { kind: webhook, url: \"http://127.0.0.1:$HELD/{id}\", secret: \"$S\", retry_base: 0.2s, timeout: 60s }
subscriptions:
  - { sink: held, types: [Status], ids: [o1], fields: [state, progress] }"
start_daemon || exit 1
rev() { sqlite3 "$T/ledger.db" "SELECT max(revision) FROM claim_revisions WHERE type = 'Status' AND id = 'o1';"; }

echo hold > "$T/held/plan"
opened o1 planned
check "the first push is in flight, held open by the sink" wait_received held 1
set_status o1 in_progress 10 a
set_status o1 deployed 100 b
for i in $(seq 600); do [ "$(rev)" = 3 ] && break; sleep 0.05; done
eq "two newer states are stored meanwhile (revision 3)" 3 "$(rev)"
# Nothing can show that a push did not start: a margin.  The outbox is
# scanned every 250 ms and on each change; 1 s covers several scans.
sleep 1
eq "no second push of the object while the first is open" 1 "$(received held)"
touch "$T/held/release"
check "once answered, the next push goes" wait_received held 2
check "and the object is done" wait_status held Status o1 done
eq "the held push was the snapshot of revision 1" "claim.snapshot {'state': 'planned'} 1" \
    "$(field held 0 '"%s %s %s" % (b["type"], b["data"]["state"], b["data"]["revision"])')"
eq "the next is the newest state, a patch over revision 1" \
    "claim.patch {'progress': 100, 'state': 'deployed'} 1 3" \
    "$(field held 1 '"%s %s %s %s" % (b["type"], b["data"]["patch"], b["data"]["base_revision"], b["data"]["revision"])')"
eq "the state in between was never sent; acknowledged at revision 3" "2 done 3" \
    "$(received held) $(sqlite3 -separator ' ' "$T/ledger.db" "SELECT status, acked_rev FROM outbox WHERE sink = 'held'")"
check "daemon stops cleanly" stop_daemon
finish
