#!/usr/bin/env bash
# Delivery metrics over a scripted month (July 2025), emitted with the real
# agent at explicit event times, against values computed by hand below:
# the DORA four keys and their weekly trend (GET /v1/metrics/dora and
# milepost metrics dora), deployment state times and MTTSR from the
# Deployment claims, and incident MTTR/MTTA/MTTD.  Failed deploys are not
# deploys; an incident's updates count once; a deploy without a revision
# still counts.
. "$(dirname "$0")/lib.sh"
plan 34

# Dated 2025: a timeout this long keeps the stall timer out of the way.
# Two sinks nobody answers (port 9 is closed), for the per-sink series of
# GET /metrics: one dead-letters at the first failure, one waits an hour.
write_config 'deployments: { timeout: 100000h }
sinks:
  dead: { kind: mergepatch, url: "http://127.0.0.1:9/o/{type}/{id}", max_attempts: 1 }
  later: { kind: mergepatch, url: "http://127.0.0.1:9/o/{type}/{id}", retry_base: 1h, retry_max: 1h }
subscriptions:
  - { sink: dead, types: [Deployment] }
  - { sink: later, types: [Deployment] }'
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
emit_fail=0
E() { "$MILEPOST" emit "$@" || emit_fail=$((emit_fail + 1)); }
n=0
commit() {	# commit SHA PUSHED [authorTime=…]
	E CommitPushed --subject "$1" --id "c-$1" --time "$2" \
	    --link repo=acme/shop --link branch=main sha="$1" "${@:3}"
}
ok_deploy() {	# ok_deploy ID TIME [SERVICE [ENV [REVISION [PROP…]]]]
	n=$((n + 1))
	E DeploymentSucceeded --subject "$1" --id "ok-$1-$n" --time "$2" \
	    deploymentId="$1" service="${3:-shop}" environment="${4:-production}" \
	    ${5:+revision=$5} "${@:6}"
}
sha() { printf '%040d' "$1"; }

# --- the month, with the hand computation beside each step -------------
# d1: commit authored 07-01 08:00, deployed 12:00        lead 14400 s
commit "$(sha 1)" 2025-07-01T09:00:00Z authorTime=2025-07-01T08:00:00Z
ok_deploy d1 2025-07-01T12:00:00Z shop production "$(sha 1)"
# d2: pushed 07-03 09:00 (no authorTime), deployed 07-04 09:00: 86400 s;
# a second DeploymentSucceeded for d2 (Argo CD's on-deployed) is one deploy.
commit "$(sha 2)" 2025-07-03T09:00:00Z
ok_deploy d2 2025-07-04T09:00:00Z shop production "$(sha 2)"
ok_deploy d2 2025-07-04T09:30:00Z shop production "$(sha 2)"
# d3 fails (not a deploy); d3b deploys the same commit: 7200 s.
commit "$(sha 3)" 2025-07-08T10:00:00Z
E DeploymentFailed --subject d3 --id fail-d3 --time 2025-07-08T11:00:00Z \
    deploymentId=d3 service=shop environment=production revision="$(sha 3)"
ok_deploy d3b 2025-07-08T12:00:00Z shop production "$(sha 3)"
# d4: 21600 s; incident INC-1 an hour later fails it (latest shop deploy
# before it); its update is the same incident; resolved after 5400 s,
# acknowledged after 600 s; an alert fired 1800 s before it was opened.
commit "$(sha 4)" 2025-07-10T00:00:00Z
ok_deploy d4 2025-07-10T06:00:00Z shop production "$(sha 4)"
E AlertFiring --subject a1 --id alert-1 --time 2025-07-10T06:31:00Z \
    --link service=shop alertname=HighErrors fingerprint=f1 service=shop startsAt=2025-07-10T06:30:00Z
E IncidentOpened --subject INC-1 --id inc1-a --time 2025-07-10T07:00:00Z \
    incidentId=INC-1 service=shop severity=high
E IncidentOpened --subject INC-1 --id inc1-b --time 2025-07-10T07:05:00Z \
    incidentId=INC-1 service=shop severity=critical
