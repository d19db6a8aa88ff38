#!/usr/bin/env bash
# git post-receive: install-hook in a bare repository that has a hook
# already (chained, same input, its exit status), then real pushes from a
# clone: a new branch, a fast-forward, a force push, tags, a deletion, two
# branches sharing commits; after each, the ledger holds exactly the
# expected CommitPushed.  With the receiver down a push is quick, its
# evidence is spooled, and flush delivers it once.
. "$(dirname "$0")/lib.sh"
plan 109

unset MILEPOST_TIMEOUT GIT_DIR GIT_WORK_TREE
export GIT_CEILING_DIRECTORIES="$T" GIT_CONFIG_NOSYSTEM=1 \
    GIT_CONFIG_GLOBAL="$T/gitconfig"
git config --global user.name "Ada Author"
git config --global user.email ada@example.invalid
git config --global init.defaultBranch main
git config --global advice.detachedHead false
start_daemon

ev() {		# ev SQL-EXPR WHERE: values from the matching evidence rows
	sqlite3 "$T/ledger.db" "SELECT $1 FROM evidence WHERE $2 ORDER BY seq;"
}
pushed() {	# the subjects of every CommitPushed, sorted, on one line
	sqlite3 "$T/ledger.db" "SELECT subject FROM evidence WHERE \
	    type='CommitPushed' ORDER BY subject;" | paste -sd' '
}
sorted() {	# sorted SHA...: the same, for the expected set
	printf '%s\n' "$@" | sort | paste -sd' '
}
prop() {	# prop SHA PATH: one JSON value of the commit's evidence
	ev "json_extract($2)" "type='CommitPushed' AND subject='$1'"
}
spooled() {
	find "$MILEPOST_SPOOL" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null | wc -l
}
# push ARGS...: git push from the clone with the pusher's environment
# stripped of the receiver and secret: the hook must read milepost.env.
push() {
	local rc=0
	env -u MILEPOST_URL -u MILEPOST_SECRET git push -q "$@" 2>"$T/push.err" || rc=$?
	# The hook's own status is lost on git's side: look at what it said.
	if grep -q 'Sanitizer\|runtime error' "$T/push.err"; then
		not_ok "the hook under a sanitizer: $(grep -m1 'Sanitizer\|runtime error' "$T/push.err")"
	fi
	return $rc
}
chained_new() {	# the lines the chained hook got since the last call
	local seen
	seen=$(cat "$T/chained.seen" 2>/dev/null || echo 0)
	sed -n "$((seen + 1)),\$p" "$T/chained.log"
	wc -l < "$T/chained.log" > "$T/chained.seen"
}
zero=0000000000000000000000000000000000000000

# A bare repository whose post-receive hook logs its input.
git init -q --bare "$T/shop.git"
cat > "$T/shop.git/hooks/post-receive" <<EOF
#!/bin/sh
cat >> "$T/chained.log"
exit \$(cat "$T/chained.status" 2>/dev/null || echo 0)
EOF
chmod +x "$T/shop.git/hooks/post-receive"
: > "$T/chained.log"
cp "$T/shop.git/hooks/post-receive" "$T/dummy-hook"

# install-hook chains it, writes milepost.env, never prints the secret.
"$MILEPOST" git install-hook "$T/shop.git" >"$T/out" 2>"$T/err"; rc=$?
eq "install-hook exits 0" 0 "$rc"
check "install-hook says it chained the hook" grep -q 'post-receive.chained' "$T/out"
check "the old hook is now post-receive.chained" cmp -s "$T/dummy-hook" "$T/shop.git/hooks/post-receive.chained"
check "the new hook is milepost's" grep -q '^# milepost-hook: post-receive' "$T/shop.git/hooks/post-receive"
check "the hook runs milepost by its absolute path" \
    grep -qF "'$(realpath "$MILEPOST")' git post-receive" "$T/shop.git/hooks/post-receive"
check "the hook is executable" test -x "$T/shop.git/hooks/post-receive"
eq "milepost.env is mode 600" 600 "$(stat -c %a "$T/shop.git/milepost.env")"
eq "milepost.env holds the URL and the secret" "MILEPOST_URL=$URL MILEPOST_SECRET=$SECRET" \
    "$(grep -v '^#' "$T/shop.git/milepost.env" | paste -sd' ')"
