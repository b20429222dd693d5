/* trim.c -- fstrim: discard every block the newest tree does not use
 * (ORIGINAL §6, fixing L12: every run is counted). */
#include "blockio.h"
#include "error.h"
#include "flush.h"

int wodan_fstrim(wodan_t *w, uint64_t *discarded_blocks)
{
	wd_err_clear();
	if (w->flags & WODAN_OPEN_READONLY)
		return wd_err(WODAN_E_READONLY, "handle is read-only");
	if (!w->be->discard)
		return wd_err(WODAN_E_NOT_SUPPORTED,
			      "backend %s cannot discard", w->be->name);
	int r = wd_flush(w);
	if (r)
		return r;
	uint64_t total = 0, L = 1, n = w->g.lsize;
	while (L < n) {
		if (wd_sm_used(&w->sm, L)) {
			L++;
			continue;
		}
		uint64_t s = L;
		while (L < n && !wd_sm_used(&w->sm, L))
			L++;
		r = wd_discard_blocks(w, s, L - s);
		if (r)
			return r;
		total += L - s;
	}
	if (discarded_blocks)
		*discarded_blocks = total;
	return 0;
}

int wodan_live_trim(wodan_t *w, uint64_t *discarded_blocks)
{
	(void)w;
	if (discarded_blocks)
		*discarded_blocks = 0;
	return wd_err(WODAN_E_NOT_SUPPORTED, "live trim is not implemented yet");
}
