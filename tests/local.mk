# tests/local.mk: every test build rule (included from Makefile.am; use +=).
#
# tests/support/ is the tests' own library (libtestsupport, linked by every
# C test): random numbers (testutil.h: splitmix64, the printed seed), the
# deterministic getrandom of mkfs (fixed_random.h, included by a test's
# main file), RAM and recording devices (memdev), the key/value model and
# the comparison of a handle with it (kvmodel), an oracle independent of
# the library (its own CRC-32C and an on-disk tree walk: oracle), the checks
# of an image after a power cut (cutcheck: check figures, one more insert,
# flush and reopen) and the fault-injection backend (fault_backend: power
# cuts resolved by cache mode, I/O errors, bit flips; public headers only;
# built with -DFAULT_BACKEND_PLUGIN it is also a backend plugin,
# "fault:OPTS@LOWER").
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/tests/support
TEST_LIBS = tests/support/libtestsupport.la libwodan_core.la \
	$(CMOCKA_LIBS) $(CBOR_LIBS) $(ISAL_LIBS)

check_LTLIBRARIES = tests/support/libtestsupport.la
tests_support_libtestsupport_la_SOURCES = \
	tests/support/testutil.h tests/support/fixed_random.h \
	tests/support/memdev.c tests/support/memdev.h \
	tests/support/kvmodel.c tests/support/kvmodel.h \
	tests/support/oracle.c tests/support/oracle.h \
	tests/support/cutcheck.c tests/support/cutcheck.h \
	tests/support/fault_backend.c tests/support/fault_backend.h
tests_support_libtestsupport_la_CFLAGS = $(TEST_CFLAGS)

# ------------------------------------------------------------ unit suites
check_PROGRAMS += tests/test_crc tests/test_layout tests/test_model \
	tests/test_space tests/test_powercut tests/test_dump tests/test_rollback \
	tests/test_cache tests/test_trim tests/test_lock
tests_test_crc_SOURCES = tests/test_crc.c
tests_test_crc_CFLAGS = $(TEST_CFLAGS)
tests_test_crc_LDADD = $(TEST_LIBS)
# the on-disk layout byte by byte (tests/layout/: superblock, nodes, the
# node decoder, a fresh mkfs image)
tests_test_layout_SOURCES = tests/layout/layout.h tests/layout/main.c \
	tests/layout/superblock.c tests/layout/node.c tests/layout/decode.c \
	tests/layout/mkfs.c
tests_test_layout_CFLAGS = $(TEST_CFLAGS)
tests_test_layout_LDADD = $(TEST_LIBS)
tests_test_model_SOURCES = tests/test_model.c
tests_test_model_CFLAGS = $(TEST_CFLAGS)
tests_test_model_LDADD = fuzz/libwodan_opmodel.la $(TEST_LIBS)
tests_test_cache_SOURCES = tests/test_cache.c
tests_test_cache_CFLAGS = $(TEST_CFLAGS)
tests_test_cache_LDADD = $(TEST_LIBS)
tests_test_space_SOURCES = tests/space/space.h tests/space/main.c \
	tests/space/exhaustion.c tests/space/errors.c tests/space/autoflush.c \
	tests/space/retry.c
tests_test_space_CFLAGS = $(TEST_CFLAGS)
tests_test_space_LDADD = $(TEST_LIBS)
tests_test_rollback_SOURCES = tests/test_rollback.c
tests_test_rollback_CFLAGS = $(TEST_CFLAGS)
tests_test_rollback_LDADD = $(TEST_LIBS)
tests_test_dump_SOURCES = tests/test_dump.c
tests_test_dump_CFLAGS = $(TEST_CFLAGS)
tests_test_dump_LDADD = $(TEST_LIBS)
# trim (fstrim, live trim, mkfs discard) and power cuts during trim
tests_test_trim_SOURCES = tests/trim/trim.h tests/trim/main.c \
	tests/trim/mkfs.c tests/trim/fstrim.c tests/trim/live.c \
	tests/trim/powercut.c
tests_test_trim_CFLAGS = $(TEST_CFLAGS)
tests_test_trim_LDADD = $(TEST_LIBS)
# device locks with real processes (tests/cli_lock.sh: two concurrent
# `wodanc restore` runs)
tests_test_lock_SOURCES = tests/lock/lock.h tests/lock/main.c \
	tests/lock/writers.c tests/lock/readers.c tests/lock/alone.c \
	tests/lock/loop.c
tests_test_lock_CFLAGS = $(TEST_CFLAGS)
tests_test_lock_LDADD = $(TEST_LIBS)

# ------------------------------------------- power cuts, faults, bit flips
# The crash suite (tests/crash/), the power-cut replay (tests/test_powercut.c),
# the corruption suite (tests/bitflip/) and the journal suite
# (tests/test_journal.c).
#
# `make soak` (not part of check) runs the long power-cut soak: random and
# double-fault cuts on fresh random workloads, WODAN_CRASH_SOAK cuts
# (default 1000000, about 4 minutes on one core of a plain build), printing
# progress, the count and the replay id of every failure (replay one with
# WODAN_CRASH_REPLAY=ID ./tests/test_crash).  SOAK_SEED=N fixes the seed.
check_PROGRAMS += tests/test_crash tests/test_bitflip tests/test_journal
tests_test_crash_SOURCES = tests/crash/crash.h tests/crash/main.c \
	tests/crash/step.c tests/crash/verify.c tests/crash/scenarios.c \
	tests/crash/workload.c tests/crash/tiers.c tests/crash/ioerr.c \
	tests/crash/replay.c tests/crash/regress.c
