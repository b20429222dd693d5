/* tree.c -- insert, spill, split, lookup (see tree.h). */
#include <stdlib.h>
#include <string.h>
#include "cache.h"
#include "error.h"
#include "keys.h"
#include "tree.h"

/* Internal step results besides 0 and negative errors. */
#define AGAIN 1    /* the structure below changed: re-evaluate */
#define SPLIT_ME 2 /* the node must be split by its parent */

int wd_tree_reserve_blocks(struct wodan *w, uint32_t k)
{
	uint64_t free_now = w->sm.free_count;
	if (w->dirty_nodes + k <= free_now)
		return 0;
	/* After a flush nothing is dirty; blocks of rewritten nodes come back
	 * and one block per never-written node is consumed.  The retried
	 * operation needs at most a path plus two new nodes. */
	uint64_t after = free_now >= w->new_nodes ? free_now - w->new_nodes : 0;
	if (w->dirty_nodes > 0 && after >= (uint64_t)w->root->rdepth + 3 + k)
		return wd_err(WODAN_E_NEEDS_FLUSH,
			      "%llu blocks free, %llu dirty nodes, %u more "
			      "needed: flush first",
			      (unsigned long long)free_now,
			      (unsigned long long)w->dirty_nodes, k);
	return wd_err(WODAN_E_OUT_OF_SPACE,
		      "out of space: %llu blocks free, %llu dirty nodes, %u "
		      "more needed", (unsigned long long)free_now,
		      (unsigned long long)w->dirty_nodes, k);
}

static int is_tomb(const struct wodan *w, const struct wd_item *it)
{
	return w->g.tombstones && it->len == 0;
}

/* Items [*a, *b) of p's log route to link i. */
static void bucket_range(const struct wodan *w, const struct wd_node *p,
			 uint32_t i, uint32_t *a, uint32_t *b)
{
	uint32_t ks = w->g.ks;
	const uint8_t *lo = wd_link_lo(p, ks, i);
	int found;
	uint32_t s = 0;
	if (lo) {
		s = wd_log_find(p, ks, lo, &found);
		if (found)
			s++;
	}
	uint32_t e = wd_log_find(p, ks, wd_link_key(p, ks, i), &found);
	if (found)
		e++;
	*a = s;
	*b = e;
}

/* Net change of c's log bytes if items [a, b) of p move into c. */
static int64_t bucket_delta(const struct wodan *w, const struct wd_node *p,
			    uint32_t a, uint32_t b, const struct wd_node *c)
{
	uint32_t ks = w->g.ks;
	int64_t d = 0;
	for (uint32_t j = a; j < b; j++) {
		const struct wd_item *it = p->items[j];
		int found;
		uint32_t k = wd_log_find(c, ks, it->data, &found);
		int64_t old = found ? (int64_t)wd_item_size(c->items[k], ks) : 0;
		if (c->nlinks == 0 && is_tomb(w, it))
			d -= old;
		else
			d += (int64_t)wd_item_size(it, ks) - old;
	}
	return d;
}

/* Move items [a, b) of p into child c (space already reserved). */
static int move_bucket(struct wodan *w, struct wd_node *p, uint32_t a,
		       uint32_t b, struct wd_node *c)
{
	uint32_t ks = w->g.ks;
	if (wd_log_reserve(c, c->nitems + (b - a)))
		return WODAN_E_NOMEM;
	wd_cache_mark_dirty(w, c);
	for (uint32_t j = a; j < b; j++) {
		struct wd_item *it = wd_log_take(p, ks, a);
		int found;
		uint32_t k = wd_log_find(c, ks, it->data, &found);
		if (found)
			wd_log_remove(c, ks, k);
		if (c->nlinks == 0 && is_tomb(w, it))
			free(it); /* nothing older lies below a leaf (L7) */
		else
			wd_log_insert_item(c, ks, k, it); /* cannot fail */
	}
	wd_cache_resize(w, p);
	wd_cache_resize(w, c);
	w->st.spills++;
	return 0;
}

