#!/usr/bin/env bash
# Slow clients cannot hold the receiver (conn.c): a deadline for a
# request's headers and one for its body, from the first byte and never
# reset by dripping; a per-address cap; at a cap the oldest idle or slow
# connection is shed.  Then a bounded slowloris: 2,000 connections from
# 127.0.0.1 dripping a byte a second for 30 s (tests/it/slowloris.py,
# which stops by itself), during which /healthz and signed POSTs from
# fresh clients are served.  The latency figure is bench/slowloris's.
. "$(dirname "$0")/lib.sh"
plan 15

# 2,000 connections and the daemon's own descriptors.
ulimit -n 8192
write_config "limits: { header_timeout: 3s, body_timeout: 3s, timeout: 60s, max_connections_per_ip: 500 }"
start_daemon

# drip MODE: one connection dripping a byte every 0.25 s (headers, or a
# body after complete headers) for at most 20 s; prints "closed SECS" once
# the daemon closes it.  evhttp's idle timeout (60 s) cannot be what closes
# it: every byte resets that.
drip() {
	python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
if sys.argv[2] == "body":
    s.sendall(b"POST /v1/evidence HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
    part = b"x" * 1000
else:
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    part = b"X-Slow: " + b"a" * 1000 + b"\r\n"
s.settimeout(0.25)
t = time.time()
i = 0
while time.time() - t < 20:
    try:
        s.send(part[i:i + 1]); i += 1
        if s.recv(4096) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
print("closed" if time.time() - t < 20 else "open", int(time.time() - t))
PY
}
read -r state secs < <(drip headers)
eq "dripped headers: the connection is closed" closed "$state"
check "by header_timeout (3 s), not the idle timeout (took $secs s)" test "$secs" -lt 15
read -r state secs < <(drip body)
eq "a dripped body: the connection is closed" closed "$state"
check "by body_timeout (3 s) (took $secs s)" test "$secs" -lt 15

# An idle keep-alive connection is not a slow request: past header_timeout
# it is still served.
python3 - "$PORT" > "$T/ka" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
codes = []
for _ in range(2):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"}" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    codes.append(data.split(b" ")[1].decode() if data else "closed")
    time.sleep(5)
print(*codes)
PY
eq "an idle keep-alive connection outlives header_timeout" "200 200" "$(cat "$T/ka")"

# The per-address cap: 600 idle connections from 127.0.0.1, opened one
# after another; the daemon keeps 500 and sheds the oldest 100.  Counted
# once the daemon shows 500 (a generous deadline), by who sees EOF.
python3 - "$PORT" > "$T/cap" <<'PY'
import http.client, socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(600)]
t = time.time()
while time.time() - t < 30:
    # From 127.0.0.2, so that asking is not a 601st from 127.0.0.1.
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), source_address=("127.0.0.2", 0))
    c.request("GET", "/metrics")
    m = c.getresponse().read().decode()
    c.close()
    if "\nmilepost_connections 500\n" in m or "\nmilepost_connections 501\n" in m:
        break
    time.sleep(0.2)
time.sleep(0.5)
closed = []
for i, s in enumerate(socks):
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed.append(i)
    except BlockingIOError:
        pass
    except OSError:
        closed.append(i)
print(len(closed), "oldest" if closed == list(range(len(closed))) else "not-oldest")
PY
eq "max_connections_per_ip: 600 from one address, the oldest 100 are shed" "100 oldest" "$(cat "$T/cap")"

# The slowloris, in the background: 2,000 connections, 30 s.
python3 "$top_srcdir/tests/it/slowloris.py" "$PORT" 2000 30 "$T/loris" &
loris=$!
# Wait until it holds the daemon at its per-address cap.
conns() { curl -s --max-time 10 "$URL/metrics" | sed -n 's/^milepost_connections \([0-9]*\)$/\1/p'; }
for _ in $(seq 300); do
	c=$(conns); [ "${c:-0}" -ge 400 ] && break; sleep 0.1
done
check "the slowloris holds hundreds of connections ($c)" test "${c:-0}" -ge 400
: > "$T/served"
max=0 i=0
while kill -0 "$loris" 2>/dev/null; do
	i=$((i + 1))
	curl -s -o /dev/null -w 'healthz %{http_code}\n' --max-time 10 "$URL/healthz" >> "$T/served"
	r=$(post "fresh-$i" "{\"type\":\"BuildStartedEvent\",\"subject\":\"f-$i\",\"properties\":{\"buildId\":\"f-$i\"}}" --max-time 10)
	echo "post ${r%% *}" >> "$T/served"
	# Another address (127.0.0.2 is loopback too): not behind 127.0.0.1's cap.
	r=$(post "other-$i" "{\"type\":\"BuildStartedEvent\",\"subject\":\"o-$i\",\"properties\":{\"buildId\":\"o-$i\"}}" --max-time 10 --interface 127.0.0.2)
	echo "post ${r%% *}" >> "$T/served"
	c=$(conns); [ "${c:-0}" -gt "$max" ] && max=$c
	sleep 1
done
wait "$loris"
check "the slowloris ran and stopped by itself" grep -q "^opened 2000 reconnects [1-9]" "$T/loris"
n=$(grep -c '^healthz' "$T/served")
check "/healthz was asked $n times during the slowloris" test "$n" -ge 5
eq "and answered 200 every time" "$n" "$(grep -c '^healthz 200$' "$T/served")"
p=$(grep -c '^post' "$T/served")
eq "every signed POST from a fresh client was stored (202)" "$p" "$(grep -c '^post 202$' "$T/served")"
eq "and is in the ledger" "$p" "$(rows "id LIKE 'fresh-%' OR id LIKE 'other-%'")"
check "the daemon held at most max_connections (1024) meanwhile ($max)" test "$max" -le 1024
curl -s "$URL/metrics" > "$T/metrics"
check "slow connections were shed" grep -qE '^milepost_connections_shed_total [1-9]' "$T/metrics"
check "the daemon stops cleanly" stop_daemon
finish
