# tests/harness/lib.sh: how script/test counts, in one place, so that
# tests/harness/run can prove it on broken trees.  Sourced (bash).
#
#   harness_suite NAME BUILD-DIR BUILD-COMMAND...
#       runs BUILD-COMMAND (a failure is one failed check, and make check
#       is then not run), deletes the results of any earlier run, runs
#       make check there, and counts every test of the Makefile's TESTS
#       with harness_count.  Adds to H_PASSED and H_FAILED and prints one
#       line per test, then the logs of the failing ones.
#   harness_count TEST LOG TRS
#       prints "PASSED FAILED CAUSE" for one test.
#
# Counting fails closed.  A unit-test program counts Check's "Checks: N,
# Failures: F, Errors: E".  An integration script must print its plan
# (TAP "1..N", from plan in tests/it/lib.sh), one "ok - " or "not ok - "
# line per check and the summary "P passed, F failed" that agrees with
# them; every planned check that did not run is a failure, and so is an
# "ok - # SKIP", a
# missing plan or summary, a result other than PASS (SKIP included), a
# test that left no result, a make check that exits non-zero, and a suite
# with no checks at all.
H_PASSED=${H_PASSED:-0}
H_FAILED=${H_FAILED:-0}
HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# harness_tests DIR: the TESTS of DIR's Makefile, one a line.
# Only lines that can be a test's path: if make first remakes an outdated
# Makefile (config.status), what that prints is not a test.
harness_tests() {
	make -s --no-print-directory -C "$1" -f Makefile \
	    -f "$HARNESS_DIR/print-tests.mk" harness-print-tests \
	    ${HARNESS_MAKEARGS:-} |
	    { grep -E '^[A-Za-z0-9_./+-]+$' || true; }
}

# harness_clean DIR: no result of an earlier run is left to be counted.
harness_clean() {
	local dir=$1 t
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		t=${t%.sh}
		rm -f "$dir/$t.log" "$dir/$t.trs"
	done < <(harness_tests "$dir" 2>/dev/null)
	find "$dir" -name '*.trs' -type f -print0 2>/dev/null |
	    while IFS= read -r -d '' t; do rm -f "$t" "${t%.trs}.log"; done
	rm -f "$dir/test-suite.log"
}

harness_count() {	# harness_count TEST LOG TRS -> "P F CAUSE"
	local test=$1 log=$2 trs=$3 res line plan oks noks skips sp sf p f cause=
	if [ ! -f "$trs" ] || [ ! -f "$log" ]; then
		echo "0 1 no result: the test did not run"
		return
	fi
	res=$(sed -n 's/^:test-result: //p' "$trs" | tail -1)
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -1 || true)
	if [ -n "$line" ]; then
		set -- $(sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/' <<<"$line")
		p=$(($1 - $2 - $3)); f=$(($2 + $3))
		[ "$f" -eq 0 ] || cause="$f of $1 unit checks failed"
		[ "$1" -gt 0 ] || { f=$((f + 1)); cause="no unit checks ran"; }
	else
		plan=$(sed -n -E 's/^1\.\.([0-9]+)$/\1/p' "$log" | tail -1)
		oks=$(grep -c -E '^ok( |$)' "$log" || true)
		noks=$(grep -c -E '^not ok( |$)' "$log" || true)
		# A TAP "ok - # SKIP" (or TODO) is not a pass: nothing was checked.
		skips=$(grep -c -i -E '^ok( .*)? # (skip|todo)' "$log" || true)
		p=$((oks - skips)); f=$((noks + skips))
		[ "$noks" -eq 0 ] || cause="$noks checks failed"
		[ "$skips" -eq 0 ] || cause="$skips checks skipped${cause:+; $cause}"
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1 || true)
		if [ -z "$line" ]; then
			f=$((f + 1)); cause="no summary line (it died early?)${cause:+; $cause}"
		else
			read -r sp _ sf _ <<<"$line"
			if [ "$sp" -ne "$oks" ] || [ "$sf" -ne "$noks" ]; then
				f=$((f + 1))
				cause="summary [$line] disagrees with the log's $oks ok, $noks not ok${cause:+; $cause}"
			fi
		fi
		if [ -z "$plan" ]; then
			f=$((f + 1)); cause="no plan (1..N)${cause:+; $cause}"
		elif [ $((oks + noks)) -lt "$plan" ]; then
			f=$((f + plan - oks - noks))
			cause="ran $((oks + noks)) of $plan planned checks${cause:+; $cause}"
		elif [ $((oks + noks)) -gt "$plan" ]; then
			f=$((f + 1))
			cause="ran $((oks + noks)) checks, more than the $plan planned${cause:+; $cause}"
		fi
	fi
	if [ "$res" != PASS ]; then
		[ "$f" -gt 0 ] || f=1
		cause="result ${res:-missing}${cause:+; $cause}"
	fi
	echo "$p $f $cause"
}

