#!/usr/bin/env bash
# POST /hooks/alertmanager: webhook_config notifications (version 4) of
# plugins/alertmanager/alertmanager.c from the fixtures, with the bearer
# token or Basic credentials Alertmanager's http_config sends; checked field
# by field.  One group's life: first notification, a repeat, a new alert
# joining, one resolving, all resolving; then an old sender without
# fingerprints, ignored and refused payloads, and the credentials.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hooks-lib.sh"
plan 116

FIX="$top_srcdir/tests/fixtures/alertmanager"
BEAR1="am-old-$(head -c 12 /dev/urandom | xxd -p)"
BEAR2="am-new-$(head -c 12 /dev/urandom | xxd -p)"
PASS="am-pass-$(head -c 12 /dev/urandom | xxd -p)"
FP1=22794549b529a175	# the fingerprints Alertmanager computes (FNV-1a of the labels)
FP2=fb6d87246fae1e02
FP3=$(python3 -c 'import json; print(json.load(open("'"$FIX"'/firing-grown.json"))["alerts"][2]["fingerprint"])')
S1=2025-07-03T10:14:52.371000Z
S2=2025-07-03T10:15:22.371000Z
S3=2025-07-03T10:19:52.371000Z
GEN=$(python3 -c 'import json; print(json.load(open("'"$FIX"'/firing.json"))["alerts"][0]["generatorURL"])')

