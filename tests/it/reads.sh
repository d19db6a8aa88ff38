#!/usr/bin/env bash
# No read scan on the loop (issue 15, point 7).  A client's deployment
# list reads its tenant's claims through the claim_tenant index (the
# index's plan is checked in check_ledger.c), and stays right beside
# 30,000 deployments of another tenant; the delivery metrics (DORA over
# ten years) run on the reader thread: /metrics and /healthz answer while
# such reads are in flight (milepost_reads_in_flight), and every one of
# them is answered.
. "$(dirname "$0")/lib.sh"
plan 12

write_config "tenants: [acme, globex]
environments: [production]
services:
  shop: { tenant: acme, team: web }
  other: { tenant: globex, team: ops }"
start_daemon
for i in 1 2 3; do
	for s in shop other; do
		"$MILEPOST" emit DeploymentStarted --subject "$s-$i" --id "$s-$i" \
		    deploymentId="$s-$i" service="$s" environment=production \
		    revision="$(printf '%s-%s' "$s" "$i" | sha1sum | cut -c1-40)" 2>/dev/null
	done
done
eq "six deployments stored" 6 "$(sqlite3 "$T/ledger.db" "SELECT count(DISTINCT id) FROM claim_revisions WHERE type='Deployment'")"
list() {	# list [QUERY]: the client's deployment list, "service tenant" each
	curl -s -H "Authorization: Bearer $CLIENT_TOKEN" "$URL/v1/deployments${1:-}" > "$T/resp"
	json '" ".join(sorted(x["properties"]["service"] + "/" + x["links"]["tenant"] for x in d["deployments"]))'
}
eq "the client sees its tenant's three" "shop/acme shop/acme shop/acme" "$(list)"
check "SIGTERM: exits 0" stop_daemon

# 30,000 more of globex, as derivation stores them (copies of a stored
# revision, one hour apart over the last 3.4 years), written with sqlite3.
sqlite3 "$T/ledger.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000)
INSERT INTO claim_revisions (type, id, revision, anchor, time, recorded_at, properties, links, basis, about)
SELECT c.type, 'other/production/bulk-' || n.i, 1, c.anchor - n.i * 3600000000, c.time - n.i * 3600000000,
    c.recorded_at, c.properties, c.links, c.basis, c.about
FROM n, (SELECT * FROM claim_revisions WHERE type = 'Deployment' AND id LIKE 'other/%' LIMIT 1) c;"
eq "30,006 deployments in the ledger" 30006 "$(sqlite3 "$T/ledger.db" "SELECT count(DISTINCT id) FROM claim_revisions WHERE type='Deployment'")"
start_daemon
eq "the client still sees exactly its three" "shop/acme shop/acme shop/acme" "$(list)"
eq "and pages through them (limit=2)" "shop/acme shop/acme" "$(list '?limit=2')"

# Twenty reads of the delivery metrics over ten years, at once.
from=$(date -u -d '-3650 days' +%Y-%m-%dT%H:%M:%SZ)
curls=()
for i in $(seq 20); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 300 \
	    -H "Authorization: Bearer $READER_TOKEN" \
	    "$URL/v1/metrics/deployments?from=$from&environment=e$i" > "$T/dora.$i" &
	curls+=($!)
done
inflight() { curl -s --max-time 10 "$URL/metrics" | sed -n 's/^milepost_reads_in_flight //p'; }
seen=0
for i in $(seq 600); do	# 30 s: the reads are queued at once; generous
	n=$(inflight); [ "${n:-0}" -ge 1 ] && { seen=$n; break; }
	sleep 0.05
done
check "/metrics answers while metrics reads are in flight off the loop ($seen)" test "$seen" -ge 1
h=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/healthz")
n=$(inflight)
eq "/healthz answers 200 while they are (still ${n:-?} in flight after it)" "200 1" "$h $([ "${n:-0}" -ge 1 ] && echo 1 || echo 0)"
wait_reads() { for i in $(seq 1200); do [ "$(inflight)" = 0 ] && return 0; sleep 0.05; done; return 1; }
check "every read comes back (in flight: 0)" wait_reads
wait "${curls[@]}"
eq "all twenty are answered 200" 20 "$(cat "$T"/dora.* | grep -cx 200)"
eq "milepost_reads_total counts them" 20 "$(curl -s "$URL/metrics" | sed -n 's/^milepost_reads_total //p')"
check "SIGTERM: exits 0" stop_daemon
finish
