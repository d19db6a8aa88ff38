#!/usr/bin/env bash
# SLOs end to end through the real daemon and agent: the slos: section is
# checked against the service catalog (-n names the bad field and the
# nearest valid name); the three indicators (reported, ratio over
# evidence, time slices from alerts) give Slo claims whose budget, burn
# per window, class and state are worked out below; `milepost sli report`
# refuses what cannot be an SLI; a late report revises the window and is
# flagged; `claims rebuild` equals the stored claims; the Slo claims are
# in the change feed.
. "$(dirname "$0")/lib.sh"
plan 45

CATALOG='
tenants: [acme]
environments: [staging, production]
services:
  checkout: { tenant: acme }'
SLOS='
slos:
  checkout-latency:
    service: checkout
    environment: production
    objective: 99.9
    window: 30d
    indicator: { reported: {} }
  deploy-success:
    service: checkout
    environment: production
    objective: 90
    window: 28d
    indicator:
      ratio:
        good:  { type: DeploymentSucceeded, links: { environment: production } }
        total: { type: DeploymentStarted, links: { environment: production } }
  checkout-alerts:
    service: checkout
    environment: production
    objective: 99
    indicator: { alerts: { labels: { severity: critical } } }
milestones:
  - { id: M-1, tenant: acme, due: "2099-12-31", environment: production,
      scope: { services: [checkout] } }
milestone_rules: { clock: false, slo_weights: { page: 30 } }
limits: { max_lateness: 1d }'

# -n: every value checked, names from the catalog.
write_config "$CATALOG${SLOS/service: checkout
    environment: production
    objective: 90/service: checkuot
    environment: production
    objective: 90}"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n refuses an SLO of an unknown service" 1 "$rc"
check "… naming the field and the nearest service" grep -q \
    "slos.deploy-success.service: unknown service checkuot (did you mean checkout?" <<<"$out"
write_config "$CATALOG${SLOS/environment: production
    objective: 99
/environment: prod
    objective: 99
}"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n refuses an SLO of an unknown environment" 1 "$rc"
check "… listing the valid environments" grep -q \
    "slos.checkout-alerts.environment: unknown environment prod .*valid: staging or production" <<<"$out"
write_config "$CATALOG${SLOS/objective: 99.9/objectve: 99.9}"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n refuses an unknown key" 1 "$rc"
check "… with did you mean" grep -q "did you mean objective?" <<<"$out"

write_config "$CATALOG$SLOS"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n accepts the slos: section" 0 "$rc"
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
get() {		# get PATH: status; body in $T/resp
	curl -s -o "$T/resp" -w '%{http_code}' \
	    -H "Authorization: Bearer $READER_TOKEN" "$URL$1"
}
slo() { get "/v1/claims/Slo/$1" >/dev/null; json "$2"; }

# Reported.  A day of clean traffic (10,000,000 good of 10,000,000 from
# 11:00 the day before to 11:00, spread over its 1440 minutes), then
# 12:00-12:05 with 200 bad of 10,000: 2% = 20x the 0.1% budget in the
# 1h window (only those five minutes are bad in it) and in the 5m window
# (its last four minutes: 160 bad of 8000, 2%).  Over 30 days: 200 bad
# of 10,010,000 = 0.002% = 0.02x: 98% of the budget is left.
check "sli report: a day of clean traffic" "$MILEPOST" sli report \
    --slo checkout-latency --good 10000000 --total 10000000 \
    --start 2025-06-30T11:00:00Z --end 2025-07-01T11:00:00Z
eq "… the SLO is ok" "ok 100" "$(slo checkout-latency '"%s %s" % (d["properties"]["state"], d["properties"]["budget_remaining"])')"
check "sli report: five minutes at 2% errors" "$MILEPOST" sli report \
    --slo checkout-latency --good 9800 --total 10000 \
    --start 2025-07-01T12:00:00Z --end 2025-07-01T12:05:00Z
eq "… pages: 20x over 1h and 5m, 98% of the budget left" "page page 20.0 20.0 98.0" \
    "$(slo checkout-latency '"%s %s %.1f %.1f %.1f" % (d["properties"]["state"], d["properties"]["class"], d["properties"]["burn"]["1h"], d["properties"]["burn"]["5m"], d["properties"]["budget_remaining"])')"
eq "… the page rule fires, with both burns" "page 1h 5m 14.4 True" \
    "$(slo checkout-latency '"%s %s %s %s %s" % tuple(d["properties"]["alerts"][0][k] for k in ("severity", "long", "short", "burn_rate", "firing"))')"
eq "… the 7/14/28-day aggregates hold the same events" "10010000 10010000 10010000" \
    "$(slo checkout-latency '"%d %d %d" % tuple(d["properties"]["aggregates"][k]["total"] for k in ("7d", "14d", "28d"))')"
eq "… the claim is linked to its service, environment and tenant" "checkout production acme" \
    "$(slo checkout-latency '"%s %s %s" % (d["links"]["service"], d["links"]["environment"], d["links"]["tenant"])')"
