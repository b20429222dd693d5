# wodanc/bench.mk: automake fragment included from Makefile.am (use +=)
wodanc_wodanc_SOURCES += wodanc/cmd_bench.c
