# tests/cli.mk: automake fragment included from Makefile.am (use +=).
# wodanc end to end beyond tests/cli.sh:
#   tests/cli_errors.sh   mkfs refusing foreign data and too small sizes,
#                         open-failure messages, the exit-code table,
#                         output errors and --json errors, option aliases
#                         (mkfs -b/-q, check -n/-f, trim -n/-o/-l/-m);
#   tests/fuzz_images.sh  wodanc fuzz and check over every stored fuzz
#                         image and crafted huge root generations.
# tests/clitool is their helper (seeded random bytes, a root generation
# patch with its CRC re-sealed, a GPT); noinst, not a test itself.
noinst_PROGRAMS += tests/clitool
tests_clitool_SOURCES = tests/clitool.c
TESTS += tests/cli_errors.sh tests/fuzz_images.sh
EXTRA_DIST += tests/cli.mk tests/cli_errors.sh tests/fuzz_images.sh
