#!/usr/bin/env bash
# Files that stay private (issue 15, point 5): the ledger, its WAL and its
# shared-memory file are created 0600 under umask 022 (0640 with
# ledger_mode: "0640"); a configuration that holds secrets and that others
# may read is warned about at start-up; the agent refuses a spool
# directory that others can write to, with a message saying why.
. "$(dirname "$0")/lib.sh"
plan 20

mode() { stat -c %a "$1" 2>/dev/null || echo missing; }

# The ledger under umask 022: 0600 for the file, its WAL and its SHM.
umask 022
write_config
chmod 600 "$T/milepost.yaml"
start_daemon
"$MILEPOST" emit BuildStartedEvent --subject p-1 buildId=p-1 2>/dev/null; rc=$?
eq "emit is accepted (exit 0)" 0 "$rc"
eq "the ledger is created 0600 under umask 022" 600 "$(mode "$T/ledger.db")"
eq "its WAL is 0600" 600 "$(mode "$T/ledger.db-wal")"
eq "its shared-memory file is 0600" 600 "$(mode "$T/ledger.db-shm")"
eq "a file made beside it under the same umask is 0644 (the umask is 022)" 644 \
    "$(touch "$T/control"; mode "$T/control")"
check "a 0600 configuration with secrets is not warned about" \
    no_grep "readable by others" "$T/milepostd.log"
check "SIGTERM: exits 0" stop_daemon

# ledger_mode: "0640": the group may read, others may not.
sed -i "s|^ledger: .*|ledger: \"sqlite:$T/group.db\"\nledger_mode: \"0640\"|" "$T/milepost.yaml"
start_daemon
"$MILEPOST" emit BuildStartedEvent --subject p-2 buildId=p-2 2>/dev/null
eq "with ledger_mode 0640 the ledger is 0640" 640 "$(mode "$T/group.db")"
eq "and its WAL is 0640" 640 "$(mode "$T/group.db-wal")"
check "SIGTERM: exits 0" stop_daemon
cp "$T/milepost.yaml" "$T/mode.yaml"
sed -i 's|^ledger_mode: .*|ledger_mode: "0644"|' "$T/mode.yaml"
"$MILEPOSTD" -n -c "$T/mode.yaml" 2>"$T/err"; rc=$?
eq "ledger_mode 0644 is refused at its line, with the valid values" \
    "1 $T/mode.yaml:3: ledger_mode:" "$rc $(grep -o "^milepostd: [^ ]* ledger_mode:" "$T/err" | sed 's/^milepostd: //')"

# A configuration that holds secrets, readable by others: warned about.
chmod 644 "$T/milepost.yaml"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2>"$T/err"; rc=$?
eq "-n still accepts the file (exit 0)" 0 "$rc"
check "a 0644 configuration holding secrets is warned about, with its mode" \
    grep -q "milepost.yaml is readable by others (mode 0644) and holds secrets" "$T/err"
chmod 640 "$T/milepost.yaml"
"$MILEPOSTD" -n -c "$T/milepost.yaml" 2>"$T/err"
check "at 0640 there is no warning" no_grep "readable by others" "$T/err"

# The agent's spool: a directory others can write to is refused.
export MILEPOST_URL="http://127.0.0.1:9"	# nothing listens: spool
mkdir -m 0777 "$T/open"; chmod 0777 "$T/open"
MILEPOST_SPOOL="$T/open" "$MILEPOST" emit BuildStartedEvent --subject s-1 \
    buildId=s-1 2>"$T/err"
check "emit refuses a 0777 spool directory, saying why" \
    grep -q "spool: $T/open is writable by others (mode 0777): refusing it" "$T/err"
eq "nothing is written into it" 0 "$(find "$T/open" -mindepth 1 | wc -l)"
eq "emit exits 1: the evidence is lost, and it says so" "1 1" \
    "$(MILEPOST_SPOOL="$T/open" "$MILEPOST" emit BuildStartedEvent \
    --subject s-1 buildId=s-1 2>"$T/err"; echo $?) $(grep -c "is lost" "$T/err")"
# Someone else planted evidence in it: flush refuses to send it.
printf '{"type":"BuildStartedEvent","id":"planted","subject":"x","properties":{"buildId":"x"}}' \
    > "$T/open/0000000000000001-planted.json"
MILEPOST_SPOOL="$T/open" "$MILEPOST" flush 2>"$T/err"; rc=$?
eq "flush refuses it too (exit 1, with the reason)" "1 1" \
    "$rc $(grep -c "is writable by others (mode 0777): refusing it" "$T/err")"
check "the planted file is still there, unsent" test -f "$T/open/0000000000000001-planted.json"
mkdir -m 0700 "$T/mine"
MILEPOST_SPOOL="$T/mine" "$MILEPOST" emit BuildStartedEvent --subject s-2 \
    buildId=s-2 2>/dev/null
eq "a 0700 spool directory is used (1 evidence spooled)" 1 \
    "$(find "$T/mine" -maxdepth 1 -name '[0-9]*.json' | wc -l)"
finish