check "install-hook never prints the secret" no_grep -F -- "${SECRET#whsec_}" "$T/out" "$T/err"
"$MILEPOST" git install-hook "$T/shop.git" >"$T/out" 2>"$T/err"; rc=$?
eq "installing again exits 0" 0 "$rc"
check "installing again chains nothing more" no_grep chained "$T/out"
check "the chained hook is still the old one" cmp -s "$T/dummy-hook" "$T/shop.git/hooks/post-receive.chained"
eq "no hook is chained twice" "post-receive post-receive.chained" \
    "$(ls "$T/shop.git/hooks" | grep -v '\.sample$' | paste -sd' ')"
"$MILEPOST" git install-hook "$T/nowhere" 2>/dev/null; rc=$?
eq "install-hook of a missing repository exits 1" 1 "$rc"

# A clone, and the first push: main with one commit.
git clone -q "$T/shop.git" "$T/work" 2>/dev/null
cd "$T/work"
git commit -q --allow-empty -m "init"
a=$(git rev-parse HEAD)
t0=$(date +%s)
push origin main; rc=$?
eq "pushing main exits 0" 0 "$rc"
eq "the first push records its commit" "$a" "$(pushed)"
eq "the chained hook got the same input" "$zero $a refs/heads/main" "$(chained_new)"
check "git shows the pusher milepost's line" grep -q 'remote: milepost: 1 new commit on refs/heads/main, 1 sent' "$T/push.err"

# A new branch with two commits: trailers, issue keys, author time.
git checkout -q -b feature
GIT_AUTHOR_DATE="2025-07-03T12:08:20+02:00" git commit -q --allow-empty \
    -m "SHOP-7: add the basket" -m "Milestone: M-42"
