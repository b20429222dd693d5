/*
 * lock/writers.c -- the backend's lock modes on one file, two writers in
 * two processes, and two backends or handles in one process
 */
#include "lock.h"

/* ------------------------------------------------- backend lock modes */

static int be_lock(struct wodan_backend *be, unsigned mode)
{
	return be->lock(be, mode);
}

void test_backend_modes(void **st)
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

pid_t hold(struct holder *h, const char *img, unsigned flags)
{
	h->img = img;
	h->flags = flags;
	chan_open(&h->ch);
	pid_t p = spawn(hold_child, h);
	assert_int_equal(hear(h->ch.to_parent[0]), 'r');
	return p;
}

void unhold(struct holder *h, pid_t p)
{
	say(h->ch.to_child[1], 'q');
	assert_int_equal(hear(h->ch.to_parent[0]), 'd');
	assert_int_equal(reap(p), 0);
	chan_close(&h->ch);
}

/* wodan_open of spec with flags must fail with WODAN_E_LOCKED, the message
 * naming name and containing `also` (may be NULL). */
void expect_locked(const char *spec, unsigned bflags, unsigned flags,
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

void expect_key(const char *spec, const char *val)
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

void test_two_writers(void **st)
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
void test_same_process(void **st)
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
