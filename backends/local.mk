# backends/local.mk: automake fragment included from Makefile.am (use +=)
#
# The backend ABI header, the shipped backends (file, ram, direct), device
# strings and the plugin loader.
include_HEADERS += include/wodan_backend.h
libwodan_core_la_SOURCES += backends/direct.c backends/plugin.c \
	backends/backend_error.c
libwodan_core_la_SOURCES += backends/ofdlock.c
# dlopen/dlsym live in libc since glibc 2.34; nothing to add there.

# tests/test_backends and its test plugins: tests/local.mk
