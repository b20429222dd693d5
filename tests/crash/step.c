/*
 * crash/step.c -- a step of the crash suite: its ops run on a fault device, the
 * trace of flushes and ops it leaves, the reference run.
 */
#include "crash.h"

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->nfl; i++)
		free(t->fl[i].snap);
	free(t->fl);
	free(t->optype);
	free(t->model);
	memset(t, 0, sizeof *t);
}

/* Record one completed flush whose root write is op root_op (UINT64_MAX:
 * none found): its final barrier is the next successful barrier after it. */
static void record_flush_op(struct trace *tr, struct wodan_backend *fb,
			    uint64_t ob, uint64_t gen, uint64_t root_op)
{
	if (tr->nfl == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 16;
		tr->fl = realloc(tr->fl, tr->cap * sizeof *tr->fl);
		assert_non_null(tr->fl);
	}
	struct flushrec *f = &tr->fl[tr->nfl++];
	uint64_t n = fault_backend_nops(fb);
	f->op_begin = ob;
	f->gen = gen;
	f->root_op = root_op;
	f->bar_op = UINT64_MAX;
	for (uint64_t i = f->root_op + 1; f->root_op != UINT64_MAX && i < n;
	     i++) {
		const struct fault_op *o = fault_backend_op(fb, i);
		if (o->type == FAULT_OP_BARRIER && !o->failed) {
			f->bar_op = i;
			break;
		}
	}
	f->snap = snap_dup(&pool, tr->model);
}

void record_flush(struct trace *tr, struct wodan_backend *fb,
			 uint64_t ob, uint64_t gen, uint64_t root_off)
{
	uint64_t n = fault_backend_nops(fb), root_op = UINT64_MAX;
	for (uint64_t i = n; i-- > ob;) {
		const struct fault_op *o = fault_backend_op(fb, i);
		if (o->type == FAULT_OP_WRITE && o->off_bytes == root_off &&
		    !o->failed) {
			root_op = i;
			break;
		}
	}
	record_flush_op(tr, fb, ob, gen, root_op);
}

/*
 * One library call can complete several flushes (a flush that makes room
 * for the insert NEEDS_FLUSH refused writes the tree, then the spills that
 * insert needs, then the tree again; auto-flush rounds): each one's root
 * makes the call's state durable, so each is recorded as a flush of its
 * own, all with the call's contents.  The earlier roots are found among
 * the call's one-block writes before the final root (op final_op): blocks
 * of the lower device (what a reboot finds) that hold a root node (type 1,
 * whole CRC) of a generation below the final one, in rising order.  At
 * most `want` of them, the newest; returns how many were found (fewer when
 * a later write of the call overwrote one: the suite then expects less).
 */
static size_t earlier_roots(struct wodan_backend *fb, uint64_t ob,
			    uint64_t final_op, uint64_t final_gen,
			    uint64_t *ops, uint64_t *gens, size_t want)
{
	struct wodan_backend *lo = fault_backend_lower(fb);
	uint8_t *b = aligned_alloc(4096, BS);
	size_t k = 0;
	uint64_t last = 0;
	assert_non_null(b);
	for (uint64_t i = ob; i < final_op && want; i++) {
		const struct fault_op *o = fault_backend_op(fb, i);
		if (!o || o->type != FAULT_OP_WRITE || o->failed ||
		    o->len_bytes != BS)
			continue;
		if (lo->read(lo, o->off_bytes, b, BS) || b[0] != 1 ||
		    !oracle_crc_ok(b, BS))
			continue;
		uint64_t g = oracle_le64(b + 1);
		if (g <= last || g >= final_gen)
			continue;
		last = g;
		if (k == want) {        /* keep the newest `want` */
			memmove(ops, ops + 1, (want - 1) * sizeof *ops);
			memmove(gens, gens + 1, (want - 1) * sizeof *gens);
			k--;
		}
		ops[k] = i;
		gens[k++] = g;
	}
	free(b);
	return k;
}

/* After a library call: record every flush that completed in it. */
void note_flush(wodan_t *w, struct wodan_backend *fb, uint64_t ob,
		       struct trace *tr, uint64_t *seen)
{
	struct wodan_stats st;
	wodan_get_stats(w, &st);
	if (st.flushes == *seen)
		return;
	uint64_t d = st.flushes - *seen;
	*seen = st.flushes;
	struct wodan_info in;
	wodan_get_info(w, &in);
	if (d > 1) {
		uint64_t n = fault_backend_nops(fb), final_op = n;
		for (uint64_t i = n; i-- > ob;) {
			const struct fault_op *o = fault_backend_op(fb, i);
			if (o->type == FAULT_OP_WRITE && !o->failed &&
			    o->off_bytes == in.root_block * BS) {
				final_op = i;
				break;
			}
		}
		size_t want = d - 1 < 64 ? (size_t)(d - 1) : 64;
		uint64_t ops[64], gens[64];
		size_t k = earlier_roots(fb, ob, final_op, in.generation, ops,
					 gens, want);
		for (size_t j = 0; j < k; j++)
			record_flush_op(tr, fb, ob, gens[j], ops[j]);
	}
	record_flush(tr, fb, ob, in.generation, in.root_block * BS);
}

/* debugging aid: a build with -DSTEP_HOOK=fn can look inside the handle
 * after every library call of a step */
#ifndef STEP_HOOK
#define STEP_HOOK(w, i, r) ((void)0)
#endif

