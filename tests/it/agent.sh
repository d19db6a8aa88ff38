#!/usr/bin/env bash
# The real agent against the real receiver: run's two evidence, its exit
# status, duration and git links; build ids from the CI's environment;
# emit's typed properties, idempotency and refusals; a wrong secret.
. "$(dirname "$0")/lib.sh"
plan 74

unset GITHUB_RUN_ATTEMPT MILEPOST_TIMEOUT
# Never find a repository above $T, whatever /tmp sits in.
export GIT_CEILING_DIRECTORIES="$T"
start_daemon

# ev SQL-EXPR WHERE: one value from the evidence rows matching WHERE.
ev() {
	sqlite3 "$T/ledger.db" "SELECT $1 FROM evidence WHERE $2 ORDER BY seq;"
}
spooled() {	# spooled [DIR]: evidence files waiting in the spool
	find "${1:-$MILEPOST_SPOOL}" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null |
	    wc -l
}
completed="type='BuildCompleted'"
started="type='BuildStartedEvent'"

mkdir "$T/repo" "$T/nogit"
cd "$T/repo"
git init -q -b main
git -c user.name=it -c user.email=it@example.invalid commit -q --allow-empty -m init
git remote add origin https://github.com/acme/shop.git
head=$(git rev-parse HEAD)

# run: success.
"$MILEPOST" run --id b-1 -- true; rc=$?
eq "run -- true exits 0" 0 "$rc"
eq "run stores BuildStartedEvent and BuildCompleted for b-1" \
    "BuildStartedEvent BuildCompleted" "$(ev type "subject='b-1'" | tr '\n' ' ' | sed 's/ $//')"
eq "BuildStartedEvent has buildId = the build id" b-1 \
    "$(ev "json_extract(properties,'\$.buildId')" "subject='b-1' AND $started")"
eq "BuildCompleted says success, exit code 0" "success|0" \
    "$(ev "json_extract(properties,'\$.buildStatus'), json_extract(properties,'\$.exitCode')" \
    "subject='b-1' AND $completed")"
check "BuildCompleted has a numeric duration" \
    grep -Eqx 'integer|real' <<<"$(ev "json_type(properties,'\$.duration')" "subject='b-1' AND $completed")"
eq "both evidence come from the agent" "agent agent" "$(ev source "subject='b-1'" | tr '\n' ' ' | sed 's/ $//')"
curl -s -o "$T/resp" -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/evidence?limit=1000"
eq "BuildCompleted links commit, branch and repo (read API)" \
    "{'branch': 'main', 'commit': '$head', 'repo': 'acme/shop'}" \
    "$(json '[e for e in d["evidence"] if e["subject"] == "b-1" and e["type"] == "BuildCompleted"][0]["links"]')"
eq "BuildStartedEvent carries the same links" "$head|main|acme/shop" \
    "$(ev "json_extract(links,'\$.commit'), json_extract(links,'\$.branch'), json_extract(links,'\$.repo')" \
    "subject='b-1' AND $started")"

# run: failures keep CMD's exit status.
"$MILEPOST" run --id b-2 -- false; rc=$?
eq "run -- false exits 1" 1 "$rc"
eq "BuildCompleted says failure, exit code 1" "failure|1" \
    "$(ev "json_extract(properties,'\$.buildStatus'), json_extract(properties,'\$.exitCode')" \
    "subject='b-2' AND $completed")"
"$MILEPOST" run --id b-3 -- sh -c 'exit 7'; rc=$?
eq "run -- sh -c 'exit 7' exits 7" 7 "$rc"
eq "BuildCompleted records exit code 7" "failure|7" \
    "$(ev "json_extract(properties,'\$.buildStatus'), json_extract(properties,'\$.exitCode')" \
    "subject='b-3' AND $completed")"
# run: CMD never sees the signing secret or the read token (milepost has
# used the secret: both evidence are stored, so the secret was there).
MILEPOST_TOKEN=tok-env-check "$MILEPOST" run --id b-env -- env > "$T/env"; rc=$?
eq "run -- env exits 0, both evidence stored with the secret" "0 2" \
    "$rc $(ev 'count(*)' "subject='b-env'")"
