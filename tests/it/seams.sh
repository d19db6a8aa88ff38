#!/usr/bin/env bash
# The seams, end to end, with the names real tools use: Argo CD apps
# checkout-staging and checkout-prod, the PagerDuty service "Checkout API"
# (PF9KMXH, production only), an Alertmanager service label, the Jenkins
# job checkout/main and the repo acme/checkout all resolve through the
# service catalog to service checkout of tenant acme before they are
# stored.  Each tool's delivery is a fixture (tests/fixtures/<tool>/),
# signed or authenticated as that tool does.  A client sink subscribed
# with tenant: acme and no fields receives the Deployment, Release and
# Milestone pushes; a production incident fails production only, and its
# resolution recovers it, while staging stays as it was.  Unknown names
# are kept and counted, or refused with a 422 naming the alias to add;
# GET /v1/services and milepost services show the state per environment.
. "$(dirname "$0")/outbox-lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 127

FIX="$top_srcdir/tests/fixtures"
SHA=9fceb02d0ae598e95dc970b74767f19372d61af8
PROD=checkout/production/$SHA
STAGING=checkout/staging/$SHA
ARGO="argo-$(head -c 12 /dev/urandom | xxd -p)"
PDSEC="pd-$(head -c 12 /dev/urandom | xxd -p)"
AMTOK="am-$(head -c 12 /dev/urandom | xxd -p)"
JKPW="jk-$(head -c 12 /dev/urandom | xxd -p)"
INC=Q2M2YJVZ5HJ7QC

