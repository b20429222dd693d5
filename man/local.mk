# man/local.mk: automake fragment included from Makefile.am (use +=)
#
# The manual pages (mdoc: wodanc(1), wodan(3), wodan(5)) and the bash
# completion of wodanc, installed by `make install` under $(prefix):
# $(mandir)/man1, man3, man5 and $(datadir)/bash-completion/completions
# (where bash-completion looks on demand; not pkg-config's completionsdir,
# which lies outside the prefix and would break `make distcheck`).
# tests/man.sh lints the pages and checks them and the completion against
# `wodanc --help` and include/*.h.
dist_man_MANS = man/wodanc.1 man/wodan.3 man/wodan.5
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = contrib/bash-completion/wodanc

TESTS += tests/man.sh
EXTRA_DIST += tests/man.sh
