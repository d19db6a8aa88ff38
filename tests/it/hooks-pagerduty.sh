#!/usr/bin/env bash
# POST /hooks/pagerduty: the v3 webhook events of plugins/pagerduty/
# pagerduty.c, sent from the fixtures with the headers PagerDuty sends
# (tests/fixtures/pagerduty/*.headers) and X-PagerDuty-Signature made with
# openssl, one v1= entry per secret as PagerDuty does while rotating;
# checked field by field; redeliveries, ignored events, bad signatures and
# a secret rotation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 101

FIX="$top_srcdir/tests/fixtures/pagerduty"
SEC1="pd-old-$(head -c 12 /dev/urandom | xxd -p)"
SEC2="pd-new-$(head -c 12 /dev/urandom | xxd -p)"
SEC3="pd-next-$(head -c 12 /dev/urandom | xxd -p)"
OTHER="pd-other-$(head -c 12 /dev/urandom | xxd -p)"
INC=Q2M2YJVZ5HJ7QC
WEB=https://acme.pagerduty.com

write_config "sources:
  pagerduty: { secret: [\"$SEC1\", \"$SEC2\"] }"
start_daemon

# hdr FIXTURE NAME: one header of a fixture.
hdr() {
	sed -n "s/^$2: //p" "$FIX/$1.headers"
}

# v1 SECRET FILE: "v1=<hex HMAC-SHA256 of the file's bytes>", PagerDuty's.
v1() {
	printf 'v1=%s' "$(openssl dgst -sha256 -hmac "$1" < "$2" | sed 's/^.*= //')"
}

# hook FIXTURE SIGNATURE [CURL-ARGS...]: POST the fixture (or the file
# $BODY) with its headers and X-PagerDuty-Signature: SIGNATURE ("" leaves
# it out).  A header given in CURL-ARGS replaces the fixture's ("-H Name:"
# removes it).  Prints "<status> <body>".
hook() {
	local f=$1 sig=$2 line a skip=" "
	local -a args=()
	shift 2
	for a in "$@"; do
		case $a in *:*) skip="$skip$(printf '%s' "${a%%:*}" | tr A-Z a-z) " ;; esac
	done
	while IFS= read -r line; do
		case $skip in *" $(printf '%s' "${line%%:*}" | tr A-Z a-z) "*) continue ;; esac
		args+=(-H "$line")
	done < "$FIX/$f.headers"
	[ -n "$sig" ] && args+=(-H "X-PagerDuty-Signature: $sig")
	curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" "$@" \
	    --data-binary "@${BODY:-$FIX/$f.json}" "$URL/hooks/pagerduty"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}

# incident.triggered, signed with both secrets in one header, as PagerDuty
# signs while a subscription has two: IncidentOpened, id event.id.
f=incident.triggered
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json"),$(v1 "$SEC2" "$FIX/$f.json")")
eq "incident.triggered, both secrets in one header: 202" "202 1" "${r%% *} $(json 'd["accepted"]')"
eq "the evidence id is event.id" 01J1Y8Z6K3M0A5Q7R2T4V6X8ZB "$(json 'd["evidence"][0]["id"]')"
fetch
expect pagerduty 01J1Y8Z6K3M0A5Q7R2T4V6X8ZB type=IncidentOpened subject=$INC \
    time=2025-07-03T10:21:07.402000Z p.incidentId=$INC \
    p.title="Checkout p99 latency > 2 s – eu-west" p.status=triggered p.urgency=high \
    p.priority=P1 p.service="Checkout API" p.url=$WEB/incidents/$INC p.tool=pagerduty \
    l.incident=$INC l.service="Checkout API" l.service_id=PF9KMXH
check "the raw payload is kept under X-Webhook-Id" test "$(sqlite3 "$T/ledger.db" \
    "SELECT count(*) FROM raw_payloads WHERE source='pagerduty' AND delivery='$(hdr $f X-Webhook-Id)'")" = 1

# A retry (same X-Webhook-Id), and the same event through a second,
# overlapping subscription (another X-Webhook-Id): duplicates.
n=$(rows)
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json")")
eq "incident.triggered redelivered: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
r=$(hook $f "$(v1 "$SEC2" "$FIX/$f.json")" -H "X-Webhook-Id: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d" \
    -H "X-Webhook-Subscription: PWH9QQ1")
eq "the same event from another subscription: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
eq "neither writes evidence" "$n" "$(rows)"

