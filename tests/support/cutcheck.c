/*
 * cutcheck.c -- the checks of an image after a power cut (see cutcheck.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cutcheck.h"

static int why_of(char *why, size_t wl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_of(char *why, size_t wl, const char *fmt, ...)
{
	if (why && wl) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, wl, fmt, ap);
		va_end(ap);
	}
	return 1;
}

int cut_report_agrees(const struct wodan_check_report *rep,
		      const struct kvpool *p, const struct ent *s,
		      uint64_t gen, char *why, size_t wl)
{
	uint64_t live = snap_live(p, s);
	if (rep->used_blocks + rep->free_blocks == rep->logical_size_blocks &&
	    rep->live_keys == live && rep->generation == gen)
		return 0;
	return why_of(why, wl, "check: used %llu + free %llu vs %llu blocks, "
		      "%llu live keys (model %llu), gen %llu (want %llu)",
		      (unsigned long long)rep->used_blocks,
		      (unsigned long long)rep->free_blocks,
		      (unsigned long long)rep->logical_size_blocks,
		      (unsigned long long)rep->live_keys,
		      (unsigned long long)live,
		      (unsigned long long)rep->generation,
		      (unsigned long long)gen);
}

int cut_life_goes_on(struct wodan_backend *be, const struct wodan_open_opts *o,
		     const struct kvpool *p, const struct ent *s,
		     struct cut_life *L, char *why, size_t wl)
{
	static uint8_t val[4096], got[4096];
	const uint8_t *key = kv_key(p, L->k);
	L->needs_flush = 0;
	L->full = 0;
	if (L->len > sizeof val || L->k >= p->n)
		return why_of(why, wl, "internal: key %u of %u, length %u",
			      L->k, p->n, L->len);
	kv_val(p, L->k, L->ver, L->len, val);
	wodan_t *w;
	int r = wodan_open(be, o, &w);
	if (r)
		return why_of(why, wl, "second mount failed: %s: %s",
			      wodan_strerror(r), wodan_last_error()->message);
	r = wodan_insert(w, key, p->ks, val, L->len);
	/* even on a clean handle an insert may reorganise the tree (spill)
	 * and then ask for a flush: flush and retry */
	for (unsigned t = 0; r == WODAN_E_NEEDS_FLUSH && t < L->flush_retries;
	     t++) {
		L->needs_flush++;
		r = wodan_flush(w, NULL);
		if (!r)
			r = wodan_insert(w, key, p->ks, val, L->len);
	}
	if (r == WODAN_E_OUT_OF_SPACE && L->allow_full) {
		L->full = 1;
		r = 0;
	} else if (!r) {
		r = wodan_flush(w, NULL);
	}
	int rc = wodan_close(w);
	if (r || rc)
		return why_of(why, wl, "insert/flush/close after the cut: %s / "
			      "%s: %s", wodan_strerror(r), wodan_strerror(rc),
			      wodan_last_error()->message);
	r = wodan_open(be, o, &w);
	if (r)
		return why_of(why, wl, "reopen after the insert failed: %s: %s",
			      wodan_strerror(r), wodan_last_error()->message);
	struct ent *s2 = snap_dup(p, s);
	if (!L->full) {
		s2[L->k].ver = L->ver;
		s2[L->k].len = L->len;
	}
	size_t vl = 0;
	int lr = L->full ? 1 : wodan_lookup(w, key, p->ks, got, sizeof got, &vl);
	char w2[400];
	int bad = 0;
	if (!L->full && (lr != 1 || vl != L->len || memcmp(got, val, L->len)))
		bad = why_of(why, wl, "inserted key not found after reopen "
			     "(lookup %d, len %zu vs %u)", lr, vl, L->len);
	else if (state_equal(w, p, s2, w2, sizeof w2))
		bad = why_of(why, wl, "after insert+flush+reopen: %s", w2);
	wodan_abandon(w);
	free(s2);
	if (bad || !L->check_after)
		return bad;
	struct wodan_check_report rep;
	r = wodan_check(be, 0, &rep, NULL, NULL);
	if (r)
		bad = why_of(why, wl, "check after insert+flush returned %d: %s",
			     r, rep.n_problems ? rep.problems[0].what : "-");
	wodan_check_report_free(&rep);
	return bad;
}
