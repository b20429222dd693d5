# fuzz/local.mk: automake fragment included from Makefile.am (use +=)
#
# 1. wodanc fuzz (wodanc/cmd_fuzz.c) and fuzz/libwodan_opmodel.la: the
#    random-operation model and the image exercise shared with the
#    libFuzzer image harness and tests/test_model.
# 2. make check: fuzz/regress_NAME replays fuzz/corpus/NAME and
#    fuzz/regress/NAME through the harness NAME (gcc, no libFuzzer; built
#    with the sanitizers in an --enable-sanitizers build); they run as
#    tests because Makefile.am has TESTS += $(check_PROGRAMS).  And
#    tests/fuzz_regress.sh: wodanc fuzz --ops over 16 seeds, IMAGE on
#    the corpus and findings, --magic-seal, usage (added to TESTS below).
# 3. make fuzz (not part of all): the libFuzzer harnesses fuzz/fuzz_NAME,
#    built with clang -fsanitize=fuzzer,address,undefined directly from the
#    sources (automake's CC is gcc).  FUZZ_CC=clang-14 to pick a compiler.
#    Run them with .ci/fuzz, or by hand (fuzz/README.md).

wodanc_wodanc_SOURCES += wodanc/cmd_fuzz.c

# The random-operation model (fuzz/opmodel.c), the image exercise and
# detrand (splitmix64, bitwise CRC-32C): compiled against the public API
# only (no -I lib), linked by wodanc, fuzz/regress_image and
# tests/test_model (Makefile.am puts it first in their LDADD).
noinst_LTLIBRARIES += fuzz/libwodan_opmodel.la
fuzz_libwodan_opmodel_la_SOURCES = fuzz/opmodel.c fuzz/opmodel.h \
	fuzz/detrand.c fuzz/detrand.h \
	fuzz/image_exercise.c fuzz/image_exercise.h
fuzz_libwodan_opmodel_la_CPPFLAGS = -D_GNU_SOURCE -I$(top_srcdir)/include

# ------------------------------------------------------- regression replay
FUZZ_REGRESS_LIBS = libwodan_core.la $(CBOR_LIBS) $(ISAL_LIBS)
check_PROGRAMS += fuzz/regress_superblock fuzz/regress_node \
	fuzz/regress_image fuzz/regress_dump
fuzz_regress_superblock_SOURCES = fuzz/fuzz_superblock.c fuzz/regress_main.c
fuzz_regress_superblock_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME=\"superblock\"
fuzz_regress_superblock_LDADD = $(FUZZ_REGRESS_LIBS)
fuzz_regress_node_SOURCES = fuzz/fuzz_node.c fuzz/regress_main.c
fuzz_regress_node_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME=\"node\"
fuzz_regress_node_LDADD = $(FUZZ_REGRESS_LIBS)
fuzz_regress_image_SOURCES = fuzz/fuzz_image.c fuzz/regress_main.c
fuzz_regress_image_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME=\"image\"
fuzz_regress_image_LDADD = fuzz/libwodan_opmodel.la $(FUZZ_REGRESS_LIBS)
fuzz_regress_dump_SOURCES = fuzz/fuzz_dump.c fuzz/regress_main.c
fuzz_regress_dump_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME=\"dump\"
fuzz_regress_dump_LDADD = $(FUZZ_REGRESS_LIBS)

EXTRA_DIST += fuzz/corpus fuzz/regress fuzz/make-corpus.sh fuzz/.gitignore \
	.ci/fuzz

# ------------------------------------------------------------- make fuzz
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_CPPFLAGS = $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) \
	-I$(top_srcdir)/fuzz $(CBOR_CFLAGS) $(ISAL_CFLAGS)
FUZZ_LINK_LIBS = fuzz/libwodan-fuzz.a $(CBOR_LIBS) $(ISAL_LIBS) $(LIBS) -ldl -lm
FUZZ_BINS = fuzz/fuzz_superblock fuzz/fuzz_node fuzz/fuzz_image \
	fuzz/fuzz_dump
CLEANFILES += $(FUZZ_BINS) fuzz/libwodan-fuzz.a

.PHONY: fuzz
fuzz: $(FUZZ_BINS)

# The library (every .c of libwodan_core) instrumented for libFuzzer.
fuzz/libwodan-fuzz.a: $(libwodan_core_la_SOURCES)
	@rm -rf fuzz/objs && $(MKDIR_P) fuzz/objs
	@for f in $(libwodan_core_la_SOURCES); do \
	  case $$f in *.c) ;; *) continue ;; esac; \
	  if test -f $$f; then s=$$f; else s=$(srcdir)/$$f; fi; \
	  o=fuzz/objs/`echo $$f | sed 's|/|_|g; s|\.c$$|.o|'`; \
	  echo "  CLANG    $$f"; \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    $(FUZZ_CPPFLAGS) -c $$s -o $$o || exit 1; \
	done
	@rm -f $@ && $(AR) rcs $@ fuzz/objs/*.o && rm -rf fuzz/objs
	@echo "  AR       $@"

fuzz/fuzz_superblock: fuzz/fuzz_superblock.c fuzz/libwodan-fuzz.a
	$(AM_V_at)echo "  FUZZ     $@"
	$(AM_V_at)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_CPPFLAGS) \
	  $(srcdir)/fuzz/fuzz_superblock.c $(FUZZ_LINK_LIBS) -o $@
fuzz/fuzz_node: fuzz/fuzz_node.c fuzz/libwodan-fuzz.a
	$(AM_V_at)echo "  FUZZ     $@"
	$(AM_V_at)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_CPPFLAGS) \
	  $(srcdir)/fuzz/fuzz_node.c $(FUZZ_LINK_LIBS) -o $@
FUZZ_OPMODEL_SRCS = fuzz/image_exercise.c fuzz/opmodel.c fuzz/detrand.c
fuzz/fuzz_image: fuzz/fuzz_image.c $(FUZZ_OPMODEL_SRCS) fuzz/image_exercise.h \
		fuzz/opmodel.h fuzz/detrand.h fuzz/libwodan-fuzz.a
	$(AM_V_at)echo "  FUZZ     $@"
	$(AM_V_at)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_CPPFLAGS) \
	  $(srcdir)/fuzz/fuzz_image.c \
	  $(FUZZ_OPMODEL_SRCS:%=$(srcdir)/%) $(FUZZ_LINK_LIBS) -o $@
fuzz/fuzz_dump: fuzz/fuzz_dump.c fuzz/libwodan-fuzz.a
	$(AM_V_at)echo "  FUZZ     $@"
	$(AM_V_at)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_CPPFLAGS) \
	  $(srcdir)/fuzz/fuzz_dump.c $(FUZZ_LINK_LIBS) -o $@

# wodanc fuzz end to end (op loops, IMAGE on the corpus, usage)
TESTS += tests/fuzz_regress.sh
EXTRA_DIST += tests/fuzz_regress.sh
