#!/usr/bin/env bash
# POST /hooks/github with GitHub's own example payloads (tests/fixtures/
# github, copied from @octokit/webhooks-examples), signed the way GitHub
# signs them: every normalized field against the fixture, redelivery,
# ignored events, the signature checks, secret rotation, form bodies.
. "$(dirname "$0")/lib.sh"
plan 289

FX="$top_srcdir/tests/fixtures/github"
GH_SECRET="It's a Secret to Everybody"
GH_SECRET2="rotated-$(head -c 12 /dev/urandom | xxd -p)"
write_config "sources:
  github: { secret: [\"$GH_SECRET\", \"$GH_SECRET2\"] }"
start_daemon

# ghsig SECRET FILE: X-Hub-Signature-256's hex, over the file's raw bytes.
ghsig() {
	openssl dgst -sha256 -hmac "$1" -r < "$2" | cut -d' ' -f1
}

# gh EVENT FILE DELIVERY [SECRET] [CURL-ARGS...]: a delivery as GitHub
# sends it; prints the status, the reply is in $T/resp.
gh() {
	local event=$1 file=$2 delivery=$3 secret=${4:-$GH_SECRET}
	shift 3; [ $# -gt 0 ] && shift
	curl -s -o "$T/resp" -w '%{http_code}' -H "X-GitHub-Event: $event" \
	    -H "X-GitHub-Delivery: $delivery" \
	    -H "X-Hub-Signature-256: sha256=$(ghsig "$secret" "$file")" \
	    -H 'Content-Type: application/json' -H 'User-Agent: GitHub-Hookshot/test' \
	    --data-binary @"$file" "$@" "$URL/hooks/github"
}

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

# The normalization of github.c's header comment, written again in python,
# compared field by field with what GET /v1/evidence returns.
cat > "$T/expect.py" <<'PY'
import json, re, sys, datetime

def ts(s):
    """RFC 3339 -> microseconds since the epoch."""
    s = s.replace("Z", "+00:00")
    return int(datetime.datetime.fromisoformat(s).timestamp() * 1000000)

def jstr(v):
    """source_str: strings as they are, other scalars as json-c prints them."""
    if v is None or isinstance(v, (dict, list)):
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)

def get(o, path):
    for k in path.split("."):
        if not isinstance(o, dict) or k not in o:
            return None
        o = o[k]
    return jstr(o)

def put(d, k, v):
    if v is not None and v != "":
        d[k] = v

def branch(ref):
    return ref[11:] if ref and ref.startswith("refs/heads/") else ref

def message_keys(props, links, msg):
    ms = []
    for line in msg.split("\n"):
        if line[:10].lower() == "milestone:":
            v = line[10:].lstrip(" \t").rstrip(" \r")
            if v:
                ms.append(v)
    if ms:
        props["milestones"] = ms
        links["milestone"] = ms[0]
    keys = [k for k in re.findall(r"\b([A-Z][A-Z0-9]+-[0-9]+)\b", msg)
            if not k.startswith("M-")][:32]
    if keys:
        props["issueKeys"] = keys

def ev(id, type, subject, time):
    return {"id": id, "type": type, "subject": subject, "time": time,
            "properties": {}, "links": {}}

def push(p, d):
    out = []
    for c in p.get("commits") or []:
        if c.get("distinct") is False:
            continue
        # The event time is the delivery's: the commit's date is its
        # author's choice, kept as authorTime.
        e = ev(d + "." + c["id"], "CommitPushed", c["id"], "receipt")
        pr, ln = e["properties"], e["links"]
        put(pr, "sha", c["id"]); put(pr, "ref", p["ref"])
        put(pr, "message", c.get("message"))
        put(pr, "author", get(c, "author.name"))
        pr["authorTime"] = c["timestamp"]
        pr["tool"] = "github"; pr["forced"] = bool(p.get("forced"))
        message_keys(pr, ln, c.get("message") or "")
        put(ln, "commit", c["id"])
        put(ln, "repo", get(p, "repository.full_name"))
        put(ln, "branch", branch(p["ref"])); put(ln, "url", c.get("url"))
        out.append(e)
    # What a merge brought onto the branch: on the head commit's evidence.
    merged = [c["id"] for c in p.get("commits") or [] if c.get("distinct") is False]
    for e in out:
        if merged and e["subject"] == p.get("after"):
            e["properties"]["merged"] = merged
    return out

def deploy_common(e, p):
    pr, ln = e["properties"], e["links"]
    put(pr, "deploymentId", get(p, "deployment.id"))
    put(pr, "environment", get(p, "deployment.environment"))
    put(pr, "revision", get(p, "deployment.sha"))
    put(pr, "service", get(p, "repository.name")); pr["tool"] = "github"
    put(ln, "deployment", get(p, "deployment.id"))
    put(ln, "environment", get(p, "deployment.environment"))
    put(ln, "commit", get(p, "deployment.sha"))
    put(ln, "repo", get(p, "repository.full_name"))
    put(ln, "service", get(p, "repository.name"))
    put(ln, "branch", branch(get(p, "deployment.ref")))
    put(pr, "release", get(p, "deployment.payload.release"))
    put(pr, "region", get(p, "deployment.payload.region"))
    put(ln, "release", get(p, "deployment.payload.release"))

def deployment(p, d):
    e = ev(d, "DeploymentPlanned", get(p, "deployment.id"),
           get(p, "deployment.created_at"))
    deploy_common(e, p)
    return [e]

def deployment_status(p, d):
    state = get(p, "deployment_status.state")
    t = {"success": "DeploymentSucceeded", "failure": "DeploymentFailed",
         "error": "DeploymentFailed", "in_progress": "DeploymentStarted",
         "queued": "DeploymentStarted", "pending": "DeploymentStarted"}[state]
    e = ev(d, t, get(p, "deployment.id"),
           get(p, "deployment_status.updated_at") or
           get(p, "deployment_status.created_at"))
    deploy_common(e, p)
    put(e["properties"], "url", get(p, "deployment_status.log_url") or get(p, "deployment_status.target_url"))
    put(e["properties"], "reason", get(p, "deployment_status.description"))
    return [e]

CONCLUSION = {"success": "success", "neutral": "success",
              "failure": "failure", "timed_out": "failure",
              "startup_failure": "failure", "cancelled": "cancelled",
              "skipped": "skipped", "stale": "skipped"}

def pipeline(p, d, obj):
    o = p[obj]
    kind = {"workflow_run": "pipeline", "workflow_job": "job",
            "check_suite": "build"}[obj]
    start = {"workflow_run": "run_started_at", "workflow_job": "started_at",
             "check_suite": "created_at"}[obj]
    pid = jstr(o["id"])
    if jstr(o.get("run_attempt")):
        pid += "-" + jstr(o["run_attempt"])
    if p["action"] == "completed":
        end = jstr(o.get("completed_at" if obj == "workflow_job" else "updated_at"))
        e = ev(d, "PipelineCompleted", pid, end)
        e["properties"]["status"] = CONCLUSION[o["conclusion"]]
        if jstr(o.get(start)) and end:
            e["properties"]["duration"] = (ts(end) - ts(o[start])) // 1000000
    else:
        e = ev(d, "PipelineStarted", pid, jstr(o.get(start)))
    pr, ln = e["properties"], e["links"]
    pr["pipelineId"] = pid; pr["kind"] = kind; pr["tool"] = "github"
    put(pr, "name", jstr(o.get("name")))
    put(pr, "ref", jstr(o.get("head_branch")))
    put(ln, "branch", jstr(o.get("head_branch")))
    put(pr, "url", jstr(o.get("html_url")))
    if obj == "workflow_job" and jstr(o.get("run_id")):
        ln["pipeline"] = jstr(o["run_id"]) + "-" + (jstr(o.get("run_attempt")) or "1")
        ln["job"] = pid
    else:
        ln["pipeline"] = pid
    put(ln, "commit", jstr(o.get("head_sha")))
    put(ln, "repo", get(p, "repository.full_name"))
    out = [e]
    # A workflow run is also the agent's build, under the id milepost run
    # takes in GitHub Actions (GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT).
    if obj == "workflow_run":
        if e["type"] == "PipelineStarted":
            b = ev(d + ".build", "BuildStartedEvent", pid, e["time"])
            b["properties"]["buildId"] = pid
            out.append(b)
        elif pr["status"] != "skipped" and "duration" in pr:
            b = ev(d + ".build", "BuildCompleted", pid, e["time"])
            b["properties"]["buildStatus"] = "success" if pr["status"] == "success" else "failure"
            b["properties"]["duration"] = pr["duration"]
            out.append(b)
        for b in out[1:]:
            b["links"] = dict(ln)
    return out

def release(p, d):
    r = p["release"]
    e = ev(d, "ReleasePublished", r["tag_name"], jstr(r.get("published_at")))
    pr, ln = e["properties"], e["links"]
    pr["tag"] = r["tag_name"]; put(pr, "name", jstr(r.get("name")))
    put(pr, "url", jstr(r.get("html_url"))); pr["tool"] = "github"
    if r.get("prerelease") is not None:
        pr["prerelease"] = bool(r["prerelease"])
    put(ln, "repo", get(p, "repository.full_name"))
    put(ln, "service", get(p, "repository.name"))
    return [e]

def expected(event, p, d):
    if event == "push":
        return push(p, d)
    if event == "deployment":
        return deployment(p, d)
    if event == "deployment_status":
        return deployment_status(p, d)
    if event in ("workflow_run", "workflow_job", "check_suite"):
        return pipeline(p, d, event)
    if event == "release":
        return release(p, d)
    raise SystemExit("no expectation for " + event)

def same(want, got):
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    return want == got

def compare(name, want, got):
    """One line per field: ok - NAME: FIELD, or not ok with both values."""
    got = {g["id"]: g for g in got}
    print(("ok" if len(got) == len(want) else "not ok") +
          f" - {name}: {len(want)} evidence stored, as expected (got {len(got)})")
    for w in want:
        g = got.get(w["id"])
        label = f"{name} {w['type']} {w['id'][-12:]}"
        if g is None:
            print(f"not ok - {label}: not stored")
            continue
        for f in ("type", "subject"):
            ok = g[f] == w[f]
            print(("ok" if ok else "not ok") + f" - {label}: {f}" +
                  ("" if ok else f": expected {w[f]!r}, got {g[f]!r}"))
        if w["time"] == "receipt":	# received, then stored within 60 s
            ok = 0 <= ts(g["recorded_at"]) - ts(g["time"]) < 60000000
        else:
            ok = w["time"] is not None and ts(g["time"]) == ts(w["time"])
        print(("ok" if ok else "not ok") + f" - {label}: time" +
              ("" if ok else f": expected {w['time']!r}, got {g['time']!r}"))
        for part in ("properties", "links"):
            wp, gp = w[part], g[part]
            for k in sorted(set(wp) | set(gp)):
                wv, gv = wp.get(k), gp.get(k)
                if k == "authorTime" and wv is not None and gv is not None:
                    ok = ts(wv) == ts(gv)
                else:
                    ok = same(wv, gv)
                print(("ok" if ok else "not ok") + f" - {label}: {part}.{k}" +
                      ("" if ok else f": expected {wv!r}, got {gv!r}"))

if __name__ == "__main__":
    event, fixture, delivery, actual = sys.argv[1:5]
    p = json.load(open(fixture, encoding="utf-8"))
    stored = [e for e in json.load(open(actual))["evidence"]
              if e["id"] == delivery or e["id"].startswith(delivery + ".")]
    compare(sys.argv[5] if len(sys.argv) > 5 else event,
            expected(event, p, delivery), stored)
PY

# fields EVENT FIXTURE DELIVERY: compare what was stored field by field.
fields() {
	curl -s -o "$T/list" -H "Authorization: Bearer $READER_TOKEN" \
	    "$URL/v1/evidence?after=0&limit=1000"
	# The python comparison's ok/not ok lines; its crash is a failure.
	oracle "${2%.json}" 1 python3 "$T/expect.py" "$1" "$FX/$2" "$3" "$T/list" "${2%.json}"
}

# The signer itself, against GitHub's published vector.
printf 'Hello, World!' > "$T/hello"
eq "the test's signer gives GitHub's test vector" \
    757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17 \
    "$(ghsig "It's a Secret to Everybody" "$T/hello")"
r=$(gh push "$T/hello" "$(uuid)")
eq "GitHub's vector passes the signature check (then 400: not JSON)" 400 "$r"

# Every used event, each field checked against the fixture.
declare -A SEEN
for f in push-branch.json:push push-branch-utf8.json:push \
    deployment-created.json:deployment \
    deployment-payload.json:deployment \
    deployment_status-payload.json:deployment_status \
    deployment_status-success.json:deployment_status \
    deployment_status-failure.json:deployment_status \
    deployment_status-in_progress.json:deployment_status \
    workflow_run-requested.json:workflow_run \
    workflow_run-completed.json:workflow_run \
    workflow_job-in_progress.json:workflow_job \
    workflow_job-completed.json:workflow_job \
    check_suite-completed.json:check_suite \
    release-published.json:release; do
	file=${f%%:*} event=${f##*:} d=$(uuid)
	SEEN[$file]=$d
	r=$(gh "$event" "$FX/$file" "$d")
	eq "$file: 202" 202 "$r"
	fields "$event" "$file" "$d"
done
n=$(rows)
eq "the raw payload is kept byte for byte (milepost ledger raw)" "$(sha256sum < "$FX/push-branch-utf8.json")" \
    "$("$MILEPOST" ledger raw github "${SEEN[push-branch-utf8.json]}" --ledger "sqlite:$T/ledger.db" | sha256sum)"
eq "the stored form is one LZ4 frame (lz4 -dc reads it)" "lz4|04224d18" \
    "$(sqlite3 "$T/ledger.db" "SELECT encoding, lower(hex(substr(body, 1, 4))) FROM raw_payloads WHERE delivery = '${SEEN[push-branch-utf8.json]}'")"
"$MILEPOST" ledger raw github no-such-delivery --ledger "sqlite:$T/ledger.db" >/dev/null 2>"$T/raw.err"
eq "ledger raw: an unknown delivery exits 1" 1 $?
check "ledger raw: and says which" grep -q "no payload of source github with delivery id no-such-delivery" "$T/raw.err"
"$MILEPOST" ledger raw github --ledger "sqlite:$T/ledger.db" >/dev/null 2>"$T/raw.err"
eq "ledger raw without DELIVERY: a usage error (2)" 2 $?
check "ledger raw: and names what is missing" grep -q "needs SOURCE and DELIVERY" "$T/raw.err"
"$MILEPOST" ledger raw github x y --ledger "sqlite:$T/ledger.db" >/dev/null 2>"$T/raw.err"
eq "ledger raw with an extra argument: 2" 2 $?
"$MILEPOST" ledger raw github x --ledger "sqlite:$T/no-such.db" >/dev/null 2>"$T/raw.err"
eq "ledger raw on a missing ledger: 2" 2 $?
check "ledger raw: and says so" grep -q "no such ledger" "$T/raw.err"
check "the UTF-8 commit message is stored byte for byte" \
    grep -q 'Fix naïve café rendering' <(sqlite3 "$T/ledger.db" "SELECT properties FROM evidence")

# Redelivery: GitHub keeps X-GitHub-Delivery.
nraw=$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM raw_payloads")
r=$(gh deployment "$FX/deployment-created.json" "${SEEN[deployment-created.json]}")
eq "a redelivery is 200" 200 "$r"
eq "a redelivery says duplicate" True "$(json 'd.get("duplicate")')"
r=$(gh push "$FX/push-branch-utf8.json" "${SEEN[push-branch-utf8.json]}")
eq "a redelivered push (one evidence per commit) is 200, duplicates" "200 1" "$r $(json 'd.get("duplicates", 0)')"
eq "redeliveries store nothing" "$n" "$(rows)"
eq "redeliveries keep no second raw payload" "$nraw" "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM raw_payloads")"
check "raw payloads cannot be deleted" refused "$T/ledger.db" 'DELETE FROM raw_payloads' "raw payloads are append-only"
eq "raw payloads cannot be changed" "raw payloads are append-only" \
    "$(sqlite3 "$T/ledger.db" "UPDATE raw_payloads SET body = x'00'" 2>&1 | grep -o "raw payloads are append-only")"

# Genuine deliveries of events Milepost does not use: 200 {"ignored": why}.
ign0=$(curl -s "$URL/metrics" | sed -n 's/^milepost_hooks_ignored_total //p')
r=$(gh ping "$FX/ping.json" "$(uuid)")
eq "ping: 200" 200 "$r"
eq "ping: ignored, with a reason" True "$(json '"ignored" in d and len(d["ignored"]) > 0')"
r=$(gh create "$FX/create-tag.json" "$(uuid)")
eq "create: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
r=$(gh push "$FX/push-tag.json" "$(uuid)")
eq "a push of a tag without commits: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
r=$(gh issues "$FX/ping.json" "$(uuid)")
eq "an event not subscribed for: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
ign1=$(curl -s "$URL/metrics" | sed -n 's/^milepost_hooks_ignored_total //p')
eq "milepost_hooks_ignored_total counts them" "$((ign0 + 4))" "$ign1"
eq "ignored events store nothing" "$n" "$(rows)"

# Authentication: 401 and nothing stored.
f="$FX/deployment-created.json"
r=$(gh deployment "$f" "$(uuid)" "not-the-secret")
eq "401 for a wrong secret" 401 "$r"
eq "the 401 body is a JSON error" True "$(json '"error" in d')"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-GitHub-Delivery: $(uuid)" -H 'Content-Type: application/json' \
    --data-binary @"$f" "$URL/hooks/github")
eq "401 without X-Hub-Signature-256" 401 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-GitHub-Delivery: $(uuid)" -H 'Content-Type: application/json' \
    -H "X-Hub-Signature: sha1=$(openssl dgst -sha1 -hmac "$GH_SECRET" -r < "$f" | cut -d' ' -f1)" \
    --data-binary @"$f" "$URL/hooks/github")
eq "401 with only the legacy SHA-1 X-Hub-Signature" 401 "$r"
sed 's/"production"/"staging"/' "$f" > "$T/tampered"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-GitHub-Delivery: $(uuid)" -H 'Content-Type: application/json' \
    -H "X-Hub-Signature-256: sha256=$(ghsig "$GH_SECRET" "$f")" \
    --data-binary @"$T/tampered" "$URL/hooks/github")
eq "401 for a tampered body" 401 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-GitHub-Delivery: $(uuid)" -H 'Content-Type: application/json' \
    -H "X-Hub-Signature-256: sha1=$(ghsig "$GH_SECRET" "$f")" \
    --data-binary @"$f" "$URL/hooks/github")
eq "401 for a signature without its sha256= prefix" 401 "$r"
eq "nothing stored by any 401" "$n" "$(rows)"

# Rotation: both configured secrets are accepted; upper-case hex too.
r=$(gh deployment "$f" "$(uuid)" "$GH_SECRET2")
eq "the second (rotated) secret is accepted" 202 "$r"
d=$(uuid)
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-GitHub-Delivery: $d" -H 'Content-Type: application/json' \
    -H "X-Hub-Signature-256: sha256=$(ghsig "$GH_SECRET" "$f" | tr a-f A-F)" \
    --data-binary @"$f" "$URL/hooks/github")
eq "an upper-case hex signature is accepted" 202 "$r"
n=$((n + 2))

# A form-encoded payload (the other content type GitHub offers): signed
# correctly, refused as not JSON.
python3 -c 'import sys, urllib.parse; sys.stdout.write("payload=" + urllib.parse.quote(open(sys.argv[1]).read()))' "$f" > "$T/form"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-GitHub-Delivery: $(uuid)" -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "X-Hub-Signature-256: sha256=$(ghsig "$GH_SECRET" "$T/form")" \
    --data-binary @"$T/form" "$URL/hooks/github")
eq "400 for a form-encoded body" 400 "$r"
eq "the 400 says the body is not JSON" True "$(json '"JSON" in d["error"]')"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H "X-GitHub-Delivery: $(uuid)" \
    -H "X-Hub-Signature-256: sha256=$(ghsig "$GH_SECRET" "$f")" \
    --data-binary @"$f" "$URL/hooks/github")
eq "400 without X-GitHub-Event" 400 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'X-GitHub-Event: deployment' \
    -H "X-Hub-Signature-256: sha256=$(ghsig "$GH_SECRET" "$f")" \
    --data-binary @"$f" "$URL/hooks/github")
eq "400 without X-GitHub-Delivery" 400 "$r"
eq "nothing stored by any 400" "$n" "$(rows)"

eq "every evidence has source github" "$n" "$(rows "source = 'github'")"
stop_daemon TERM
eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
