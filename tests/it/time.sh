#!/usr/bin/env bash
# Time you can trust (issue 11, point 4): event time is bounded by
# limits.max_future_skew (422 naming the field and the bound, from the
# agent and from a tool alike); a commit's date, which its author
# chooses, is a property and never the event time; the milestone clock
# moves only with times that passed that check; only milepostd writes its
# own evidence types.
. "$(dirname "$0")/lib.sh"
plan 28

at() { python3 -c 'import sys,datetime as D; t=D.datetime.now(D.timezone.utc)+D.timedelta(seconds=float(sys.argv[1])); print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$1"; }
GH_SECRET="time-$(head -c 8 /dev/urandom | xxd -p)"
write_config "
sources:
  github: { secret: \"$GH_SECRET\" }
milestones:
  - { id: M-T, tenant: acme, due: \"$(at $((60 * 86400)))\", scope: { services: [shop] } }"
start_daemon
export MILEPOST_TOKEN="$READER_TOKEN"
mstate() {	# the stored Milestone/M-T's latest state and revision
	sqlite3 -separator ' ' "$T/ledger.db" "SELECT json_extract(properties, '\$.state'), revision FROM claim_revisions WHERE type = 'Milestone' AND id = 'M-T' ORDER BY revision DESC LIMIT 1"
}
wait_rev() { for i in $(seq 600); do [ -n "$(mstate)" ] && return 0; sleep 0.05; done; return 1; }	# 30 s
check "the milestone clock stores M-T at start" wait_rev
eq "... on_track: due in 60 days" on_track "$(mstate | cut -d' ' -f1)"
before=$(mstate)

# A GitHub push of a commit dated 2099, in an unrelated repository.
python3 - "$top_srcdir/tests/fixtures/github/push-branch.json" > "$T/push-2099.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["commits"] + [d["head_commit"]]:
    c["timestamp"] = "2099-01-01T00:00:00Z"
print(json.dumps(d))
PY
SHA=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["after"])' "$T/push-2099.json")
r=$(curl -s -o "$T/resp" -w '%{http_code}' -H "X-GitHub-Event: push" \
    -H "X-GitHub-Delivery: d-2099" \
    -H "X-Hub-Signature-256: sha256=$(openssl dgst -sha256 -hmac "$GH_SECRET" -r < "$T/push-2099.json" | cut -d' ' -f1)" \
    -H 'Content-Type: application/json' --data-binary @"$T/push-2099.json" "$URL/hooks/github")
eq "a GitHub push of a commit dated 2099 is stored: 202" 202 "$r"
ev() { sqlite3 "$T/ledger.db" "SELECT $1 FROM evidence WHERE id = 'd-2099.$SHA'"; }
eq "... its event time is the push's: received, stored within a minute" 1 \
    "$(ev "time <= recorded_at AND recorded_at - time < 60000000")"
eq "... its own date stays a property (authorTime)" 2099-01-01T00:00:00Z \
    "$(ev "json_extract(properties, '\$.authorTime')")"
eq "... and it changes no milestone" "$before" "$(mstate)"

# Evidence that touches M-T is evaluated at milepostd's time, not 2099.
"$MILEPOST" emit CommitPushed --subject 1234567 --link repo=acme/shop \
    sha=1234567 'milestones:=["M-T"]'
eq "a commit for M-T: emit exits 0" 0 "$?"
eq "... M-T is re-evaluated (a new revision), still on_track" "on_track $(( ${before#* } + 1 ))" "$(mstate)"
eq "... at a time before 2030, not at 2099" 1 \
    "$(sqlite3 "$T/ledger.db" "SELECT time < 1893456000000000 FROM claim_revisions WHERE type = 'Milestone' AND id = 'M-T' ORDER BY revision DESC LIMIT 1")"

# Agent evidence dated 2099 is refused with a 422 that names the field
# and the bound; nothing is stored or spooled.
n=$(rows)
"$MILEPOST" emit BuildStartedEvent --subject far --time 2099-01-01T00:00:00Z \
    buildId=far 2> "$T/err"
eq "agent evidence dated 2099: emit exits 2 (refused)" 2 "$?"
check "... the receiver's reason names the time, the bound and the key" \
    grep -q "HTTP 422: time 2099-01-01T00:00:00Z is in the future: more than 5m (limits.max_future_skew)" "$T/err"
eq "... nothing stored, nothing spooled" "$n 0" "$(rows) $(ls "$T/spool" 2>/dev/null | wc -l)"
r=$(post far-raw "{\"type\":\"BuildStartedEvent\",\"subject\":\"far\",\"time\":\"$(at 600)\",\"properties\":{\"buildId\":\"far\"}}")
eq "10 minutes ahead is over 5m: 422 with property time" "422 time" "${r%% *} $(json 'd["property"]')"
r=$(post near-raw "{\"type\":\"BuildStartedEvent\",\"subject\":\"near\",\"time\":\"$(at 120)\",\"properties\":{\"buildId\":\"near\"}}")
eq "2 minutes ahead (a skewed runner's clock) is within 5m: 202" 202 "${r%% *}"
r=$(post batch-raw "{\"evidence\":[{\"type\":\"BuildStartedEvent\",\"subject\":\"ok1\",\"properties\":{\"buildId\":\"ok1\"}},{\"type\":\"BuildStartedEvent\",\"subject\":\"far2\",\"time\":\"2099-01-01T00:00:00Z\",\"properties\":{\"buildId\":\"far2\"}}]}")
eq "a batch with one future item is refused whole: 422, naming it" "422 time" "${r%% *} $(json 'd["property"]')"
check "... as evidence[1]" grep -q '"error":"evidence\[1\]: time 2099' "$T/resp"
eq "... and nothing of it is stored" 0 "$(rows "subject IN ('ok1', 'far2')")"

# Only milepostd writes its own evidence types.
"$MILEPOST" emit MilestoneClock --subject milestones at=due milestone=M-T 2> "$T/err"
eq "MilestoneClock from the agent: emit exits 2" 2 "$?"
check "... 422: written only by milepostd" grep -q "HTTP 422: MilestoneClock is written only by milepostd" "$T/err"
r=$(post stall-raw '{"type":"DeploymentStalled","subject":"d1","properties":{"deploymentId":"d1"}}')
eq "DeploymentStalled from the agent: 422 on the type" "422 type" "${r%% *} $(json 'd["property"]')"
eq "... neither is stored" 0 "$(rows "type IN ('MilestoneClock', 'DeploymentStalled') AND source <> 'milepostd'")"
eq "M-T is still on_track" on_track "$(mstate | cut -d' ' -f1)"

# The bound is configurable (limits.max_future_skew) and checked by -n.
check "the daemon exits 0 on SIGTERM" stop_daemon
sed -i 's/^tokens:/limits: { max_future_skew: 1h }\ntokens:/' "$T/milepost.yaml"
start_daemon
r=$(post mid-raw "{\"type\":\"BuildStartedEvent\",\"subject\":\"mid\",\"time\":\"$(at 1800)\",\"properties\":{\"buildId\":\"mid\"}}")
eq "with max_future_skew: 1h, 30 minutes ahead is admitted" 202 "${r%% *}"
r=$(post far3-raw "{\"type\":\"BuildStartedEvent\",\"subject\":\"far3\",\"time\":\"$(at 7200)\",\"properties\":{\"buildId\":\"far3\"}}")
eq "... and 2 hours ahead is not, naming 60m" "422 1" "${r%% *} $(grep -c 'more than 60m (limits.max_future_skew)' "$T/resp")"
check "the daemon exits 0 on SIGTERM" stop_daemon
cp "$T/milepost.yaml" "$T/bad.yaml"
sed -i 's/max_future_skew: 1h/max_future_skew: 2d/' "$T/bad.yaml"
out=$("$MILEPOSTD" -n -c "$T/bad.yaml" 2>&1); rc=$?
eq "-n: max_future_skew over 1d fails with file:line" "1 1" \
    "$rc $(grep -c "bad.yaml:[0-9]*: limits.max_future_skew: must be between 0s and 1d" <<<"$out")"
"$MILEPOST" claims rebuild -c "$T/milepost.yaml" > "$T/rb" 2>&1
eq "claims rebuild gives the same claims, whatever the skew was" 0 "$?"
finish