ms() { get /v1/milestones/M-1 >/dev/null; json "$1"; }
# Burn feeds schedule risk: a page-class burn on checkout is a delta of
# 30 (the page weight) x max(2% consumed, a tenth) = -3 on M-1.
eq "the burning SLO is a negative delta on the milestone, naming it" "slo -3.0 True page" \
    "$(ms '" ".join(str(x) for x in [(e["kind"], e["weight"], e["active"], "page" if "(page," in e["reason"] and "checkout-latency" in e["reason"] else "?") for e in d["properties"]["deltas"] if e["kind"] == "slo"][0])')"
rev_page=$(slo checkout-latency 'd["revision"]')
rec_page=$(slo checkout-latency 'd["recorded_at"]')

out=$("$MILEPOST" sli report --slo checkout-latency --good 5 --total 3 2>&1); rc=$?
eq "sli report: more good than total is a usage error" 2 "$rc"
check "… saying so" grep -q "must not exceed --total" <<<"$out"
out=$("$MILEPOST" sli report --slo checkout-latency --good x --total 3 2>&1); rc=$?
eq "sli report: a count that is not a number is a usage error" 2 "$rc"
out=$("$MILEPOST" sli report --good 1 --total 3 2>&1); rc=$?
eq "sli report: --slo is required" 2 "$rc"

# Ratio: three production deployments started, two succeeded; one in
# staging counts for nothing.  good 2, total 3: SLI 66.67%, error 1/3 =
# 3.33x the 10% budget: exhausted.
E() { "$MILEPOST" emit "$@" >/dev/null 2>&1 || echo "emit failed: $*" >&2; }
for i in 1 2 3; do
	E DeploymentStarted --subject "d$i" --id "d$i.s" --time 2025-07-01T12:05:0${i}Z \
	    --link service=checkout --link environment=production deploymentId="d$i" service=checkout environment=production
done
for i in 1 2; do
	E DeploymentSucceeded --subject "d$i" --id "d$i.d" --time 2025-07-01T12:05:1${i}Z \
	    --link service=checkout --link environment=production deploymentId="d$i" service=checkout environment=production
done
E DeploymentStarted --subject s1 --id s1.s --time 2025-07-01T12:05:20Z \
    --link service=checkout --link environment=staging deploymentId=s1 service=checkout environment=staging
eq "ratio: good 2 of 3 production deployments, 66.67%, exhausted" "2 3 66.67 exhausted" \
    "$(slo deploy-success '"%d %d %s %s" % (d["properties"]["good"], d["properties"]["total"], d["properties"]["sli"], d["properties"]["state"])')"

# Alerts: the SLO's slices start with the first evidence (11:00); a
# critical alert on checkout in production is open from 12:06 to 12:08
# (slices 12:06, 12:07, 12:08 bad); time moves to 12:15 with another
# evidence.  Slices 11:00..12:15 = 76, 3 bad: good 73.  A warning alert
# does not match the labels, nor an alert of another environment.
E AlertFiring --subject a1 --id a1.f --time 2025-07-01T12:06:00Z --link service=checkout \
    --link environment=production alertname=HighErrors severity=critical startsAt=2025-07-01T12:06:00Z
E AlertFiring --subject a2 --id a2.f --time 2025-07-01T12:06:00Z --link service=checkout \
    --link environment=production alertname=Slow severity=warning startsAt=2025-07-01T12:06:00Z
E AlertFiring --subject a3 --id a3.f --time 2025-07-01T12:06:00Z --link service=checkout \
    --link environment=staging alertname=HighErrors severity=critical startsAt=2025-07-01T12:06:00Z
E AlertResolved --subject a1 --id a1.r --time 2025-07-01T12:08:30Z --link service=checkout \
    --link environment=production alertname=HighErrors severity=critical endsAt=2025-07-01T12:08:30Z
E BuildStartedEvent --subject b1 --id b1 --time 2025-07-01T12:15:00Z buildId=b1
eq "alerts: 3 bad slices of 76" "73 76" \
    "$(slo checkout-alerts '"%d %d" % (d["properties"]["good"], d["properties"]["total"])')"

# Late: a report for 11:30, 45 minutes behind the watermark (12:15),
# still lands in its window, and its revision says late.
check "sli report: a late report is accepted" "$MILEPOST" sli report \
    --slo checkout-latency --good 0 --total 1000 \
    --start 2025-07-01T11:29:00Z --end 2025-07-01T11:30:00Z
eq "… its revision is flagged late and counts it" "True 10011000" \
    "$(slo checkout-latency '"%s %d" % (d["properties"].get("late"), d["properties"]["total"])')"
get "/v1/claims/Slo/checkout-latency?as_of=$rec_page" >/dev/null
eq "… as_of answers the revision before" "$rev_page False" \
    "$(json '"%s %s" % (d["revision"], d["properties"].get("late", False))')"

# Beyond the hard limit (limits.max_lateness: 1d) behind the agent's
# watermark (12:15), evidence is refused with a 422.
out=$("$MILEPOST" sli report --slo checkout-latency --good 1 --total 1 \
    --end 2025-06-29T12:00:00Z 2>&1); rc=$?
eq "a report two days behind the watermark is refused" 2 "$rc"
check "… as too late, naming the limit" grep -q "is too late: more than limits.max_lateness behind the watermark of source agent" <<<"$out"
eq "… and changes nothing" "10011000" "$(slo checkout-latency '"%d" % d["properties"]["total"]')"
eq "the change feed carries Slo revisions" "yes" \
    "$(get '/v1/changes?limit=1000' >/dev/null; json '"yes" if any(c.get("type") == "Slo" for c in d["changes"]) else "no"')"
check "daemon stops cleanly" stop_daemon
out=$("$MILEPOST" claims rebuild -c "$T/milepost.yaml" 2>&1); rc=$?
eq "claims rebuild exits 0" 0 "$rc"
check "… and finds the Slo claims equal" grep -q "equal to what is stored" <<<"$out"
check "… the Slo claims are among those compared" \
    test "$(sqlite3 "$T/ledger.db" "SELECT count(DISTINCT id) FROM claim_revisions WHERE type = 'Slo'")" = 3
# A restart loads the buckets from the ledger: the next evidence gives
# the same figures as the running daemon had.
start_daemon
# The receiver reads its sources' watermarks from the ledger at start
# (the agent's: 12:15, b1), not only what it sees after: before any new
# evidence, two days behind is still refused.
out=$("$MILEPOST" sli report --slo checkout-latency --good 1 --total 1 \
    --end 2025-06-29T12:00:00Z 2>&1); rc=$?
eq "after a restart a report two days behind is still refused" "2 1" \
    "$rc $(grep -c 'is too late: more than limits.max_lateness behind the watermark of source agent (2025-07-01T12:15:00' <<<"$out")"
eq "… and changes nothing" "10011000" "$(slo checkout-latency '"%d" % d["properties"]["total"]')"
E BuildStartedEvent --subject b2 --id b2 --time 2025-07-01T12:16:00Z buildId=b2
eq "after a restart the alerts SLO keeps its slices (one more, good)" "74 77" \
    "$(slo checkout-alerts '"%d %d" % (d["properties"]["good"], d["properties"]["total"])')"
eq "… and the reported SLO its events" "10011000" \
    "$(slo checkout-latency '"%d" % d["properties"]["total"]')"
# 14:00: the 1h, 6h and 1d windows no longer hold a burn over their
# rate (6h: 1200 bad of about 1.26M events, 0.95x < 6; 1d: 0.14x < 3):
# the class is none again, and the milestone's delta clears.
E BuildStartedEvent --subject b3 --id b3 --time 2025-07-01T14:00:00Z buildId=b3
eq "the burn stops: the SLO is ok" "ok none" "$(slo checkout-latency '"%s %s" % (d["properties"]["state"], d["properties"]["class"])')"
eq "… and the milestone's delta is cleared" "False" \
    "$(ms '[e["active"] for e in d["properties"]["deltas"] if e["kind"] == "slo"][0]')"
# What-if: 14.4x for 6h.  Now: 1200 bad of 10,011,000 over 30 days
# (e0 = 1.1987e-4, budget b = 0.001), traffic r = 10,011,000 / 2,592,000 s
# = 3.8623/s.  The page rule 1h/5m at 14.4 fires after 14.4 * 1h / 14.4 =
# 1h.  Exhaustion would take (b - e0) T / ((X - 1) b r) = 8811 / 0.051755
# = 170,242 s (47h): not within 6h.  After 6h: errors 1200 + 14.4 * 0.001
# * 3.8623 * 21600 = 2401.3 of 10,094,426: 2.3788e-4, 76.21% left.  M-1
# takes a page delta of 30 x 0.2379 = 7.14 (beside the other SLOs' ticket
# deltas): at risk.
revs_before=$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM claim_revisions")
"$MILEPOST" simulate --slo checkout-latency --burn-rate 14.4 --for 6h --json > "$T/sim"
oracle "simulate plays the policy forward" 3 python3 -c '
import json, sys, datetime
d = json.load(open(sys.argv[1]))
t = lambda s: datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
g = d["gates"]
ok = len(g) == 1 and g[0]["policy"] == "page_burn" and abs((t(g[0]["closes_at"]) - t(d["from"])).total_seconds() - 3600) <= 1
print(("ok - " if ok else "not ok - ") + "the gate closes on the page burn after 1h: %s" % g)
print(("ok - " if abs(d["budget_left"] - 76.21) <= 0.02 else "not ok - ") + "76.21%% of the budget left: %s" % d["budget_left"])
m = d["milestones"]
print(("ok - " if len(m) == 1 and m[0]["milestone"] == "M-1" and m[0]["state"] == "at_risk" and abs(m[0]["delta"] + 7.14) < 0.01 else "not ok - ") + "M-1 at risk under a 7.14 delta: %s" % m)
' "$T/sim"
same "simulate writes nothing" "$revs_before" "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM claim_revisions")"
out=$("$MILEPOST" simulate --slo checkout-latncy --burn-rate 2 --for 1h 2>&1); rc=$?
eq "simulate of an unknown SLO is exit 2" 2 "$rc"
check "… naming the nearest" grep -q "did you mean checkout-latency?" <<<"$out"
check "daemon stops cleanly again" stop_daemon
finish