/* Predecessor of key as a big-endian integer; 0 if key is all zero. */
static int key_pred(uint8_t *out, const uint8_t *key, uint32_t ks)
{
	memcpy(out, key, ks);
	for (uint32_t i = ks; i-- > 0;) {
		if (out[i]--)
			return 1;
	}
	return 0;
}

/* Split child i of p (p has link room): the lower part becomes a new node
 * to the left of c.  The split point is a byte median (FORMAT.md §3), except
 * for a leaf whose incoming bucket (p's items [a, b)) lies wholly above or
 * below the leaf's keys: then the leaf splits at that edge, so sequential
 * loads fill leaves completely instead of half (as SQLite's balance_quick
 * does for appends). */
static int split_child(struct wodan *w, struct wd_node *p, uint32_t i,
		       uint32_t a, uint32_t b)
{
	uint32_t ks = w->g.ks;
	struct wd_node *c = p->lchild[i];
	uint8_t pivot[256];
	uint32_t mi = 0, ml = 0; /* items and links going left */
	int edge = 0;

	if (c->nlinks == 0 && c->nitems && a < b) {
		const uint8_t *kmin = p->items[a]->data;
		const uint8_t *kmax = p->items[b - 1]->data;
		if (memcmp(kmin, c->items[c->nitems - 1]->data, ks) > 0) {
			mi = c->nitems; /* append: c keeps nothing */
			memcpy(pivot, c->items[mi - 1]->data, ks);
			edge = 1;
		} else if (memcmp(kmax, c->items[0]->data, ks) < 0) {
			mi = 0; /* prepend: the new left node starts empty */
			memcpy(pivot, kmax, ks);
			edge = 1;
		}
	}
	if (edge) {
		/* pivot chosen */
	} else if (c->nlinks == 0) {
		uint64_t half = c->log_bytes / 2, cum = 0;
		while (mi < c->nitems && cum < half)
			cum += wd_item_size(c->items[mi++], ks);
		if (mi == c->nitems && mi > 0 &&
		    !memcmp(c->items[mi - 1]->data, c->hi, ks))
			mi--;
		if (mi > 0) {
			memcpy(pivot, c->items[mi - 1]->data, ks);
		} else {
			if (c->nitems == 0 ||
			    !key_pred(pivot, c->items[0]->data, ks) ||
			    (c->has_lo && memcmp(pivot, c->lo, ks) <= 0))
				return wd_err(WODAN_E_OUT_OF_SPACE,
					      "leaf cannot be split further");
		}
	} else {
		if (c->nlinks < 2)
			return wd_err(WODAN_E_OUT_OF_SPACE,
				      "inner node with one child cannot split");
		/* weight of link j: its link bytes plus the log bytes routed
		 * to it */
		uint64_t total = (uint64_t)c->nlinks * w->g.cl + c->log_bytes;
		uint64_t cum = 0;
		uint32_t j = 0;
		while (ml < c->nlinks - 1 && cum * 2 < total) {
			const uint8_t *lk = wd_link_key(c, ks, ml);
			cum += w->g.cl;
			while (j < c->nitems &&
			       memcmp(c->items[j]->data, lk, ks) <= 0)
				cum += wd_item_size(c->items[j++], ks);
			ml++;
		}
		if (ml == 0)
			ml = 1;
		memcpy(pivot, wd_link_key(c, ks, ml - 1), ks);
		int found;
		mi = wd_log_find(c, ks, pivot, &found);
		if (found)
			mi++;
	}

	int r = wd_tree_reserve_blocks(w, wd_cache_clean_path(c) + 1);
	if (r)
		return r;
	struct wd_node *l = wd_node_new(ks, c->has_lo ? c->lo : NULL, pivot,
					c->rdepth, 0);
	if (!l || wd_log_reserve(l, mi ? mi : 1) ||
	    (ml && wd_link_reserve(l, ks, ml)) ||
	    wd_link_reserve(p, ks, p->nlinks + 1)) {
		wd_node_free(l);
		return WODAN_E_NOMEM;
	}
	l->gen = c->gen;
	l->parent = p;
	/* items [0, mi) and links [0, ml) move to l */
	for (uint32_t j = 0; j < mi; j++) {
		l->items[j] = c->items[j];
		l->log_bytes += wd_item_size(c->items[j], ks);
	}
	l->nitems = mi;
	memmove(c->items, c->items + mi,
		(size_t)(c->nitems - mi) * sizeof *c->items);
	c->nitems -= mi;
	c->log_bytes -= l->log_bytes;
	if (ml) {
		memcpy(l->lkeys, c->lkeys, (size_t)ml * ks);
		memcpy(l->laddr, c->laddr, ml * sizeof *l->laddr);
		memcpy(l->lchild, c->lchild, ml * sizeof *l->lchild);
		l->nlinks = ml;
		for (uint32_t j = 0; j < ml; j++)
			if (l->lchild[j])
				l->lchild[j]->parent = l;
		uint32_t rest = c->nlinks - ml;
		memmove(c->lkeys, c->lkeys + (size_t)ml * ks, (size_t)rest * ks);
		memmove(c->laddr, c->laddr + ml, rest * sizeof *c->laddr);
		memmove(c->lchild, c->lchild + ml, rest * sizeof *c->lchild);
		c->nlinks = rest;
	}
	memcpy(c->lo, pivot, ks);
	c->has_lo = 1;
	wd_link_insert(p, ks, i, pivot, 0, l); /* capacity reserved above */
	l->mem_bytes = wd_node_mem(l, ks);
	wd_cache_mark_dirty(w, c);
	wd_cache_add_new(w, l);
	wd_cache_resize(w, c);
	wd_cache_resize(w, p);
	w->st.splits++;
	return 0;
}

