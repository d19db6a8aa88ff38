#!/usr/bin/env bash
# The read API as clients see it: token roles and the permission table,
# client tokens bound to a tenant (404 for another tenant's claim, lists
# filtered), the redaction policy (never a redacted field, at any depth),
# ETag and If-None-Match on every read, and per-token rate limits (429
# with Retry-After, other tokens unaffected).  Claims get their tenant
# link from the evidence that creates them, sent by the real agent.
. "$(dirname "$0")/lib.sh"
plan 73

CLIENT_B_TOKEN="client-b-token-$(head -c 8 /dev/urandom | xxd -p)"
OPERATOR_TOKEN="operator-token-$(head -c 8 /dev/urandom | xxd -p)"
WRITER_TOKEN="writer-token-$(head -c 8 /dev/urandom | xxd -p)"
SLOW_TOKEN="slow-reader-token-$(head -c 8 /dev/urandom | xxd -p)"
write_config "  - { token: \"$CLIENT_B_TOKEN\", role: client, tenant: globex, name: globex-portal }
  - { token: \"$OPERATOR_TOKEN\", role: operator, name: oncall }
  - { token: \"$WRITER_TOKEN\", role: writer, name: ci-agent }
  - { token: \"$SLOW_TOKEN\", role: reader, name: slow, rate: 1/min, burst: 3 }
rate: { per_token: 200/s, burst: 400 }
redaction:
  client:
    remove: [properties.ticket, \"links.internal_*\"]
evidence_types:
  WorkItemOpened:
    properties:
      title:   { type: text, required: true }
      message: { type: text, required: true }
      author:  { type: text, required: true }
      notes:   { type: text, required: true }
      ticket:  { type: text, required: true }
      eta:     { type: text, required: true }
  WorkItemClosed:
    properties:
      resolution: { type: text, required: true }
claim_types:
  WorkItem:
    properties:
      status:     { type: text, required: true }
      title:      { type: text }
      message:    { type: text }
      author:     { type: text }
      notes:      { type: text }
      ticket:     { type: text }
      eta:        { type: text }
      resolution: { type: text }
    created_by:
      evidence: WorkItemOpened
      set: { status: open, title: \$title, message: \$message, author: \$author, notes: \$notes, ticket: \$ticket, eta: \$eta }
    revised_by:
      - { evidence: WorkItemClosed, set: { status: closed, resolution: \$resolution } }"
start_daemon

opened() {	# opened ID TENANT-OR-EMPTY
	"$MILEPOST" emit WorkItemOpened --subject "$1" --id "open-$1" \
	    ${2:+--link tenant=$2} --link author=alice --link internal_board=B7 \
	    --link repo=acme/shop title="Fix $1" message="secret commit text" \
	    author=alice notes="customer is angry" ticket=T-9 eta=2025-08-01 ||
	    not_ok "emit $1"
}
get() {		# get TOKEN PATH [CURL-ARGS...]: GET PATH into $T/resp, headers in $T/hdr; prints the status
	local tok=$1 p=$2; shift 2
	curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $tok" "$@" "$URL$p"
}
hdr() { tr -d '\r' < "$T/hdr" | sed -n "s/^$1: //Ip"; }
# The patterns a client must never receive: the built-in ones and the
# configured ones, checked by python3 at every depth of the last response.
no_redacted() {
	python3 - "$T/resp" <<'PY'
import fnmatch, json, sys
pats = ["*message*", "*author*", "*committer*", "*email*", "actor",
        "*assignee*", "deployer", "approver", "user", "username", "login",
        "*notes*", "description", "title", "summary", "url"]
bad = []
def walk(o, path):
    if isinstance(o, list):
        for x in o:
            walk(x, path)
    elif isinstance(o, dict):
        for k, v in o.items():
            p = path + [k]
            if any(fnmatch.fnmatch(k.lower(), x) for x in pats) or \
               p[-2:] == ["properties", "ticket"] or \
               (len(p) >= 2 and p[-2] == "links" and k.startswith("internal_")):
                bad.append(".".join(p))
            walk(v, p)
walk(json.load(open(sys.argv[1])), [])
if bad:
    print("redacted fields present:", bad, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

opened W-1 acme
opened W-2 globex
opened W-3 ""
"$MILEPOST" emit WorkItemClosed --subject W-2 --id close-W-2 \
    resolution=done || not_ok "emit close W-2"
eq "four claim revisions written" 4 \
    "$(sqlite3 "$T/ledger.db" 'SELECT count(*) FROM claim_revisions;')"
eq "the tenant link flows from the evidence into the claim" acme \
    "$(sqlite3 "$T/ledger.db" "SELECT json_extract(links, '\$.tenant') FROM claim_revisions WHERE id='W-1';")"

# --- Tenant isolation: a client token sees its tenant's claims only. ---
eq "client A reads its tenant's claim: 200" 200 "$(get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-1)"
# The client view keeps the tenant, service and environment links; a repo
# (like commits and branches) is internal (access/present.c).
eq "and its safe fields are there, the repo link is not" "open 2025-08-01 acme False" \
    "$(json '" ".join([d["properties"]["status"], d["properties"]["eta"], d["links"]["tenant"], str("repo" in d["links"])])')"
check "and it holds no redacted field (message, author, notes, title, ticket, links.author, links.internal_*)" no_redacted
get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-404 > /dev/null
cp "$T/resp" "$T/missing"
eq "client A, tenant B's claim: 404" 404 "$(get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-2)"
check "with the very body of a claim that does not exist" cmp -s "$T/resp" "$T/missing"
eq "client A, a claim without a tenant: 404" 404 "$(get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-3)"
eq "client A, tenant B's claim as of now: 404" 404 \
    "$(get "$CLIENT_TOKEN" "/v1/claims/WorkItem/W-2?as_of=2100-01-01T00:00:00Z")"
eq "client A lists WorkItem: its claim only" "200 W-1" \
    "$(get "$CLIENT_TOKEN" /v1/claims/WorkItem) $(json '",".join(c["id"] for c in d["claims"])')"
check "and the list holds no redacted field" no_redacted
eq "client A, a page of one: W-1, and next to go on" "200 W-1 W-1" \
    "$(get "$CLIENT_TOKEN" '/v1/claims/WorkItem?limit=1') $(json '",".join(c["id"] for c in d["claims"])') $(json 'd["next"]')"
eq "client A, the next page: scanned W-2, kept nothing, next W-2" "200  W-2" \
    "$(get "$CLIENT_TOKEN" '/v1/claims/WorkItem?limit=1&after=W-1') $(json '",".join(c["id"] for c in d["claims"])') $(json 'd["next"]')"
eq "client B reads its closed claim: 200 closed" "200 closed" \
    "$(get "$CLIENT_B_TOKEN" /v1/claims/WorkItem/W-2) $(json 'd["properties"]["status"]')"
check "and it holds no redacted field either" no_redacted
eq "client B, tenant A's claim: 404" 404 "$(get "$CLIENT_B_TOKEN" /v1/claims/WorkItem/W-1)"
eq "client B lists WorkItem: W-2 only" "200 W-2" \
    "$(get "$CLIENT_B_TOKEN" /v1/claims/WorkItem) $(json '",".join(c["id"] for c in d["claims"])')"
eq "a client never reads raw evidence: 403" 403 "$(get "$CLIENT_TOKEN" /v1/evidence)"

# --- Internal staff see everything; redaction is the client's policy. ---
eq "a reader reads tenant B's claim unredacted" "200 secret commit text alice T-9 alice" \
    "$(get "$READER_TOKEN" /v1/claims/WorkItem/W-2) $(json '" ".join([d["properties"]["message"], d["properties"]["author"], d["properties"]["ticket"], d["links"]["author"]])')"
eq "a reader lists every WorkItem" "200 W-1,W-2,W-3" \
    "$(get "$READER_TOKEN" /v1/claims/WorkItem) $(json '",".join(c["id"] for c in d["claims"])')"
get "$READER_TOKEN" /v1/claims/WorkItem/W-1 > /dev/null; reader_tag=$(hdr etag)
get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-1 > /dev/null; client_tag=$(hdr etag)
check "redaction changes the ETag (reader $reader_tag, client $client_tag)" \
    test -n "$client_tag" -a -n "$reader_tag" -a "$reader_tag" != "$client_tag"
eq "a client's reply varies by Authorization" Authorization "$(hdr vary)"
eq "the reader's tag is not the client's: 200 to the client" 200 \
    "$(get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-1 -H "If-None-Match: $reader_tag")"

# --- Roles: the permission table. ---
eq "a writer (agent) reads claims: 200" 200 "$(get "$WRITER_TOKEN" /v1/claims/WorkItem/W-1)"
eq "a writer reads evidence: 200" 200 "$(get "$WRITER_TOKEN" /v1/evidence)"
eq "a reader may not list tokens (admin only): 403" "403 True" \
    "$(get "$READER_TOKEN" /v1/tokens) $(json '"a reader token may not list tokens" == d["error"]')"
eq "nor may an operator: 403" 403 "$(get "$OPERATOR_TOKEN" /v1/tokens)"
eq "nor a client: 403" 403 "$(get "$CLIENT_TOKEN" /v1/tokens)"
eq "an admin lists the tokens: 200, seven" "200 7" \
    "$(get "$ADMIN_TOKEN" /v1/tokens) $(json 'len(d["tokens"])')"
eq "with names, roles, tenants and rates" "globex-portal client globex 200/s 400 | slow reader None 1/min 3" \
    "$(json '" | ".join(" ".join(str(x) for x in (t["name"], t["role"], t["tenant"], t["rate"], t["burst"])) for t in d["tokens"] if t["name"] in ("globex-portal", "slow"))')"
check "and never a token itself" no_grep -e "$READER_TOKEN" -e "$CLIENT_TOKEN" -e "$ADMIN_TOKEN" "$T/resp"
eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/claims/WorkItem/W-1")"
eq "an unknown token: 401" 401 "$(get "not-a-configured-token-at-all" /v1/claims/WorkItem/W-1)"

# --- ETag and If-None-Match on every read. ---
for p in /v1/evidence "/v1/evidence?after=1&limit=2" /v1/claims/WorkItem \
    /v1/claims/WorkItem/W-1 "/v1/claims/WorkItem/W-1?as_of=2100-01-01T00:00:00Z" \
    /healthz /metrics; do
	get "$READER_TOKEN" "$p" > /dev/null; tag=$(hdr etag)
	check "$p sends a strong ETag" grep -Eq '^"[0-9a-f]{32}"$' <<<"$tag"
	rm -f "$T/resp"
	eq "$p answers If-None-Match with 304" 304 "$(get "$READER_TOKEN" "$p" -H "If-None-Match: $tag")"
	eq "$p: the 304 has no body and repeats the ETag" "0 $tag" "$(cat "$T/resp" 2>/dev/null | wc -c) $(hdr etag)"
done
for p in /v1/claims/WorkItem /v1/claims/WorkItem/W-1; do
	get "$CLIENT_TOKEN" "$p" > /dev/null; tag=$(hdr etag)
	eq "client: $p answers If-None-Match with 304" 304 "$(get "$CLIENT_TOKEN" "$p" -H "If-None-Match: $tag")"
done
get "$READER_TOKEN" /v1/claims/WorkItem/W-1 > /dev/null; tag=$(hdr etag)
eq "a weak tag in a list matches: 304" 304 \
    "$(get "$READER_TOKEN" /v1/claims/WorkItem/W-1 -H "If-None-Match: \"0000\", W/$tag")"
eq "* matches: 304" 304 "$(get "$READER_TOKEN" /v1/claims/WorkItem/W-1 -H 'If-None-Match: *')"
eq "another tag: 200" 200 "$(get "$READER_TOKEN" /v1/claims/WorkItem/W-1 -H 'If-None-Match: "0123"')"
"$MILEPOST" emit WorkItemClosed --subject W-1 --id close-W-1 resolution=done || not_ok "emit close W-1"
eq "after a change, the old tag: 200 with a new ETag" "200 closed" \
    "$(get "$READER_TOKEN" /v1/claims/WorkItem/W-1 -H "If-None-Match: $tag") $(json 'd["properties"]["status"]')"
differs "and the new ETag differs" "$tag" "$(hdr etag)"

# --- Per-token rate limits. ---
codes=
for i in 1 2 3 4 5; do codes="$codes $(get "$SLOW_TOKEN" /v1/claims/WorkItem/W-1)"; done
eq "a token with burst 3 at 1/min: three 200s, then 429s" " 200 200 200 429 429" "$codes"
ra=$(hdr retry-after)
check "the 429 says Retry-After in whole seconds, 1 to 60 ($ra)" test "${ra:-0}" -ge 1 -a "${ra:-0}" -le 60
eq "with a JSON error naming the rate" "application/json True" \
    "$(hdr content-type) $(json '"over its rate of 1/min (burst 3)" in d["error"]')"
eq "another reader token is unaffected: 200" 200 "$(get "$READER_TOKEN" /v1/claims/WorkItem/W-1)"
eq "a client token is unaffected: 200" 200 "$(get "$CLIENT_TOKEN" /v1/claims/WorkItem/W-1)"
eq "the slow token stays limited on every endpoint: 429" 429 "$(get "$SLOW_TOKEN" /v1/evidence)"
check "429s are counted as reason=\"rate\"" grep -q 'milepost_requests_rejected_total{reason="rate"} 3' \
    <(curl -s "$URL/metrics")

# --- Configuration errors name the key. ---
cfgerr() {	# cfgerr YAML: "<exit> <milepostd -n's output>"
	local out rc=0
	printf '%s\n' "$1" > "$T/bad.yaml"
	out=$("$MILEPOSTD" -n -c "$T/bad.yaml" 2>&1) || rc=$?
	echo "$rc $out"
}
# refuses PATTERN: the last cfgerr ($r) exited 1 and says PATTERN.
refuses() { [ "${r%% *}" = 1 ] && grep -q -- "$1" <<<"$r"; }
r=$(cfgerr 'redaction: { client: { remove: ["properties..x"] } }')
check "an empty segment names redaction.client.remove[0]" refuses "bad.yaml:1: redaction.client.remove\[0\]: .*empty segment"
r=$(cfgerr 'redaction: { guest: { remove: [x] } }')
check "an unknown role names redaction.guest" refuses "redaction.guest: unknown role"
r=$(cfgerr 'rate: { per_token: "fast" }')
check "a bad rate names rate.per_token" refuses "rate.per_token: must be a rate"
r=$(cfgerr 'tokens: [ { token: "0123456789abcdef0123", role: reader, burst: 0 } ]')
check "a bad burst names tokens[0].burst" refuses "tokens\[0\].burst: must be between"

check "the daemon stops cleanly" stop_daemon
finish
