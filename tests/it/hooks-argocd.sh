#!/usr/bin/env bash
# POST /hooks/argocd: the bodies that the templates of
# plugins/argocd/argocd-notifications-cm.yaml render for the five triggers
# (tests/fixtures/argocd/on-*.json, made by tests/fixtures/argocd/render/),
# sent with the headers its service.webhook.milepost sets; checked field by
# field.  Redeliveries, on-deployed after on-sync-succeeded, ignored
# triggers, and the bearer, Basic and Standard Webhooks credentials.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 188

FIX="$top_srcdir/tests/fixtures/argocd"
TOK1="argo-old-$(head -c 12 /dev/urandom | xxd -p)"
TOK2="argo-new-$(head -c 12 /dev/urandom | xxd -p)"
PASS="argo-pass-$(head -c 12 /dev/urandom | xxd -p)"
ARSIGN="whsec_$(head -c 32 /dev/urandom | base64)"
SHA=9fceb02d0ae598e95dc970b74767f19372d61af8
BAD=c0ffee1234567890abcdef1234567890abcdef12
DEP=shop@$SHA
REPO=https://github.com/acme/shop-deploy.git
APPURL=https://argocd.acme.example/applications/shop
# The Application's annotations milepost.io/release and milepost.io/region.
REL=2025.07.3
REGION=eu-west-1

