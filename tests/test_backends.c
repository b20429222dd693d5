/*
 * test_backends.c -- backends, device strings and plugins:
 *  - "[BACKEND:]PATH" splitting and dispatch (file, ram, direct, plugins,
 *    bare paths, unknown names);
 *  - file and direct (O_DIRECT on a regular file, 4096-byte sectors): mkfs,
 *    insert, flush, reopen, lookup, check clean.  direct refuses every
 *    misaligned request, so these runs also prove that libwodan keeps its
 *    alignment promise (wodan_backend.h) on those paths;
 *  - a block size that is not a multiple of the sector size is refused at
 *    mkfs and at open, naming both sizes;
 *  - plugins (tests/plugin_ramcopy.c built four ways): by path, through
 *    WODAN_PLUGIN_PATH, missing symbol, ABI mismatch, dlopen failure;
 *  - loop devices with 512- and 4096-byte sectors (root with a working
 *    losetup; otherwise a visible "SKIP: ..." line).  Temporary files go
 *    to a fresh directory under $TMPDIR (default /tmp). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "../backends/backend_util.h"

#ifndef PLUGIN_DIR
#error "PLUGIN_DIR (the directory of the test plugin .so files) not set"
#endif

#define KS 20
#define NKEYS 1500
#define MiB (1024ull * 1024)

static char tmpdir[512];

/* prefix + a path in the temporary directory (static buffer, one of
 * four). */
static const char *tpath(const char *prefix, const char *name)
{
	static char buf[4][1024];
	static int k;
	char *b = buf[k++ & 3];
	snprintf(b, sizeof buf[0], "%s%s/%s", prefix, tmpdir, name);
	return b;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return (void)st, (void)flag, (void)ftw, remove(p);
}

static int group_setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/wodan-backends-XXXXXX",
		 t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int has(const char *msg, const char *part)
{
	if (strstr(msg, part))
		return 1;
	printf("# message \"%s\" lacks \"%s\"\n", msg, part);
	return 0;
}

static void mkkey(uint8_t *k, uint32_t i)
{
	memset(k, 0x5a, KS);
	k[0] = (uint8_t)(i >> 24);
	k[1] = (uint8_t)(i >> 16);
	k[2] = (uint8_t)(i >> 8);
	k[3] = (uint8_t)i;
}