# Without X-Webhook-Id, event.id is the delivery id.
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json")" -H "X-Webhook-Id:")
eq "without X-Webhook-Id: 200 duplicate all the same" "200 True" "${r%% *} $(json 'd["duplicate"]')"
check "without X-Webhook-Id, the raw payload is kept under event.id" test "$(sqlite3 "$T/ledger.db" \
    "SELECT count(*) FROM raw_payloads WHERE source='pagerduty' AND delivery='01J1Y8Z6K3M0A5Q7R2T4V6X8ZB'")" = 1

# incident.acknowledged: the first entry is from a secret this receiver
# does not have, only the second matches.
f=incident.acknowledged
r=$(hook $f "$(v1 "$OTHER" "$FIX/$f.json"),$(v1 "$SEC2" "$FIX/$f.json")")
eq "incident.acknowledged, only the second signature matching: 202" 202 "${r%% *}"
fetch
expect pagerduty 01J1Y92D4W8N6C1B3F5H7K9M0P type=IncidentAcknowledged subject=$INC \
    time=2025-07-03T10:24:51.117000Z p.incidentId=$INC \
    p.title="Checkout p99 latency > 2 s – eu-west" p.status=acknowledged p.urgency=high \
    p.priority=P1 p.service="Checkout API" p.url=$WEB/incidents/$INC p.tool=pagerduty \
    l.incident=$INC l.service="Checkout API" l.service_id=PF9KMXH

# incident.resolved, one signature with the first secret.
f=incident.resolved
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json")")
eq "incident.resolved, the first secret alone: 202" 202 "${r%% *}"
fetch
expect pagerduty 01J1YB7Q0E2G4J6L8N0R2T4W6Y type=IncidentResolved subject=$INC \
    time=2025-07-03T11:02:38.960000Z p.incidentId=$INC \
    p.title="Checkout p99 latency > 2 s – eu-west" p.status=resolved p.urgency=high \
    p.priority=P1 p.service="Checkout API" p.url=$WEB/incidents/$INC p.tool=pagerduty \
    l.incident=$INC l.service="Checkout API" l.service_id=PF9KMXH
eq "one incident, three evidence: opened, acknowledged, resolved" \
    "IncidentOpened IncidentAcknowledged IncidentResolved" \
    "$(sqlite3 "$T/ledger.db" "SELECT group_concat(type, ' ') FROM (SELECT type FROM evidence WHERE source='pagerduty' AND subject='$INC' ORDER BY seq)")"

# incident.reopened: the resolved incident is open again (IncidentOpened,
# a reopening), so the second resolution that follows closes an open one.
f=incident.reopened
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json")")
eq "incident.reopened: 202, one evidence" "202 1" "${r%% *} $(json 'd["accepted"]')"
fetch
expect pagerduty 01J1YE3K5N7Q9S1U3W5Y7A9C1E type=IncidentOpened subject=$INC \
    time=2025-07-03T11:40:12.305000Z p.incidentId=$INC \
    p.title="Checkout p99 latency > 2 s – eu-west" p.status=triggered p.urgency=high \
    p.priority=P1 p.service="Checkout API" p.url=$WEB/incidents/$INC p.tool=pagerduty \
    l.incident=$INC l.service="Checkout API" l.service_id=PF9KMXH
f=incident.resolved-again
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json")")
eq "the second incident.resolved: 202" 202 "${r%% *}"
eq "opened, acknowledged, resolved, reopened, resolved again" \
    "IncidentOpened IncidentAcknowledged IncidentResolved IncidentOpened IncidentResolved" \
    "$(sqlite3 "$T/ledger.db" "SELECT group_concat(type, ' ') FROM (SELECT type FROM evidence WHERE source='pagerduty' AND subject='$INC' ORDER BY seq)")"

# The time since the last genuine delivery, per source (README: PagerDuty
# disables a failing subscription, and then sends nothing).
age=$(metric 'milepost_source_last_delivery_age_seconds{source="pagerduty"}')
check "milepost_source_last_delivery_age_seconds{source=\"pagerduty\"} is a recent age (got ${age:-none})" \
    test "${age:-x}" -ge 0 -a "${age:-x}" -lt 600
check "... and there is no series for a source that sent nothing" \
    cmd_lacks 'milepost_source_last_delivery_age_seconds{source="github"}' curl -sf "$URL/metrics"

