/*
 * bitflip/main.c -- the corruption suite's image (13 flushes over a small
 * device), its tree oracle and model, shared checks, and the entry
 */
#include "bitflip.h"

#define FIXED_RANDOM_LINKAGE
#include "fixed_random.h"

uint64_t seed;
/* deterministic mkfs (fsid, first block): fixed_random.h */

/* ------------------------------------------------------- keys, model */

/* The key pool (tests/support/kvmodel.h): NSLOT keys, slot i ascending in
 * i.  Model keys: even slots; probe keys (never written): odd slots.
 * Models are snapshots over all NSLOT slots. */
static struct kvpool pool;

static void pool_init(void)
{
	memset(&pool, 0, sizeof pool);
	pool.n = NSLOT;
	pool.ks = KS;
	pool.vseed = 0xb17f11bull;
	pool.keys = malloc((size_t)NSLOT * KS);
	assert_non_null(pool.keys);
	for (uint32_t i = 0; i < NSLOT; i++) {
		uint64_t s = i * 0x9e3779b97f4a7c15ull;
		uint64_t x = ((uint64_t)(i + 1) << 40) |
			     (tu_splitmix(&s) & 0xffffffffffull);
		for (int b = 0; b < 8; b++)
			pool.keys[(size_t)i * KS + (size_t)b] =
				(uint8_t)(x >> (56 - 8 * b));
	}
}

void mkkey(uint32_t i, uint8_t *k)
{
	memcpy(k, kv_key(&pool, i), KS);
}

void md_init(struct memdev *d, uint8_t *mem)
{
	memdev_init(d, mem, (uint64_t)LSIZE * BS, "bitflip-ram");
}

uint8_t *img;          /* the image */
struct genrec *gens;   /* per flush (index 0: after the 1st) */
int ngens;
uint64_t newest_gen, newest_root;
static uint8_t fsid[16];

struct node_info nodes[LSIZE];
int nnodes;

/* The oracle's walk (tests/support/oracle.c) calls this for every node,
 * parent first: record it in nodes[] with a probe slot in its range. */
static int record_node(void *arg, const struct oracle_node *on)
{
	(void)arg;
	if (nnodes >= (int)LSIZE)
		return -1;
	int me = nnodes++;
	struct node_info *ni = &nodes[me];
	ni->L = on->L;
	ni->gen = on->gen;
	ni->is_root = on->is_root;
	ni->rdepth = on->rdepth;
	ni->has_lo = on->lo != NULL;
	if (on->lo)
		memcpy(ni->lo, on->lo, KS);
	memset(ni->hi, 0xff, KS);
	if (on->hi)
		memcpy(ni->hi, on->hi, KS);
	ni->parent = on->parent;
	ni->probe = UINT32_MAX;
	for (uint32_t s = 1; s < NSLOT; s += 2) {
		const uint8_t *k = kv_key(&pool, s);
		if ((!on->lo || memcmp(k, on->lo, KS) > 0) &&
		    memcmp(k, ni->hi, KS) <= 0) {
			ni->probe = s;
			break;
		}
	}
	return me;
}

/* The blocks of the tree rooted at L, with their generations. */
int tree_blocks(const uint8_t *im, uint64_t L, struct genrec *g)
{
	nnodes = 0;
	int r = oracle_walk(im, LSIZE, BS, KS, fsid, L, record_node, NULL);
	g->nblk = (uint64_t)nnodes;
	for (int i = 0; i < nnodes; i++) {
		g->blk[i] = nodes[i].L;
		g->bgen[i] = nodes[i].gen;
	}
	return r;
}

