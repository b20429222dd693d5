/*
 * cutcheck.h -- the checks every power-cut test makes of the image a cut
 * left, once it mounted with the expected contents (tests/crash/verify.c,
 * tests/test_powercut.c): wodan_check's figures agree with the model, and
 * "life goes on" (one more insert, flush, close and reopen work and the
 * image then holds the model plus that key).  Public API only;
 * single-threaded.
 */
#ifndef WODAN_TEST_CUTCHECK_H
#define WODAN_TEST_CUTCHECK_H

#include <stddef.h>
#include <stdint.h>
#include "wodan.h"
#include "kvmodel.h"

/* 0 when the clean report rep (wodan_check returned 0) has used + free ==
 * logical size, live keys == the live keys of snapshot s of pool p and
 * generation gen; else 1 with the figures in why (wl bytes). */
int cut_report_agrees(const struct wodan_check_report *rep,
		      const struct kvpool *p, const struct ent *s,
		      uint64_t gen, char *why, size_t wl);

/* "Life goes on": the key, its new value and what may happen. */
struct cut_life {
	uint32_t k, ver, len;     /* pool key index, version, length (<= 4096) */
	unsigned flush_retries;   /* NEEDS_FLUSH: flush and retry this often */
	int allow_full;           /* OUT_OF_SPACE: nothing may change */
	int check_after;          /* wodan_check after the reopen must be 0 */
	/* out */
	unsigned needs_flush;     /* NEEDS_FLUSH answers seen */
	int full;                 /* the insert was refused: device full */
};

/*
 * On be (holding snapshot s of pool p): open with o, insert key L->k with
 * kv_val(p, k, ver, len), flush, close, reopen with o; the key must read
 * back (unless L->full) and the whole contents equal s plus the key;
 * with check_after, wodan_check must then return 0.  Returns 0, or 1 with
 * the reason in why (wl bytes).  Handles are closed or abandoned.
 */
int cut_life_goes_on(struct wodan_backend *be, const struct wodan_open_opts *o,
		     const struct kvpool *p, const struct ent *s,
		     struct cut_life *L, char *why, size_t wl);

#endif
