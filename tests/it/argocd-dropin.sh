#!/usr/bin/env bash
# plugins/argocd/argocd-notifications-cm.yaml, run the way Argo CD runs it:
# - its five templates rendered by Go's text/template with sprig (Debian's
#   golang-go and golang-github-masterminds-sprig-dev, offline) give the
#   committed bodies tests/fixtures/argocd/on-*.json that hooks-argocd.sh
#   checks field by field;
# - no trigger has oncePer (notifications-engine never retries one that
#   has), and on-deployed has Argo CD 3.0's catalog condition;
# - the webhook service's retry settings, read as notifications-engine
#   reads them (sigs.k8s.io/yaml into time.Duration) and sent with
#   retryablehttp as it sends (tests/it/argocd-send.go), ride out a 60 s
#   milepostd outage: every evidence arrives.  The defaults do not.
. "$(dirname "$0")/lib.sh"
plan 26

CM="$top_srcdir/plugins/argocd/argocd-notifications-cm.yaml"
FIX="$top_srcdir/tests/fixtures/argocd"
TOK="argo-tok-$(head -c 12 /dev/urandom | xxd -p)"

gobuild() {	# gobuild OUT SRC: Debian's Go, offline, GOPATH mode
	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$T/gocache" \
	    GOPROXY=off go build -o "$1" "$2" 2>"$T/go.err" || { cat "$T/go.err"; return 1; }
}
check "the renderer (text/template + sprig) builds offline" \
    gobuild "$T/render" "$FIX/render/render.go"
check "the sender (sigs.k8s.io/yaml + retryablehttp) builds offline" \
    gobuild "$T/send" "$top_srcdir/tests/it/argocd-send.go"

# Each template, rendered from the ConfigMap itself, is the committed body.
for pair in sync-running:running sync-succeeded:succeeded \
    sync-failed:failed deployed:deployed health-degraded:degraded; do
	t=${pair%%:*} app=${pair##*:}
	python3 - "$CM" "milepost-$t" > "$T/tmpl-$t" <<'PY'
import sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))
t = yaml.safe_load(cm["data"]["template." + sys.argv[2]])
sys.stdout.write(t["webhook"]["milepost"]["body"])
PY
	ARGOCD_URL=https://argocd.acme.example "$T/render" "$T/tmpl-$t" \
	    "$FIX/render/app-$app.json" > "$T/on-$t.json" 2>"$T/render.err"
	same "milepost-$t renders to tests/fixtures/argocd/on-$t.json" \
	    "$(cat "$T/on-$t.json")" "$(cat "$FIX/on-$t.json")"
done

# The triggers: no oncePer; on-deployed is the catalog's 3.0 condition.
oracle "triggers" 6 python3 - "$CM" <<'PY'
import sys, yaml
cm = yaml.safe_load(open(sys.argv[1]))["data"]
names = ["on-sync-running", "on-sync-succeeded", "on-sync-failed",
         "on-deployed", "on-health-degraded"]
for n in names:
    conds = yaml.safe_load(cm["trigger." + n])
    bad = [c for c in conds if "oncePer" in c]
    print(("ok" if conds and not bad else "not ok") +
          " - trigger %s has no oncePer (%d conditions)" % (n, len(conds)))
want = ("app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] "
        "and app.status.health.status == 'Healthy' and "
        "(!time.Parse(app.status.health.lastTransitionTime).Add(1 * time.Minute).Before(time.Parse(app.status.operationState.finishedAt)) "
        "or time.Parse(app.status.health.lastTransitionTime).Before(time.Parse(app.status.operationState.startedAt)))")
got = yaml.safe_load(cm["trigger.on-deployed"])[0]["when"]
print(("ok" if got == want else "not ok") +
      " - on-deployed is Argo CD 3.0's catalog condition")
PY

# The retry settings, as notifications-engine reads them.
eq "the service retries 10 times over 303 s (1, 2, 4, ... 60 s)" "10 303" \
    "$("$T/send" "$CM" http://127.0.0.1:1/ "$TOK" window 2>&1)"
git -C "$top_srcdir" show aabf81b:plugins/argocd/argocd-notifications-cm.yaml > "$T/old-cm.yaml"
eq "the settings before (none: the defaults) give up after 3 retries, 7 s" "3 7" \
    "$("$T/send" "$T/old-cm.yaml" http://127.0.0.1:1/ "$TOK" window 2>&1)"
sed 's/^    retryWaitMin: .*/    retryWaitMin: 1s/' "$CM" > "$T/cm-1s.yaml"
"$T/send" "$T/cm-1s.yaml" http://127.0.0.1:1/ "$TOK" window > /dev/null 2>"$T/err"; rc=$?
check "retryWaitMin: 1s (a string) breaks the service, as in Argo CD (exit 2)" \
    test "$rc" = 2 -a -n "$(grep 'cannot unmarshal string' "$T/err")"

write_config "sources:
  argocd: { bearer: \"$TOK\" }"
start_daemon
HOOK="$URL/hooks/argocd"
check "milepostd stops for the outage" stop_daemon

# The defaults lose a delivery during the outage.
"$T/send" "$T/old-cm.yaml" "$HOOK" "$TOK" "$T/on-deployed.json" > "$T/old.out" 2>/dev/null; rc=$?
eq "with the default settings the send gives up while milepostd is down" "1 error 4" \
    "$rc $(cat "$T/old.out")"

# The ConfigMap's settings: the controller sends the five bodies in turn
# while milepostd is down for 60 s.  The outage is the scenario (a fixed
# 60 s, not a measurement); every check waits for a state.
"$T/send" "$CM" "$HOOK" "$TOK" "$T"/on-sync-running.json "$T"/on-sync-succeeded.json \
    "$T"/on-sync-failed.json "$T"/on-deployed.json "$T"/on-health-degraded.json \
    > "$T/send.out" 2> "$T/send.err" &
spid=$!
sleep 60
check "after 60 s down the sender is still retrying the first body" kill -0 "$spid"
eq "... and has sent nothing yet" 0 "$(wc -l < "$T/send.out")"
start_daemon
# Up to the whole retry window (303 s) and a margin, then give up.
for i in $(seq 400); do kill -0 "$spid" 2>/dev/null || break; sleep 1; done
kill "$spid" 2>/dev/null
wait "$spid"; rc=$?
eq "the sender ends with every body sent (exit 0)" 0 "$rc"
eq "five deliveries, all 202" "202 202 202 202 202" \
    "$(cut -d' ' -f1 < "$T/send.out" | tr '\n' ' ' | sed 's/ $//')"
check "the first one took several attempts (got $(head -1 "$T/send.out"))" \
    test "$(head -1 "$T/send.out" | cut -d' ' -f2)" -gt 3
eq "every delivery's raw payload is stored" 5 \
    "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM raw_payloads WHERE source='argocd'")"
eq "the evidence of all five, in order" \
    "DeploymentStarted DeploymentSucceeded DeploymentFailed DeploymentHealth DeploymentHealth" \
    "$(sqlite3 "$T/ledger.db" "SELECT type FROM evidence WHERE source='argocd' ORDER BY seq" | tr '\n' ' ' | sed 's/ $//')"
check "milepostd stops cleanly" stop_daemon
finish