b=$(git rev-parse HEAD)
git commit -q --allow-empty -m "tidy the basket (ABC-12, SHOP-7)"
c=$(git rev-parse HEAD)
push -u origin feature; rc=$?
eq "pushing a new branch exits 0" 0 "$rc"
eq "a new branch records exactly its two new commits" "$(sorted "$a" "$b" "$c")" "$(pushed)"
eq "the chained hook got the new branch's line" "$zero $c refs/heads/feature" "$(chained_new)"
eq "id, subject and source" "shop@$b|$b|agent" "$(ev "id || '|' || subject || '|' || source" "subject='$b'")"
eq "sha, ref, tool, forced" "$b|refs/heads/feature|git|0" \
    "$(prop "$b" "properties,'\$.sha'), json_extract(properties,'\$.ref'), json_extract(properties,'\$.tool'), json_extract(properties,'\$.forced'")"
eq "message (without its trailing newline)" "SHOP-7: add the basket

Milestone: M-42" "$(prop "$b" "properties,'\$.message'")"
eq "author is the name" "Ada Author" "$(prop "$b" "properties,'\$.author'")"
eq "authorTime is the author's, in UTC" "2025-07-03T10:08:20Z" "$(prop "$b" "properties,'\$.authorTime'")"
eq "the Milestone trailer is parsed" '["M-42"]' "$(prop "$b" "properties,'\$.milestones'")"
eq "issue keys are parsed" '["SHOP-7"]' "$(prop "$b" "properties,'\$.issueKeys'")"
eq "issue keys of the second commit" '["ABC-12","SHOP-7"]' "$(prop "$c" "properties,'\$.issueKeys'")"
eq "links: commit, repo, branch, milestone" '{"branch":"feature","commit":"'"$b"'","milestone":"M-42","repo":"shop"}' \
    "$(ev links "subject='$b'")"
eq "no milestone link without the trailer (its evidence is there)" 1 \
    "$(ev "json_extract(links,'\$.milestone') IS NULL" "type='CommitPushed' AND subject='$c'")"
eq "parents: the commit's parent" "[\"$a\"]" "$(prop "$b" "properties,'\$.parents'")"
eq "parents of a root commit: none" "[]" "$(prop "$a" "properties,'\$.parents'")"
now=$(date +%s)
t=$(ev "time / 1000000" "subject='$c'")
check "the event time is the push ($t in [$t0, $now])" test "$t" -ge "$t0" -a "$t" -le "$now"

# A fast-forward: exactly one new commit.
git commit -q --allow-empty -m "one more"
d=$(git rev-parse HEAD)
push origin feature; rc=$?
eq "a fast-forward push exits 0" 0 "$rc"
eq "a fast-forward records exactly the one new commit" "$(sorted "$a" "$b" "$c" "$d")" "$(pushed)"
eq "the chained hook got old..new" "$c $d refs/heads/feature" "$(chained_new)"
eq "not forced" 0 "$(prop "$d" "properties,'\$.forced'")"

# The hook run again on the same input: duplicates, nothing new.
n=$(rows)
(cd "$T/shop.git" && echo "$c $d refs/heads/feature" | env -u MILEPOST_URL -u MILEPOST_SECRET \
    GIT_DIR=. "$MILEPOST" git post-receive 2>"$T/err"); rc=$?
eq "post-receive run again exits 0" 0 "$rc"
eq "post-receive run again writes nothing" "$n" "$(rows)"

# A force push: only the rewritten commit is new, and it says forced.
git commit -q --amend --allow-empty -m "one more, reworded"
d2=$(git rev-parse HEAD)
push -f origin feature; rc=$?
eq "a force push exits 0" 0 "$rc"
eq "a force push records exactly the rewritten commit" "$(sorted "$a" "$b" "$c" "$d" "$d2")" "$(pushed)"
eq "the rewritten commit says forced" 1 "$(prop "$d2" "properties,'\$.forced'")"
eq "the chained hook got the forced update" "$d $d2 refs/heads/feature" "$(chained_new)"

# Tags: one on a known commit brings nothing; an annotated one on a commit
# that no branch has brings that commit, linked to the tag.
git tag v1 "$c"
push origin v1; rc=$?
eq "pushing a tag of a known commit exits 0" 0 "$rc"
eq "a tag of a known commit records nothing" "$(sorted "$a" "$b" "$c" "$d" "$d2")" "$(pushed)"
check "and says so" grep -q 'remote: milepost: no new commits' "$T/push.err"
eq "the chained hook got the tag's line" "$zero $c refs/tags/v1" "$(chained_new)"
git checkout -q --detach
git commit -q --allow-empty -m "release notes only on the tag"
e=$(git rev-parse HEAD)
git tag -a -m "v2" v2
git checkout -q feature
push origin v2; rc=$?
eq "pushing a tag of a new commit exits 0" 0 "$rc"
eq "a tag of a new commit records that commit" "$(sorted "$a" "$b" "$c" "$d" "$d2" "$e")" "$(pushed)"
eq "its ref and links name the tag, not a branch" "refs/tags/v2|v2|" \
    "$(prop "$e" "properties,'\$.ref'), json_extract(links,'\$.tag'), json_extract(links,'\$.branch'")"
eq "the chained hook got the tag's line (the tag object)" "$zero $(git rev-parse v2) refs/tags/v2" "$(chained_new)"

# A branch at a known commit, and a deletion: nothing.
push origin "$c:refs/heads/old-c"; rc=$?
eq "a new branch at a known commit records nothing" "$(sorted "$a" "$b" "$c" "$d" "$d2" "$e")" "$(pushed)"
eq "the chained hook got the new branch's line" "$zero $c refs/heads/old-c" "$(chained_new)"
push origin --delete old-c; rc=$?
eq "a deletion exits 0" 0 "$rc"
eq "a deletion records nothing" "$(sorted "$a" "$b" "$c" "$d" "$d2" "$e")" "$(pushed)"
eq "the chained hook got the deletion" "$c $zero refs/heads/old-c" "$(chained_new)"

# Two new branches in one push that share a new commit: each commit once.
git checkout -q -b x main
git commit -q --allow-empty -m "shared"
f=$(git rev-parse HEAD)
git checkout -q -b y
git commit -q --allow-empty -m "only on y"
g=$(git rev-parse HEAD)
push origin x y; rc=$?
eq "pushing two branches exits 0" 0 "$rc"
eq "two branches sharing a commit record it once" "$(sorted "$a" "$b" "$c" "$d" "$d2" "$e" "$f" "$g")" "$(pushed)"
dups() { sqlite3 "$T/ledger.db" "SELECT count(*) FROM (SELECT subject FROM evidence WHERE type='CommitPushed' GROUP BY subject HAVING count(*) > 1);"; }
eq "no commit is recorded twice" 0 "$(dups)"
eq "the chained hook got both lines" "$zero $f refs/heads/x|$zero $g refs/heads/y" "$(chained_new | paste -sd'|')"
check "the summary counts both refs" grep -q 'remote: milepost: 2 new commits on 2 refs, 2 sent' "$T/push.err"

# The hook exits with the chained hook's status, and passes its input on.
echo 3 > "$T/chained.status"
(cd "$T/shop.git" && echo "$c $c refs/heads/feature" | GIT_DIR=. hooks/post-receive 2>/dev/null); rc=$?
eq "the hook exits with the chained hook's status" 3 "$rc"
eq "the chained hook got the input" "$c $c refs/heads/feature" "$(chained_new)"
rm "$T/chained.status"

# The receiver down: the push is quick and succeeds; one spool file per
# batch; flush delivers each commit once.
n=$(rows)
check "the daemon exits 0 on SIGTERM" stop_daemon
git checkout -q main
git commit -q --allow-empty -m "while down 1"
h1=$(git rev-parse HEAD)
git commit -q --allow-empty -m "while down 2"
h2=$(git rev-parse HEAD)
s0=$(date +%s%N)
push origin main; rc=$?
s1=$(date +%s%N)
ms=$(( (s1 - s0) / 1000000 ))
eq "a push with the receiver down exits 0" 0 "$rc"
check "a push with the receiver down is quick (${ms} ms < 5 s)" test "$ms" -lt 5000
check "the pusher is told the evidence is spooled" grep -q '2 spooled' "$T/push.err"
eq "the two commits are one spooled batch" 1 "$(spooled)"
git commit -q --allow-empty -m "while down 3"
h3=$(git rev-parse HEAD)
push origin main; rc=$?
eq "a second push with the receiver down exits 0" 0 "$rc"
eq "its commit is spooled too" 2 "$(spooled)"
cp "$(find "$MILEPOST_SPOOL" -maxdepth 1 -name '[0-9]*.json' | sort | head -1)" "$T/batch.json"
eq "the ledger did not change" "$n" "$(rows)"
start_daemon
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush exits 0" 0 "$rc"
eq "flush empties the spool" 0 "$(spooled)"
eq "flush delivers the three commits" "$(sorted "$a" "$b" "$c" "$d" "$d2" "$e" "$f" "$g" "$h1" "$h2" "$h3")" "$(pushed)"
eq "spooled evidence keeps its id and links" "shop@$h1|main" \
    "$(ev "id || '|' || json_extract(links,'\$.branch')" "subject='$h1'")"
cp "$T/batch.json" "$MILEPOST_SPOOL/"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flushing the batch again exits 0" 0 "$rc"
eq "flushing the batch again writes nothing" $((n + 3)) "$(rows)"
eq "no commit is recorded twice after flush" 0 "$(dups)"

# A receiver that accepts and never answers: the push waits one
# MILEPOST_TIMEOUT (read from milepost.env, as the URL is), then spools.
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(120)' > "$T/hang.port" &
hang=$!
for i in $(seq 100); do [ -s "$T/hang.port" ] && break; sleep 0.05; done
cp "$T/shop.git/milepost.env" "$T/env.saved"
sed -i "s|^MILEPOST_URL=.*|MILEPOST_URL=http://127.0.0.1:$(cat "$T/hang.port")|" "$T/shop.git/milepost.env"
echo MILEPOST_TIMEOUT=1 >> "$T/shop.git/milepost.env"
n=$(rows)
git commit -q --allow-empty -m "while hung 1"
i1=$(git rev-parse HEAD)
git commit -q --allow-empty -m "while hung 2"
i2=$(git rev-parse HEAD)
s0=$(date +%s%N)
push origin main; rc=$?
s1=$(date +%s%N)
ms=$(( (s1 - s0) / 1000000 ))
kill "$hang" 2>/dev/null
cp "$T/env.saved" "$T/shop.git/milepost.env"
eq "a push to a receiver that never answers exits 0" 0 "$rc"
check "it waits one MILEPOST_TIMEOUT from milepost.env (${ms} ms, 1 to 4 s)" test "$ms" -ge 900 -a "$ms" -lt 4000
check "the pusher is told the evidence is spooled" grep -q '2 spooled' "$T/push.err"
"$MILEPOST" flush 2>/dev/null; rc=$?
eq "flush delivers them" "0 $((n + 2))" "$rc $(rows)"

# A bigger push goes in batches of at most 1000.
n=$(rows)
git checkout -q -b big
{
	for i in $(seq 2500); do
		printf 'commit refs/heads/big\ncommitter Ada Author <ada@example.invalid> %d +0000\n' $((1751536100 + i))
		printf 'data <<M\nbig %d\nM\n' "$i"
		[ "$i" -eq 1 ] && printf 'from %s\n' "$(git rev-parse HEAD)"
		printf '\n'
	done
} | git fast-import --quiet --force
s0=$(date +%s%N)
push origin big; rc=$?
s1=$(date +%s%N)
ms=$(( (s1 - s0) / 1000000 ))
eq "pushing 2500 commits exits 0" 0 "$rc"
eq "all 2500 are recorded" $((n + 2500)) "$(rows)"
check "in a few seconds (${ms} ms)" test "$ms" -lt 30000
check "the receiver took them in batches" grep -q '2500 sent' "$T/push.err"

# A receiver with a small max_body refuses the batch (413): the commits
# go one by one, and only one that is too big on its own is refused.
check "the daemon exits 0 on SIGTERM" stop_daemon
write_config "limits: { max_body: 1024 }"
start_daemon
n=$(rows)
git checkout -q main
long=$(printf 'x%.0s' $(seq 90))
for i in 1 2 3; do git commit -q --allow-empty -m "small $i $long"; done
git commit -q --allow-empty -m "too big $(printf 'y%.0s' $(seq 1200))"
push origin main; rc=$?
eq "a push to a receiver with a small max_body exits 0" 0 "$rc"
eq "the three small commits are recorded one by one" $((n + 3)) "$(rows)"
check "the one over max_body is reported refused" grep -q '4 new commits on refs/heads/main, 3 sent, 1 refused' "$T/push.err"
eq "nothing is spooled for a refusal" 0 "$(spooled)"

# A merge commit lists both parents (what ties a commit merged from a
# branch to a deployment of the merge; see milestones.sh).
check "the daemon exits 0 on SIGTERM" stop_daemon
write_config
start_daemon
git checkout -q main
p1=$(git rev-parse HEAD)
git merge -q --no-ff -m "merge x" x
m=$(git rev-parse HEAD)
push origin main; rc=$?
eq "pushing a merge exits 0" 0 "$rc"
eq "the merge is one new commit, with both parents in order" "[\"$p1\",\"$f\"]" \
    "$(prop "$m" "properties,'\$.parents'")"

# A trailer naming a milestone nobody declared is said in the summary
# line; a commit dated 2099 is recorded at the push's time.
check "the daemon exits 0 on SIGTERM" stop_daemon
write_config "
milestones:
  - { id: M-42, tenant: acme, due: \"2030-01-01\" }"
start_daemon
GIT_AUTHOR_DATE="2099-01-01T00:00:00Z" GIT_COMMITTER_DATE="2099-01-01T00:00:00Z" \
    git commit -q --allow-empty -m "typo" -m "Milestone: M-01"
u1=$(git rev-parse HEAD)
git commit -q --allow-empty -m "right" -m "Milestone: M-42"
push origin main; rc=$?
eq "a push naming an unknown milestone exits 0 (the hook never refuses)" 0 "$rc"
check "git shows the pusher '1 commit names unknown milestone M-01'" \
    grep -q 'remote: milepost: 2 new commits on refs/heads/main, 2 sent, 1 commit names unknown milestone M-01' "$T/push.err"
eq "the commit dated 2099 keeps its date as authorTime" 2099-01-01T00:00:00Z "$(prop "$u1" "properties,'\$.authorTime'")"
eq "... and its event time is the push's" 1 "$(ev "time <= recorded_at AND recorded_at - time < 60000000" "type='CommitPushed' AND subject='$u1'")"

# A hook that is not milepost's beside a post-receive.chained: nothing is
# touched.
cp "$T/dummy-hook" "$T/shop.git/hooks/post-receive.mine"
cp "$T/shop.git/hooks/post-receive" "$T/ours"
mv "$T/shop.git/hooks/post-receive.mine" "$T/shop.git/hooks/post-receive"
"$MILEPOST" git install-hook "$T/shop.git" >/dev/null 2>"$T/err"; rc=$?
eq "install-hook beside a post-receive.chained exits 1" 1 "$rc"
check "and says to move one aside" grep -q 'move one of them aside' "$T/err"
check "the foreign hook is untouched" cmp -s "$T/dummy-hook" "$T/shop.git/hooks/post-receive"
check "the chained hook is untouched" cmp -s "$T/dummy-hook" "$T/shop.git/hooks/post-receive.chained"

# core.hooksPath is honoured; a non-bare repository works too.
git init -q "$T/site"
git -C "$T/site" config core.hooksPath myhooks
"$MILEPOST" git install-hook --name acme/site "$T/site" >/dev/null 2>&1; rc=$?
eq "install-hook in a work tree with core.hooksPath exits 0" 0 "$rc"
check "the hook is in core.hooksPath" test -x "$T/site/.git/myhooks/post-receive"
eq "--name sets milepost.repo" acme/site "$(git -C "$T/site" config milepost.repo)"

stop_daemon
eq "SIGTERM: the daemon exits 0" 0 "$?"
check "the ledger verifies" "$MILEPOST" ledger verify --ledger "sqlite:$T/ledger.db"
finish
