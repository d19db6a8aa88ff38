#!/usr/bin/env bash
# SIGHUP and the outbox: a sink added by a reload gets every claim from
# the start of the feed, then each change; a subscription changed by a
# reload applies; a sink removed by a reload stops and loses its cursor.
# Push is drained first (nothing in flight is lost), then the writer
# installs the new outbox and push is rebuilt on it (reload.c).
. "$(dirname "$0")/outbox-lib.sh"
plan 11

start_sink hook; HOOK=$SINKPORT
HOOKSECRET="whsec_$(head -c 32 /dev/urandom | base64)"
SINK="sinks:
  hook: { kind: webhook, url: \"http://127.0.0.1:$HOOK/hooks/{type}/{id}\", secret: \"$HOOKSECRET\" }"
write_config "$STATUS_TYPES"
start_daemon
cp "$T/milepost.yaml" "$T/base.yaml"
# reloads N: wait until the log shows N swaps of the sinks.
reloads() {
	for _ in $(seq 300); do
		[ "$(grep -c 'reload: [0-9]* sinks' "$T/milepostd.log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

check "a claim before any sink" opened s1 open
{ cat "$T/base.yaml"; echo "$SINK"; echo "subscriptions:
  - { sink: hook, types: [Status], fields: [state] }"; } > "$T/milepost.yaml"
kill -HUP "$DPID"
check "the reload swaps in one sink and one subscription" reloads 1
check "the new sink gets the claim made before it (cursor from 0)" wait_received hook 1
eq "as a snapshot of the subscribed fields" "claim.snapshot {'state': 'open'}" \
	"$(field hook 0 '"%s %s" % (b["type"], b["data"]["state"])')"
set_status s1 working 10 "a note" >/dev/null
check "and then each change" wait_received hook 2

# A changed subscription (one more field) starts the sink's cursor again.
{ cat "$T/base.yaml"; echo "$SINK"; echo "subscriptions:
  - { sink: hook, types: [Status], fields: [state, progress] }"; } > "$T/milepost.yaml"
kill -HUP "$DPID"
check "a changed subscription is swapped in" reloads 2
set_status s1 done 100 "a note" >/dev/null
for _ in $(seq 600); do
	field hook "$(( $(received hook) - 1 ))" '(b["data"].get("patch") or b["data"]).get("progress")' 2>/dev/null | grep -qx 100 && break
	sleep 0.05
done
eq "the new field reaches the sink" 100 "$(field hook "$(( $(received hook) - 1 ))" '(b["data"].get("patch") or b["data"]).get("progress")')"

# The sink removed: it loses its cursor.
eq "the sink has a cursor" 1 \
	"$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM outbox_cursors WHERE sink = 'hook';")"
cp "$T/base.yaml" "$T/milepost.yaml"
kill -HUP "$DPID"
check "a reload without sinks swaps to none" reloads 3
eq "the removed sink's cursor is forgotten" 0 \
	"$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM outbox_cursors WHERE sink = 'hook';")"
check "the daemon stops cleanly" stop_daemon
finish
