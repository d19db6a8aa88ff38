#!/usr/bin/env bash
# POST /hooks/gitlab: every event of plugins/gitlab/gitlab.c, sent from the
# fixtures with the headers GitLab sends (tests/fixtures/gitlab/*.headers),
# checked field by field in the ledger; redeliveries, ignored events, the
# token (two, for rotation) and the Standard Webhooks signing token.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 218

FIX="$top_srcdir/tests/fixtures/gitlab"
TOKEN1="gl-old-$(head -c 12 /dev/urandom | xxd -p)"
TOKEN2="gl-new-$(head -c 12 /dev/urandom | xxd -p)"
GLSIGN="whsec_$(head -c 32 /dev/urandom | base64)"
SHA=da1560886d4f094c3e6c9ef40349f7d38b5d27d7
SHA1=b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327
WEB=https://gitlab.example.com/acme/shop

write_config "sources:
  gitlab: { token: [\"$TOKEN1\", \"$TOKEN2\"], signing_secret: \"$GLSIGN\" }"
start_daemon

# hdr FIXTURE NAME: one header of a fixture.
hdr() {
	sed -n "s/^$2: //p" "$FIX/$1.headers"
}

# hook FIXTURE [TOKEN [CURL-ARGS...]]: POST the fixture (or the file $BODY)
# with its headers, X-Gitlab-Token set to TOKEN (default TOKEN1; "" leaves
# it out).  A header given in CURL-ARGS replaces the fixture's ("-H Name:"
# removes it).  Prints "<status> <body>".
hook() {
	local f=$1 tok=${2-$TOKEN1} line a skip=" "
	local -a args=()
	shift; [ $# -gt 0 ] && shift
	for a in "$@"; do
		case $a in *:*) skip="$skip$(printf '%s' "${a%%:*}" | tr A-Z a-z) " ;; esac
	done
	while IFS= read -r line; do
		case $skip in *" $(printf '%s' "${line%%:*}" | tr A-Z a-z) "*) continue ;; esac
		case $line in
		"X-Gitlab-Token: @TOKEN@")
			[ -n "$tok" ] && args+=(-H "X-Gitlab-Token: $tok") ;;
		*)	args+=(-H "$line") ;;
		esac
	done < "$FIX/$f.headers"
	curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" "$@" \
	    --data-binary "@${BODY:-$FIX/$f.json}" "$URL/hooks/gitlab"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}

# glsign ID TS FILE [KEY]: GitLab's signing token, the Standard Webhooks way.
glsign() {
	local hex
	hex=$(printf '%s' "${4:-$GLSIGN}" | sed 's/^whsec_//' | base64 -d | xxd -p -c 256)
	{ printf '%s.%s.' "$1" "$2"; cat "$3"; } | openssl dgst -sha256 -mac HMAC \
	    -macopt "hexkey:$hex" -binary | base64
}

# 404 before anything else: unknown, and known but not configured here.
r=$(curl -s -o /dev/null -w '%{http_code}' --data-binary '{}' "$URL/hooks/nosuch")
eq "404 for an unknown source" 404 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' --data-binary '{}' "$URL/hooks/jenkins")
eq "404 for a source not configured on this receiver" "404 True" "$r $(json '"not configured" in d["error"]')"

# Push Hook: one CommitPushed per commit, id <delivery>.<sha>.
D=$(hdr push Idempotency-Key)
r=$(hook push); eq "Push Hook: 202, both commits" "202 2 0" "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
eq "Push Hook: ids are <Idempotency-Key>.<sha>" "$D.$SHA1 $D.$SHA" \
    "$(json 'd["evidence"][0]["id"]') $(json 'd["evidence"][1]["id"]')"
fetch
expect gitlab "$D.$SHA1" type=CommitPushed subject=$SHA1 \
    p.sha=$SHA1 p.ref=refs/heads/main p.author="Jordi Mallach" p.authorTime=2025-07-03T09:58:31Z \
    p.message=$'Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information' \
    p.tool=gitlab l.commit=$SHA1 l.repo=acme/shop l.branch=main l.url=$WEB/-/commit/$SHA1
expect gitlab "$D.$SHA" type=CommitPushed subject=$SHA \
    p.sha=$SHA p.ref=refs/heads/main p.author="John Smith" p.authorTime=2025-07-03T10:01:29Z \
    p.message=$'Fix rounding of checkout totals (SHOP-123)\n\nMilestone: M-42\n' \
    p.milestones='["M-42"]' p.issueKeys='["SHOP-123"]' p.tool=gitlab \
    l.commit=$SHA l.repo=acme/shop l.branch=main l.url=$WEB/-/commit/$SHA l.milestone=M-42
