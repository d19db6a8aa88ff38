#!/usr/bin/env bash
# tests/it/readme.sh: the README's walk-through, run as written.
#
# Every fenced ```sh block that follows a line "<!-- readme-test -->" in
# README.md is taken, in order, into one script, so the blocks share their
# exports, working directory and background daemon, as a reader's shell
# would.  A line "# => TEXT" in a block is an expectation: TEXT must appear
# in what the commands before it printed (stdout and stderr) since the
# previous expectation; consecutive "# =>" lines check the same stretch.  The script runs with the README's own commands (milepostd
# included) in a scratch top directory whose build/default is
# $top_builddir; the only change made to it is the port: 127.0.0.1:8780
# becomes a free one, so the test never meets a running demo.
. "$(dirname "$0")/lib.sh"
plan 18
top_builddir=$(cd "$top_builddir" && pwd)
readme="$top_srcdir/README.md"

# The blocks, with each expectation turned into a marker:
# "# => TEXT" becomes: echo "@@expect N"; and TEXT goes to expect.N.
mkdir -p "$T/top/build" "$T/tmp" "$T/exp"
ln -s "$top_builddir" "$T/top/build/default"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
awk -v xd="$T/exp" -v port="$port" '
	/^<!-- readme-test -->[ \t]*$/ { armed = 1; next }
	armed && /^```sh[ \t]*$/ { inblock = 1; armed = 0; nb++
		printf "echo \"@@block %d\"\n", nb; next }
	armed && !/^[ \t]*$/ { armed = 0 }
	inblock && /^```[ \t]*$/ { inblock = 0; next }
	inblock && /^# => / {
		ne++
		text = substr($0, 6)
		printf "%s\n", text > (xd "/" ne)
		close(xd "/" ne)
		printf "echo \"@@expect %d\"\n", ne
		next
	}
	inblock { gsub(/127\.0\.0\.1:8780/, "127.0.0.1:" port); print }
	END { printf "%d %d\n", nb, ne > (xd "/count") }
' "$readme" > "$T/walk.sh"
read -r nblocks nexp < "$T/exp/count"
echo "# README.md: $nblocks blocks, $nexp expectations, port $port"
check "the README marks its walk-through (<!-- readme-test --> blocks)" \
    test "$nblocks" -ge 1 -a "$nexp" -ge 1

# Run it as one script, stopping any daemon it left running on the way out.
{
	echo 'trap '\''[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null'\'' EXIT'
	echo 'trap '\''exit 143'\'' TERM'
	cat "$T/walk.sh"
} > "$T/run.sh"
rc=0
(cd "$T/top" && TMPDIR="$T/tmp" timeout 120 bash "$T/run.sh") \
    > "$T/out" 2>&1 || rc=$?
eq "the walk-through exits 0" 0 "$rc"

# Each expectation in its own stretch of the output.
awk -v xd="$T/exp" -v n="$nexp" '
	/^@@block / { next }
	/^@@expect / {	# consecutive "# =>" lines share one stretch
		k = $2; seg[k] = cur != "" || k == 1 ? cur : seg[k - 1]
		cur = ""; seen[k] = 1; next
	}
	{ cur = cur $0 "\n" }
	END {
		for (k = 1; k <= n; k++) {
			getline want < (xd "/" k)
			close(xd "/" k)
			if (!seen[k])
				printf "not ok - README expectation %d never reached: %s\n", k, want
			else if (index(seg[k], want) == 0)
				printf "not ok - README expectation %d: %s\n", k, want
			else
				printf "ok - README expectation %d: %s\n", k, want
		}
	}
' "$T/out" > "$T/results"
while IFS= read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	*) not_ok "${line#not ok - }" ;;
	esac
done < "$T/results"
if [ "$fails" -ne 0 ]; then
	echo "# the walk-through printed:"
	sed 's/^/#   /' "$T/out"
fi
finish