/* Fill a fresh image, flush, reopen, look every key up, check clean. */
static void roundtrip(const char *spec, uint64_t size, uint32_t bs,
		      const char *want_name, uint32_t want_io)
{
	struct wodan_backend *be = NULL;
	struct wodan_mkfs_params p = { .block_size_bytes = bs,
				       .key_size_bytes = KS, .tombstones = 1 };
	uint8_t key[KS];
	char val[32], got[32];
	size_t len;
	wodan_t *w = NULL;

	printf("# roundtrip %s (bs %u)\n", spec, bs);
	assert_int_equal(wodan_backend_open(spec, WODAN_BACKEND_CREATE, size,
					    &be), 0);
	assert_string_equal(be->name, want_name);
	if (want_io)
		assert_int_equal(be->io_size_bytes, want_io);
	assert_true(be->phys_sector_bytes == 0 ||
		    be->phys_sector_bytes >= be->io_size_bytes);
	assert_int_equal(be->size_bytes % be->io_size_bytes, 0);
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	for (uint32_t i = 0; i < NKEYS; i++) {
		mkkey(key, i);
		int n = snprintf(val, sizeof val, "value %u", i);
		assert_int_equal(wodan_insert(w, key, KS, val, (size_t)n), 0);
	}
	assert_int_equal(wodan_flush(w, NULL), 0);
	assert_int_equal(wodan_close(w), 0);
	wodan_backend_close(be);

	assert_int_equal(wodan_backend_open(spec, 0, 0, &be), 0);
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	for (uint32_t i = 0; i < NKEYS; i++) {
		mkkey(key, i);
		int n = snprintf(val, sizeof val, "value %u", i);
		assert_int_equal(wodan_lookup(w, key, KS, got, sizeof got,
					      &len), 1);
		assert_int_equal(len, (size_t)n);
		assert_memory_equal(got, val, len);
	}
	mkkey(key, NKEYS);
	assert_int_equal(wodan_lookup(w, key, KS, NULL, 0, NULL), 0);
	assert_int_equal(wodan_close(w), 0);

	struct wodan_check_report rep;
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.n_problems, 0);
	assert_int_equal(rep.live_keys, NKEYS);
	assert_int_equal(rep.used_blocks + rep.free_blocks,
			 rep.logical_size_blocks);
	wodan_check_report_free(&rep);

	/* the same keys on a journal image: flushed by journal commits, the
	 * handle abandoned (no checkpoint), then found by the replay of a
	 * read-only and of a writable open (journal blocks go through the
	 * backend like nodes: aligned buffers for O_DIRECT) */
	p.journal = 1;
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	for (uint32_t i = 0; i < NKEYS; i++) {
		mkkey(key, i);
		int n = snprintf(val, sizeof val, "journal %u", i);
		assert_int_equal(wodan_insert(w, key, KS, val, (size_t)n), 0);
		if (i % 100 == 99)
			assert_int_equal(wodan_flush(w, NULL), 0);
	}
	assert_int_equal(wodan_flush(w, NULL), 0);
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	assert_true(st.journal_commits > 0);
	wodan_abandon(w);
	for (int ro = 1; ro >= 0; ro--) {
		struct wodan_open_opts o = {
			.flags = ro ? WODAN_OPEN_READONLY : 0 };
		assert_int_equal(wodan_open(be, &o, &w), 0);
		wodan_get_stats(w, &st);
		assert_true(st.journal_replayed_commits > 0);
		for (uint32_t i = 0; i < NKEYS; i++) {
			mkkey(key, i);
			int n = snprintf(val, sizeof val, "journal %u", i);
			assert_int_equal(wodan_lookup(w, key, KS, got,
						      sizeof got, &len), 1);
			assert_int_equal(len, (size_t)n);
			assert_memory_equal(got, val, len);
		}
		if (ro)
			wodan_abandon(w);
		else
			assert_int_equal(wodan_close(w), 0);
	}
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.live_keys, NKEYS);
	wodan_check_report_free(&rep);
	wodan_backend_close(be);
}

/* ------------------------------------------------------ device strings */

static void test_spec_split(void **state)
{
	(void)state;
	char name[WODAN_PLUGIN_NAME_MAX + 1];
	const char *rest;
	static const struct {
		const char *spec, *name, *rest;
	} cases[] = {
		{ "file:img", "file", "img" },
		{ "ram:64M", "ram", "64M" },
		{ "direct:/dev/loop0", "direct", "/dev/loop0" },
		{ "my_dev2:a:b", "my_dev2", "a:b" },
		{ "x:", "x", "" },
		{ "img", "", "img" },
		{ "/dev/sdb", "", "/dev/sdb" },
		{ "./a:b", "", "./a:b" },
		{ "/x/y:z", "", "/x/y:z" },
		{ ":x", "", ":x" },
		{ "a-b:x", "", "a-b:x" },
		{ "a.so:x", "", "a.so:x" },
		{ "abcdefghijabcdefghijabcdefghijk:p", /* 31: still a name */
		  "abcdefghijabcdefghijabcdefghijk", "p" },
		{ "abcdefghijabcdefghijabcdefghijkl:p", "", /* 32: a path */
		  "abcdefghijabcdefghijabcdefghijkl:p" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int r = wd_spec_split(cases[i].spec, name, &rest);
		assert_int_equal(r, cases[i].name[0] != 0);
		assert_string_equal(name, cases[i].name);
		assert_string_equal(rest, cases[i].rest);
	}
	assert_true(wd_backend_name_valid("ramcopy"));
	assert_false(wd_backend_name_valid("") || wd_backend_name_valid("a/b"));
	uint64_t v;
	assert_int_equal(wd_parse_size("64M", &v), 0);
	assert_int_equal(v, 64 * MiB);
	assert_int_equal(wd_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1024 * MiB);
	assert_int_equal(wd_parse_size("12X", &v), -1);
}

static void test_spec_open(void **state)
{
	(void)state;
	struct wodan_backend *be = NULL;

	assert_int_equal(wodan_backend_open("ram:1M", 0, 0, &be), 0);
	assert_string_equal(be->name, "ram");
	assert_int_equal(be->size_bytes, MiB);
	assert_int_equal(be->io_size_bytes, 512);
	wodan_backend_close(be);
	assert_int_equal(wodan_backend_open("ram:lots", 0, 0, &be),
			 WODAN_E_INVAL);
	assert_null(be);
	assert_true(has(wodan_last_error()->message, "bad RAM size"));

	const char *f = tpath("", "plain.img");
	assert_int_equal(wodan_backend_open(f, WODAN_BACKEND_CREATE, MiB, &be),
			 0);
	assert_string_equal(be->name, "file"); /* bare regular file */
	assert_int_equal(be->size_bytes, MiB);
	wodan_backend_close(be);
	assert_int_equal(wodan_backend_open(tpath("file:", "plain.img"),
					    0, 0, &be), 0);
	assert_string_equal(be->name, "file");
	wodan_backend_close(be);
	assert_int_equal(wodan_backend_open(tpath("direct:",
						  "plain.img"), 0, 0, &be), 0);
	assert_string_equal(be->name, "direct");
	wodan_backend_close(be);

	/* a path with a colon after a '/' is a path */
	const char *c = tpath("", "odd:name");
	assert_int_equal(wodan_backend_open(c, WODAN_BACKEND_CREATE, MiB, &be),
			 0);
	assert_string_equal(be->name, "file");
	wodan_backend_close(be);
	/* "NAME:..." naming an existing file (no such backend) is a path */
	char cwd[1024];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(tmpdir), 0);
	int r = wodan_backend_open("odd:name", 0, 0, &be);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(r, 0);
	assert_string_equal(be->name, "file");
	wodan_backend_close(be);

	/* an unknown backend says where it looked */
	unsetenv("WODAN_PLUGIN_PATH");
	assert_int_equal(wodan_backend_open("nosuch:x", 0, 0, &be),
			 WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message,
			"unknown backend 'nosuch'"));
	assert_true(has(wodan_last_error()->message, "(not set)"));
	setenv("WODAN_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b", 1);
	assert_int_equal(wodan_backend_open("nosuch:x", 0, 0, &be),
			 WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message, "/nonexistent/b"));
	unsetenv("WODAN_PLUGIN_PATH");
	assert_int_equal(wodan_backend_open("", 0, 0, &be), WODAN_E_INVAL);
}

