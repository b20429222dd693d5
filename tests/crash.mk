# tests/crash.mk: automake fragment included from Makefile.am (use +=)
#
# The crash suite (tests/test_crash.c), the corruption suite
# (tests/test_bitflip.c) and the journal suite (tests/test_journal.c), all
# on the fault-injection backend
# (tests/fault_backend.c, public headers only; built with
# -DFAULT_BACKEND_PLUGIN it is also a backend plugin, "fault:OPTS@LOWER").
#
# `make soak` (not part of check) runs the long power-cut soak: random and
# double-fault cuts on fresh random workloads, WODAN_CRASH_SOAK cuts
# (default 1000000, about 4 minutes on one core of a plain build), printing
# progress, the count and the replay id of every failure (replay one with
# WODAN_CRASH_REPLAY=ID ./tests/test_crash).  SOAK_SEED=N fixes the seed.
check_PROGRAMS += tests/test_crash tests/test_bitflip tests/test_journal
noinst_HEADERS += tests/fault_backend.h
tests_test_crash_SOURCES = tests/test_crash.c tests/fault_backend.c \
	tests/fault_backend.h
tests_test_crash_CFLAGS = $(TEST_CFLAGS)
tests_test_crash_LDADD = $(TEST_LIBS)
tests_test_bitflip_SOURCES = tests/test_bitflip.c tests/fault_backend.c \
	tests/fault_backend.h
tests_test_bitflip_CFLAGS = $(TEST_CFLAGS)
tests_test_bitflip_LDADD = $(TEST_LIBS)

SOAK_CUTS = 1000000
.PHONY: soak
soak: tests/test_crash$(EXEEXT)
	env WODAN_CRASH_SOAK=$${WODAN_CRASH_SOAK:-$(SOAK_CUTS)} \
	    $${SOAK_SEED:+WODAN_SEED=$$SOAK_SEED} ./tests/test_crash$(EXEEXT)
tests_test_journal_SOURCES = tests/test_journal.c tests/fault_backend.c \
	tests/fault_backend.h
tests_test_journal_CFLAGS = $(TEST_CFLAGS)
tests_test_journal_LDADD = $(TEST_LIBS)
