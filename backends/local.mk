# backends/local.mk: automake fragment included from Makefile.am (use +=)
#
# The backend ABI header, the shipped backends (file, ram, direct), device
# strings and the plugin loader; tests/test_backends and its test plugins.
include_HEADERS += include/wodan_backend.h
libwodan_core_la_SOURCES += backends/direct.c backends/plugin.c \
	backends/backend_error.c
libwodan_core_la_SOURCES += backends/ofdlock.c
# dlopen/dlsym live in libc since glibc 2.34; nothing to add there.

check_PROGRAMS += tests/test_backends
tests_test_backends_SOURCES = tests/test_backends.c
tests_test_backends_CFLAGS = $(TEST_CFLAGS) \
	-DPLUGIN_DIR='"$(abs_top_builddir)/tests/.libs"'
tests_test_backends_LDADD = $(TEST_LIBS)
# plugins resolve wodan_backend_error() in the (statically linked) program
tests_test_backends_LDFLAGS = -export-dynamic
EXTRA_tests_test_backends_DEPENDENCIES = $(check_LTLIBRARIES)

# Test plugins: one source, built four ways (see tests/plugin_ramcopy.c).
# libwodan-ramcopy.so is found through WODAN_PLUGIN_PATH, the others are
# loaded by path.  They do not link libwodan (see wodan_backend.h).
PLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES = tests/libwodan-ramcopy.la tests/plugin_bypath.la \
	tests/plugin_badabi.la tests/plugin_nosym.la
tests_libwodan_ramcopy_la_SOURCES = tests/plugin_ramcopy.c
tests_libwodan_ramcopy_la_CFLAGS = $(AM_CFLAGS)
tests_libwodan_ramcopy_la_LDFLAGS = $(PLUGIN_LDFLAGS)
tests_plugin_bypath_la_SOURCES = tests/plugin_ramcopy.c
tests_plugin_bypath_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_NAME='"bypath"'
tests_plugin_bypath_la_LDFLAGS = $(PLUGIN_LDFLAGS)
tests_plugin_badabi_la_SOURCES = tests/plugin_ramcopy.c
tests_plugin_badabi_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_NAME='"badabi"' \
	-DPLUGIN_ABI=999
tests_plugin_badabi_la_LDFLAGS = $(PLUGIN_LDFLAGS)
tests_plugin_nosym_la_SOURCES = tests/plugin_ramcopy.c
tests_plugin_nosym_la_CFLAGS = $(AM_CFLAGS) -DPLUGIN_NAME='"nosym"' \
	-DPLUGIN_NO_OPEN
tests_plugin_nosym_la_LDFLAGS = $(PLUGIN_LDFLAGS)
