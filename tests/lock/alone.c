/*
 * lock/alone.c -- images held alone (mkfs, rollback) and mkfs, then open:
 * nobody writes or formats in between
 */
#include "lock.h"

/* ------------------------------------------------ alone: mkfs, rollback */

void test_alone(void **st)
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
void test_mkfs_then_open(void **st)
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