write_config "sources:
  argocd:
    bearer: [\"$TOK1\", \"$TOK2\"]
    basic: { username: argocd, password: \"$PASS\" }
    signing_secret: \"$ARSIGN\""
start_daemon

# hook FIXTURE [CURL-ARGS...]: POST tests/fixtures/argocd/FIXTURE.json (or a
# path) as Argo CD's webhook service does, with Authorization: Bearer TOK1
# unless CURL-ARGS set their own ("-H Authorization:" sends none).
hook() {
	local f=$1 a auth=1
	local -a args=()
	shift
	for a in "$@"; do
		case $a in [Aa]uthorization:*) auth= ;; esac
	done
	[ -n "$auth" ] && args+=(-H "Authorization: Bearer $TOK1")
	case $f in /*) ;; *) f="$FIX/$f.json" ;; esac
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H 'User-Agent: Go-http-client/1.1' "${args[@]}" "$@" \
	    --data-binary "@$f" "$URL/hooks/argocd"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}

# stdwh ID TS FILE [KEY]: a Standard Webhooks signature, made with openssl.
stdwh() {
	local hex
	hex=$(printf '%s' "${4:-$ARSIGN}" | sed 's/^whsec_//' | base64 -d | xxd -p -c 256)
	{ printf '%s.%s.' "$1" "$2"; cat "$3"; } | openssl dgst -sha256 -mac HMAC \
	    -macopt "hexkey:$hex" -binary | base64
}

# edit FIXTURE PYTHON: a copy of the fixture, changed by PYTHON (on d), in
# $T/edited.json.
edit() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(d,open(sys.argv[3],"w"))' \
	    "$FIX/$1.json" "$2" "$T/edited.json"
}

# common_fields DEPLOYMENT REVISION: what every evidence of the app has.
common_fields() {
	echo p.deploymentId="$1" p.service=shop p.environment=production p.revision="$2" \
	    p.url=$APPURL p.tool=argocd l.deployment="$1" l.service=shop \
	    l.environment=production l.commit="$2" l.repo=$REPO \
	    p.release=$REL p.region=$REGION l.release=$REL
}

# on-sync-running: DeploymentStarted, at the operation's start.
r=$(hook on-sync-running); eq "on-sync-running: 202" "202 1" "${r%% *} $(json 'd["accepted"]')"
eq "DeploymentStarted's id names the fact" "$DEP.started.2025-07-03T10:06:03Z" "$(json 'd["evidence"][0]["id"]')"
fetch
expect argocd "$DEP.started.2025-07-03T10:06:03Z" type=DeploymentStarted subject=$DEP \
    time=2025-07-03T10:06:03Z $(common_fields $DEP $SHA)
check "the raw payload is kept under the template's id" test "$(sqlite3 "$T/ledger.db" \
    "SELECT count(*) FROM raw_payloads WHERE source='argocd' AND delivery='$DEP.on-sync-running.2025-07-03T10:06:03Z'")" = 1

# Argo CD retries on 5xx and network errors with the same body.
n=$(rows)
r=$(hook on-sync-running); eq "on-sync-running redelivered: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
eq "a redelivery writes nothing" "$n" "$(rows)"

# on-sync-succeeded: the sync finished (health is still Progressing).
r=$(hook on-sync-succeeded); eq "on-sync-succeeded: 202" "202 1" "${r%% *} $(json 'd["accepted"]')"
fetch
expect argocd "$DEP.succeeded.2025-07-03T10:06:11Z" type=DeploymentSucceeded subject=$DEP \
    time=2025-07-03T10:06:11Z p.duration=8 $(common_fields $DEP $SHA)

# on-deployed: Healthy; its DeploymentSucceeded is the one already stored.
r=$(hook on-deployed)
eq "on-deployed after on-sync-succeeded: 202, health new, success a duplicate" "202 1 1" \
    "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
fetch
expect argocd "$DEP.on-deployed.2025-07-03T10:06:11Z" type=DeploymentHealth subject=$DEP \
    time=2025-07-03T10:07:02Z p.health=Healthy $(common_fields $DEP $SHA)
eq "one deployment, one DeploymentSucceeded" 1 "$(rows "type='DeploymentSucceeded' AND subject='$DEP'")"

# on-health-degraded: later, at the time health changed.
r=$(hook on-health-degraded); eq "on-health-degraded: 202" 202 "${r%% *}"
fetch
expect argocd "$DEP.on-health-degraded.2025-07-03T11:42:17Z" type=DeploymentHealth subject=$DEP \
    time=2025-07-03T11:42:17Z p.health=Degraded $(common_fields $DEP $SHA)

# on-sync-failed: the operation's message (quotes, a newline) is the reason.
r=$(hook on-sync-failed); eq "on-sync-failed: 202" 202 "${r%% *}"
fetch
expect argocd "shop@$BAD.failed.2025-07-04T14:21:37Z" type=DeploymentFailed subject=shop@$BAD \
    time=2025-07-04T14:21:37Z p.duration=92 \
    p.reason=$'one or more objects failed to apply, reason: Deployment.apps "shop" is invalid: spec.template.spec.containers[0].image: Required value\n(retried 5 times).' \
    $(common_fields shop@$BAD $BAD)
eq "the deployment's evidence in order" \
    "DeploymentStarted DeploymentSucceeded DeploymentHealth:Healthy DeploymentHealth:Degraded" \
    "$(sqlite3 "$T/ledger.db" "SELECT group_concat(type || coalesce(':' || json_extract(properties, '\$.health'), ''), ' ') FROM (SELECT * FROM evidence WHERE subject='$DEP' ORDER BY seq)")"

# on-deployed alone (no on-sync-succeeded subscribed): it records the
# success too.  No milepost.io/environment annotation: the destination
# namespace is the environment.  A Helm chart's version is no commit.
NEW=0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c
edit on-deployed "d['revision']='$NEW'; d['id']=d['id'].replace('$SHA','$NEW'); d['environment']=''; d['finishedAt']='2025-07-05T08:00:40Z'; d['startedAt']='2025-07-05T08:00:31Z'; d['healthChangedAt']='2025-07-01T09:12:44Z'"
r=$(hook "$T/edited.json")
eq "on-deployed alone: 202, health and success" "202 2" "${r%% *} $(json 'd["accepted"]')"
fetch
expect argocd "shop@$NEW.succeeded.2025-07-05T08:00:40Z" type=DeploymentSucceeded subject=shop@$NEW \
    time=2025-07-05T08:00:40Z p.duration=9 p.deploymentId=shop@$NEW p.service=shop \
    p.environment=shop-prod p.revision=$NEW p.url=$APPURL p.tool=argocd \
    l.deployment=shop@$NEW l.service=shop l.environment=shop-prod l.commit=$NEW l.repo=$REPO \
    p.release=$REL p.region=$REGION l.release=$REL
check "health unchanged since before the sync: the sync's end is the time" \
    test "$(sqlite3 "$T/ledger.db" "SELECT time FROM evidence WHERE type='DeploymentHealth' AND subject='shop@$NEW'")" = \
    "$(date -ud 2025-07-05T08:00:40Z +%s)000000"
edit on-sync-running "d['revision']='1.4.2'; d['repoURL']='https://charts.acme.example'; d['id']='shop@1.4.2.on-sync-running.2025-07-06T09:00:00Z'; d['startedAt']='2025-07-06T09:00:00Z'"
r=$(hook "$T/edited.json"); eq "a Helm chart revision: 202" 202 "${r%% *}"
fetch
expect argocd "shop@1.4.2.started.2025-07-06T09:00:00Z" type=DeploymentStarted subject=shop@1.4.2 \
    time=2025-07-06T09:00:00Z p.deploymentId=shop@1.4.2 p.service=shop p.environment=production \
    p.revision=1.4.2 p.url=$APPURL p.tool=argocd l.deployment=shop@1.4.2 l.service=shop \
    l.environment=production l.repo=https://charts.acme.example \
    p.release=$REL p.region=$REGION l.release=$REL
# Without the annotations (they render as ""): no release, no region.
edit on-sync-running "d['revision']='1.4.3'; d['release']=''; d['region']=''; d['id']='shop@1.4.3.on-sync-running.2025-07-06T10:00:00Z'; d['startedAt']='2025-07-06T10:00:00Z'"
r=$(hook "$T/edited.json"); eq "no release or region annotation: 202" 202 "${r%% *}"
fetch
expect argocd "shop@1.4.3.started.2025-07-06T10:00:00Z" type=DeploymentStarted subject=shop@1.4.3 \
    time=2025-07-06T10:00:00Z p.deploymentId=shop@1.4.3 p.service=shop p.environment=production \
    p.revision=1.4.3 p.url=$APPURL p.tool=argocd l.deployment=shop@1.4.3 l.service=shop \
    l.environment=production l.repo=$REPO

# Triggers Milepost does not use: 200 {"ignored":...}, counted.
n=$(rows); ig=$(metric milepost_hooks_ignored_total)
for t in on-created on-sync-status-unknown; do
	edit on-sync-running "d['trigger']='$t'; d['id']=d['id'].replace('on-sync-running','$t')"
	r=$(hook "$T/edited.json")
	eq "$t: 200 ignored, naming it" "200 True" "${r%% *} $(json "'$t' in d['ignored']")"
done
eq "ignored triggers are counted in milepost_hooks_ignored_total" "$((ig + 2))" "$(metric milepost_hooks_ignored_total)"

# 400: a body that is not ours (Argo CD's default GET body is the message).
edit on-sync-running "del d['trigger']"
r=$(hook "$T/edited.json"); eq "400 without a trigger, pointing to the templates" "400 True" \
    "${r%% *} $(json '"argocd-notifications-cm" in d["error"]')"
printf 'Application shop has been successfully synced.' > "$T/message.txt"
r=$(hook "$T/message.txt"); eq "400 for a plain-text message" 400 "${r%% *}"
eq "nothing written by an ignored trigger or a 400" "$n" "$(rows)"

# Credentials: the second token, Basic, and Standard Webhooks signing.
edit on-health-degraded "d['id']=d['id'].replace('11:42:17','12:10:05'); d['healthChangedAt']='2025-07-03T12:10:05Z'"
cp "$T/edited.json" "$T/degraded2.json"
rj=$(metric 'milepost_requests_rejected_total{reason="signature"}')
r=$(hook "$T/degraded2.json" -H "Authorization:"); eq "401 without credentials" "401 True" "${r%% *} $(json '"missing" in d["error"]')"
r=$(hook "$T/degraded2.json" -H "Authorization: Bearer argo-wrong-$(head -c 12 /dev/urandom | xxd -p)")
eq "401 for a wrong bearer token" "401 True" "${r%% *} $(json '"does not match" in d["error"]')"
r=$(hook "$T/degraded2.json" -H "Authorization: Basic $(printf 'argocd:wrong-password' | base64)")
eq "401 for a wrong Basic password" 401 "${r%% *}"
W=degraded2-$(head -c 6 /dev/urandom | xxd -p); ts=$(date +%s)
sig=$(stdwh "$W" "$ts" "$T/degraded2.json")
sed 's/"Degraded"/"Healthy"/' "$T/degraded2.json" > "$T/tampered.json"
r=$(hook "$T/tampered.json" -H "Authorization:" -H "webhook-id: $W" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig")
eq "401 for a tampered body, signed" 401 "${r%% *}"
eq "401s are counted as signature rejects" "$((rj + 4))" "$(metric 'milepost_requests_rejected_total{reason="signature"}')"
eq "nothing written by any 401" "$n" "$(rows)"
r=$(hook "$T/degraded2.json" -H "Authorization:" -H "webhook-id: $W" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig")
eq "202 for a body signed the Standard Webhooks way" 202 "${r%% *}"
r=$(hook "$T/degraded2.json" -H "Authorization: Basic $(printf 'argocd:%s' "$PASS" | base64)")
eq "Basic credentials: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
r=$(hook "$T/degraded2.json" -H "Authorization: Bearer $TOK2")
eq "the second bearer token: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"

# Rotation: the first token is dropped.
stop_daemon TERM; eq "the daemon exits 0" 0 "$?"
write_config "sources:
  argocd: { bearer: \"$TOK2\" }"
start_daemon
r=$(hook on-sync-running); eq "after rotation, the old token: 401" 401 "${r%% *}"
r=$(hook on-sync-running -H "Authorization: Bearer $TOK2"); eq "after rotation, the new token: 200 duplicate" 200 "${r%% *}"

stop_daemon TERM; eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