# A commit's date is its author's to choose: authorTime keeps it, and the
# event time is the push's (the time of receipt).
check "Push Hook: a commit's event time is the push's, not its date" \
    test "$(seconds_ago gitlab "$D.$SHA1")" -lt 60
check "... for every commit" test "$(seconds_ago gitlab "$D.$SHA")" -lt 60

# A redelivery (GitLab keeps Idempotency-Key on retries) writes nothing.
n=$(rows)
r=$(hook push); eq "Push Hook redelivered: 200 duplicate" "200 True 0 2" \
    "${r%% *} $(json 'd["duplicate"]') $(json 'd["accepted"]') $(json 'd["duplicates"]')"
eq "a redelivery writes nothing" "$n" "$(rows)"
check "the raw payload is kept once" test "$(sqlite3 "$T/ledger.db" \
    "SELECT count(*) FROM raw_payloads WHERE source='gitlab' AND delivery='$D'")" = 1

# Before Idempotency-Key (GitLab < 17.4), X-Gitlab-Event-UUID is the id.
E=$(hdr push X-Gitlab-Event-UUID)
r=$(hook push "$TOKEN1" -H "Idempotency-Key:")
eq "without Idempotency-Key, X-Gitlab-Event-UUID is the delivery id" "202 $E.$SHA1" \
    "${r%% *} $(json 'd["evidence"][0]["id"]')"

# Tag Push Hook: ReleasePublished; and the second token works (rotation).
D=$(hdr tag-push Idempotency-Key)
r=$(hook tag-push "$TOKEN2"); eq "Tag Push Hook with the second token: 202" 202 "${r%% *}"
fetch
expect gitlab "$D" type=ReleasePublished subject=v1.4.0 p.tag=v1.4.0 \
    p.url=$WEB/-/tags/v1.4.0 p.tool=gitlab l.repo=acme/shop l.service=Shop l.commit=$SHA
check "Tag Push Hook: no time in the payload, so the time of receipt" \
    test "$(seconds_ago gitlab "$D")" -lt 60

# Pipeline Hook: running -> PipelineStarted, ends -> PipelineCompleted.
r=$(hook pipeline-running); eq "Pipeline Hook running: 202" 202 "${r%% *}"
r=$(hook pipeline-success); eq "Pipeline Hook success: 202" 202 "${r%% *}"
r=$(hook pipeline-failed "$TOKEN2"); eq "Pipeline Hook failed: 202" 202 "${r%% *}"
fetch
expect gitlab "$(hdr pipeline-running Idempotency-Key)" type=PipelineStarted subject=1142 \
    time=2025-07-03T10:02:15Z p.pipelineId=1142 p.kind=pipeline p.tool=gitlab \
    p.name="Pipeline for branch: main" p.ref=main p.url=$WEB/-/pipelines/1142 \
    l.pipeline=1142 l.commit=$SHA l.repo=acme/shop l.branch=main
expect gitlab "$(hdr pipeline-success Idempotency-Key)" type=PipelineCompleted subject=1142 \
    time=2025-07-03T10:09:13Z p.status=success p.duration=418 p.pipelineId=1142 \
    p.kind=pipeline p.tool=gitlab p.name="Pipeline for branch: main" p.ref=main \
    p.url=$WEB/-/pipelines/1142 l.pipeline=1142 l.commit=$SHA l.repo=acme/shop l.branch=main
expect gitlab "$(hdr pipeline-failed Idempotency-Key)" type=PipelineCompleted subject=1143 \
    time=2025-07-03T10:21:39Z p.status=failure p.duration=95 p.pipelineId=1143 \
    p.kind=pipeline p.tool=gitlab p.ref=feature/checkout p.url=$WEB/-/pipelines/1143 \
    l.pipeline=1143 l.commit=$SHA1 l.repo=acme/shop l.branch=feature/checkout

# Job Hook: the same, kind job; newer (_iso) and older ("... UTC") times.
r=$(hook job-running); eq "Job Hook running: 202" 202 "${r%% *}"
r=$(hook job-failed); eq "Job Hook failed (older GitLab): 202" 202 "${r%% *}"
fetch
expect gitlab "$(hdr job-running Idempotency-Key)" type=PipelineStarted subject=8811 \
    time=2025-07-03T10:02:16Z p.pipelineId=8811 p.kind=job p.tool=gitlab p.name=unit \
    p.ref=main p.url=$WEB/-/jobs/8811 l.pipeline=8811 l.commit=$SHA l.repo=acme/shop l.branch=main
