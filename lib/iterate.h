/*
 * iterate.h -- ordered, deduplicated range iteration (internal).
 *
 * doc/SPEC.md §11.3 (fixes doc/ORIGINAL.md L1/L2): every live key
 * in [start, end) exactly once, ascending, with its newest value.  A node's
 * visible content is the merge of its own log and its children's visible
 * content, where the node's log wins (upper levels are newer); a tombstone
 * wins like a value and is dropped only at the output.  Children visited for
 * [start, end) are those from the first link key >= start up to and
 * including the first link key >= end.
 *
 * Memory: nodes on the current path are pinned; clean nodes left behind are
 * evicted as the walk goes, so a full scan keeps the cache within budget.
 */
#ifndef WD_ITERATE_H
#define WD_ITERATE_H

#include "handle.h"

int wd_iterate(struct wodan *w, const uint8_t *start, const uint8_t *end,
	       wodan_iter_fn fn, void *arg);

#endif
