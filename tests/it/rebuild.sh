#!/usr/bin/env bash
# tests/it/rebuild.sh: `milepost claims rebuild` replays a ledger that
# already holds later evidence, so derivation must see only what the writer
# saw at each point.  The case fuzz-derive found: a deployment is verified
# (batch 2) before its commit is pushed (batch 3); the writer's milestone
# saw no push for it, and a replay that looked up the commit found the
# later one and wrote no revision, so rebuild reported
# "stored but not rebuilt: Milestone/M-1 revision 2" on correct data.
. "$(dirname "$0")/lib.sh"
plan 7
write_config '
deployments:
  environments: { production: { verify_by: [test] } }
milestones:
  - { id: M-1, tenant: acme, start: "2025-07-01", due: "2025-07-20", environment: production, scope: { services: [shop], issues: [SHOP-7] } }
milestone_rules: { clock: false }'
start_daemon
E() { printf '{"id":"%s","type":"%s","subject":"%s","time":"%s","properties":%s,"links":{"service":"shop"}}' "$@"; }
DEP=shop/production/1111111aaaa
b1="{\"evidence\":[$(E e0 CommitPushed 2222222bbbb 2025-07-04T12:50:00Z '{"sha":"2222222bbbb","ref":"refs/heads/main","milestones":["M-1"]}'),$(E e1 DeploymentSucceeded $DEP 2025-07-04T13:40:00Z "{\"deploymentId\":\"$DEP\",\"service\":\"shop\",\"environment\":\"production\",\"revision\":\"1111111aaaa\"}")]}"
b2="{\"evidence\":[$(E e2 TestRun $DEP 2025-07-04T14:20:00Z "{\"deploymentId\":\"$DEP\",\"status\":\"passed\"}")]}"
b3="{\"evidence\":[$(E e3 CommitPushed 1111111aaaa 2025-07-04T16:00:00Z '{"sha":"1111111aaaa","ref":"refs/heads/main","parents":["4444444dddd"]}')]}"
eq "batch 1 stored" 202 "$(post b1 "$b1" | cut -d' ' -f1)"
eq "batch 2 stored" 202 "$(post b2 "$b2" | cut -d' ' -f1)"
eq "batch 3 stored" 202 "$(post b3 "$b3" | cut -d' ' -f1)"
eq "the writer recorded the verified deployment on M-1 (revision 2)" 2 \
    "$(sqlite3 "$T/ledger.db" "SELECT max(revision) FROM claim_revisions WHERE type = 'Milestone' AND id = 'M-1'")"
out=$("$MILEPOST" claims rebuild -c "$T/milepost.yaml" 2>&1); rc=$?
eq "claims rebuild exits 0" 0 "$rc"
check "claims rebuild finds the claims equal" grep -q "equal to what is stored" <<<"$out"
check "milepostd stops cleanly" stop_daemon
finish
