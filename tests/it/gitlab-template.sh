#!/usr/bin/env bash
# plugins/gitlab/milepost.gitlab-ci.yml, run as a GitLab runner runs a job
# that extends .milepost: the job's variables (CI/CD variables and the
# template's) exported; before_script and script in one shell; then
# after_script in a separate shell, which sees the variables but nothing
# the script set; between jobs, the runner's "git clean $GIT_CLEAN_FLAGS".
# - a wrapped command's environment has no MILEPOST_SECRET;
# - the receiver down during the job: after_script sends what was spooled;
# - after_script skipped (a timeout): the next job's before_script sends it,
#   since the template's GIT_CLEAN_FLAGS keep .milepost/;
# - a job's own after_script with README.md's !reference still flushes.
. "$(dirname "$0")/lib.sh"
plan 17

start_daemon
P="$T/proj"
mkdir -p "$P" "$T/bin"
ln -sf "$MILEPOST" "$T/bin/milepost"
git -C "$P" init -q -b main
git -C "$P" -c user.name=it -c user.email=it@example.invalid commit -q --allow-empty -m init

# The template's parts, and the README's job with its own after_script
# (!reference resolved, nested lists flattened, as GitLab does).
python3 - "$top_srcdir/plugins/gitlab/milepost.gitlab-ci.yml" \
    "$top_srcdir/plugins/gitlab/README.md" "$T" 2> "$T/yaml.err" <<'PY'
import re, shlex, sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
m = t[".milepost"]
out = sys.argv[3]
with open(out + "/vars.sh", "w") as f:
    for k, v in m["variables"].items():
        f.write("export %s=\"%s\"\n" % (k, v))
open(out + "/before.sh", "w").write("\n".join(m["before_script"]) + "\n")
open(out + "/after.sh", "w").write("\n".join(m["after_script"]) + "\n")

class L(yaml.SafeLoader):
    pass
def ref(loader, node):
    v = t
    for k in loader.construct_sequence(node):
        v = v[k]
    return v
L.add_constructor("!reference", ref)
def flat(x):
    return [z for y in x for z in (flat(y) if isinstance(y, list) else [y])]
readme = open(sys.argv[2]).read()
blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
job = [b for b in blocks if "!reference [.milepost, after_script]" in b][0]
j = yaml.load(job, Loader=L)
name = [k for k in j if isinstance(j[k], dict) and "after_script" in j[k]][0]
open(out + "/own-after.sh", "w").write("\n".join(flat(j[name]["after_script"])) + "\n")
PY
eq "the template and README.md's job read with python3's yaml (exit 0)" 0 "$?"
sed 's/^/# /' "$T/yaml.err"

# job ID SCRIPT: before_script and SCRIPT in one shell, in $P (PATH: the
# agent's, or $JOBPATH).
job() {
	printf '%s\n' "$2" > "$T/script.sh"
	(cd "$P" && env PATH="${JOBPATH:-$T/bin:$PATH}" CI_PROJECT_DIR="$P" CI_JOB_ID="$1" \
	    MILEPOST_URL="$URL" MILEPOST_SECRET="$SECRET" \
	    sh -e -c '. "$1"; . "$2"; . "$3"' job "$T/vars.sh" "$T/before.sh" "$T/script.sh")
}
# after FILE: an after_script, in its own shell.
after() {
	(cd "$P" && env PATH="$T/bin:$PATH" CI_PROJECT_DIR="$P" CI_JOB_ID=0 \
	    MILEPOST_URL="$URL" MILEPOST_SECRET="$SECRET" \
	    sh -e -c '. "$1"; . "$2"' after "$T/vars.sh" "$1")
}
clean() {	# the runner's clean before the next job (GIT_STRATEGY fetch)
	(. "$T/vars.sh" 2>/dev/null; cd "$P" && git clean -q $GIT_CLEAN_FLAGS)
}
spooled() {
	find "$P/.milepost/spool" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null | wc -l
}
ev() {
	sqlite3 "$T/ledger.db" "SELECT count(*) FROM evidence WHERE subject='$1'"
}

# A: the receiver is up.
job 101 "milepost run -- sh -c 'env > \"$T/env-101\"'" > "$T/job.out" 2>&1
eq "up: the job passes, both evidence for CI_JOB_ID 101" "0 2" "$? $(ev 101)"
check "up: the wrapped command printed the job's environment" grep -q '^CI_JOB_ID=101$' "$T/env-101"
check "up: ... without MILEPOST_SECRET" no_grep -e '^MILEPOST_SECRET=' -e "$SECRET" "$T/env-101"

# Without the agent: the command runs, without MILEPOST_SECRET, with its
# status.
JOBPATH=/usr/bin:/bin job 100 "milepost run -- sh -c 'env > \"$T/env-100\"; exit 3'" > "$T/job.out" 2>&1
eq "no agent: the job exits with the command's status (3), with a warning" "3 1" \
    "$? $(grep -c 'agent is not installed' "$T/job.out")"
check "no agent: the command's environment has no MILEPOST_SECRET" \
    no_grep -e '^MILEPOST_SECRET=' -e "$SECRET" "$T/env-100"

# B: down during the job, up again for after_script.
check "the receiver stops" stop_daemon
job 102 "milepost run -- sh -c 'exit 2'" > "$T/job.out" 2>&1
eq "down: the job fails with the command's status (2)" 2 "$?"
eq "down: both evidence are spooled in the build directory" 2 "$(spooled)"
start_daemon
after "$T/after.sh" > "$T/after.out" 2>&1
eq "after_script, in its own shell, passes" 0 "$?"
eq "after_script sent them: both evidence for 102, spool empty" "2 0" "$(ev 102) $(spooled)"

# C: after_script skipped (the job timed out); the next job sends it.
stop_daemon
job 103 "milepost run -- true" > "$T/job.out" 2>&1
clean
eq "skipped after_script: the runner's clean with the template's GIT_CLEAN_FLAGS keeps the spool" \
    2 "$(spooled)"
start_daemon
job 104 "true" > "$T/job.out" 2>&1
eq "the next job passes and its before_script sent 103's evidence" "0 2" "$? $(ev 103)"
eq "... the spool is empty" 0 "$(spooled)"

# D: a job with its own after_script, README.md's !reference form.
check "README.md's job after_script starts with the template's flush" \
    grep -q 'milepost flush' "$T/own-after.sh"
stop_daemon
job 105 "milepost run -- true" > "$T/job.out" 2>&1
start_daemon
after "$T/own-after.sh" > "$T/after.out" 2>&1
eq "its own after_script passes and sends 105's evidence" "0 2 0" "$? $(ev 105) $(spooled)"
check "milepostd stops cleanly" stop_daemon
finish
