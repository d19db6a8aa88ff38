#!/usr/bin/env bash
# 503 while stopping.  After SIGTERM the daemon takes no new connection,
# answers the requests that still arrive on open ones 503 (with
# Retry-After), /healthz included, and exits 0 once every evidence it
# acknowledged is committed.  To see that window without racing it, the
# test holds the ledger's lock, so that two evidence posted before the
# signal stay with the blocked writer and keep the daemon stopping, and
# a keep-alive connection opened before the signal asks meanwhile.
. "$(dirname "$0")/lib.sh"
plan 10

start_daemon || exit 1

# A keep-alive client: one request before the signal, then (once told
# to, by $T/go) a POST /v1/evidence and a GET /healthz on the same
# connection; each answer's status, Retry-After and body to $T/ka.
cat > "$T/ka.py" <<'PY'
import http.client, json, os, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
def ask(method, path, body=None):
    c.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    b = r.read().decode()
    return "%d %s %s" % (r.status, r.getheader("Retry-After", "-"), json.dumps(json.loads(b), sort_keys=True))
out = [ask("GET", "/healthz")]
open(os.path.join(d, "ready"), "w").close()
for i in range(1200):	# 60 s
    if os.path.exists(os.path.join(d, "go")):
        break
    time.sleep(0.05)
out.append(ask("POST", "/v1/evidence", '{"type":"BuildStartedEvent","properties":{"buildId":"late"}}'))
out.append(ask("GET", "/healthz"))
open(os.path.join(d, "ka"), "w").write("\n".join(out) + "\n")
PY
python3 "$T/ka.py" "$PORT" "$T" 2>"$T/ka.err" &
kapid=$!
for i in $(seq 600); do [ -e "$T/ready" ] && break; sleep 0.05; done
check "the keep-alive client is connected" test -e "$T/ready"

# Hold the ledger's lock (until $T/release): the writer blocks.  The
# writer's busy timeout (5 s) is the one bound: from the posts to the
# client's requests is well under it, even under ASan.
cat > "$T/hold.sh" <<'SH'
touch "$1/locked"
i=0
while [ ! -e "$1/release" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
SH
( sqlite3 "$T/ledger.db" <<SQL
BEGIN EXCLUSIVE;
SELECT count(*) FROM evidence;
.shell sh $T/hold.sh $T
COMMIT;
SQL
) >/dev/null 2>&1 &
lockpid=$!
for i in $(seq 600); do [ -e "$T/locked" ] && break; sleep 0.05; done
# Evidence, one at a time, until one waits in the queue: the writer has
# taken the first ones and is blocked on the lock (the writer may take
# two that arrive together, so the count is not known in advance).
depth() { curl -s "$URL/metrics" | sed -n 's/^milepost_queue_depth //p'; }
k=0 pids=
while [ $k -lt 5 ] && [ "$(depth)" = 0 ]; do
	k=$((k + 1))
	post s$k "{\"type\":\"BuildStartedEvent\",\"properties\":{\"buildId\":\"s$k\"}}" > "$T/s$k" &
	pids="$pids $!"
	for i in $(seq 20); do [ "$(depth)" = 0 ] || break; sleep 0.05; done
done
eq "an evidence waits in the queue behind the blocked writer" 1 "$(depth)"

kill -TERM "$DPID"
for i in $(seq 600); do grep -q "stopping: no new connections" "$T/milepostd.log" && break; sleep 0.05; done
check "SIGTERM: the daemon is stopping" grep -q "stopping: no new connections" "$T/milepostd.log"
eq "a new connection is refused while stopping" 000 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/healthz")"
touch "$T/go"
wait $kapid
eq "the keep-alive client ran (exit 0)" "0" "$?$(cat "$T/ka.err")"
eq "before the signal, /healthz: 200" '200 - {"seq": 0, "status": "ok"}' "$(sed -n 1p "$T/ka")"
eq "while stopping, POST /v1/evidence: 503 with Retry-After, shutting down" \
    '503 1 {"error": "shutting down"}' "$(sed -n 2p "$T/ka")"
eq "while stopping, /healthz: 503, stopping" '503 - {"seq": 0, "status": "stopping"}' "$(sed -n 3p "$T/ka")"

touch "$T/release"
wait $lockpid $pids
eq "the acknowledged evidence is committed" "$(printf '202 %.0s' $(seq $k))$k" \
    "$(for i in $(seq $k); do printf '%s ' "$(cut -d' ' -f1 "$T/s$i")"; done)$(rows)"
check "and the daemon exits 0" stop_daemon
finish
