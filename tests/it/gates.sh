#!/usr/bin/env bash
# Change gates end to end: `milepost gate` and GET /v1/gates/{s}/{e}
# answer from the change windows (weekdays and hours in a time zone), the
# freezes, open incidents of the configured severity, and the SLOs'
# states (budget exhausted, page-level burn); exit 0 open, 3 closed with
# every reason, 2 for an unknown service or environment (the nearest
# valid names printed).  Exceptions need two approvals from the chain's
# roles; each approval is GateApproval evidence in the chain.
. "$(dirname "$0")/lib.sh"
plan 55

OPERATOR_TOKEN="operator-token-$(head -c 8 /dev/urandom | xxd -p)"
cat > "$T/milepost.yaml" <<YAML
listen: "127.0.0.1:0"
ledger: "$LEDGER_URL"
agent_secret: "$SECRET"
tokens:
  - { token: "$READER_TOKEN", role: reader }
  - { token: "$ADMIN_TOKEN", role: admin, name: alice }
  - { token: "$OPERATOR_TOKEN", role: operator, name: bob }
  - { token: "$CLIENT_TOKEN", role: client, tenant: acme }
tenants: [acme]
environments: [staging, production]
services:
  checkout: { tenant: acme }
  payments: { tenant: acme }
slos:
  checkout-latency:
    service: checkout
    environment: production
    objective: 99.9
    window: 30d
    indicator: { reported: {} }
deployments: { timeout: 100000h }
gates:
  change_windows:
    - { days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00",
        timezone: Europe/Paris, environments: [production] }
  freezes:
    - { reason: "Black Friday", start: "2025-11-27T00:00:00Z",
        end: "2025-12-01T00:00:00Z" }
  policies: { incident_severities: [critical, SEV1] }
  exceptions: { approvals: 2, roles: [admin, operator] }
YAML

# -n checks the gates: section too.
cp "$T/milepost.yaml" "$T/good.yaml"
sed -i 's/days: \[mon, tue/days: [mon, teu/' "$T/milepost.yaml"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n refuses an unknown weekday" 1 "$rc"
check "… naming it and the nearest day" grep -q "unknown day teu (did you mean tue?" <<<"$out"
cp "$T/good.yaml" "$T/milepost.yaml"
sed -i 's|timezone: Europe/Paris|timezone: Europe/Pariss|' "$T/milepost.yaml"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n refuses an unknown time zone" 1 "$rc"
check "… saying so" grep -q "gates.change_windows\[0\].timezone: unknown time zone Europe/Pariss" <<<"$out"
cp "$T/good.yaml" "$T/milepost.yaml"
sed -i 's/environments: \[production\] }/environments: [prod] }/' "$T/milepost.yaml"
out=$("$MILEPOSTD" -n -c "$T/milepost.yaml" 2>&1); rc=$?
eq "-n refuses a window of an unknown environment" 1 "$rc"
cp "$T/good.yaml" "$T/milepost.yaml"

start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
G() { "$MILEPOST" gate "$@" > "$T/out" 2> "$T/err"; echo $?; }

eq "an unknown service is exit 2" 2 "$(G --service checkuot --environment production)"
check "… naming the nearest service" grep -q "did you mean checkout?" "$T/err"
eq "an unknown environment is exit 2" 2 "$(G --service checkout --environment prod)"
check "… listing the valid ones" grep -q "valid: staging or production" "$T/err"
eq "a missing --environment is exit 2" 2 "$(G --service checkout)"

# Windows, in Europe/Paris (UTC+2 in July): Tuesday 10:00Z is 12:00 there.
eq "Tuesday at noon in Paris: open" 0 "$(G --service checkout --environment production --at 2025-07-01T10:00:00Z)"
check "… printed as open" grep -q "gate checkout/production: open" "$T/out"
eq "Saturday: closed" 3 "$(G --service checkout --environment production --at 2025-07-05T10:00:00Z)"
check "… outside the change windows" grep -q "outside_window: outside the change windows of checkout in production" "$T/out"
# 16:30Z is inside 09:00-17:00 in UTC, but 18:30 in Paris.
eq "Tuesday 18:30 in Paris (16:30Z): closed, the window's time zone counts" 3 \
    "$(G --service checkout --environment production --at 2025-07-01T16:30:00Z)"
eq "staging has no window: open on Saturday" 0 "$(G --service checkout --environment staging --at 2025-07-05T10:00:00Z)"
eq "a freeze closes every environment" 3 "$(G --service payments --environment staging --at 2025-11-28T10:00:00Z)"
check "… with its reason and end" grep -q "freeze: freeze until 2025-12-01T00:00:00Z: Black Friday" "$T/out"

