/*
 * lock/readers.c -- one writer flushing in a loop beside two reader
 * processes: each reader sees exactly one flush's state or WODAN_E_CHANGED
 */
#include "lock.h"

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

void test_writer_readers(void **st)
{
	(void)st;
	writer_readers(0);
}

/* The same on a journal image: flushes are journal commits, the tree is
 * written at the checkpoints the writer makes on its own. */
void test_writer_readers_journal(void **st)
{
	(void)st;
	writer_readers(1);
}
