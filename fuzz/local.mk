# fuzz/local.mk: automake fragment included from Makefile.am (use +=)
wodanc_wodanc_SOURCES += wodanc/cmd_fuzz.c
