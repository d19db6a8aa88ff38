#!/usr/bin/env bash
# The outbox: a claim's changes reach a Standard Webhooks sink as one
# snapshot, then one minimal merge patch per change, in order, signed so
# that the standardwebhooks npm package (and node's ed25519) verify them;
# a change outside the subscribed fields sends nothing; tenants and ids
# filter; a merge-patch sink gets PATCH with If-Match and recovers from
# 412; GET /v1/changes is a cursor feed of the same changes; bad sink
# settings are refused with file:line: key.
. "$(dirname "$0")/outbox-lib.sh"
plan 52

start_sink hook; HOOK=$SINKPORT
start_sink merge SINK_MERGE=1; MERGE=$SINKPORT
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
openssl pkey -in "$T/ed.pem" -pubout -out "$T/ed.pub" 2>/dev/null
EDKEY="whsk_$(openssl pkey -in "$T/ed.pem" -outform DER | tail -c 32 | base64)"
HOOKSECRET="whsec_$(head -c 32 /dev/urandom | base64)"
write_config "$STATUS_TYPES
sinks:
  hook:
    kind: webhook
    url: \"http://127.0.0.1:$HOOK/hooks/{type}/{id}\"
    secret: \"$HOOKSECRET\"
    signing_key: \"$EDKEY\"
  catalog: { kind: mergepatch, url: \"http://127.0.0.1:$MERGE/objects/{type}/{id}\", token: catalog-token }
subscriptions:
  - { sink: hook, types: [Status], ids: [\"s*\"], fields: [state, progress] }
  - { sink: catalog, types: [Status], tenant: acme }
redaction:
  client: { remove: [properties.note] }"
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"

# Differential pushes: a snapshot, then three changes, each one patch.
opened s1 planned
check "the snapshot arrives" wait_received hook 1
set_status s1 in_progress 10 a; check "patch 1 arrives" wait_received hook 2
set_status s1 in_progress 50 b; check "patch 2 arrives" wait_received hook 3
set_status s1 in_progress 50 c	# note is not subscribed: nothing to send
set_status s1 deployed 100 c; check "patch 3 arrives" wait_received hook 4
sleep 0.5
eq "exactly a snapshot and three patches" 4 "$(received hook)"
eq "1: snapshot of the subscribed fields" \
    "claim.snapshot {'state': 'planned'} 1" \
    "$(field hook 0 '"%s %s %s" % (b["type"], b["data"]["state"], b["data"]["revision"])')"
eq "2: patch of state and progress" "claim.patch {'progress': 10, 'state': 'in_progress'} 1" \
    "$(field hook 1 '"%s %s %s" % (b["type"], b["data"]["patch"], b["data"]["base_revision"])')"
eq "3: patch of progress only" "{'progress': 50}" "$(field hook 2 'b["data"]["patch"]')"
eq "4: the unsubscribed note change sent nothing; then state and progress" \
    "{'progress': 100, 'state': 'deployed'} 3" \
    "$(field hook 3 '"%s %s" % (b["data"]["patch"], b["data"]["base_revision"])')"
eq "POST to the URL template" "POST /hooks/Status/s1" "$(field hook 3 'r["method"] + " " + r["path"]')"
eq "webhook-ids are distinct" 4 "$(python3 -c 'import json,sys; print(len({json.loads(l)["headers"]["webhook-id"] for l in open(sys.argv[1])}))' "$T/hook/log")"
eq "the outbox row is done, acknowledged at revision 5" "done 5" \
    "$(sqlite3 -separator ' ' "$T/ledger.db" "SELECT status, acked_rev FROM outbox WHERE sink = 'hook'")"

# Signatures, checked by the reference implementation.
if command -v npm >/dev/null && command -v node >/dev/null; then
	NPMDIR=${MILEPOST_NPM_CACHE:-$HOME/.cache/milepost-test-npm}
	if [ ! -d "$NPMDIR/node_modules/standardwebhooks" ]; then
		mkdir -p "$NPMDIR"
		npm install --silent --no-audit --no-fund --prefix "$NPMDIR" \
		    standardwebhooks >/dev/null 2>&1
	fi
	if [ -d "$NPMDIR/node_modules/standardwebhooks" ]; then
		eq "standardwebhooks (npm) verifies v1; node verifies v1a (ed25519)" "ok 4" \
		    "$(NODE_PATH="$NPMDIR/node_modules" node "$top_srcdir/tests/it/outbox-verify.js" "$T/hook/log" "$HOOKSECRET" "$T/ed.pub")"
	else
		not_ok "npm install standardwebhooks failed"
	fi
else
	not_ok "node and npm are not installed (script/setup installs them): the signatures are not checked"
fi

# Ids and tenants filter: x1 matches no ids pattern; tenant acme goes to
# the catalog, other tenants do not.
opened x1 planned
opened s2 planned --link tenant=acme
opened s3 planned --link tenant=other
check "s2 and s3 reach the hook" wait_received hook 6
sleep 0.5
eq "x1 (not s*) is not sent; s2 and s3 are" "6 s2 s3" \
    "$(received hook) $(field hook 4 'b["data"]["id"]') $(field hook 5 'b["data"]["id"]')"
check "s2 (tenant acme) reaches the catalog" wait_status catalog Status s2 done
eq "only acme's claim reached the catalog" 1 "$(received merge)"

# Merge patch: PATCH with If-Match; a 412 refetches and recomputes.
eq "a first push is a PATCH of the whole state, no If-Match" \
    "PATCH application/merge-patch+json None Bearer catalog-token" \
    "$(field merge 0 'r["method"], r["headers"]["content-type"], r["headers"].get("if-match"), r["headers"]["authorization"]' | tr -d "(),'")"
# Someone else changes the object at the sink: our ETag is stale.
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    --data '{"state":"edited","extra":1}' "http://127.0.0.1:$MERGE/objects/Status/s2"
set_status s2 in_progress 20 n --link tenant=acme
check "after 412: GET, then PATCH again" wait_received merge 5
sleep 0.3
eq "PATCH (If-Match), 412, GET, PATCH with the new ETag" "PATCH PATCH GET PATCH" \
    "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["method"] for l in open(sys.argv[1])))' "$T/merge/log" | cut -d' ' -f1,3-)"
# The catalog's subscription is for tenant acme: it gets the client view,
# so redaction.client's properties.note never reaches it.
eq "the sink holds our state (client view: no note); its own extra field survives" \
    "{'/objects/Status/s2': {'state': 'in_progress', 'extra': 1, 'progress': 20}}" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])))' "$T/merge/objects")"
