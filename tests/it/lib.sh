# tests/it/lib.sh: helpers for the integration tests.  Each test starts the
# real milepostd on a random loopback port with its own ledger, and drives
# it with the real agent, curl, openssl and sqlite3.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
MILEPOSTD="$top_builddir/milepostd"
MILEPOST="$top_builddir/milepost"
T=$(mktemp -d /tmp/mp-it.XXXXXX)
DPID=
fails=0
passes=0
PLANNED=
FINISHED=
SECRET="whsec_$(head -c 32 /dev/urandom | base64)"
READER_TOKEN="reader-token-$(head -c 8 /dev/urandom | xxd -p)"
ADMIN_TOKEN="admin-token-$(head -c 8 /dev/urandom | xxd -p)"
CLIENT_TOKEN="client-token-$(head -c 8 /dev/urandom | xxd -p)"
export MILEPOST_SECRET="$SECRET" MILEPOST_SPOOL="$T/spool"
unset MILEPOST_URL MILEPOST_TOKEN GITHUB_RUN_ID BUILD_TAG CI_JOB_ID

# The backend.  By default SQLite ($T/ledger.db).  With MILEPOST_TEST_PG set
# (a base URL from tests/harness/pg, as script/test's PostgreSQL suite
# does), the script gets a database of its own on that real PostgreSQL,
# created here and dropped at exit; `sqlite3 "$T/ledger.db" SQL` then runs
# SQL there through psql (same output: '|' between columns; the few SQLite
# functions the scripts use are defined there, for the tests only), and the
# agent's `--ledger sqlite:$T/ledger.db` names it.  The scripts listed in
# tests/it/sqlite-only (each with its reason) stay on SQLite, and say so.
LEDGER_URL="sqlite:$T/ledger.db"
PGDB=
PG_BASE=
PG_OWN=
# pg_newdb BASE: a new database of this script's own on the PostgreSQL at
# BASE (dropped at exit); sets PG_BASE, PGDB and LEDGER_URL.
pg_newdb() {
	PG_BASE=$1
	PGDB="mp_$(basename "$0" .sh | tr -c 'a-z0-9\n' _)_$$"
	psql "$PG_BASE/postgres" -qAt -v ON_ERROR_STOP=1 \
	    -c "CREATE DATABASE $PGDB" || {
		echo "# lib.sh: cannot create database $PGDB"; exit 1; }
	LEDGER_URL="$PG_BASE/$PGDB"
	psql "$LEDGER_URL" -qAt -v ON_ERROR_STOP=1 > /dev/null <<'SQL' || {
CREATE FUNCTION gc_step(acc text, v anyelement, sep text) RETURNS text
 LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN v IS NULL THEN acc
 WHEN acc IS NULL THEN v::text ELSE acc || sep || v::text END $$;
CREATE FUNCTION gc_step(acc text, v anyelement) RETURNS text
 LANGUAGE sql IMMUTABLE AS $$ SELECT gc_step(acc, v, ',') $$;
CREATE AGGREGATE group_concat(anyelement) (SFUNC = gc_step, STYPE = text);
CREATE AGGREGATE group_concat(anyelement, text) (SFUNC = gc_step,
 STYPE = text);
CREATE FUNCTION json_extract(j text, p text) RETURNS text LANGUAGE sql
 IMMUTABLE AS $$ SELECT CASE json_typeof(v) WHEN 'boolean' THEN CASE WHEN
 v::text = 'true' THEN '1' ELSE '0' END ELSE v #>> '{}' END FROM (SELECT
 (j::json) #> string_to_array(nullif(substr(p, 3), ''), '.') AS v) AS x $$;
CREATE FUNCTION json_type(j text, p text) RETURNS text LANGUAGE sql
 IMMUTABLE AS $$ SELECT CASE jsonb_typeof(v) WHEN 'number' THEN CASE WHEN
 v #>> '{}' ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END WHEN 'string'
 THEN 'text' WHEN 'boolean' THEN v #>> '{}' ELSE jsonb_typeof(v) END FROM
 (SELECT (j::jsonb) #> string_to_array(nullif(substr(p, 3), ''), '.') AS v)
 AS x $$;
CREATE FUNCTION hex(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
 $$ SELECT upper(encode(b, 'hex')) $$;
CREATE FUNCTION printf(f text, a text, b bigint) RETURNS text LANGUAGE sql
 IMMUTABLE AS $$ SELECT replace(replace(f, '%s', a), '%06d',
 lpad(b::text, 6, '0')) $$;
CREATE FUNCTION strftime(f text, t bigint, m text) RETURNS text
 LANGUAGE sql IMMUTABLE AS $$ SELECT replace(replace(replace(replace(
 replace(replace(f, '%Y', to_char(ts, 'YYYY')), '%m', to_char(ts, 'MM')),
 '%d', to_char(ts, 'DD')), '%H', to_char(ts, 'HH24')), '%M',
 to_char(ts, 'MI')), '%S', to_char(ts, 'SS')) FROM (SELECT to_timestamp(t)
 AT TIME ZONE 'UTC' AS ts) AS x $$;
CREATE VIEW sqlite_master AS SELECT table_name::text AS name,
 'table'::text AS type FROM information_schema.tables
 WHERE table_schema = 'public' AND table_name <> 'sqlite_master';
SQL
		echo "# lib.sh: cannot prepare database $PGDB"; exit 1; }
}
# pg_need [own]: the PostgreSQL of a pg-*.sh script: the suite's when
# MILEPOST_TEST_PG is set, else (or with "own", for a script that stops
# the server) a private one started here and stopped at exit.  Either way
# LEDGER_URL is then a database of this script's own on it.
pg_need() {
	if [ -n "$PGDB" ] && [ "${1:-}" != own ]; then
		return 0
	fi
	if [ -n "$PGDB" ]; then
		psql "$PG_BASE/postgres" -qAt -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1
		PGDB=
	fi
	PG_OWN=$(mktemp -d /tmp/mp-pg.XXXXXX)
	local base
	base=$("$top_srcdir/tests/harness/pg" start "$PG_OWN") || {
		echo "# lib.sh: cannot start PostgreSQL (tests/harness/pg)"; exit 1; }
	pg_newdb "$base"
}
if [ -n "${MILEPOST_TEST_PG:-}" ]; then
	SQLITE_ONLY=$(awk -v s="$(basename "$0")" '$1 == s { $1 = ""; sub(/^ /, ""); print }' \
	    "$(dirname "$0")/sqlite-only")
	if [ -n "$SQLITE_ONLY" ]; then
		echo "# lib.sh: on SQLite, not PostgreSQL: $SQLITE_ONLY"
	else
		pg_newdb "$MILEPOST_TEST_PG"
		sqlite3() {
			local sep='|'
			if [ "$#" -ge 4 ] && [ "$1" = -separator ]; then
				sep=$2; shift 2
			fi
			if [ "$#" -ge 2 ] && [ "$1" = "$T/ledger.db" ]; then
				printf '%s\n' "$2" | python3 "$top_srcdir/tests/it/pg-sql.py" |
				    psql "$LEDGER_URL" -qAt -F"$sep" -v ON_ERROR_STOP=1 -f -
			else
				command sqlite3 ${sep:+-separator "$sep"} "$@"
			fi
		}
		# rm of the SQLite ledger (a script starting afresh): a new
		# database in its place.
		rm() {
			local a
			for a in "$@"; do
				case $a in "$T/ledger.db"*)
					psql "$PG_BASE/postgres" -qAt -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null
					pg_newdb "$PG_BASE"
					break ;;
				esac
			done
			command rm "$@"
		}
		# The agent, with the SQLite URL of the ledger mapped to it.
		cat > "$T/milepost" <<EOF
#!/usr/bin/env bash
a=()
for x in "\$@"; do
	[ "\$x" = "sqlite:$T/ledger.db" ] && x="$LEDGER_URL"
	a+=("\$x")
done
exec "$MILEPOST" "\${a[@]}"
EOF
		chmod 700 "$T/milepost"
		MILEPOST="$T/milepost"
	fi
fi

cleanup() {
	local rc=$?
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	wait 2>/dev/null
	[ -z "$PGDB" ] || psql "$PG_BASE/postgres" -qAt \
	    -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" >/dev/null 2>&1
	[ -z "$PG_OWN" ] || "$top_srcdir/tests/harness/pg" stop "$PG_OWN"
	rm -rf "$T"
	# An exit before finish (a crash, set -e, an early exit 0) is a failure,
	# whatever the status: the harness finds no summary line and fails it.
	if [ -z "$FINISHED" ]; then
		echo "# lib.sh: exited (status $rc) before finish, after $((passes + fails)) of ${PLANNED:-?} planned checks"
		exit 1
	fi
}
trap cleanup EXIT

ok() { passes=$((passes + 1)); echo "ok - $*"; }
not_ok() { fails=$((fails + 1)); echo "not ok - $*"; }
check() {	# check DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
eq() {		# eq DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: expected [$2], got [$3]"; fi
}
# Negative checks that prove their command ran.  "! cmd | grep -q X" and
# "! grep -q X FILE" pass when cmd crashes or FILE is missing; these do not.
# no_grep GREP-ARGS... FILE...: grep finds nothing (status 1; 2, an error
# such as a missing file, fails).
no_grep() {
	local rc=0
	grep -q "$@" || rc=$?
	[ "$rc" -eq 1 ]
}
# cmd_lacks PATTERN COMMAND...: COMMAND exits 0 and its output has no line
# matching PATTERN.
cmd_lacks() {
	local pat=$1 out rc=0; shift
	out=$("$@") || rc=$?
	if [ "$rc" -ne 0 ]; then echo "# cmd_lacks: $1 exited $rc"; return 1; fi
	no_grep -e "$pat" <<<"$out"
}
# same DESCRIPTION A B: A and B are equal and not empty (two missing
# fields are not "the same").
same() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: [$2] vs [$3]"; fi
}
# differs DESCRIPTION A B: A and B are both there and differ.
differs() {
	if [ -n "$2" ] && [ -n "$3" ] && [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1: [$2] vs [$3]"; fi
}
# refused DB SQL MESSAGE: sqlite3 fails on SQL, with MESSAGE (a trigger's).
refused() {
	local out rc=0
	out=$(sqlite3 "$1" "$2" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && grep -qF -- "$3" <<<"$out"
}

# plan N: the number of checks this script runs, printed as TAP's 1..N
# before the first.  finish fails the script when the count differs, and
# tests/harness/lib.sh counts every planned check that did not run as a
# failure.  Change N with the checks, never to make a run pass.
plan() {
	PLANNED=$1
	echo "1..$1"
}
finish() {
	if [ -z "$PLANNED" ]; then
		not_ok "the script declares no plan"
	elif [ $((passes + fails)) -ne "$PLANNED" ]; then
		not_ok "plan: $PLANNED checks planned, $((passes + fails)) run"
	fi
	echo "$passes passed, $fails failed"
	FINISHED=1
	[ "$fails" -eq 0 ]
	exit $?
}

# oracle DESCRIPTION N COMMAND...: COMMAND (a python or node helper) prints
# "ok - ..." and "not ok - ..." lines, each a check, N of them when it works.
# When it exits non-zero, prints nothing or prints anything else, that is a
# failed check with its stderr shown, and any of the N checks it did not
# print are failed too, so the count stays the plan's.
oracle() {
	local d=$1 n=$2 rc=0 line got=0 bad=0; shift 2
	"$@" > "$T/oracle.out" 2> "$T/oracle.err" || rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }"; got=$((got + 1)) ;;
		"not ok - "*) not_ok "${line#not ok - }"; got=$((got + 1)) ;;
		*) bad=$((bad + 1)); echo "# $d: oracle printed: $line" ;;
		esac
	done < "$T/oracle.out"
	if [ "$rc" -ne 0 ] || [ "$got" -eq 0 ] || [ "$bad" -ne 0 ] || [ "$got" -lt "$n" ]; then
		sed "s/^/# $d: oracle stderr: /" "$T/oracle.err"
		not_ok "$d: the oracle failed (exit $rc, $got of $n checks, $bad other lines)"
		got=$((got + 1))
		while [ "$got" -lt "$n" ]; do
			not_ok "$d: a check the oracle did not make"
			got=$((got + 1))
		done
	fi
}