static int is_io_err(int r)
{
	return r == WODAN_E_IO_READ || r == WODAN_E_IO_WRITE ||
	       r == WODAN_E_IO_BARRIER || r == WODAN_E_IO_DISCARD ||
	       r == WODAN_E_BAD_CRC;
}

/*
 * Run sc's step on fb (which wraps a copy of sc->base).  Stops at the first
 * error (a cut kills the device), except: NEEDS_FLUSH -> flush and retry;
 * OUT_OF_SPACE -> the op is skipped (nothing changed); an I/O error is
 * retried up to io_retry times per op.
 */
void run_step(const struct scen *sc, struct wodan_backend *fb,
		     struct trace *tr, int io_retry)
{
	memset(tr, 0, sizeof *tr);
	tr->model = sc->base_snap ? snap_dup(&pool, sc->base_snap) : snap_new(&pool);
	wodan_t *w = NULL;
	uint64_t seen = 0;
	size_t i = 0;
	int r = 0;
	uint8_t *val = malloc(65536);
	if (sc->ops.n && sc->ops.v[0].t == OP_MKFS) {
		for (int t = 0;; t++) {
			uint64_t ob = fault_backend_nops(fb);
			mkfs_rng = sc->mkfs_seed;
			r = wodan_mkfs(fb, &sc->mp, NULL);
			if (!r) {
				memset(tr->model, 0, NPOOL * sizeof *tr->model);
				record_flush(tr, fb, ob, 1, 0);
				break;
			}
			if (t >= io_retry)
				goto fail;
		}
		i = 1;
	}
	for (int t = 0;; t++) {
		r = wodan_open(fb, &sc->oo, &w);
		if (!r || !is_io_err(r) || t >= io_retry)
			break;
	}
	if (r)
		goto fail;
	for (; i < sc->ops.n; i++) {
		const struct op *o = &sc->ops.v[i];
		uint8_t key[KS];
		mkkey(o->k, key);
		if (o->t == OP_INS)
			gen_val(o->k, o->ver, o->len, val);
		for (int t = 0;; t++) {
			uint64_t ob = fault_backend_nops(fb);
			switch (o->t) {
			case OP_INS:
				r = wodan_insert(w, key, KS, val, o->len);
				break;
			case OP_DEL:
				r = wodan_delete(w, key, KS);
				break;
			case OP_FLUSH:
				r = wodan_flush(w, NULL);
				break;
			case OP_FSTRIM:
				r = wodan_fstrim(w, NULL);
				break;
			case OP_LTRIM:
				r = wodan_live_trim(w, NULL);
				if (r == WODAN_E_NOT_SUPPORTED)
					r = 0;
				break;
			default:
				r = WODAN_E_INVAL;
			}
			note_flush(w, fb, ob, tr, &seen);
			STEP_HOOK(w, i, r);
			if (r == WODAN_E_NEEDS_FLUSH && t < 6 + io_retry) {
				ob = fault_backend_nops(fb);
				int r2 = wodan_flush(w, NULL);
				note_flush(w, fb, ob, tr, &seen);
				if (!r2 || (t < io_retry && is_io_err(r2)))
					continue;
				r = r2;
			}
			if (r && is_io_err(r) && t < io_retry)
				continue;
			break;
		}
		if (r == WODAN_E_OUT_OF_SPACE && (o->t == OP_INS ||
						  o->t == OP_DEL)) {
			tr->oos++;
			r = 0;
			continue;
		}
		if (r) {
			tr->err_at = i;
			goto fail;
		}
		if (o->t == OP_INS) {
			tr->model[o->k].ver = o->ver;
			tr->model[o->k].len = o->len;
		} else if (o->t == OP_DEL) {
			tr->model[o->k].ver = 0;
			tr->model[o->k].len = 0;
		}
	}
	wodan_get_info(w, &tr->info);
	wodan_get_stats(w, &tr->st);
	r = 0;
fail:
	tr->err = r;
	if (w && r)
		wodan_get_info(w, &tr->info);
	wodan_abandon(w);
	free(val);
	tr->nops = fault_backend_nops(fb);
	tr->optype = malloc(tr->nops + 1);
	for (uint64_t k = 0; k < tr->nops; k++) {
		const struct fault_op *o = fault_backend_op(fb, k);
		tr->optype[k] = o->type == FAULT_OP_BARRIER ? 3
				: o->type == FAULT_OP_DISCARD ? 2
				: o->nsectors > 1 ? 1 : 0;
	}
}

/* Run the step on a copy of the base (in img) through a fault device with
 * parameters p; fb stays open for the caller (close it). */
struct wodan_backend *run_on(const struct scen *sc, uint8_t *img,
				    struct memdev *md,
				    const struct fault_params *p,
				    struct trace *tr, int io_retry)
{
	uint64_t size = sc->lsize * BS;
	memcpy(img, sc->base, size);
	memdev_init(md, img, size, "crash-ram");
	struct wodan_backend *fb;
	assert_int_equal(fault_backend_wrap(&md->be, p, &fb), 0);
	run_step(sc, fb, tr, io_retry);
	return fb;
}

/* Reference run of a scenario: no faults. */
void reference(const struct scen *sc, struct trace *R)
{
	struct fault_params p;
	fault_params_init(&p, 1);
	struct memdev md;
	uint8_t *img = malloc(sc->lsize * BS);
	struct wodan_backend *fb = run_on(sc, img, &md, &p, R, 0);
	if (R->err)
		fail_msg("reference run of %s failed at op %zu: %s: %s",
			 sc->name, R->err_at, wodan_strerror(R->err),
			 wodan_last_error()->message);
	wodan_backend_close(fb);
	free(img);
}
