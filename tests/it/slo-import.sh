#!/usr/bin/env bash
# `milepost slo import` on the OpenSLO project's own example files
# (tests/fixtures/openslo/README.md says where each comes from) and on one
# of ours that uses every kind it maps: what maps gives the same model as
# the equivalent slos: section, which milepostd loads; what does not is
# refused, each reason printed, nothing imported.
. "$(dirname "$0")/lib.sh"
plan 18

F="$top_srcdir/tests/fixtures/openslo"
imp() { "$MILEPOST" slo import "$@" > "$T/out" 2> "$T/err"; echo $?; }
samejson() {	# samejson DESC FILE-A FILE-B: equal as JSON (python's)
	oracle "$1" 1 python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(("ok - " if a == b else "not ok - ") + "the same model: %s vs %s" % (json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)))
' "$2" "$3"
}

eq "ours (SLO, SLI, AlertPolicy, AlertCondition) imports" 0 "$(imp "$F/checkout.yaml")"
samejson "… to the hand-written slos: section" "$T/out" "$F/checkout-slos.json"
check "… saying how the short window was chosen" grep -q "the short window is 5m (a twelfth" "$T/err"
python3 -c '
import json, sys
slos = json.load(open(sys.argv[1]))["slos"]
print(json.dumps({"listen": "127.0.0.1:0", "ledger": "sqlite:" + sys.argv[2] + "/l.db",
    "environments": ["production"], "services": {"checkout": {}}, "slos": slos}))
' "$T/out" "$T" > "$T/imported.json"
check "milepostd loads the imported section" "$MILEPOSTD" -n -c "$T/imported.json"

eq "README's inlined SLO imports with --environment" 0 \
    "$(imp --environment production "$F/readme-foo-slo.yaml")"
printf '%s' '{"slos": {"foo-slo": {"service": "foo", "environment": "production",
    "objective": 98, "indicator": {"reported": {}}}}}' > "$T/foo.json"
samejson "… as a reported SLI, Milepost's defaults for what it leaves out" "$T/out" "$T/foo.json"
check "… saying which defaults and why reported" grep -q \
    "no timeWindow: Milepost's default, 28d rolling" "$T/err"
check "… (computed by Datadog)" grep -q "its SLI is computed by Datadog: indicator reported" "$T/err"
eq "without an environment it is refused" 2 "$(imp "$F/readme-foo-slo.yaml")"
check "… saying so" grep -q "foo-slo: cannot map an SLO without an environment" "$T/err"

eq "occurences-slo.yaml (a thresholdMetric) is refused" 2 "$(imp --environment production "$F/occurences-slo.yaml")"
check "… naming it" grep -q "search-slo: cannot map a thresholdMetric" "$T/err"
check "… and nothing is printed on stdout" test ! -s "$T/out"
eq "ratio-timeslices.yaml (RatioTimeslices) is refused" 2 "$(imp --environment production "$F/ratio-timeslices.yaml")"
check "… naming the budgeting method" grep -q "main-page: cannot map the budgetingMethod RatioTimeslices" "$T/err"
eq "timeslices-slo.yaml (two objectives, a calendar in New York) is refused" 2 \
    "$(imp --environment production "$F/timeslices-slo.yaml")"
check "… naming the objectives" grep -q "service-availability: cannot map 2 objectives" "$T/err"
check "… and the time zone" grep -q "a calendar window in America/New_York: Milepost.s calendar windows are UTC" "$T/err"
finish
