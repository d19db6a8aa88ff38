#!/usr/bin/env bash
# SLOs with a real Alertmanager: Debian's prometheus-alertmanager on
# loopback takes alerts on its API and notifies milepostd's
# POST /hooks/alertmanager (bearer); the notifications burn a time-slice
# SLO (indicator: alerts).  Then the gate closes (exit 3, with the
# reason), a two-approval exception opens it, a late alert (startsAt half
# an hour back) revises the SLO's window and its revision is flagged
# late, and the Slo claim's pushes reach a sink.
. "$(dirname "$0")/outbox-lib.sh"
plan 15

AM=$(command -v prometheus-alertmanager || echo /usr/bin/prometheus-alertmanager)
BEAR="am-bearer-$(head -c 8 /dev/urandom | xxd -p)"
OPERATOR_TOKEN="operator-token-$(head -c 8 /dev/urandom | xxd -p)"
HOOKSECRET="whsec_$(head -c 32 /dev/urandom | base64)"
start_sink hook; HOOK=$SINKPORT
cat > "$T/milepost.yaml" <<YAML
listen: "127.0.0.1:0"
ledger: "$LEDGER_URL"
agent_secret: "$SECRET"
tokens:
  - { token: "$READER_TOKEN", role: reader }
  - { token: "$ADMIN_TOKEN", role: admin, name: alice }
  - { token: "$OPERATOR_TOKEN", role: operator, name: bob }
sources:
  alertmanager: { bearer: "$BEAR" }
tenants: [acme]
environments: [production]
services:
  checkout: { tenant: acme }
slos:
  checkout-alerts:
    service: checkout
    environment: production
    objective: 99
    window: 1h
    indicator: { alerts: { labels: { severity: critical } } }
gates:
  exceptions: { approvals: 2, roles: [admin, operator] }
sinks:
  hook: { kind: webhook, url: "http://127.0.0.1:$HOOK/hooks/{type}/{id}", secret: "$HOOKSECRET" }
subscriptions:
  - { sink: hook, types: [Slo] }
YAML
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"

AMPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$T/am.yml" <<YAML
route:
  receiver: milepost
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: milepost
    webhook_configs:
      - url: "http://127.0.0.1:$PORT/hooks/alertmanager"
        send_resolved: true
        http_config:
          authorization: { type: Bearer, credentials: "$BEAR" }
YAML
mkdir -p "$T/am"
"$AM" --config.file="$T/am.yml" --storage.path="$T/am" \
    --web.listen-address="127.0.0.1:$AMPORT" --cluster.listen-address= \
    > "$T/am.log" 2>&1 &
SINKPIDS="$SINKPIDS $!"
until_ok() {	# until_ok SECONDS CMD...: poll CMD until it succeeds
	local end=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.2
	done
}
check "Alertmanager serves on loopback" until_ok 60 curl -sf "http://127.0.0.1:$AMPORT/-/ready"

alert() {	# alert NAME STARTS-AT: post one alert to Alertmanager's API
	curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary "[{\"labels\":{\"alertname\":\"$1\",\"service\":\"checkout\",\"environment\":\"production\",\"severity\":\"critical\"},\"startsAt\":\"$2\"}]" \
	    "http://127.0.0.1:$AMPORT/api/v2/alerts"
}
firing() { [ "$(rows "type = 'AlertFiring' AND source = 'alertmanager'")" -ge "$1" ]; }
slo() { curl -s -o "$T/resp" -H "Authorization: Bearer $READER_TOKEN" "$URL/v1/claims/Slo/checkout-alerts"; json "$1"; }
slo_is() { [ "$(slo "$1")" = "$2" ]; }

eq "Alertmanager takes the alert" 200 "$(alert HighErrorRate "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
check "… and notifies milepostd, which stores AlertFiring" until_ok 60 firing 1
check "the open alert burns the SLO: its budget is exhausted" until_ok 30 slo_is 'd["properties"]["state"]' exhausted
rc=0; "$MILEPOST" gate --service checkout --environment production > "$T/out" 2>&1 || rc=$?
eq "the gate is closed: exit 3" 3 "$rc"
check "… with the reason" grep -q "budget_exhausted: SLO checkout-alerts: the error budget is exhausted" "$T/out"
for tok in "$ADMIN_TOKEN" "$OPERATOR_TOKEN"; do
	MILEPOST_TOKEN=$tok "$MILEPOST" gate approve --service checkout --environment production \
	    --exception incident-fix --reason "the fix for the errors" >/dev/null 2>&1
done
rc=0; "$MILEPOST" gate --service checkout --environment production > "$T/out" 2>&1 || rc=$?
eq "a two-approval exception opens it" 0 "$rc"
check "… naming the exception" grep -q "exception incident-fix approved by" "$T/out"

# A late alert: its startsAt is 30 minutes back, behind the watermark.
total_before=$(slo 'int(d["properties"]["total"])')
eq "Alertmanager takes a late alert" 200 "$(alert SlowCheckout "$(date -u -d '-30 minutes' +%Y-%m-%dT%H:%M:%SZ)")"
check "… which milepostd stores" until_ok 60 firing 2
check "its revision is flagged late" until_ok 30 slo_is 'd["properties"].get("late")' True
check "… and revises the window: the 30 minutes back count" \
    test "$(slo 'int(d["properties"]["total"])')" -ge $(( total_before + 29 ))
check "the Slo claim's pushes reach the sink" wait_received hook 1
check "… as the Slo claim" grep -q "\"path\": \"/hooks/Slo/checkout-alerts\"" "$T/hook/log"
check "daemon stops cleanly" stop_daemon
finish
