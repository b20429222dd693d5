/* iterate.c -- merge of logs across levels in key order (see iterate.h). */
#include <string.h>
#include "cache.h"
#include "error.h"
#include "iterate.h"

#define END_REACHED 1

/* Receives one visible (key, item) of a subtree, ascending. */
struct sink;
typedef int (*emit_fn)(struct sink *s, const struct wd_item *it);
struct sink {
	emit_fn emit;
};

/* The output sink: bounds and the user callback. */
struct out_sink {
	struct sink base;
	struct wodan *w;
	const uint8_t *end;
	wodan_iter_fn fn;
	void *arg;
};

/* The merge of one bucket of a node's log with what the matching child
 * emits. */
struct node_sink {
	struct sink base;
	struct wodan *w;
	struct wd_bucket *b; /* the bucket of the child being visited */
	uint32_t j;          /* next item of b not yet emitted */
	struct sink *up;
};

static int out_emit(struct sink *s, const struct wd_item *it)
{
	struct out_sink *o = (struct out_sink *)s;
	uint32_t ks = o->w->g.ks;
	if (o->end && memcmp(it->data, o->end, ks) >= 0)
		return END_REACHED;
	if (o->w->g.tombstones && it->len == 0)
		return 0;
	if (o->fn(o->arg, it->data, wd_item_val(it, ks), it->len))
		return wd_err(WODAN_E_ABORTED, "iteration stopped by callback");
	return 0;
}

/* Emit own items with key < key (all remaining when key is NULL). */
static int drain(struct node_sink *ns, const uint8_t *key)
{
	uint32_t ks = ns->w->g.ks;
	struct wd_bucket *b = ns->b;
	while (ns->j < b->n) {
		if (key && memcmp(b->sl[ns->j].it->data, key, ks) >= 0)
			break;
		int r = ns->up->emit(ns->up, b->sl[ns->j++].it);
		if (r)
			return r;
	}
	return 0;
}

static int node_emit(struct sink *s, const struct wd_item *it)
{
	struct node_sink *ns = (struct node_sink *)s;
	uint32_t ks = ns->w->g.ks;
	int r = drain(ns, it->data);
	if (r)
		return r;
	struct wd_bucket *b = ns->b;
	if (ns->j < b->n && !memcmp(b->sl[ns->j].it->data, it->data, ks))
		return ns->up->emit(ns->up, b->sl[ns->j++].it); /* newer */
	return ns->up->emit(ns->up, it);
}

/* Position ns at the first item of bucket b that is >= start. */
static void seek(struct node_sink *ns, struct wd_bucket *b,
		 const uint8_t *start)
{
	int found;
	ns->b = b;
	ns->j = start ? wd_bucket_find(b, ns->w->g.ks, start, &found) : 0;
}

static int iter_node(struct wodan *w, struct wd_node *n, const uint8_t *start,
		     const uint8_t *end, struct sink *up)
{
	uint32_t ks = w->g.ks;
	struct node_sink ns = { { node_emit }, w, NULL, 0, up };
	int r = 0;
	if (n->nlinks == 0) {
		seek(&ns, &n->bk[0], start);
		return drain(&ns, NULL);
	}
	n->pins++;
	uint32_t first = start ? wd_link_route(n, ks, start) : 0;
	uint32_t last = end ? wd_link_route(n, ks, end) : n->nlinks;
	if (last >= n->nlinks)
		last = n->nlinks - 1;
	for (uint32_t i = first; i <= last; i++) {
		struct wd_node *c;
		seek(&ns, &n->bk[i], start);
		r = wd_cache_child(w, n, i, &c);
		if (r)
			break;
		r = iter_node(w, c, start, end, &ns.base);
		if (!r)
			r = drain(&ns, NULL);
		if (r)
			break;
		wd_cache_trim(w);
	}
	n->pins--;
	return r;
}
int wd_iterate(struct wodan *w, const uint8_t *start, const uint8_t *end,
	       wodan_iter_fn fn, void *arg)
{
	if (start && end && memcmp(start, end, w->g.ks) >= 0)
		return 0;
	struct out_sink o = { { out_emit }, w, end, fn, arg };
	int r = iter_node(w, w->root, start, end, &o.base);
	return r == END_REACHED ? 0 : r;
}
