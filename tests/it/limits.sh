#!/usr/bin/env bash
# limits.max_connections: at the cap the listener pauses (new connections
# wait in the kernel's backlog) and resumes as connections close; held
# connections are still served.  limits.timeout closes idle connections.
. "$(dirname "$0")/lib.sh"
plan 6

write_config "limits: { max_connections: 2, timeout: 2s }"
start_daemon

# Two idle connections, held open by python, fill the cap.
python3 - "$PORT" "$T/held" <<'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(2)]
open(sys.argv[2], "w").close()
time.sleep(1.2)
for s in socks:
    s.close()
time.sleep(5)
PY
holder=$!
for _ in $(seq 100); do [ -e "$T/held" ] && break; sleep 0.02; done
sleep 0.2
r=$(curl -s -o /dev/null -w '%{http_code}' --max-time 0.5 "$URL/healthz")
eq "at the cap a new connection is not served" 000 "$r"
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
check "after about the timeout (2 s), not at once or never ($secs s)" test "$secs" -ge 1 -a "$secs" -le 4
m=$(curl -s "$URL/metrics")
check "no connection is left counted" grep -q '^milepost_connections 1$' <<<"$m"
stop_daemon TERM
eq "the daemon exits 0 on SIGTERM" 0 "$?"
finish
