/*
 * test_lock.c -- device locks (one writer, readers beside it, wholesale
 * rewrites alone; wodan_backend.h WODAN_LOCK_*) with real processes:
 *  - the backend's lock modes on one file, converted in place: a failed
 *    upgrade keeps the old mode, downgrades and releases let others in;
 *  - two writers: the second wodan_open fails at once with WODAN_E_LOCKED
 *    naming the file and the holder's pid; readers and check open beside
 *    the writer, mkfs does not; after the first closes the second opens;
 *  - the same within one process (two backends on one file, two handles on
 *    one backend): one handle's release does not drop another's lock;
 *  - a writer inserting and flushing generation-tagged values in a loop
 *    beside two reader processes opening, iterating and looking up: each
 *    reader sees exactly the state of one flush or gets WODAN_E_CHANGED,
 *    never a corruption error nor wrong data; then the image checks clean
 *    with the writer's last state;
 *  - mkfs while a reader holds the image, readers/check/writers while the
 *    image is held alone (EXCLUSIVE), a rollback open downgraded to writer;
 *  - mkfs, then open: another process can neither write nor format in
 *    between (the mkfs's WRITER hold, adopted by the open), and after
 *    the close the device is free;
 *  - two writers on a loop device (root with a working losetup; otherwise a
 *    visible "SKIP: ..." line).
 * Temporary files go to a fresh directory under $TMPDIR (default /tmp).
 * WODAN_LOCK_SECONDS sets how long the writer/readers test runs (default 3).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"

#define KS 8
#define BS 4096u
#define NBASE 300       /* keys rewritten by every round of the writer */
#define VLEN 48
#define MAXROUNDS 1500  /* extras grow the tree: stay far from full */

static char tmpdir[512];
static uint64_t seed;

static const char *tpath(const char *name)
{
	static char buf[4][1024];
	static int i;
	char *p = buf[i++ & 3];
	snprintf(p, 1024, "%s/%s", tmpdir, name);
	return p;
}

/* A fresh image file of `bytes` (block size BS, key size KS; a redo
 * journal when journal is non-zero). */
static void make_image_j(const char *path, uint64_t bytes, int journal)
{
	struct wodan_backend *be;
	unlink(path);
	assert_int_equal(wodan_backend_file_open(path, WODAN_BACKEND_CREATE,
						 bytes, &be), 0);
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS,
				       .journal = journal };
	assert_int_equal(wodan_mkfs(be, &p, NULL), 0);
	wodan_backend_close(be);
}

static void make_image(const char *path, uint64_t bytes)
{
	make_image_j(path, bytes, 0);
}

/* ------------------------------------------------------- processes */

/* In a child: print and leave with status 1 when cond is false. */
#define CHILD_CHECK(cond, ...)                                              \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "child %d, line %d: ", (int)getpid(), \
				__LINE__);                                  \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, " (last error %d: %s)\n",           \
				wodan_last_error()->code,                   \
				wodan_last_error()->message);               \
			return 1;                                           \
		}                                                           \
	} while (0)

struct chan {
	int to_child[2], to_parent[2];
};

static void chan_open(struct chan *c)
{
	assert_int_equal(pipe(c->to_child), 0);
	assert_int_equal(pipe(c->to_parent), 0);
}

static void chan_close(struct chan *c)
{
	close(c->to_child[0]);
	close(c->to_child[1]);
	close(c->to_parent[0]);
	close(c->to_parent[1]);
}

static void say(int fd, char ch)
{
	while (write(fd, &ch, 1) < 0 && errno == EINTR)
		;
}

