#!/usr/bin/env bash
# plugins/github/action.yml, its steps run under bash the way the runner
# runs a composite action (tests/it/action-run.py: step by step, outputs,
# PATH, if:, actions/cache restore and save on a local directory):
# - a cache miss builds (script/setup stubbed: the build copies the agent
#   built here), saves the cache before the command runs, so a failing
#   command still leaves it saved, and keeps the command's status;
# - a cache hit uses the binary without building;
# - a cached binary that cannot load (a missing shared library, exit 127)
#   is detected: the command runs bare, with a warning, its status kept;
# - the key names the image (ImageOS, /etc/os-release);
# - a runner that is not Linux runs the command bare, with a warning;
# - the command never sees MILEPOST_SECRET.
. "$(dirname "$0")/lib.sh"
plan 21

start_daemon
export HOME="$T/home" RUNNER_OS=Linux RUNNER_ARCH=X64 ImageOS=ubuntu24 \
    GITHUB_RUN_ID=77 GITHUB_RUN_ATTEMPT=1 GITHUB_JOB=test RUNNER_TEMP="$T/rt"
mkdir -p "$HOME" "$RUNNER_TEMP" "$T/cache" "$T/work"
: > "$T/cache/log"

# The action's repository as GitHub fetches it: the sources it hashes, the
# action, and script/setup (its package list, with setup_install recording
# what it would install and setup_build copying the agent built here).
A="$T/repo"
mkdir -p "$A/script"
cp -r "$top_srcdir/common" "$top_srcdir/agent" "$top_srcdir/plugins" \
    "$top_srcdir/configure.ac" "$top_srcdir/Makefile.am" "$A/"
cat > "$A/script/setup" <<EOF
. "$top_srcdir/script/setup"
setup_install() { printf '%s\\n' "\${SETUP_PACKAGES[@]}" > "$T/setup-packages"; }
setup_build() { mkdir -p "\$1" && cp "$MILEPOST" "\$1/milepost"; }
EOF
ACT="$A/plugins/github"

# act [INPUT=VALUE...]: the action in $T/work, without MILEPOST_SECRET in
# the job's environment (it comes in as the secret input); its output
# (workflow commands such as ::warning:: included) in $T/act.err.
act() {
	(cd "$T/work" && env -u MILEPOST_SECRET -u MILEPOST_URL \
	    python3 "$top_srcdir/tests/it/action-run.py" "$ACT" "$T/cache" \
	    "url=$URL" "secret=$SECRET" "$@") > "$T/act.err" 2>&1
}
ev() {	# ev SUBJECT: the types stored for it, in order
	sqlite3 "$T/ledger.db" "SELECT type || ':' || coalesce(json_extract(properties,'\$.exitCode'),'') FROM evidence WHERE subject='$1' ORDER BY seq" | tr '\n' ' ' | sed 's/ $//'
}

# 1. A miss: build, save, run; the command fails with 4.
act "id=gh-1" "command=env > '$T/env1'; exit 4"; rc=$?
eq "miss: the step exits with the command's status (4)" 4 "$rc"
key=$(sed -n 's/^restore \(.*\) miss$/\1/p' "$T/cache/log" | head -1)
eq "miss: restored nothing, then saved the same key before the command" \
    "restore $key miss|save $key" "$(paste -sd'|' "$T/cache/log")"
check "miss: the build installs script/setup's packages less the test suite's" \
    test -n "$(grep -x libcurl4-openssl-dev "$T/setup-packages")" -a \
    -z "$(grep -E -x 'groovy|golang-go|python3-yaml|prometheus-alertmanager' "$T/setup-packages")"
check "miss: the saved cache holds the agent and its run-time packages" \
    test -x "$T/cache/$key/milepost" -a -s "$T/cache/$key/runtime-packages"
eq "miss: the build's evidence arrived (exit code 4)" \
    "BuildStartedEvent: BuildCompleted:4" "$(ev gh-1)"
check "miss: the command's environment has no MILEPOST_SECRET" \
    no_grep -e '^MILEPOST_SECRET=' -e "$SECRET" "$T/env1"
check "the action's output id is the build id" grep -qx 'output id=gh-1' "$T/act.err"

# 2. A hit: no build, no save.
act "id=gh-2" 'command=exit 0'; rc=$?
eq "hit: exits 0" 0 "$rc"
eq "hit: restored the key and saved nothing" "restore $key hit" "$(tail -1 "$T/cache/log")"
eq "hit: the build's evidence arrived" "BuildStartedEvent: BuildCompleted:0" "$(ev gh-2)"

# 3. A hit on a binary that cannot load on this image.
mkdir -p "$T/lib"
printf 'int gone(void) { return 0; }\n' > "$T/lib/gone.c"
cc -shared -fPIC -o "$T/lib/libmilepostgone.so" "$T/lib/gone.c"
printf 'int gone(void);\nint main(void) { return gone(); }\n' > "$T/broken.c"
cc -o "$T/cache/$key/milepost" "$T/broken.c" -L"$T/lib" -lmilepostgone
rm "$T/lib/libmilepostgone.so"
"$T/cache/$key/milepost" --version 2>/dev/null; rc=$?
eq "the cached binary cannot load (exit 127)" 127 "$rc"
act "id=gh-3" "command=env > '$T/env3'; echo ran > '$T/ran3'; exit 5"; rc=$?
eq "broken: the step exits with the command's status (5)" 5 "$rc"
check "broken: the command ran" grep -qx ran "$T/ran3"
check "broken: with a warning naming the cause" \
    grep -q '::warning::milepost: the agent cannot run here.*libmilepostgone' "$T/act.err"
eq "broken: no evidence, since no agent ran" 0 \
    "$(sqlite3 "$T/ledger.db" "SELECT count(*) FROM evidence WHERE subject='gh-3'")"
check "broken: the bare command's environment has no MILEPOST_SECRET" \
    no_grep -e '^MILEPOST_SECRET=' -e "$SECRET" "$T/env3"

# 4. Another image, another key.
ImageOS=ubuntu22 act "id=gh-4" 'command=true'
key2=$(sed -n 's/^restore \(.*\) miss$/\1/p' "$T/cache/log" | tail -1)
differs "the key changes with ImageOS" "$key" "$key2"
os=$(sha256sum /etc/os-release | cut -c1-12)
check "the key names ImageOS and the hash of /etc/os-release ($key2)" \
    grep -q -- "-ubuntu22-$os-" <<<"$key2"

# 5. Not Linux: no agent is built; the command runs bare.
n=$(wc -l < "$T/cache/log")
RUNNER_OS=macOS act "id=gh-5" 'command=exit 6'; rc=$?
eq "macOS: the step exits with the command's status (6), no cache used" "6 $n" \
    "$rc $(wc -l < "$T/cache/log")"
check "macOS: with a warning saying which runners are supported" \
    grep -q '::warning::milepost: no agent on this runner (supported: Linux' "$T/act.err"
check "milepostd stops cleanly" stop_daemon
finish
