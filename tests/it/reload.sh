#!/usr/bin/env bash
# SIGHUP reloads the configuration: a new token works and a removed one is
# refused, a new source secret is checked, with no connection dropped (a
# keep-alive connection and a request in flight across the reload) and no
# acknowledged evidence lost; a broken file keeps the running
# configuration and the log says why, with file:line.  Then -u: bind, open
# the ledger, drop to the user before the loop.
. "$(dirname "$0")/lib.sh"
plan 21

TOKEN_A="token-a-$(head -c 8 /dev/urandom | xxd -p)"
TOKEN_B="token-b-$(head -c 8 /dev/urandom | xxd -p)"
GH_OLD="gh-old-$(head -c 8 /dev/urandom | xxd -p)"
GH_NEW="gh-new-$(head -c 8 /dev/urandom | xxd -p)"
# conf TOKEN GH-SECRET [EXTRA]: the configuration, listening on $PORT.
conf() {
	cat > "$T/milepost.yaml.new" <<YAML
listen: "127.0.0.1:${PORT:-0}"
ledger: "$LEDGER_URL"
agent_secret: "$SECRET"
tokens:
  - { token: "$1", role: reader }
sources:
  github: { secret: "$2" }
${3:-}
YAML
	mv "$T/milepost.yaml.new" "$T/milepost.yaml"
}
# status TOKEN: GET /v1/evidence's status with that bearer token.
status() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
	    "$URL/v1/evidence?limit=1"
}
# gh SECRET: a GitHub ping signed with SECRET; prints the status.
gh() {
	local body='{"zen":"Keep it logically awesome.","hook_id":1}' sig
	sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$1" | sed 's/.* //')
	curl -s -o /dev/null -w '%{http_code}' -H "X-GitHub-Event: ping" \
	    -H "X-GitHub-Delivery: d-$RANDOM$RANDOM" \
	    -H "X-Hub-Signature-256: sha256=$sig" \
	    -H 'Content-Type: application/json' --data-binary "$body" \
	    "$URL/hooks/github"
}
# reloads N: wait until the log shows N reloads applied.
reloads() {
	for _ in $(seq 300); do
		[ "$(grep -c 'reloaded ' "$T/milepostd.log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

conf "$TOKEN_A" "$GH_OLD"
start_daemon
eq "token A is served before the reload" 200 "$(status "$TOKEN_A")"
eq "the old GitHub secret is accepted" 200 "$(gh "$GH_OLD")"

# Across the reload: a keep-alive connection (one request before, one
# after, on the same socket) and a POST in flight (headers and half the
# body before, the rest after).  python waits for $T/go, made once the
# daemon has logged the reload.
ts=$(date +%s)
body='{"type":"BuildStartedEvent","subject":"b-fly","properties":{"buildId":"b-fly"}}'
sig=$(sign inflight-1 "$ts" "$body")
python3 - "$PORT" "$T/go" "$T/ready" "$ts" "$sig" "$body" > "$T/across" <<'PY' &
import os, socket, sys, time
port, go, ready, ts, sig, body = sys.argv[1:7]
body = body.encode()
def reply(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return "closed"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
         if l.lower().startswith(b"content-length:")][0]
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            return "closed"
        rest += chunk
    return head.split(b" ")[1].decode()
ka = socket.create_connection(("127.0.0.1", int(port)))
ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
first = reply(ka)
fly = socket.create_connection(("127.0.0.1", int(port)))
fly.sendall(("POST /v1/evidence HTTP/1.1\r\nHost: x\r\n"
    "Content-Type: application/json\r\nwebhook-id: inflight-1\r\n"
    "webhook-timestamp: %s\r\nwebhook-signature: v1,%s\r\n"
    "Content-Length: %d\r\n\r\n" % (ts, sig, len(body))).encode())
fly.sendall(body[:10])
open(ready, "w").close()
t = time.time()
while not os.path.exists(go) and time.time() - t < 60:
    time.sleep(0.05)
fly.sendall(body[10:])
print("inflight", reply(fly))
ka.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
print("keepalive", first, reply(ka))
PY
py=$!
for _ in $(seq 600); do [ -e "$T/ready" ] && break; sleep 0.05; done

# A stream of signed POSTs before, during and after the reload.
(for i in $(seq 1 60); do
	r=$(post "stream-$i" "{\"type\":\"BuildStartedEvent\",\"subject\":\"s-$i\",\"properties\":{\"buildId\":\"s-$i\"}}")
	echo "stream-$i ${r%% *}"
done > "$T/stream") &
streamer=$!
sleep 0.2
conf "$TOKEN_B" "$GH_NEW"
kill -HUP "$DPID"
check "the daemon logs the reload" reloads 1
touch "$T/go"
wait "$py"
wait "$streamer"
check "a request in flight across the reload is answered 202" grep -qx "inflight 202" "$T/across"
check "a keep-alive connection is served before and after it" grep -qx "keepalive 200 200" "$T/across"
eq "every POST of the stream was acknowledged" 60 "$(grep -c ' 202$' "$T/stream")"
eq "every acknowledged id is in the ledger" 60 "$(rows "id LIKE 'stream-%'")"
eq "and the in-flight one" 1 "$(rows "id = 'inflight-1'")"

eq "a new token works after SIGHUP" 200 "$(status "$TOKEN_B")"
eq "a removed token is refused" 401 "$(status "$TOKEN_A")"
eq "the new GitHub secret is accepted" 200 "$(gh "$GH_NEW")"
eq "the old one is refused" 401 "$(gh "$GH_OLD")"

# A broken file: the running configuration stays, the log says file:line.
conf "$TOKEN_A" "$GH_OLD" "limits: { max_bodyy: 1MiB }"
kill -HUP "$DPID"
for _ in $(seq 300); do grep -q "reload failed" "$T/milepostd.log" && break; sleep 0.1; done
check "a broken file is refused with file:line and the nearest key" \
	grep -q "reload failed, keeping the running configuration: $T/milepost.yaml:8: limits.max_bodyy: unknown limit max_bodyy (did you mean max_body?" "$T/milepostd.log"
eq "the running configuration stays: token B is served" 200 "$(status "$TOKEN_B")"
eq "and token A is still refused" 401 "$(status "$TOKEN_A")"
curl -s "$URL/metrics" > "$T/metrics"
check "metrics count one reload and one refused" \
	grep -qzE "milepost_reloads_total 1.*milepost_reload_failures_total 1" "$T/metrics"
check "the daemon stops cleanly" stop_daemon

# -u USER: bind, open the ledger, then drop privileges (the tests run as
# root in CI; as another user, -u to oneself is the only change allowed).
conf "$TOKEN_B" "$GH_NEW"
chmod 755 "$T"
if [ "$(id -u)" -eq 0 ]; then
	U=nobody
else
	U=$(id -un)
fi
: > "$T/milepostd.log"
"$MILEPOSTD" -u "$U" -c "$T/milepost.yaml" 2>>"$T/milepostd.log" &
DPID=$!
for _ in $(seq 300); do curl -s -o /dev/null "$URL/healthz" && break; sleep 0.1; done
uid=$(id -u "$U"); gid=$(id -g "$U")
eq "after -u, every uid of the daemon is the user's" "$uid	$uid	$uid	$uid" \
	"$(sed -n 's/^Uid:\t//p' "/proc/$DPID/status")"
eq "every gid is the user's, and no other group" "$gid	$gid	$gid	$gid $gid" \
	"$(sed -n 's/^Gid:\t//p' "/proc/$DPID/status") $(sed -n 's/^Groups:\t//p' "/proc/$DPID/status" | tr -d ' ')"
r=$(post after-drop '{"type":"BuildStartedEvent","subject":"b-u","properties":{"buildId":"b-u"}}')
eq "the ledger opened before the drop is written after it" 202 "${r%% *}"
check "the daemon stops cleanly" stop_daemon
finish