write_config "sources:
  alertmanager:
    bearer: [\"$BEAR1\", \"$BEAR2\"]
    basic: { username: alertmanager, password: \"$PASS\" }"
start_daemon

# hook FILE [CURL-ARGS...]: POST a fixture (or a path) as Alertmanager does,
# with Authorization: Bearer BEAR1 unless CURL-ARGS set their own
# ("-H Authorization:" sends none).  Prints "<status> <body>".
hook() {
	local f=$1 a auth=1
	local -a args=()
	shift
	for a in "$@"; do
		case $a in [Aa]uthorization:*) auth= ;; esac
	done
	[ -n "$auth" ] && args+=(-H "Authorization: Bearer $BEAR1")
	case $f in /*) ;; *) f="$FIX/$f.json" ;; esac
	curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H 'User-Agent: Alertmanager/0.28.1' "${args[@]}" "$@" \
	    --data-binary "@$f" "$URL/hooks/alertmanager"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}

# firing_fields FP START: the fields every AlertFiring of the group has
# (timestamps are stored canonical: UTC, microseconds).
firing_fields() {
	echo type=AlertFiring subject="$1@$2" time="$2" p.alertname=HighErrorRate \
	    p.fingerprint="$1" p.severity=critical p.service=checkout p.environment=production \
	    p.startsAt="$2" l.alert="$1" l.service=checkout l.environment=production
}

# The first notification, after group_wait: two alerts, two AlertFiring.
r=$(hook firing)
eq "first notification: 202, two alerts" "202 2 0" "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
eq "ids are <fingerprint>.<startsAt>.firing" "$FP1.$S1.firing $FP2.$S2.firing" \
    "$(json 'd["evidence"][0]["id"]') $(json 'd["evidence"][1]["id"]')"
fetch
expect alertmanager "$FP1.$S1.firing" $(firing_fields $FP1 $S1) \
    p.summary="Checkout is failing requests" p.url="$GEN"
expect alertmanager "$FP2.$S2.firing" $(firing_fields $FP2 $S2) \
    p.summary="Checkout is failing requests" p.url="$GEN"
D=$(sqlite3 "$T/ledger.db" "SELECT delivery FROM raw_payloads WHERE source='alertmanager'")
check "the derived delivery id is am-<sha256>" grep -Eq '^am-[0-9a-f]{64}$' <<<"$D"

# The same notification again, then a repeat after repeat_interval whose
# templated descriptions changed: nothing new happened, nothing is written.
n=$(rows)
r=$(hook firing); eq "the notification again: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
r=$(hook firing-repeat)
eq "repeat notification of the same firing alerts: 200 duplicate" "200 True 0 2" \
    "${r%% *} $(json 'd["duplicate"]') $(json 'd["accepted"]') $(json 'd["duplicates"]')"
eq "a repeat notification writes no evidence" "$n" "$(rows)"
eq "a repeat notification has the same delivery id, so its raw payload is kept once" 1 \
    "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM raw_payloads WHERE source='alertmanager'")"

# group_interval later a third alert joins: only it is new.
r=$(hook firing-grown "-H" "Authorization: Bearer $BEAR2")
eq "a grown group, second bearer token: 202, one new, two duplicates" "202 1 2" \
    "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
fetch
expect alertmanager "$FP3.$S3.firing" $(firing_fields $FP3 $S3) \
    p.summary="Checkout is failing requests" p.url="$GEN"

# One alert resolves while the others still fire.
r=$(hook resolved-one)
eq "one resolved among firing: 202, one new" "202 1 2" "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
fetch
expect alertmanager "$FP1.$S1.resolved" type=AlertResolved subject="$FP1@$S1" \
    time=2025-07-03T10:41:07.371000Z p.alertname=HighErrorRate p.fingerprint=$FP1 \
    p.severity=critical p.service=checkout p.environment=production \
    p.summary="Checkout is failing requests" p.startsAt=$S1 \
    p.endsAt=2025-07-03T10:41:07.371000Z p.url="$GEN" \
    l.alert=$FP1 l.service=checkout l.environment=production

# All resolved.
r=$(hook resolved); eq "group resolved: 202, two new" "202 2 0" "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
r=$(hook resolved); eq "the resolution again: 200 duplicate" "200 True" "${r%% *} $(json 'd["duplicate"]')"
eq "the group's life: 3 AlertFiring, 3 AlertResolved" "AlertFiring 3 AlertResolved 3" \
    "$(sqlite3 "$T/ledger.db" "SELECT group_concat(type || ' ' || c, ' ') FROM (SELECT type, count(*) c FROM evidence WHERE source='alertmanager' GROUP BY type ORDER BY type)")"
eq "firing and resolved of one alert share the subject" "AlertFiring AlertResolved" \
    "$(sqlite3 "$T/ledger.db" "SELECT group_concat(type, ' ') FROM (SELECT type FROM evidence WHERE subject='$FP2@$S2' ORDER BY seq)")"

# The same alert firing again after it resolved is a new instance.
sed -e 's/2025-07-03T10:14:52.371Z/2025-07-03T12:03:22.371Z/' "$FIX/firing.json" > "$T/refire.json"
r=$(hook "$T/refire.json")
eq "the alert firing again later: 202, one new instance" "202 1 1" \
    "${r%% *} $(json 'd["accepted"]') $(json 'd["duplicates"]')"
eq "the new instance's id" "$FP1.2025-07-03T12:03:22.371000Z.firing" "$(json 'd["evidence"][0]["id"]')"

# An Alertmanager older than 0.19 sends no fingerprint: it is computed from
# the labels, as Alertmanager does.  Basic credentials; no service label,
# so the job; a one-digit fraction in the times.
r=$(hook no-fingerprint -H "Authorization: Basic $(printf 'alertmanager:%s' "$PASS" | base64)")
eq "no fingerprint, Basic auth: 202" 202 "${r%% *}"
eq "the computed fingerprint is Alertmanager's" fbab788ec4c1018b.2022-07-29T11:13:27.300000Z.resolved \
    "$(json 'd["evidence"][0]["id"]')"
fetch
expect alertmanager fbab788ec4c1018b.2022-07-29T11:13:27.300000Z.resolved type=AlertResolved \
    subject=fbab788ec4c1018b@2022-07-29T11:13:27.300000Z time=2022-07-29T11:17:27.300000Z \
    p.alertname=Deployment p.fingerprint=fbab788ec4c1018b p.severity=Warning \
    p.service=eric-pm-kube-state-metrics p.summary="Kubernetes Deployment Replicas Mismatch" \
    p.startsAt=2022-07-29T11:13:27.300000Z p.endsAt=2022-07-29T11:17:27.300000Z \
    p.url="$(python3 -c 'import json; print(json.load(open("'"$FIX"'/no-fingerprint.json"))["alerts"][0]["generatorURL"])')" \
    l.alert=fbab788ec4c1018b l.service=eric-pm-kube-state-metrics

# A notification with no usable alert is genuine but empty: ignored.
n=$(rows); ig=$(metric milepost_hooks_ignored_total)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["alerts"]=[]; json.dump(d,open(sys.argv[2],"w"))' \
    "$FIX/firing.json" "$T/empty.json"
r=$(hook "$T/empty.json"); eq "no alerts: 200 ignored" "200 True" "${r%% *} $(json '"no alert" in d["ignored"]')"
eq "it is counted in milepost_hooks_ignored_total" "$((ig + 1))" "$(metric milepost_hooks_ignored_total)"

# 400: another payload version (a sender's configuration mistake), no
# groupKey (no delivery id can be derived), not JSON.
sed 's/"version":"4"/"version":"3"/' "$FIX/firing.json" > "$T/v3.json"
r=$(hook "$T/v3.json"); eq "400 for payload version 3, naming it" "400 True" "${r%% *} $(json '"version 3" in d["error"]')"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["groupKey"]; json.dump(d,open(sys.argv[2],"w"))' \
    "$FIX/firing.json" "$T/nokey.json"
r=$(hook "$T/nokey.json"); eq "400 without groupKey" 400 "${r%% *}"
printf '{"version":"4",' > "$T/broken.json"
r=$(hook "$T/broken.json"); eq "400 for a malformed body" 400 "${r%% *}"

# 401: no Authorization, a wrong token, a wrong password, a token as Basic.
rj=$(metric 'milepost_requests_rejected_total{reason="signature"}')
r=$(hook resolved -H "Authorization:"); eq "401 without Authorization" "401 True" "${r%% *} $(json '"missing" in d["error"]')"
r=$(hook resolved -H "Authorization: Bearer am-wrong-$(head -c 12 /dev/urandom | xxd -p)")
eq "401 for a wrong bearer token" "401 True" "${r%% *} $(json '"does not match" in d["error"]')"
r=$(hook resolved -H "Authorization: Basic $(printf 'alertmanager:wrong-password' | base64)")
eq "401 for a wrong Basic password" 401 "${r%% *}"
r=$(hook resolved -H "Authorization: Basic $(printf 'alertmanager:%s' "$BEAR1" | base64)")
eq "401 for the bearer token as a Basic password" 401 "${r%% *}"
eq "401s are counted as signature rejects" "$((rj + 4))" "$(metric 'milepost_requests_rejected_total{reason="signature"}')"
eq "nothing written by any ignored, 400 or 401" "$n" "$(rows)"

# Rotation: the first token is dropped.
stop_daemon TERM; eq "the daemon exits 0" 0 "$?"
write_config "sources:
  alertmanager: { bearer: \"$BEAR2\" }"
start_daemon
r=$(hook firing); eq "after rotation, the old token: 401" 401 "${r%% *}"
r=$(hook firing -H "Authorization: Bearer $BEAR2"); eq "after rotation, the new token: 200 duplicate" 200 "${r%% *}"

stop_daemon TERM; eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
# README.md's complete alertmanager.yml, checked by Alertmanager's own
# amtool (script/setup installs prometheus-alertmanager; without it this
# fails): valid, and every alert reaches milepost besides its receiver.
python3 - "$top_srcdir/plugins/alertmanager/README.md" > "$T/am.yml" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
b = [x for x in re.findall(r"```yaml\n(.*?)```", s, re.S) if "route:" in x and "receivers:" in x]
sys.stdout.write(b[0] if b else "")
PY
amtool check-config "$T/am.yml" > "$T/amtool.out" 2>&1; rc=$?
eq "README.md's alertmanager.yml passes amtool check-config" "0 1" \
    "$rc $(grep -c SUCCESS "$T/amtool.out")"
[ "$rc" = 0 ] || sed 's/^/# /' "$T/amtool.out"
eq "a critical alert reaches milepost and pagerduty" "milepost,pagerduty" \
    "$(amtool config routes test --config.file="$T/am.yml" severity=critical env=production 2>/dev/null)"
eq "an alert no other route matches reaches milepost and default" "milepost,default" \
    "$(amtool config routes test --config.file="$T/am.yml" alertname=Other 2>/dev/null)"
finish