# write_config [EXTRA-YAML]: the configuration every test starts from.
write_config() {
	cat > "$T/milepost.yaml" <<YAML
listen: "127.0.0.1:${PORT:-0}"
ledger: "$LEDGER_URL"
agent_secret: "$SECRET"
tokens:
  - { token: "$READER_TOKEN", role: reader }
  - { token: "$ADMIN_TOKEN", role: admin }
  - { token: "$CLIENT_TOKEN", role: client, tenant: acme }
${1:-}
YAML
}

# start_daemon: start milepostd and wait until it serves; sets PORT, URL.
start_daemon() {
	[ -f "$T/milepost.yaml" ] || write_config
	: > "$T/milepostd.log"
	"$MILEPOSTD" -c "$T/milepost.yaml" 2>>"$T/milepostd.log" &
	DPID=$!
	# A generous deadline (30 s: a loaded machine, under ASan), then the
	# script fails loudly: every later check would be about nothing.
	local deadline=$(( $(date +%s) + ${START_DEADLINE:-30} ))
	while :; do
		PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/milepostd.log" | tail -1)
		[ -n "$PORT" ] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/healthz" && break
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID"
			not_ok "start_daemon: milepostd exited ($?) before serving; its log:"
			sed 's/^/# /' "$T/milepostd.log"
			DPID=
			finish
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			not_ok "start_daemon: milepostd not serving after ${START_DEADLINE:-30} s; its log:"
			sed 's/^/# /' "$T/milepostd.log"
			finish
		fi
		sleep 0.05
	done
	URL="http://127.0.0.1:$PORT"
	export MILEPOST_URL="$URL"
	# Keep the port on restart, so the agent's URL stays right.
	sed -i "s/^listen: .*/listen: \"127.0.0.1:$PORT\"/" "$T/milepost.yaml"
}

