# lib/lock.mk: automake fragment included from Makefile.am (use +=).
# Device locks (lib/lock.c: one writer, readers beside it, wholesale
# rewrites alone; the file and direct backends lock in backends/ofdlock.c)
# and their tests: tests/test_lock (real processes) and tests/cli_lock.sh
# (two concurrent `wodanc restore` runs).
libwodan_core_la_SOURCES += lib/lock.c lib/lock.h
# (their build rules: tests/local.mk)
