/* cache.c -- node cache: loads, clean LRU, byte budgets (see cache.h). */
#include <stdlib.h>
#include <string.h>
#include "blockio.h"
#include "cache.h"
#include "error.h"
#include "keys.h"
#include "nodecodec.h"

static void lru_unlink(struct wodan *w, struct wd_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else if (w->lru_head == n)
		w->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else if (w->lru_tail == n)
		w->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push_head(struct wodan *w, struct wd_node *n)
{
	n->lru_prev = NULL;
	n->lru_next = w->lru_head;
	if (w->lru_head)
		w->lru_head->lru_prev = n;
	w->lru_head = n;
	if (!w->lru_tail)
		w->lru_tail = n;
}

static int on_lru(const struct wodan *w, const struct wd_node *n)
{
	return n->lru_prev || n->lru_next || w->lru_head == n;
}

void wd_cache_touch(struct wodan *w, struct wd_node *n)
{
	if (!n->dirty && !n->is_root && w->lru_head != n) {
		lru_unlink(w, n);
		lru_push_head(w, n);
	}
}

void wd_cache_set_root(struct wodan *w, struct wd_node *root)
{
	w->root = root;
	w->clean_bytes += root->mem_bytes;
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
		if (on_lru(w, n))
			lru_unlink(w, n);
		n->dirty = 1;
		w->clean_bytes -= n->mem_bytes;
		w->dirty_bytes += n->mem_bytes;
		w->dirty_nodes++;
	}
}

void wd_cache_add_new(struct wodan *w, struct wd_node *n)
{
	n->dirty = 1;
	w->dirty_bytes += n->mem_bytes;
	w->dirty_nodes++;
}

void wd_cache_mark_clean(struct wodan *w, struct wd_node *n)
{
	if (!n->dirty)
		return;
	n->dirty = 0;
	w->dirty_bytes -= n->mem_bytes;
	w->clean_bytes += n->mem_bytes;
	w->dirty_nodes--;
	if (!n->is_root)
		lru_push_head(w, n);
}

void wd_cache_resize(struct wodan *w, struct wd_node *n)
{
	uint64_t m = wd_node_mem(n, w->g.ks);
	if (n->dirty)
		w->dirty_bytes = w->dirty_bytes - n->mem_bytes + m;
	else
		w->clean_bytes = w->clean_bytes - n->mem_bytes + m;
	n->mem_bytes = m;
}

void wd_cache_forget(struct wodan *w, struct wd_node *n)
{
	if (on_lru(w, n))
		lru_unlink(w, n);
	if (n->dirty) {
		w->dirty_bytes -= n->mem_bytes;
		w->dirty_nodes--;
	} else {
		w->clean_bytes -= n->mem_bytes;
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
	/* bounded: each step evicts or rotates one LRU entry */
	uint64_t rotations = 0;
	while (w->clean_bytes > w->cache_budget && w->lru_tail) {
		struct wd_node *t = w->lru_tail;
		/* pinned nodes form a path from the root (iterate.c), so an
		 * unpinned node has no pinned descendant */
		if (t->pins) {
			if (++rotations > 64)
				break;
			lru_unlink(w, t);
			lru_push_head(w, t);
			continue;
		}
		struct wd_node *p = t->parent;
		uint32_t i = wd_link_route(p, w->g.ks, t->hi);
		if (i < p->nlinks && p->lchild[i] == t)
			p->lchild[i] = NULL;
		free_subtree(w, t);
		w->st.cache_evictions++;
	}
}

void wd_cache_free_all(struct wodan *w)
{
	if (w->root) {
		/* dirty nodes too: this is close/abandon */
		free_subtree(w, w->root);
		w->root = NULL;
	}
	w->lru_head = w->lru_tail = NULL;
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
	int r = wd_read_block(w, L, w->blk);
	if (r)
		return r;
	struct wd_expect ex = {
		.is_root = 0,
		.rdepth = p->rdepth - 1,
		.lo = wd_link_lo(p, w->g.ks, i),
		.hi = wd_link_key(p, w->g.ks, i),
		.parent_gen = p->gen,
	};
	r = wd_node_decode(&w->g, w->blk, L, &ex, &c);
	if (r)
		return r;
	c->parent = p;
	p->lchild[i] = c;
	w->clean_bytes += c->mem_bytes;
	lru_push_head(w, c);
	*out = c;
	return 0;
}