/* ------------------------------------------------------- file, direct */

static void test_file_roundtrip(void **state)
{
	(void)state;
	roundtrip(tpath("file:", "f.img"), 16 * MiB, 4096, "file", 512);
	roundtrip(tpath("", "f2k.img"), 4 * MiB, 2048, "file", 512);
}

/* Open a direct backend on a file in tmpdir, or skip when the file system
 * cannot do O_DIRECT. */
static struct wodan_backend *direct_file(const char *name, uint64_t size)
{
	struct wodan_backend *be = NULL;
	int r = wodan_backend_direct_open(tpath("", name),
					  WODAN_BACKEND_CREATE, size, &be);
	if (r && strstr(wodan_last_error()->message, "O_DIRECT")) {
		printf("SKIP: %s\n", wodan_last_error()->message);
		skip();
	}
	assert_int_equal(r, 0);
	return be;
}

static void test_direct_file_roundtrip(void **state)
{
	(void)state;
	struct wodan_backend *be = direct_file("d.img", 16 * MiB);
	assert_int_equal(be->io_size_bytes % 4096, 0);
	wodan_backend_close(be);
	roundtrip(tpath("direct:", "d.img"), 16 * MiB, 4096, "direct",
		  0);
	roundtrip(tpath("direct:", "d64k.img"), 16 * MiB, 65536,
		  "direct", 0);
}

