/* cache.c -- node cache: loads, one recency list for clean and dirty
 * nodes, byte budgets (see cache.h). */
#include <stdlib.h>
#include <string.h>
#include "blockio.h"
#include "cache.h"
#include "error.h"
#include "handle.h"
#include "keys.h"
#include "nodecodec.h"
#include "wdassert.h"

int wd_cache_init(struct wodan *w)
{
	memset(&w->c, 0, sizeof w->c);
	w->c.blk = aligned_alloc(4096, ((size_t)w->g.bs + 4095) / 4096 * 4096);
	if (!w->c.blk)
		return WODAN_E_NOMEM;
	w->c.node_mem_max = wd_node_mem_max(&w->g);
	w->c.dirty_soft = w->c.dirty_hard = UINT64_MAX;
	return 0;
}

void wd_cache_set_budgets(struct wodan *w, uint64_t clean, uint64_t soft,
			  uint64_t hard)
{
	uint64_t floor = WD_CACHE_HARD_FLOOR_NODES * w->c.node_mem_max;
	w->c.clean_budget = clean;
	w->c.dirty_soft = soft;
	w->c.dirty_hard = hard < floor ? floor : hard;
}

void wd_cache_lift_ceilings(struct wodan *w)
{
	WD_ASSERT(!w->c.lifted, "ceilings lifted twice");
	w->c.saved_soft = w->c.dirty_soft;
	w->c.saved_hard = w->c.dirty_hard;
	w->c.dirty_soft = w->c.dirty_hard = UINT64_MAX;
	w->c.lifted = 1;
}

void wd_cache_restore_ceilings(struct wodan *w)
{
	WD_ASSERT(w->c.lifted, "ceilings restored without a lift");
	w->c.dirty_soft = w->c.saved_soft;
	w->c.dirty_hard = w->c.saved_hard;
	w->c.lifted = 0;
}

void wd_cache_reset_peak(struct wodan *w)
{
	w->st.dirty_peak_bytes = w->c.dirty_bytes;
}

int wd_cache_over_soft(const struct wodan *w, uint64_t extra)
{
	return w->c.dirty_bytes + extra >= w->c.dirty_soft;
}

int wd_cache_over_hard(const struct wodan *w)
{
	return w->c.dirty_nodes * w->c.node_mem_max > w->c.dirty_hard;
}

int wd_cache_admits(const struct wodan *w, uint32_t k)
{
	return (w->c.dirty_nodes + k) * w->c.node_mem_max <= w->c.dirty_hard;
}

