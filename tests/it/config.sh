#!/usr/bin/env bash
# milepostd -n: a good file passes; every error names file, line and key.
. "$(dirname "$0")/lib.sh"
plan 22

nerr() {	# nerr FILE -> "<exit> <stderr>"
	local out rc
	out=$("$MILEPOSTD" -n -c "$1" 2>&1); rc=$?
	echo "$rc $out"
}
# refuses PATTERN: the last nerr ($r) exited 1 (not 0, not a crash) and its
# message matches PATTERN.
refuses() { [ "${r%% *}" = 1 ] && grep -q -- "$1" <<<"$r"; }
cat > "$T/min.yaml" <<YAML
listen: "127.0.0.1:8780"
ledger: "sqlite:$T/l.db"
agent_secret: "$SECRET"
YAML
r=$(nerr "$T/min.yaml"); eq "a minimal file is valid" 0 "${r%% *}"
check "-n does not create the ledger" test ! -e "$T/l.db"

printf '{"listen": "127.0.0.1:1", "agent_secret": ["%s", "%s"]}\n' "$SECRET" "$SECRET" > "$T/c.json"
r=$(nerr "$T/c.json"); eq "JSON is accepted, with a list of secrets" 0 "${r%% *}"

cat > "$T/bad1.yaml" <<YAML
listen: "127.0.0.1:8780"
agent_secret: "$SECRET"
lisen: "oops"
YAML
r=$(nerr "$T/bad1.yaml")
eq "an unknown key fails with exit 1" 1 "${r%% *}"
check "and names file, line 3 and the key" refuses "bad1.yaml:3: lisen:"

cat > "$T/bad2.yaml" <<YAML
agent_secret: "whsec_not base64!"
YAML
r=$(nerr "$T/bad2.yaml")
check "a bad secret names line 1 and agent_secret" refuses "bad2.yaml:1: agent_secret:"

cat > "$T/bad3.yaml" <<YAML
listen: "127.0.0.1:8780"
evidence_types:
  Deploy:
    properties:
      took: { type: duration }
YAML
r=$(nerr "$T/bad3.yaml")
check "an unknown property type names line 5 and the full key" \
    refuses "bad3.yaml:5: evidence_types.Deploy.properties.took.type:"

cat > "$T/bad4.yaml" <<YAML
limits:
  max_body: "5 parsecs"
YAML
r=$(nerr "$T/bad4.yaml")
check "a bad limit names limits.max_body" refuses "bad4.yaml:2: limits.max_body:"

printf 'listen: [unclosed\n' > "$T/bad5.yaml"
r=$(nerr "$T/bad5.yaml")
eq "a YAML syntax error fails" 1 "${r%% *}"
check "and names the file and a line" refuses "bad5.yaml:[0-9]"

cat > "$T/bad6.yaml" <<YAML
tokens:
  - { token: "short", role: admin }
YAML
r=$(nerr "$T/bad6.yaml")
check "a short token names tokens[0].token" refuses "bad6.yaml:2: tokens\[0\].token:"
r=$(nerr "$T/nonexistent.yaml")
eq "a missing file fails with exit 1" 1 "${r%% *}"

# Claims: every error names the file, the line and the full key.
cat > "$T/cl1.yaml" <<'YAML'
computed_claims:
  X:
    id: "$YYYY"
    trigger: BuildCompleted
    collectors:
      c: { type: BuildFinished, property: duration }
    properties:
      n: { type: integer, expression: count }
YAML
r=$(nerr "$T/cl1.yaml")
eq "an unknown type in a collector fails with exit 1" 1 "${r%% *}"
check "and names line 6 and the collector's type" \
    refuses 'cl1.yaml:6: computed_claims.X.collectors.c.type: unknown evidence or claim type "BuildFinished"'

cat > "$T/cl2.yaml" <<'YAML'
computed_claims:
  X:
    id: "$YYYY"
    trigger: BuildCompleted
    collectors:
      c: { type: BuildCompleted, property: duration }
    properties:
      n: { type: integer, expression: median }
YAML
r=$(nerr "$T/cl2.yaml")
check "an unknown expression names line 8 and the expression" \
    refuses 'cl2.yaml:8: computed_claims.X.properties.n.expression: unknown expression "median"'

cat > "$T/cl3.yaml" <<'YAML'
computed_claims:
  X:
    id: "$YYYY"
    trigger: BuildCompleted
    collectors:
      c: { type: BuildCompleted, property: exitCode }
    properties:
      sla:
        type: percentage
        expression: percentLessThanTimeSpan
        threshold: 500s
YAML
r=$(nerr "$T/cl3.yaml")
check "a threshold on a non-timespan property names line 11 and the threshold" \
    refuses 'cl3.yaml:11: computed_claims.X.properties.sla.threshold: .*exitCode is not one'

cat > "$T/cl4.yaml" <<'YAML'
computed_claims:
  X:
    trigger: BuildCompleted
    id: "$Decade-$YYYY"
    collectors:
      c: { type: BuildCompleted, property: duration }
    properties:
      n: { type: integer, expression: count }
YAML
r=$(nerr "$T/cl4.yaml")
check "an unknown template variable names line 4, the id and \$Decade" \
    refuses 'cl4.yaml:4: computed_claims.X.id: unknown template variable \$Decade'

cat > "$T/cl5.yaml" <<'YAML'
claim_types:
  Deploy:
    properties:
      done: { type: boolean, required: true }
    created_by: { evidence: DeployStarted, set: { done: false } }
YAML
r=$(nerr "$T/cl5.yaml")
check "created_by with an unknown evidence type names line 5 and the key" \
    refuses 'cl5.yaml:5: claim_types.Deploy.created_by.evidence: unknown evidence type "DeployStarted"'

cat > "$T/cl6.yaml" <<'YAML'
claim_types:
  BuildLifecycle:
    properties:
      completed: { type: boolean, required: true }
      duration: { type: timespan }
    created_by: { evidence: BuildStartedEvent, set: { completed: false } }
    revised_by:
      - evidence: BuildCompleted
        set:
          completed: true
          duration: $nope
YAML
r=$(nerr "$T/cl6.yaml")
eq "a set of \$nope fails with exit 1" 1 "${r%% *}"
check "and names line 11, the set rule and \$nope" \
    refuses 'cl6.yaml:11: claim_types.BuildLifecycle.revised_by\[0\].set.duration: the evidence has no property "\$nope"'
r=$(nerr "$top_srcdir/examples/build-lifecycle.yaml")
eq "examples/build-lifecycle.yaml is valid" 0 "${r%% *}"

# The built-in build types work with the minimal file: the real agent
# posts both build events through it.
cp "$T/min.yaml" "$T/milepost.yaml"
sed -i 's/127.0.0.1:8780/127.0.0.1:0/' "$T/milepost.yaml"
start_daemon
"$MILEPOST" run --id cfg-1 -- true
eq "built-in types work with a minimal file" 2 "$(sqlite3 "$T/l.db" 'SELECT count(*) FROM evidence')"
finish
