#!/usr/bin/env bash
# POST /hooks/jenkins: every phase of the Notification plugin, sent from the
# fixtures the way the plugin sends them (Basic auth from user:password@ in
# the endpoint URL, tests/fixtures/jenkins/headers), checked field by field
# in the ledger; redeliveries, COMPLETED then FINALIZED counted once,
# ignored phases, two passwords (rotation) and a bearer token.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 125

FIX="$top_srcdir/tests/fixtures/jenkins"
PW1="jk-old-$(head -c 12 /dev/urandom | xxd -p)"
PW2="jk-new-$(head -c 12 /dev/urandom | xxd -p)"
BEARER="jk-bearer-$(head -c 12 /dev/urandom | xxd -p)"
SHA=da1560886d4f094c3e6c9ef40349f7d38b5d27d7
JOB=https://jenkins.example.com/job/acme/job/shop/job/main

write_config "sources:
  jenkins:
    basic:
      - { username: jenkins, password: \"$PW1\" }
      - { username: jenkins, password: \"$PW2\" }
    bearer: \"$BEARER\""
start_daemon

# hook FIXTURE [USER:PASSWORD [CURL-ARGS...]]: POST the fixture to
# http://USER:PASSWORD@host/hooks/jenkins, as the plugin does (default
# jenkins:PW1; "" sends no credentials).  Prints "<status> <body>".
hook() {
	local f=$1 cred=${2-jenkins:$PW1} line
	local -a args=()
	shift; [ $# -gt 0 ] && shift
	while IFS= read -r line; do
		args+=(-H "$line")
	done < "$FIX/headers"
	curl -s -o "$T/resp" -w '%{http_code}' "${args[@]}" "$@" \
	    --data-binary "@$FIX/$f.json" \
	    "http://${cred:+$cred@}127.0.0.1:$PORT/hooks/jenkins"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}

r=$(curl -s -o /dev/null -w '%{http_code}' --data-binary '{}' "$URL/hooks/gitlab")
eq "404 for a source not configured on this receiver" 404 "$r"

# QUEUED announces the build: PipelineQueued (a deploy job's is planned).
ig=$(metric milepost_hooks_ignored_total)
r=$(hook queued); eq "QUEUED: 202, PipelineQueued" "202 acme/shop/main#42.QUEUED" "${r%% *} $(json 'd["evidence"][0]["id"]')"
eq "QUEUED is not ignored" "$ig" "$(metric milepost_hooks_ignored_total)"
eq "QUEUED writes one PipelineQueued" 1 "$(rows "type = 'PipelineQueued' AND subject = 'acme/shop/main#42'")"

# STARTED: PipelineStarted; the id is <full name>#<number>.<phase>.
r=$(hook started); eq "STARTED: 202" "202 acme/shop/main#42.STARTED" "${r%% *} $(json 'd["evidence"][0]["id"]')"
fetch
expect jenkins 'acme/shop/main#42.STARTED' type=PipelineStarted subject='acme/shop/main#42' \
    time=2025-07-03T10:02:11Z p.pipelineId='acme/shop/main#42' p.kind=build p.tool=jenkins \
    p.name=acme/shop/main p.ref=main p.url=$JOB/42/ \
    l.pipeline='acme/shop/main#42' l.commit=$SHA l.branch=main l.repo=acme/shop l.url=$JOB/42/

# COMPLETED: PipelineCompleted; a retry of it is a duplicate.
r=$(hook completed); eq "COMPLETED: 202" "202 acme/shop/main#42.COMPLETED" "${r%% *} $(json 'd["evidence"][0]["id"]')"
fetch
expect jenkins 'acme/shop/main#42.COMPLETED' type=PipelineCompleted subject='acme/shop/main#42' \
    time=2025-07-03T10:09:09.250000Z p.status=success p.duration=418.25 \
    p.pipelineId='acme/shop/main#42' p.kind=build p.tool=jenkins p.name=acme/shop/main \
    p.ref=main p.url=$JOB/42/ \
    l.pipeline='acme/shop/main#42' l.commit=$SHA l.branch=main l.repo=acme/shop l.url=$JOB/42/
n=$(rows)
r=$(hook completed); eq "COMPLETED again (the plugin retries): 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
eq "a redelivery writes nothing" "$n" "$(rows)"

# FINALIZED after COMPLETED: the same evidence id, so acknowledged and not
# recorded twice; its raw payload is still kept.
r=$(hook finalized); eq "FINALIZED after COMPLETED: 200 duplicate" "200 True acme/shop/main#42.COMPLETED" \
    "${r%% *} $(json 'd["duplicate"]') $(json 'd["evidence"][0]["id"]')"
eq "FINALIZED counts the build once" "$n" "$(rows)"
check "FINALIZED's raw payload is kept under its own delivery id" test "$(sqlite3 "$T/ledger.db" \
    "SELECT count(*) FROM raw_payloads WHERE source='jenkins' AND delivery='acme/shop/main#42.FINALIZED'")" = 1

# FINALIZED alone (an endpoint on "Job Finalized" only) records the end,
# here with the second password (rotation).
r=$(hook finalized-only "jenkins:$PW2"); eq "FINALIZED alone, second password: 202" 202 "${r%% *}"
fetch
expect jenkins 'acme/shop/main#43.COMPLETED' type=PipelineCompleted subject='acme/shop/main#43' \
    time=2025-07-03T11:02:11Z p.status=unstable p.duration=301.5 \
    p.pipelineId='acme/shop/main#43' p.kind=build p.tool=jenkins p.name=acme/shop/main \
    p.ref=main p.url=$JOB/43/ \
    l.pipeline='acme/shop/main#43' l.commit=$SHA l.branch=main l.repo=acme/shop l.url=$JOB/43/

# A freestyle job with a space in its name, ABORTED; the Git plugin's
# origin/ branch and an scp-like URL.
r=$(hook aborted); eq "ABORTED: 202, the space written %20 in the id" "202 Nightly%20Build#7.COMPLETED" \
    "${r%% *} $(json 'd["evidence"][0]["id"]')"
fetch
expect jenkins 'Nightly%20Build#7.COMPLETED' type=PipelineCompleted subject='Nightly%20Build#7' \
    time=2025-07-03T10:12:11Z p.status=cancelled p.duration=95 \
    p.pipelineId='Nightly%20Build#7' p.kind=build p.tool=jenkins p.name='Nightly Build' \
    p.ref=release/2.x p.url=https://jenkins.example.com/job/Nightly%20Build/7/ \
    l.pipeline='Nightly%20Build#7' l.commit=b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327 \
    l.branch=release/2.x l.repo=acme/nightly l.url=https://jenkins.example.com/job/Nightly%20Build/7/

# An old plugin's FINISHED (the README's example: no timestamp, no
# duration) is a COMPLETED; here with the bearer token.
r=$(hook finished-old "" -H "Authorization: Bearer $BEARER"); eq "FINISHED with a bearer token: 202" 202 "${r%% *}"
fetch
expect jenkins 'asgard#18.COMPLETED' type=PipelineCompleted subject='asgard#18' \
    p.status=failure p.pipelineId='asgard#18' p.kind=build p.tool=jenkins p.name=asgard \
    p.ref=master p.url=http://localhost:8080/job/asgard/18/ \
    l.pipeline='asgard#18' l.commit=c6d86dc654b12425e706bcf951adfe5a8627a517 \
    l.branch=master l.repo=evgeny-goldin/asgard l.url=http://localhost:8080/job/asgard/18/
check "FINISHED without a timestamp: the time of receipt" test "$(seconds_ago jenkins 'asgard#18.COMPLETED')" -lt 60

# 401: a wrong password, a wrong user, no credentials, a wrong bearer.
n=$(rows)
r=$(hook started "jenkins:jk-wrong-$(head -c 8 /dev/urandom | xxd -p)")
eq "401 for a wrong password" "401 True" "${r%% *} $(json '"does not match" in d["error"]')"
r=$(hook started "admin:$PW1"); eq "401 for a wrong user" 401 "${r%% *}"
r=$(hook started ""); eq "401 without Authorization" "401 True" "${r%% *} $(json '"missing Authorization" in d["error"]')"
r=$(hook started "" -H "Authorization: Bearer jk-bearer-wrong-0123456789"); eq "401 for a wrong bearer" 401 "${r%% *}"
r=$(hook started "" -H "Authorization: Bearer $PW1"); eq "401 for a password sent as a bearer" 401 "${r%% *}"
eq "nothing written by any 401" "$n" "$(rows)"

# 400: the plugin's XML format, and JSON without a build.
r=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/xml;charset=UTF-8' \
    --data-binary '<JobState><name>main</name><build><number>42</number><phase>STARTED</phase></build></JobState>' \
    "http://jenkins:$PW1@127.0.0.1:$PORT/hooks/jenkins")
eq "400 for the XML format" 400 "$r"
r=$(curl -s -o /dev/null -w '%{http_code}' --data-binary '{"name":"main","url":"job/main/"}' \
    "http://jenkins:$PW1@127.0.0.1:$PORT/hooks/jenkins")
eq "400 without build.number and build.phase" 400 "$r"
eq "nothing written by any 400" "$n" "$(rows)"

# plugins/jenkins/vars/milepost.groovy: the commands its sh steps would
# run, run for real with the agent.  groovy and java are dependencies
# (script/setup installs groovy and default-jre-headless): without them
# this fails, it is not skipped.
if ! command -v groovy >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
	not_ok "milepost.groovy: groovy and java are not installed (script/setup installs groovy, default-jre-headless)"
else
	: "${JAVA_HOME:=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}"
	export JAVA_HOME
	groovy "$top_srcdir/tests/it/jenkins-step.groovy" \
	    "$top_srcdir/plugins/jenkins/vars/milepost.groovy" "$T/cmds" "$T/notes" 2> "$T/groovy.err"
	rc=$?
	eq "milepost.groovy: jenkins-step.groovy runs it (exit 0)" 0 "$rc"
	[ "$rc" = 0 ] || sed 's/^/# /' "$T/groovy.err"
	eq "milepost.groovy: four sh steps" 4 "$(tr -cd '\0' < "$T/cmds" | wc -c | awk '{ print $1 + 1 }')"
	mkdir -p "$T/bin"
	ln -sf "$MILEPOST" "$T/bin/milepost"
	codes=
	while IFS= read -r -d '' cmd; do
		# As Jenkins's sh runs a script without #!: sh -xe.
		PATH="$T/bin:$PATH" sh -xe -c "$cmd" >> "$T/steps.out" 2>&1
		codes="$codes$? "
	done < <(cat "$T/cmds"; printf '\0')
	eq "milepost.groovy: each step exits as its script does" "0 4 0 0 " "$codes"
	check "milepost.groovy: quotes in a script survive" grep -q "^it's quoted$" "$T/steps.out"
	check "milepost.groovy: a plain script is traced (sh -xe, as Jenkins runs it)" \
	    grep -qx '+ echo building' "$T/steps.out"
	check "milepost.groovy: the script's environment has no MILEPOST_SECRET" \
	    grep -qx 'secret-lines: 0' "$T/steps.out"
	check "milepost.groovy: a #!/bin/bash script runs under bash" \
	    grep -q '^shebang: [0-9]' "$T/steps.out"
	eq "milepost.groovy: bat and powershell run unwrapped, each after a warning" \
	    "echo milepost: bat is not wrapped; this step runs without evidence|bat echo windows|echo milepost: powershell is not wrapped; this step runs without evidence|powershell Write-Output windows" \
	    "$(paste -sd'|' "$T/notes")"
	B=jenkins-acme-shop-main-42-Unit-tests
	eq "milepost.groovy: BuildCompleted per step, id \$BUILD_TAG-<stage>, with exitCode" "0 0 0 4" \
	    "$(sqlite3 "$T/ledger.db" "SELECT json_extract(properties,'\$.exitCode') FROM evidence WHERE type='BuildCompleted' AND subject='$B' ORDER BY 1" | tr '\n' ' ' | sed 's/ $//')"
	eq "milepost.groovy: service: reaches the evidence" 3 \
	    "$(rows "type='BuildStartedEvent' AND subject='$B' AND json_extract(properties,'\$.service')='shop'")"
	n=$(rows)
	PATH=/usr/bin:/bin sh -c "$(tr '\0' '\n' < "$T/cmds" | sed -n '1,/^fi$/p')" > "$T/plain.out" 2>&1
	eq "milepost.groovy: without the agent the step still runs" "0 True" \
	    "$? $(grep -q 'not on the PATH' "$T/plain.out" && grep -q building "$T/plain.out" && echo True)"
	check "milepost.groovy: ... and without MILEPOST_SECRET (set here: ${MILEPOST_SECRET:+yes})" \
	    grep -qx 'secret-lines: 0' "$T/plain.out"
	eq "milepost.groovy: and sends nothing" "$n" "$(rows)"
fi

stop_daemon TERM; eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