static void lru_unlink(struct wodan *w, struct wd_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else if (w->c.lru_head == n)
		w->c.lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else if (w->c.lru_tail == n)
		w->c.lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push_head(struct wodan *w, struct wd_node *n)
{
	n->lru_prev = NULL;
	n->lru_next = w->c.lru_head;
	if (w->c.lru_head)
		w->c.lru_head->lru_prev = n;
	w->c.lru_head = n;
	if (!w->c.lru_tail)
		w->c.lru_tail = n;
}

static int on_lru(const struct wodan *w, const struct wd_node *n)
{
	return n->lru_prev || n->lru_next || w->c.lru_head == n;
}

/* C6 as far as it holds (cache.h): dirty memory stays under the hard
 * ceiling, except while the ceilings are lifted (replay) and for one step
 * admitted with nothing dirty, which is at most WD_MAX_DEPTH + 2 nodes. */
#define ASSERT_C6(w)                                                       \
	WD_ASSERT((w)->c.lifted || (w)->c.dirty_bytes <= (w)->c.dirty_hard || \
		  (w)->c.dirty_nodes <= WD_MAX_DEPTH + 2,                   \
		  "C6: dirty memory under the hard ceiling")

static void note_peak(struct wodan *w)
{
	if (w->c.dirty_bytes > w->st.dirty_peak_bytes)
		w->st.dirty_peak_bytes = w->c.dirty_bytes;
}

void wd_cache_touch(struct wodan *w, struct wd_node *n)
{
#if WD_ASSERTS_ON
	struct wd_node *start = n;
#endif
	/* child first, then each ancestor: the parent ends up ahead of the
	 * child (C5); the walk stops at the root, which is not listed */
	for (; n && !n->is_root; n = n->parent) {
		if (w->c.lru_head == n)
			continue;
		lru_unlink(w, n);
		lru_push_head(w, n);
	}
#if WD_ASSERTS_ON
	/* C5: the path just touched heads the list, each node right after
	 * its parent (O(depth)) */
	for (struct wd_node *x = start; x && !x->is_root; x = x->parent)
		WD_ASSERT(x->parent->is_root ? w->c.lru_head == x
					     : x->lru_prev == x->parent,
			  "C5: a parent is more recent than its child");
#endif
}

void wd_cache_set_root(struct wodan *w, struct wd_node *root)
{
	w->root = root;
	w->c.clean_bytes += root->mem_bytes;
}

uint32_t wd_cache_clean_path(const struct wd_node *n)
{
	uint32_t k = 0;
	for (; n && !n->dirty; n = n->parent)
		k++;
	return k;
}

void wd_cache_mark_dirty(struct wodan *w, struct wd_node *n)
{
	for (; n && !n->dirty; n = n->parent) {
		WD_ASSERT(n->is_root || on_lru(w, n),
			  "C2: a non-root node in memory is listed");
		WD_ASSERT(w->c.clean_bytes >= n->mem_bytes, "C2: clean_bytes");
		n->dirty = 1;
		w->c.clean_bytes -= n->mem_bytes;
		w->c.dirty_bytes += n->mem_bytes;
		w->c.dirty_nodes++;
	}
	/* N6: the first dirty node met has a dirty parent (O(1)) */
	WD_ASSERT(!n || !n->parent || n->parent->dirty,
		  "N6: a dirty node's parent is dirty");
	ASSERT_C6(w);
	note_peak(w);
}

void wd_cache_add_new(struct wodan *w, struct wd_node *n)
{
	WD_ASSERT(!n->parent || n->parent->dirty,
		  "N6: a new node's parent is dirty");
	n->dirty = 1;
	w->c.dirty_bytes += n->mem_bytes;
	w->c.dirty_nodes++;
	ASSERT_C6(w);
	note_peak(w);
	if (!n->is_root)
		wd_cache_touch(w, n);
}

void wd_cache_mark_clean(struct wodan *w, struct wd_node *n)
{
	if (!n->dirty)
		return;
#if WD_ASSERTS_ON
	/* N6: children are written (made clean) before their parent */
	for (uint32_t i = 0; i < n->nlinks; i++)
		WD_ASSERT(!n->lchild[i] || !n->lchild[i]->dirty,
			  "N6: a clean node's children are clean");
#endif
	WD_ASSERT(w->c.dirty_nodes > 0 && w->c.dirty_bytes >= n->mem_bytes,
		  "C2/C4: dirty totals");
	n->dirty = 0;
	w->c.dirty_bytes -= n->mem_bytes;
	w->c.clean_bytes += n->mem_bytes;
	w->c.dirty_nodes--;
	/* its place in the recency list stays (C5) */
}

void wd_cache_resize(struct wodan *w, struct wd_node *n)
{
	uint64_t m = wd_node_mem(n, w->g.ks);
	if (n->dirty) {
		w->c.dirty_bytes = w->c.dirty_bytes - n->mem_bytes + m;
		n->mem_bytes = m;
		ASSERT_C6(w);
		note_peak(w);
		return;
	}
	w->c.clean_bytes = w->c.clean_bytes - n->mem_bytes + m;
	n->mem_bytes = m;
}

void wd_cache_forget(struct wodan *w, struct wd_node *n)
{
	if (on_lru(w, n))
		lru_unlink(w, n);
	if (n->dirty) {
		WD_ASSERT(w->c.dirty_nodes > 0 &&
			  w->c.dirty_bytes >= n->mem_bytes, "C2: dirty totals");
		w->c.dirty_bytes -= n->mem_bytes;
		w->c.dirty_nodes--;
	} else {
		WD_ASSERT(w->c.clean_bytes >= n->mem_bytes, "C2: clean_bytes");
		w->c.clean_bytes -= n->mem_bytes;
	}
}

/* Free n and its cached subtree (all clean when n is clean, N6). */
static void free_subtree(struct wodan *w, struct wd_node *n)
{
	for (uint32_t i = 0; i < n->nlinks; i++)
		if (n->lchild[i]) {
			free_subtree(w, n->lchild[i]);
			n->lchild[i] = NULL;
		}
	wd_cache_forget(w, n);
	wd_node_free(n);
}

void wd_cache_trim(struct wodan *w)
{
	/* Walk from the least recent end.  By C5 the first clean unpinned
	 * node found has no cached children (they are all less recent and
	 * clean by N6, so they would have been found first); dirty and
	 * pinned nodes are passed over, never moved.  Bounded: each step
	 * evicts or passes one list entry. */
	struct wd_node *t = w->c.lru_tail;
	while (w->c.clean_bytes > w->c.clean_budget && t) {
		struct wd_node *prev = t->lru_prev;
		if (t->dirty || t->pins) {
			t = prev;
			continue;
		}
		struct wd_node *p = t->parent;
		WD_ASSERT(!t->is_root && p, "C3: the root is never evicted");
		uint32_t i = wd_link_route(p, w->g.ks, t->hi);
		WD_ASSERT(i < p->nlinks && p->lchild[i] == t,
			  "C1/N5: an evicted node is its parent's child");
#if WD_ASSERTS_ON
		/* C3 with C5: the least recent clean node has no cached
		 * children */
		for (uint32_t j = 0; j < t->nlinks; j++)
			WD_ASSERT(!t->lchild[j], "C3/C5: evicting a node with "
				  "cached children");
#endif
		if (i < p->nlinks && p->lchild[i] == t)
			p->lchild[i] = NULL;
		free_subtree(w, t); /* t alone, by C5; the subtree walk is a
				     * safety net */
		w->st.cache_evictions++;
		t = prev;
	}
}

void wd_cache_free_all(struct wodan *w)
{
	if (w->root) {
		/* dirty nodes too: this is close/abandon */
		free_subtree(w, w->root);
		w->root = NULL;
	}
	w->c.lru_head = w->c.lru_tail = NULL;
}

void wd_cache_destroy(struct wodan *w)
{
	wd_cache_free_all(w);
	free(w->c.blk);
	w->c.blk = NULL;
}

int wd_cache_child(struct wodan *w, struct wd_node *p, uint32_t i,
		   struct wd_node **out)
{
	struct wd_node *c = p->lchild[i];
	if (c) {
		w->st.cache_hits++;
		wd_cache_touch(w, c);
		*out = c;
		return 0;
	}
	w->st.cache_misses++;
	uint64_t L = p->laddr[i];
	int r = wd_read_block(w, L, w->c.blk);
	if (r)
		return r;
	struct wd_expect ex = {
		.is_root = 0,
		.rdepth = p->rdepth - 1,
		.lo = wd_link_lo(p, w->g.ks, i),
		.hi = wd_link_key(p, w->g.ks, i),
		.parent_gen = p->gen,
	};
	r = wd_node_decode(&w->g, w->c.blk, L, &ex, &c);
	if (r)
		return r;
	c->parent = p;
	WD_ASSERT(memcmp(c->hi, wd_link_key(p, w->g.ks, i), w->g.ks) == 0,
		  "N5: a loaded child's hi is its link key");
	p->lchild[i] = c;
	w->c.clean_bytes += c->mem_bytes;
	lru_push_head(w, c);
	wd_cache_touch(w, c);
	*out = c;
	return 0;
}

/* Depth-first walk for wd_cache_check: counts, sums, N5, N6 and C5. */
static int check_walk(const struct wodan *w, const struct wd_node *n,
		      uint64_t *listed, uint64_t *clean, uint64_t *dirty,
		      uint64_t *ndirty)
{
	if (n->dirty) {
		*dirty += n->mem_bytes;
		(*ndirty)++;
	} else {
		*clean += n->mem_bytes;
	}
	if (!n->is_root)
		(*listed)++;
	for (uint32_t i = 0; i < n->nlinks; i++) {
		const struct wd_node *c = n->lchild[i];
		if (!c)
			continue;
		if (c->parent != n)
			return wd_err(WODAN_E_CORRUPT, "N5: child's parent");
		if (c->dirty && !n->dirty)
			return wd_err(WODAN_E_CORRUPT, "N6: dirty child of a "
				      "clean parent");
		if (!n->is_root) {
			/* C5: n must be found walking from c towards the
			 * head */
			const struct wd_node *x = c->lru_prev;
			while (x && x != n)
				x = x->lru_prev;
			if (!x)
				return wd_err(WODAN_E_CORRUPT, "C5: a child is "
					      "more recent than its parent");
		}
		int r = check_walk(w, c, listed, clean, dirty, ndirty);
		if (r)
			return r;
	}
	return 0;
}

int wd_cache_check(const struct wodan *w)
{
	uint64_t listed = 0, clean = 0, dirty = 0, ndirty = 0, onlist = 0;
	int r = check_walk(w, w->root, &listed, &clean, &dirty, &ndirty);
	if (r)
		return r;
	for (const struct wd_node *x = w->c.lru_head; x; x = x->lru_next) {
		if (++onlist > listed || x->is_root)
			return wd_err(WODAN_E_CORRUPT, "C2: list holds a node "
				      "not in the tree, or the root");
		if ((x->lru_next ? x->lru_next->lru_prev : w->c.lru_tail) != x)
			return wd_err(WODAN_E_CORRUPT, "C2: list links");
	}
	if (onlist != listed)
		return wd_err(WODAN_E_CORRUPT, "C2: %llu nodes in memory, %llu "
			      "listed", (unsigned long long)listed,
			      (unsigned long long)onlist);
	if (clean != w->c.clean_bytes || dirty != w->c.dirty_bytes ||
	    ndirty != w->c.dirty_nodes)
		return wd_err(WODAN_E_CORRUPT, "C2: byte or node totals");
	if (dirty > w->c.dirty_hard && w->c.dirty_hard)
		return wd_err(WODAN_E_CORRUPT, "C6: dirty memory above the "
			      "hard ceiling");
	return 0;
}
