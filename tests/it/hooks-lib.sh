# tests/it/hooks-lib.sh: helpers for the POST /hooks/{source} tests, on top
# of lib.sh.  Not a test itself: sourced by tests/it/hooks-*.sh.

# fetch: every stored evidence, through the read API, into $T/all.json.
fetch() {
	curl -s -H "Authorization: Bearer $READER_TOKEN" \
	    "$URL/v1/evidence?limit=1000" > "$T/all.json"
}

# expect SOURCE ID FIELD=VALUE...: the stored evidence (source, id) field by
# field, after fetch.  FIELD is type, subject, time, p.<property> or
# l.<link>; a value that is not a string is compared as JSON (418,
# ["M-42"], true).  The properties and links named must be all there are.
expect() {
	local src=$1 id=$2
	shift 2
	# One check per FIELD=VALUE and two for "no other": $# + 2, whatever
	# the oracle does (see oracle in lib.sh).
	oracle "$src $id" $(($# + 2)) python3 - "$T/all.json" "$src" "$id" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
src, eid, want = sys.argv[2], sys.argv[3], sys.argv[4:]
m = [e for e in d["evidence"] if e["source"] == src and e["id"] == eid]
if len(m) != 1:
    for kv in want + ["no other properties", "no other links"]:
        print("not ok - %s %s: %s: stored %d times" % (src, eid, kv.split("=", 1)[0], len(m)))
    sys.exit(0)
e = m[0]
named = {"p": set(), "l": set()}
for kv in want:
    k, v = kv.split("=", 1)
    if k[:2] in ("p.", "l."):
        named[k[0]].add(k[2:])
        got = e["properties" if k[0] == "p" else "links"].get(k[2:])
    else:
        got = e.get(k)
    if got is not None and not isinstance(got, str):
        got = json.dumps(got)
    tag = "%s %s %s: %s" % (src, e["type"], eid, k)
    if got == v:
        print("ok - " + tag)
    else:
        print("not ok - %s: expected [%s], got [%s]" % (tag, v, got))
for f, name in (("p", "properties"), ("l", "links")):
    extra = sorted(set(e[name]) - named[f])
    tag = "%s %s %s: no other %s" % (src, e["type"], eid, name)
    print(("ok - " + tag) if not extra else ("not ok - %s: %s" % (tag, extra)))
PY
}

# seconds_ago SOURCE ID: how long before now the evidence's event time is.
seconds_ago() {
	python3 - "$T/all.json" "$1" "$2" <<'PY'
import json, sys, datetime
d = json.load(open(sys.argv[1]))
e = [e for e in d["evidence"] if e["source"] == sys.argv[2] and e["id"] == sys.argv[3]][0]
t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00"))
print(int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()))
PY
}

# metric NAME: its value in GET /metrics.
metric() {
	curl -s "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