# harness_suite NAME DIR BUILD-COMMAND...
harness_suite() {
	local name=$1 dir=$2; shift 2
	local p=0 f=0 rc t tp tf cause failing=()
	mkdir -p "$dir"
	echo "== $name: build ($dir)"
	if ! "$@" > "$dir/harness-build.log" 2>&1; then
		echo "  FAIL  $name: the build failed; make check not run"
		{ grep -E 'error|Error|undefined' "$dir/harness-build.log" || true; } |
		    head -20 | sed 's/^/    /'
		echo "    (last lines of $dir/harness-build.log:)"
		tail -15 "$dir/harness-build.log" | sed 's/^/    /'
		H_FAILED=$((H_FAILED + 1))
		return 0
	fi
	harness_clean "$dir"
	echo "== $name: make check"
	rc=0
	(cd "$dir" && make -s -j2 check ${HARNESS_MAKEARGS:-}) > "$dir/harness-check.log" 2>&1 || rc=$?
	local tests=()
	mapfile -t tests < <(harness_tests "$dir")
	if [ ${#tests[@]} -eq 0 ]; then
		echo "  FAIL  $name: the Makefile lists no TESTS"
		f=$((f + 1))
	fi
	for t in "${tests[@]}"; do
		read -r tp tf cause < <(harness_count "$t" "$dir/${t%.sh}.log" "$dir/${t%.sh}.trs")
		p=$((p + tp)); f=$((f + tf))
		if [ "$tf" -eq 0 ]; then
			printf '  PASS  %-30s %s passed\n' "$t" "$tp"
		else
			printf '  FAIL  %-30s %s passed, %s failed: %s\n' "$t" "$tp" "$tf" "$cause"
			failing+=("$t")
		fi
	done
	if [ "$rc" -ne 0 ]; then
		echo "  FAIL  $name: make check exited $rc"
		{ grep -E 'error|Error|undefined' "$dir/harness-check.log" || true; } |
		    { grep -v '^# ERROR: *0$' || true; } | head -20 | sed 's/^/    /'
		[ ${#failing[@]} -gt 0 ] || f=$((f + 1))
	fi
	if [ "$p" -eq 0 ]; then
		echo "  FAIL  $name: no check passed"
		f=$((f + 1))
	fi
	if [ "$f" -ne 0 ]; then
		echo "== $name: FAILED ($p passed, $f failed); logs follow"
		for t in "${failing[@]}"; do
			echo "---- $dir/${t%.sh}.log"
			if [ -f "$dir/${t%.sh}.log" ]; then
				{ grep -v '^ok - ' "$dir/${t%.sh}.log" || true; } | tail -60
			else
				echo "(no log)"
			fi
		done
		if [ "$rc" -ne 0 ]; then
			echo "---- make check's output ($dir/harness-check.log)"
			tail -30 "$dir/harness-check.log"
		fi
	else
		echo "== $name: $p passed, 0 failed"
	fi
	H_PASSED=$((H_PASSED + p))
	H_FAILED=$((H_FAILED + f))
}
