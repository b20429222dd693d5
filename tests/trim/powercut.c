/*
 * trim/powercut.c -- power cuts during trim: every prefix of the recorded
 * writes and discards (plus a half-done discard, and lost unbarriered
 * discards) mounts with the expected state
 */
#include "trim.h"

/* After a call that may have flushed: note a new durable state. */
static void pc_note(struct pc *p)
{
	struct wodan_info info;
	wodan_get_info(p->w, &info);
	if (info.generation == p->st[p->nst - 1].gen)
		return;
	size_t i = p->d->nlog;
	while (i > 0 && p->d->log[i - 1].kind != MD_WRITE)
		i--;
	assert_true(i > 0);
	assert_int_equal(p->d->log[i - 1].off, info.root_block * BS);
	p->st = realloc(p->st, (p->nst + 1) * sizeof *p->st);
	p->st[p->nst].root_op = i - 1;
	p->st[p->nst].gen = info.generation;
	p->st[p->nst].snap = snap_dup(&p->m.p, p->m.cur);
	p->nst++;
}

static void pc_work(struct pc *p, uint32_t nops)
{
	for (uint32_t i = 0; i < nops; i++) {
		int r = model_op(p->w, &p->m, 800);
		if (r == WODAN_E_NEEDS_FLUSH) {
			assert_int_equal(wodan_flush(p->w, NULL), 0);
			pc_note(p);
		} else if (r != WODAN_E_OUT_OF_SPACE) {
			assert_int_equal(r, 0);
		}
	}
}
static const char *const vname[] = { "prefix", "torn discard",
				     "discards since the last barrier lost" };

/* Rebuild the device after a cut before op `cut`; mount and verify. */
static void pc_replay(struct pc *p, const uint8_t *base, size_t cut, int var)
{
	uint64_t size = p->lsize * BS;
	struct wodan_backend *be = ram_with(base, size);
	size_t last_bar = 0;
	for (size_t i = 0; i < cut; i++)
		if (p->d->log[i].kind == MD_BARRIER)
			last_bar = i + 1;
	for (size_t i = 0; i < cut; i++) {
		const struct md_op *o = &p->d->log[i];
		if (o->kind == MD_WRITE)
			assert_int_equal(be->write(be, o->off, o->data, o->len), 0);
		else if (o->kind == MD_DISCARD &&
			 !(var == V_LOST_DISCARDS && i >= last_bar))
			assert_int_equal(be->discard(be, o->off, o->len), 0);
	}
	if (var == V_TORN_DISCARD) {
		const struct md_op *o = &p->d->log[cut];
		uint64_t half = (o->len / BS + 1) / 2 * BS;
		assert_int_equal(be->discard(be, o->off, half), 0);
	}
	/* expected: the newest state whose root write is applied */
	size_t k = 0;
	for (size_t s = 1; s < p->nst; s++)
		if (p->st[s].root_op < cut)
			k = s;
	char what[160];
	snprintf(what, sizeof what, "cut before op %zu of %zu (%s)", cut,
		 p->d->nlog, vname[var]);
	wodan_t *w;
	int r = wodan_open(be, &opts, &w);
	if (r)
		fail_msg("%s: mount failed: %s: %s (seed %llu)", what,
			 wodan_strerror(r), wodan_last_error()->message,
			 (unsigned long long)seed);
	struct wodan_info info;
	wodan_get_info(w, &info);
	if (info.generation != p->st[k].gen)
		fail_msg("%s: generation %llu, expected %llu (seed %llu)", what,
			 (unsigned long long)info.generation,
			 (unsigned long long)p->st[k].gen,
			 (unsigned long long)seed);
	expect_contents(w, &p->m, p->st[k].snap, what);
	if (var == V_PREFIX) {
		/* the image stays usable */
		uint8_t key[KS] = { 0x42 }, val[3] = { 1, 2, 3 }, got[3];
		r = wodan_insert(w, key, KS, val, 3);
		if (r == WODAN_E_NEEDS_FLUSH) {
			assert_int_equal(wodan_flush(w, NULL), 0);
			r = wodan_insert(w, key, KS, val, 3);
		}
		assert_int_equal(r, 0);
		assert_int_equal(wodan_close(w), 0);
		expect_clean(be, 0, what);
		assert_int_equal(wodan_open(be, &opts, &w), 0);
		assert_int_equal(wodan_lookup(w, key, KS, got, 3, NULL), 1);
		assert_memory_equal(got, val, 3);
		wodan_abandon(w);
	} else {
		wodan_abandon(w);
		expect_clean(be, p->st[k].gen, what);
	}
	wodan_backend_close(be);
}

