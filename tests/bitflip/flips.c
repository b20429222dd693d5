/*
 * bitflip/flips.c -- flipped bits of every live block: exhaustive 1-bit
 * flips, sampled 1-, 2- and 3-bit flips, full checks (mount, fast mount,
 * iterate, check, wodanc check), the root fallback
 */
#include "bitflip.h"

/* What a mount finds when the newest root is unreadable: computed once
 * (fallback_gen), then every root flip must give exactly that. */
static uint64_t fallback_gen, fallback_root;

int run_cli(const char *args, uint64_t L, int want_exit)
{
	const char *wc = getenv("WODANC");
	if (!wc || access(wc, X_OK))
		return -1;
	char path[] = "/tmp/wodan-bitflip-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, img, (size_t)LSIZE * BS);
	close(fd);
	if (n != (ssize_t)LSIZE * BS) {
		unlink(path);
		return -1;
	}
	char cmd[1024], out[] = "/tmp/wodan-bitflip-out-XXXXXX";
	int ofd = mkstemp(out);
	close(ofd);
	snprintf(cmd, sizeof cmd, "'%s' check %s 'file:%s' >'%s' 2>&1", wc,
		 args, path, out);
	int st = system(cmd);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	char needle[64], buf[8192] = { 0 };
	snprintf(needle, sizeof needle, "block %llu", (unsigned long long)L);
	FILE *f = fopen(out, "r");
	size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[got] = 0;
	unlink(path);
	unlink(out);
	int ok = code == want_exit && (L == 0 || strstr(buf, needle));
	if (!ok)
		printf("# wodanc check %s: exit %d (want %d), output:\n%s", args,
		       code, want_exit, buf);
	return ok ? 0 : 1;
}

