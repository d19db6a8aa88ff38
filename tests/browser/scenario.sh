# tests/browser/scenario.sh: sourced after tests/it/lib.sh.  The catalog,
# a milestone and a small story told through the real agent, for the
# dashboard's tests: two tenants, three services, staging and production,
# a failed deployment with an incident, a release in two regions of which
# one failed.
scenario_config() {	# the YAML added to write_config's
	cat <<YAML
deployments: { timeout: 100000h }
tenants: [acme, globex]
environments: [staging, production]
services:
  shop:     { tenant: acme, team: web, tier: 1 }
  payments: { tenant: acme, team: pay, tier: 1 }
  ledgerly: { tenant: globex, team: core, tier: 2 }
milestones:
  - { id: M-7, title: "Checkout v2", tenant: acme, due: "2099-12-31",
      environment: production, scope: { services: [shop] } }
${1:-}
YAML
}
SHA1=9fceb02d0ae598e95dc970b74767f19372d61af8
SHA2=4e2a1c0b9d8f7e6a5b4c3d2e1f0a9b8c7d6e5f40
SHA3=1f2e3d4c5b6a79880716253443526170a9b8c7d6
scenario_deploy() {	# ID SERVICE ENV REVISION OUTCOME(Succeeded|Failed|Started) [PROP=V…]
	"$MILEPOST" emit "Deployment$5" --subject "$1" --id "$5-$1" \
	    deploymentId="$1" service="$2" environment="$3" revision="$4" \
	    "${@:6}" > /dev/null
}
scenario_run() {
	scenario_deploy d1 shop staging $SHA1 Started
	scenario_deploy d1 shop staging $SHA1 Succeeded
	scenario_deploy d2 shop production $SHA1 Started
	scenario_deploy d2 shop production $SHA1 Succeeded
	scenario_deploy d3 payments production $SHA2 Started
	scenario_deploy d3 payments production $SHA2 Failed
	scenario_deploy d4 ledgerly production $SHA3 Started
	scenario_deploy d4 ledgerly production $SHA3 Succeeded
	# Release 2026.1 of ledgerly, in two regions: one deployed, one failed.
	scenario_deploy d5 ledgerly production $SHA2 Started release=2026.1 region=eu-west
	scenario_deploy d5 ledgerly production $SHA2 Succeeded release=2026.1 region=eu-west
	scenario_deploy d6 ledgerly production $SHA2 Started release=2026.1 region=us-east
	scenario_deploy d6 ledgerly production $SHA2 Failed release=2026.1 region=us-east
	"$MILEPOST" emit IncidentOpened --subject INC-1 --id inc-1-open \
	    incidentId=INC-1 service=payments \
	    severity=high title="Card payments failing" \
	    --link environment=production > /dev/null
}
