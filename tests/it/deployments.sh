#!/usr/bin/env bash
# Deployments end to end: tool fixtures (Argo CD, Jenkins, PagerDuty) sent
# to the real milepostd the way each tool sends and signs them, and the
# real agent for smoke tests; the state of each deployment, the time of
# each transition, refused attempts, overrides and their roles, a stall
# found by the daemon's own timer, dependencies and a release over two
# regions; then the ledger still verifies and the claims rebuild equal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 118

FIX="$top_srcdir/tests/fixtures"
ARGO_TOK="argo-$(head -c 12 /dev/urandom | xxd -p)"
JK_PW="jk-$(head -c 12 /dev/urandom | xxd -p)"
PD_SEC="pd-$(head -c 12 /dev/urandom | xxd -p)"
OP_TOKEN="operator-token-$(head -c 8 /dev/urandom | xxd -p)"
WR_TOKEN="writer-token-$(head -c 8 /dev/urandom | xxd -p)"
SHA=9fceb02d0ae598e95dc970b74767f19372d61af8
OLD=1f2e3d4c5b6a79881726354453627180a9b8c7d6
NEW=da1560886d4f094c3e6c9ef40349f7d38b5d27d7

write_config "  - { token: \"$OP_TOKEN\", role: operator }
  - { token: \"$WR_TOKEN\", role: writer }
sources:
  argocd: { bearer: \"$ARGO_TOK\" }
  jenkins: { basic: { username: jenkins, password: \"$JK_PW\" } }
  pagerduty: { secret: \"$PD_SEC\" }
deployments:
  verify_by: [health, test]
  environments:
    production: { verify_by: [test] }
    staging: { timeout: 2s }
  dependencies: { frontend: [backend] }
  overrides: { forbid_in: [production] }
  pipelines:
    - { name: acme/cart/deploy, service: cart, environment: production }"
start_daemon

# get PATH [TOKEN]: GET with a bearer token (reader by default) into resp.
get() {
	curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer ${2:-$READER_TOKEN}" "$URL$1"
}
# dep ID FIELD: a top-level field, or p.KEY of the latest properties.
dep() {
	get "/v1/deployments/$(printf %s "$1" | sed 's,/,%2F,g')" > /dev/null
	case $2 in
	p.*) json "d['deployment']['properties']['${2#p.}']" ;;
	*) json "d['$2']" ;;
	esac
}
# trans ID STATE: the time the deployment entered STATE (last time).
trans() {
	get "/v1/deployments/$(printf %s "$1" | sed 's,/,%2F,g')" > /dev/null
	json "[h['since'] for h in d['history'] if h['state'] == '$2'][-1]"
}
argo() {
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H "Authorization: Bearer $ARGO_TOK" --data-binary "@$FIX/argocd/$1.json" \
	    "$URL/hooks/argocd"
}
# jenkins PHASE NUMBER COMMIT TIME [STATUS]: a Notification plugin body for
# the deploy job acme/cart/deploy, from the fixture of that phase.
jenkins() {
	local f=started
	[ "$1" = COMPLETED ] && f=completed
	[ "$1" = QUEUED ] && f=queued
	python3 - "$FIX/jenkins/$f.json" "$T/jk.json" "$2" "$3" "$4" "${5:-SUCCESS}" <<'PY'
import json, sys, datetime
d = json.load(open(sys.argv[1]))
b = d["build"]
d["name"] = d["display_name"] = "deploy"
d["url"] = "job/acme/job/cart/job/deploy/"
b["number"] = int(sys.argv[3])
b["url"] = "job/acme/job/cart/job/deploy/%s/" % sys.argv[3]
b["full_url"] = "https://jenkins.example.com/" + b["url"]
b["scm"]["commit"] = sys.argv[4]
t = datetime.datetime.fromisoformat(sys.argv[5].replace("Z", "+00:00"))
b["timestamp"] = int(t.timestamp() * 1000)
if "status" in b:
    b["status"] = sys.argv[6]
json.dump(d, open(sys.argv[2], "w"))
PY
	local -a args=()
	while IFS= read -r line; do args+=(-H "$line"); done < "$FIX/jenkins/headers"
	curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" --data-binary "@$T/jk.json" \
	    "http://jenkins:$JK_PW@127.0.0.1:$PORT/hooks/jenkins"
}

# (a) Argo CD: sync running, succeeded, on-deployed Healthy, smoke test.
# The Application's annotations milepost.io/region and milepost.io/release
# (in the fixtures) make the region part of the deployment and a release.
ADEP=shop/production/eu-west-1/$SHA
eq "on-sync-running: 202" 202 "$(argo on-sync-running)"
eq "the sync makes it in_progress" in_progress "$(dep $ADEP state)"
eq "... since the operation's start" 2025-07-03T10:06:03Z "$(dep $ADEP since)"
eq "the transition's actor is the source" argocd "$(dep $ADEP p.actor)"
eq "the tool's own deployment id is kept" "shop@$SHA" "$(dep $ADEP p.tool_deployment)"
eq "the region annotation is the deployment's region" eu-west-1 "$(dep $ADEP p.region)"
eq "the release annotation is its release" "2025.07.3 2025.07.3" \
    "$(dep $ADEP p.release) $(json 'd["deployment"]["links"]["release"]')"
# A smoke test before the deploy finished: refused, and recorded.
"$MILEPOST" emit TestRun --time 2025-07-03T10:06:05Z --id smoke-early status=passed \
    suite=smoke --link "deployment=shop@$SHA"
eq "a passing test during the sync is refused" in_progress "$(dep $ADEP state)"
eq "... and recorded with its reason" "verify_after_deployed|verified needs the deployment to be deployed first; it is in_progress" \
    "$(dep $ADEP rejected | python3 -c 'import ast,sys; r=ast.literal_eval(sys.stdin.read())[0]; print(r["rule"] + "|" + r["reason"])')"
eq "on-sync-succeeded: 202" 202 "$(argo on-sync-succeeded)"
eq "the sync's success makes it deployed" deployed "$(dep $ADEP state)"
eq "on-deployed (Healthy): 202" 202 "$(argo on-deployed)"
eq "Healthy alone does not verify in production (verify_by: [test])" deployed "$(dep $ADEP state)"
"$MILEPOST" emit TestRun --time 2025-07-03T10:08:00Z --id smoke-1 status=passed suite=smoke \
    service=shop environment=production; rc=$?
eq "the agent's smoke test is accepted" 0 "$rc"
eq "a passing smoke test after the deploy gives verified" verified "$(dep $ADEP state)"
eq "... at the test's time" 2025-07-03T10:08:00Z "$(dep $ADEP since)"
eq "the history lists every transition" "in_progress deployed verified" \
    "$(get "/v1/deployments/${ADEP//\//%2F}" >/dev/null; json '" ".join(h["state"] for h in d["history"])')"
eq "the verified transition's basis is the smoke test" "smoke-1" \
    "$(json 'd["history"][-1]["basis"][0]["id"]')"
etag=$(curl -s -D - -o /dev/null -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/deployments/$ADEP" | sed -n 's/^ETag: //Ip' | tr -d '\r')
check "GET /v1/deployments/{id} sends an ETag" test -n "$etag"
eq "If-None-Match answers 304" 304 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" -H "If-None-Match: $etag" "$URL/v1/deployments/$ADEP")"
eq "the Deployment claim is also under /v1/claims" verified \
    "$(get "/v1/claims/Deployment/${ADEP//\//%2F}" >/dev/null; json 'd["properties"]["state"]')"

# (b) Jenkins: cart OLD deployed; NEW fails; an incident; rollback; smoke.
CA=cart/production/$OLD
CB=cart/production/$NEW
eq "Jenkins #41 QUEUED" 202 "$(jenkins QUEUED 41 $OLD 2025-07-01T08:59:00Z)"
eq "the deploy job's QUEUED announces the deployment: planned" planned "$(dep $CA state)"
eq "Jenkins #41 STARTED" 202 "$(jenkins STARTED 41 $OLD 2025-07-01T09:00:00Z)"
eq "Jenkins #41 COMPLETED" 202 "$(jenkins COMPLETED 41 $OLD 2025-07-01T09:04:00Z)"
eq "the deploy job's success makes the old revision deployed" deployed "$(dep $CA state)"
jenkins STARTED 42 $NEW 2025-07-03T10:02:11Z > /dev/null
eq "Jenkins #42 FAILURE" 202 "$(jenkins COMPLETED 42 $NEW 2025-07-03T10:09:09Z FAILURE)"
eq "the failed deploy job makes the deployment failed" failed "$(dep $CB state)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["event"]["data"]["service"]["summary"]="cart"; open(sys.argv[2],"w").write(json.dumps(d))' \
    "$FIX/pagerduty/incident.triggered.json" "$T/pd.json"
pdsig="v1=$(openssl dgst -sha256 -hmac "$PD_SEC" < "$T/pd.json" | sed 's/^.*= //')"
args=(); while IFS= read -r line; do args+=(-H "$line"); done < "$FIX/pagerduty/incident.triggered.headers"
eq "PagerDuty incident.triggered: 202" 202 "$(curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" \
    -H "X-PagerDuty-Signature: $pdsig" --data-binary "@$T/pd.json" "$URL/hooks/pagerduty")"
eq "the incident leaves the failed deployment failed" failed "$(dep $CB state)"
eq "... and does not touch the older deployment" deployed "$(dep $CA state)"
eq "Jenkins #43 STARTED (the old revision again)" 202 "$(jenkins STARTED 43 $OLD 2025-07-03T10:30:00Z)"
eq "redeploying the old revision rolls the failed one back" rolling_back "$(dep $CB state)"
eq "Jenkins #43 COMPLETED" 202 "$(jenkins COMPLETED 43 $OLD 2025-07-03T10:33:20Z)"
eq "the rollback's success makes it reverted" reverted "$(dep $CB state)"
"$MILEPOST" emit TestRun --time 2025-07-03T10:35:00Z --id smoke-cart status=passed \
    suite=smoke service=cart environment=production
eq "validation after the rollback gives recovered" recovered "$(dep $CB state)"
eq "... and verifies the restored revision" verified "$(dep $CA state)"
eq "failed at the deploy job's time" 2025-07-03T10:09:09Z "$(trans $CB failed)"
eq "rolling_back at the rollback's start" 2025-07-03T10:30:00Z "$(trans $CB rolling_back)"
eq "reverted at the rollback's end" 2025-07-03T10:33:20Z "$(trans $CB reverted)"
eq "recovered at the validation" 2025-07-03T10:35:00Z "$(trans $CB recovered)"
eq "recovered names its cause" "rollback to $CA is verified" "$(dep $CB p.reason)"
# The incident is resolved (the fixture, for the same service, signed).
pd() {	# FIXTURE: edit the service to cart, sign, POST; the status code
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["event"]["data"]["service"]["summary"]="cart"; open(sys.argv[2],"w").write(json.dumps(d))' \
	    "$FIX/pagerduty/$1.json" "$T/pd.json"
	local sig="v1=$(openssl dgst -sha256 -hmac "$PD_SEC" < "$T/pd.json" | sed 's/^.*= //')"
	local -a a=()
	while IFS= read -r line; do a+=(-H "$line"); done < "$FIX/pagerduty/$1.headers"
	curl -s -o "$T/resp" -w '%{http_code}' "${a[@]}" -H "X-PagerDuty-Signature: $sig" \
	    --data-binary "@$T/pd.json" "$URL/hooks/pagerduty"
}
eq "PagerDuty incident.resolved: 202" 202 "$(pd incident.resolved)"
# Expected values, by hand from the times the fixtures carry: MTTSR of the
# failed deploy is from failed (#42's end) to reverted (#43's end, the
# first state that resolves it); MTTR of the incident from its
# incident.triggered's occurred_at to incident.resolved's.
secs() {	# A B: B - A in seconds (RFC 3339, fractions kept), as %.3f
	python3 -c 'import sys,datetime as D; p=lambda s: D.datetime.fromisoformat(s.replace("Z","+00:00")); print("%.3f" % (p(sys.argv[2]) - p(sys.argv[1])).total_seconds())' "$1" "$2"
}
want_mttsr=$(secs 2025-07-03T10:09:09Z 2025-07-03T10:33:20Z)
want_mttr=$(secs "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["event"]["occurred_at"])' "$FIX/pagerduty/incident.triggered.json")" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["event"]["occurred_at"])' "$FIX/pagerduty/incident.resolved.json")")
eq "(the hand-computed MTTSR and MTTR)" "1451.000 2491.558" "$want_mttsr $want_mttr"
MQ="from=2025-07-01T00:00:00Z&to=2025-08-01T00:00:00Z"
eq "GET /v1/metrics/deployments?service=cart" 200 "$(get "/v1/metrics/deployments?service=cart&environment=production&$MQ")"
eq "MTTSR of the failed deployment, to the second" "1 $want_mttsr $want_mttsr" \
    "$(json '"%d %.3f %.3f" % (d["mttsr"]["failed"]["resolved"], d["mttsr"]["failed"]["mean_seconds"], d["mttsr"]["failed"]["median_seconds"])')"
eq "... its time in failed and in rolling_back" "$want_mttsr" \
    "$(json '"%.3f" % (d["seconds_in_state"]["failed"] + d["seconds_in_state"]["rolling_back"])')"
eq "GET /v1/metrics/incidents?service=cart" 200 "$(get "/v1/metrics/incidents?service=cart&$MQ")"
eq "MTTR of the incident, to the millisecond" "1 1 $want_mttr $want_mttr" \
    "$(json '"%d %d %.3f %.3f" % (d["incidents"], d["mttr"]["samples"], d["mttr"]["mean_seconds"], d["mttr"]["median_seconds"])')"
MILEPOST_TOKEN=$READER_TOKEN "$MILEPOST" metrics deployments --service cart --environment production \
    --since 2025-07-01T00:00:00Z --until 2025-08-01T00:00:00Z > "$T/cli.json"; rc=$?
eq "milepost metrics deployments: the same MTTSR" "0 $want_mttsr" \
    "$rc $(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["mttsr"]["failed"]["mean_seconds"])' "$T/cli.json")"
MILEPOST_TOKEN=$READER_TOKEN "$MILEPOST" metrics incidents --service cart \
    --since 2025-07-01T00:00:00Z --until 2025-08-01T00:00:00Z > "$T/cli.json"; rc=$?
eq "milepost metrics incidents: the same MTTR" "0 $want_mttr" \
    "$rc $(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["mttr"]["mean_seconds"])' "$T/cli.json")"

# (c) A stall: a 2 s timeout in staging; no request until it is stalled.
"$MILEPOST" emit DeploymentStarted --id stall-start deploymentId=api-1 service=api \
    environment=staging revision=v1.2.0
"$MILEPOST" emit DeploymentStarted --id stall2-start deploymentId=worker-1 service=worker \
    environment=staging revision=v3.0.0
SDEP=api/staging/v1.2.0
WDEP=worker/staging/v3.0.0
eq "the staging deployment is in progress" in_progress "$(dep $SDEP state)"
for i in $(seq 60); do
	s=$(sqlite3 "$T/ledger.db" "SELECT json_extract(properties,'\$.state') FROM claim_revisions WHERE type='Deployment' AND id='$SDEP' ORDER BY revision DESC LIMIT 1")
	[ "$s" = stalled ] && break
	sleep 0.2
done
eq "no progress within 2 s gives stalled, with no request in between" stalled "$s"
eq "the stall is DeploymentStalled evidence from milepostd, in the chain" 1 \
    "$(rows "type='DeploymentStalled' AND source='milepostd' AND subject='$SDEP'")"
eq "the stalled transition's actor is milepostd" milepostd "$(dep $SDEP p.actor)"
# MTTSR of a stall: the second staging deployment stalls too, then makes
# progress (started again 10 s after the stall) and is deployed 37 s after
# it.  The stall's time is the DeploymentStalled evidence's (the ledger's).
for i in $(seq 60); do
	[ "$(rows "type='DeploymentStalled' AND subject='$WDEP'")" = 1 ] && break
	sleep 0.2
done
stall_us=$(sqlite3 "$T/ledger.db" "SELECT time FROM evidence WHERE type='DeploymentStalled' AND subject='$WDEP'")
check "the second deployment stalls as well" test -n "$stall_us"
at() {	# SECONDS: RFC 3339 of the stall's time plus SECONDS, microseconds kept
	python3 -c 'import sys,datetime as D; t=D.datetime(1970,1,1,tzinfo=D.timezone.utc)+D.timedelta(microseconds=int(sys.argv[1])+int(sys.argv[2])*1000000); print(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))' "$stall_us" "$1"
}
eq "stalled at the stall evidence's time" "$(at 0)" "$(trans $WDEP stalled)"
"$MILEPOST" emit DeploymentStarted --time "$(at 10)" --id stall2-progress deploymentId=worker-1 \
    service=worker environment=staging revision=v3.0.0
"$MILEPOST" emit DeploymentSucceeded --time "$(at 37)" --id stall2-done deploymentId=worker-1 \
    service=worker environment=staging revision=v3.0.0
eq "the stalled deployment is deployed after all" deployed "$(dep $WDEP state)"
NOWQ="from=$(date -ud '-1 day' +%Y-%m-%dT%H:%M:%SZ)&to=$(date -ud '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
eq "GET /v1/metrics/deployments?service=worker" 200 "$(get "/v1/metrics/deployments?service=worker&$NOWQ")"
eq "MTTSR of the stalled deployment: stall to deployed, 37 s" "1 37.000 0" \
    "$(json '"%d %.3f %d" % (d["mttsr"]["stalled"]["resolved"], d["mttsr"]["stalled"]["mean_seconds"], d["mttsr"]["failed"]["resolved"])')"

# (d) Dependencies and a release over two regions.
emit_dep() {	# TYPE SERVICE REGION TIME
	"$MILEPOST" emit "$1" --time "$4" --id "$1-$2-$3" deploymentId="$2-$3" service="$2" \
	    environment=qa region="$3" revision=r7 release=R-7
}
emit_dep DeploymentStarted frontend eu 2025-07-04T09:00:00Z
emit_dep DeploymentSucceeded frontend eu 2025-07-04T09:01:00Z
emit_dep DeploymentStarted backend eu 2025-07-04T09:00:00Z
"$MILEPOST" emit TestRun --time 2025-07-04T09:02:00Z --id fe-smoke status=passed \
    --link deployment=frontend/qa/eu/r7
eq "the downstream service waits for its upstream" blocked "$(dep frontend/qa/eu/r7 state)"
eq "... saying which" "backend (backend/qa/eu/r7) is in_progress" \
    "$(dep frontend/qa/eu/r7 state >/dev/null; json '" ".join(d["deployment"]["properties"]["waiting_for"])')"
emit_dep DeploymentSucceeded backend eu 2025-07-04T09:03:00Z
"$MILEPOST" emit DeploymentHealth --time 2025-07-04T09:04:00Z --id be-health deploymentId=backend-eu \
    health=Healthy service=backend environment=qa region=eu revision=r7
eq "a Healthy upstream (qa verifies by health) is verified" verified "$(dep backend/qa/eu/r7 state)"
eq "... and the downstream proceeds" verified "$(dep frontend/qa/eu/r7 state)"
eq "... at the upstream's verification" 2025-07-04T09:04:00Z "$(dep frontend/qa/eu/r7 since)"
eq "the downstream's basis holds its own check and the upstream's" "fe-smoke be-health" \
    "$(json '" ".join(b["id"] for b in d["history"][-1]["basis"])')"
eq "GET /v1/releases/R-7: verified" verified "$(get /v1/releases/R-7 >/dev/null; json 'd["properties"]["state"]')"
emit_dep DeploymentStarted backend us 2025-07-04T09:10:00Z
emit_dep DeploymentFailed backend us 2025-07-04T09:12:00Z
get /v1/releases/R-7 > /dev/null
eq "one region failing: partially_deployed" partially_deployed "$(json 'd["properties"]["state"]')"
eq "... held back by that component" "backend/qa/us/r7" "$(json '" ".join(d["properties"]["holding"])')"
eq "... listing three components" 3 "$(json 'len(d["properties"]["components"])')"

# A release over two regions from Argo CD: one Application per region
# (checkout-eu, checkout-us), both annotated milepost.io/release: R-8.
argo_app() {	# FIXTURE APP REGION TIME: the fixture for another app, POSTed
	python3 - "$FIX/argocd/$1.json" "$T/argo.json" "$2" "$3" "$4" "$NEW" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
app, region, t, rev = sys.argv[3:7]
d["id"] = "%s@%s.%s.%s" % (app, rev, d["trigger"], t)
d["app"], d["region"], d["release"], d["revision"] = app, region, "R-8", rev
d["environment"] = "preprod"
d["startedAt"] = d["startedAt"] and t
if d["finishedAt"]:
    d["finishedAt"] = d["healthChangedAt"] = t
json.dump(d, open(sys.argv[2], "w"))
PY
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H "Authorization: Bearer $ARGO_TOK" --data-binary "@$T/argo.json" "$URL/hooks/argocd"
}
eq "checkout-eu on-sync-running" 202 "$(argo_app on-sync-running checkout-eu eu-west-1 2025-07-05T08:00:00Z)"
eq "checkout-us on-sync-running" 202 "$(argo_app on-sync-running checkout-us us-east-1 2025-07-05T08:00:05Z)"
eq "checkout-eu on-sync-succeeded" 202 "$(argo_app on-sync-succeeded checkout-eu eu-west-1 2025-07-05T08:01:00Z)"
eq "checkout-eu on-deployed (Healthy)" 202 "$(argo_app on-deployed checkout-eu eu-west-1 2025-07-05T08:02:00Z)"
eq "the eu app is verified by its health (preprod: health or test)" verified \
    "$(dep checkout-eu/preprod/eu-west-1/$NEW state)"
get /v1/releases/R-8 > /dev/null
eq "while us is syncing the release is in_progress" in_progress "$(json 'd["properties"]["state"]')"
eq "checkout-us on-sync-failed" 202 "$(argo_app on-sync-failed checkout-us us-east-1 2025-07-05T08:03:00Z)"
eq "the us app is failed" failed "$(dep checkout-us/preprod/us-east-1/$NEW state)"
get /v1/releases/R-8 > /dev/null
eq "one Release claim over both regions: partially_deployed" partially_deployed "$(json 'd["properties"]["state"]')"
eq "... its components, by region" "checkout-eu:eu-west-1:verified checkout-us:us-east-1:failed" \
    "$(json '" ".join(sorted("%s:%s:%s" % (c["service"], c["region"], c["state"]) for c in d["properties"]["components"]))')"
eq "... held back by the failed region" "checkout-us/preprod/us-east-1/$NEW" "$(json '" ".join(d["properties"]["holding"])')"

# (e) Overrides: roles, audit, production.
post_status() {	# ID TOKEN STATE REASON
	curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $2" \
	    --data-binary "{\"state\":\"$3\",\"reason\":\"$4\"}" \
	    "$URL/v1/deployments/$(printf %s "$1" | sed 's,/,%2F,g')/status"
}
# (The stall timer may still append DeploymentStalled for the staging
# deployments meanwhile: that is not a request's doing.)
n=$(rows "type <> 'DeploymentStalled'")
eq "a reader may not override: 403" 403 "$(post_status $SDEP "$READER_TOKEN" failed x)"
eq "a writer may not override: 403" 403 "$(post_status $SDEP "$WR_TOKEN" failed x)"
eq "a client may not override: 403" 403 "$(post_status $SDEP "$CLIENT_TOKEN" failed x)"
eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --data-binary '{}' "$URL/v1/deployments/$SDEP/status")"
eq "a state that is not one: 422 naming it" "422 state" "$(post_status $SDEP "$OP_TOKEN" done x) $(json 'd["property"]')"
eq "no reason: 422 naming it" "422 reason" "$(post_status $SDEP "$OP_TOKEN" failed '') $(json 'd["property"]')"
eq "an unknown deployment: 404" 404 "$(post_status nope/qa/x "$OP_TOKEN" failed x)"
eq "refused requests write nothing" "$n" "$(rows "type <> 'DeploymentStalled'")"
eq "an operator may override: 200" 200 "$(post_status $SDEP "$OP_TOKEN" manual_intervention "paged the on-call")"
eq "... the new state is returned" manual_intervention "$(json 'd["state"]')"
eq "the override is DeploymentOverride evidence from api" 1 "$(rows "type='DeploymentOverride' AND source='api'")"
eq "the actor is the token's role" "operator token" "$(dep $SDEP p.actor | cut -d' ' -f1-2)"
eq "the reason is kept" "manual override: paged the on-call" "$(dep $SDEP p.reason)"
eq "an admin override in production is refused: 403" 403 "$(post_status $CB "$ADMIN_TOKEN" verified "looks fine")"
eq "... saying why" "overrides are forbidden in production (deployments.overrides.forbid_in)" "$(json 'd["error"]')"
eq "... and the state is unchanged" recovered "$(dep $CB state)"
eq "... and the refused attempt is in the deployment's history" "override_forbidden verified" \
    "$(dep $CB rejected >/dev/null; json 'd["rejected"][-1]["rule"] + " " + d["rejected"][-1]["attempted"]')"
eq "the attempt is in the chain too" 2 "$(rows "type='DeploymentOverride' AND source='api'")"
# Overrides posted as agent evidence are refused by the state machine.
"$MILEPOST" emit DeploymentOverride --id sneaky deploymentId=$SDEP state=verified reason=x actor=me
eq "an override that is not from the API is refused" manual_intervention "$(dep $SDEP state)"
eq "... with its reason" override_source "$(dep $SDEP rejected >/dev/null; json 'd["rejected"][-1]["rule"]')"
# The state machine refuses an override to the state it is in: a 409.
eq "an override to the state it is in: 409" 409 "$(post_status $SDEP "$OP_TOKEN" manual_intervention "again")"
eq "... naming the rule, rejected" "override_same_state True" "$(json '"%s %s" % (d["rule"], d["rejected"])')"
eq "... and the state is unchanged" manual_intervention "$(dep $SDEP state)"

# The CLI.
out=$(MILEPOST_TOKEN=$OP_TOKEN "$MILEPOST" deploy set $SDEP in_progress --reason "retrying"); rc=$?
eq "milepost deploy set with an operator token exits 0" 0 "$rc"
eq "... and prints the new state" in_progress "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
MILEPOST_TOKEN=$READER_TOKEN "$MILEPOST" deploy set $SDEP failed --reason x 2> "$T/err"; rc=$?
eq "milepost deploy set with a reader token exits 2" 2 "$rc"
MILEPOST_TOKEN=$ADMIN_TOKEN "$MILEPOST" deploy set $CB failed --reason x 2> "$T/err"; rc=$?
eq "milepost deploy set refused in production exits 2 (403)" 2 "$rc"
"$MILEPOST" deploy set $SDEP failed 2> /dev/null; rc=$?
eq "milepost deploy set without --reason is a usage error" 2 "$rc"
out=$(MILEPOST_TOKEN=$READER_TOKEN "$MILEPOST" deploy show $CB); rc=$?
eq "milepost deploy show" "0 recovered" "$rc $(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
out=$(MILEPOST_TOKEN=$READER_TOKEN "$MILEPOST" deploy list --state verified --environment qa); rc=$?
eq "milepost deploy list --state verified --environment qa" "0 backend/qa/eu/r7 frontend/qa/eu/r7" \
    "$rc $(printf '%s' "$out" | python3 -c 'import json,sys; print(" ".join(c["id"] for c in json.load(sys.stdin)["deployments"]))')"
eq "GET /v1/deployments?service=cart lists both revisions" 2 \
    "$(get '/v1/deployments?service=cart' >/dev/null; json 'len(d["deployments"])')"
eq "a state filter that is not a state: 400" 400 "$(get '/v1/deployments?state=done')"
# A client token sees only its tenant's deployments (none carry one here).
eq "a client token lists only its tenant's deployments: none" "200 0" \
    "$(get /v1/deployments "$CLIENT_TOKEN") $(json 'len(d["deployments"])')"
eq "a client token gets 404 for another tenant's deployment" 404 \
    "$(get "/v1/deployments/$(printf %s "$CB" | sed 's,/,%2F,g')" "$CLIENT_TOKEN")"

# Everything derived is in the chain's transactions and rebuilds equal.
stop_daemon; rc=$?
eq "milepostd stops cleanly" 0 "$rc"
"$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db" > /dev/null; rc=$?
eq "the ledger verifies" 0 "$rc"
"$MILEPOST" claims rebuild -c "$T/milepost.yaml" > "$T/rebuild" 2>&1; rc=$?
eq "claims rebuild reproduces every deployment, rejection and release" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/rebuild"
finish