/* Full check of a flip of node index ni (bits already flipped). */
static int full_check(int ni, struct cnt *c, int cli)
{
	const struct node_info *n = &nodes[ni];
	const struct genrec *newest = &gens[ngens - 1];
	struct memdev d;
	md_init(&d, img);
	int bad = 0;
	/* 1. mount with the full walk */
	wodan_t *w = NULL;
	struct wodan_open_opts o = { .cache_bytes = 1 };
	int r = wodan_open(&d.be, &o, &w);
	if (n->is_root) {
		struct wodan_info info;
		if (r == 0)
			wodan_get_info(w, &info);
		if (r || info.generation != fallback_gen ||
		    info.root_block != fallback_root) {
			fail_at(c, "root flip: mount %s gen %llu, want the "
				"fallback gen %llu", wodan_strerror(r),
				r ? 0ull : (unsigned long long)info.generation,
				(unsigned long long)fallback_gen);
			bad = 1;
		} else if (equals_model(w, gen_rec(fallback_gen)->model)) {
			fail_at(c, "root flip: the fallback generation %llu "
				"has wrong contents",
				(unsigned long long)fallback_gen);
			bad = 1;
		}
		wodan_abandon(w);
	} else {
		if (r != WODAN_E_BAD_CRC || wodan_last_error()->block != n->L) {
			fail_at(c, "block %llu flipped: full mount gave %s "
				"block %llu", (unsigned long long)n->L,
				wodan_strerror(r),
				(unsigned long long)wodan_last_error()->block);
			bad = 1;
		}
		wodan_abandon(w);
		w = NULL;
		/* 2. fast scan: leaves are read on demand (a damaged one
		 * is never cached, so every lookup routed to it re-reads) */
		o.flags = WODAN_OPEN_FAST_SCAN;
		o.cache_bytes = 0;
		r = wodan_open(&d.be, &o, &w);
		if (n->rdepth > 0) {
			if (r != WODAN_E_BAD_CRC ||
			    wodan_last_error()->block != n->L) {
				fail_at(c, "inner block %llu flipped: fast "
					"mount gave %s", (unsigned long long)n->L,
					wodan_strerror(r));
				bad = 1;
			}
		} else if (r) {
			fail_at(c, "leaf %llu flipped: fast mount failed: %s",
				(unsigned long long)n->L, wodan_strerror(r));
			bad = 1;
		} else {
			/* every key: right answer or BAD_CRC naming L */
			uint64_t hits = 0;
			for (uint32_t s = 0; s < NSLOT; s++) {
				uint8_t key[KS], buf[512], want[512];
				uint32_t wl = 0;
				size_t vl = 0;
				mkkey(s, key);
				int lr = wodan_lookup(w, key, KS, buf, sizeof buf,
						      &vl);
				int has = model_key(s, newest->model, want, &wl);
				if (lr == WODAN_E_BAD_CRC &&
				    wodan_last_error()->block == n->L) {
					hits++;
					continue;
				}
				if (lr < 0 || lr != has ||
				    (has && (vl != wl || memcmp(buf, want, wl)))) {
					fail_at(c, "leaf %llu flipped: lookup of "
						"slot %u gave %d (%s), model %d",
						(unsigned long long)n->L, s, lr,
						lr < 0 ? wodan_strerror(lr) : "-",
						has);
					bad = 1;
					break;
				}
			}
			if (!hits) {
				fail_at(c, "leaf %llu flipped: no lookup noticed",
					(unsigned long long)n->L);
				bad = 1;
			}
			int er = equals_model(w, newest->model);
			if (er == 1 || (er < 0 && (er != WODAN_E_BAD_CRC ||
					 wodan_last_error()->block != n->L))) {
				fail_at(c, "leaf %llu flipped: iteration gave %d",
					(unsigned long long)n->L, er);
				bad = 1;
			}
		}
		wodan_abandon(w);
	}
	/* 3. check */
	struct wodan_check_report rep;
	r = wodan_check(&d.be, 0, &rep, NULL, NULL);
	if (n->is_root) {
		if (r != 0 || rep.generation != fallback_gen) {
			fail_at(c, "root flip: check %d gen %llu", r,
				(unsigned long long)rep.generation);
			bad = 1;
		}
	} else {
		int named = 0;
		for (uint32_t i = 0; i < rep.n_problems; i++)
			named |= rep.problems[i].block == n->L &&
				 rep.problems[i].code == WODAN_E_BAD_CRC;
		if (r != 1 || !named) {
			fail_at(c, "block %llu flipped: check returned %d, %u "
				"problems, block not named",
				(unsigned long long)n->L, r, rep.n_problems);
			bad = 1;
		}
	}
	wodan_check_report_free(&rep);
	if (cli && !n->is_root && run_cli("", n->L, 4) == 1) {
		fail_at(c, "wodanc check on block %llu flipped",
			(unsigned long long)n->L);
		bad = 1;
	}
	c->tried++;
	if (!bad)
		c->detected++;
	return bad;
}

/* Fast check through a handle with an empty clean cache: the probe
 * lookup must re-read the block and report it. */
static int fast_check(wodan_t *w, int ni, struct cnt *c)
{
	const struct node_info *n = &nodes[ni];
	uint8_t key[KS];
	mkkey(n->probe, key);
	int r = wodan_lookup(w, key, KS, NULL, 0, NULL);
	c->tried++;
	if (r == WODAN_E_BAD_CRC && wodan_last_error()->block == n->L) {
		c->detected++;
		return 0;
	}
	fail_at(c, "block %llu (rdepth %u) flipped: probe lookup gave %d (%s) "
		"block %llu", (unsigned long long)n->L, n->rdepth, r,
		r < 0 ? wodan_strerror(r) : "no error",
		(unsigned long long)wodan_last_error()->block);
	return 1;
}

