#!/usr/bin/env bash
# Presentation (the seams issue, point 10): enum errors name the nearest
# and the valid values (evidence properties, deployment states in the API
# and the CLI, property types in the configuration); GET /v1/claims lists
# the claim types with their counts; a unique commit prefix of at least 7
# characters finds a deployment (GET /v1/deployments/{sha}, milepost
# deploy show), and an ambiguous one is a 409 that lists the candidates.
. "$(dirname "$0")/lib.sh"
plan 32

write_config 'evidence_types:
  Probe:
    properties:
      level: { type: integr }'
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
eq "a misspelt property type fails -n (exit 1)" 1 "$rc"
check "... naming the nearest and the valid types" grep -q \
    'milepost.yaml:[0-9]*: .*level.type: unknown type integr (did you mean integer?; valid: text, enum, boolean, integer, number, percentage, timespan or timestamp)' "$T/err"

write_config 'deployments: { timeout: 100000h }
computed_claims:
  BuildLifeCycleSLA:
    id: "$MonthName-$YYYY"
    trigger: BuildCompleted
    collectors:
      c: { type: BuildCompleted, count: 1000, date_offset: CurrentMonth, property: duration }
    properties:
      metSLA: { type: percentage, expression: percentLessThanTimeSpan, collector: c, threshold: 500s }'
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
get() {		# get PATH [CURL-ARGS…]: status; body in $T/resp
	local p=$1; shift
	curl -s -o "$T/resp" -w '%{http_code}' \
	    -H "Authorization: Bearer ${TOKEN:-$READER_TOKEN}" "$@" "$URL$p"
}

# --- enum errors ----------------------------------------------------------
"$MILEPOST" emit BuildCompleted --subject b1 buildStatus=succes duration=1s 2> "$T/err"; rc=$?
eq "an enum value that is not an option: refused (exit 2)" 2 "$rc"
check "... with the nearest and the valid values" \
    grep -q 'buildStatus: unknown value succes (did you mean success?; valid: success or failure)' "$T/err"
eq "GET /v1/deployments?state=deploied: 400" 400 "$(get '/v1/deployments?state=deploied')"
eq "... naming the nearest and every state" "state yes yes" \
    "$(json '"%s %s %s" % (d["property"], "yes" if "did you mean deployed?" in d["error"] else d["error"], "yes" if "valid: planned, in_progress, deployed, verified, failed" in d["error"] and "manual_intervention" in d["error"] else d["error"])')"

# --- deployments, by commit ----------------------------------------------
A=9fceb02d0ae598e95dc970b74767f19372d61af8
B=9fceb1ffe0a1b2c3d4e5f60718293a4b5c6d7e8f
C=4e2a1c0b9d8f7e6a5b4c3d2e1f0a9b8c7d6e5f40
dep() {		# dep ID ENV REVISION [emit args]
	"$MILEPOST" emit DeploymentSucceeded --subject "$1" --id "ok-$1" "${@:4}" \
	    deploymentId="$1" service=shop environment="$2" revision="$3"
}
dep d1 production $A
dep d2 production $B
dep d3 staging $A
dep d4 production $C --link tenant=acme
# A deployment's id is service/environment/revision when it has one.
eq "GET /v1/deployments/9fceb1f (7 characters of one commit): 200" 200 "$(get /v1/deployments/9fceb1f)"
eq "... that deployment" "shop/production/$B deployed $B" \
    "$(json '"%s %s %s" % (d["id"], d["state"], d["deployment"]["properties"]["revision"])')"
eq "upper case is the same commit" "200 shop/production/$B" "$(get /v1/deployments/9FCEB1F) $(json 'd["id"]')"
eq "the full commit too" "200 shop/production/$B" "$(get /v1/deployments/$B) $(json 'd["id"]')"
eq "6 characters are not enough: 404" 404 "$(get /v1/deployments/9fceb1)"
eq "a prefix of no commit: 404" 404 "$(get /v1/deployments/0000000)"
eq "a prefix of two deployments: 409" 409 "$(get /v1/deployments/9fceb02)"
eq "... listing the candidates" "2 shop/production/$A shop/staging/$A" \
    "$(json '"%d %s" % (d["count"], " ".join(sorted(c["id"] for c in d["candidates"])))')"