/* The next byte from fd; 0 at end of file (the other side is gone). */
static char hear(int fd)
{
	char ch;
	ssize_t n;
	while ((n = read(fd, &ch, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? ch : 0;
}

static pid_t spawn(int (*fn)(void *), void *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		alarm(120); /* never outlive a stuck test */
		_exit(fn(arg));
	}
	return p;
}

/* Exit status of child p (128 + signal when killed). */
static int reap(pid_t p)
{
	int st = 0;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* --------------------------------------------------------- keys, values */

static void base_key(uint8_t *k, uint32_t i)
{
	memset(k, 0, KS);
	k[0] = 0;
	k[1] = (uint8_t)(i >> 8);
	k[2] = (uint8_t)i;
}

static void extra_key(uint8_t *k, uint32_t round)
{
	memset(k, 0, KS);
	k[0] = 1;
	k[1] = (uint8_t)(round >> 16);
	k[2] = (uint8_t)(round >> 8);
	k[3] = (uint8_t)round;
}

/* The value of key `idx` (base: 0..NBASE-1; extras: NBASE) written in
 * round `round`: the round, the index, then bytes only that pair gives. */
static void make_val(uint8_t *v, uint32_t round, uint32_t idx)
{
	uint64_t s = ((uint64_t)round << 20) ^ idx ^ seed;
	memcpy(v, &round, 4);
	memcpy(v + 4, &idx, 4);
	for (int i = 8; i < VLEN; i += 8) {
		uint64_t x = tu_splitmix(&s);
		memcpy(v + i, &x, VLEN - i < 8 ? (size_t)(VLEN - i) : 8);
	}
}

static uint32_t val_round(const uint8_t *v)
{
	uint32_t r;
	memcpy(&r, v, 4);
	return r;
}

/* Write round r: every base key gets round r's value, extra key r appears.
 * Then flush.  0 or the error. */
static int write_round(wodan_t *w, uint32_t r)
{
	uint8_t k[KS], v[VLEN];
	for (uint32_t i = 0; i < NBASE; i++) {
		base_key(k, i);
		make_val(v, r, i);
		int e = wodan_insert(w, k, KS, v, VLEN);
		if (e)
			return e;
	}
	extra_key(k, r);
	make_val(v, r, NBASE);
	int e = wodan_insert(w, k, KS, v, VLEN);
	return e ? e : wodan_flush(w, NULL);
}

/* Checks one handle's view against "the state after round T", T taken
 * from the first key seen. */
struct view {
	uint32_t T;       /* UINT32_MAX until known */
	uint32_t nbase, nextra;
	int bad;
	char why[200];
};

static int view_cb(void *arg, const uint8_t *key, const uint8_t *val,
		   size_t len)
{
	struct view *c = arg;
	uint8_t want[VLEN], k[KS];
	if (c->bad)
		return 0;
	if (len != VLEN) {
		c->bad = 1;
		snprintf(c->why, sizeof c->why, "value of %zu bytes", len);
		return 0;
	}
	if (key[0] == 0) {
		uint32_t i = (uint32_t)key[1] << 8 | key[2];
		base_key(k, i);
		if (c->T == UINT32_MAX)
			c->T = val_round(val);
		make_val(want, c->T, i);
		if (i != c->nbase || memcmp(k, key, KS) ||
		    memcmp(want, val, VLEN)) {
			c->bad = 1;
			snprintf(c->why, sizeof c->why, "base key %u: round "
				 "%u, expected key %u of round %u", i,
				 val_round(val), c->nbase, c->T);
		}
		c->nbase++;
	} else {
		uint32_t r = (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 |
			     key[3];
		extra_key(k, r);
		make_val(want, r, NBASE);
		if (r != c->nextra + 1 || memcmp(k, key, KS) ||
		    memcmp(want, val, VLEN) || (c->T != UINT32_MAX && r > c->T)) {
			c->bad = 1;
			snprintf(c->why, sizeof c->why, "extra key of round %u "
				 "after %u extras, state of round %u", r,
				 c->nextra, c->T);
		}
		c->nextra++;
	}
	return 0;
}

/* Does w hold exactly the state after some round (0 = only mkfs)?  Sets
 * *round.  0 yes, a negative wodan error from iterate/lookup, or 1 with
 * why[] for wrong data. */
static int check_view(wodan_t *w, uint64_t *rng, uint32_t *round, char *why,
		      size_t n)
{
	struct view c = { .T = UINT32_MAX };
	int r = wodan_iterate(w, NULL, NULL, view_cb, &c);
	if (c.bad) {
		snprintf(why, n, "%s", c.why);
		return 1;
	}
	if (r)
		return r;
	if (c.T == UINT32_MAX)
		c.T = 0;
	if ((c.T == 0 && c.nbase != 0) || (c.T && c.nbase != NBASE) ||
	    c.nextra != c.T) {
		snprintf(why, n, "round %u: %u base keys, %u extras", c.T,
			 c.nbase, c.nextra);
		return 1;
	}
	*round = c.T;
	/* lookups agree with the iteration */
	for (int j = 0; j < 40; j++) {
		uint8_t k[KS], v[VLEN], want[VLEN];
		size_t len = 0;
		uint32_t i = (uint32_t)tu_below(rng, NBASE + 1);
		if (i == NBASE) { /* an extra key: present iff <= T */
			uint32_t e = 1 + (uint32_t)tu_below(rng, c.T + 2);
			extra_key(k, e);
			make_val(want, e, NBASE);
			r = wodan_lookup(w, k, KS, v, sizeof v, &len);
			if (r < 0)
				return r;
			if (r != (e <= c.T) ||
			    (r && (len != VLEN || memcmp(v, want, VLEN)))) {
				snprintf(why, n, "lookup of extra %u in the "
					 "state of round %u: %d", e, c.T, r);
				return 1;
			}
			continue;
		}
		base_key(k, i);
		make_val(want, c.T, i);
		r = wodan_lookup(w, k, KS, v, sizeof v, &len);
		if (r < 0)
			return r;
		if (r != (c.T > 0) ||
		    (r && (len != VLEN || memcmp(v, want, VLEN)))) {
			snprintf(why, n, "lookup of base %u in the state of "
				 "round %u: %d, round %u", i, c.T, r,
				 r == 1 ? val_round(v) : 0);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------- backend lock modes */

static int be_lock(struct wodan_backend *be, unsigned mode)
{
	return be->lock(be, mode);
}

static void test_backend_modes(void **st)
{
	(void)st;
	const char *img = tpath("modes.img");
	make_image(img, 1u << 20);
	struct wodan_backend *a, *b, *c;
	assert_int_equal(wodan_backend_open(img, 0, 0, &a), 0);
	assert_int_equal(wodan_backend_open(img, WODAN_BACKEND_RDONLY, 0, &b),
			 0);
	/* (write locks need a writable descriptor: c is read-write) */
	assert_int_equal(wodan_backend_open(img, 0, 0, &c), 0);
	assert_non_null(a->lock);
	assert_int_equal(be_lock(a, 7), -EINVAL);
	/* readers together */
	assert_int_equal(be_lock(a, WODAN_LOCK_SHARED), 0);
	assert_int_equal(be_lock(b, WODAN_LOCK_SHARED), 0);
	/* an upgrade to EXCLUSIVE beside a reader fails and keeps SHARED */
	assert_int_equal(be_lock(a, WODAN_LOCK_EXCLUSIVE), -EWOULDBLOCK);
	assert_non_null(strstr(wodan_last_error()->message, img));
	assert_non_null(strstr(wodan_last_error()->message, "reader"));
	assert_int_equal(be_lock(b, WODAN_LOCK_NONE), 0);
	assert_int_equal(be_lock(c, WODAN_LOCK_EXCLUSIVE), -EWOULDBLOCK);
	/* a writer beside a reader; a second writer is refused */
	assert_int_equal(be_lock(a, WODAN_LOCK_WRITER), 0);
	assert_int_equal(be_lock(b, WODAN_LOCK_SHARED), 0);
	assert_int_equal(be_lock(c, WODAN_LOCK_WRITER), -EWOULDBLOCK);
	assert_non_null(strstr(wodan_last_error()->message, "writer"));
	/* a's conversion from SHARED to WRITER dropped its reader byte: b
	 * alone blocks EXCLUSIVE, and then nothing after b's release but
	 * a's writer */
	assert_int_equal(be_lock(b, WODAN_LOCK_NONE), 0);
	assert_int_equal(be_lock(c, WODAN_LOCK_EXCLUSIVE), -EWOULDBLOCK);
	assert_non_null(strstr(wodan_last_error()->message, "writer"));
	/* WRITER -> EXCLUSIVE -> WRITER */
	assert_int_equal(be_lock(a, WODAN_LOCK_EXCLUSIVE), 0);
	assert_int_equal(be_lock(b, WODAN_LOCK_SHARED), -EWOULDBLOCK);
	assert_non_null(strstr(wodan_last_error()->message, "alone"));
	assert_int_equal(be_lock(a, WODAN_LOCK_WRITER), 0);
	assert_int_equal(be_lock(b, WODAN_LOCK_SHARED), 0);
	/* WRITER -> EXCLUSIVE beside a reader fails and keeps WRITER */
	assert_int_equal(be_lock(a, WODAN_LOCK_EXCLUSIVE), -EWOULDBLOCK);
	assert_int_equal(be_lock(c, WODAN_LOCK_WRITER), -EWOULDBLOCK);
	/* release; closing releases too */
	assert_int_equal(be_lock(a, WODAN_LOCK_NONE), 0);
	assert_int_equal(be_lock(c, WODAN_LOCK_WRITER), 0);
	wodan_backend_close(c);
	assert_int_equal(be_lock(a, WODAN_LOCK_WRITER), 0);
	wodan_backend_close(b);
	wodan_backend_close(a);
	/* ram cannot lock: NULL, and the library treats it as success */
	struct wodan_backend *r;
	assert_int_equal(wodan_backend_ram_create(1u << 20, &r), 0);
	assert_null(r->lock);
	wodan_backend_close(r);
}

/* ------------------------------------------------------- two writers */

struct holder {
	const char *img;
	struct chan ch;
	unsigned flags;   /* wodan_open flags, or ~0u: be->lock EXCLUSIVE */
	int direct;
};

/* Child: open img (flags), insert key "held", tell 'r', wait for 'q',
 * close, tell 'd'. */
static int hold_child(void *arg)
{
	struct holder *h = arg;
	struct wodan_backend *be;
	unsigned bf = h->flags != ~0u && (h->flags & WODAN_OPEN_READONLY)
			      ? WODAN_BACKEND_RDONLY : 0;
	int r = h->direct ? wodan_backend_direct_open(h->img, bf, 0, &be)
			  : wodan_backend_open(h->img, bf, 0, &be);
	CHILD_CHECK(r == 0, "backend open of %s: %d", h->img, r);
	wodan_t *w = NULL;
	if (h->flags == ~0u) {
		r = be->lock(be, WODAN_LOCK_EXCLUSIVE);
		CHILD_CHECK(r == 0, "EXCLUSIVE: %d", r);
	} else {
		r = wodan_open(be, &(struct wodan_open_opts){ .flags = h->flags },
			       &w);
		CHILD_CHECK(r == 0, "open: %d", r);
		if (!(h->flags & WODAN_OPEN_READONLY)) {
			uint8_t k[KS] = "held";
			r = wodan_insert(w, k, KS, "by child", 8);
			CHILD_CHECK(r == 0, "insert: %d", r);
			r = wodan_flush(w, NULL);
			CHILD_CHECK(r == 0, "flush: %d", r);
		}
	}
	say(h->ch.to_parent[1], 'r');
	(void)hear(h->ch.to_child[0]); /* 'q' or the parent is gone */
	if (w)
		CHILD_CHECK(wodan_close(w) == 0, "close");
	wodan_backend_close(be);
	say(h->ch.to_parent[1], 'd');
	return 0;
}

static pid_t hold(struct holder *h, const char *img, unsigned flags)
{
	h->img = img;
	h->flags = flags;
	chan_open(&h->ch);
	pid_t p = spawn(hold_child, h);
	assert_int_equal(hear(h->ch.to_parent[0]), 'r');
	return p;
}

static void unhold(struct holder *h, pid_t p)
{
	say(h->ch.to_child[1], 'q');
	assert_int_equal(hear(h->ch.to_parent[0]), 'd');
	assert_int_equal(reap(p), 0);
	chan_close(&h->ch);
}

/* wodan_open of spec with flags must fail with WODAN_E_LOCKED, the message
 * naming name and containing `also` (may be NULL). */
static void expect_locked(const char *spec, unsigned bflags, unsigned flags,
			  const char *name, const char *also)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_open(spec, bflags, 0, &be), 0);
	wodan_t *w = NULL;
	int r = wodan_open(be, &(struct wodan_open_opts){ .flags = flags },
			   &w);
	const char *msg = wodan_last_error()->message;
	printf("# open 0x%x: %d: %s\n", flags, r, msg);
	assert_int_equal(r, WODAN_E_LOCKED);
	assert_null(w);
	assert_non_null(strstr(msg, name));
	if (also)
		assert_non_null(strstr(msg, also));
	wodan_backend_close(be);
}

static void expect_key(const char *spec, const char *val)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_open(spec, 0, 0, &be), 0);
	wodan_t *w;
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	uint8_t k[KS] = "held", v[16];
	size_t len = 0;
	assert_int_equal(wodan_lookup(w, k, KS, v, sizeof v, &len), 1);
	assert_memory_equal(v, val, len);
	assert_int_equal(wodan_close(w), 0);
	wodan_backend_close(be);
}

static void test_two_writers(void **st)
{
	(void)st;
	const char *img = tpath("two.img");
	make_image(img, 1u << 20);
	struct holder h;
	pid_t p = hold(&h, img, 0);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %d", (int)p);
	/* a second writer: at once, naming the file and the child's pid */
	expect_locked(img, 0, 0, img, pid);
	expect_locked(img, 0, 0, "another writer", NULL);
	/* a rollback open needs it alone */
	expect_locked(img, 0, WODAN_OPEN_ROLLBACK, img, pid);
	/* a reader and a check beside the writer */
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_open(img, WODAN_BACKEND_RDONLY, 0, &be),
			 0);
	wodan_t *w;
	assert_int_equal(wodan_open(be, &(struct wodan_open_opts){
					    .flags = WODAN_OPEN_READONLY },
				    &w), 0);
	uint8_t k[KS] = "held", v[16];
	assert_int_equal(wodan_lookup(w, k, KS, v, sizeof v, NULL), 1);
	assert_memory_equal(v, "by child", 8);
	assert_int_equal(wodan_close(w), 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 0);
	wodan_check_report_free(&rep);
	wodan_backend_close(be);
	/* mkfs: refused, and nothing was touched */
	assert_int_equal(wodan_backend_open(img, 0, 0, &be), 0);
	assert_int_equal(wodan_mkfs(be, &(struct wodan_mkfs_params){
					    .block_size_bytes = BS,
					    .key_size_bytes = KS }, NULL),
			 WODAN_E_LOCKED);
	printf("# mkfs: %s\n", wodan_last_error()->message);
	assert_non_null(strstr(wodan_last_error()->message, img));
	assert_non_null(strstr(wodan_last_error()->message, "mkfs"));
	wodan_backend_close(be);
	unhold(&h, p);
	/* the first writer is gone: the second opens, the data is there */
	expect_key(img, "by child");
}

/* Within one process: backends and handles exclude each other too, and one
 * user's release keeps the others' locks. */
static void test_same_process(void **st)
{
	(void)st;
	const char *img = tpath("same.img");
	make_image(img, 1u << 20);
	struct wodan_backend *a, *b;
	assert_int_equal(wodan_backend_open(img, 0, 0, &a), 0);
	assert_int_equal(wodan_backend_open(img, 0, 0, &b), 0);
	wodan_t *w, *w2, *r;
	assert_int_equal(wodan_open(a, NULL, &w), 0);
	/* another backend on the same file: the OFD lock refuses it */
	assert_int_equal(wodan_open(b, NULL, &w2), WODAN_E_LOCKED);
	assert_non_null(strstr(wodan_last_error()->message, img));
	/* the same backend: refused by the library */
	assert_int_equal(wodan_open(a, NULL, &w2), WODAN_E_LOCKED);
	assert_non_null(strstr(wodan_last_error()->message, "this process"));
	/* a reader and a check on the writer's backend, then released:
	 * the writer's lock stays */
	const struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
	assert_int_equal(wodan_open(a, &ro, &r), 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(a, 0, &rep, NULL, NULL), 0);
	wodan_check_report_free(&rep);
	assert_int_equal(wodan_close(r), 0);
	assert_int_equal(wodan_open(b, NULL, &w2), WODAN_E_LOCKED);
	/* mkfs on the writer's own backend is refused too */
	assert_int_equal(wodan_mkfs(a, NULL, NULL), WODAN_E_LOCKED);
	assert_int_equal(wodan_close(w), 0);
	/* released: b writes now */
	assert_int_equal(wodan_open(b, NULL, &w2), 0);
	wodan_abandon(w2);
	assert_int_equal(wodan_open(a, NULL, &w), 0);
	wodan_abandon(w);
	wodan_backend_close(b);
	wodan_backend_close(a);
}

/* ------------------------------------------- one writer, two readers */

struct shared {
	volatile int done;              /* the writer finished */
	volatile uint32_t last_round;   /* newest round flushed */
	volatile uint32_t opens[2], changed[2], views[2];
	volatile uint32_t min_round[2], max_round[2];
	char why[2][256];
};

struct rw_arg {
	const char *img;
	struct shared *sh;
	int id;              /* reader number */
	double seconds;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int writer_child(void *arg)
{
	struct rw_arg *a = arg;
	struct wodan_backend *be;
	CHILD_CHECK(wodan_backend_open(a->img, 0, 0, &be) == 0, "open");
	wodan_t *w;
	/* a small dirty budget: autoflushes inside rounds are not wanted,
	 * so the default is kept; the cache is small to keep reads real */
	CHILD_CHECK(wodan_open(be, NULL, &w) == 0, "wodan_open");
	double end = now() + a->seconds;
	uint32_t r = 0;
	while (r < MAXROUNDS && (now() < end || r < 20)) {
		r++;
		int e = write_round(w, r);
		CHILD_CHECK(e == 0, "round %u: %d", r, e);
		a->sh->last_round = r;
	}
	CHILD_CHECK(wodan_close(w) == 0, "close");
	wodan_backend_close(be);
	a->sh->done = 1;
	return 0;
}

static int reader_child(void *arg)
{
	struct rw_arg *a = arg;
	struct shared *sh = a->sh;
	int id = a->id;
	uint64_t rng = seed ^ (0x5eedull * (uint64_t)(id + 1));
	sh->min_round[id] = UINT32_MAX;
	for (uint32_t it = 0; !sh->done || it < 3; it++) {
		struct wodan_backend *be;
		int r = wodan_backend_open(a->img, WODAN_BACKEND_RDONLY, 0,
					   &be);
		CHILD_CHECK(r == 0, "backend open");
		struct wodan_open_opts o = {
			.flags = WODAN_OPEN_READONLY |
				 ((it & 1) ? WODAN_OPEN_FAST_SCAN : 0),
			.cache_bytes = 64 << 10, /* evict: reads come late */
		};
		wodan_t *w = NULL;
		uint32_t before = sh->last_round;
		r = wodan_open(be, &o, &w);
		sh->opens[id]++;
		if (r == WODAN_E_CHANGED) {
			sh->changed[id]++;
			wodan_backend_close(be);
			continue;
		}
		if (r) {
			snprintf(sh->why[id], sizeof sh->why[id],
				 "open: %d %.200s", r,
				 wodan_last_error()->message);
			return 1;
		}
		/* let the writer move on: it may reuse blocks of the tree
		 * mounted here before they are read again */
		struct timespec nap = { 0, (long)tu_below(&rng, 10000000) };
		nanosleep(&nap, NULL);
		char why[200];
		uint32_t round = 0;
		r = check_view(w, &rng, &round, why, sizeof why);
		if (r == 1) {
			snprintf(sh->why[id], sizeof sh->why[id],
				 "WRONG DATA: %s", why);
			return 1;
		}
		if (r == WODAN_E_CHANGED) {
			sh->changed[id]++;
		} else if (r) {
			snprintf(sh->why[id], sizeof sh->why[id],
				 "read: %d %.200s", r,
				 wodan_last_error()->message);
			return 1;
		} else {
			/* a flushed round: at least the one done before the
			 * open began (its root was durable), at most the
			 * one in progress */
			uint32_t after = sh->last_round;
			if (round + 1 < before || round > after + 1) {
				snprintf(sh->why[id], sizeof sh->why[id],
					 "state of round %u, writer was at "
					 "%u..%u", round, before, after);
				return 1;
			}
			sh->views[id]++;
			if (round < sh->min_round[id])
				sh->min_round[id] = round;
			if (round > sh->max_round[id])
				sh->max_round[id] = round;
		}
		wodan_abandon(w);
		wodan_backend_close(be);
	}
	return 0;
}

static void writer_readers(int journal)
{
	const char *img = tpath("rw.img");
	/* small (128 blocks): the writer soon reuses blocks */
	make_image_j(img, 512u << 10, journal);
	struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof *sh);
	double secs = (double)tu_env_u64("WODAN_LOCK_SECONDS", 3);
	struct rw_arg wa = { img, sh, 0, secs }, ra[2] = {
		{ img, sh, 0, secs }, { img, sh, 1, secs } };
	pid_t rp[2];
	pid_t wp = spawn(writer_child, &wa);
	rp[0] = spawn(reader_child, &ra[0]);
	rp[1] = spawn(reader_child, &ra[1]);
	int ws = reap(wp);
	if (ws)
		sh->done = 1; /* let the readers stop */
	int rs0 = reap(rp[0]), rs1 = reap(rp[1]);
	printf("# writer: %u rounds (exit %d)\n", sh->last_round, ws);
	for (int i = 0; i < 2; i++)
		printf("# reader %d: exit %d, %u opens, %u consistent views "
		       "(rounds %u..%u), %u WODAN_E_CHANGED%s%s\n", i,
		       i ? rs1 : rs0, sh->opens[i], sh->views[i],
		       sh->views[i] ? sh->min_round[i] : 0, sh->max_round[i],
		       sh->changed[i], sh->why[i][0] ? "; FAILED: " : "",
		       sh->why[i]);
	assert_int_equal(ws, 0);
	assert_int_equal(rs0, 0);
	assert_int_equal(rs1, 0);
	assert_true(sh->views[0] > 0 && sh->views[1] > 0);
	/* the image checks clean and holds the writer's last round */
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_open(img, 0, 0, &be), 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.live_keys, NBASE + sh->last_round);
	wodan_check_report_free(&rep);
	wodan_t *w;
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	uint64_t rng = seed;
	uint32_t round = 0;
	char why[200] = "";
	int r = check_view(w, &rng, &round, why, sizeof why);
	if (r)
		printf("# final state: %d %s\n", r, why);
	assert_int_equal(r, 0);
	assert_int_equal(round, sh->last_round);
	assert_int_equal(wodan_close(w), 0);
	wodan_backend_close(be);
	munmap(sh, sizeof *sh);
}

static void test_writer_readers(void **st)
{
	(void)st;
	writer_readers(0);
}

/* The same on a journal image: flushes are journal commits, the tree is
 * written at the checkpoints the writer makes on its own. */
static void test_writer_readers_journal(void **st)
{
	(void)st;
	writer_readers(1);
}

/* ------------------------------------------------ alone: mkfs, rollback */

static void test_alone(void **st)
{
	(void)st;
	const char *img = tpath("alone.img");
	make_image(img, 1u << 20);
	/* a writer leaves "held" behind */
	struct holder h;
	pid_t p = hold(&h, img, 0);
	unhold(&h, p);
	/* mkfs while a reader holds the image: refused, image untouched */
	p = hold(&h, img, WODAN_OPEN_READONLY);
	char pid[32];
	snprintf(pid, sizeof pid, "pid %d", (int)p);
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_open(img, 0, 0, &be), 0);
	assert_int_equal(wodan_mkfs(be, &(struct wodan_mkfs_params){
					    .block_size_bytes = BS,
					    .key_size_bytes = KS }, NULL),
			 WODAN_E_LOCKED);
	const char *msg = wodan_last_error()->message;
	printf("# mkfs beside a reader: %s\n", msg);
	assert_non_null(strstr(msg, img));
	assert_non_null(strstr(msg, "reader"));
	assert_non_null(strstr(msg, pid));
	assert_non_null(strstr(msg, "mkfs needs it alone"));
	wodan_backend_close(be);
	/* a writer is fine beside the reader */
	expect_key(img, "by child");
	/* and a writable rollback open is not (it needs it alone) */
	expect_locked(img, 0, WODAN_OPEN_ROLLBACK, img, "reader");
	unhold(&h, p);
	expect_key(img, "by child");

	/* the image held alone: readers, checks, writers, mkfs refused */
	p = hold(&h, img, ~0u);
	snprintf(pid, sizeof pid, "pid %d", (int)p);
	expect_locked(img, WODAN_BACKEND_RDONLY, WODAN_OPEN_READONLY, img,
		      pid);
	expect_locked(img, 0, 0, img, "alone");
	assert_int_equal(wodan_backend_open(img, WODAN_BACKEND_RDONLY, 0, &be),
			 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL),
			 WODAN_E_LOCKED);
	assert_int_equal(rep.n_problems, 0);
	assert_non_null(strstr(wodan_last_error()->message, img));
	wodan_backend_close(be);
	unhold(&h, p);

	/* a rollback open is alone only while it rolls back: afterwards
	 * a reader opens beside it, a writer does not */
	p = hold(&h, img, WODAN_OPEN_ROLLBACK);
	snprintf(pid, sizeof pid, "pid %d", (int)p);
	assert_int_equal(wodan_backend_open(img, WODAN_BACKEND_RDONLY, 0, &be),
			 0);
	wodan_t *w;
	assert_int_equal(wodan_open(be, &(struct wodan_open_opts){
					    .flags = WODAN_OPEN_READONLY },
				    &w), 0);
	wodan_abandon(w);
	wodan_backend_close(be);
	expect_locked(img, 0, 0, img, pid);
	unhold(&h, p);
	expect_key(img, "by child");
}

