#!/usr/bin/env bash
# The face (issue 14): the dashboard's files built into milepostd (ETag,
# 304, a self-only CSP, Chart.js byte for byte from Debian's package),
# sign-in for a read-only session cookie (bounded table, never the token,
# the same presentation as a bearer read), then tests/browser/dashboard.js
# in a real headless Chromium (playwright-core from npm) over a scenario
# driven through the real agent.  Screenshots go to
# $top_builddir/tests/browser/shots; with MP_README_SCREENSHOT=1 the board's
# also replaces docs/dashboard.png (the README's).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/browser/scenario.sh"
BROWSER_CHECKS=25
plan $((BROWSER_CHECKS + 27))

MANY_TOKEN="many-token-$(head -c 8 /dev/urandom | xxd -p)"
write_config "$(scenario_config "sinks:
  status-page: { kind: webhook, url: \"http://127.0.0.1:9/\", secret: \"$SECRET\", retry_base: 1s, timeout: 1s }
subscriptions:
  - { sink: status-page, types: [Deployment, Milestone], tenant: acme }
status_pages:
  acme: {}
slos:
  shop-availability:
    service: shop
    environment: production
    objective: 99.9
    window: 30d
    indicator: { reported: {} }
computed_claims:
  BuildLifeCycleSLA:
    id: \"\$MonthName-\$YYYY\"
    trigger: BuildCompleted
    collectors:
      c: { type: BuildCompleted, count: 1000, date_offset: CurrentMonth, property: duration }
    properties:
      metSLA: { type: percentage, expression: percentLessThanTimeSpan, collector: c, threshold: 500s }")"
sed -i "s/^tokens:/tokens:\n  - { token: \"$MANY_TOKEN\", role: reader, name: many, rate: off }/" "$T/milepost.yaml"
start_daemon
scenario_run
# Two builds, one within its 500 s SLA: BuildLifeCycleSLA says 50.
"$MILEPOST" emit BuildCompleted --subject b1 buildStatus=success duration=420s > /dev/null
"$MILEPOST" emit BuildCompleted --subject b2 buildStatus=success duration=9m > /dev/null
# Five minutes at 2 % errors on shop's production SLO (99.9 %), and nothing
# else in its window: a 20x burn over every window, the budget spent, and
# so shop/production's gate is closed.
check "sli report: five minutes at 2 % errors on shop-availability" "$MILEPOST" sli report \
    --slo shop-availability --good 9800 --total 10000 \
    --start "$(date -u -d '-5 min' +%FT%TZ)" --end "$(date -u +%FT%TZ)"

# --- the files ------------------------------------------------------------
curl -s -D "$T/h" -o "$T/index" "$URL/"
check "GET / is the dashboard (text/html) with a CSP that allows no outside origin" \
    python3 - "$T/h" <<'PY'
import sys
h = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in open(sys.argv[1]) if ":" in l)}
csp = h.get("content-security-policy", "")
ok = (h.get("content-type", "").startswith("text/html") and "default-src 'none'" in csp
      and "script-src 'self'" in csp and "connect-src 'self'" in csp
      and "http" not in csp and "*" not in csp and h.get("x-content-type-options") == "nosniff")
sys.exit(0 if ok else 1)
PY
ETAG=$(sed -n 's/^ETag: *\([^\r]*\).*/\1/Ip' "$T/h")
eq "If-None-Match with its ETag: 304" 304 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$URL/")"
curl -s -D "$T/h2" -o "$T/chart.js" "$URL/assets/chart.js"
check "Chart.js is served as JavaScript, byte for byte Debian's libjs-chart.js" \
    sh -c "grep -qi '^content-type: text/javascript' '$T/h2' && cmp -s '$T/chart.js' /usr/share/javascript/chart.js/chart.min.js"
eq "an unknown asset: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/assets/nothing.js")"

# --- sign-in ----------------------------------------------------------------
eq "POST /session with an unknown token: 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer nope' "$URL/session")"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $READER_TOKEN" \
    -d '{"view":"executiv"}' "$URL/session")
eq "a misspelt view: 400, naming the nearest and the valid ones" \
    "400 view yes" "$code $(json '"%s %s" % (d.get("property"), "yes" if "did you mean executive?" in d["error"] and "engineer" in d["error"] else d["error"])')"
curl -s -D "$T/hc" -o /dev/null -X POST -H "Authorization: Bearer $CLIENT_TOKEN" -c "$T/jar" "$URL/session"
check "the cookie is a random 64-hex id, HttpOnly, SameSite=Strict, and never the token" \
    sh -c "grep -Eqi '^set-cookie: mp_session=[0-9a-f]{64}; Path=/; HttpOnly; SameSite=Strict; Max-Age=' '$T/hc' && ! grep -q '$CLIENT_TOKEN' '$T/hc' '$T/jar'"
check "over plain HTTP the cookie is not Secure (the browser would drop it)" \
    no_grep -i 'Secure' "$T/hc"
curl -s -b "$T/jar" "$URL/v1/deployments" > "$T/by-cookie"
curl -s -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/deployments" > "$T/by-bearer"
same "a client's cookie read is the client's bearer read (one presentation)" \
    "$(cat "$T/by-cookie")" "$(cat "$T/by-bearer")"
# The table holds 1024 sessions: the 1025th sign-in signs out the oldest.
curl -s -o /dev/null -X POST -H "Authorization: Bearer $MANY_TOKEN" -c "$T/first" "$URL/session"
args=()
for i in $(seq 1 1024); do args+=(-o /dev/null "$URL/session"); done
curl -s -X POST -H "Authorization: Bearer $MANY_TOKEN" "${args[@]}"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $MANY_TOKEN" -c "$T/last" "$URL/session"
eq "the session table is bounded: 1025 sign-ins later the first is signed out" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/first" "$URL/session")"
eq "... and the latest is signed in" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/last" "$URL/v1/deployments")"

