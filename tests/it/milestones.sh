#!/usr/bin/env bash
# Milestones, end to end through the real daemon and agent: commits with
# "Milestone:" trailers and issue keys map to a milestone's checkpoints;
# its progress moves as deployments of those commits are verified in the
# target environment (the Deployment state machine, fed by deployment
# evidence); an incident on a service in scope gives a negative delta
# with its reason, and resolving it removes the delta; it is delivered
# only when every checkpoint is verified.  A deployment mapping to more
# than max_per_deployment milestones is rejected with its reason.  The
# read API: list and one, tenant scoping for client tokens, ETag and 304.
. "$(dirname "$0")/lib.sh"
plan 44

# The scripted events are dated 2025: a timeout that long keeps the stall
# timer from stalling them while the test runs.
write_config '
deployments: { timeout: 100000h }
milestones:
  - id: M-42
    title: "Checkout v2"
    tenant: acme
    start: "2025-08-01"
    due: "2025-08-31"
    environment: production
    scope: { services: [shop], issues: [SHOP-7] }
  - { id: C-1, tenant: other, due: "2025-09-30", scope: { services: [cart] } }
  - { id: C-2, tenant: other, due: "2025-09-30", scope: { services: [cart] } }
  - { id: C-3, tenant: other, due: "2025-09-30" }
  - { id: M-PR, tenant: other, due: "2025-12-31", scope: { services: [pay] } }
milestone_rules:
  max_per_deployment: 2
  services: [ { service: "car*", milestone: C-3 } ]
  severity_weights: { critical: 25 }
  clock: false'
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
emit_fail=0
E() { "$MILEPOST" emit "$@" || emit_fail=$((emit_fail + 1)); }

C1=1111111111111111111111111111111111111111
C2=2222222222222222222222222222222222222222
C3=3333333333333333333333333333333333333333
commit() {	# commit SHA TIME MESSAGE [PROP…]
	local sha=$1 t=$2 msg=$3; shift 3
	E CommitPushed --subject "$sha" --id "shop@$sha" --time "$t" \
	    --link repo=acme/shop --link branch=main --link commit="$sha" \
	    sha="$sha" ref=refs/heads/main message="$msg" "$@"
}
deploy() {	# deploy SERVICE SHA TIME-PREFIX (…T10:00, :10, :20)
	local svc=$1 sha=$2 t=$3 id="$1-${2:0:7}"
	E DeploymentStarted --subject "$id" --id "$id.s" --time "${t}:00:00Z" \
	    deploymentId="$id" service="$svc" environment=production revision="$sha"
	E DeploymentSucceeded --subject "$id" --id "$id.d" --time "${t}:10:00Z" \
	    deploymentId="$id" service="$svc" environment=production revision="$sha"
}
healthy() {	# healthy SERVICE SHA TIME-PREFIX
	local svc=$1 sha=$2 t=$3 id="$1-${2:0:7}"
	E DeploymentHealth --subject "$id" --id "$id.h" --time "${t}:20:00Z" \
	    deploymentId="$id" service="$svc" environment=production \
	    revision="$sha" health=Healthy
}
get() {		# get PATH [CURL-ARGS…]: status; body in $T/resp
	local p=$1; shift
	curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer ${TOKEN:-$READER_TOKEN}" "$@" "$URL$p"
}
m42() { get /v1/milestones/M-42 >/dev/null; json "$1"; }
summary() { m42 '"%s %s/%s %s" % (d["properties"]["state"], d["properties"]["done"], d["properties"]["total"], d["properties"]["progress"])'; }

eq "before any evidence, M-42 is its declared scope (revision 0, SHOP-7)" \
    "0 1 issue:SHOP-7" "$(m42 '"%s %s %s" % (d["revision"], d["properties"]["total"], d["properties"]["checkpoints"][0]["key"])')"

# Three commits: two with the trailer, one naming the issue in scope.
commit $C1 2025-08-02T09:00:00Z $'Add the cart API\n\nMilestone: M-42' 'milestones:=["M-42"]'
commit $C2 2025-08-03T09:00:00Z 'SHOP-7: pay with a card' 'issueKeys:=["SHOP-7"]'
commit $C3 2025-08-05T09:00:00Z $'Receipts\n\nMilestone: M-42' 'milestones:=["M-42"]'
eq "three checkpoints (the issue, two commits), none verified, on track" \
    "on_track 0/3 0.0" "$(summary)"