/* Grow the tree by one level: the root's content moves into a new child
 * and the root becomes an inner node with that one child. */
static int split_root(struct wodan *w)
{
	uint32_t ks = w->g.ks;
	struct wd_node *root = w->root;
	if (w->max_fanout < 2)
		return wd_err(WODAN_E_OUT_OF_SPACE,
			      "block size %u with key size %u leaves room for "
			      "fewer than 2 child links: the tree cannot grow",
			      w->g.bs, ks);
	if (root->rdepth + 1 > 60)
		return wd_err(WODAN_E_OUT_OF_SPACE, "tree depth limit reached");
	int r = wd_tree_reserve_blocks(w, wd_cache_clean_path(root) + 1);
	if (r)
		return r;
	struct wd_node *n = wd_node_new(ks, NULL, root->hi, root->rdepth, 0);
	if (!n || wd_link_reserve(n, ks, 1)) {
		wd_node_free(n);
		return WODAN_E_NOMEM;
	}
	/* swap contents: n takes the log and links, root gets one link */
	struct wd_node tmp = *n;
	n->items = root->items;
	n->nitems = root->nitems;
	n->items_cap = root->items_cap;
	n->log_bytes = root->log_bytes;
	n->lkeys = root->lkeys;
	n->laddr = root->laddr;
	n->lchild = root->lchild;
	n->nlinks = root->nlinks;
	n->links_cap = root->links_cap;
	root->items = tmp.items;
	root->nitems = 0;
	root->items_cap = tmp.items_cap;
	root->log_bytes = 0;
	root->lkeys = tmp.lkeys;
	root->laddr = tmp.laddr;
	root->lchild = tmp.lchild;
	root->nlinks = 0;
	root->links_cap = tmp.links_cap;
	for (uint32_t j = 0; j < n->nlinks; j++)
		if (n->lchild[j])
			n->lchild[j]->parent = n;
	n->gen = root->gen;
	n->parent = root;
	wd_link_insert(root, ks, 0, root->hi, 0, n); /* reserved above */
	root->rdepth++;
	n->mem_bytes = wd_node_mem(n, ks);
	wd_cache_mark_dirty(w, root);
	wd_cache_add_new(w, n);
	wd_cache_resize(w, root);
	w->st.splits++;
	return 0;
}

static int make_room(struct wodan *w, struct wd_node *n);

