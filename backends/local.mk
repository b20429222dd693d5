# backends/local.mk: automake fragment included from Makefile.am (use +=)