expect gitlab "$(hdr job-failed Idempotency-Key)" type=PipelineCompleted subject=8812 \
    time=2025-07-03T10:04:39Z p.status=failure p.duration=97.318 p.pipelineId=8812 \
    p.kind=job p.tool=gitlab p.name=lint p.ref=main p.url=$WEB/-/jobs/8812 \
    l.pipeline=8812 l.commit=$SHA l.repo=acme/shop l.branch=main

# Deployment Hook: running, success; canceled below, signed.
r=$(hook deployment-running); eq "Deployment Hook running: 202" 202 "${r%% *}"
r=$(hook deployment-success); eq "Deployment Hook success: 202" 202 "${r%% *}"
fetch
expect gitlab "$(hdr deployment-running Idempotency-Key)" type=DeploymentStarted subject=317 \
    time=2025-07-03T10:10:02Z p.deploymentId=317 p.environment=production p.revision=$SHA \
    p.service=Shop p.tool=gitlab p.url=$WEB/-/jobs/8815 \
    l.deployment=317 l.environment=production l.commit=$SHA l.repo=acme/shop l.service=Shop
expect gitlab "$(hdr deployment-success Idempotency-Key)" type=DeploymentSucceeded subject=317 \
    time=2025-07-03T10:15:40Z p.deploymentId=317 p.environment=production p.revision=$SHA \
    p.service=Shop p.tool=gitlab p.url=$WEB/-/jobs/8815 \
    l.deployment=317 l.environment=production l.commit=$SHA l.repo=acme/shop l.service=Shop

# Genuine events that Milepost does not use: 200 {"ignored":...}, counted.
n=$(rows); ig=$(metric milepost_hooks_ignored_total)
r=$(hook pipeline-manual); eq "Pipeline Hook manual: 200 ignored" "200 True" "${r%% *} $(json '"manual" in d["ignored"]')"
r=$(hook push-delete); eq "a branch deletion: 200 ignored" "200 True" "${r%% *} $(json '"deletion" in d["ignored"]')"
r=$(hook push "$TOKEN1" -H "X-Gitlab-Event: Merge Request Hook" -H "Idempotency-Key: 6f1c7c1e-2d34-4f0b-9a7e-3b7d5e0c9a11")
eq "an unused event: 200 ignored" "200 True" "${r%% *} $(json '"Merge Request Hook" in d["ignored"]')"
eq "ignored events are counted in milepost_hooks_ignored_total" "$((ig + 3))" "$(metric milepost_hooks_ignored_total)"
eq "ignored events write nothing" "$n" "$(rows)"

# 401: a wrong token, none at all, and 400 without X-Gitlab-Event.
rj=$(metric 'milepost_requests_rejected_total{reason="signature"}')
r=$(hook deployment-canceled "gl-wrong-$(head -c 12 /dev/urandom | xxd -p)")
eq "401 for a wrong X-Gitlab-Token" "401 True" "${r%% *} $(json '"does not match" in d["error"]')"
r=$(hook deployment-canceled "$GLSIGN"); eq "401 for the signing secret sent as a token" 401 "${r%% *}"
r=$(hook deployment-canceled ""); eq "401 without X-Gitlab-Token" "401 True" "${r%% *} $(json '"missing" in d["error"]')"
eq "401s are counted as signature rejects" "$((rj + 3))" "$(metric 'milepost_requests_rejected_total{reason="signature"}')"
r=$(hook deployment-canceled "$TOKEN1" -H "X-Gitlab-Event:"); eq "400 without X-Gitlab-Event" 400 "${r%% *}"
r=$(hook deployment-canceled "$TOKEN1" -H "Idempotency-Key:" -H "X-Gitlab-Event-UUID:")
eq "400 without any delivery id" 400 "${r%% *}"
eq "nothing written by any 401 or 400" "$n" "$(rows)"

# The signing token (Standard Webhooks; webhook-id is the Idempotency-Key).
D=$(hdr deployment-canceled Idempotency-Key)
ts=$(date +%s)
sig=$(glsign "$D" "$ts" "$FIX/deployment-canceled.json")
sed 's/"canceled"/"success"/' "$FIX/deployment-canceled.json" > "$T/tampered.json"
r=$(BODY="$T/tampered.json" hook deployment-canceled "" -H "webhook-id: $D" \
    -H "webhook-timestamp: $ts" -H "webhook-signature: v1,$sig")
