#!/usr/bin/env bash
# POST /hooks/cdevents: every CDEvents type Milepost maps, as spec v0.3,
# v0.4 and v0.5 wrote it (tests/fixtures/cdevents), in the CloudEvents
# binary and structured modes; every normalized field against the fixture,
# redelivery across modes, ignored types and versions, bearer and Standard
# Webhooks authentication with rotation, malformed requests.
. "$(dirname "$0")/lib.sh"
plan 1308

FX="$top_srcdir/tests/fixtures/cdevents"
BEARER="cde-bearer-$(head -c 16 /dev/urandom | xxd -p)"
BEARER2="cde-bearer-rotated-$(head -c 16 /dev/urandom | xxd -p)"
CDE_SIGNING="whsec_$(head -c 32 /dev/urandom | base64)"
write_config "sources:
  cdevents:
    bearer: [\"$BEARER\", \"$BEARER2\"]
    signing_secret: \"$CDE_SIGNING\""
start_daemon

# The mapping of cdevents.c's header comment, written again in python.
cat > "$T/cde.py" <<'PY'
import datetime, hashlib, json, re, sys, urllib.parse

def ts(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
               .timestamp() * 1000000)

def get(o, path):
    for k in path.split("."):
        if not isinstance(o, dict) or k not in o:
            return None
        o = o[k]
    return None if isinstance(o, (dict, list)) or o is None else str(o)

def put(d, k, v):
    if v is not None and v != "":
        d[k] = v

def delivery(id, source):
    s = id + "@" + source
    if len(s) < 256 and all(0x20 < ord(c) < 0x7f for c in s):
        return s
    return "sha256:" + hashlib.sha256((id + "\0" + source).encode()).hexdigest()

def unescape(s):
    return urllib.parse.unquote(s)

def purl(s):
    """(type, namespace/name, version, vcs_url) or None."""
    m = re.match(r"pkg:([^/]+)/([^?#]*)(\?[^#]*)?", s)
    if not m:
        return None
    path, version = m.group(2), ""
    last = path.rsplit("/", 1)[-1]
    if "@" in last:
        path, version = path[:len(path) - len(last)] + last.rsplit("@", 1)[0], unescape(last.rsplit("@", 1)[1])
    vcs = ""
    if m.group(3):
        q = dict(urllib.parse.parse_qsl(m.group(3)[1:]))
        vcs = q.get("vcs_url", "")
    return m.group(1), path, version, vcs

def is_sha(s):
    return bool(re.fullmatch(r"[0-9a-f]{7,40}", s)) and bool(re.search("[a-f]", s))

def link_artifact(e, a):
    if not a:
        return None
    e["links"]["artifact"] = a
    p = purl(a)
    if p is None:
        return None
    typ, path, version, vcs = p
    if typ not in ("oci", "docker") and is_sha(version):
        e["links"]["commit"] = version
    elif "@" in vcs and is_sha(vcs.rsplit("@", 1)[1]):
        e["links"]["commit"] = vcs.rsplit("@", 1)[1]
    if typ in ("github", "gitlab", "bitbucket"):
        e["links"]["repo"] = path
    return p

OUTCOME = {"success": "success", "failure": "failure", "cancel": "cancelled",
           "error": "error"}
KIND = {"pipelinerun": "pipeline", "taskrun": "task", "build": "build"}

def expected(cde, did):
    """The evidence of one CDEvent: a list, empty when it is ignored."""
    ctx, subj = cde["context"], cde["subject"]
    _, _, s, pred, ver = ctx["type"].split(".", 4)
    c = subj.get("content") or {}
    e = {"id": did, "time": ctx["timestamp"], "properties": {}, "links": {}}
    pr, ln = e["properties"], e["links"]
    if s in KIND:
        kind = KIND[s]
        if pred == "finished":
            status = OUTCOME.get(c.get("outcome"))
            if status is None and s == "build" and c.get("artifactId"):
                status = "success"
            if status is None:
                return []
            e["type"] = "PipelineCompleted"; pr["status"] = status
        else:
            e["type"] = "PipelineQueued" if pred == "queued" else "PipelineStarted"
        e["subject"] = subj["id"]
        pr["pipelineId"] = subj["id"]; pr["kind"] = kind; pr["tool"] = "cdevents"
        put(pr, "name", c.get("taskName" if kind == "task" else "pipelineName"))
        url = c.get("url") or c.get("uri")
        put(pr, "url", url); put(ln, "url", url)
        ln["pipeline"] = get(c, "pipelineRun.id") if kind == "task" and \
            get(c, "pipelineRun.id") else subj["id"]
        link_artifact(e, c.get("artifactId"))
    elif s == "artifact" and pred == "published":
        e["type"] = "ReleasePublished"; e["subject"] = subj["id"]
        p = link_artifact(e, subj["id"])
        pr["tag"] = p[2] if p and p[2] else subj["id"]
        if p:
            put(pr, "name", p[1].rsplit("/", 1)[-1])
        pr["tool"] = "cdevents"
    elif s == "service" and pred in ("deployed", "upgraded", "rolledback"):
        e["type"] = "DeploymentSucceeded"; e["subject"] = ctx["id"]
        pr["deploymentId"] = ctx["id"]; pr["service"] = subj["id"]
        put(pr, "environment", get(c, "environment.id"))
        put(pr, "revision", c.get("artifactId")); pr["tool"] = "cdevents"
        if pred == "rolledback":
            pr["reason"] = "rollback"
        ln["deployment"] = ctx["id"]; ln["service"] = subj["id"]
        put(ln, "environment", get(c, "environment.id"))
        link_artifact(e, c.get("artifactId"))
    elif s == "incident":
        e["type"] = "IncidentResolved" if pred == "resolved" else "IncidentOpened"
        e["subject"] = subj["id"]
        pr["incidentId"] = subj["id"]; put(pr, "title", c.get("description"))
        put(pr, "service", get(c, "service.id")); pr["status"] = pred
        put(pr, "url", c.get("ticketURI")); pr["tool"] = "cdevents"
        ln["incident"] = subj["id"]; put(ln, "service", get(c, "service.id"))
        put(ln, "environment", get(c, "environment.id"))
        put(ln, "url", c.get("ticketURI"))
        link_artifact(e, c.get("artifactId"))
    else:
        return []
    return [e]

def load(mode, path):
    """(the CDEvent, the delivery id) of a fixture."""
    doc = json.load(open(path, encoding="utf-8"))
    if mode == "structured":
        return doc["data"], delivery(doc["id"], doc["source"])
    return doc, delivery(doc["context"]["id"], doc["context"]["source"])

def headers(path):
    """The ce-* headers of a binary-mode delivery, one curl -H per line."""
    ctx = json.load(open(path, encoding="utf-8"))["context"]
    sid = json.load(open(path, encoding="utf-8"))["subject"]["id"]
    enc = lambda v: urllib.parse.quote(v, safe="/:@?&=+$,;!~*'()#[]")
    for k, v in (("specversion", "1.0"), ("id", ctx["id"]),
                 ("source", ctx["source"]), ("type", ctx["type"]),
                 ("time", ctx["timestamp"]), ("subject", sid)):
        print(f"ce-{k}: {enc(v)}")

def compare(name, want, got):
    got = {g["id"]: g for g in got}
    print(("ok" if len(got) == len(want) else "not ok") +
          f" - {name}: {len(want)} evidence stored (got {len(got)})")
    for w in want:
        g = got.get(w["id"])
        label = f"{name} {w['type']}"
        if g is None:
            print(f"not ok - {label}: not stored")
            continue
        for f in ("type", "subject"):
            ok = g[f] == w[f]
            print(("ok" if ok else "not ok") + f" - {label}: {f}" +
                  ("" if ok else f": expected {w[f]!r}, got {g[f]!r}"))
        ok = ts(g["time"]) == ts(w["time"])
        print(("ok" if ok else "not ok") + f" - {label}: time" +
              ("" if ok else f": expected {w['time']!r}, got {g['time']!r}"))
        for part in ("properties", "links"):
            wp, gp = w[part], g[part]
            for k in sorted(set(wp) | set(gp)):
                ok = wp.get(k) == gp.get(k)
                print(("ok" if ok else "not ok") + f" - {label}: {part}.{k}" +
                      ("" if ok else f": expected {wp.get(k)!r}, got {gp.get(k)!r}"))

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "headers":
        headers(sys.argv[2])
    elif cmd == "did":
        print(load(sys.argv[2], sys.argv[3])[1])
    elif cmd == "used":
        cde, did = load(sys.argv[2], sys.argv[3])
        print(1 if expected(cde, did) else 0)
    elif cmd == "compare":
        mode, path, actual, name = sys.argv[2:6]
        cde, did = load(mode, path)
        stored = [e for e in json.load(open(actual))["evidence"] if e["id"] == did]
        compare(name, expected(cde, did), stored)
PY
cde() { python3 "$T/cde.py" "$@"; }

# binary FILE [CURL-ARGS...]: the CDEvent as the body, context in ce-*.
binary() {
	local file=$1 h=() line ct=application/json; shift
	while IFS= read -r line; do h+=(-H "$line"); done < <(cde headers "$file")
	case $file in *-v0.4.json) ct='application/cdevents+json; charset=utf-8' ;; esac
	curl -s -o "$T/resp" -w '%{http_code}' "${h[@]}" -H "Content-Type: $ct" \
	    -H "Authorization: Bearer $BEARER" --data-binary @"$file" "$@" \
	    "$URL/hooks/cdevents"
}

