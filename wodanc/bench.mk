# wodanc/bench.mk: automake fragment included from Makefile.am (use +=)
