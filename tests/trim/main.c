/*
 * trim/main.c -- the trim suite's recording device, reachability oracles,
 * discard ranges, model, and the entry
 */
#include "trim.h"

#define FIXED_RANDOM_LINKAGE
#include "fixed_random.h"

uint64_t seed;

/* deterministic mkfs (fsid, first block): fixed_random.h */

/* ------------------------------------------------------ recording device */

/* A memdev (tests/support/memdev.h) over its own bytes, logging writes,
 * discards and barriers while recording. */
struct memdev *rd_new(uint64_t size)
{
	struct memdev *d = malloc(sizeof *d);
	uint8_t *mem = calloc(1, size);
	assert_non_null(d);
	assert_non_null(mem);
	memdev_init(d, mem, size, "trim-recorder");
	d->log_barriers = 1;
	return d;
}

void rd_free(struct memdev *d)
{
	memdev_clear_log(d);
	free(d->mem);
	free(d);
}

/* Fill the device with a non-zero pattern (so discards are visible). */
void rd_fill(struct memdev *d, uint8_t byte)
{
	memset(d->mem, byte, d->be.size_bytes);
}

uint8_t *rd_snapshot(struct memdev *d)
{
	uint8_t *img = malloc(d->be.size_bytes);
	assert_non_null(img);
	memcpy(img, d->mem, d->be.size_bytes);
	return img;
}

/* A RAM backend holding a copy of img. */
struct wodan_backend *ram_with(const uint8_t *img, uint64_t size)
{
	struct wodan_backend *be;
	assert_int_equal(wodan_backend_ram_create(size, &be), 0);
	assert_int_equal(be->write(be, 0, img, size), 0);
	return be;
}

/* ------------------------------------------------------ reachable oracle */

/* reach[L] = 1 iff block L belongs to the newest tree of img (see the top
 * comment).  img must check clean.  *gen gets the newest generation. */
void reachable(const uint8_t *img, uint64_t size, uint64_t lsize,
		      uint8_t *reach, uint64_t *gen)
{
	struct wodan_backend *be = ram_with(img, size);
	struct wodan_check_report rep;
	int r = wodan_check(be, 0, &rep, NULL, NULL);
	if (r != 0)
		fail_msg("oracle: image not clean (%d): %s (seed %llu)", r,
			 rep.n_problems ? rep.problems[0].what : "-",
			 (unsigned long long)seed);
	uint64_t g0 = rep.generation, root0 = rep.root_block;
	wodan_check_report_free(&rep);
	static const uint8_t zero[BS];
	memset(reach, 0, lsize);
	reach[0] = 1;
	for (uint64_t L = 1; L < lsize; L++) {
		const uint8_t *blk = img + L * BS;
		if (!memcmp(blk, zero, BS))
			continue; /* already zero: zeroing changes nothing */
		assert_int_equal(be->write(be, L * BS, zero, BS), 0);
		r = wodan_check(be, 0, &rep, NULL, NULL);
		reach[L] = r != 0 || rep.generation != g0 ||
			   rep.root_block != root0;
		wodan_check_report_free(&rep);
		assert_int_equal(be->write(be, L * BS, blk, BS), 0);
	}
	if (gen)
		*gen = g0;
	wodan_backend_close(be);
}

/* A second, cheaper oracle: walk the on-disk child links (doc/SPEC.md §5,
 * tests/support/oracle.c) from the root that a read-only mount of img
 * finds.  Cross-checked with reachable() (test_fstrim_random, end of
 * test_live_trim). */
static int mark_reached(void *arg, const struct oracle_node *n)
{
	uint8_t *reach = arg;
	if (reach[n->L]) /* single ownership */
		return -1;
	reach[n->L] = 1;
	return 0;
}

void reachable_walk(const uint8_t *img, uint64_t size, uint64_t lsize,
			   uint8_t *reach, uint64_t *gen)
{
	struct wodan_backend *be = ram_with(img, size);
	struct wodan_open_opts ro = { .flags = WODAN_OPEN_READONLY };
	wodan_t *w;
	int r = wodan_open(be, &ro, &w);
	if (r)
		fail_msg("walk oracle: image does not mount: %s (seed %llu)",
			 wodan_strerror(r), (unsigned long long)seed);
	struct wodan_info info;
	wodan_get_info(w, &info);
	wodan_abandon(w);
	wodan_backend_close(be);
	memset(reach, 0, lsize);
	reach[0] = 1;
	if (oracle_walk(img, lsize, BS, KS, NULL, info.root_block, mark_reached,
			reach))
		fail_msg("walk oracle: the tree of root %llu is not well formed "
			 "or a block has two parents (seed %llu)",
			 (unsigned long long)info.root_block,
			 (unsigned long long)seed);
	if (gen)
		*gen = info.generation;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->L < y->L ? -1 : x->L > y->L;
}

/* The discards logged from op index `from` on, as block ranges sorted by
 * address; *n gets their number. */
struct range *discards_since(const struct memdev *d, size_t from,
				    size_t *n)
{
	struct range *v = malloc((d->nlog - from + 1) * sizeof *v);
	size_t k = 0;
	for (size_t i = from; i < d->nlog; i++) {
		const struct md_op *o = &d->log[i];
		if (o->kind != MD_DISCARD)
			continue;
		assert_int_equal(o->off % BS, 0);
		assert_int_equal(o->len % BS, 0);
		v[k].L = o->off / BS;
		v[k].n = o->len / BS;
		k++;
	}
	qsort(v, k, sizeof *v, cmp_range);
	*n = k;
	return v;
}