static void test_direct_misaligned(void **state)
{
	(void)state;
	struct wodan_backend *be = direct_file("m.img", 4 * MiB);
	uint32_t ss = be->io_size_bytes;
	uint8_t *buf = aligned_alloc(4096, 3 * 65536);
	assert_non_null(buf);
	memset(buf, 0xab, 3 * 65536);

	assert_int_equal(be->write(be, ss, buf, 2 * ss), 0);
	assert_int_equal(be->read(be, ss, buf, ss), 0);
	assert_int_equal(be->write(be, 512, buf, ss), -EINVAL);
	assert_int_equal(be->write(be, 0, buf, 512), -EINVAL);
	assert_int_equal(be->write(be, 0, buf + 512, ss), -EINVAL);
	assert_int_equal(be->read(be, ss / 2, buf, ss), -EINVAL);
	assert_int_equal(be->read(be, 0, buf, ss + 512), -EINVAL);
	assert_int_equal(be->read(be, 0, buf + 256, ss), -EINVAL);
	assert_int_equal(be->read(be, be->size_bytes, buf, ss), -EINVAL);
	assert_int_equal(be->write(be, be->size_bytes - ss, buf, 2 * ss),
			 -EINVAL);
	assert_non_null(be->discard);
	assert_int_equal(be->discard(be, 512, ss), -EINVAL);
	assert_int_equal(be->discard(be, ss, 2 * ss), 0);
	assert_int_equal(be->read(be, ss, buf, ss), 0);
	for (uint32_t i = 0; i < ss; i++) /* punched: reads zero */
		assert_int_equal(buf[i], 0);
	assert_int_equal(be->barrier(be), 0);
	free(buf);
	wodan_backend_close(be);
}

/* A block size that is not a multiple of the sector is refused at mkfs
 * and at open, naming both sizes. */
static void test_direct_bs_refused(void **state)
{
	(void)state;
	struct wodan_backend *be = direct_file("r.img", 4 * MiB);
	char ss[16];
	snprintf(ss, sizeof ss, "%u", be->io_size_bytes);
	struct wodan_mkfs_params p = { .block_size_bytes = 512,
				       .key_size_bytes = KS };
	assert_int_equal(wodan_mkfs(be, &p, NULL), WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message, "512"));
	assert_true(has(wodan_last_error()->message, ss));
	p.block_size_bytes = 2048;
	assert_int_equal(wodan_mkfs(be, &p, NULL), WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message, "2048"));
	assert_true(has(wodan_last_error()->message, ss));
	wodan_backend_close(be);

	/* format with bs 512 through the page cache, open with O_DIRECT */
	assert_int_equal(wodan_backend_open(tpath("file:", "r.img"), 0,
					    0, &be), 0);
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0); /* bs 2048 */
	wodan_backend_close(be);
	wodan_t *w = NULL;
	be = direct_file("r.img", 0);
	assert_int_equal(wodan_open(be, NULL, &w), WODAN_E_INVAL);
	assert_null(w);
	assert_true(has(wodan_last_error()->message, "2048"));
	assert_true(has(wodan_last_error()->message, ss));
	struct wodan_check_report rep;
	assert_true(wodan_check(be, 0, &rep, NULL, NULL) != 0);
	wodan_check_report_free(&rep);
	wodan_backend_close(be);
}

/* ------------------------------------------------------------ plugins */

static void test_plugin_by_path(void **state)
{
	(void)state;
	const char *so = PLUGIN_DIR "/plugin_bypath.so";
	struct wodan_backend *be = NULL;

	assert_null(wodan_plugin_lookup("bypath"));
	assert_int_equal(wodan_plugin_load(so), 0);
	assert_int_equal(wodan_plugin_load(so), 0); /* again: no-op */
	const struct wodan_plugin_info *info = wodan_plugin_lookup("bypath");
	assert_non_null(info);
	assert_int_equal(info->abi_version, WODAN_BACKEND_ABI_VERSION);
	assert_string_equal(info->name, "bypath");
	assert_int_equal(wodan_plugin_find("bypath"), 0);

	const char *img = tpath("", "bypath.img");
	roundtrip(tpath("bypath:", "bypath.img"), 8 * MiB, 4096,
		  "bypath", 4096);
	/* what the plugin made durable is in the file */
	assert_int_equal(wodan_backend_open(img, 0, 0, &be), 0);
	assert_string_equal(be->name, "file");
	wodan_t *w = NULL;
	uint8_t key[KS];
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	mkkey(key, 7);
	assert_int_equal(wodan_lookup(w, key, KS, NULL, 0, NULL), 1);
	wodan_abandon(w);
	wodan_backend_close(be);

	/* the plugin's own message reaches wodan_last_error() */
	assert_int_equal(wodan_backend_open("bypath:/nonexistent/x.img", 0,
					    0, &be), WODAN_E_IO_READ);
	assert_null(be);
	assert_true(has(wodan_last_error()->message,
			"ramcopy: /nonexistent/x.img: No such file"));
}