eq "each commit is a checkpoint with where it was pushed" \
    "commit:$C1 acme/shop main" "$(m42 '" ".join([[c["key"], c["repo"], c["branch"]] for c in d["properties"]["checkpoints"] if c["kind"] == "commit"][0])')"

# C2 is deployed: not yet verified, so nothing counts.
deploy shop $C2 2025-08-04T10
eq "the Deployment is deployed (state machine)" deployed \
    "$(get /v1/claims/Deployment/shop%2Fproduction%2F$C2 >/dev/null; json 'd["properties"]["state"]')"
eq "deployed but not verified: progress does not move" "on_track 0/3 0.0" "$(summary)"
healthy shop $C2 2025-08-04T10
eq "verified in production: C1 and C2 are in it, so C1 and SHOP-7 are done" \
    "on_track 2/3 66.7" "$(summary)"
eq "the checkpoints say which deployment verified them" \
    "shop/production/$C2" "$(m42 '[c for c in d["properties"]["checkpoints"] if c["key"] == "issue:SHOP-7"][0]["deployment"]')"
eq "C3 (pushed later) is not verified" "False" \
    "$(m42 '[c for c in d["properties"]["checkpoints"] if c["key"] == "commit:'$C3'"][0]["verified"]')"
# Event time is the latest seen (C3's push, 08-05 09:00): 4.375 days.
eq "cadence: 2 checkpoints over 4.375 days since start" "0.46" "$(m42 'd["properties"]["cadence"]')"
eq "predicted finish from the cadence (1 left at 0.457/day)" "2025-08-07" "$(m42 'd["properties"]["predicted"]')"

# An incident on shop: a negative delta with its reason and basis.
E IncidentOpened --subject PD-9 --id pd9.open --time 2025-08-06T08:00:00Z \
    --link service=shop incidentId=PD-9 service=shop severity=critical title="Checkout errors"
E IncidentOpened --subject PD-9 --id pd9.update --time 2025-08-06T08:05:00Z \
    --link service=shop incidentId=PD-9 service=shop severity=critical title="Checkout errors (update)"
eq "the incident drops progress by its weight (critical: 25) and puts it at risk" \
    "at_risk 2/3 41.7" "$(summary)"
eq "the delta's reason names the incident, its severity and service" \
    "incident PD-9 (critical) opened on shop: Checkout errors -25.0 True" \
    "$(m42 '" ".join(str(x) for x in [[x["reason"], x["weight"], x["active"]] for x in d["properties"]["deltas"]][0])')"
eq "the update of the same incident is not a second delta" 1 "$(m42 'len(d["properties"]["deltas"])')"
eq "the delta's basis is the IncidentOpened evidence" "pd9.open" \
    "$(m42 'd["properties"]["deltas"][0]["basis"][0]["id"]')"
E IncidentResolved --subject PD-9 --id pd9.res --time 2025-08-06T09:00:00Z \
    incidentId=PD-9 service=shop
eq "resolved: the delta stays in the history, inactive; progress back" \
    "on_track 2/3 66.7 False" "$(summary) $(m42 'd["properties"]["deltas"][0]["active"]')"

# C3 deployed and verified: every checkpoint verified, delivered.
deploy shop $C3 2025-08-08T10
eq "C3 deployed, not verified: not delivered" "on_track 2/3 66.7" "$(summary)"
healthy shop $C3 2025-08-08T10
eq "every checkpoint verified: delivered at 100" "delivered 3/3 100.0" "$(summary)"

# History: every change was a revision; as_of shows the past.
revs=$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM claim_revisions WHERE type = 'Milestone' AND id = 'M-42'")
check "each change is a Milestone revision ($revs)" test "$revs" -ge 7
eq "the Milestone claim is linked to its tenant" acme "$(m42 'd["links"]["tenant"]')"
"$MILEPOST" claim Milestone M-42 > "$T/cli.json"; rc=$?
eq "milepost claim Milestone M-42 (exit 0) reads it too" "0 delivered" \
    "$rc $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["properties"]["state"])' "$T/cli.json")"

