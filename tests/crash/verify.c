/*
 * crash/verify.c -- what an image must hold after a cut, and the checks of it
 * (mount, exact contents, check, life goes on); one cut.
 */
#include "crash.h"

/* ------------------------------------------------------------- verify */

/* replay ids of the failures (soak summary) */
char fail_ids[64][200];
unsigned nfail_ids;

void print_fail(struct tally *T, const char *id, const char *fmt, ...)
{
	T->failures++;
	if (nfail_ids < 64)
		snprintf(fail_ids[nfail_ids++], sizeof fail_ids[0], "%s", id);
	if (T->failures > max_print && !verbose)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printf("# FAIL %s: %s\n", id, msg);
	fflush(stdout);
}

/*
 * Check the image img of scenario sc after a cut.  want: the state that
 * must be found; other: the other candidate (for the message), may be NULL.
 * fresh_k/fresh_ver: the key written by the "life goes on" insert.
 * Returns 0 or 1 (failure printed with id).
 */
int verify(const struct scen *sc, uint8_t *img, const struct expect *want,
		  const struct expect *other, uint64_t vseed, int full,
		  struct tally *T, const char *id)
{
	struct memdev d;
	uint64_t size = sc->lsize * BS;
	memdev_init(&d, img, size, "crash-ram");
	T->checks++;
	struct wodan_open_opts o = { .flags = sc->vflags,
				     .cache_bytes = 16 * BS };
	wodan_t *w = NULL;
	char why[300];
	int r = wodan_open(&d.be, &o, &w);
	if (!want->snap) {
		if (!r) {
			wodan_abandon(w);
			print_fail(T, id, "mounted although the superblock write "
				   "did not land (%s)", want->what);
			return 1;
		}
		T->unformatted++;
		return 0;
	}
	if (r) {
		print_fail(T, id, "mount failed: %s: %s (block %llu); expected "
			   "%s gen %llu", wodan_strerror(r),
			   wodan_last_error()->message,
			   (unsigned long long)wodan_last_error()->block,
			   want->what, (unsigned long long)want->gen);
		return 1;
	}
	struct wodan_info info;
	wodan_get_info(w, &info);
	int bad = state_equal(w, &pool, want->snap, why, sizeof why);
	if ((bad || info.generation != want->gen) &&
	    sc->ghost_root && info.root_block == sc->ghost_root &&
	    info.generation == sc->ghost_gen) {
		/*
		 * Bug B4 (fixed, lib/flush.c wd_flush_prepare): the first cut
		 * left the root of its flush torn at block X; after the
		 * mount, the next flush put its root at X again with the same
		 * generation; the second cut tore that write too, and the
		 * sectors of the two writes together formed the first root
		 * again: a state that was never acknowledged came back, and
		 * its tree may reference blocks reused since.
		 */
		b4_seen++;
		print_fail(T, id, "B4: a torn rewrite of block %llu completed "
			   "the torn root (gen %llu) of the first cut",
			   (unsigned long long)sc->ghost_root,
			   (unsigned long long)sc->ghost_gen);
		wodan_abandon(w);
		return 1;
	}
	if (bad || info.generation != want->gen) {
		int eq_other = other && other->snap &&
			       !state_equal(w, &pool, other->snap, NULL, 0);
		print_fail(T, id, "%s: mounted gen %llu root %llu, expected %s "
			   "gen %llu (%s)%s%s",
			   bad ? (eq_other ? "wrong candidate" : "state is no "
				  "candidate (mixture or loss)")
			       : "wrong generation",
			   (unsigned long long)info.generation,
			   (unsigned long long)info.root_block, want->what,
			   (unsigned long long)want->gen, bad ? why : "same "
			   "contents", eq_other ? "; contents equal the " : "",
			   eq_other ? other->what : "");
		wodan_abandon(w);
		return 1;
	}
	wodan_abandon(w);
	struct wodan_check_report rep;
	r = wodan_check(&d.be, 0, &rep, NULL, NULL);
	int check_ok = r == 0;
	if (r == 1 && sc->damaged_block && rep.n_problems &&
	    rep.n_intact_older && rep.intact_older_generations[0] == want->gen) {
		/* rollback scenario: the damaged newer root may still be on
		 * the device (its overwrite did not land): check reports it
		 * and names our state as the newest intact one */
		check_ok = 1;
		for (uint32_t i = 0; i < rep.n_problems; i++)
			if (rep.problems[i].block != sc->damaged_block)
				check_ok = 0;
	} else if (r == 0 && cut_report_agrees(&rep, &pool, want->snap,
					       want->gen, why, sizeof why)) {
		print_fail(T, id, "%s", why);
		wodan_check_report_free(&rep);
		return 1;
	}
	if (!check_ok) {
		print_fail(T, id, "check returned %d: %u problems, first: block "
			   "%llu: %s", r, rep.n_problems,
			   rep.n_problems ? (unsigned long long)rep.problems[0].block
					  : 0ull,
			   rep.n_problems ? rep.problems[0].what : "-");
		wodan_check_report_free(&rep);
		return 1;
	}
	wodan_check_report_free(&rep);