start_sink client; CLIENT=$SINKPORT
write_config "tenants: [acme, globex]
environments: [staging, production]
services:
  storefront: { tenant: acme, team: web, tier: 2, depends_on: [checkout] }
  checkout:
    tenant: acme
    team: payments
    tier: 1
    aliases:
      - { tool: argocd, name: checkout-prod, environment: production }
      - { tool: argocd, name: checkout-staging, environment: staging }
      - { tool: pagerduty, name: \"Checkout API\", environment: production }
      - { tool: pagerduty, id: PF9KMXH, environment: production }
      - { tool: alertmanager, name: checkout }
      - { tool: jenkins, name: checkout/main }
      - { tool: repo, name: acme/checkout }
sources:
  argocd: { bearer: \"$ARGO\" }
  pagerduty: { secret: \"$PDSEC\" }
  alertmanager: { bearer: \"$AMTOK\" }
  jenkins: { basic: { username: jenkins, password: \"$JKPW\" }, unknown_alias: refuse }
sinks:
  client: { kind: webhook, url: \"http://127.0.0.1:$CLIENT/status/{type}/{id}\", secret: \"$SECRET\" }
subscriptions:
  - { sink: client, types: [Deployment, Release, Milestone], tenant: acme }
milestones:
  - id: M-7
    title: \"Checkout v2\"
    tenant: acme
    due: \"2025-07-31\"
    environment: production
    scope: { services: [checkout] }"
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"

# argocd FIXTURE: Argo CD's webhook service, bearer token.
argocd() {
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H 'User-Agent: Go-http-client/1.1' -H "Authorization: Bearer $ARGO" \
	    --data-binary "@$1" "$URL/hooks/argocd"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}
# pagerduty FIXTURE [FILE]: its headers, X-PagerDuty-Signature by openssl.
pagerduty() {
	local body=${2:-$FIX/pagerduty/$1.json} line
	local -a args=()
	while IFS= read -r line; do args+=(-H "$line"); done < "$FIX/pagerduty/$1.headers"
	curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" \
	    -H "X-PagerDuty-Signature: v1=$(openssl dgst -sha256 -hmac "$PDSEC" < "$body" | sed 's/^.*= //')" \
	    --data-binary "@$body" "$URL/hooks/pagerduty"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}
# alertmanager FIXTURE: the webhook receiver's bearer token.
alertmanager() {
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H 'User-Agent: Alertmanager/0.27.0' -H "Authorization: Bearer $AMTOK" \
	    --data-binary "@$FIX/alertmanager/$1.json" "$URL/hooks/alertmanager"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}
# jenkins FIXTURE: the Notification plugin, user:password@ in the URL.
jenkins() {
	local line
	local -a args=()
	while IFS= read -r line; do args+=(-H "$line"); done < "$FIX/jenkins/headers"
	curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" \
	    --data-binary "@$FIX/jenkins/$1.json" \
	    "http://jenkins:$JKPW@127.0.0.1:$PORT/hooks/jenkins"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}
# deployment ID FIELD: a property of a Deployment claim.
deployment() {
	"$MILEPOST" claim Deployment "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin)["properties"].get(sys.argv[1]); print(v if isinstance(v, str) else json.dumps(v))' "$2"
}

# Argo CD: staging first, then production, the same revision and release.
for app in checkout-staging checkout-prod; do
	for trig in on-sync-running on-sync-succeeded on-deployed; do
		r=$(argocd "$FIX/argocd/$app-$trig.json")
		eq "argocd $app $trig: 202" 202 "${r%% *}"
	done
done
fetch
expect argocd "checkout-prod@$SHA.started.2025-07-03T10:06:03Z" type=DeploymentStarted \
    subject="checkout-prod@$SHA" time=2025-07-03T10:06:03Z \
    p.deploymentId="checkout-prod@$SHA" p.service=checkout p.environment=production \
    p.revision=$SHA p.url=https://argocd.acme.example/applications/checkout-prod \
    p.tool=argocd p.release=2025.07.3 l.deployment="checkout-prod@$SHA" \
    l.service=checkout l.tool_service=checkout-prod l.environment=production \
    l.tenant=acme l.team=payments l.commit=$SHA \
    l.repo=https://github.com/acme/checkout-deploy.git l.release=2025.07.3
eq "production is verified (Healthy after the deploy)" verified "$(deployment $PROD state)"
eq "staging is verified" verified "$(deployment $STAGING state)"
eq "the deployment carries the tenant link" acme \
    "$("$MILEPOST" claim Deployment $PROD | python3 -c 'import json,sys; print(json.load(sys.stdin)["links"]["tenant"])')"

# Jenkins: job checkout/main (repo acme/checkout), a build of the service.
r=$(jenkins checkout-main-started); eq "jenkins checkout/main STARTED: 202" 202 "${r%% *}"
r=$(jenkins checkout-main-completed); eq "jenkins checkout/main COMPLETED: 202" 202 "${r%% *}"
fetch
eq "the Jenkins build resolves to checkout of acme, team payments" "checkout acme payments" \
    "$(python3 -c 'import json,sys; e=[e for e in json.load(open(sys.argv[1]))["evidence"] if e["source"]=="jenkins"][-1]["links"]; print(e["service"], e["tenant"], e["team"])' "$T/all.json")"
# An unknown job, with jenkins set to unknown_alias: refuse: a 422 that
# names the alias to add, and nothing stored.
n=$(rows)
r=$(jenkins completed)
eq "an unknown Jenkins job is refused: 422" 422 "${r%% *}"
check "the 422 names the alias to add" grep -qF 'add { tool: jenkins, name: \"acme/shop/main\" }' "$T/resp"
eq "nothing stored for it" "$n" "$(rows)"
eq "the refusal is counted as unknown_alias" 1 "$(metric 'milepost_requests_rejected_total{reason="unknown_alias"}')"

# The agent: repo acme/checkout is the service; an unknown repo is kept.
check "agent evidence with the repo link is accepted" "$MILEPOST" emit BuildCompleted \
    --subject b-1 --id agent-1 --time 2025-07-03T10:30:00Z --link repo=acme/checkout \
    buildStatus=success duration=300s
misses=$(metric 'milepost_alias_misses_total{source="agent"}')
check "agent evidence of an unknown repo is kept (the default)" "$MILEPOST" emit BuildCompleted \
    --subject b-2 --id agent-2 --time 2025-07-03T10:31:00Z --link repo=acme/elsewhere \
    buildStatus=success duration=300s
eq "and counted as an alias miss of the agent" "$((misses + 1))" \
    "$(metric 'milepost_alias_misses_total{source="agent"}')"
fetch
expect agent agent-1 type=BuildCompleted subject=b-1 time=2025-07-03T10:30:00Z \
    p.buildStatus=success p.duration=300 l.repo=acme/checkout l.service=checkout \
    l.tenant=acme l.team=payments
expect agent agent-2 type=BuildCompleted subject=b-2 time=2025-07-03T10:31:00Z \
    p.buildStatus=success p.duration=300 l.repo=acme/elsewhere

# Alertmanager: the service label, the environment from the env label.
r=$(alertmanager firing); eq "alertmanager firing: 202" 202 "${r%% *}"
fetch
eq "the alert resolves to checkout of acme in production" "checkout acme production" \
    "$(python3 -c 'import json,sys; e=[e for e in json.load(open(sys.argv[1]))["evidence"] if e["source"]=="alertmanager"][0]["links"]; print(e["service"], e["tenant"], e["environment"])' "$T/all.json")"

# storefront (which depends on checkout) is deployed in production.
check "storefront's deployment starts" "$MILEPOST" emit DeploymentStarted --subject sf-1 \
    --id sf-1.started --time 2025-07-03T10:10:00Z deploymentId=sf-1 service=storefront \
    environment=production revision=1111111111111111111111111111111111111111
check "and succeeds" "$MILEPOST" emit DeploymentSucceeded --subject sf-1 \
    --id sf-1.succeeded --time 2025-07-03T10:11:00Z deploymentId=sf-1 service=storefront \
    environment=production revision=1111111111111111111111111111111111111111

# PagerDuty: "Checkout API" is production's; the incident fails production
# only, attributed to the deployment current when it began.
r=$(pagerduty incident.triggered); eq "pagerduty incident.triggered: 202" 202 "${r%% *}"
fetch
expect pagerduty 01J1Y8Z6K3M0A5Q7R2T4V6X8ZB type=IncidentOpened subject=$INC \
    time=2025-07-03T10:21:07.402000Z p.incidentId=$INC \
    "p.title=Checkout p99 latency > 2 s – eu-west" p.status=triggered p.urgency=high \
    p.priority=P1 p.service=checkout p.url=https://acme.pagerduty.com/incidents/$INC \
    p.tool=pagerduty l.incident=$INC l.service=checkout "l.tool_service=Checkout API" \
    l.service_id=PF9KMXH l.environment=production l.tenant=acme l.team=payments
eq "production is failed by the incident" failed "$(deployment $PROD state)"
eq "the production deployment lists the incident" "[\"$INC\"]" "$(deployment $PROD incidents)"
eq "staging is untouched" verified "$(deployment $STAGING state)"
eq "staging lists no incident" null "$(deployment $STAGING incidents)"
"$MILEPOST" services > "$T/services.txt"
check "milepost services: checkout failed in production" grep -qP '^checkout\tproduction\tfailed\t' "$T/services.txt"
check "milepost services: checkout verified in staging" grep -qP '^checkout\tstaging\tverified\t' "$T/services.txt"
curl -s -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/services" > "$T/resp"
eq "GET /v1/services: the catalog's tenants, teams, tiers and upstreams" \
    "storefront acme web 2 checkout|checkout acme payments 1 " \
    "$(json '"|".join("%s %s %s %s %s" % (s["service"], ",".join(s["tenants"]), s["team"], s["tier"], ",".join(s["depends_on"])) for s in d["services"])')"
eq "GET /v1/services: storefront shows its upstream checkout impaired" "deployed ['checkout']" \
    "$(json '[s["environments"]["production"] for s in d["services"] if s["service"] == "storefront"][0]' | python3 -c 'import ast,sys; e=ast.literal_eval(sys.stdin.read()); print(e["state"], e["upstream_impaired"])')"
check "milepost services: storefront deployed, upstream impaired" \
    grep -qP '^storefront\tproduction\tdeployed\t.*\tupstream impaired: checkout$' "$T/services.txt"
eq "GET /v1/services: production's deployment and its incidents" "$PROD ['$INC']" \
    "$(json '[s["environments"]["production"] for s in d["services"] if s["service"] == "checkout"][0]' | python3 -c 'import ast,sys; e=ast.literal_eval(sys.stdin.read()); print(e["deployment"], e["incidents"])')"
curl -s -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/services" > "$T/resp"
eq "a client sees its services, states only" \
    "storefront deployed True ['environments', 'service']|checkout failed False ['environments', 'service']" \
    "$(json '"|".join("%s %s %s %s" % (s["service"], s["environments"]["production"]["state"], s["environments"]["production"]["upstream_impaired"], sorted(s)) for s in d["services"])')"

# A renamed PagerDuty service still resolves by its id.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["event"]["id"]="01J1Y9RENAMED0000000000000"; d["event"]["event_type"]="incident.acknowledged"; d["event"]["data"]["service"]["summary"]="Checkout API (EU)"; json.dump(d,open(sys.argv[2],"w"))' \
    "$FIX/pagerduty/incident.triggered.json" "$T/renamed.json"
r=$(pagerduty incident.acknowledged "$T/renamed.json"); eq "a renamed service's acknowledgement: 202" 202 "${r%% *}"
fetch
eq "it resolves by id PF9KMXH to checkout in production" "checkout production Checkout API (EU)" \
    "$(python3 -c 'import json,sys; e=[e for e in json.load(open(sys.argv[1]))["evidence"] if e["id"]=="01J1Y9RENAMED0000000000000"][0]["links"]; print(e["service"], e["environment"], e["tool_service"])' "$T/all.json")"

# The resolution recovers production; staging stays verified.
r=$(pagerduty incident.resolved); eq "pagerduty incident.resolved: 202" 202 "${r%% *}"
eq "production is recovered" recovered "$(deployment $PROD state)"
eq "at the resolution's time" 2025-07-03T11:02:38.960000Z "$(deployment $PROD since)"
eq "no incident open on it" "[]" "$(deployment $PROD open_incidents)"
eq "staging is still verified" verified "$(deployment $STAGING state)"
eq "staging has one revision per transition, none from the incident" 3 \
    "$("$MILEPOST" claim Deployment $STAGING | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])')"
curl -s "$URL/v1/metrics/incidents?from=2025-07-01T00:00:00Z&to=2025-07-10T00:00:00Z" \
    -H "Authorization: Bearer $READER_TOKEN" > "$T/resp"
eq "MTTR counts to the resolution that recovered it (41m31.558s)" 2491.558 "$(json 'd["mttr"]["mean_seconds"]')"
curl -s -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/services" > "$T/resp"
eq "storefront's upstream is no longer impaired" "deployed []" \
    "$(json '[s["environments"]["production"] for s in d["services"] if s["service"] == "storefront"][0]' | python3 -c 'import ast,sys; e=ast.literal_eval(sys.stdin.read()); print(e["state"], e["upstream_impaired"])')"

# The client sink: Deployment (both environments), Release and Milestone
# pushes, for tenant acme, with no fields: the whole state.
check "the client sink receives the pushes" wait_received client 5
# wait for the last states: production recovered, the release, M-7.
pushed() {
	python3 - "$T/client/log" <<'PY'
import json, sys
seen = {}
for l in open(sys.argv[1]):
    b = json.loads(json.loads(l)["body"])["data"]
    k = (b["claim_type"], b["id"])
    st = dict(seen.get(k, {}))
    if "state" in b:
        st = b["state"]
    else:
        for f, v in b["patch"].items():
            if v is None:
                st.pop(f, None)
            else:
                st[f] = v
    seen[k] = st
for (t, i), st in sorted(seen.items()):
    print(t, i, st.get("service", "-"), st.get("environment", "-"), st.get("state", "-"))
PY
}
i=0
# A client sink names deployments by their public id (no commit in it).
until pushed 2>/dev/null | grep -qE "^Deployment checkout/production/x[0-9a-f]{16} checkout production recovered$" || [ $i -ge 600 ]; do
	sleep 0.05; i=$((i + 1))
done
pushed > "$T/pushed.txt"
check "a Deployment push for production, recovered, by its public id" \
    grep -qxE "Deployment checkout/production/x[0-9a-f]{16} checkout production recovered" "$T/pushed.txt"
check "a Deployment push for staging, verified, by its public id" \
    grep -qxE "Deployment checkout/staging/x[0-9a-f]{16} checkout staging verified" "$T/pushed.txt"
check "a Release push" grep -q '^Release 2025.07.3 ' "$T/pushed.txt"
check "a Milestone push" grep -q '^Milestone M-7 ' "$T/pushed.txt"
# Every push body to the client sink is a client view: no commit, person,
# reason, basis or incident title (the presentation), and the milestone's
# title is there for a status page.
oracle "the client sink's pushes" 2 python3 - "$T/client/log" "$SHA" <<'PY'
import json, sys
KEYS = {"seq", "sha", "actor", "basis", "reason", "rejections", "checkpoints",
        "commit", "repo", "branch", "author", "tool_service"}
BAD = [sys.argv[2][:7], "Checkout p99 latency", "PF9KMXH"]
def bad(o, path="$"):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in KEYS:
                return "key %s at %s" % (k, path)
            r = bad(v, path + "." + k)
            if r:
                return r
    elif isinstance(o, list):
        for i, v in enumerate(o):
            r = bad(v, "%s[%d]" % (path, i))
            if r:
                return r
    elif isinstance(o, str):
        for w in BAD:
            if w in o:
                return "%r in %r at %s" % (w, o, path)
    return None
why, titles, n = [], set(), 0
for l in open(sys.argv[1]):
    n += 1
    b = json.loads(json.loads(l)["body"])
    r = bad(b.get("data"))
    if r:
        why.append("%s/%s: %s" % (b["data"].get("claim_type"), b["data"].get("id"), r))
    d = b.get("data", {})
    for part in (d.get("state") or {}, d.get("patch") or {}):
        if d.get("claim_type") == "Milestone" and part.get("title"):
            titles.add(part["title"])
print(("ok - " if n and not why else "not ok - ") + "%d pushes, none with a forbidden field%s" % (n, ": " + "; ".join(why[:3]) if why else ""))
print(("ok - " if "Checkout v2" in titles else "not ok - ") + "the milestone push carries its title (%s)" % sorted(titles))
PY
eq "acme's claims, each pushed: three deployments, one release, one milestone" 5 "$(wc -l < "$T/pushed.txt")"
eq "the release pushed holds both environments" "checkout/production checkout/staging" \
    "$(python3 -c 'import json,sys
st = {}
for l in open(sys.argv[1]):
    b = json.loads(json.loads(l)["body"])["data"]
    if b["claim_type"] == "Release":
        st = b["state"] if "state" in b else dict(st, **b["patch"])
print(" ".join(sorted(c["service"] + "/" + c["environment"] for c in st["components"])))' "$T/client/log")"

check "milepostd stops cleanly" stop_daemon
# The typos of the issue, one at a time, each with file:line and a hint.
for typo in "tenant: acme }|tenant: acmee }|tokens[2].tenant: unknown tenant acmee (did you mean acme?" \
    "[staging, production]|[staging, prodution]|unknown environment production (did you mean prodution?" \
    "services: [checkout]|services: [chekout]|milestones[0].scope.services: unknown service chekout (did you mean checkout?" \
    "depends_on: [checkout]|depends_on: [chekout]|services.storefront.depends_on: unknown service chekout (did you mean checkout?"; do
	IFS='|' read -r from to hint <<<"$typo"
	python3 -c 'import sys; s=open(sys.argv[1]).read(); assert sys.argv[2] in s; open(sys.argv[3],"w").write(s.replace(sys.argv[2], sys.argv[4], 1))' \
	    "$T/milepost.yaml" "$from" "$T/typo.yaml" "$to"
	"$MILEPOSTD" -n -c "$T/typo.yaml" > "$T/n.out" 2>&1 && rc=0 || rc=$?
	eq "-n refuses '$to'" 1 "$rc"
	check "with file:line: $hint…" grep -qE "typo.yaml:[0-9]+: " "$T/n.out"
	check "names the key and suggests: $hint…" grep -qF -- "$hint" "$T/n.out"
done
finish
