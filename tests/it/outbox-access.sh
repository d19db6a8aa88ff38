#!/usr/bin/env bash
# The outbox is an operator's: GET /v1/outbox and POST /v1/outbox/retry,
# /v1/outbox/replay answer reader (viewer) and client tokens 403 and change
# nothing; an operator's retry works, and each retry or replay, over HTTP
# or by milepost outbox on the ledger file beside the daemon, leaves one
# audit evidence (OutboxRetried, OutboxReplayed) in the chain, which
# still verifies.  Bad bodies get 400 or 422 naming the field, and change
# nothing.  No source may send the audit types.
. "$(dirname "$0")/outbox-lib.sh"
plan 60

OP_TOKEN="operator-token-$(head -c 8 /dev/urandom | xxd -p)"
WRITER_TOKEN="writer-token-$(head -c 8 /dev/urandom | xxd -p)"
start_sink down; DOWN=$SINKPORT
S="whsec_$(head -c 32 /dev/urandom | base64)"
write_config "  - { token: \"$OP_TOKEN\", role: operator, name: oncall }
  - { token: \"$WRITER_TOKEN\", role: writer }
$STATUS_TYPES
sinks:
  down: { kind: webhook, url: \"http://127.0.0.1:$DOWN/\", secret: \"$S\", retry_base: 0.2s, max_attempts: 1, timeout: 2s }
subscriptions:
  - { sink: down, types: [Status], ids: [\"d*\"] }"
start_daemon || exit 1
CONF="$T/milepost.yaml"

# api METHOD PATH TOKEN [BODY]: "<status>" of the call, its body in $T/resp.
api() {
	local args=(-s -o "$T/resp" -w '%{http_code}' -X "$1")
	[ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl "${args[@]}" "$URL$2"
}
audits() { rows "type IN ('OutboxRetried', 'OutboxReplayed')"; }
state() { echo "$(outbox_status down Status d1) $(rows) $(audits)"; }

echo 503 > "$T/down/plan"
opened d1 planned
check "d1 is dead-lettered (max_attempts 1)" wait_status down Status d1 dead 20
before=$(state)
eq "the starting state: dead, 1 evidence, no audit" "dead 1 0" "$before"

# Who may: 401 without a token, 403 for reader, writer and client.
eq "GET /v1/outbox without a token: 401" 401 "$(api GET /v1/outbox '')"
for who in READER WRITER CLIENT; do
	tok=${who}_TOKEN
	eq "GET /v1/outbox, $who token: 403" 403 "$(api GET /v1/outbox "${!tok}")"
	eq "POST /v1/outbox/retry, $who token: 403" 403 \
	    "$(api POST /v1/outbox/retry "${!tok}" '{"sink":"down"}')"
	eq "POST /v1/outbox/replay, $who token: 403" 403 \
	    "$(api POST /v1/outbox/replay "${!tok}" '{"since":"1h"}')"
done
eq "the 403 says what was refused" "True" "$(json '"manage the outbox" in d["error"]')"
eq "and nothing changed" "$before" "$(state)"

# The operator reads it.
eq "GET /v1/outbox, operator token: 200" 200 "$(api GET /v1/outbox "$OP_TOKEN")"
eq "it lists the dead push" "down dead Status d1 1" \
    "$(json '" ".join(str(d["outbox"][0][k]) for k in ("sink","status","type","id","attempts"))')"
eq "GET /v1/outbox?status=dead, admin token: 200" 200 \
    "$(api GET '/v1/outbox?status=dead&sink=down' "$ADMIN_TOKEN")"
eq "GET /v1/outbox?status=gone: 422" 422 "$(api GET '/v1/outbox?status=gone' "$OP_TOKEN")"
eq "naming status and the valid values" "status True" \
    "$(json '"%s %s" % (d["property"], "pending" in d["error"] and "dead" in d["error"])')"

# Bad bodies: 400 or 422 naming the field, nothing changed.
eq "retry with a body that is not JSON: 400" 400 \
    "$(api POST /v1/outbox/retry "$OP_TOKEN" 'sink=down')"
eq "retry of an unknown sink: 422" 422 \
    "$(api POST /v1/outbox/retry "$OP_TOKEN" '{"sink":"dwn"}')"
eq "naming sink, with the nearest" "sink True" \
    "$(json '"%s %s" % (d["property"], "did you mean down" in d["error"])')"
eq "retry with an unknown field: 422" 422 \
    "$(api POST /v1/outbox/retry "$OP_TOKEN" '{"sink":"down","colour":"red"}')"
eq "naming it" "colour" "$(json 'd["property"]')"
eq "retry of an object that is not TYPE/ID: 422" 422 \
    "$(api POST /v1/outbox/retry "$OP_TOKEN" '{"object":"d1"}')"
eq "naming object" "object" "$(json 'd["property"]')"
eq "replay without since: 422" 422 "$(api POST /v1/outbox/replay "$OP_TOKEN" '{}')"
eq "naming since" "since" "$(json 'd["property"]')"
eq "replay since yesterday-ish: 422" 422 \
    "$(api POST /v1/outbox/replay "$OP_TOKEN" '{"since":"yesterday"}')"
eq "replay with a number for sink: 422" 422 \
    "$(api POST /v1/outbox/replay "$OP_TOKEN" '{"since":"1h","sink":5}')"
eq "nothing changed by any of them" "$before" "$(state)"

# The operator's retry works and is audited.
: > "$T/down/plan"	# the sink is back
eq "retry, operator token: 200" 200 \
    "$(api POST /v1/outbox/retry "$OP_TOKEN" '{"sink":"down","object":"Status/d1"}')"
eq "one push queued, and the audit's id" "1 True" \
    "$(json '"%s %s" % (d["queued"], d["evidence"].startswith("outbox."))')"
seq=$(json 'd["seq"]')
check "the sink gets it" wait_received down 2
check "and it is done" wait_status down Status d1 done
eq "one OutboxRetried in the ledger, at the seq returned" "$seq" \
    "$(sqlite3 "$T/ledger.db" "SELECT seq FROM evidence WHERE type = 'OutboxRetried';")"
sqlite3 "$T/ledger.db" "SELECT source, properties FROM evidence WHERE type = 'OutboxRetried';" > "$T/audit"
oracle "the audit names who, how and what" 4 python3 - "$T/audit" <<'PY'
import json, sys
src, props = open(sys.argv[1]).read().strip().split("|", 1)
p = json.loads(props)
for ok, what in [(src == "milepostd", "source milepostd: %s" % src),
                 (p.get("actor", "").startswith("operator token ") and "oncall" in p["actor"], "actor: %s" % p.get("actor")),
                 (p.get("via") == "http" and p.get("role") == "operator", "via http, role operator"),
                 (p.get("sink") == "down" and p.get("object") == "Status/d1" and p.get("queued") == 1, "sink, object, queued: %s" % p)]:
    print(("ok - " if ok else "not ok - ") + what)
PY
check "the chain verifies" "$MILEPOST" ledger verify -c "$CONF"

# No source may write the audit types.
r=$(post fake-1 '{"type":"OutboxRetried","subject":"x","properties":{"actor":"me","via":"http","queued":1}}')
eq "POST /v1/evidence of OutboxRetried: 422" 422 "${r%% *}"
eq "it is milepostd's own" "True" "$(json '"written only by milepostd" in d["error"] and d["property"] == "type"')"

# milepost outbox on the ledger file, beside the daemon: audited too, and
# the daemon goes on appending after it (the head is read in each
# transaction).
echo 503 > "$T/down/plan"
opened d2 planned
check "d2 is dead-lettered" wait_status down Status d2 dead 20
n=$(rows)
out=$("$MILEPOST" outbox retry -c "$CONF" Status/d2 2>"$T/err"); rc=$?
eq "milepost outbox retry -c on the file (exit 0)" "0 1 dead-lettered push queued again" "$rc $out"
check "the sink gets d2" wait_status down Status d2 done
eq "an OutboxRetried via cli, as the next evidence" "$((n + 1)) cli cli" \
    "$(sqlite3 -separator ' ' "$T/ledger.db" "SELECT seq, source, json_extract(properties, '$.via') FROM evidence WHERE type = 'OutboxRetried' ORDER BY seq DESC LIMIT 1;")"
eq "its actor is the user" "True" \
    "$(sqlite3 "$T/ledger.db" "SELECT json_extract(properties, '$.actor') FROM evidence WHERE type = 'OutboxRetried' ORDER BY seq DESC LIMIT 1;" | python3 -c 'import sys; print(sys.stdin.read().startswith("user "))')"
opened d3 planned
check "the daemon appends after it" wait_status down Status d3 done
eq "at the seq after the audit" "$((n + 2))" "$(sqlite3 "$T/ledger.db" "SELECT max(seq) FROM evidence;")"
check "the chain verifies after both writers" "$MILEPOST" ledger verify -c "$CONF"
out=$("$MILEPOST" claims rebuild -c "$CONF" 2>&1); rc=$?
eq "claims rebuild over the audit evidence: the claims are equal (exit 0)" "0 1" "$rc $(grep -c "equal to what is stored" <<<"$out")"

# milepost outbox --url: over HTTP with a token.
out=$(MILEPOST_TOKEN=$OP_TOKEN "$MILEPOST" outbox replay --url "$URL" --since 1h --sink down 2>"$T/err"); rc=$?
eq "milepost outbox replay --url, operator token (exit 0)" "0 3" \
    "$rc $(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queued"])')"
eq "an OutboxReplayed, via http" "1 http" \
    "$(sqlite3 -separator ' ' "$T/ledger.db" "SELECT count(*), json_extract(properties, '$.via') FROM evidence WHERE type = 'OutboxReplayed';")"
check "the replay is delivered (3 more)" wait_received down 8
n=$(rows)
MILEPOST_TOKEN=$READER_TOKEN "$MILEPOST" outbox retry --url "$URL" --sink down > /dev/null 2>"$T/err"; rc=$?
eq "milepost outbox retry --url, reader token: exit 2" 2 "$rc"
check "saying 403" grep -q "HTTP 403" "$T/err"
out=$(MILEPOST_TOKEN=$OP_TOKEN "$MILEPOST" outbox list --url "$URL" --status all 2>"$T/err"); rc=$?
eq "milepost outbox list --url (exit 0), three rows" "0 3" "$rc $(printf '%s\n' "$out" | grep -c '"sink":"down"')"
eq "and nothing written by the refused ones" "$n" "$(rows)"
check "daemon stops cleanly" stop_daemon
finish