static void test_plugin_path_env(void **state)
{
	(void)state;
	setenv("WODAN_PLUGIN_PATH", "/nonexistent::" PLUGIN_DIR, 1);
	assert_null(wodan_plugin_lookup("ramcopy"));
	roundtrip(tpath("ramcopy:", "env.img"), 8 * MiB, 8192,
		  "ramcopy", 4096);
	assert_non_null(wodan_plugin_lookup("ramcopy"));
	/* the same object by path is the same plugin */
	assert_int_equal(wodan_plugin_load(PLUGIN_DIR "/libwodan-ramcopy.so"),
			 0);
	/* a plugin found by file name must carry that name */
	assert_int_equal(wodan_plugin_find("plugin_bypath"), WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message,
			"provides backend 'bypath', not 'plugin_bypath'"));
	unsetenv("WODAN_PLUGIN_PATH");
}

static void test_plugin_errors(void **state)
{
	(void)state;
	const struct wodan_error_detail *d = wodan_last_error();
	struct wodan_backend *be = NULL;

	/* missing symbol */
	assert_int_equal(wodan_plugin_load(PLUGIN_DIR "/plugin_nosym.so"),
			 WODAN_E_INVAL);
	assert_true(has(d->message, "plugin_nosym.so"));
	assert_true(has(d->message,
			"missing symbol wodan_backend_plugin_open"));
	assert_null(wodan_plugin_lookup("nosym"));

	/* ABI mismatch, by path and through WODAN_PLUGIN_PATH */
	assert_int_equal(wodan_plugin_load(PLUGIN_DIR "/plugin_badabi.so"),
			 WODAN_E_NOT_SUPPORTED);
	char want[64];
	snprintf(want, sizeof want, "uses version %u",
		 WODAN_BACKEND_ABI_VERSION);
	assert_true(has(d->message, "backend ABI version 999"));
	assert_true(has(d->message, want));
	assert_null(wodan_plugin_lookup("badabi"));
	setenv("WODAN_PLUGIN_PATH", PLUGIN_DIR, 1);
	assert_int_equal(wodan_backend_open("plugin_badabi:x", 0, 0, &be),
			 WODAN_E_NOT_SUPPORTED);
	assert_true(has(d->message, "backend ABI version 999"));
	unsetenv("WODAN_PLUGIN_PATH");

	/* dlopen failures carry dlerror()'s text */
	assert_int_equal(wodan_plugin_load("/nonexistent/p.so"),
			 WODAN_E_INVAL);
	assert_true(has(d->message, "cannot load"));
	assert_true(has(d->message, "cannot open shared object file"));
	const char *txt = tpath("", "notelf.so");
	FILE *f = fopen(txt, "w");
	assert_non_null(f);
	fprintf(f, "%0200d\n", 0); /* long enough for an ELF header */
	fclose(f);
	assert_int_equal(wodan_plugin_load(txt), WODAN_E_INVAL);
	assert_true(has(d->message, "cannot load"));
	assert_true(has(d->message, "notelf.so"));
	/* a bare file name is relative to the current directory */
	assert_int_equal(wodan_plugin_load("nosuch-plugin.so"),
			 WODAN_E_INVAL);
	assert_true(has(d->message, "./nosuch-plugin.so"));
	assert_int_equal(wodan_plugin_find("bad/name"), WODAN_E_INVAL);
	assert_int_equal(wodan_plugin_find("file"), 0); /* built in */
}

/* --------------------------------------------------------- loop devices */

static struct loopdev {
	char dev[64];
	char img[1024];
	int attached;
} loop;

/* Attach a 64 MiB file as a loop device with the given sector size
 * (0: default).  1 on success, 0 with why[] filled. */