E IncidentAcknowledged --subject INC-1 --id inc1-ack --time 2025-07-10T07:10:00Z \
    incidentId=INC-1 service=shop
E IncidentResolved --subject INC-1 --id inc1-res --time 2025-07-10T08:30:00Z \
    incidentId=INC-1 service=shop
# d5: 1800 s.  d6: no revision, counts for frequency, not for lead time.
commit "$(sha 5)" 2025-07-15T10:00:00Z
ok_deploy d5 2025-07-15T10:30:00Z shop production "$(sha 5)"
ok_deploy d6 2025-07-20T10:00:00Z shop production
# d7: 43200 s, then rolled back (CDEvents service.rolledback): d7 failed,
# and the rollback is not a deploy.
commit "$(sha 7)" 2025-07-22T00:00:00Z
ok_deploy d7 2025-07-22T12:00:00Z shop production "$(sha 7)"
ok_deploy d7-rb 2025-07-22T13:00:00Z shop production "$(sha 5)" reason=rollback
# d8: 3600 s.  INC-2 names d5 (deployment link): d5 failed; 7200 s.
# INC-3 names none: the latest shop deploy before it, d8, failed; 3600 s.
commit "$(sha 8)" 2025-07-28T00:00:00Z
ok_deploy d8 2025-07-28T01:00:00Z shop production "$(sha 8)"
E IncidentOpened --subject INC-2 --id inc2 --time 2025-07-28T05:00:00Z \
    --link deployment=d5 incidentId=INC-2 service=shop
E IncidentResolved --subject INC-2 --id inc2-res --time 2025-07-28T07:00:00Z incidentId=INC-2
E IncidentOpened --subject INC-3 --id inc3 --time 2025-07-30T00:00:00Z incidentId=INC-3 service=shop
E IncidentResolved --subject INC-3 --id inc3-res --time 2025-07-30T01:00:00Z incidentId=INC-3
# Noise the filters must drop: staging, another service, August.
ok_deploy s1 2025-07-05T10:00:00Z shop staging "$(sha 2)"
ok_deploy c1 2025-07-06T10:00:00Z cart production
ok_deploy d9 2025-08-02T10:00:00Z shop production
eq "the agent delivered all of it" 0 "$emit_fail"

# Deploys (shop, production, July): d1 d2 d3b d4 d5 d6 d7 d8 = 8.
#   frequency 8/31 = 0.258 a day, 56/31 = 1.81 a week (3 significant digits)
#   lead times 1800 3600 7200 14400 21600 43200 86400: median 14400, 1 missing
#   failed d4 d5 d7 d8: 4/8 = 50 %
#   restore 5400 7200 3600: median 5400
Q='service=shop&environment=production&from=2025-07-01T00:00:00Z&to=2025-08-01T00:00:00Z'
get() {		# get PATH [CURL-ARGS…]: status; body in $T/resp
	local p=$1; shift
	curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' \
	    -H "Authorization: Bearer $READER_TOKEN" "$@" "$URL$p"
}
eq "GET /v1/metrics/dora" 200 "$(get "/v1/metrics/dora?$Q&period=week")"
eq "deployment frequency: 8 deploys in 31 days, 0.258/day, 1.81/week" "8 31 0.258 1.81" \
    "$(json '" ".join(str(d["deployment_frequency"][k]) for k in ("deploys", "days", "per_day", "per_week"))')"
check "... as sent: the shortest digits (not 0.25800000000000001)" \
    grep -q '"per_day":0.258,"per_week":1.81' "$T/resp"
eq "lead time: median 14400 s over 7, 1 deploy without a commit" "14400 7 1" \
    "$(json '" ".join(str(d["lead_time"][k]) for k in ("median_seconds", "samples", "missing_commit"))')"
eq "change failure rate: 4 of 8, 50 %" "4 8 50" \
    "$(json '" ".join(str(d["change_failure_rate"][k]) for k in ("failed", "deploys", "percent"))')"