# Violations: a deployment started while its gate is closed.
D() {	# D ID TIME REVISION: a checkout deployment to production starts
	"$MILEPOST" emit DeploymentStarted --subject "$1" --id "$1.s" --time "$2" \
	    --link service=checkout --link environment=production \
	    deploymentId="$1" service=checkout environment=production revision="$3" >/dev/null 2>&1
}
claim() { curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/claims/$1"; }
D d-tue 2025-07-01T10:00:00Z aaaa111
D d-sat 2025-07-05T10:00:00Z bbbb222
eq "a deployment inside the window is no violation" 404 "$(claim GateViolation/d-tue)"
eq "one started on Saturday is a policy violation" 200 "$(claim GateViolation/d-sat)"
eq "… carrying the reasons" "outside_window" "$(json '",".join(r["policy"] for r in d["properties"]["reasons"])')"
eq "… while the deployment keeps its true state" in_progress \
    "$(claim Deployment >/dev/null; json '[c["properties"]["state"] for c in d["claims"] if c["properties"].get("revision") == "bbbb222"][0]')"
check "… and it is counted in the metrics" grep -q '^milepost_gate_violations_total 1$' \
    <(curl -s -H "Authorization: Bearer $READER_TOKEN" "$URL/metrics")

# An incident of a configured severity, open on checkout in production.
"$MILEPOST" emit IncidentOpened --subject INC-1 --id inc1.o --time 2025-07-01T09:00:00Z \
    --link service=checkout --link environment=production \
    incidentId=INC-1 severity=critical title="errors" >/dev/null 2>&1
"$MILEPOST" emit IncidentOpened --subject INC-2 --id inc2.o --time 2025-07-01T09:00:00Z \
    --link service=checkout --link environment=production \
    incidentId=INC-2 severity=minor title="a typo" >/dev/null 2>&1
eq "a critical incident open: closed" 3 "$(G --service checkout --environment production --at 2025-07-01T10:00:00Z)"
check "… naming it" grep -q "incident: incident INC-1 (critical) is open on checkout in production" "$T/out"
check "… and not the minor one" no_grep "INC-2" "$T/out"
"$MILEPOST" emit IncidentResolved --subject INC-1 --id inc1.r --time 2025-07-01T09:30:00Z \
    --link service=checkout --link environment=production incidentId=INC-1 >/dev/null 2>&1
eq "resolved: open again" 0 "$(G --service checkout --environment production --at 2025-07-01T10:00:00Z)"

# The SLO: a day of clean traffic, then five minutes at 2% errors: 20x
# over 1h and 5m (a page), 98% of the budget left (tests/it/slo.sh works
# the same figures); then a minute of 100,000 failures: 100,200 bad of
# 10,110,000 = 0.99%, 9.9x the 0.1% budget over 30 days: exhausted.
"$MILEPOST" sli report --slo checkout-latency --good 10000000 --total 10000000 \
    --start 2025-07-04T10:00:00Z --end 2025-07-05T10:00:00Z
"$MILEPOST" sli report --slo checkout-latency --good 9800 --total 10000 \
    --start 2025-07-05T10:55:00Z --end 2025-07-05T11:00:00Z
eq "a page-level burn: closed" 3 "$(G --service checkout --environment production --at 2025-07-01T10:00:00Z)"
check "… naming the SLO" grep -q "page_burn: SLO checkout-latency: a page-level burn is active" "$T/out"
check "… and no budget reason yet" no_grep "budget_exhausted" "$T/out"
"$MILEPOST" sli report --slo checkout-latency --good 0 --total 100000 \
    --start 2025-07-05T11:00:00Z --end 2025-07-05T11:01:00Z
G --service checkout --environment production --json --at 2025-07-01T10:00:00Z >/dev/null
oracle "--json lists every reason" 1 python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
pol = sorted(r["policy"] for r in d["reasons"])
print(("ok - " if d["open"] is False and pol == ["budget_exhausted", "page_burn"] else "not ok - ") + "closed by %s" % pol)
' "$T/out"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" \
    "$URL/v1/gates/checkout/production?at=2025-07-01T10:00:00Z")
eq "GET /v1/gates answers 200 for a closed gate" 200 "$code"
same "… the same answer as the command" "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$T/out")" \
    "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$T/resp")"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/gates/checkout/production")
eq "a client token may not read gates" 403 "$code"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/gates/checkout/prod")
eq "GET of an unknown environment is 404" 404 "$code"