check "... and naming them in the error" grep -q "commit prefix 9fceb02 names 2 deployments: shop/production/$A, shop/staging/$A; give more" "$T/resp"
eq "?environment= narrows it: 200" "200 shop/staging/$A" "$(get '/v1/deployments/9fceb02?environment=staging') $(json 'd["id"]')"
eq "a client token never looks up by commit: 404" 404 "$(TOKEN=$CLIENT_TOKEN get /v1/deployments/4e2a1c0)"
# A client names a deployment by its public id (the presentation's).
TOKEN=$CLIENT_TOKEN get /v1/deployments >/dev/null
pub=$(json '[x["id"] for x in d["deployments"] if x["id"].startswith("shop/production/x")][0]')
eq "... though it sees the deployment by its public id" 200 "$(TOKEN=$CLIENT_TOKEN get "/v1/deployments/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pub")")"
"$MILEPOST" deploy show 9fceb1f > "$T/out"; rc=$?
eq "milepost deploy show with a short commit: exit 0" "0 shop/production/$B" \
    "$rc $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")"
"$MILEPOST" deploy show 9fceb02 2> "$T/err"; rc=$?
eq "an ambiguous one: exit 1" 1 "$rc"
check "... listing the candidates on stderr" grep -q "names 2 deployments: shop/production/$A, shop/staging/$A" "$T/err"
check "ambiguous lookups are counted" sh -c \
    'curl -s "$1/metrics" | grep -q "^milepost_rejections_total{source=\"api\",reason=\"ambiguous\"} 2$"' _ "$URL"

# --- overrides name every state ------------------------------------------
eq "an override to no state: 422" 422 "$(TOKEN=$ADMIN_TOKEN get /v1/deployments/shop%2Fstaging%2F$A/status \
    -H 'Content-Type: application/json' --data '{"state":"verifed","reason":"x"}')"
check "... naming the nearest and every state" \
    grep -q 'unknown deployment state verifed (did you mean verified?; valid: planned, in_progress, deployed, verified, failed, stalled, blocked, rolling_back, reverted, partially_restored' "$T/resp"
MILEPOST_TOKEN=$ADMIN_TOKEN "$MILEPOST" deploy set shop/staging/$A verifed --reason x 2> "$T/err"; rc=$?
eq "milepost deploy set to no state: a usage error (exit 2)" 2 "$rc"
check "... saying which state was meant" grep -q 'deploy set: unknown deployment state verifed (did you mean verified?; valid: ' "$T/err"

# --- GET /v1/claims ----------------------------------------------------------
"$MILEPOST" emit BuildStartedEvent --subject b1 buildId=b1
"$MILEPOST" emit BuildCompleted --subject b1 buildStatus=success duration=100s
"$MILEPOST" emit BuildStartedEvent --subject b2 buildId=b2
"$MILEPOST" emit BuildCompleted --subject b2 buildStatus=success duration=900s
eq "GET /v1/claims: 200" 200 "$(get /v1/claims)"
eq "the claim types, each with its kind and count" \
    "BuildLifecycle:lifecycle:2 BuildLifeCycleSLA:computed:1 Deployment:builtin:4 DeploymentRejection:builtin:0 Release:builtin:0 Milestone:builtin:0" \
    "$(json '" ".join("%s:%s:%s" % (t["type"], t["kind"], t["count"]) for t in d["claim_types"])')"
get "/v1/claims/BuildLifeCycleSLA" >/dev/null
check "the SLA, 1 of 2 under 500 s, is 50 (as sent)" grep -q '"metSLA":50[,}]' "$T/resp"
eq "a client token counts its tenant's claims only" "Deployment:1 BuildLifecycle:0" \
    "$(TOKEN=$CLIENT_TOKEN get /v1/claims >/dev/null; json '" ".join("%s:%s" % (t["type"], t["count"]) for t in d["claim_types"] if t["type"] in ("Deployment",))') $(json '" ".join("%s:%s" % (t["type"], t["count"]) for t in d["claim_types"] if t["type"] == "BuildLifecycle")')"
eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/claims")"
check "the daemon exits 0 on SIGTERM" stop_daemon
finish
