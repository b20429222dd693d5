# wodanc/bench.mk: automake fragment included from Makefile.am (use +=)
wodanc_wodanc_SOURCES += wodanc/cmd_bench.c wodanc/bench_util.c \
	wodanc/bench_util.h
# smoke test of `wodanc bench` (small N, no timing assertions)
TESTS += tests/bench.sh
EXTRA_DIST += tests/bench.sh