# The drop-in steps run the same command: the GitHub composite action's
# script and the GitLab template's, read from their YAML.
python3 -c '
import sys, yaml
a = yaml.safe_load(open(sys.argv[1]))
open(sys.argv[2], "w").write(a["runs"]["steps"][0]["run"])
g = yaml.safe_load(open(sys.argv[3]))
open(sys.argv[4], "w").write("\n".join(g[".milepost-gate"]["script"]))
' "$top_srcdir/plugins/github/gate/action.yml" "$T/gh-gate.sh" \
  "$top_srcdir/plugins/gitlab/milepost-gate.gitlab-ci.yml" "$T/gl-gate.sh"
: > "$T/gh-out"
rc=0; PATH="$top_builddir:$PATH" GITHUB_OUTPUT="$T/gh-out" MILEPOST_TOKEN="$READER_TOKEN" \
    MILEPOST_GATE_SERVICE=checkout MILEPOST_GATE_ENVIRONMENT=production \
    bash -e "$T/gh-gate.sh" > "$T/out" 2>&1 || rc=$?
eq "the GitHub gate step fails on a closed gate (exit 3)" 3 "$rc"
check "… printing the reasons and setting open=false" grep -q "^open=false$" "$T/gh-out"
rc=0; PATH="$top_builddir:$PATH" GITHUB_OUTPUT="$T/gh-out" MILEPOST_TOKEN="$READER_TOKEN" \
    MILEPOST_GATE_SERVICE=checkout MILEPOST_GATE_ENVIRONMENT=prodution \
    bash -e "$T/gh-gate.sh" > "$T/out" 2>&1 || rc=$?
eq "… and on a typo (exit 2), naming the nearest environment" "2 yes" \
    "$rc $(grep -q 'did you mean production?' "$T/out" && echo yes)"
rc=0; PATH="/usr/bin:/bin" GITHUB_OUTPUT="$T/gh-out" MILEPOST_TOKEN="$READER_TOKEN" \
    MILEPOST_GATE_SERVICE=checkout MILEPOST_GATE_ENVIRONMENT=production \
    bash -e "$T/gh-gate.sh" > "$T/out" 2>&1 || rc=$?
eq "… and when the agent is missing: never open" 1 "$rc"
rc=0; PATH="$top_builddir:$PATH" MILEPOST_TOKEN="$READER_TOKEN" \
    MILEPOST_GATE_SERVICE=checkout MILEPOST_GATE_ENVIRONMENT=production \
    bash -e "$T/gl-gate.sh" > "$T/out" 2>&1 || rc=$?
eq "the GitLab gate job fails on a closed gate" 3 "$rc"
check "… with the reasons in its log" grep -q "budget_exhausted: SLO checkout-latency" "$T/out"

# Exceptions, now (the SLO's budget keeps the gate closed at any time).
eq "closed now" 3 "$(G --service checkout --environment production)"
eq "a reader cannot approve" 2 "$(MILEPOST_TOKEN=$READER_TOKEN G approve --service checkout --environment production --exception hf-1 --reason hotfix)"
eq "approve needs a reason" 2 "$(MILEPOST_TOKEN=$ADMIN_TOKEN G approve --service checkout --environment production --exception hf-1)"
eq "alice approves hf-1" 0 "$(MILEPOST_TOKEN=$ADMIN_TOKEN G approve --service checkout --environment production --exception hf-1 --reason hotfix)"
eq "alice again: still one approver" 0 "$(MILEPOST_TOKEN=$ADMIN_TOKEN G approve --service checkout --environment production --exception hf-1 --reason hotfix)"
eq "one approval of two: still closed" 3 "$(G --service checkout --environment production)"
eq "bob approves hf-1" 0 "$(MILEPOST_TOKEN=$OPERATOR_TOKEN G approve --service checkout --environment production --exception hf-1 --reason "hotfix for INC-7")"
eq "two approvals: open" 0 "$(G --service checkout --environment production)"
check "… saying by which exception and whom" grep -q "exception hf-1 approved by admin token alice, operator token bob\|exception hf-1 approved by operator token bob, admin token alice" "$T/out"
eq "each approval is evidence in the chain" 3 "$(rows "type = 'GateApproval'")"
D d-exc "$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)" cccc333
eq "a deployment under an approved exception is no violation" 404 "$(claim GateViolation/d-exc)"
check "the ledger verifies" "$MILEPOST" ledger verify -c "$T/milepost.yaml"
out=$("$MILEPOST" claims rebuild -c "$T/milepost.yaml" 2>&1); rc=$?
eq "claims rebuild (violations, Slo claims) equals what is stored" 0 "$rc"
check "daemon stops cleanly" stop_daemon
finish
