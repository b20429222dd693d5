/*
 * bitflip/bitflip.h -- the corruption suite, tests/test_bitflip (files:
 * main.c, flips.c, transient.c, rollback.c) (doc/SPEC.md §11.1: a CRC
 * mismatch is reported with the block address; §8.3: roll back).
 *
 * A small image (bs 4096, ks 8, 80 blocks, fanout 4: depth 3, 25-35 live
 * blocks, the circular log wrapped) is built over 13 flushes, with
 * overwrites and deletes.  The test walks the tree itself (the oracle of
 * tests/support/oracle.c, independent of the library: it parses the on-disk
 * format of SPEC §5 and checks CRC-32C with its own table; keys, values
 * and snapshots: tests/support/kvmodel.h), so it knows every live block,
 * its key range, and for each one a "probe" key -- a key never written,
 * inside the block's range, whose lookup must read the block.
 *
 *   exhaustive  every 1-bit flip of every live block (under the sanitizers:
 *               of the root, one node per inner level and three leaves):
 *               the lookup of the block's probe key, through a handle whose
 *               clean cache is empty so that every lookup re-reads its path,
 *               returns WODAN_E_BAD_CRC with wodan_last_error()->block == the
 *               block.  A flipped root makes mount fall back to the previous
 *               root (a damaged root cannot be told from a torn root write,
 *               doc/SPEC.md §8.3): always exactly that intact older generation,
 *               never the newest one and never wrong data;
 *   sampled     random 1-, 2- and 3-bit flips of every live block (fast check
 *               as above; CRC-32C has Hamming distance >= 4 at this length,
 *               so every one must be caught), and per block a sample with
 *               the full check: mount without fast scan fails with BAD_CRC
 *               naming the block; with fast scan, lookups of every key
 *               return the right value or BAD_CRC naming the block (never
 *               wrong data) and iteration never yields wrong data;
 *               wodan_check returns 1 and reports the block (root: the
 *               fallback generation, clean); `wodanc check` exits 4 naming
 *               the block (when $WODANC is set, as in make check);
 *   transient   a read that flips bits once (tests/fault_backend.c) is
 *               retried: lookups succeed; twice: BAD_CRC naming the block.
 *               One transient flip of the newest root while mount searches
 *               for it should not matter either (doc/SPEC.md §11.1); known
 *               library bug B2 (see test_crash.c) makes it matter: counted,
 *               a failure only with WODAN_STRICT=1;
 *   rollback    damaging blocks of the newest trees: wodan_check lists
 *               exactly the older generations whose trees are intact (the
 *               oracle: every block of that flush's tree still holds what
 *               the flush wrote), WODAN_OPEN_ROLLBACK opens the newest of
 *               them with exactly that flush's contents (or refuses when none
 *               is left), `wodanc check --rollback` exits 4; cases: a leaf
 *               or an inner node only the newest tree has, blocks of the two
 *               newest trees, a block shared by the three newest trees.
 *
 * WODAN_SEED replays.  WODAN_BITFLIP_EXHAUSTIVE=all|some chooses the
 * exhaustive blocks; WODAN_BITFLIP_SAMPLES (default 600, 150 under the
 * sanitizers) the random flips per live block; WODAN_BITFLIP_FULL (default
 * 12) the full checks per live block.
 */
#ifndef WODAN_TEST_BITFLIP_H
#define WODAN_TEST_BITFLIP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"
#include "fault_backend.h"
#include "kvmodel.h"
#include "memdev.h"
#include "oracle.h"

#define BS 4096u
#define KS 8u
#define LSIZE 80u
#define NKEYS 700u          /* model keys use even pool slots */
#define NSLOT (2 * NKEYS + 2)
#define MAXGEN 64

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct genrec {
	uint64_t gen, root;
	uint8_t *image;     /* the whole image right after that flush */
	struct ent model[NSLOT]; /* per pool slot */
	/* the tree right after that flush: blocks and their generations */
	uint64_t nblk;
	uint64_t blk[LSIZE], bgen[LSIZE];
};

/* ---------------------------------------------------- the tree oracle */

struct node_info {
	uint64_t L, gen;
	int is_root;
	uint32_t rdepth;
	uint8_t lo[KS], hi[KS];
	int has_lo;
	uint32_t probe;     /* odd pool slot inside (lo, hi] */
	int parent;         /* index in nodes[], -1 for the root */
};

/* ------------------------------------------------------------ checks */

struct cnt {
	uint64_t tried, detected, failures;
};

extern uint64_t mkfs_rng; /* fixed_random.h, in main.c */
extern uint64_t seed;
void mkkey(uint32_t i, uint8_t *k);
void md_init(struct memdev *d, uint8_t *mem);
extern uint8_t *img;
extern struct genrec *gens;
extern int ngens;
extern uint64_t newest_gen, newest_root;
extern struct node_info nodes[LSIZE];
extern int nnodes;
int tree_blocks(const uint8_t *im, uint64_t L, struct genrec *g);
int intact(const uint8_t *im, const struct genrec *g);
void fail_at(struct cnt *c, const char *fmt, ...);
void flip(uint64_t L, const uint32_t *bits, int nb);
int model_key(uint32_t slot, const struct ent *m, uint8_t *val,
		     uint32_t *len);
int equals_model(wodan_t *w, const struct ent *m);
const struct genrec *gen_rec(uint64_t g);
int run_cli(const char *args, uint64_t L, int want_exit);
void test_flips(void **state);
void test_transient(void **state);
void test_rollback(void **state);

#endif