# Cardinality: a cart deployment maps to C-1, C-2 (scope) and C-3 (rule).
deploy cart $C1 2025-08-09T10
healthy cart $C1 2025-08-09T10
get /v1/milestones/C-1 >/dev/null
eq "the cart deployment is rejected for C-1, with the reason" \
    "deployment cart/production/$C1 maps to 3 milestones (C-1, C-2, C-3), more than max_per_deployment 2; it counts for none of them" \
    "$(json 'd["properties"]["rejections"][0]["reason"]')"
eq "and for C-3, and it counts for none of them" "1 0" \
    "$(get /v1/milestones/C-3 >/dev/null; json '"%d %d" % (len(d["properties"]["rejections"]), len(d["properties"]["deployments"]))')"
check "the rejection is logged" grep -q "maps to 3 milestones" "$T/milepostd.log"

# A milestone link on the deployment's evidence (the Argo CD annotation
# milepost.io/milestone becomes one) maps it: C-3 has no services.
for t in DeploymentStarted DeploymentSucceeded; do
	E $t --subject z1 --id "z1.$t" --time 2025-08-10T10:00:00Z \
	    --link milestone=C-3 deploymentId=z1 service=zeta environment=production revision=$C3
done
E DeploymentHealth --subject z1 --id z1.h --time 2025-08-10T10:20:00Z \
    --link milestone=C-3 deploymentId=z1 service=zeta environment=production revision=$C3 health=Healthy
eq "a deployment linked to C-3 is counted for it" "zeta/production/$C3" \
    "$(get /v1/milestones/C-3 >/dev/null; json 'd["properties"]["deployments"][-1]["id"]')"

# A branch merged into main (the git hook lists each commit's parents):
# the feature commit with the trailer was pushed to feature/y, never to
# main, yet the deployment of the merge contains it; one on a branch that
# was not merged stays unverified.
P0=$(printf 'a0%.0s' $(seq 20)); F1=$(printf 'b1%.0s' $(seq 20))
F2=$(printf 'c2%.0s' $(seq 20)); MG=$(printf 'd3%.0s' $(seq 20))
pcommit() {	# pcommit SHA BRANCH TIME PARENTS-JSON [PROP…]
	local sha=$1 br=$2 t=$3 par=$4; shift 4
	E CommitPushed --subject "$sha" --id "pay@$sha" --time "$t" \
	    --link repo=acme/pay --link branch="$br" --link commit="$sha" \
	    sha="$sha" ref="refs/heads/$br" "parents:=$par" "$@"
}
pcommit $P0 main 2025-08-10T09:00:00Z '[]' message=init
pcommit $F1 feature/y 2025-08-11T09:00:00Z "[\"$P0\"]" message="pay: refunds" 'milestones:=["M-PR"]'
pcommit $F2 feature/z 2025-08-11T10:00:00Z "[\"$P0\"]" message="pay: later" 'milestones:=["M-PR"]'
pcommit $MG main 2025-08-12T09:00:00Z "[\"$P0\",\"$F1\"]" message="merge feature/y"
eq "M-PR: two checkpoints, none verified" "0 2" \
    "$(get /v1/milestones/M-PR >/dev/null; json '"%d %d" % (d["properties"]["done"], d["properties"]["total"])')"
deploy pay $MG 2025-08-12T10
healthy pay $MG 2025-08-12T10
get /v1/milestones/M-PR >/dev/null
eq "the merge's deployment verifies the merged commit, not the other" "$F1:True $F2:False" \
    "$(json '" ".join("%s:%s" % (c["sha"], c["verified"]) for c in d["properties"]["checkpoints"])')"
eq "M-PR: 1 of 2, 50%" "1 2 50.0" \
    "$(json '"%d %d %s" % (d["properties"]["done"], d["properties"]["total"], d["properties"]["progress"])')"
# The same through GitHub: its push payload has no parents, but the head
# commit of a merge's push lists what the merge brought (`merged`).
F3=$(printf 'e4%.0s' $(seq 20)); MG2=$(printf 'f5%.0s' $(seq 20))
E CommitPushed --subject "$F3" --id "gh.$F3" --time 2025-08-13T09:00:00Z \
    --link repo=acme/pay --link branch=feature/w sha="$F3" ref=refs/heads/feature/w 'milestones:=["M-PR"]'
