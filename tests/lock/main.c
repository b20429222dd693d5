/*
 * lock/main.c -- the lock suite's temporary images, child processes and
 * their channels, generation-tagged keys and values and the check of one
 * reader's view, and the entry
 */
#include "lock.h"

static char tmpdir[512];
uint64_t seed;

const char *tpath(const char *name)
{
	static char buf[4][1024];
	static int i;
	char *p = buf[i++ & 3];
	snprintf(p, 1024, "%s/%s", tmpdir, name);
	return p;
}

/* A fresh image file of `bytes` (block size BS, key size KS; a redo
 * journal when journal is non-zero). */
void make_image_j(const char *path, uint64_t bytes, int journal)
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

void make_image(const char *path, uint64_t bytes)
{
	make_image_j(path, bytes, 0);
}

void chan_open(struct chan *c)
{
	assert_int_equal(pipe(c->to_child), 0);
	assert_int_equal(pipe(c->to_parent), 0);
}

void chan_close(struct chan *c)
{
	close(c->to_child[0]);
	close(c->to_child[1]);
	close(c->to_parent[0]);
	close(c->to_parent[1]);
}

void say(int fd, char ch)
{
	while (write(fd, &ch, 1) < 0 && errno == EINTR)
		;
}

/* The next byte from fd; 0 at end of file (the other side is gone). */
char hear(int fd)
{
	char ch;
	ssize_t n;
	while ((n = read(fd, &ch, 1)) < 0 && errno == EINTR)
		;
	return n == 1 ? ch : 0;
}

pid_t spawn(int (*fn)(void *), void *arg)
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
int reap(pid_t p)
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
int write_round(wodan_t *w, uint32_t r)
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
int check_view(wodan_t *w, uint64_t *rng, uint32_t *round, char *why,
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
