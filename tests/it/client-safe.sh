#!/usr/bin/env bash
# Client-safe by construction: what a client reads on every endpoint and
# what a client's sink receives is built by one presentation
# (common/access/present.c).  Two tenants (acme, globex), evidence sent by
# the real agent with --link tenant=…, milestones of both; a commit names
# a milestone of each (a rejection that names globex's milestone), an
# operator override with a reason, an incident with a title.  A python
# oracle walks every JSON value of every client response and every push
# body: no commit SHA, repo, branch, evidence id, sequence number, basis,
# person, incident id or title, operator reason, rejection or any of
# globex's names.  Sink URLs are closed: a repo link "../../orgs/x" stays
# one encoded segment, and a placeholder in the host is refused at load.
. "$(dirname "$0")/outbox-lib.sh"
plan 45

CLIENT_B_TOKEN="client-b-token-$(head -c 8 /dev/urandom | xxd -p)"
SHA1=1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
SHA2=2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b
SHAG=9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c

start_sink client
CPORT=$SINKPORT
start_sink aud
APORT=$SINKPORT
start_sink urls
UPORT=$SINKPORT
write_config "  - { token: \"$CLIENT_B_TOKEN\", role: client, tenant: globex }
deployments: { timeout: 100000h }
milestones:
  - id: M-1
    title: \"Checkout v2\"
    description: \"The new checkout, live for every store\"
    tenant: acme
    start: \"2025-08-01\"
    due: \"2030-08-31\"
    environment: production
    scope: { services: [shop] }
  - { id: GLOBEX-SECRET, title: \"Globex plan\", tenant: globex, due: \"2030-09-30\", environment: production, scope: { services: [globexsvc] } }
milestone_rules: { max_per_deployment: 1, clock: false }
$STATUS_TYPES
sinks:
  client: { kind: webhook, url: \"http://127.0.0.1:$CPORT/hook/{type}/{id}\", secret: \"$SECRET\" }
  aud: { kind: webhook, url: \"http://127.0.0.1:$APORT/m/{id}\", secret: \"$SECRET\" }
  urls: { kind: webhook, url: \"http://127.0.0.1:$UPORT/r/{link:repo}/{id}\", secret: \"$SECRET\" }
subscriptions:
  - { sink: client, types: [Milestone, Deployment, Release], tenant: acme }
  - { sink: aud, types: [Milestone], ids: [M-1], audience: client, fields: [title, state, progress] }
  - { sink: urls, types: [Status] }"

# Refused at load, with file:line: a placeholder in the host, a typo in
# fields (the nearest valid field named).
sed 's|http://127.0.0.1:'"$UPORT"'/r/{link:repo}/{id}|http://{link:repo}.example/r|' \
    "$T/milepost.yaml" > "$T/host.yaml"
rc=0; "$MILEPOSTD" -n -c "$T/host.yaml" 2> "$T/host.err" || rc=$?
eq "a sink URL with a placeholder in the host fails -n" 1 "$rc"
line=$(grep -n '{link:repo}.example' "$T/host.yaml" | cut -d: -f1)
check "naming the file, line and rule" grep -qF "host.yaml:$line: sinks.urls.url: a placeholder may stand only in the path or the query, never in the scheme or the host" "$T/host.err"
sed 's|fields: \[title, state, progress\]|fields: [title, state, progres]|' \
    "$T/milepost.yaml" > "$T/typo.yaml"
rc=0; "$MILEPOSTD" -n -c "$T/typo.yaml" 2> "$T/typo.err" || rc=$?
eq "fields: [progres] fails -n" 1 "$rc"
line=$(grep -n 'progres\]' "$T/typo.yaml" | cut -d: -f1)
check "with file:line and the nearest valid field" grep -qF "typo.yaml:$line: subscriptions[1].fields: unknown field progres (did you mean progress?)" "$T/typo.err"
sed 's|audience: client,|audience: clients,|' "$T/milepost.yaml" > "$T/aud.yaml"
rc=0; "$MILEPOSTD" -n -c "$T/aud.yaml" 2> "$T/aud.err" || rc=$?
line=$(grep -n 'audience: clients' "$T/aud.yaml" | cut -d: -f1)
eq "audience: clients fails -n, at its line, naming the valid values" "1 1" \
    "$rc $(grep -cF "aud.yaml:$line: subscriptions[1].audience: must be client or internal" "$T/aud.err")"
check "the configuration itself is valid (-n)" "$MILEPOSTD" -n -c "$T/milepost.yaml"

start_daemon
emit_fail=0
E() { "$MILEPOST" emit "$@" || emit_fail=$((emit_fail + 1)); }

# acme: two commits (the first also names globex's milestone, so it is
# rejected for both), a deployment of the second, verified; globex: a
# deployment and a commit of its own.
E CommitPushed --subject $SHA1 --id c1-internal-id --time 2025-08-02T09:00:00Z \
    --link repo=acme/shop --link branch=feat/secret-branch --link commit=$SHA1 --link tenant=acme \
    sha=$SHA1 ref=refs/heads/feat/secret-branch author="Alice Dev" \
    message=$'Add cart\n\nMilestone: M-1\nMilestone: GLOBEX-SECRET' 'milestones:=["M-1","GLOBEX-SECRET"]'
E CommitPushed --subject $SHA2 --id c2-internal-id --time 2025-08-03T09:00:00Z \
    --link repo=acme/shop --link branch=release/secret-train --link commit=$SHA2 --link tenant=acme \
    sha=$SHA2 ref=refs/heads/release/secret-train author="Alice Dev" \
    message=$'Pay\n\nMilestone: M-1' 'milestones:=["M-1"]'
for t in DeploymentStarted DeploymentSucceeded; do
	E $t --subject shop-d1 --id "shop-d1.$t" --time 2025-08-04T10:00:00Z \
	    --link tenant=acme --link repo=acme/shop --link commit=$SHA2 \
	    deploymentId=shop-d1 service=shop environment=production revision=$SHA2 release=v2.1.0
done
E DeploymentHealth --subject shop-d1 --id shop-d1.health --time 2025-08-04T10:20:00Z \
    --link tenant=acme deploymentId=shop-d1 service=shop environment=production \
    revision=$SHA2 release=v2.1.0 health=Healthy
for t in DeploymentStarted DeploymentSucceeded; do
	E $t --subject gx-d1 --id "gx-d1.$t" --time 2025-08-04T11:00:00Z --link tenant=globex \
	    deploymentId=gx-d1 service=globexsvc environment=production revision=$SHAG release=gx-9
done
E CommitPushed --subject $SHAG --id cg-internal-id --time 2025-08-02T09:00:00Z \
    --link repo=globex/app --link branch=main --link commit=$SHAG --link tenant=globex \
    sha=$SHAG ref=refs/heads/main message=$'Globex\n\nMilestone: GLOBEX-SECRET' 'milestones:=["GLOBEX-SECRET"]'
# An operator moves acme's deployment, with a reason; then an incident.
DEP="shop%2Fproduction%2F$SHA2"
ov=$(curl -s -o "$T/ov" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" \
    -d '{"state":"failed","reason":"Operator secret reason"}' "$URL/v1/deployments/$DEP/status")
eq "the operator's override is taken" 200 "$ov"
E IncidentOpened --subject PD-77 --id pd77.open --time 2025-08-05T08:00:00Z \
    --link tenant=acme --link service=shop incidentId=PD-77 service=shop \
    severity=critical title="Secret incident title"
# The URL template: a repo link that tries to climb out of its segment.
E StatusOpened --subject u1 --id u1.open --link repo=../../orgs/x state=open
eq "the agent delivered everything" 0 "$emit_fail"

# Controls: the internal view holds what the client's must not.
get() {		# get TOKEN PATH: body in $T/resp; prints the status
	curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $1" "$URL$2"
}
get "$READER_TOKEN" "/v1/deployments/$DEP" > /dev/null
check "a reader sees the operator's reason in the history" grep -qF "Operator secret reason" "$T/resp"
get "$READER_TOKEN" /v1/claims/Milestone/M-1 > /dev/null
check "and the rejection naming globex's milestone in M-1" grep -qF "GLOBEX-SECRET" "$T/resp"
check "and the incident's title in a delta's reason" grep -qF "Secret incident title" "$T/resp"

# Every client endpoint, as acme's client reads it.
get "$CLIENT_TOKEN" /v1/deployments > /dev/null
PUB=$(json 'd["deployments"][0]["id"]' 2>/dev/null)
check "the client lists its deployment, under a public id ($PUB)" test -n "$PUB"
PUBQ=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PUB")
mkdir -p "$T/reads"
n=0
for p in /v1/claims/Milestone/M-1 /v1/claims/Milestone /v1/claims/Deployment \
    "/v1/claims/Deployment/$PUBQ" /v1/claims/Release /v1/claims/DeploymentRejection \
    /v1/claims/Status /v1/changes /v1/deployments "/v1/deployments/$PUBQ" \
    /v1/releases /v1/milestones /v1/milestones/M-1 /v1/metrics/dora \
    /v1/metrics/deployments /v1/metrics/incidents; do
	n=$((n + 1))
	code=$(get "$CLIENT_TOKEN" "$p")
	printf '%s\n%s\n' "$p" "$code" > "$T/reads/$n.meta"
	cp "$T/resp" "$T/reads/$n.json"
done
eq "a client may not name a deployment by its SHA" 404 "$(get "$CLIENT_TOKEN" "/v1/deployments/$DEP")"
eq "nor read another tenant's milestone" 404 "$(get "$CLIENT_TOKEN" /v1/milestones/GLOBEX-SECRET)"

# The oracle: every JSON value of every response.
cat > "$T/forbidden.py" <<PY
import json, re
SHAS = ["$SHA1", "$SHA2", "$SHAG"]
WORDS = ["acme/shop", "globex", "GLOBEX", "gx-9", "feat/secret-branch",
         "release/secret-train", "c1-internal-id", "c2-internal-id",
         "cg-internal-id", "shop-d1", "gx-d1", "pd77", "PD-77",
         "Secret incident title", "Operator secret reason", "Alice Dev",
         "admin token", "override.", "Milestone: "]
KEYS = {"seq", "sha", "actor", "basis", "reason", "rejections",
        "checkpoints", "commit", "repo", "branch", "tool_deployment",
        "holding", "rejected", "author"}
def bad(o, path="\$"):
    """The first forbidden thing in o, or None."""
    if isinstance(o, dict):
        for k, v in o.items():
            if k in KEYS:
                return "key %s at %s" % (k, path)
            r = bad(k, path) or bad(v, path + "." + k)
            if r:
                return r
    elif isinstance(o, list):
        for i, v in enumerate(o):
            r = bad(v, "%s[%d]" % (path, i))
            if r:
                return r
    elif isinstance(o, str):
        for s in SHAS:		# any 7-digit prefix is a SHA
            if s[:7] in o:
                return "SHA %s in %r at %s" % (s[:7], o, path)
        for w in WORDS:
            if w in o:
                return "%r in %r at %s" % (w, o, path)
    return None
PY
cat > "$T/reads.py" <<'PY'
import glob, json, os, sys
sys.path.insert(0, sys.argv[1])
from forbidden import bad
d = sys.argv[2]
seen = {"title": False, "description": False, "delivered": False, "deployment": False}
for meta in sorted(glob.glob(d + "/*.meta"), key=lambda p: int(os.path.basename(p)[:-5])):
    path, code = open(meta).read().split("\n")[:2]
    body = open(meta[:-5] + ".json").read()
    try:
        o = json.loads(body)
    except ValueError:
        print("not ok - client GET %s (%s): not JSON: %r" % (path, code, body[:200]))
        continue
    why = bad(o)
    if why:
        print("not ok - client GET %s (%s): %s" % (path, code, why))
    else:
        print("ok - client GET %s (%s): no forbidden field, no other tenant's name" % (path, code))
    if path == "/v1/milestones/M-1" and code == "200":
        p = o["properties"]
        seen["title"] = p.get("title") == "Checkout v2"
        seen["description"] = p.get("description") == "The new checkout, live for every store"
        seen["delivered"] = [x.get("release") for x in p.get("delivered_by", [])] == ["v2.1.0"]
    if path.startswith("/v1/deployments/") and code == "200":
        seen["deployment"] = o["deployment"]["properties"]["state"] == "failed" and len(o["history"]) >= 4
for k, v in sorted(seen.items()):
    print("%s - the client's reads show the %s" % ("ok" if v else "not ok", k))
PY
oracle "client reads" 20 python3 "$T/reads.py" "$T" "$T/reads"
eq "client metrics are across tenants: 403" "403 403 403" \
    "$(for i in 14 15 16; do sed -n 2p "$T/reads/$i.meta"; done | tr '\n' ' ' | sed 's/ $//')"

# Pushes: wait until each client sink has taken the whole feed and
# delivered every row (a state, not a sleep).
settled() {	# settled SINK: its cursor is at the feed's head, nothing waits
	[ "$(sqlite3 "$T/ledger.db" "SELECT (SELECT cursor FROM outbox_cursors WHERE sink = '$1') = (SELECT max(cursor) FROM changes) AND (SELECT count(*) FROM outbox WHERE sink = '$1' AND status != 'done') = 0 AND (SELECT count(*) FROM outbox WHERE sink = '$1') > 0;" 2>/dev/null)" = 1 ]
}
wait_settled() {
	local i
	for i in $(seq 600); do settled "$1" && return 0; sleep 0.05; done
	return 1
}
check "the tenant's sink has every push" wait_settled client
check "the audience: client sink has every push" wait_settled aud
cat > "$T/pushes.py" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[1])
from forbidden import bad
def recs(name):
    return [json.loads(l) for l in open("%s/%s/log" % (sys.argv[1], name))]
types, title, desc, why, extra = set(), False, False, {}, []
for name in ("client", "aud"):
    why[name] = []
    for i, r in enumerate(recs(name)):
        b = json.loads(r["body"])
        w = bad(b) or bad(r["path"])
        if w:
            why[name].append("push %d (%s %s): %s" % (i, b["data"]["claim_type"], b["type"], w))
        st = b["data"].get("state") or {}
        if name == "client":
            types.add(b["data"]["claim_type"])
            if b["data"]["claim_type"] == "Milestone" and b["type"] == "claim.snapshot":
                title = st.get("title") == "Checkout v2"
                desc = st.get("description") == "The new checkout, live for every store"
        else:
            keys = set(st) | set(b["data"].get("patch") or {})
            if not keys <= {"title", "state", "progress"} or (
                    b["type"] == "claim.snapshot" and st.get("title") != "Checkout v2"):
                extra.append("push %d: %s" % (i, sorted(keys)))
    n = len(recs(name))
    print("%s - %d pushes to %s: %s" % ("ok" if n and not why[name] else "not ok", n, name,
          "; ".join(why[name]) or "no forbidden field, no other tenant's name"))
print("%s - the audience: client sink gets only its fields, the title among them %s" % (
      "ok" if not extra else "not ok", "; ".join(extra)))
print("%s - the tenant's sink got Milestone and Deployment pushes: %s" % (
      "ok" if {"Milestone", "Deployment"} <= types else "not ok", sorted(types)))
print("%s - the milestone's snapshot has its title and description" % ("ok" if title and desc else "not ok"))
PY
oracle "pushes" 5 python3 "$T/pushes.py" "$T"

# Closed URLs: the repo link stays one encoded segment.
check "the URL sink got its push" wait_received urls 1
eq "a repo link ../../orgs/x stays inside its path segment" "/r/..%2F..%2Forgs%2Fx/u1" \
    "$(field urls 0 'r["path"]')"

check "the daemon exits 0 on SIGTERM" stop_daemon
finish