/* ---------------------------------------------- mkfs, then the open */

struct try_arg {
	const char *img;
	unsigned flags;      /* wodan_open flags, or ~0u: wodan_mkfs */
};

/* Child: one attempt on img from another process; exits 0 when it was
 * refused with WODAN_E_LOCKED, 2 when it succeeded, 1 otherwise. */
static int try_child(void *arg)
{
	const struct try_arg *a = arg;
	struct wodan_backend *be;
	unsigned bf = a->flags != ~0u && (a->flags & WODAN_OPEN_READONLY)
			      ? WODAN_BACKEND_RDONLY : 0;
	int r = wodan_backend_open(a->img, bf, 0, &be);
	CHILD_CHECK(r == 0, "backend open of %s: %d", a->img, r);
	wodan_t *w = NULL;
	if (a->flags == ~0u)
		r = wodan_mkfs(be, &(struct wodan_mkfs_params){
				       .block_size_bytes = BS,
				       .key_size_bytes = KS }, NULL);
	else
		r = wodan_open(be, &(struct wodan_open_opts){
				       .flags = a->flags }, &w);
	printf("# child %s 0x%x: %d %s\n", a->flags == ~0u ? "mkfs" : "open",
	       a->flags, r, r ? wodan_last_error()->message : "");
	fflush(stdout);
	if (w)
		wodan_abandon(w);
	wodan_backend_close(be);
	return r == WODAN_E_LOCKED ? 0 : r == 0 ? 2 : 1;
}