/* Root flip: mount must fall back to exactly the fallback root. */
static int root_check(struct cnt *c)
{
	struct memdev d;
	md_init(&d, img);
	wodan_t *w;
	struct wodan_open_opts o = { .flags = WODAN_OPEN_FAST_SCAN };
	int r = wodan_open(&d.be, &o, &w);
	c->tried++;
	if (r == 0) {
		struct wodan_info info;
		wodan_get_info(w, &info);
		wodan_abandon(w);
		if (info.generation == fallback_gen &&
		    info.root_block == fallback_root) {
			c->detected++;
			return 0;
		}
		fail_at(c, "root flip: mounted gen %llu root %llu, want %llu",
			(unsigned long long)info.generation,
			(unsigned long long)info.root_block,
			(unsigned long long)fallback_gen);
		return 1;
	}
	fail_at(c, "root flip: mount failed: %s", wodan_strerror(r));
	return 1;
}

static void random_bits(uint64_t *rng, uint32_t *bits, int nb)
{
	for (int i = 0; i < nb; i++) {
	again:
		bits[i] = (uint32_t)tu_below(rng, BS * 8);
		for (int j = 0; j < i; j++)
			if (bits[j] == bits[i])
				goto again;
	}
}

static void setup_fallback(void)
{
	/* the root's CRC broken by one flip: what does mount find? */
	uint32_t bit = 100 * 8;
	flip(newest_root, &bit, 1);
	struct memdev d;
	md_init(&d, img);
	wodan_t *w;
	int r = wodan_open(&d.be, NULL, &w);
	assert_int_equal(r, 0);
	struct wodan_info info;
	wodan_get_info(w, &info);
	fallback_gen = info.generation;
	fallback_root = info.root_block;
	const struct genrec *g = gen_rec(fallback_gen);
	assert_non_null(g);
	assert_true(fallback_gen < newest_gen);
	assert_int_equal(equals_model(w, g->model), 0);
	wodan_abandon(w);
	flip(newest_root, &bit, 1);
	printf("# a damaged newest root (gen %llu) makes mount fall back to "
	       "gen %llu (root %llu): %s flush, intact\n",
	       (unsigned long long)newest_gen, (unsigned long long)fallback_gen,
	       (unsigned long long)fallback_root,
	       fallback_gen == gens[ngens - 2].gen ? "the previous"
						   : "an older");
}

