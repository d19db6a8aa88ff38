#!/usr/bin/env bash
# Builds, wherever they are reported (issue 11, points 6, 7 and 8): the
# SLA example of docs/claims.md exactly as written, fed by
# `milepost run --service`; claims rebuild on that fresh setup; builds from
# GitHub Actions, GitLab and Jenkins webhooks feed the same BuildLifecycle
# and SLA claims; the agent and the tool reporting one build are one build
# with two witnesses.
. "$(dirname "$0")/lib.sh"
plan 23

unset GITHUB_RUN_ATTEMPT GITHUB_SERVER_URL GITHUB_REPOSITORY BUILD_URL CI_JOB_URL
export GIT_CEILING_DIRECTORIES="$T"
GH_SECRET="gh-$(head -c 8 /dev/urandom | xxd -p)"
GL_TOKEN="gl-$(head -c 8 /dev/urandom | xxd -p)"
JK_PW="jk-$(head -c 8 /dev/urandom | xxd -p)"
# docs/claims.md's example, as the reader copies it, then a count of every
# build (one per build, however many report it).
example=$(awk '/^## Computed claims/ { f = 1 } f && /^```yaml/ { g = 1; next } g && /^```/ { exit } g' \
    "$top_srcdir/docs/claims.md")
check "docs/claims.md has the SLA example" grep -q "filter: { links: { service: checkout } }" <<<"$example"
write_config "sources:
  github: { secret: \"$GH_SECRET\" }
  gitlab: { token: \"$GL_TOKEN\" }
  jenkins: { basic: { username: jenkins, password: \"$JK_PW\" } }
$example
  Builds:
    id: \"\$MonthName-\$YYYY\"
    trigger: BuildCompleted
    collectors:
      all: { type: BuildCompleted, property: duration, date_offset: CurrentMonth }
    properties:
      n: { type: integer, expression: count }"
start_daemon
cd "$T"
export MILEPOST_TOKEN="$READER_TOKEN"
MONTH=$(date -u +%B-%Y)
claim() {	# claim TYPE ID: GET /v1/claims/TYPE/ID into $T/resp; the status
	curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" \
	    "$URL/v1/claims/$1/$2"
}

# Point 7: the README's and docs/claims.md's example works as written.
"$MILEPOST" run --id sla-1 --service checkout -- true
eq "milepost run --service checkout: exit 0" 0 "$?"
"$MILEPOST" run --id sla-2 --service billing -- true
eq "BuildLifeCycleSLA/$MONTH exists: the filter on links.service matches" 200 "$(claim BuildLifeCycleSLA "$MONTH")"
eq "... metSLA 100: checkout's one build, not billing's" 100 "$(json 'd["properties"]["metSLA"]')"

# Point 8: the fresh-setup case.  --ledger alone knows only the built-in
# types; what it cannot rebuild is not a difference.
"$MILEPOST" claims rebuild --ledger "sqlite:$T/ledger.db" > "$T/rb" 2>&1
eq "claims rebuild --ledger on the fresh setup: exit 0" 0 "$?"
check "... and reports no difference" no_grep "claims differ" "$T/rb"
eq "... it names what it did not check" 1 "$(grep -c "^not checked: BuildLifeCycleSLA (1 claim), Builds (1 claim): not declared in the built-in types; give -c FILE$" "$T/rb")"
"$MILEPOST" claims rebuild -c "$T/milepost.yaml" > "$T/rb" 2>&1
eq "claims rebuild -c: exit 0, equal" "0 1" "$? $(grep -c 'equal to what is stored' "$T/rb")"

# Point 6: GitHub Actions.  A workflow run is the build milepost run names
# GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT.
gh() {	# gh EVENT FILE DELIVERY
	curl -s -o "$T/resp" -w '%{http_code}' -H "X-GitHub-Event: $1" -H "X-GitHub-Delivery: $3" \
	    -H "X-Hub-Signature-256: sha256=$(openssl dgst -sha256 -hmac "$GH_SECRET" -r < "$2" | cut -d' ' -f1)" \
	    -H 'Content-Type: application/json' --data-binary @"$2" "$URL/hooks/github"
}
FX="$top_srcdir/tests/fixtures"
eq "workflow_run requested: 202" 202 "$(gh workflow_run "$FX/github/workflow_run-requested.json" gh-req)"
eq "... and completed: 202" 202 "$(gh workflow_run "$FX/github/workflow_run-completed.json" gh-done)"
eq "the run is BuildLifecycle/289782451-1, completed, success" "200 True success" \
    "$(claim BuildLifecycle 289782451-1) $(json 'd["properties"]["completed"]') $(json 'd["properties"]["buildStatus"]')"

# The agent in that run: the same build, a second witness.
GITHUB_RUN_ID=289782451 GITHUB_RUN_ATTEMPT=1 "$MILEPOST" run --service checkout -- true
eq "milepost run in that run: exit 0" 0 "$?"
claim BuildLifecycle 289782451-1 > /dev/null
basis=$(json '" ".join(sorted(b["id"] for b in d["basis"]))')
check "one build, two witnesses: its basis has the tool's completion ($basis)" grep -q "gh-done.build" <<<"$basis"
check "... and the agent's" grep -q "289782451-1.completed." <<<"$basis"
eq "... the first witness's values stand (the tool's duration, 0 s)" 0 "$(json 'd["properties"]["duration"]')"
eq "... and it is one BuildLifecycle claim, not two" 1 \
    "$(sqlite3 "$T/ledger.db" "SELECT count(DISTINCT id) FROM claim_revisions WHERE type = 'BuildLifecycle' AND id LIKE '289782451%'")"

# GitLab: a job is the build milepost run names CI_JOB_ID.
gl() {	# gl FILE EVENT KEY
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H "X-Gitlab-Event: $2" -H "Idempotency-Key: $3" -H "X-Gitlab-Token: $GL_TOKEN" \
	    --data-binary @"$1" "$URL/hooks/gitlab"
}
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["build_id"]=8812; print(json.dumps(d))' \
    "$FX/gitlab/job-running.json" > "$T/job-running.json"
eq "GitLab Job Hook running: 202" 202 "$(gl "$T/job-running.json" "Job Hook" gl-run)"
eq "... and failed: 202" 202 "$(gl "$FX/gitlab/job-failed.json" "Job Hook" gl-fail)"
eq "the job is BuildLifecycle/8812, completed, failure" "200 True failure" \
    "$(claim BuildLifecycle 8812) $(json 'd["properties"]["completed"]') $(json 'd["properties"]["buildStatus"]')"

# Jenkins: a build is the build milepost run names BUILD_TAG.
jk() {	# jk FILE
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json;charset=UTF-8' \
	    --data-binary @"$1" "http://jenkins:$JK_PW@127.0.0.1:$PORT/hooks/jenkins"
}
eq "Jenkins STARTED and COMPLETED: 202 202" "202 202" "$(jk "$FX/jenkins/started.json") $(jk "$FX/jenkins/completed.json")"
eq "the build is BuildLifecycle/jenkins-acme-shop-main-42, completed in 418.25 s" "200 True 418.25" \
    "$(claim BuildLifecycle jenkins-acme-shop-main-42) $(json 'd["properties"]["completed"]') $(json 'd["properties"]["duration"]')"

# Every build counted once.  This month's: sla-1 and sla-2; the agent's
# report of run 289782451-1 is that build's second witness (its first,
# the tool's, is dated 2020 like the fixture), not another build.
eq "Builds/$MONTH counts sla-1 and sla-2 only: a second witness is no build" 2 \
    "$(claim Builds "$MONTH" > /dev/null; json 'd["properties"]["n"]')"
"$MILEPOST" claims rebuild -c "$T/milepost.yaml" > "$T/rb" 2>&1
eq "claims rebuild -c after all of it: exit 0" 0 "$?"
finish