eq "time to restore: median 5400 s over 3 incidents (INC-1 once)" "5400 3 0" \
    "$(json '" ".join(str(d["time_to_restore"][k]) for k in ("median_seconds", "incidents", "unresolved"))')"
# Weeks (ISO, Monday): W27 d1 d2 | W28 d3b d4 | W29 d5 d6 | W30 d7 | W31 d8
eq "weekly trend: deploys per ISO week" "2025-W27:2 2025-W28:2 2025-W29:2 2025-W30:1 2025-W31:1" \
    "$(json '" ".join("%s:%s" % (w["week"], w["deployment_frequency"]["deploys"]) for w in d["weeks"])')"
eq "weekly change failure rate" "0 50 50 100 100" \
    "$(json '" ".join(str(w["change_failure_rate"]["percent"]) for w in d["weeks"])')"
eq "weekly time to restore (W31: INC-2 7200, INC-3 3600: 5400)" "None 5400 None None 5400" \
    "$(json '" ".join(str(w["time_to_restore"]["median_seconds"]) for w in d["weeks"])')"
etag=$(tr -d '\r' < "$T/hdr" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
eq "ETag and If-None-Match: 304" 304 "$(get "/v1/metrics/dora?$Q&period=week" -H "If-None-Match: $etag")"
eq "without the environment filter, staging's deploy counts too" 9 \
    "$(get "/v1/metrics/dora?service=shop&from=2025-07-01T00:00:00Z&to=2025-08-01T00:00:00Z" >/dev/null; json 'd["deployment_frequency"]["deploys"]')"

"$MILEPOST" metrics dora --service shop --environment production \
    --since 2025-07-01T00:00:00Z --until 2025-08-01T00:00:00Z > "$T/cli.json"; rc=$?
eq "milepost metrics dora (exit 0) prints the same keys" "0 8 14400 50 5400" \
    "$rc $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["deployment_frequency"]["deploys"], d["lead_time"]["median_seconds"], d["change_failure_rate"]["percent"], d["time_to_restore"]["median_seconds"])' "$T/cli.json")"

# Incidents: MTTR (5400+7200+3600)/3 = 5400; MTTA 600 (INC-1);
# MTTD 1800 (INC-1: the alert started 06:30, opened 07:00).
eq "GET /v1/metrics/incidents" 200 "$(get "/v1/metrics/incidents?$Q")"
eq "MTTR, MTTA, MTTD" "3 5400 5400 600 1800" \
    "$(json '"%s %s %s %s %s" % (d["incidents"], d["mttr"]["mean_seconds"], d["mttr"]["median_seconds"], d["mtta"]["mean_seconds"], d["mttd"]["mean_seconds"])')"
"$MILEPOST" metrics incidents --service shop --since 2025-07-01T00:00:00Z \
    --until 2025-08-01T00:00:00Z > "$T/cli.json"
check "milepost metrics incidents prints it" grep -q '"mttr"' "$T/cli.json"

# Deployments (the state machine's claims) of service api:
#   r1: started 10:00, failed 10:20, started again 11:00, deployed 11:10
#   -> in_progress 1200+600, failed 2400; MTTSR(failed) 11:10-10:20 = 3000
#   r2: started 07-13 10:00, deployed 10:30 -> in_progress 1800
api() {		# api TYPE REV TIME
	n=$((n + 1))
	E "$1" --subject "api-$2" --id "api-$n" --time "$3" deploymentId="api-$2" \
	    service=api environment=production revision="$2"
}
api DeploymentStarted r1 2025-07-12T10:00:00Z
api DeploymentFailed r1 2025-07-12T10:20:00Z
api DeploymentStarted r1 2025-07-12T11:00:00Z
api DeploymentSucceeded r1 2025-07-12T11:10:00Z
api DeploymentStarted r2 2025-07-13T10:00:00Z
api DeploymentSucceeded r2 2025-07-13T10:30:00Z
eq "GET /v1/metrics/deployments" 200 \
    "$(get "/v1/metrics/deployments?service=api&from=2025-07-01T00:00:00Z&to=2025-08-01T00:00:00Z")"
eq "two deployments; seconds in each state (closed intervals)" "2 failed=2400 in_progress=3600" \
    "$(json '"%s %s" % (d["deployments"], " ".join("%s=%s" % kv for kv in sorted(d["seconds_in_state"].items())))')"
eq "MTTSR of failed deployments: 3000 s; none stalled" "1 3000 0" \
    "$(json '"%s %s %s" % (d["mttsr"]["failed"]["resolved"], d["mttsr"]["failed"]["mean_seconds"], d["mttsr"]["stalled"]["resolved"])')"

# Bad requests name the field and change nothing.
eq "a bad from: 400" "400 from" "$(get '/v1/metrics/dora?from=yesterday') $(json 'd.get("property")')"
eq "period must be week" 400 "$(get '/v1/metrics/dora?period=day')"
eq "unknown metrics: 404" 404 "$(get '/v1/metrics/velocity')"
eq "no token: 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/metrics/dora")"
"$MILEPOST" metrics velocity 2>/dev/null; rc=$?
eq "milepost metrics velocity: usage error (exit 2)" 2 "$rc"
# GET /metrics, the operator's series (milepostd(8)): by source and type,
# by source and reason, per sink, and the timers' lag.
prom() { curl -s "$URL/metrics" > "$T/prom"; }
val() { awk -v n="$1" '$1 == n { print $2 }' "$T/prom"; }
curl -s -o /dev/null --data-binary '{}' "$URL/v1/evidence"	# unsigned
# Wait for the state: the stall timer (every 5 s) ticked twice, and sink
# dead has nothing waiting or in flight.
settled() {
	prom
	[ "$(val 'milepost_timer_ticks_total{timer="stall"}')" -ge 2 ] &&
	    [ "$(val 'milepost_sink_pending{sink="dead"}')" = 0 ] &&
	    [ "$(val 'milepost_sink_in_flight{sink="dead"}')" = 0 ]
} 2>/dev/null
deadline=$(( $(date +%s) + 30 ))
until settled || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
eq "evidence stored by source and type: 7 commits, 4 incident openings" "7 4" \
    "$(val 'milepost_evidence_stored_total{source="agent",type="CommitPushed"}') $(val 'milepost_evidence_stored_total{source="agent",type="IncidentOpened"}')"