eq "401 for a tampered body, signed" "401 True" "${r%% *} $(json '"webhook-signature" in d["error"]')"
r=$(hook deployment-canceled "" -H "webhook-id: $D" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$(glsign "$D" "$ts" "$FIX/deployment-canceled.json" "whsec_$(head -c 32 /dev/urandom | base64)")")
eq "401 for a signature with another secret" 401 "${r%% *}"
old=$((ts - 301))
r=$(hook deployment-canceled "" -H "webhook-id: $D" -H "webhook-timestamp: $old" \
    -H "webhook-signature: v1,$(glsign "$D" "$old" "$FIX/deployment-canceled.json")")
eq "401 for a signed timestamp 301 s old" 401 "${r%% *}"
eq "nothing written by a bad signature" "$n" "$(rows)"
r=$(hook deployment-canceled "" -H "webhook-id: $D" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig")
eq "202 for a delivery signed with the signing token, no X-Gitlab-Token" 202 "${r%% *}"
fetch
expect gitlab "$D" type=DeploymentFailed subject=318 time=2025-07-03T10:20:00Z \
    p.deploymentId=318 p.environment=production p.revision=$SHA p.service=Shop p.tool=gitlab \
    p.url=$WEB/-/jobs/8820 p.reason=canceled \
    l.deployment=318 l.environment=production l.commit=$SHA l.repo=acme/shop l.service=Shop
r=$(hook deployment-canceled "" -H "webhook-id: $D" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig")
eq "the signed delivery again: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"

# plugins/gitlab/milepost.gitlab-ci.yml, read with python3's yaml (a
# dependency: script/setup installs python3-yaml; without it this fails,
# it is not skipped): before_script, a job's "milepost run", then
# after_script, in one sh as the runner does, with the agent and without.
python3 - "$top_srcdir/plugins/gitlab/milepost.gitlab-ci.yml" "$T/job.sh" "$T/after.sh" 2> "$T/yaml.err" <<'PY'
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))[".milepost"]
open(sys.argv[2], "w").write("\n".join(t["before_script"]) +
    "\nmilepost run -- sh -c 'echo from the job; exit 3'\n")
open(sys.argv[3], "w").write("\n".join(t["after_script"]) + "\n")
PY
rc=$?
eq "template: read with python3's yaml (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$T/yaml.err"
mkdir -p "$T/proj" "$T/bin"
ln -sf "$MILEPOST" "$T/bin/milepost"
job() {	# job PATH: the job's shell, as a runner starts it
	(cd "$T/proj" && env PATH="$1" CI_PROJECT_DIR="$T/proj" CI_JOB_ID=7781 \
	    CI_API_V4_URL=https://gitlab.example.com/api/v4 \
	    MILEPOST_SPOOL="$T/proj/.milepost/spool" sh -e "$T/job.sh")
}
n=$(rows)
job "$T/bin:$PATH" > "$T/job.out" 2>&1
eq "template: the job exits with the command's status" 3 "$?"
check "template: the command ran" grep -q "^from the job$" "$T/job.out"
eq "template: BuildStartedEvent and BuildCompleted for CI_JOB_ID" "BuildCompleted failure 3|BuildStartedEvent" \
    "$(sqlite3 "$T/ledger.db" "SELECT type || coalesce(' ' || json_extract(properties,'\$.buildStatus') || ' ' || json_extract(properties,'\$.exitCode'), '') FROM evidence WHERE subject='7781' ORDER BY type" | tr '\n' '|' | sed 's/|$//')"
(cd "$T/proj" && env PATH="$T/bin:$PATH" CI_PROJECT_DIR="$T/proj" \
    MILEPOST_SPOOL="$T/proj/.milepost/spool" sh -e "$T/after.sh") > /dev/null 2>&1
eq "template: after_script passes" 0 "$?"
n=$(rows)
job /usr/bin:/bin > "$T/job.out" 2>&1
eq "template: without the agent the job still runs, with its status" "3 True" \
    "$? $(grep -q 'not installed' "$T/job.out" && grep -q '^from the job$' "$T/job.out" && echo True)"
eq "template: and sends nothing" "$n" "$(rows)"

# Only the signing secret configured: a token alone is no longer enough.
stop_daemon TERM; eq "the daemon exits 0" 0 "$?"
write_config "sources:
  gitlab: { signing_secret: \"$GLSIGN\" }"
start_daemon
r=$(hook deployment-canceled); eq "401 for a token when only signing is configured" 401 "${r%% *}"

stop_daemon TERM; eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