check "the wrapped env printed the environment (MILEPOST_SPOOL is there)" \
    grep -q '^MILEPOST_SPOOL=' "$T/env"
check "the wrapped command's environment has no MILEPOST_SECRET" \
    no_grep -e '^MILEPOST_SECRET=' -e "$SECRET" "$T/env"
check "... and no MILEPOST_TOKEN" no_grep -e '^MILEPOST_TOKEN=' -e tok-env-check "$T/env"
"$MILEPOST" run --id b-4 -- "$T/no-such-command" 2>/dev/null; rc=$?
eq "run of a missing command exits 127" 127 "$rc"
"$MILEPOST" run --id b-5 -- sleep 1; rc=$?
eq "run -- sleep 1 exits 0" 0 "$rc"
d=$(ev "json_extract(properties,'\$.duration')" "subject='b-5' AND $completed")
# Whole seconds, with a margin: a loaded machine makes sleep 1 late, never
# early; 5 still tells CMD's time from anything much longer.
check "run -- sleep 1 records a duration >= 1 and < 5 (got $d)" \
    python3 -c 'import sys; d = float(sys.argv[1]); sys.exit(not (1 <= d < 5))' "${d:-x}"

# README: 126 if CMD is not executable, 128+N if signal N killed it, and
# the signals sent to milepost (TERM, INT, HUP, QUIT) are passed to CMD.
printf 'echo not run\n' > "$T/noexec"; chmod -x "$T/noexec"
"$MILEPOST" run --id b-6 -- "$T/noexec" 2>/dev/null; rc=$?
eq "run of a file that is not executable exits 126" 126 "$rc"
"$MILEPOST" run --id b-7 -- sh -c 'kill -TERM $$' 2>/dev/null; rc=$?
eq "run of a command killed by SIGTERM exits 128+15" 143 "$rc"
for sig in TERM INT HUP QUIT; do
	# CMD says when its trap is set (event-driven), and gives up by
	# itself after 60 s (exit 9), so a signal that is not passed on
	# fails the check instead of hanging the test.
	# A background job starts with SIGINT and SIGQUIT ignored, nohup
	# ignores SIGHUP, and an ignored signal cannot be trapped: python
	# restores the defaults, then becomes milepost (exec: the same pid).
	rm -f "$T/ready"
	python3 -c 'import os, signal, sys
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
    signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$MILEPOST" run --id "b-sig-$sig" -- sh -c "trap 'exit 5' $sig; touch '$T/ready'; i=0; while [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done; exit 9" 2>/dev/null &
	rp=$!
	for i in $(seq 600); do [ -e "$T/ready" ] && break; sleep 0.05; done
	kill -"$sig" "$rp"
	wait "$rp"; rc=$?
	eq "SIG$sig sent to milepost run reaches CMD, whose status it exits with (5)" 5 "$rc"
done
# A signalled run abandons its sends to the spool; flush them.
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush sends what the signalled runs spooled (exit 0, spool empty)" "0 0" "$rc $(spooled)"

# Build ids from the CI's environment.
n=$(rows)
GITHUB_RUN_ID=42 GITHUB_RUN_ATTEMPT=2 "$MILEPOST" run -- true
eq "GitHub Actions: the build id is RUN_ID-RUN_ATTEMPT" "42-2 42-2" \
    "$(ev subject "seq > $n" | tr '\n' ' ' | sed 's/ $//')"
eq "GitHub Actions: buildId is the same id" 42-2 \
    "$(ev "json_extract(properties,'\$.buildId')" "seq > $n AND $started")"
n=$(rows)
BUILD_TAG=jenkins-x-7 "$MILEPOST" run -- true
eq "Jenkins: the build id is BUILD_TAG" "jenkins-x-7 jenkins-x-7" \
    "$(ev subject "seq > $n" | tr '\n' ' ' | sed 's/ $//')"
n=$(rows)
CI_JOB_ID=99 "$MILEPOST" run -- true
eq "GitLab: the build id is CI_JOB_ID" "99 99" "$(ev subject "seq > $n" | tr '\n' ' ' | sed 's/ $//')"
# run's links: --link, --repo, --service (a link too), the job's log URL
# from the CI's environment; run still exits with CMD's status.
lk() {	# lk KEY: that link of both evidence since $n, space separated
	ev "json_extract(links,'\$.$1')" "seq > $n" | tr '\n' ' ' | sed 's/ $//'
}
n=$(rows)
GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=acme/shop GITHUB_RUN_ID=77 \
    "$MILEPOST" run --service checkout --link env=ci --link team=payments -- sh -c 'exit 3'
eq "run --service --link ... -- CMD exits with CMD's status (3)" 3 "$?"
eq "GitHub Actions: url is the run's page, on both evidence" \
    "https://github.com/acme/shop/actions/runs/77 https://github.com/acme/shop/actions/runs/77" "$(lk url)"
eq "... repo from GITHUB_REPOSITORY outside a checkout" "acme/shop acme/shop" "$(lk repo)"
eq "--service is the service link as well as a property" "checkout checkout checkout" \
    "$(lk service) $(ev "json_extract(properties,'\$.service')" "seq > $n AND $started")"
eq "--link KEY=VALUE, repeatable, on both evidence" "ci ci payments payments" "$(lk env) $(lk team)"
n=$(rows)
BUILD_URL=https://ci.example/job/shop/12/ "$MILEPOST" run --repo acme/other --link url=https://logs.example/12 -- true
eq "--repo sets the repo link" "acme/other acme/other" "$(lk repo)"
eq "an explicit --link url wins over Jenkins' BUILD_URL" "https://logs.example/12 https://logs.example/12" "$(lk url)"
n=$(rows)
BUILD_URL=https://ci.example/job/shop/12/ "$MILEPOST" run -- true
eq "Jenkins: url is BUILD_URL" "https://ci.example/job/shop/12/ https://ci.example/job/shop/12/" "$(lk url)"
n=$(rows)
CI_JOB_URL=https://gitlab.example/acme/shop/-/jobs/99 CI_PROJECT_PATH=acme/shop "$MILEPOST" run -- true
eq "GitLab: url is CI_JOB_URL, repo CI_PROJECT_PATH" \
    "https://gitlab.example/acme/shop/-/jobs/99 https://gitlab.example/acme/shop/-/jobs/99 acme/shop acme/shop" \
    "$(lk url) $(lk repo)"
"$MILEPOST" run --link novalue -- true 2> "$T/err"
eq "run --link without KEY=VALUE is a usage error (2)" "2 1" "$? $(grep -c 'expected KEY=VALUE' "$T/err")"

# emit without a secret: a usage error, nothing sent or spooled.
n=$(rows)
MILEPOST_SECRET= MILEPOST_SPOOL="$T/spool-nosecret" "$MILEPOST" emit BuildStartedEvent \
    --subject ns-1 buildId=ns-1 2> "$T/err"
eq "emit without MILEPOST_SECRET exits 2" 2 "$?"
check "... saying MILEPOST_SECRET is not set" grep -q "MILEPOST_SECRET is not set" "$T/err"
eq "... and spools nothing, sends nothing" "0 $n" "$(spooled "$T/spool-nosecret") $(rows)"
env -u MILEPOST_SECRET MILEPOST_SPOOL="$T/spool-nosecret" "$MILEPOST" run --id ns-2 -- sh -c 'exit 4' 2>/dev/null
eq "run without MILEPOST_SECRET still exits with CMD's status (4)" 4 "$?"

n=$(rows)
"$MILEPOST" run -- true
gen=$(ev subject "seq > $n AND $started")
check "without a CI, a build id is generated (got '$gen')" test -n "$gen"
eq "a generated id is the same for both evidence of one run" "2 $gen" \
    "$(ev "count(*)" "seq > $n AND subject='$gen'") $(ev "json_extract(properties,'\$.buildId')" "seq > $n AND $started")"
n=$(rows)
"$MILEPOST" run -- true
differs "each run generates a new build id" "$gen" "$(ev subject "seq > $n AND $started")"

# emit: typed properties, the event time, links and the idempotency id.
n=$(rows)
"$MILEPOST" emit BuildCompleted --subject b-9 --time 2025-07-03T10:08:20Z --id e-1 \
    --link repo=acme/shop buildStatus=success duration=8m20s exitCode:=0; rc=$?
eq "emit exits 0 when accepted" 0 "$rc"
eq "emit writes one evidence" $((n + 1)) "$(rows)"
curl -s -o "$T/resp" -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/evidence?after=$n"
eq "emitted evidence keeps its id, type and subject" "e-1 BuildCompleted b-9" \
    "$(json 'd["evidence"][0]["id"]') $(json 'd["evidence"][0]["type"]') $(json 'd["evidence"][0]["subject"]')"
eq "emitted evidence keeps --time" 2025-07-03T10:08:20Z "$(json 'd["evidence"][0]["time"]')"
eq "emitted properties are typed: duration 8m20s is 500 s, exitCode 0" \
    "{'buildStatus': 'success', 'duration': 500, 'exitCode': 0}" "$(json 'd["evidence"][0]["properties"]')"
eq "emitted evidence has the --link" "{'repo': 'acme/shop'}" "$(json 'd["evidence"][0]["links"]')"
"$MILEPOST" emit BuildCompleted --subject b-9 --time 2025-07-03T10:08:20Z --id e-1 \
    --link repo=acme/shop buildStatus=success duration=8m20s exitCode:=0; rc=$?
eq "emitting the same --id again exits 0" 0 "$rc"
eq "emitting the same --id again writes nothing" $((n + 1)) "$(rows)"

# emit: refusals exit 2 with the receiver's reason, and write nothing.
n=$(rows)
"$MILEPOST" emit BuildCompleted buildStatus=meh duration=1s 2>"$T/err"; rc=$?
eq "emit of a bad enum value exits 2" 2 "$rc"
check "the refusal names the property buildStatus on stderr" grep -q buildStatus "$T/err"
"$MILEPOST" emit NoSuchType 2>"$T/err"; rc=$?
eq "emit of an unknown type exits 2" 2 "$rc"
check "the refusal is explained on stderr" grep -q '422' "$T/err"
"$MILEPOST" emit BuildCompleted buildStatus=success duration=1s exitCode:=NaN 2>"$T/err"; rc=$?
eq "emit of PROP:=NaN (no JSON text carries it) exits 2" 2 "$rc"
check "saying it is not valid JSON" grep -q "exitCode:=NaN: not valid JSON" "$T/err"
eq "nothing written by a refused emit" "$n" "$(rows)"
eq "nothing spooled by a refused emit" 0 "$(spooled)"

# A wrong secret (a valid whsec_ key, but not the receiver's).
wrong="whsec_$(head -c 32 /dev/urandom | base64)"
MILEPOST_SECRET="$wrong" "$MILEPOST" emit BuildStartedEvent --subject w-1 buildId=w-1 2>"$T/err"; rc=$?
eq "emit with a wrong secret exits 2" 2 "$rc"
check "emit with a wrong secret says to check MILEPOST_SECRET" grep -q MILEPOST_SECRET "$T/err"
MILEPOST_SECRET="$wrong" MILEPOST_SPOOL="$T/spool-wrong" "$MILEPOST" run --id w-2 -- sh -c 'exit 5' 2>/dev/null; rc=$?
eq "run with a wrong secret still exits with CMD's status" 5 "$rc"
eq "run with a wrong secret keeps both evidence in the spool" 2 "$(spooled "$T/spool-wrong")"
eq "a wrong secret writes nothing" "$n" "$(rows)"

# Outside any repository: no links, but run works.
cd "$T/nogit"
"$MILEPOST" run --id b-ng -- true; rc=$?
eq "run outside a git repository exits 0" 0 "$rc"
eq "run outside a git repository stores both evidence" 2 "$(ev "count(*)" "subject='b-ng'")"
eq "run outside a git repository stores no commit link" 0 \
    "$(ev "count(*)" "subject='b-ng' AND json_extract(links,'\$.commit') IS NOT NULL")"

eq "nothing is left in the spool after successful sends" 0 "$(spooled)"
stop_daemon
eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
