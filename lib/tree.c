/* tree.c -- insert, spill, split, lookup (see tree.h). */
#include <stdlib.h>
#include <string.h>
#include "cache.h"
#include "error.h"
#include "keys.h"
#include "nodecodec.h"
#include "tree.h"
#include "wdassert.h"

/* Internal step results besides 0 and negative errors. */
#define AGAIN 1    /* the structure below changed: re-evaluate */
#define SPLIT_ME 2 /* the node must be split by its parent */

/* C6 (cache.h): k more dirty nodes must keep dirty memory provably under
 * the hard ceiling. */
static int reserve_memory(struct wodan *w, uint32_t k)
{
	/* a step from nothing dirty is admitted whatever its size (cache.h
	 * C6: the floor does not cover the deepest step) */
	if (!w->c.dirty_nodes || wd_cache_admits(w, k))
		return 0;
	w->st.hard_ceiling_stops++;
	wd_err(WODAN_E_NEEDS_FLUSH,
	       "%llu dirty nodes and %u more could pass the dirty memory hard "
	       "ceiling (%llu bytes): flush first",
	       (unsigned long long)w->c.dirty_nodes, k,
	       (unsigned long long)w->c.dirty_hard);
	return WD_E_HARD_CEILING;
}

int wd_tree_reserve_blocks(struct wodan *w, uint32_t k)
{
	uint64_t free_now = w->sm.free_count;
	if (w->c.dirty_nodes + k <= free_now)
		return reserve_memory(w, k);
	/* With dirty nodes a flush may make room (rewritten nodes give their
	 * old blocks back once it is durable, and what this operation
	 * reorganised is kept), so the caller flushes and retries; only with
	 * nothing dirty is the answer final.  A guess at what the retry would
	 * need proved wrong both ways (tests/test_space.c), so none is made:
	 * a retry answers definitively within a few rounds. */
	if (w->c.dirty_nodes > 0)
		return wd_err(WODAN_E_NEEDS_FLUSH,
			      "%llu blocks free, %llu dirty nodes, %u more "
			      "needed: flush first",
			      (unsigned long long)free_now,
			      (unsigned long long)w->c.dirty_nodes, k);
	return wd_err(WODAN_E_OUT_OF_SPACE,
		      "out of space: %llu blocks free, %llu dirty nodes, %u "
		      "more needed", (unsigned long long)free_now,
		      (unsigned long long)w->c.dirty_nodes, k);
}

static int is_tomb(const struct wodan *w, const struct wd_item *it)
{
	return w->g.tombstones && it->len == 0;
}

/* Net change of c's log bytes if bucket bk (of c's parent) moves into c.
 * Both are sorted, so each child bucket is walked once by galloping. */
static int64_t bucket_delta(const struct wodan *w, const struct wd_bucket *bk,
			    const struct wd_node *c)
{
	uint32_t ks = w->g.ks, cb = 0, pos = 0;
	int64_t d = 0;
	for (uint32_t j = 0; j < bk->n; j++) {
		const struct wd_item *it = bk->sl[j].it;
		/* the child bucket of this key: link indices only rise */
		while (c->nlinks && cb + 1 < c->nlinks &&
		       wd_kcmp(it->data, wd_link_key(c, ks, cb), ks) > 0) {
			cb++;
			pos = 0;
		}
		const struct wd_bucket *b = &c->bk[cb];
		pos = wd_bucket_gallop(b, pos, bk->sl[j].pfx, it->data, ks);
		int64_t old = 0;
		if (pos < b->n && wd_slot_cmp(&b->sl[pos], bk->sl[j].pfx,
					      it->data, ks) == 0)
			old = (int64_t)wd_item_size(b->sl[pos].it, ks);
		if (c->nlinks == 0 && is_tomb(w, it))
			d -= old;
		else
			d += (int64_t)wd_item_size(it, ks) - old;
	}
	return d;
}