eq "rejections by source and reason: the unsigned POST, the reads" "1 1 2" \
    "$(val 'milepost_rejections_total{source="agent",reason="signature"}') $(val 'milepost_rejections_total{source="api",reason="auth"}') $(val 'milepost_rejections_total{source="api",reason="syntax"}')"
check "the reason-only series stays as it was" grep -q '^milepost_requests_rejected_total{reason="signature"} 1$' "$T/prom"
check "alias misses are a counter by source" grep -q '^# TYPE milepost_alias_misses_total counter$' "$T/prom"
check "the stall timer ticked twice, and its lag is a number of seconds" \
    grep -Eq '^milepost_timer_lag_seconds\{timer="stall"\} [0-9]+\.[0-9]{6}$' "$T/prom"
dead_n=$(val 'milepost_sink_dead{sink="dead"}')
eq "sink dead: every Deployment dead-lettered, none pending" "0" "$(val 'milepost_sink_pending{sink="dead"}')"
check "sink dead: dead rows counted" test "${dead_n:-0}" -ge 1
check "sink later: rows pending, the oldest older than 0 s" \
    test "$(val 'milepost_sink_pending{sink="later"}')" -ge 1 -a "$(val 'milepost_sink_oldest_pending_seconds{sink="later"}' | tr -d .)" -gt 0
check "push latency histogram per sink: a request per dead row at least" \
    test "$(val 'milepost_push_seconds_count{sink="dead"}')" -ge "$dead_n" -a \
    "$(val 'milepost_push_seconds_bucket{sink="dead",le="+Inf"}')" = \
    "$(val 'milepost_push_seconds_count{sink="dead"}')"
check "the daemon exits 0 on SIGTERM" stop_daemon
finish
