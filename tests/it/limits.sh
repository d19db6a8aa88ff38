#!/usr/bin/env bash
# limits.max_connections: at the cap the listener pauses (new connections
# wait in the kernel's backlog) and resumes as connections close; held
# connections are still served.  limits.timeout closes idle connections.
. "$(dirname "$0")/lib.sh"
plan 6

write_config "limits: { max_connections: 2, timeout: 2s }"
start_daemon

# Two connections, held open by python, fill the cap; held until the test
# creates $T/release (event-driven, not a 1.2 s window), or 60 s.  They
# send a request a header line every 0.5 s, so the idle timeout (2 s)
# does not close them meanwhile.
python3 - "$PORT" "$T/held" "$T/release" <<'PY' &
import os, socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(2)]
for s in socks:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
open(sys.argv[2], "w").close()
t = time.time()
while not os.path.exists(sys.argv[3]) and time.time() - t < 60:
    time.sleep(0.5)
    for s in socks:
        s.sendall(b"X-Hold: 1\r\n")
for s in socks:
    s.close()
time.sleep(5)
PY
holder=$!
for _ in $(seq 1500); do [ -e "$T/held" ] && break; sleep 0.02; done
# The kernel has completed both handshakes; 1 s for milepostd to accept
# them (nothing can be asked of it at the cap).  A new connection then
# waits unserved; 2 s (whole seconds) is ample to show that.
sleep 1
r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/healthz")
eq "at the cap a new connection is not served" 000 "$r"
touch "$T/release"
# Once the held connections close, the waiting ones are accepted again.
for _ in $(seq 50); do
	r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/healthz")
	[ "$r" = 200 ] && break
	sleep 0.1
done
eq "below the cap again, connections are served" 200 "$r"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

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
