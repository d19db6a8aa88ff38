#!/usr/bin/env bash
# The spool's crash safety (agent/spool.c): a crash while the agent
# writes a spool file never leaves a partial file that a later flush
# sends.  Two honest ways to land it inside the write, with no test code
# in the agent: a poller sends kill -9 the moment the agent's temporary
# file appears (the evidence is large, 1.8 MB, so the write and its fsync
# take a while; the poller checks that the kill came before the rename);
# and a file size limit (ulimit -f 1024), which makes the kernel kill the
# agent with SIGXFSZ after exactly 1 MiB of the write.  A temporary file
# is never listed, counted or sent; once stale (over an hour old) a flush
# removes it.
. "$(dirname "$0")/lib.sh"
plan 12

export MILEPOST_URL="http://127.0.0.1:1"	# refused: the agent spools
big=$(head -c 90000 /dev/zero | tr '\0' x)
args=()
for i in $(seq 20); do args+=("p$i=$big"); done

# landkill DIR: start milepost emit, kill -9 it once a .tmp- file is in
# DIR; prints "<tries> <tmp size>" once a kill left a partial one.
cat > "$T/landkill.py" <<'PY'
import os, signal, subprocess, sys, time
d, argv = sys.argv[1], sys.argv[2:]
for tries in range(1, 51):
    before = set(os.listdir(d)) if os.path.isdir(d) else set()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = None
    while p.poll() is None:
        names = os.listdir(d) if os.path.isdir(d) else []
        new = [n for n in names if n.startswith(".tmp-") and n not in before]
        if new:
            os.kill(p.pid, signal.SIGKILL)
            tmp = new[0]
            break
    p.wait()
    if tmp is not None and os.path.exists(os.path.join(d, tmp)):
        print(tries, os.path.getsize(os.path.join(d, tmp)))
        sys.exit(0)
    for n in os.listdir(d):	# a kill that came too late: start afresh
        if not n.startswith(".") or n.startswith(".tmp-"):
            os.unlink(os.path.join(d, n))
sys.exit(1)
PY
res=$(python3 "$T/landkill.py" "$MILEPOST_SPOOL" "$MILEPOST" emit BuildStartedEvent --id crash-1 buildId=b1 "${args[@]}"); rc=$?
echo "# kill landed after $res (tries, bytes written)"
eq "a kill -9 landed inside a spool write (before its rename)" 0 "$rc"
read -r tries size <<<"$res"
check "it left its temporary file (${size:-?} bytes)" test -n "$size"
(ulimit -f 1024; exec "$MILEPOST" emit BuildStartedEvent --id crash-2 buildId=b1 "${args[@]}") 2>/dev/null; rc=$?
eq "ulimit -f 1024: the kernel kills the agent mid-write (SIGXFSZ)" 153 "$rc"
eq "two temporary files are left, one of exactly 1 MiB" "2 1048576" \
    "$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '.tmp-*' | wc -l) $(find "$MILEPOST_SPOOL" -maxdepth 1 -name '.tmp-*' -size 1024k -printf '%s\n' | head -1)"
check "and no spooled evidence" test "$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '[0-9]*.json' | wc -l)" -eq 0
tmps=$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '.tmp-*' | sort | tr '\n' ' ')

start_daemon || exit 1
"$MILEPOST" flush 2>"$T/err"; rc=$?
eq "flush: nothing to send (exit 0)" 0 "$rc"
check "saying so" grep -q "nothing spooled" "$T/err"
# One whole spooled evidence beside the partial file: flush sends it alone.
MILEPOST_URL="http://127.0.0.1:1" "$MILEPOST" emit BuildStartedEvent --id whole-1 buildId=b2 2>/dev/null
"$MILEPOST" flush 2>"$T/err"; rc=$?
eq "flush sends the whole one (exit 0)" "0 1 whole-1" "$rc $(rows) $(sqlite3 "$T/ledger.db" 'SELECT id FROM evidence')"
check "the temporary files are kept while fresh (each may be a write in progress)" ls $tmps
touch -d '2 hours ago' $tmps
MILEPOST_URL="http://127.0.0.1:1" "$MILEPOST" emit BuildStartedEvent --id whole-2 buildId=b3 2>/dev/null
"$MILEPOST" flush 2>"$T/err"; rc=$?
eq "the next flush sends only whole evidence" "0 2" "$rc $(rows)"
eq "and removes the stale temporary files" 0 "$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '.tmp-*' | wc -l)"
check "daemon stops cleanly" stop_daemon
finish
