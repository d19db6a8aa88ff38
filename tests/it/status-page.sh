#!/usr/bin/env bash
# The public status page per tenant (issue 14, point 2): off by default;
# status_pages: checked with did-you-mean; GET /status/{tenant}[.json]
# with no token shows only the configured fields, from the tenant's client
# view (no SHA, no other tenant), with an ETag.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/browser/scenario.sh"
plan 17

write_config "$(scenario_config 'status_pages:
  acmee: { fields: [milestones] }')"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
eq "a status page for an undeclared tenant fails -n (exit 1)" 1 "$rc"
check "... at its line, with the nearest tenant" grep -q \
    'milepost.yaml:[0-9]*: status_pages: unknown tenant acmee (did you mean acme?; valid: acme or globex) (declared in tenants:)' "$T/err"
write_config "$(scenario_config 'status_pages:
  acme: { fields: [milestones, progres] }')"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
eq "an unknown field fails -n (exit 1)" 1 "$rc"
check "... naming the nearest and every valid field" grep -q \
    'milepost.yaml:[0-9]*: status_pages.acme.fields: unknown field progres (did you mean progress?; valid: milestones, progress, predicted, delivery, services, since or incidents)' "$T/err"

# Off by default.
write_config "$(scenario_config)"
start_daemon
scenario_run
eq "no status_pages: /status/acme is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/status/acme")"
eq "... and /status/acme.json too" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/status/acme.json")"
check "daemon stops cleanly" stop_daemon

# Some fields only.
write_config "$(scenario_config 'status_pages:
  acme: { title: "Acme delivery", fields: [milestones, services, incidents] }')"
start_daemon
scenario_run
code=$(curl -s -D "$T/h" -o "$T/resp" -w '%{http_code}' "$URL/status/acme.json")
eq "GET /status/acme.json with no token: 200" 200 "$code"
eq "... the title, the milestone without progress or prediction, no other key" \
    "Acme delivery|due,id,state,title|incidents,milestones,services,tenant,title" \
    "$(json '"%s|%s|%s" % (d["title"], ",".join(sorted(d["milestones"][0])), ",".join(sorted(d)))')"
eq "... the tenant's services only, each environment's state without since" \
    "payments:production=failed shop:production=deployed shop:staging=deployed" \
    "$(json '" ".join(sorted("%s:%s=%s" % (s["service"], e, ",".join(v) if list(v) != ["state"] else v["state"]) for s in d["services"] for e, v in s["environments"].items()))')"
check "... and no commit, deployment id, actor or other tenant in it" cmd_lacks \
    "$SHA1\|${SHA2:0:7}\|${SHA3:0:7}\|agent\|globex\|ledgerly\|INC-1\|Card payments" cat "$T/resp"
check "... readable from any origin (it is public), with an ETag" \
    sh -c "grep -qi '^access-control-allow-origin: \*' '$T/h' && grep -qi '^etag: \"' '$T/h'"
ETAG=$(sed -n 's/^ETag: *\([^\r]*\).*/\1/Ip' "$T/h")
eq "If-None-Match with it: 304" 304 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$URL/status/acme.json")"
curl -s -D "$T/h" -o "$T/page" "$URL/status/acme"
check "GET /status/acme is the HTML page, with the self-only CSP and an ETag" \
    sh -c "grep -qi '^content-type: text/html' '$T/h' && grep -qi \"^content-security-policy: default-src 'none'\" '$T/h' && grep -qi '^etag:' '$T/h' && grep -q 'status.js' '$T/page'"
eq "a tenant with no status page (globex): 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/status/globex.json")"
check "daemon stops cleanly" stop_daemon

# Every field.
write_config "$(scenario_config 'status_pages:
  acme: {}')"
start_daemon
scenario_run
curl -s -o "$T/resp" "$URL/status/acme.json"
eq "with every field: progress, prediction, delivery and since are there too" \
    "delivered_by,done,due,id,predicted,progress,since,state,title,total" \
    "$(json '",".join(sorted(set(d["milestones"][0]) | ({"since"} if all("since" in v for s in d["services"] for v in s["environments"].values()) else set())))')"
stop_daemon
finish
