#!/usr/bin/env bash
# tests/it/layers.sh: the house's rules, checked on the tree and on the
# built objects, so that a change that breaks a layer fails the suite:
# each library folder has its header with a rule; only store/ includes
# SQLite's header and sees the backend table; plugins and sinks include
# only their contract header; and no object calls a function defined in a
# folder above it (nm on the objects of the build).
. "$(dirname "$0")/lib.sh"
plan 25
src="$top_srcdir"
bld="$top_builddir"
folders="util record store derive outbox access config"

for f in $folders; do
	h="$src/common/$f/$f.h"
	[ "$f" = store ] && h="$src/common/store/store.h"
	check "common/$f has its header" test -f "$h"
	check "common/$f's header states its rule" grep -q "Rule:" "$h"
done

out=$(cd "$src" && grep -rlE '#include[[:space:]]*[<"]sqlite3\.h[>"]' \
    common agent receiver plugins sinks tests 2>&1)
eq "the grep for sqlite3.h ran and found the store's files" 0 "$?"
eq "only common/store/ includes sqlite3.h" "" \
    "$(printf '%s\n' "$out" | grep -v '^common/store/' || true)"
check "common/store/ does include sqlite3.h" grep -q 'store/' <<<"$out"

out=$(cd "$src" && grep -rlE '#include[[:space:]]*"store/(backend|sqlite)\.h"' \
    common agent receiver plugins sinks tests)
eq "only common/store/ sees the backend table" "" \
    "$(printf '%s\n' "$out" | grep -v '^common/store/' || true)"

bad=
for f in "$src"/plugins/*.c "$src"/plugins/*/*.c "$src"/sinks/*.c; do
	while read -r inc; do
		case "$inc" in
		'"plugins/source.h"'|'"sinks/sink.h"') ;;
		*) bad="$bad ${f#"$src"/}:$inc" ;;
		esac
	done < <(sed -n 's/^#include[[:space:]]*\("[^"]*"\).*/\1/p' "$f")
done
eq "plugins and sinks include only their contract header" "" "$bad"
check "a plugin includes plugins/source.h" \
    grep -q '#include "plugins/source.h"' "$src/plugins/github/github.c"
check "a sink includes sinks/sink.h" \
    grep -q '#include "sinks/sink.h"' "$src/sinks/webhook.c"

# Which folder defines each global function, then who calls whom.
level() {
	case "$1" in
	util) echo 0 ;; record|plugins|sinks) echo 1 ;; store) echo 2 ;;
	derive|outbox|access) echo 3 ;; config) echo 9 ;;
	esac
}
objs=$(cd "$bld" && ls common/*/*.o plugins/*.o plugins/*/*.o sinks/*.o 2>/dev/null)
check "the library's objects are built" test -n "$objs"
defs="$T/defs"
for o in $objs; do
	d=${o#common/}; d=${d%%/*}
	nm --defined-only "$bld/$o" | awk -v d="$d" '$2 ~ /^[TDRB]$/ {print $3, d}'
done | sort -u > "$defs"
check "nm listed the library's definitions" test -s "$defs"
viol=
for o in $objs; do
	d=${o#common/}; d=${d%%/*}
	[ "$d" = config ] && continue
	while read -r sym owner; do
		[ "$owner" = "$d" ] && continue
		if [ "$(level "$owner")" -ge "$(level "$d")" ]; then
			viol="$viol $o->$sym($owner)"
		fi
	done < <(nm -u "$bld/$o" | awk '{print $2}' | sort -u |
	    join - "$defs")
done
eq "no folder calls a folder at or above its level" "" "$viol"
store_calls=$(cd "$bld" && for o in common/store/*.o; do nm -u "$o"; done |
    grep -cE ' (engine|deploy|milestone|derive|outbox|access|config)_' || true)
eq "common/store calls no derivation, outbox, access or config function" 0 "$store_calls"
finish