/* Check the discards of one trim call: inside [1, lsize), coalesced (no
 * two ranges overlap or touch), none on a block with forbid[L] set, and -
 * when expect is given - covering exactly the blocks with expect[L] set.
 * Returns the number of blocks discarded. */
uint64_t check_ranges(const struct range *v, size_t n, uint64_t lsize,
			     const uint8_t *forbid, const uint8_t *expect,
			     const char *what)
{
	uint8_t *got = calloc(lsize, 1);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].L == 0 || v[i].n == 0 || v[i].L + v[i].n > lsize)
			fail_msg("%s: discard [%llu, +%llu) outside 1..%llu "
				 "(seed %llu)", what,
				 (unsigned long long)v[i].L,
				 (unsigned long long)v[i].n,
				 (unsigned long long)lsize - 1,
				 (unsigned long long)seed);
		if (i > 0 && v[i - 1].L + v[i - 1].n >= v[i].L)
			fail_msg("%s: discards [%llu, +%llu) and [%llu, +%llu) "
				 "touch: not coalesced (seed %llu)", what,
				 (unsigned long long)v[i - 1].L,
				 (unsigned long long)v[i - 1].n,
				 (unsigned long long)v[i].L,
				 (unsigned long long)v[i].n,
				 (unsigned long long)seed);
		for (uint64_t L = v[i].L; L < v[i].L + v[i].n; L++) {
			if (forbid && forbid[L])
				fail_msg("%s: discarded block %llu of the "
					 "durable tree (seed %llu)", what,
					 (unsigned long long)L,
					 (unsigned long long)seed);
			got[L] = 1;
		}
		total += v[i].n;
	}
	if (expect)
		for (uint64_t L = 0; L < lsize; L++)
			if (got[L] != (expect[L] != 0))
				fail_msg("%s: block %llu %s (seed %llu)", what,
					 (unsigned long long)L,
					 got[L] ? "discarded but not expected"
						: "expected but not discarded",
					 (unsigned long long)seed);
	free(got);
	return total;
}

void model_init(struct model *m, uint64_t rng, uint32_t want)
{
	memset(m, 0, sizeof *m);
	m->rng = rng;
	kv_pool_random(&m->p, KS, want, &m->rng, 0, seed);
	m->cur = snap_new(&m->p);
	m->next_ver = 1;
}

void model_free(struct model *m)
{
	kv_pool_free(&m->p);
	free(m->cur);
}

/* Fails unless w holds exactly snapshot s. */
void expect_contents(wodan_t *w, const struct model *m,
			    const struct ent *s, const char *what)
{
	char why[400];
	if (state_equal(w, &m->p, s, why, sizeof why))
		fail_msg("%s: %s (seed %llu)", what, why,
			 (unsigned long long)seed);
}

/* One random change: insert / overwrite (85%) or delete.  Returns the
 * wodan result; the model changes only on success. */
int model_op(wodan_t *w, struct model *m, uint32_t max_len)
{
	uint32_t ki = (uint32_t)tu_below(&m->rng, m->p.n);
	const uint8_t *key = kv_key(&m->p, ki);
	if (tu_below(&m->rng, 100) < 15) {
		int r = wodan_delete(w, key, KS);
		if (r == 0)
			m->cur[ki].ver = 0;
		return r;
	}
	static uint8_t val[65536];
	uint32_t len = 1 + (uint32_t)tu_below(&m->rng, max_len);
	uint32_t ver = m->next_ver++;
	kv_val(&m->p, ki, ver, len, val);
	int r = wodan_insert(w, key, KS, val, len);
	if (r == 0) {
		m->cur[ki].ver = ver;
		m->cur[ki].len = len;
	}
	return r;
}

struct wodan_open_opts opts = { .flags = WODAN_OPEN_NO_AUTOFLUSH };

void mkfs_on(struct memdev *d, uint64_t lsize, int discard)
{
	struct wodan_mkfs_params p = { 0 };
	p.block_size_bytes = BS;
	p.key_size_bytes = KS;
	p.logical_size_blocks = lsize;
	p.tombstones = 1;
	p.discard = discard;
	assert_int_equal(wodan_mkfs(&d->be, &p, NULL), 0);
}

void expect_clean(struct wodan_backend *be, uint64_t gen,
			 const char *what)
{
	struct wodan_check_report rep;
	int r = wodan_check(be, 0, &rep, NULL, NULL);
	if (r != 0)
		fail_msg("%s: check %d: %s (seed %llu)", what, r,
			 rep.n_problems ? rep.problems[0].what : "-",
			 (unsigned long long)seed);
	assert_int_equal(rep.used_blocks + rep.free_blocks,
			 rep.logical_size_blocks);
	if (gen)
		assert_int_equal(rep.generation, gen);
	wodan_check_report_free(&rep);
}

int main(void)
{
	seed = tu_seed("test_trim");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkfs_discard),
		cmocka_unit_test(test_fstrim_fresh),
		cmocka_unit_test(test_fstrim_random),
		cmocka_unit_test(test_live_trim),
		cmocka_unit_test(test_powercut_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
