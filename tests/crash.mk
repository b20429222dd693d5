# tests/crash.mk: automake fragment included from Makefile.am (use +=)