E CommitPushed --subject "$MG2" --id "gh.$MG2" --time 2025-08-14T09:00:00Z \
    --link repo=acme/pay --link branch=main sha="$MG2" ref=refs/heads/main "merged:=[\"$F3\"]"
deploy pay $MG2 2025-08-14T10
healthy pay $MG2 2025-08-14T10
eq "a merge's merged commits are contained in its deployment" "$F1:True $F2:False $F3:True" \
    "$(get /v1/milestones/M-PR >/dev/null; json '" ".join("%s:%s" % (c["sha"], c["verified"]) for c in d["properties"]["checkpoints"])')"

# The read API.
eq "GET /v1/milestones lists the five, in configuration order" "M-42 C-1 C-2 C-3 M-PR" \
    "$(get /v1/milestones >/dev/null; json '" ".join(m["id"] for m in d["milestones"])')"
TOKEN=$CLIENT_TOKEN
eq "a client token (tenant acme) sees only acme's milestone" "M-42" \
    "$(get /v1/milestones >/dev/null; json '" ".join(m["id"] for m in d["milestones"])')"
eq "another tenant's milestone is a 404 for it" 404 "$(get /v1/milestones/C-1)"
eq "its view has no basis or rejections" "False False" \
    "$(get /v1/milestones/M-42 >/dev/null; json '"%s %s" % ("basis" in d, "rejections" in d["properties"])')"
TOKEN=
eq "unknown milestone: 404" 404 "$(get /v1/milestones/M-999)"
eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/milestones")"
get /v1/milestones/M-42 >/dev/null
etag=$(tr -d '\r' < "$T/hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
check "an ETag is sent" test -n "$etag"
eq "If-None-Match with it: 304" 304 "$(get /v1/milestones/M-42 -H "If-None-Match: $etag")"
eq "as_of before the incident: 66.7, on track" "on_track 66.7" \
    "$(get "/v1/milestones/M-42?as_of=$(sqlite3 "$T/ledger.db" "SELECT printf('%s.%06dZ', strftime('%Y-%m-%dT%H:%M:%S', recorded_at / 1000000, 'unixepoch'), recorded_at % 1000000) FROM claim_revisions WHERE type='Milestone' AND id='M-42' AND properties LIKE '%\"progress\":66.7%' ORDER BY revision LIMIT 1")" >/dev/null; json '"%s %s" % (d["properties"]["state"], d["properties"]["progress"])')"
# A trailer naming a milestone nobody declared is a visible rejection.
commit 7777777aaaa 2025-08-20T09:00:00Z $'Tidy\n\nMilestone: M-01' 'milestones:=["M-01"]'
commit 8888888bbbb 2025-08-21T09:00:00Z $'More\n\nMilestone: M-01' 'milestones:=["M-01"]'
eq "an undeclared milestone named by commits is listed under unknown" \
    "200 M-01 2 8888888bbbb" \
    "$(get /v1/milestones) $(json '" ".join("%s %s %s" % (u["milestone"], u["commits"], u["last_commit"]) for u in d["unknown"])')"
eq "... but not to a client" "200 False" \
    "$(TOKEN=$CLIENT_TOKEN get /v1/milestones) $(json '"unknown" in d')"
eq "bad configuration: a rule naming an undeclared milestone" 1 \
    "$(printf 'milestones: [ { id: M-1, tenant: a, due: "2025-01-01" } ]\nmilestone_rules: { branches: [ { pattern: "x/*", milestone: M-2 } ] }\n' > "$T/bad.yaml"; "$MILEPOSTD" -n -c "$T/bad.yaml" 2>"$T/bad.err"; echo $?)"
check "the error names the rule and the milestone" grep -q "branches: entry 1: milestone M-2 is not declared" "$T/bad.err"
"$MILEPOST" claims rebuild -c "$T/milepost.yaml" > "$T/rb" 2>&1; rc=$?
eq "claims rebuild beside the daemon recomputes the same Milestone revisions" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/rb"
eq "the agent delivered everything" 0 "$emit_fail"
check "the daemon exits 0 on SIGTERM" stop_daemon
finish