# --- the live feed: long polls --------------------------------------------
HEAD=$(curl -s -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/changes?after=0&limit=1000" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
curl -s -o "$T/lp" -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/changes?after=$HEAD&wait=30" &
LP=$!
# Parked while nothing is after HEAD (a margin of 1 s: no state shows a
# parked request, and a wrong answer would come at once); then a change.
sleep 1
check "a long poll with nothing after its cursor waits" kill -0 $LP
"$MILEPOST" emit BuildStartedEvent --subject lp-1 --id lp-1 buildId=lp-1 > /dev/null
wait $LP
eq "a long poll (?wait=30) is answered with the change that follows its cursor" \
    "BuildLifecycle lp-1" \
    "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["changes"]; print(c[0]["type"], c[0]["id"])' "$T/lp")"
N2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next"])' "$T/lp")
eq "with nothing new, ?wait=1 answers the empty page at its deadline, cursor unmoved" \
    "[] $N2" "$(curl -s -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/changes?after=$N2&wait=1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["changes"], d["next"])')"
eq "?wait=31: 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/changes?after=0&wait=31")"
# A client's long poll, and a change of another tenant's meanwhile: it
# stays parked (the change is not its to see) and answers the empty page
# at its deadline, the daemon serving throughout.
CN=$(curl -s -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/changes?after=0&limit=1000" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
curl -s -o "$T/clp" -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/changes?after=$CN&wait=3" &
LP=$!
"$MILEPOST" emit BuildStartedEvent --subject lp-g --id lp-g --link tenant=globex buildId=lp-g > /dev/null
eq "... the daemon serves while it is parked" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/healthz")"
wait $LP
eq "a client's long poll is not woken by another tenant's change: the empty page at its deadline" \
    "[]" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["changes"])' "$T/clp")"
# A poller that goes away while parked is forgotten (the daemon's clean
# stop at the end, under ASan too, says nothing leaked or dangled).
curl -s -o /dev/null --max-time 1 -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/changes?after=$N2&wait=20"
eq "... and one whose client hung up leaves the daemon serving" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"

# --- the browser ----------------------------------------------------------
NPMDIR=$top_builddir/tests/browser/npm
if [ ! -d "$NPMDIR/node_modules/playwright-core" ]; then
	mkdir -p "$NPMDIR"
	npm install --silent --no-audit --no-fund --prefix "$NPMDIR" playwright-core >/dev/null 2>&1
fi
check "playwright-core (npm) is installed under the build directory, and Debian's chromium is there" \
    test -d "$NPMDIR/node_modules/playwright-core" -a -x /usr/bin/chromium
SHOTS=$top_builddir/tests/browser/shots
mkdir -p "$SHOTS"
README_PNG=
[ "${MP_README_SCREENSHOT:-}" = 1 ] && README_PNG=$top_srcdir/docs/dashboard.png
oracle "the dashboard in headless Chromium" $BROWSER_CHECKS \
    env PW="$NPMDIR/node_modules/playwright-core" URL="$URL" ADMIN_TOKEN="$ADMIN_TOKEN" \
    CLIENT_TOKEN="$CLIENT_TOKEN" OUT="$SHOTS" MILEPOST="$MILEPOST" PLAN=$BROWSER_CHECKS \
    SHAS="$SHA1 $SHA2 $SHA3" SHA1=$SHA1 SHA2=$SHA2 SHA3=$SHA3 README_PNG="$README_PNG" \
    node "$top_srcdir/tests/browser/dashboard.js"

check "daemon stops cleanly" stop_daemon

# --- dashboard: the sessions' lifetime and number --------------------------
write_config 'dashboard: { session_tl: 2s }'
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
check "an unknown dashboard key fails -n, naming the nearest" sh -c \
    "[ $rc -eq 1 ] && grep -q 'milepost.yaml:[0-9]*: dashboard: unknown key session_tl (did you mean session_ttl?' '$T/err'"
write_config 'dashboard: { session_ttl: 0s }'
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
check "session_ttl: 0s fails -n with the valid range" sh -c \
    "[ $rc -eq 1 ] && grep -q 'dashboard.session_ttl: must be a timespan from 1s to 30d' '$T/err'"
write_config 'dashboard: { session_ttl: 2s, sessions: 2 }'
start_daemon
curl -s -D "$T/h" -o /dev/null -X POST -H "Authorization: Bearer $READER_TOKEN" -c "$T/s1" "$URL/session"
check "the cookie lives as long as session_ttl (Max-Age=2)" grep -qi '^set-cookie: mp_session=.*Max-Age=2$' <(tr -d '\r' < "$T/h")
curl -s -o /dev/null -X POST -H "Authorization: Bearer $READER_TOKEN" -c "$T/s2" "$URL/session"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $READER_TOKEN" -c "$T/s3" "$URL/session"
eq "sessions: 2: the third sign-in signs out the first" "401 200 200" \
    "$(for j in s1 s2 s3; do curl -s -o /dev/null -w '%{http_code} ' -b "$T/$j" "$URL/session"; done | sed 's/ $//')"
# Expiry: wait for it (a generous deadline), then it must be gone.
for _ in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/s3" "$URL/session")" = 401 ] && break
	sleep 0.1
done
eq "after session_ttl the session is gone: a cookie read is 401" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -b "$T/s3" "$URL/v1/deployments")"
check "daemon stops cleanly (sessions)" stop_daemon
finish