	/* life goes on: insert, flush, close, reopen (tests/support/cutcheck.h:
	 * one NEEDS_FLUSH answer flushed and retried; a full device may refuse
	 * the insert, and then nothing may change) */
	struct cut_life L = { 0 };
	L.k = (uint32_t)tu_below(&vseed, NPOOL);
	L.len = 1 + (uint32_t)tu_below(&vseed, 200);
	L.ver = 0xf0000000u | (uint32_t)tu_below(&vseed, 1u << 27);
	L.flush_retries = 1;
	L.allow_full = 1;
	L.check_after = full;
	if (cut_life_goes_on(&d.be, &o, &pool, want->snap, &L, why,
			     sizeof why)) {
		print_fail(T, id, "%s", why);
		return 1;
	}
	return 0;
}

/*
 * Work out what the image must hold after a cut at op e: A = the newest
 * flush whose final barrier completed before e (or the base), B = the flush
 * in flight at e (if it had started): B iff its root write landed whole.
 */
void expect_for_cut(const struct scen *sc, const struct trace *R,
			   const struct trace *T, struct wodan_backend *fb,
			   uint64_t e, struct expect *want,
			   struct expect *other, int *has_other)
{
	size_t k = 0;
	while (k < R->nfl && R->fl[k].bar_op < e)
		k++;
	struct expect A;
	if (k == 0) {
		A.snap = sc->base_snap;
		A.gen = sc->base_gen;
		A.what = sc->base_snap ? "the base state" : "unformatted";
	} else {
		assert_true(T->nfl >= k);
		A.snap = T->fl[k - 1].snap;
		A.gen = T->fl[k - 1].gen;
		A.what = "the last durable flush";
	}
	*has_other = 0;
	*want = A;
	if (k < R->nfl && R->fl[k].op_begin <= e) {
		struct expect B = { T->model, R->fl[k].gen, "the flush in flight" };
		uint64_t ro = R->fl[k].root_op;
		int root_in = 0;
		if (ro <= e) {
			const struct fault_op *o = fault_backend_op(fb, ro);
			if (o && o->state == FAULT_ST_CUT)
				root_in = o->intact_sectors == o->nsectors;
			else if (o && o->state == FAULT_ST_DURABLE)
				root_in = 1;
		}
		*has_other = 1;
		*want = root_in ? B : A;
		*other = root_in ? A : B;
		if (ro <= e && T->err == 0)
			fail_msg("internal: in-flight flush but the run did not "
				 "fail (%s, cut %llu)", sc->name,
				 (unsigned long long)e);
	}
}

void dump_ops(struct wodan_backend *fb, const struct trace *tr)
{
	for (size_t i = 0; i < tr->nfl; i++)
		printf("#   flush %zu: ops %llu.., root write op %llu, final "
		       "barrier op %llu, gen %llu\n", i,
		       (unsigned long long)tr->fl[i].op_begin,
		       (unsigned long long)tr->fl[i].root_op,
		       (unsigned long long)tr->fl[i].bar_op,
		       (unsigned long long)tr->fl[i].gen);
	for (uint64_t i = 0; i < tr->nops; i++) {
		const struct fault_op *o = fault_backend_op(fb, i);
		printf("#   op %llu: %s block %llu len %llu epoch %llu "
		       "state %d%s%s intact %u/%u garbage %u\n",
		       (unsigned long long)i,
		       o->type == FAULT_OP_WRITE ? "write"
		       : o->type == FAULT_OP_DISCARD ? "discard"
						     : "barrier",
		       (unsigned long long)o->off_bytes / BS,
		       (unsigned long long)o->len_bytes,
		       (unsigned long long)o->epoch, o->state,
		       o->in_flight ? " in-flight" : "",
		       o->failed ? " failed" : "", o->intact_sectors,
		       o->nsectors, o->garbage_sectors);
	}
	fflush(stdout);
}