/* Is the tree of flush record g still on the device, untouched? */
int intact(const uint8_t *im, const struct genrec *g)
{
	for (uint64_t i = 0; i < g->nblk; i++) {
		const uint8_t *b = im + g->blk[i] * BS;
		if (!oracle_crc_ok(b, BS) || oracle_le64(b + 1) != g->bgen[i])
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------- setup */

static void build_image(void)
{
	pool_init();
	img = calloc(LSIZE, BS);
	gens = calloc(MAXGEN, sizeof *gens);
	struct memdev d;
	md_init(&d, img);
	uint64_t rng = seed;
	mkfs_rng = tu_splitmix(&rng);
	struct wodan_mkfs_params p = { .block_size_bytes = BS,
				       .key_size_bytes = KS, .tombstones = 1 };
	assert_int_equal(wodan_mkfs(&d.be, &p, NULL), 0);
	struct wodan_open_opts o = { .max_fanout = 4 };
	wodan_t *w;
	assert_int_equal(wodan_open(&d.be, &o, &w), 0);
	struct wodan_info info;
	wodan_get_info(w, &info);
	memcpy(fsid, info.fsid, 16);
	struct ent cur[NSLOT] = { { 0, 0 } };
	uint8_t key[KS], val[512];
	/* record 0: the empty root mkfs wrote (a root candidate too) */
	gens[0].gen = info.generation;
	gens[0].root = info.root_block;
	assert_int_equal(tree_blocks(img, info.root_block, &gens[0]), 0);
	ngens = 1;
	uint32_t ver = 0;
	for (int f = 0; f < 12; f++) {
		uint32_t nops = f < 6 ? 110 : f < 9 ? 30 : 100;
		for (uint32_t j = 0; j < nops; j++) {
			uint32_t k = (uint32_t)tu_below(&rng, NKEYS);
			mkkey(2 * k, key);
			if (f >= 6 && tu_below(&rng, 5) == 0) {
				assert_int_equal(wodan_delete(w, key, KS), 0);
				cur[2 * k].ver = 0;
				continue;
			}
			uint32_t len = 20 + (uint32_t)tu_below(&rng, 180);
			kv_val(&pool, 2 * k, ++ver, len, val);
			assert_int_equal(wodan_insert(w, key, KS, val, len), 0);
			cur[2 * k].ver = ver;
			cur[2 * k].len = len;
		}
		uint64_t g;
		assert_int_equal(wodan_flush(w, &g), 0);
		wodan_get_info(w, &info);
		struct genrec *gr = &gens[ngens++];
		gr->gen = g;
		gr->root = info.root_block;
		memcpy(gr->model, cur, sizeof cur);
		assert_int_equal(tree_blocks(img, info.root_block, gr), 0);
		gr->image = malloc((size_t)LSIZE * BS);
		memcpy(gr->image, img, (size_t)LSIZE * BS);
	}
	assert_int_equal(wodan_close(w), 0);
	newest_gen = gens[ngens - 1].gen;
	newest_root = gens[ngens - 1].root;
	/* the node list of the newest tree (tree_blocks left it there) */
	assert_int_equal(tree_blocks(img, newest_root, &gens[ngens - 1]), 0);
	uint32_t depth = 0;
	for (int i = 0; i < nnodes; i++)
		if (nodes[i].is_root)
			depth = nodes[i].rdepth;
	printf("# image: %u blocks of %u, %d flushes, newest gen %llu root "
	       "%llu, depth %u, %d live blocks\n", LSIZE, BS, ngens,
	       (unsigned long long)newest_gen, (unsigned long long)newest_root,
	       depth, nnodes);
	fflush(stdout);
	assert_true(depth >= 2);
	assert_true(nnodes >= 10);
}

void fail_at(struct cnt *c, const char *fmt, ...)
{
	c->failures++;
	if (c->failures > 20)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printf("# FAIL (seed %llu): %s\n", (unsigned long long)seed, msg);
	fflush(stdout);
}

void flip(uint64_t L, const uint32_t *bits, int nb)
{
	for (int i = 0; i < nb; i++)
		img[L * BS + bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
}

/* 1 and the value of slot in model m, or 0 when m has none */
int model_key(uint32_t slot, const struct ent *m, uint8_t *val,
		     uint32_t *len)
{
	const struct ent *e = &m[slot];
	if (!e->ver)
		return 0;
	kv_val(&pool, slot, e->ver, e->len, val);
	*len = e->len;
	return 1;
}

/* 0: the whole contents of w equal m; 1: they differ; <0: iterate error */
int equals_model(wodan_t *w, const struct ent *m)
{
	return state_compare(w, &pool, m, NULL, 0);
}

const struct genrec *gen_rec(uint64_t g)
{
	for (int i = 0; i < ngens; i++)
		if (gens[i].gen == g)
			return &gens[i];
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	build_image();
	return 0;
}

int main(void)
{
	seed = tu_seed("test_bitflip");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flips),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_rollback),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