/* Move bucket i of p into child c (space already reserved). */
static int move_bucket(struct wodan *w, struct wd_node *p, uint32_t i,
		       struct wd_node *c)
{
	uint32_t ks = w->g.ks;
	struct wd_bucket *bk = &p->bk[i];
	int r = wd_log_merge(c, ks, bk->sl, bk->n, w->g.tombstones);
	if (r)
		return r;
	wd_cache_mark_dirty(w, c);
	p->nitems -= bk->n;
	p->log_bytes -= bk->bytes;
	bk->n = 0;
	bk->bytes = 0;
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
 * to the left of c. The split point is a byte median (doc/DESIGN.md §4), except
 * for a leaf whose incoming bucket (p->bk[i]) lies wholly above or below the
 * leaf's keys: then the leaf splits at that edge, so sequential loads fill
 * leaves completely instead of half (as SQLite's balance_quick does for
 * appends). */
static int split_child(struct wodan *w, struct wd_node *p, uint32_t i)
{
	uint32_t ks = w->g.ks;
	struct wd_node *c = p->lchild[i];
	const struct wd_bucket *in = &p->bk[i];
	uint8_t pivot[256];
	uint32_t mi = 0, ml = 0; /* leaf items / links going left */
	int edge = 0;

	if (c->nlinks == 0) {
		struct wd_bucket *cb = &c->bk[0];
		if (cb->n && in->n) {
			const uint8_t *kmin = in->sl[0].it->data;
			const uint8_t *kmax = in->sl[in->n - 1].it->data;
			if (memcmp(kmin, cb->sl[cb->n - 1].it->data, ks) > 0) {
				mi = cb->n; /* append: c keeps nothing */
				memcpy(pivot, cb->sl[mi - 1].it->data, ks);
				edge = 1;
			} else if (memcmp(kmax, cb->sl[0].it->data, ks) < 0) {
				mi = 0; /* prepend: the left node starts empty */
				memcpy(pivot, kmax, ks);
				edge = 1;
			}
		}
		if (!edge) {
			uint64_t half = cb->bytes / 2, cum = 0;
			while (mi < cb->n && cum < half)
				cum += wd_item_size(cb->sl[mi++].it, ks);
			if (mi == cb->n && mi > 0 &&
			    !memcmp(cb->sl[mi - 1].it->data, c->hi, ks))
				mi--;
			if (mi > 0) {
				memcpy(pivot, cb->sl[mi - 1].it->data, ks);
			} else if (cb->n == 0 ||
				   !key_pred(pivot, cb->sl[0].it->data, ks) ||
				   (c->has_lo && memcmp(pivot, c->lo, ks) <= 0)) {
				return wd_err(WODAN_E_OUT_OF_SPACE,
					      "leaf cannot be split further");
			}
		}
	} else {
		if (c->nlinks < 2)
			return wd_err(WODAN_E_OUT_OF_SPACE,
				      "inner node with one child cannot split");
		/* weight of link j: its link bytes plus its bucket's bytes */
		uint64_t total = (uint64_t)c->nlinks * w->g.cl + c->log_bytes;
		uint64_t cum = 0;
		while (ml < c->nlinks - 1 && cum * 2 < total)
			cum += w->g.cl + c->bk[ml++].bytes;
		if (ml == 0)
			ml = 1;
		memcpy(pivot, wd_link_key(c, ks, ml - 1), ks);
	}

	int r = wd_tree_reserve_blocks(w, wd_cache_clean_path(c) + 1);
	if (r)
		return r;
	struct wd_node *l = wd_node_new(ks, c->has_lo ? c->lo : NULL, pivot,
					c->rdepth, 0);
	if (!l || wd_link_reserve(l, ks, ml ? ml : 1) ||
	    wd_link_reserve(p, ks, p->nlinks + 1) ||
	    (!ml && mi && wd_bucket_reserve(&l->bk[0], mi))) {
		wd_node_free(l);
		return WODAN_E_NOMEM;
	}
	l->gen = c->gen;
	l->parent = p;
	/* link l into p first: it splits p's bucket i by key and may need
	 * memory; failing here changes nothing */
	if (wd_link_insert(p, ks, i, pivot, 0, l)) {
		wd_node_free(l);
		return WODAN_E_NOMEM;
	}
	if (!ml) {
		/* leaf: items [0, mi) of the single bucket move to l */
		struct wd_bucket *cb = &c->bk[0], *lb = &l->bk[0];
		for (uint32_t j = 0; j < mi; j++) {
			lb->sl[j] = cb->sl[j];
			lb->bytes += wd_item_size(cb->sl[j].it, ks);
		}
		lb->n = mi;
		memmove(cb->sl, cb->sl + mi,
			(size_t)(cb->n - mi) * sizeof *cb->sl);
		cb->n -= mi;
		cb->bytes -= lb->bytes;
		l->nitems = mi;
		l->log_bytes = lb->bytes;
	} else {
		/* inner: links [0, ml) and their buckets move to l */
		free(l->bk[0].sl);
		memcpy(l->lkeys, c->lkeys, (size_t)ml * ks);
		memcpy(l->laddr, c->laddr, ml * sizeof *l->laddr);
		memcpy(l->lchild, c->lchild, ml * sizeof *l->lchild);
		memcpy(l->bk, c->bk, ml * sizeof *l->bk);
		l->nlinks = ml;
		for (uint32_t j = 0; j < ml; j++) {
			if (l->lchild[j])
				l->lchild[j]->parent = l;
			l->nitems += l->bk[j].n;
			l->log_bytes += l->bk[j].bytes;
		}
		uint32_t rest = c->nlinks - ml;
		memmove(c->lkeys, c->lkeys + (size_t)ml * ks, (size_t)rest * ks);
		memmove(c->laddr, c->laddr + ml, rest * sizeof *c->laddr);
		memmove(c->lchild, c->lchild + ml, rest * sizeof *c->lchild);
		memmove(c->bk, c->bk + ml, rest * sizeof *c->bk);
		memset(c->bk + rest, 0, ml * sizeof *c->bk);
		c->nlinks = rest;
	}
	c->nitems -= l->nitems;
	c->log_bytes -= l->log_bytes;
	memcpy(c->lo, pivot, ks);
	c->has_lo = 1;
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
	if (root->rdepth + 1 > WD_MAX_DEPTH)
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
	n->bk = root->bk;
	n->nitems = root->nitems;
	n->log_bytes = root->log_bytes;
	n->lkeys = root->lkeys;
	n->laddr = root->laddr;
	n->lchild = root->lchild;
	n->nlinks = root->nlinks;
	n->links_cap = root->links_cap;
	root->bk = tmp.bk;
	root->nitems = 0;
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

/* Spill the largest bucket of n's log into its child (doc/ORIGINAL.md §5.3; the
 * buckets are kept per child, so choosing one is O(fanout)). */
static int spill_one(struct wodan *w, struct wd_node *n)
{
	uint32_t best = 0;
	uint64_t best_bytes = 0;
	for (uint32_t i = 0; i < n->nlinks; i++)
		if (n->bk[i].bytes > best_bytes) {
			best_bytes = n->bk[i].bytes;
			best = i;
		}
	if (best_bytes == 0)
		return wd_err(WODAN_E_CORRUPT, "logged items route to no child");
	struct wd_node *c;
	int r = wd_cache_child(w, n, best, &c);
	if (r)
		return r;
	for (;;) {
		/* the bucket's bytes bound the growth: only when they do not
		 * fit is the exact delta (overwrites, tombstones) worth the
		 * lookups */
		int64_t room = wd_node_log_room(c, &w->g);
		if ((int64_t)n->bk[best].bytes <= room ||
		    bucket_delta(w, &n->bk[best], c) <= room)
			break;
		r = make_room(w, c);
		if (r < 0)
			return r;
		if (r == SPLIT_ME) {
			if (wd_node_link_room(n, &w->g, w->max_fanout) < 1)
				return SPLIT_ME;
			r = split_child(w, n, best);
			return r < 0 ? r : AGAIN;
		}
	}
	r = wd_tree_reserve_blocks(w, wd_cache_clean_path(c));
	if (r)
		return r;
	return move_bucket(w, n, best, c);
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

/* The insert loop.  With val == NULL (prepare) the item is not stored: the
 * loop stops once the root has room for it.  key == NULL (prepare only)
 * stands for any key whose item is not in the root yet. */
static int insert_loop(struct wodan *w, const uint8_t *key, const uint8_t *val,
		       uint32_t len)
{
	uint32_t ks = w->g.ks;
	int tomb = w->g.tombstones && len == 0;
	for (unsigned guard = 0;; guard++) {
		struct wd_node *root = w->root;
		struct wd_bucket *b = NULL;
		int found = 0;
		uint32_t idx = 0;
		if (key) {
			/* one search serves the size check and the insert */
			b = &root->bk[wd_node_bucket_of(root, ks, key)];
			idx = wd_bucket_find(b, ks, key, &found);
		}
		const struct wd_item *o = found ? b->sl[idx].it : NULL;
		int64_t old = o ? (int64_t)wd_item_size(o, ks) : 0;
		if (tomb && key && root->nlinks == 0) {
			/* a leaf root: a deletion just removes the key */
			if (!o || !val)
				return 0;
			int r = wd_tree_reserve_blocks(w,
						       wd_cache_clean_path(root));
			if (r)
				return r;
			wd_cache_mark_dirty(w, root);
			wd_log_del(root, ks, key);
			wd_cache_resize(w, root);
			return 0;
		}
		int64_t need = (int64_t)ks + 2 + len - old;
		if (need <= wd_node_log_room(root, &w->g)) {
			if (!val)
				return 0;
			int r = wd_tree_reserve_blocks(w,
						       wd_cache_clean_path(root));
			if (r)
				return r;
			if (wd_log_put_at(root, b, idx, found, ks, key, val,
					  len))
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

int wd_tree_insert(struct wodan *w, const uint8_t *key, const uint8_t *val,
		   uint32_t len)
{
	struct wd_refused *rf = &w->j.refused;
	int r = insert_loop(w, key, val, len);
	if (r == WODAN_E_NEEDS_FLUSH || r == WD_E_HARD_CEILING) {
		/* the next checkpoint makes room for exactly this item
		 * (wd_checkpoint), so that the caller's retry goes through */
		memcpy(rf->key, key, w->g.ks);
		rf->len = len;
		rf->op = w->st.inserts + w->st.deletes;
		rf->set = 1;
	} else {
		rf->set = 0;
	}
	return r;
}

int wd_tree_prepare(struct wodan *w, const uint8_t *key, uint32_t len)
{
	int r = insert_loop(w, key, NULL, len);
	return r == WD_E_HARD_CEILING ? WODAN_E_NEEDS_FLUSH : r;
}

int wd_tree_lookup(struct wodan *w, const uint8_t *key, const uint8_t **val,
		   uint32_t *len)
{
	uint32_t ks = w->g.ks;
	struct wd_node *n = w->root;
	for (;;) {
		uint32_t i = wd_node_bucket_of(n, ks, key);
		struct wd_bucket *b = &n->bk[i];
		int found;
		uint32_t k = wd_bucket_find(b, ks, key, &found);
		if (found) {
			const struct wd_item *it = b->sl[k].it;
			if (is_tomb(w, it))
				return 0;
			*val = wd_item_val(it, ks);
			*len = it->len;
			return 1;
		}
		if (n->nlinks == 0)
			return 0;
		if (wd_link_route(n, ks, key) == n->nlinks)
			return 0; /* above hi: cannot be stored */
		int r = wd_cache_child(w, n, i, &n);
		if (r)
			return r;
	}
}
