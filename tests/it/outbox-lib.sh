# tests/it/outbox-lib.sh: helpers for the outbox tests: recording sinks
# (tests/it/sink.py) and a claim type that the tests revise at will.
. "$(dirname "$0")/lib.sh"
SINKPIDS=
outbox_cleanup() {
	local rc=$? p
	for p in $SINKPIDS; do kill "$p" 2>/dev/null; done
	(exit $rc)	# cleanup reports the script's status, not kill's
	cleanup
}
trap outbox_cleanup EXIT

# start_sink NAME [ENV=VALUE...]: a recording sink in $T/NAME; sets SINKPORT.
start_sink() {
	local name=$1 i; shift
	mkdir -p "$T/$name"
	env "$@" python3 "$top_srcdir/tests/it/sink.py" "$T/$name" \
	    > "$T/$name/out" 2>&1 &
	SINKPIDS="$SINKPIDS $!"
	for i in $(seq 600); do	# 30 s
		[ -f "$T/$name/port" ] && break
		sleep 0.05
	done
	SINKPORT=$(cat "$T/$name/port")
}

# received NAME: how many requests the sink has recorded.
received() { [ -f "$T/$1/log" ] && wc -l < "$T/$1/log" || echo 0; }

# wait_received NAME N [SECONDS]: until the sink has N requests (default
# 30 s: a generous deadline costs nothing when the test passes).
wait_received() {
	local i n=$(( ${3:-30} * 20 ))
	for i in $(seq $n); do
		[ "$(received "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# field NAME INDEX EXPR: EXPR over request INDEX (0-based) of the sink's
# log, with r the record and b its body parsed as JSON (when it is).
field() {
	python3 - "$T/$1/log" "$2" "$3" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = recs[int(sys.argv[2])]
try:
    b = json.loads(r["body"])
except Exception:
    b = None
print(eval(sys.argv[3]))
PY
}

# The claim type the tests revise: Status, created by StatusOpened and
# revised by StatusSet, on the evidence's subject.
STATUS_TYPES='evidence_types:
  StatusOpened:
    properties:
      state: { type: text, required: true }
  StatusSet:
    properties:
      state: { type: text, required: true }
      progress: { type: integer, required: true }
      note: { type: text, required: true }
claim_types:
  Status:
    properties:
      state: { type: text, required: true }
      progress: { type: integer }
      note: { type: text }
    created_by: { evidence: StatusOpened, set: { state: $state } }
    revised_by:
      - { evidence: StatusSet, set: { state: $state, progress: $progress, note: $note } }'

opened() { "$MILEPOST" emit StatusOpened --subject "$1" "${@:3}" state="$2"; }
set_status() {	# set_status SUBJECT STATE PROGRESS NOTE [emit args]
	"$MILEPOST" emit StatusSet --subject "$1" "${@:5}" state="$2" \
	    progress="$3" note="$4"
}
outbox_status() {	# outbox_status SINK TYPE ID
	sqlite3 "$T/ledger.db" "SELECT status FROM outbox WHERE sink = '$1' AND type = '$2' AND id = '$3';" 2>/dev/null
}
wait_status() {		# wait_status SINK TYPE ID STATUS [SECONDS, default 30]
	local i
	for i in $(seq $(( ${5:-30} * 20 ))); do
		[ "$(outbox_status "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.05
	done
	return 1
}