/* Another process's writable open (flags 0) or mkfs (~0u): 0 refused
 * with WODAN_E_LOCKED, 2 done. */
static int other_process(const char *img, unsigned flags)
{
	struct try_arg a = { img, flags };
	return reap(spawn(try_child, &a));
}

/* A successful mkfs keeps the device as this process's writer until the
 * writable open that follows adopts the hold: nobody else can format or
 * write in between (two concurrent `wodanc restore --mkfs` interleaved
 * there); readers and checks work beside it; a close frees the device. */
static void test_mkfs_then_open(void **st)
{
	(void)st;
	const char *img = tpath("mkfsopen.img");
	make_image(img, 1u << 20); /* make_image closes: nothing held */
	assert_int_equal(other_process(img, 0), 2);

	struct wodan_backend *be;
	assert_int_equal(wodan_backend_open(img, 0, 0, &be), 0);
	const struct wodan_mkfs_params mp = { .block_size_bytes = BS,
					      .key_size_bytes = KS };
	assert_int_equal(wodan_mkfs(be, &mp, NULL), 0);
	/* between mkfs and open: another process can neither write nor
	 * format; it can read */
	assert_int_equal(other_process(img, 0), 0);
	assert_int_equal(other_process(img, ~0u), 0);
	assert_int_equal(other_process(img, WODAN_OPEN_READONLY), 2);
	/* a read-only open and a check on the same backend beside the hold */
	wodan_t *r, *w, *w2;
	assert_int_equal(wodan_open(be, &(struct wodan_open_opts){
					    .flags = WODAN_OPEN_READONLY },
				    &r), 0);
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.n_problems, 0);
	wodan_check_report_free(&rep);
	assert_int_equal(wodan_close(r), 0);
	assert_int_equal(other_process(img, 0), 0);
	/* the writable open adopts the hold; it is still one writer */
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	assert_int_equal(wodan_open(be, NULL, &w2), WODAN_E_LOCKED);
	assert_non_null(strstr(wodan_last_error()->message, "this process"));
	assert_int_equal(other_process(img, 0), 0);
	uint8_t k[KS] = "held";
	assert_int_equal(wodan_insert(w, k, KS, "by mkfs", 7), 0);
	assert_int_equal(wodan_close(w), 0);
	/* closed: free for others, though the backend is still open */
	assert_int_equal(other_process(img, 0), 2);
	assert_int_equal(wodan_open(be, NULL, &w), 0);
	assert_int_equal(wodan_close(w), 0);

	/* mkfs twice in a row on one backend: the second adopts the
	 * first's hold; closing the backend without an open frees it */
	assert_int_equal(wodan_mkfs(be, &mp, NULL), 0);
	assert_int_equal(wodan_mkfs(be, &mp, NULL), 0);
	assert_int_equal(other_process(img, 0), 0);
	wodan_backend_close(be);
	assert_int_equal(other_process(img, 0), 2);

	/* a failed mkfs (bad geometry) holds nothing */
	assert_int_equal(wodan_backend_open(img, 0, 0, &be), 0);
	assert_int_equal(wodan_mkfs(be, &(struct wodan_mkfs_params){
					    .block_size_bytes = 1000,
					    .key_size_bytes = KS }, NULL),
			 WODAN_E_INVAL);
	assert_int_equal(other_process(img, 0), 2);
	wodan_backend_close(be);
}