void test_flips(void **state)
{
	(void)state;
	uint64_t t0 = tu_now_ns();
	setup_fallback();
	/* re-walk the newest tree (setup_fallback left nodes[] alone) */
	assert_int_equal(tree_blocks(img, newest_root, &gens[ngens - 1]), 0);
	uint64_t rng = seed ^ 0xf11b;
	struct memdev d;
	md_init(&d, img);
	struct wodan_open_opts o = { .flags = WODAN_OPEN_FAST_SCAN,
				     .cache_bytes = 1 };
	wodan_t *w;
	assert_int_equal(wodan_open(&d.be, &o, &w), 0);
	for (int i = 0; i < nnodes; i++)
		assert_true(nodes[i].probe != UINT32_MAX);

	/* exhaustive 1-bit flips of every live block (about 1M flips); under
	 * the sanitizers only of the root, one node per inner level and the
	 * first, middle and last leaf.  WODAN_BITFLIP_EXHAUSTIVE=all|some
	 * overrides. */
	const char *exs = getenv("WODAN_BITFLIP_EXHAUSTIVE");
	int all = exs ? !strcmp(exs, "all") : !SANITIZED;
	int sel[LSIZE], nsel = 0, nleaves = 0;
	for (int i = 0; i < nnodes; i++)
		nleaves += nodes[i].rdepth == 0 && !nodes[i].is_root;
	for (int i = 0, seen_leaf = 0; i < nnodes; i++) {
		const struct node_info *n = &nodes[i];
		int take = all || n->is_root;
		if (!n->is_root && n->rdepth > 0) {
			int first = 1;
			for (int j = 0; j < i; j++)
				first &= nodes[j].is_root ||
					 nodes[j].rdepth != n->rdepth;
			take |= first;
		}
		if (!n->is_root && n->rdepth == 0) {
			take |= seen_leaf == 0 || seen_leaf == nleaves / 2 ||
				seen_leaf == nleaves - 1;
			seen_leaf++;
		}
		if (take)
			sel[nsel++] = i;
	}
	struct cnt ex = { 0 }, kind[3] = { { 0 } };
	int nkind[3] = { 0, 0, 0 };
	for (int t = 0; t < nsel; t++) {
		int ni = sel[t];
		struct cnt one = { 0 };
		for (uint32_t bit = 0; bit < BS * 8; bit++) {
			flip(nodes[ni].L, &bit, 1);
			if (nodes[ni].is_root)
				root_check(&one);
			else
				fast_check(w, ni, &one);
			flip(nodes[ni].L, &bit, 1);
		}
		int kd = nodes[ni].is_root ? 0 : nodes[ni].rdepth ? 1 : 2;
		nkind[kd]++;
		kind[kd].tried += one.tried;
		kind[kd].detected += one.detected;
		ex.tried += one.tried;
		ex.detected += one.detected;
		ex.failures += one.failures;
	}
	static const char *const kname[3] = { "root", "inner", "leaf" };
	for (int kd = 0; kd < 3; kd++)
		printf("# exhaustive 1-bit flips, %d %s block%s: %llu tried, %llu "
		       "detected\n", nkind[kd], kname[kd], nkind[kd] == 1 ? "" : "s",
		       (unsigned long long)kind[kd].tried,
		       (unsigned long long)kind[kd].detected);
	double t_ex = (double)(tu_now_ns() - t0) / 1e9;

	/* sampled 1-, 2-, 3-bit flips of every live block */
	uint64_t samples = tu_env_u64("WODAN_BITFLIP_SAMPLES",
				      SANITIZED ? 150 : 600);
	uint64_t nfull = tu_env_u64("WODAN_BITFLIP_FULL", 12);
	struct cnt by_bits[4] = { { 0 } }, full = { 0 };
	int cli_done = 0;
	for (int ni = 0; ni < nnodes; ni++) {
		for (uint64_t s = 0; s < samples + nfull; s++) {
			int nb = 1 + (int)(s % 3);
			uint32_t bits[3];
			random_bits(&rng, bits, nb);
			flip(nodes[ni].L, bits, nb);
			if (s >= samples) {
				int cli = cli_done < 3 && !nodes[ni].is_root;
				full_check(ni, &full, cli);
				cli_done += cli;
			} else if (nodes[ni].is_root) {
				root_check(&by_bits[nb]);
			} else {
				fast_check(w, ni, &by_bits[nb]);
			}
			flip(nodes[ni].L, bits, nb);
		}
	}
	wodan_abandon(w);
	/* the image is intact again */
	struct wodan_check_report rep;
	assert_int_equal(wodan_check(&d.be, 0, &rep, NULL, NULL), 0);
	assert_int_equal(rep.generation, newest_gen);
	wodan_check_report_free(&rep);

	uint64_t tried = full.tried + ex.tried;
	uint64_t det = full.detected + ex.detected;
	uint64_t fails = full.failures + ex.failures;
	for (int b = 1; b <= 3; b++) {
		printf("# sampled %d-bit flips over %d live blocks: %llu tried, "
		       "%llu detected\n", b, nnodes,
		       (unsigned long long)by_bits[b].tried,
		       (unsigned long long)by_bits[b].detected);
		tried += by_bits[b].tried;
		det += by_bits[b].detected;
		fails += by_bits[b].failures;
	}
	printf("# full checks (mount, fast mount + every key, iterate, check%s): "
	       "%llu tried, %llu detected\n", cli_done ? ", wodanc check" : "",
	       (unsigned long long)full.tried, (unsigned long long)full.detected);
	printf("# bit flips: %llu tried, %llu detected, %llu failures "
	       "(exhaustive part %.1f s, total %.1f s)\n",
	       (unsigned long long)tried, (unsigned long long)det,
	       (unsigned long long)fails, t_ex,
	       (double)(tu_now_ns() - t0) / 1e9);
	fflush(stdout);
	if (fails)
		fail_msg("%llu bit flips not handled (seed %llu)",
			 (unsigned long long)fails, (unsigned long long)seed);
}