void test_powercut_trim(void **state)
{
	(void)state;
	uint64_t rng = seed ^ 0x9c7;
	uint64_t runs = tu_env_u64("WODAN_TRIM_RUNS", 3);
	for (uint64_t run = 0; run < runs; run++) {
		struct pc p = { 0 };
		p.lsize = 128 + tu_below(&rng, 128);
		p.d = rd_new(p.lsize * BS);
		mkfs_rng = tu_splitmix(&rng);
		mkfs_on(p.d, p.lsize, 1);
		model_init(&p.m, tu_splitmix(&rng),
			   120 + (uint32_t)tu_below(&rng, 150));
		assert_int_equal(wodan_open(&p.d->be, &opts, &p.w), 0);
		for (int f = 0; f < 3; f++) {
			pc_work(&p, 50);
			assert_int_equal(wodan_flush(p.w, NULL), 0);
		}
		assert_int_equal(wodan_close(p.w), 0);

		/* base image and state 0 */
		uint8_t *base = rd_snapshot(p.d);
		assert_int_equal(wodan_open(&p.d->be, &opts, &p.w), 0);
		struct wodan_info info;
		wodan_get_info(p.w, &info);
		p.st = malloc(sizeof *p.st);
		p.st[0].root_op = 0;
		p.st[0].gen = info.generation;
		p.st[0].snap = snap_dup(&p.m.p, p.m.cur);
		p.nst = 1;
		p.d->recording = 1;

		uint64_t live1, fs1, fs2, live2;
		pc_work(&p, 30);                          /* insert */
		assert_int_equal(wodan_flush(p.w, NULL), 0); /* flush */
		pc_note(&p);
		assert_int_equal(wodan_live_trim(p.w, &live1), 0); /* live */
		pc_work(&p, 30);                          /* insert */
		assert_int_equal(wodan_flush(p.w, NULL), 0); /* flush */
		pc_note(&p);
		assert_int_equal(wodan_fstrim(p.w, &fs1), 0);  /* fstrim */
		pc_work(&p, 30);                          /* insert */
		assert_int_equal(wodan_fstrim(p.w, &fs2), 0);  /* flush+trim */
		pc_note(&p);
		assert_int_equal(wodan_live_trim(p.w, &live2), 0);
		assert_int_equal(live2, 0);
		assert_int_equal(wodan_close(p.w), 0);
		assert_true(live1 > 0);
		assert_true(fs1 > 0 && fs2 > 0);

		size_t cuts = 0, discards = 0;
		for (size_t cut = 0; cut <= p.d->nlog; cut++) {
			pc_replay(&p, base, cut, V_PREFIX);
			pc_replay(&p, base, cut, V_LOST_DISCARDS);
			if (cut < p.d->nlog && p.d->log[cut].kind == MD_DISCARD) {
				pc_replay(&p, base, cut, V_TORN_DISCARD);
				discards++;
			}
			cuts++;
		}
		printf("# power cut run %llu: lsize %llu, %zu ops (%zu "
		       "discards), %zu states, %zu cut points x %d variants; "
		       "trimmed live %llu, fstrim %llu + %llu\n",
		       (unsigned long long)run, (unsigned long long)p.lsize,
		       p.d->nlog, discards, p.nst, cuts, NVARIANTS,
		       (unsigned long long)live1, (unsigned long long)fs1,
		       (unsigned long long)fs2);
		for (size_t s = 0; s < p.nst; s++)
			free(p.st[s].snap);
		free(p.st);
		free(base);
		model_free(&p.m);
		rd_free(p.d);
	}
}