/* ------------------------------------------------------- loop device */

static void test_loop_two_writers(void **st)
{
	(void)st;
	char why[600] = "", dev[64] = "";
	const char *img = tpath("loop.img");
	if (geteuid() != 0) {
		printf("SKIP: two writers on a loop device: needs root\n");
		skip();
	}
	int fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	close(fd);
	char cmd[1200], line[256] = "";
	snprintf(cmd, sizeof cmd, "losetup -f --show '%s' 2>&1", img);
	FILE *pp = popen(cmd, "r");
	if (!pp || !fgets(line, sizeof line, pp))
		line[0] = 0;
	int rc = pp ? pclose(pp) : -1;
	line[strcspn(line, "\n")] = 0;
	if (rc != 0 || strncmp(line, "/dev/loop", 9)) {
		snprintf(why, sizeof why, "losetup failed: %s",
			 line[0] ? line : "cannot run losetup");
		printf("SKIP: two writers on a loop device: %s\n", why);
		unlink(img);
		skip();
	}
	snprintf(dev, sizeof dev, "%s", line);
	printf("# attached %s to %s\n", img, dev);
	struct wodan_backend *be;
	int r = wodan_backend_direct_open(dev, 0, 0, &be);
	if (r == 0) {
		r = wodan_mkfs(be, &(struct wodan_mkfs_params){
				       .block_size_bytes = BS,
				       .key_size_bytes = KS }, NULL);
		wodan_backend_close(be);
	}
	if (r == 0) {
		struct holder h = { .direct = 1 };
		pid_t p = hold(&h, dev, 0);
		char pid[32];
		snprintf(pid, sizeof pid, "pid %d", (int)p);
		/* O_EXCL refuses the second writable open of the device; the
		 * library tells a wodan writer apart: WODAN_E_LOCKED */
		r = wodan_backend_direct_open(dev, 0, 0, &be);
		const char *msg = wodan_last_error()->message;
		printf("# second writer on %s: %d: %s\n", dev, r, msg);
		int ok = r == WODAN_E_LOCKED && strstr(msg, dev) &&
			 strstr(msg, pid);
		if (r == 0) {
			wodan_t *w = NULL;
			r = wodan_open(be, NULL, &w);
			printf("# ... wodan_open: %d: %s\n", r,
			       wodan_last_error()->message);
			ok = r == WODAN_E_LOCKED &&
			     strstr(wodan_last_error()->message, dev);
			wodan_abandon(w);
			wodan_backend_close(be);
		}
		/* a reader opens beside it */
		int rr = wodan_backend_direct_open(dev, WODAN_BACKEND_RDONLY, 0,
						   &be);
		if (rr == 0) {
			wodan_t *w = NULL;
			rr = wodan_open(be, &(struct wodan_open_opts){
						.flags = WODAN_OPEN_READONLY },
					&w);
			wodan_abandon(w);
			wodan_backend_close(be);
		}
		unhold(&h, p);
		/* the first is gone: the second writer opens */
		r = wodan_backend_direct_open(dev, 0, 0, &be);
		if (r == 0) {
			wodan_t *w = NULL;
			r = wodan_open(be, NULL, &w);
			if (r == 0)
				r = wodan_close(w);
			wodan_backend_close(be);
		}
		snprintf(cmd, sizeof cmd, "losetup -d %s", dev);
		int d = system(cmd);
		printf("# detached %s: %s\n", dev, d ? "FAILED" : "ok");
		unlink(img);
		assert_true(ok);
		assert_int_equal(rr, 0);
		assert_int_equal(r, 0);
		return;
	}
	snprintf(cmd, sizeof cmd, "losetup -d %s", dev);
	if (system(cmd))
		printf("# detach of %s failed\n", dev);
	unlink(img);
	assert_int_equal(r, 0);
}

/* ------------------------------------------------------------- main */

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

int main(void)
{
	seed = tu_seed("test_lock");
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/wodan-lock.XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_modes),
		cmocka_unit_test(test_two_writers),
		cmocka_unit_test(test_same_process),
		cmocka_unit_test(test_writer_readers),
		cmocka_unit_test(test_writer_readers_journal),
		cmocka_unit_test(test_alone),
		cmocka_unit_test(test_mkfs_then_open),
		cmocka_unit_test(test_loop_two_writers),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}