eq "the last PATCH is the patch from the sink's state" \
    "{'progress': 20, 'state': 'in_progress'}" "$(field merge 4 'b')"
differs "the last PATCH carried the refetched ETag" \
    "$(field merge 4 'r["headers"].get("if-match") or ""')" "$(field merge 2 'r["headers"].get("if-match") or ""')"

# The change feed.
feed() { curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer ${2:-$READER_TOKEN}" "$URL/v1/changes?$1"; }
eq "GET /v1/changes" 200 "$(feed 'after=0&limit=3')"
eq "cursors 1-3: s1's creation and first two patches" \
    "[1, 2, 3] {'properties': {'state': 'planned'}, 'links': {}} {'properties': {'note': 'a', 'progress': 10, 'state': 'in_progress'}} 3" \
    "$(json '[c["cursor"] for c in d["changes"]], d["changes"][0]["patch"], d["changes"][1]["patch"], d["next"]' | tr -d '()' | sed 's/}, {/} {/g; s/, 3$/ 3/; s/], /] /')"
feed 'after=3&limit=1000' >/dev/null
eq "after=3: the rest, each revision once, in order" \
    "Status/s1/4 Status/s1/5 Status/x1/1 Status/s2/1 Status/s3/1 Status/s2/2" \
    "$(json '" ".join("%s/%s/%d" % (c["type"], c["id"], c["revision"]) for c in d["changes"])')"
n=$(json 'd["next"]')
feed "after=$n" >/dev/null
eq "after the last cursor: nothing, next stays" "0 $n" "$(json 'len(d["changes"]), d["next"]' | tr -d '(),')"
eq "a client token sees its tenant's changes only" "s2 s2" \
    "$(feed after=0 "$CLIENT_TOKEN" >/dev/null; json '" ".join(c["id"] for c in d["changes"])')"
eq "a reader sees s2's note in the feed" True \
    "$(feed after=0 >/dev/null; json 'any("note" in c["patch"].get("properties", {}) for c in d["changes"] if c["id"] == "s2")')"
eq "a client token never sees a redacted field in the feed" False \
    "$(feed after=0 "$CLIENT_TOKEN" >/dev/null; json 'any("note" in c["patch"].get("properties", {}) for c in d["changes"])')"
check "the feed sends an ETag" grep -qi '^etag:' <(curl -s -D - -o /dev/null -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/changes?after=0")
eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/changes")"
eq "after=-1: 400" 400 "$(feed after=-1)"

# A new subscriber first gets a full snapshot of every object it takes,
# with no change needed: a sink added at restart takes the change feed
# from its start.  And the hook, whose subscription did not change,
# sends nothing again.
check "the daemon exits 0 on SIGTERM" stop_daemon
nhook=$(received hook)
start_sink late; LATE=$SINKPORT
cp "$T/milepost.yaml" "$T/before-late.yaml"
sed -i "s|^subscriptions:|  late: { kind: webhook, url: \"http://127.0.0.1:$LATE/{type}/{id}\", secret: \"$HOOKSECRET\" }\nsubscriptions:\n  - { sink: late, types: [Status] }|" "$T/milepost.yaml"
start_daemon
check "the new sink gets every existing Status object" wait_received late 4
sleep 0.5
eq "... once each, as snapshots of their latest state" \
    "s1:claim.snapshot:deployed s2:claim.snapshot:in_progress s3:claim.snapshot:planned x1:claim.snapshot:planned" \
    "$(python3 -c 'import json,sys; print(" ".join(sorted("%s:%s:%s" % (json.loads(json.loads(l)["body"])["data"]["id"], json.loads(json.loads(l)["body"])["type"], json.loads(json.loads(l)["body"])["data"]["state"]["state"]) for l in open(sys.argv[1]))))' "$T/late/log")"
eq "the old sink, its subscriptions unchanged, gets nothing again" "$nhook" "$(received hook)"
check "milepost outbox list shows no backlog" cmd_lacks backlog "$MILEPOST" outbox list --ledger "sqlite:$T/ledger.db"

# The late sink is removed again: its cursor is dropped at start, so no
# backlog grows for it while changes keep coming.
check "the daemon exits 0 on SIGTERM" stop_daemon
cp "$T/before-late.yaml" "$T/milepost.yaml"
start_daemon
check "a removed sink's cursor is dropped, and said so" \
    grep -q "sink late is no longer configured" "$T/milepostd.log"
opened s4 planned
check "the hook still gets new changes" wait_received hook $((nhook + 1))
eq "no cursor is left for it" 0 \
    "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM outbox_cursors WHERE sink = 'late'")"
check "and outbox list --ledger shows no backlog for it" \
    cmd_lacks '^late backlog' "$MILEPOST" outbox list --ledger "sqlite:$T/ledger.db"

# Configuration errors name the file, line and key.
check "the daemon exits 0 on SIGTERM" stop_daemon
cp "$T/milepost.yaml" "$T/good.yaml"
bad() {	# bad DESCRIPTION EXPECTED-PATTERN YAML
	write_config "$STATUS_TYPES
$3"
	local rc=0
	"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err" || rc=$?
	check "$1 (exit 1)" sh -c '[ "$1" = 1 ] && grep -q -- "$2" "$3"' _ "$rc" "$2" "$T/err"
}
bad "an unknown sink kind" "milepost.yaml:[0-9]*: sinks.x.kind: must be one of" \
    "sinks: { x: { kind: carrier-pigeon, url: \"http://x\" } }"
bad "a webhook without a secret" "sinks.x: a webhook sink needs secret" \
    "sinks: { x: { kind: webhook, url: \"http://x\" } }"
bad "a bad URL" "sinks.x.url: must be an http" \
    "sinks: { x: { kind: webhook, url: \"ftp://x\", secret: \"$HOOKSECRET\" } }"
bad "a subscription to an unknown sink" "subscriptions\[0\].sink: no sink y" \
    "subscriptions: [ { sink: y, types: [Status] } ]"
bad "a subscription to an unknown type" "subscriptions\[0\].types: Nope is not a claim type" \
    "sinks: { x: { kind: opslevel, url: \"http://x\" } }
subscriptions: [ { sink: x, types: [Nope] } ]"
bad "a setting the sink does not take" "sinks.x.secret: a opslevel sink does not take secret" \
    "sinks: { x: { kind: opslevel, url: \"http://x\", secret: \"$HOOKSECRET\" } }"
bad "a github sink without a token" "sinks.x: a github-deployment-status sink needs token" \
    "sinks: { x: { kind: github-deployment-status } }"
cp "$T/good.yaml" "$T/milepost.yaml"
check "Deployment, Release and Milestone are subscribable" \
    "$MILEPOSTD" -n -c "$T/milepost.yaml"
finish
