#!/usr/bin/env bash
# The access log (access_log: in milepost.yaml(5), milepostd(8)): one line
# per request with time, method, path, status, source, peer, bytes and
# latency, plain or JSON; never a token, a signature, a secret query value
# or a body; off by default; and a log nobody reads never blocks the loop
# (lines are dropped and counted instead).
. "$(dirname "$0")/lib.sh"
plan 33

GHSECRET="gh-secret-$(head -c 8 /dev/urandom | xxd -p)"
wait_lines() {	# wait_lines FILE N: until FILE has N lines (30 s)
	local i
	for i in $(seq 600); do
		[ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
metric() { curl -s "$URL/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }

# --- configuration ------------------------------------------------------
write_config "access_log: { format: plian }"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
eq "a misspelt format fails -n (exit 1)" 1 "$rc"
check "with file:line, the nearest format and the valid ones" \
    grep -q 'milepost.yaml:[0-9]*: access_log.format: unknown format plian (did you mean plain?; valid: plain or json)' "$T/err"
write_config "access_log: { where: stderr }"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
eq "an unknown key fails -n" "1 1" "$rc $(grep -c 'access_log.where: unknown key (format, path, buffer)' "$T/err")"
write_config "access_log: { path: $T/no/such/dir/access.log }"
"$MILEPOSTD" -c "$T/milepost.yaml" 2> "$T/err"; rc=$?
eq "a file that cannot be opened stops the start (exit 1)" "1 1" "$rc $(grep -c 'access_log: .*access.log: No such file' "$T/err")"

# --- plain lines to a file ---------------------------------------------
write_config "access_log: { format: plain, path: $T/access.log }
sources:
  github: { secret: \"$GHSECRET\" }"
check "-n accepts access_log" "$MILEPOSTD" -n -c "$T/milepost.yaml" 2>/dev/null
start_daemon
body='{"type":"CommitPushed","subject":"s1","properties":{"sha":"BODYMARK0123456789"}}'
r=$(post ev-1 "$body")
eq "a signed evidence is stored" 202 "${r%% *}"
ts=$(date +%s); sig=$(sign ev-2 "$ts" "$body")
curl -s -o /dev/null -H "webhook-id: ev-2" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig" --data-binary "$body" "$URL/v1/evidence"
curl -s -o /dev/null -H "webhook-id: ev-3" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$(printf 'forged-signature-0001' | base64)" \
    --data-binary "$body" "$URL/v1/evidence"
curl -s -o "$T/resp" -H "Authorization: Bearer $READER_TOKEN" \
    "$URL/v1/evidence?limit=5&token=QUERYSECRET42&after=0"
ghsig="sha256=$(printf '%s' '{"zen":"x"}' | openssl dgst -sha256 -hmac wrong-secret | sed 's/.*= //')"
curl -s -o /dev/null -H "X-GitHub-Event: ping" -H "X-GitHub-Delivery: d-1" \
    -H "X-Hub-Signature-256: $ghsig" --data-binary '{"zen":"x"}' "$URL/hooks/github"
curl -s -o /dev/null "$URL/no/such%20path?x=1"
# start_daemon's /healthz, then these six.
check "seven lines are written" wait_lines "$T/access.log" 7
grep ' /v1/evidence ' "$T/access.log" | grep ' POST ' | head -1 > "$T/post"
read -r t method path status src peer bytes secs < "$T/post"
eq "POST: method, path, status, source" "POST /v1/evidence 202 agent" "$method $path $status $src"
check "the time is RFC 3339 UTC" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' <<<"$t"
check "the peer is the client's address and port" grep -Eq '^127\.0\.0\.1:[0-9]+$' <<<"$peer"
check "bytes is the reply's length" test "$bytes" -gt 10
check "latency is in seconds" grep -Eq '^[0-9]+\.[0-9]{6}$' <<<"$secs"
check "the refused signature is logged as a 401 from agent" \
    grep -q ' POST /v1/evidence 401 agent ' "$T/access.log"
check "a read: its harmless query parameters, any other hidden" \
    grep -q ' GET /v1/evidence?limit=5&token=-&after=0 200 - ' "$T/access.log"
check "a hook: the source is named" grep -q ' POST /hooks/github 401 github ' "$T/access.log"
check "an unknown path, as sent, and its 404" grep -q ' GET /no/such%20path?x=- 404 - ' "$T/access.log"
check "no bearer token in the log" no_grep -F "$READER_TOKEN" "$T/access.log"
check "no secret query value" no_grep -F QUERYSECRET42 "$T/access.log"
check "no Standard Webhooks signature" no_grep -F "$sig" "$T/access.log"
check "no GitHub signature" no_grep -F "${ghsig#sha256=}" "$T/access.log"
check "no body" no_grep -F BODYMARK "$T/access.log"
check "every line has the eight fields" \
    test "$(awk 'NF != 8' "$T/access.log" | wc -l)" -eq 0
eq "lines are counted, none dropped" "0" "$(metric milepost_access_log_dropped_total)"
check "the daemon exits 0 on SIGTERM" stop_daemon

# --- JSON lines to stderr ----------------------------------------------
write_config "access_log: { format: json, path: stderr }"
start_daemon
curl -s -o /dev/null -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/claims/Deployment?as_of=2030-01-01T00:00:00Z"
check "the daemon exits 0 on SIGTERM" stop_daemon
oracle "JSON lines" 3 python3 - "$T/milepostd.log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
keys = ["time", "method", "path", "status", "source", "peer", "bytes", "seconds"]
print(("ok - " if lines and all(list(l) == keys for l in lines) else "not ok - ") + "each JSON line has exactly the keys, in order")
c = [l for l in lines if l["path"].startswith("/v1/claims/")]
print(("ok - " if c and c[0]["path"] == "/v1/claims/Deployment?as_of=2030-01-01T00:00:00Z" and c[0]["status"] == 200 and c[0]["source"] is None else "not ok - %s: " % c) + "the read's line")
print(("ok - " if c and isinstance(c[0]["bytes"], int) and isinstance(c[0]["seconds"], float) else "not ok - ") + "bytes and seconds are numbers")
PY

# --- off by default -----------------------------------------------------
write_config
start_daemon
curl -s -o /dev/null "$URL/healthz"
check "the daemon exits 0 on SIGTERM" stop_daemon
check "without access_log, no request is logged" no_grep -E '/healthz|"method"' "$T/milepostd.log"

# --- a reader that stops reading never blocks the loop ------------------
mkfifo "$T/fifo"
sleep 1000 < "$T/fifo" & HOLD=$!	# opens the FIFO, never reads it
write_config "access_log: { path: $T/fifo, buffer: 4KiB }"
start_daemon
# The pipe takes 64 KiB and the buffer 4 KiB: 2000 lines of ~80 bytes overflow both.
for i in $(seq 2000); do echo "url = \"$URL/healthz\""; echo "output = /dev/null"; done > "$T/curl.cfg"
curl -s -K "$T/curl.cfg"
eq "the loop still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")"
check "lines that did not fit are dropped and counted" test "$(metric milepost_access_log_dropped_total)" -gt 0
kill "$HOLD"; wait "$HOLD" 2>/dev/null
check "the daemon exits 0 on SIGTERM" stop_daemon
finish