const char mode_ch[FAULT_CUT_NMODES] = { 'L', 'K', 'T', 'R', 'O' };

int mode_of(char c)
{
	for (int i = 0; i < FAULT_CUT_NMODES; i++)
		if (mode_ch[i] == c)
			return i;
	return -1;
}

/*
 * One cut of scenario sc (reference trace R) at op e, resolved with mode
 * and resolution seed rs.  When out_img/out_want are given (double
 * faults), only the mount + state check is done and the image and the
 * expected state are handed back (out_want->snap owned by the caller).
 */
int one_cut(const struct scen *sc, const struct trace *R, uint64_t e,
		   int mode, uint64_t rs, int full, struct tally *T,
		   uint8_t *img, struct ent **out_snap, uint64_t *out_gen,
		   const char *id_prefix)
{
	struct fault_params p;
	fault_params_init(&p, rs);
	p.cut_at = e;
	p.cut_mode = (enum fault_cut_mode)mode;
	struct memdev md;
	struct trace tr;
	struct wodan_backend *fb = run_on(sc, img, &md, &p, &tr, 0);
	if (!fault_backend_dead(fb))
		fault_backend_cut_now(fb, (enum fault_cut_mode)mode);
	struct expect want, other;
	int has_other;
	expect_for_cut(sc, R, &tr, fb, e, &want, &other, &has_other);
	char id[200];
	snprintf(id, sizeof id, "%scrash:%llu:%s:%llu:%c:%llu",
		 id_prefix ? id_prefix : "", (unsigned long long)seed,
		 sc->name, (unsigned long long)e, mode_ch[mode],
		 (unsigned long long)rs);
	if (verbose) {
		printf("# %s: %llu ops in the reference run, %zu flushes; cut "
		       "run: %llu ops, error %s after script op %zu; expect %s "
		       "gen %llu\n", id, (unsigned long long)R->nops, R->nfl,
		       (unsigned long long)tr.nops, wodan_strerror(tr.err),
		       tr.err_at, want.what, (unsigned long long)want.gen);
		dump_ops(fb, &tr);
	}
	last_ghost_root = last_ghost_gen = 0;
	if (out_snap) {
		/* the in-flight root, if it was written but did not land */
		size_t k = 0;
		while (k < R->nfl && R->fl[k].bar_op < e)
			k++;
		if (k < R->nfl && R->fl[k].op_begin <= e &&
		    R->fl[k].root_op <= e && R->fl[k].root_op < tr.nops) {
			const struct fault_op *o = fault_backend_op(fb,
								 R->fl[k].root_op);
			if (o->intact_sectors != o->nsectors) {
				last_ghost_root = o->off_bytes / BS;
				last_ghost_gen = R->fl[k].gen;
			}
		}
	}
	wodan_backend_close(fb);
	int f;
	if (out_snap) {
		/* first fault of a double: mount and state only */
		struct memdev d;
		memdev_init(&d, img, sc->lsize * BS, "crash-ram");
		struct wodan_open_opts o = { .flags = sc->vflags };
		wodan_t *w = NULL;
		char why[300];
		T->checks++;
		int r = want.snap ? wodan_open(&d.be, &o, &w) : -1;
		struct wodan_info info = { 0 };
		if (w)
			wodan_get_info(w, &info);
		f = !want.snap || r ||
		    state_equal(w, &pool, want.snap, why, sizeof why) ||
		    info.generation != want.gen;
		if (f && want.snap)
			print_fail(T, id, "first cut of a double fault: mount %s, "
				   "gen %llu (want %s gen %llu)",
				   r ? wodan_strerror(r) : why,
				   (unsigned long long)info.generation, want.what,
				   (unsigned long long)want.gen);
		wodan_abandon(w);
		if (!f) {
			*out_snap = snap_dup(&pool, want.snap);
			*out_gen = want.gen;
		}
		trace_free(&tr);
		return f ? (want.snap ? 1 : 2) : 0;
	}
	f = verify(sc, img, &want, has_other ? &other : NULL,
		   tu_mix(rs, e), full, T, id);
	if (!f) {
		if (!want.snap)
			;
		else if (has_other && want.snap == tr.model)
			T->newer++;
		else
			T->old++;
	}
	trace_free(&tr);
	return f;
}