# structured FILE [CURL-ARGS...]: a whole CloudEvent as the body.
structured() {
	local file=$1; shift
	curl -s -o "$T/resp" -w '%{http_code}' \
	    -H 'Content-Type: application/cloudevents+json; charset=UTF-8' \
	    -H "Authorization: Bearer $BEARER" --data-binary @"$file" "$@" \
	    "$URL/hooks/cdevents"
}

# post_raw BODY [CURL-ARGS...]: any body, bearer authenticated.
post_raw() {
	local body=$1; shift
	curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $BEARER" \
	    --data-binary "$body" "$@" "$URL/hooks/cdevents"
}

# Every fixture, in both modes; field by field when it is used.
ign0=$(curl -s "$URL/metrics" | sed -n 's/^milepost_hooks_ignored_total //p')
ignored=0
for spec in v0.3 v0.4 v0.5; do
	for f in "$FX"/*-"$spec".json; do
		name=$(basename "$f" .json)
		for mode in binary structured; do
			file=$f
			[ $mode = structured ] && file="$FX/structured/$name.json"
			r=$($mode "$file")
			if [ "$(cde used $mode "$file")" = 1 ]; then
				eq "$name ($mode): 202" 202 "$r"
				eq "$name ($mode): the id is <id>@<source>" \
				    "$(cde did $mode "$file")" "$(json 'd["evidence"][0]["id"]')"
				curl -s -o "$T/list" -H "Authorization: Bearer $READER_TOKEN" \
				    "$URL/v1/evidence?after=0&limit=1000"
				oracle "$name ($mode)" 1 cde compare $mode "$file" "$T/list" "$name ($mode)"
			else
				eq "$name ($mode): 200 ignored" "200 True" "$r $(json '"ignored" in d')"
				ignored=$((ignored + 1))
			fi
		done
	done
done
n=$(rows)
eq "one evidence per used fixture and mode" "$(( (51 - 6) * 2 ))" "$n"
eq "every evidence has source cdevents" "$n" "$(rows "source = 'cdevents'")"

# Redelivery, also across modes: the delivery id is the CloudEvent's
# id@source either way.
f="$FX/service.deployed-v0.4.json"
r=$(binary "$f"); eq "a redelivery is 200" 200 "$r"
eq "a redelivery says duplicate" True "$(json 'd.get("duplicate")')"
python3 - "$f" > "$T/as-structured" <<'PY'
import json, sys
cde = json.load(open(sys.argv[1]))
c = cde["context"]
print(json.dumps({"specversion": "1.0", "id": c["id"], "source": c["source"],
                  "type": c["type"], "time": c["timestamp"], "data": cde}))
PY
r=$(structured "$T/as-structured")
eq "the same event in structured mode is a duplicate" "200 True" "$r $(json 'd.get("duplicate")')"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $BEARER" \
    -H 'Content-Type: application/json' --data-binary @"$f" "$URL/hooks/cdevents")
eq "a bare CDEvent (plain JSON, no ce-*) is the same delivery" "200 True" "$r $(json 'd.get("duplicate")')"
eq "redeliveries store nothing" "$n" "$(rows)"

# Ignored: other CloudEvents, unmapped types, unsupported versions, and
# finished events that say nothing of the outcome.
ce() {	# ce TYPE BODY [CURL-ARGS]: binary mode with a fresh id
	local type=$1 body=$2; shift 2
	post_raw "$body" -H 'ce-specversion: 1.0' -H "ce-id: $(head -c 8 /dev/urandom | xxd -p)" \
	    -H 'ce-source: /it' -H "ce-type: $type" "$@"
}
body() {	# body TYPE CONTENT-JSON: a v0.4 CDEvent
	printf '{"context":{"specversion":"0.4.1","id":"%s","source":"/it","type":"%s","timestamp":"2025-07-04T12:00:00Z"},"subject":{"id":"s-1","content":%s}}' \
	    "$(head -c 8 /dev/urandom | xxd -p)" "$1" "$2"
}
r=$(ce com.example.object.created 'not JSON at all' -H 'Content-Type: text/plain')
eq "another kind of CloudEvent (not JSON): 200 ignored" "200 True" "$r $(json '"ignored" in d')"
t=dev.cdevents.testcaserun.finished.0.2.0
r=$(ce $t "$(body $t '{}')"); eq "an unmapped CDEvents type: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
t=dev.cdevents.pipelinerun.finished.0.4.0
r=$(ce $t "$(body $t '{"outcome":"success"}')")
eq "event version 0.4.0: 200 ignored" "200 True" "$r $(json '"version" in d["ignored"]')"
t=dev.cdevents.pipelinerun.finished.1.0.0
r=$(ce $t "$(body $t '{"outcome":"success"}')")
eq "event version 1.0.0: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
t=dev.cdevents.pipelinerun.finished.0.2.0
r=$(ce $t "$(body $t '{"pipelineName":"p"}')")
eq "pipelinerun.finished without an outcome: 200 ignored" "200 True" "$r $(json '"outcome" in d["ignored"]')"
r=$(ce $t "$(body $t '{"outcome":"exploded"}')")
eq "an outcome outside the spec: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
t=dev.cdevents.build.finished.0.2.0
r=$(ce $t "$(body $t '{}')")
eq "build.finished without outcome or artifactId: 200 ignored" "200 True" "$r $(json '"ignored" in d')"
ign1=$(curl -s "$URL/metrics" | sed -n 's/^milepost_hooks_ignored_total //p')
eq "milepost_hooks_ignored_total counts every ignored delivery" "$((ign0 + ignored + 7))" "$ign1"
eq "ignored deliveries store nothing" "$n" "$(rows)"

# Type matching is lenient about case ("pipelineRun"); a build.finished
# that says its outcome is taken at its word.
t=dev.cdevents.pipelineRun.started.0.2.0
r=$(ce $t "$(body $t '{"pipelineName":"camel"}')"); eq "dev.cdevents.pipelineRun.started: 202" 202 "$r"
t=dev.cdevents.build.finished.0.3.0
r=$(ce $t "$(body $t '{"outcome":"failure"}')"); eq "build.finished with an outcome: 202" 202 "$r"
eq "... stored as PipelineCompleted failure" '{"kind":"build","pipelineId":"s-1","status":"failure","tool":"cdevents"}' \
    "$(sqlite3 "$T/ledger.db" 'SELECT properties FROM evidence ORDER BY seq DESC LIMIT 1')"
n=$((n + 2))

# Delivery ids: percent-decoded ce-* headers, and a digest when id@source
# is not a usable evidence id.
t=dev.cdevents.incident.detected.0.2.0
r=$(post_raw "$(body $t '{"environment":{"id":"prod"}}')" -H 'ce-specversion: 1.0' \
    -H 'ce-id: inc%2F7' -H 'ce-source: /pager%20duty' -H "ce-type: $t")
want=$(python3 -c 'import hashlib; print("sha256:" + hashlib.sha256(b"inc/7\0/pager duty").hexdigest())')
eq "a space in the decoded source gives a sha256 delivery id" "202 $want" "$r $(json 'd["evidence"][0]["id"]')"
r=$(post_raw "$(body $t '{"environment":{"id":"prod"}}')" -H 'ce-specversion: 1.0' \
    -H 'ce-id: inc%2F8' -H 'ce-source: /pager' -H "ce-type: $t")
eq "ce-id is percent-decoded" "202 inc/8@/pager" "$r $(json 'd["evidence"][0]["id"]')"
long=$(printf 'x%.0s' $(seq 300))
r=$(post_raw "$(body $t '{"environment":{"id":"prod"}}')" -H 'ce-specversion: 1.0' \
    -H "ce-id: $long" -H 'ce-source: /pager' -H "ce-type: $t")
eq "a 300-byte id gives a sha256 delivery id" "202 True" "$r $(json 'd["evidence"][0]["id"].startswith("sha256:")')"
n=$((n + 3))

# Authentication: bearer (either of two), or Standard Webhooks.
f="$FX/structured/incident.resolved-v0.5.json"
cp "$f" "$T/ev.json"
fresh() {	# a new id for the structured event in $T/ev.json
	python3 - "$T/ev.json" <<'PY'
import json, sys, uuid
d = json.load(open(sys.argv[1]))
d["id"] = d["data"]["context"]["id"] = str(uuid.uuid4())
open(sys.argv[1], "w").write(json.dumps(d))
PY
}
fresh
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "401 without credentials" 401 "$r"
eq "the 401 body is a JSON error" True "$(json '"error" in d')"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    -H "Authorization: Bearer not-$BEARER" --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "401 for a wrong bearer token" 401 "$r"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    -H "Authorization: Basic $(printf 'u:%s' "$BEARER" | base64 -w0)" --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "401 for the token sent as Basic" 401 "$r"
# sign_with KEY ID TS FILE: Standard Webhooks, as lib.sh's sign does.
sign_with() {
	local hex
	hex=$(printf '%s' "${1#whsec_}" | base64 -d | xxd -p -c 256)
	{ printf '%s.%s.' "$2" "$3"; cat "$4"; } | openssl dgst -sha256 -mac HMAC \
	    -macopt "hexkey:$hex" -binary | base64
}
ts=$(date +%s)
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    -H 'webhook-id: msg_1' -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$(sign_with "$SECRET" msg_1 "$ts" "$T/ev.json")" \
    --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "401 for a signature made with another key" 401 "$r"
old=$((ts - 301))
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    -H 'webhook-id: msg_2' -H "webhook-timestamp: $old" \
    -H "webhook-signature: v1,$(sign_with "$CDE_SIGNING" msg_2 "$old" "$T/ev.json")" \
    --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "401 for a signature 301 s old" 401 "$r"
eq "nothing stored by any 401" "$n" "$(rows)"
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    -H 'webhook-id: msg_3' -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$(sign_with "$CDE_SIGNING" msg_3 "$ts" "$T/ev.json")" \
    --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "202 for a Standard Webhooks signature" 202 "$r"
fresh
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/cloudevents+json' \
    -H "Authorization: Bearer $BEARER2" --data-binary @"$T/ev.json" "$URL/hooks/cdevents")
eq "202 for the second (rotated) bearer token" 202 "$r"
n=$((n + 2))

# Malformed: 400, nothing stored.
r=$(post_raw '{"specversion":"1.0","id":"m1","source":"/it","type":"dev.cdevents.build.started.0.2.0",' \
    -H 'Content-Type: application/cloudevents+json')
eq "400 for malformed JSON in structured mode" "400 True" "$r $(json '"JSON" in d["error"]')"
t=dev.cdevents.build.started.0.2.0
r=$(post_raw "[$(body $t '{}')]" -H 'Content-Type: application/cloudevents-batch+json')
eq "400 for the batched content mode, saying so" "400 True" "$r $(json '"batch" in d["error"]')"
r=$(post_raw "{\"specversion\":\"1.0\",\"id\":\"m2\",\"source\":\"/it\",\"type\":\"$t\"}" \
    -H 'Content-Type: application/cloudevents+json')
eq "400 for a structured CDEvents type without data" 400 "$r"
r=$(post_raw '{"subject":{"id":"x"}}' -H 'ce-specversion: 1.0' -H "ce-type: $t")
eq "400 for binary mode without ce-id or context.id" 400 "$r"
r=$(ce $t '{"context":{"type":"'$t'"}}')
eq "400 for a CDEvent without subject" 400 "$r"
r=$(ce $t "$(body $t '{}') trailing")
eq "400 for trailing data after the CDEvent" 400 "$r"
eq "nothing stored by any 400" "$n" "$(rows)"

stop_daemon TERM
eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