tests_test_crash_CFLAGS = $(TEST_CFLAGS)
tests_test_crash_LDADD = $(TEST_LIBS)
tests_test_powercut_SOURCES = tests/test_powercut.c
tests_test_powercut_CFLAGS = $(TEST_CFLAGS)
tests_test_powercut_LDADD = $(TEST_LIBS)
tests_test_bitflip_SOURCES = tests/bitflip/bitflip.h tests/bitflip/main.c \
	tests/bitflip/flips.c tests/bitflip/transient.c tests/bitflip/rollback.c
tests_test_bitflip_CFLAGS = $(TEST_CFLAGS)
tests_test_bitflip_LDADD = $(TEST_LIBS)
tests_test_journal_SOURCES = tests/test_journal.c
tests_test_journal_CFLAGS = $(TEST_CFLAGS)
tests_test_journal_LDADD = $(TEST_LIBS)

SOAK_CUTS = 1000000
.PHONY: soak
soak: tests/test_crash$(EXEEXT)
	env WODAN_CRASH_SOAK=$${WODAN_CRASH_SOAK:-$(SOAK_CUTS)} \
	    $${SOAK_SEED:+WODAN_SEED=$$SOAK_SEED} ./tests/test_crash$(EXEEXT)

# ------------------------------------------------------- backends, plugins
# tests/test_backends and its test plugins: one source, built four ways
# (see tests/plugin_ramcopy.c).  libwodan-ramcopy.so is found through
# WODAN_PLUGIN_PATH, the others are loaded by path.  They do not link
# libwodan (see wodan_backend.h).
check_PROGRAMS += tests/test_backends
tests_test_backends_SOURCES = tests/test_backends.c
tests_test_backends_CFLAGS = $(TEST_CFLAGS) \
	-DPLUGIN_DIR='"$(abs_top_builddir)/tests/.libs"'
tests_test_backends_LDADD = $(TEST_LIBS)
# plugins resolve wodan_backend_error() in the (statically linked) program
tests_test_backends_LDFLAGS = -export-dynamic
EXTRA_tests_test_backends_DEPENDENCIES = $(check_LTLIBRARIES)
PLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += tests/libwodan-ramcopy.la tests/plugin_bypath.la \
	tests/plugin_badabi.la tests/plugin_nosym.la
tests_libwodan_ramcopy_la_SOURCES = tests/plugin_ramcopy.c
tests_libwodan_ramcopy_la_CFLAGS = $(AM_CFLAGS)
tests_libwodan_ramcopy_la_LDFLAGS = $(PLUGIN_LDFLAGS)
tests_plugin_bypath_la_SOURCES = tests/plugin_ramcopy.c
tests_plugin_bypath_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_NAME='"bypath"'
tests_plugin_bypath_la_LDFLAGS = $(PLUGIN_LDFLAGS)
tests_plugin_badabi_la_SOURCES = tests/plugin_ramcopy.c
tests_plugin_badabi_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_NAME='"badabi"' \
	-DPLUGIN_ABI=999
tests_plugin_badabi_la_LDFLAGS = $(PLUGIN_LDFLAGS)
tests_plugin_nosym_la_SOURCES = tests/plugin_ramcopy.c
tests_plugin_nosym_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_NAME='"nosym"' \
	-DPLUGIN_NO_OPEN
tests_plugin_nosym_la_LDFLAGS = $(PLUGIN_LDFLAGS)

# ------------------------------------------------------------ shell tests
# wodanc end to end: tests/cli.sh (the commands), cli_dump.sh (dump and
# restore), cli_kv.sh (get, put, del, ls, info), cli_errors.sh (mkfs
# refusing foreign data and too small sizes, open-failure messages, the
# exit-code table, output errors and --json errors, option aliases),
# fuzz_images.sh (wodanc fuzz and check over every stored fuzz image and
# crafted huge root generations), cli_lock.sh (two concurrent restores).
# They share tests/clilib.sh.  tests/clitool is their helper (seeded random
# bytes, a root generation patch with its CRC re-sealed, a GPT); noinst,
# not a test itself.
noinst_PROGRAMS += tests/clitool
tests_clitool_SOURCES = tests/clitool.c
TESTS += $(check_PROGRAMS) tests/cli.sh tests/cli_dump.sh tests/cli_kv.sh \
	tests/cli_errors.sh tests/fuzz_images.sh tests/cli_lock.sh
EXTRA_DIST += tests/local.mk tests/clilib.sh tests/cli.sh tests/cli_dump.sh \
	tests/cli_kv.sh tests/cli_errors.sh tests/fuzz_images.sh \
	tests/cli_lock.sh
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = WODANC=$(abs_top_builddir)/wodanc/wodanc; export WODANC; \
	top_srcdir=$(abs_top_srcdir); export top_srcdir;

# Public headers: each compiles alone in C (and C++ when c++ exists), in
# any order, guard first, and is installed (tests/test_headers.sh).
TESTS += tests/test_headers.sh
EXTRA_DIST += tests/test_headers.sh
AM_TESTS_ENVIRONMENT += CC='$(CC)'; export CC;