# Genuine events that Milepost does not use: 200 {"ignored":...}, counted.
n=$(rows); ig=$(metric milepost_hooks_ignored_total)
for f in incident.annotated incident.priority_updated pagey.ping; do
	r=$(hook $f "$(v1 "$SEC2" "$FIX/$f.json")")
	eq "$f: 200 ignored, naming it" "200 True" "${r%% *} $(json "'$f' in d['ignored']")"
done
eq "ignored events are counted in milepost_hooks_ignored_total" "$((ig + 3))" "$(metric milepost_hooks_ignored_total)"
eq "ignored events write nothing" "$n" "$(rows)"

# 401: a wrong secret, no header, a tampered body, no v1 entry, too many.
f=incident.triggered
sed "s/\"status\":\"triggered\"/\"status\":\"resolved\"/" "$FIX/$f.json" > "$T/tampered.json"
W="-H X-Webhook-Id:fresh-$(head -c 6 /dev/urandom | xxd -p)"
rj=$(metric 'milepost_requests_rejected_total{reason="signature"}')
r=$(hook $f "$(v1 "$OTHER" "$FIX/$f.json")" $W)
eq "401 for a signature made with another secret" "401 True" "${r%% *} $(json '"does not match" in d["error"]')"
r=$(hook $f "" $W); eq "401 without X-PagerDuty-Signature" "401 True" "${r%% *} $(json '"missing" in d["error"]')"
r=$(BODY="$T/tampered.json" hook $f "$(v1 "$SEC1" "$FIX/$f.json"),$(v1 "$SEC2" "$FIX/$f.json")" $W)
eq "401 for a tampered body" 401 "${r%% *}"
r=$(hook $f "v0=$(v1 "$SEC1" "$FIX/$f.json" | cut -c4-)" $W)
eq "401 for a signature of another version" "401 True" "${r%% *} $(json '"no v1" in d["error"]')"
r=$(hook $f "$(v1 "$SEC1" "$FIX/$f.json" | cut -c1-40)" $W)
eq "401 for a truncated signature" 401 "${r%% *}"
many=$(for i in 1 2 3 4 5 6 7 8; do printf '%s,' "$(v1 "$OTHER$i" "$FIX/$f.json")"; done)
r=$(hook $f "$many$(v1 "$SEC1" "$FIX/$f.json")" $W)
eq "401 for more than 8 signatures" "401 True" "${r%% *} $(json '"more than 8" in d["error"]')"
eq "401s are counted as signature rejects" "$((rj + 6))" "$(metric 'milepost_requests_rejected_total{reason="signature"}')"
eq "nothing written by any 401" "$n" "$(rows)"

# 400 for what is signed but not a v3 webhook.
printf '{"messages":[{"event":"incident.trigger"}]}' > "$T/v2.json"
r=$(BODY="$T/v2.json" hook $f "$(v1 "$SEC1" "$T/v2.json")")
eq "400 for a signed v2 payload" "400 True" "${r%% *} $(json '"event_type" in d["error"]')"
printf '{"event":' > "$T/broken.json"
r=$(BODY="$T/broken.json" hook $f "$(v1 "$SEC1" "$T/broken.json")")
eq "400 for a signed but malformed body" 400 "${r%% *}"
eq "nothing written by a 400" "$n" "$(rows)"

# Rotation done: the old secret is dropped from the configuration.
stop_daemon TERM; eq "the daemon exits 0" 0 "$?"
write_config "sources:
  pagerduty: { secret: [\"$SEC2\", \"$SEC3\"] }"
start_daemon
BODY="$T/next.json"
sed -e 's/01J1Y8Z6K3M0A5Q7R2T4V6X8ZB/01J1ZC0A2B4D6F8H0J2L4N6Q8S/' -e "s/$INC/Q9X8W7V6U5T4SR/g" \
    "$FIX/incident.triggered.json" > "$BODY"
W="-H X-Webhook-Id:5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
r=$(hook incident.triggered "$(v1 "$SEC1" "$BODY")" $W)
eq "after rotation, the old secret alone: 401" 401 "${r%% *}"
r=$(hook incident.triggered "$(v1 "$SEC1" "$BODY"),$(v1 "$SEC3" "$BODY")" $W)
eq "after rotation, old and new in one header: 202" "202 01J1ZC0A2B4D6F8H0J2L4N6Q8S" "${r%% *} $(json 'd["evidence"][0]["id"]')"
unset BODY

stop_daemon TERM; eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
