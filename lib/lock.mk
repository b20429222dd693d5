# lib/lock.mk: automake fragment included from Makefile.am (use +=).
# Device locks (lib/lock.c: one writer, readers beside it, wholesale
# rewrites alone; the file and direct backends lock in backends/ofdlock.c)
# and their tests: tests/test_lock (real processes) and tests/cli_lock.sh
# (two concurrent `wodanc restore` runs).
libwodan_core_la_SOURCES += lib/lock.c lib/lock.h
check_PROGRAMS += tests/test_lock
tests_test_lock_SOURCES = tests/test_lock.c
tests_test_lock_CFLAGS = $(TEST_CFLAGS)
tests_test_lock_LDADD = $(TEST_LIBS)
TESTS += tests/cli_lock.sh
EXTRA_DIST += tests/cli_lock.sh
