#!/usr/bin/env bash
# milepost status (issue 14, point 3): services x environments with state
# and age, open incidents, milestones at risk, gates closed (a freeze
# closes shop/staging); colour only on a terminal; --json; a
# client token sees its tenant only.  And progress (rate, ETA) on a
# terminal for ledger verify and claims rebuild, nothing when piped.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/browser/scenario.sh"
plan 15

SOON=$(date -u -d '+3 days' +%F)
write_config "$(scenario_config "  - { id: M-8, title: \"Card vault\", tenant: acme, due: \"$SOON\",
      environment: production, scope: { services: [payments] } }" | sed 's/^  - { id: M-8/  - { id: M-8/')"
# The extra milestone goes in the milestones: list, before anything after it.
python3 - "$T/milepost.yaml" <<'PY'
import sys, re
p = sys.argv[1]; s = open(p).read()
m8 = re.search(r"  - \{ id: M-8.*?\}\s*\}\n", s, re.S).group(0)
s = s.replace(m8, "")
s = s.replace("environment: production, scope: { services: [shop] } }\n",
              "environment: production, scope: { services: [shop] } }\n" + m8, 1)
open(p, "w").write(s)
PY
# A freeze on shop/staging: the one gate closed.
FROM=$(date -u -d '-1 hour' +%FT%TZ) UNTIL=$(date -u -d '+1 day' +%FT%TZ)
cat >> "$T/milepost.yaml" <<YAML
gates:
  freezes:
    - { reason: "Release freeze", start: "$FROM", end: "$UNTIL",
        services: [shop], environments: [staging] }
YAML
start_daemon
scenario_run
export MILEPOST_TOKEN=$READER_TOKEN

"$MILEPOST" status > "$T/out" 2> "$T/err"; rc=$?
eq "milepost status: exit 0" 0 "$rc"
eq "... a table of services by environment" "SERVICE staging production" "$(head -1 "$T/out" | tr -s ' ' | sed 's/ $//')"
check "... each cell's state and age (shop deployed in both, payments failed with an incident mark)" \
    sh -c "grep -Eq '^shop +deployed [0-9]+s +deployed [0-9]+s' '$T/out' && grep -Eq '^payments +- +failed [0-9]+s !' '$T/out'"
check "... the open incidents" grep -q '^open incidents: payments/production: INC-1' "$T/out"
check "... the milestones at risk (M-8, due in 3 days, nothing verified), not M-7" \
    sh -c "grep -A1 '^milestones at risk:' '$T/out' | grep -q 'M-8 \"Card vault\" at_risk, due $SOON' && ! grep -q 'M-7' '$T/out'"
check "... and the gates closed, each with its reasons (shop/staging: the freeze)" \
    grep -q '^gates closed: shop/staging (freeze: freeze until .*: Release freeze)$' "$T/out"
no_grep -q $'\033\\[' "$T/out"; eq "piped: no colour" 0 $?
script -qec "env MILEPOST_URL=$URL MILEPOST_TOKEN=$READER_TOKEN TERM=xterm $MILEPOST status" /dev/null > "$T/tty" 2>&1
check "on a terminal: colour (failed in red)" grep -q $'\033\\[31mfailed' "$T/tty"
"$MILEPOST" status --json > "$T/resp"; rc=$?
eq "--json: exit 0, every part" "0 gates_closed,incidents,milestones_at_risk,services" \
    "$rc $(json '",".join(sorted(d))')"
eq "... the cells as the API has them, the closed gate as GET /v1/gates answers it" \
    "ledgerly/production=failed payments/production=failed shop/production=deployed shop/staging=deployed shop/staging:False:freeze M-8" \
    "$(json '" ".join(sorted("%s/%s=%s" % (c["service"], c["environment"], c["state"]) for c in d["services"])) + " %s %s" % (",".join("%s/%s:%s:%s" % (g["service"], g["environment"], g["gate"]["open"], "+".join(r["policy"] for r in g["gate"]["reasons"])) for g in d["gates_closed"]), ",".join(m["id"] for m in d["milestones_at_risk"]))')"
MILEPOST_TOKEN=$CLIENT_TOKEN "$MILEPOST" status --json > "$T/resp"
eq "a client token: its tenant's services only" "payments shop" \
    "$(json '" ".join(sorted(set(c["service"] for c in d["services"])))')"

# --- progress -------------------------------------------------------------
"$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db" > "$T/out" 2> "$T/err"
check "ledger verify piped: the verdict, and no progress on stderr" \
    sh -c "grep -q '^ledger intact' '$T/out' && ! grep -q 'entries/s' '$T/err'"
script -qec "$MILEPOST ledger verify --ledger sqlite:$T/ledger.db" /dev/null > "$T/tty" 2>&1
check "ledger verify on a terminal: progress with a rate and an ETA" \
    grep -Eq 'ledger verify: [0-9]+ of [0-9]+ entries \(100%\), [0-9]+ entries/s, ETA 0 s' "$T/tty"
script -qec "$MILEPOST claims rebuild -c $T/milepost.yaml" /dev/null > "$T/tty" 2>&1
check "claims rebuild on a terminal: progress too" \
    grep -Eq 'claims rebuild: [0-9]+ of [0-9]+ entries \(100%\), [0-9]+ entries/s, ETA 0 s' "$T/tty"
check "daemon stops cleanly" stop_daemon
finish