# stop_daemon [SIGNAL]: returns the daemon's exit status (under ASan, a
# leak found at exit makes it non-zero).
stop_daemon() {
	local rc=0
	[ -n "$DPID" ] || return 0
	kill -"${1:-TERM}" "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null || rc=$?
	DPID=
	return $rc
}

# sign ID TS BODY: the Standard Webhooks v1 signature, made with openssl.
sign() {
	local hex
	hex=$(printf '%s' "${SECRET#whsec_}" | base64 -d | xxd -p -c 256)
	printf '%s' "$1.$2.$3" | openssl dgst -sha256 -mac HMAC \
	    -macopt "hexkey:$hex" -binary | base64
}

# post ID BODY [CURL-ARGS...]: signed POST /v1/evidence; prints
# "<status> <body>" on one line.
post() {
	local id=$1 body=$2 ts; shift 2
	ts=$(date +%s)
	curl -s -o "$T/resp" -w '%{http_code}' -H "webhook-id: $id" \
	    -H "webhook-timestamp: $ts" \
	    -H "webhook-signature: v1,$(sign "$id" "$ts" "$body")" \
	    -H 'Content-Type: application/json' --data-binary "$body" "$@" \
	    "$URL/v1/evidence"
	printf ' %s\n' "$(tr -d '\n' < "$T/resp")"
}

# rows [WHERE]: evidence rows in the ledger, read with sqlite3.
rows() {
	sqlite3 "$T/ledger.db" "SELECT count(*) FROM evidence ${1:+WHERE $1};"
}

# json FILTER: a field of the last response (python3's json, not ours).
json() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$T/resp" "$1"
}