/* Spill the largest bucket of n's log into its child (ORIGINAL §3.4). */
static int spill_one(struct wodan *w, struct wd_node *n)
{
	uint32_t ks = w->g.ks, best = 0, a, b;
	uint64_t best_bytes = 0;
	uint32_t j = 0;
	for (uint32_t i = 0; i < n->nlinks && j < n->nitems; i++) {
		const uint8_t *lk = wd_link_key(n, ks, i);
		uint64_t bytes = 0;
		while (j < n->nitems && memcmp(n->items[j]->data, lk, ks) <= 0)
			bytes += wd_item_size(n->items[j++], ks);
		if (bytes > best_bytes) {
			best_bytes = bytes;
			best = i;
		}
	}
	if (best_bytes == 0)
		return wd_err(WODAN_E_CORRUPT, "logged items route to no child");
	struct wd_node *c;
	int r = wd_cache_child(w, n, best, &c);
	if (r)
		return r;
	bucket_range(w, n, best, &a, &b);
	for (;;) {
		int64_t d = bucket_delta(w, n, a, b, c);
		if (d <= wd_node_log_room(c, &w->g))
			break;
		r = make_room(w, c);
		if (r < 0)
			return r;
		if (r == SPLIT_ME) {
			if (wd_node_link_room(n, &w->g, w->max_fanout) < 1)
				return SPLIT_ME;
			r = split_child(w, n, best, a, b);
			return r < 0 ? r : AGAIN;
		}
	}
	r = wd_tree_reserve_blocks(w, wd_cache_clean_path(c));
	if (r)
		return r;
	return move_bucket(w, n, a, b, c);
}

/* One step that gives n more log room: spill (inner node with a log) or
 * ask the parent to split n.  The root splits itself. */
static int make_room(struct wodan *w, struct wd_node *n)
{
	int r = SPLIT_ME;
	if (n->nlinks && n->nitems)
		r = spill_one(w, n);
	if (r == SPLIT_ME && n->is_root) {
		r = split_root(w);
		return r < 0 ? r : AGAIN;
	}
	return r;
}

int wd_tree_insert(struct wodan *w, const uint8_t *key, const uint8_t *val,
		   uint32_t len)
{
	uint32_t ks = w->g.ks;
	int tomb = w->g.tombstones && len == 0;
	for (unsigned guard = 0;; guard++) {
		struct wd_node *root = w->root;
		int found;
		uint32_t k = wd_log_find(root, ks, key, &found);
		int64_t old = found ? (int64_t)wd_item_size(root->items[k], ks)
				    : 0;
		if (tomb && root->nlinks == 0) {
			/* a leaf root: a deletion just removes the key */
			if (!found)
				return 0;
			int r = wd_tree_reserve_blocks(w,
						       wd_cache_clean_path(root));
			if (r)
				return r;
			wd_cache_mark_dirty(w, root);
			wd_log_remove(root, ks, k);
			wd_cache_resize(w, root);
			return 0;
		}
		int64_t need = (int64_t)ks + 2 + len - old;
		if (need <= wd_node_log_room(root, &w->g)) {
			int r = wd_tree_reserve_blocks(w,
						       wd_cache_clean_path(root));
			if (r)
				return r;
			if (wd_log_put(root, ks, key, val, len))
				return WODAN_E_NOMEM;
			wd_cache_mark_dirty(w, root);
			wd_cache_resize(w, root);
			return 0;
		}
		if (guard > 100000)
			return wd_err(WODAN_E_CORRUPT,
				      "insert made no progress");
		int r = make_room(w, root);
		if (r < 0)
			return r;
	}
}

int wd_tree_lookup(struct wodan *w, const uint8_t *key, const uint8_t **val,
		   uint32_t *len)
{
	uint32_t ks = w->g.ks;
	struct wd_node *n = w->root;
	for (;;) {
		int found;
		uint32_t k = wd_log_find(n, ks, key, &found);
		if (found) {
			const struct wd_item *it = n->items[k];
			if (is_tomb(w, it))
				return 0;
			*val = it->data + ks;
			*len = it->len;
			return 1;
		}
		if (n->nlinks == 0)
			return 0;
		uint32_t i = wd_link_route(n, ks, key);
		if (i == n->nlinks)
			return 0;
		int r = wd_cache_child(w, n, i, &n);
		if (r)
			return r;
	}
}
