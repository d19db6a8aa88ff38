# tests/harness/print-tests.mk: read after a Makefile, prints its TESTS one a
# line (tests/harness/lib.sh: harness_tests).
harness-print-tests:
	@for t in $(TESTS); do echo "$$t"; done
