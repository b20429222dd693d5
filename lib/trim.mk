# lib/trim.mk: automake fragment included from Makefile.am (use +=).
# Trim (fstrim, live trim, mkfs discard) and power cuts during trim.
check_PROGRAMS += tests/test_trim
tests_test_trim_SOURCES = tests/test_trim.c
tests_test_trim_CFLAGS = $(TEST_CFLAGS)
tests_test_trim_LDADD = $(TEST_LIBS)
