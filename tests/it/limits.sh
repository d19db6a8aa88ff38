#!/usr/bin/env bash
# limits.max_connections: at the cap the oldest idle or slow connection is
# shed so that a new client is served (conn.c); held connections that are
# not the oldest are still served.  limits.timeout closes idle connections.
. "$(dirname "$0")/lib.sh"
plan 8

write_config "limits: { max_connections: 2, timeout: 2s, header_timeout: 60s }"
start_daemon

# Two connections, held open by python, fill the cap; held until the test
# creates $T/release (event-driven), or 60 s.  They send a request a header
# line every 0.5 s, so the idle timeout (2 s) does not close them
# meanwhile.  On release python reports which of them the daemon closed,
# then finishes the request of the other.
python3 - "$PORT" "$T/held" "$T/release" > "$T/holder" <<'PY' &
import os, socket, sys, time
socks = []
for _ in range(2):
    socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
    socks[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.2)	# the first is the older
open(sys.argv[2], "w").close()
t = time.time()
closed = [False, False]
while not os.path.exists(sys.argv[3]) and time.time() - t < 60:
    time.sleep(0.5)
    for i, s in enumerate(socks):
        try:
            s.sendall(b"X-Hold: 1\r\n")
        except OSError:
            closed[i] = True
for i, s in enumerate(socks):
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed[i] = True
    except BlockingIOError:
        pass
    except OSError:
        closed[i] = True
print("closed" if closed[0] else "open", "closed" if closed[1] else "open")
s = socks[1]
s.setblocking(True)
s.settimeout(10)
try:
    s.sendall(b"\r\n")
    print(s.recv(4096).split(b" ")[1].decode())
except OSError:
    print("none")
PY
holder=$!
for _ in $(seq 1500); do [ -e "$T/held" ] && break; sleep 0.02; done
# The kernel has completed both handshakes; 1 s for milepostd to accept
# them (asking it, on a third connection, would itself shed one).
sleep 1
r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/healthz")
eq "at the cap a new connection is served" 200 "$r"
touch "$T/release"
wait "$holder"
eq "the oldest held connection was shed for it, the other kept" \
	"closed open" "$(sed -n 1p "$T/holder")"
eq "the kept one's request is then answered" 200 "$(sed -n 2p "$T/holder")"
for _ in $(seq 50); do
	r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/healthz")
	[ "$r" = 200 ] && break
	sleep 0.1
done
eq "below the cap again, connections are served" 200 "$r"

# An idle connection is closed after limits.timeout, freeing its place.
python3 - "$PORT" <<'PY' > "$T/idle"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(6)
t = time.time()
try:
    data = s.recv(1)
except socket.timeout:
    data = None
print("closed" if data == b"" else "open", round(time.time() - t))
PY
read -r state secs < "$T/idle"
eq "an idle connection is closed by the daemon" closed "$state"
# Whole seconds, with margins: at least 1 (not at once), at most 5 (a
# loaded machine fires the 2 s timer late, never early; 6 is "never").
check "after about the timeout (2 s), not at once or never ($secs s)" test "$secs" -ge 1 -a "$secs" -le 5
m=$(curl -s "$URL/metrics")
check "no connection is left counted" grep -q '^milepost_connections 1$' <<<"$m"
stop_daemon TERM
eq "the daemon exits 0 on SIGTERM" 0 "$?"
finish