static int loop_attach(struct loopdev *l, unsigned sector, char *why,
		       size_t n)
{
	memset(l, 0, sizeof *l);
	if (geteuid() != 0) {
		snprintf(why, n, "loop device test needs root");
		return 0;
	}
	snprintf(l->img, sizeof l->img, "%s/loop%u.img", tmpdir, sector);
	int fd = open(l->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(64 * MiB))) {
		snprintf(why, n, "cannot create %.300s: %s", l->img,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	char cmd[1200], opt[32] = "";
	if (sector)
		snprintf(opt, sizeof opt, "--sector-size %u ", sector);
	snprintf(cmd, sizeof cmd, "losetup -f --show %s'%s' 2>&1", opt,
		 l->img);
	FILE *p = popen(cmd, "r");
	char line[256] = "";
	if (!p || !fgets(line, sizeof line, p))
		line[0] = 0;
	int st = p ? pclose(p) : -1;
	line[strcspn(line, "\n")] = 0;
	if (st != 0 || strncmp(line, "/dev/loop", 9)) {
		snprintf(why, n, "losetup %sfailed: %s", opt,
			 line[0] ? line : "cannot run losetup");
		return 0;
	}
	snprintf(l->dev, sizeof l->dev, "%s", line);
	l->attached = 1; /* from here on, teardown detaches */
	if (access(l->dev, R_OK | W_OK)) {
		snprintf(why, n, "%s: %s", l->dev, strerror(errno));
		return 0;
	}
	printf("# attached %s (%s) to %s\n", l->img, opt[0] ? opt : "default",
	       l->dev);
	return 1;
}

static int loop_teardown(void **state)
{
	(void)state;
	char cmd[128];
	int r = 0;
	if (loop.attached) {
		snprintf(cmd, sizeof cmd, "losetup -d %s", loop.dev);
		r = system(cmd);
		printf("# detached %s: %s\n", loop.dev, r ? "FAILED" : "ok");
		loop.attached = 0;
	}
	if (loop.img[0])
		unlink(loop.img);
	return r ? -1 : 0;
}

static void loop_test(unsigned sector)
{
	char why[512], spec[80];
	struct wodan_backend *be = NULL;

	if (!loop_attach(&loop, sector, why, sizeof why)) {
		printf("SKIP: %s\n", why);
		skip();
	}
	unsigned want = sector ? sector : 512;
	/* a bare block device selects direct */
	assert_int_equal(wodan_backend_open(loop.dev, 0, 0, &be), 0);
	assert_string_equal(be->name, "direct");
	assert_int_equal(be->io_size_bytes, want);
	assert_int_equal(be->size_bytes, 64 * MiB);
	assert_true(be->phys_sector_bytes >= want);
	if (be->discard) /* BLKDISCARD, sector aligned */
		assert_int_equal(be->discard(be, 0, be->size_bytes), 0);
	uint8_t *buf = aligned_alloc(4096, 4096);
	assert_int_equal(be->read(be, 512, buf, 512), want > 512 ? -EINVAL : 0);
	free(buf);
	wodan_backend_close(be);

	snprintf(spec, sizeof spec, "direct:%s", loop.dev);
	roundtrip(spec, 0, 65536, "direct", want);
	if (want == 512)
		return;
	/* bs 512 on a 4096-sector device: refused at mkfs ... */
	assert_int_equal(wodan_backend_open(spec, 0, 0, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = 512,
				       .key_size_bytes = KS };
	assert_int_equal(wodan_mkfs(be, &p, NULL), WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message, "block size 512"));
	assert_true(has(wodan_last_error()->message, "4096"));
	wodan_backend_close(be);
	/* ... and at open (bs 2048, formatted through the backing file) */
	assert_int_equal(wodan_backend_file_open(loop.img, 0, 0, &be), 0);
	p.block_size_bytes = 2048;
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	wodan_backend_close(be);
	assert_int_equal(wodan_backend_open(spec, WODAN_BACKEND_RDONLY, 0, &be),
			 0);
	wodan_t *w = NULL;
	assert_int_equal(wodan_open(be, NULL, &w), WODAN_E_INVAL);
	assert_true(has(wodan_last_error()->message, "block size 2048"));
	assert_true(has(wodan_last_error()->message, "4096"));
	wodan_backend_close(be);
}

static void test_loop_512(void **state) { (void)state; loop_test(0); }
static void test_loop_4096(void **state) { (void)state; loop_test(4096); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_split),
		cmocka_unit_test(test_spec_open),
		cmocka_unit_test(test_file_roundtrip),
		cmocka_unit_test(test_direct_file_roundtrip),
		cmocka_unit_test(test_direct_misaligned),
		cmocka_unit_test(test_direct_bs_refused),
		cmocka_unit_test(test_plugin_by_path),
		cmocka_unit_test(test_plugin_path_env),
		cmocka_unit_test(test_plugin_errors),
		cmocka_unit_test_teardown(test_loop_512, loop_teardown),
		cmocka_unit_test_teardown(test_loop_4096, loop_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
